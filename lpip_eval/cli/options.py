"""The options of the ``lpip-eval`` commands, and the user-error guard.

Three bundles, declared once: the **panel** options (built from the :class:`PanelSpec` fields'
metadata), a **method**'s options (built from its designs' spec fields' metadata: flag, help,
default), and the **output** options (Annotated aliases below, also used by ``evaluate.py``).
Nothing here checks a value: the specs do, once, for the command line and config files alike
(a mistake is a usage error, exit 2, naming the flag). Imports nothing heavy.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from lpip_eval.data.spec import PanelSpec
from lpip_eval.errors import LpipEvalError, UsageError, closest, one_line
from lpip_eval.methods.registry import Method, spec_keys

T = TypeVar("T")

DataArg = Annotated[Path, typer.Argument(help=PanelSpec.__dataclass_fields__["data"].metadata[
    "help"], show_default=False, metavar="DATA")]
JsonOut = Annotated[str | None, typer.Option("--json", help="Write the result as JSON to PATH "
                                             "('-' for stdout).", metavar="PATH")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
ReportOut = Annotated[str | None, typer.Option(
    "--report", help="Write the evidence report as a standalone HTML file.", metavar="PATH.html")]
EmlOut = Annotated[str | None, typer.Option(
    "--eml", help="Write the report as a ready-to-send e-mail (.eml).", metavar="PATH.eml")]
MarkdownOut = Annotated[str | None, typer.Option(
    "--markdown", help="Write a Markdown summary ('-' for stdout), e.g. for CI job summaries.",
    metavar="PATH.md")]


class OneLineError(typer.BadParameter):
    """A bad option value shown as one ``Error:`` line (no usage block), exit 2."""

    def show(self, file: Any = None) -> None:
        typer.echo(f"Error: {self.message}", err=True)


def one_line_option(value: str | None, param: typer.CallbackParam) -> str | None:
    """Option callback: refuse a value with a line break (it becomes an e-mail header)."""
    if value is not None:
        try:
            one_line(value, (param.opts or [str(param.name)])[0])
        except UsageError as exc:
            raise OneLineError(str(exc)) from None
    return value


def scale_option(value: str | None, param: typer.CallbackParam) -> str | None:
    """Option callback for ``--outcome-scale``: level or log, else one Error line (exit 2)."""
    if value is not None and value not in ("level", "log"):
        hint = closest(value, ["level", "log"])
        raise OneLineError(f"--outcome-scale: unknown scale '{value}' (hint: {hint})")
    return value


OutcomeLabel = Annotated[str | None, typer.Option(
    "--outcome-label", help="How reports name the outcome, e.g. 'employment rate'.",
    callback=one_line_option)]
OutcomeUnit = Annotated[str | None, typer.Option(
    "--outcome-unit", help="Unit of the effect in reports, e.g. 'percentage points'.",
    callback=one_line_option)]
OutcomeScale = Annotated[str | None, typer.Option(
    "--outcome-scale", help="level, or log when the outcome is a natural log (e.g. "
    "l_homicide): reports then also give the effect as a percentage change.",
    metavar="level|log", show_default=False, callback=scale_option)]
Title = Annotated[str | None, typer.Option("--title", help="Report title.")]
FailOn = Annotated[list[str] | None, typer.Option(
    "--fail-on", help="Exit 5 (after writing every output) if this gate trips: "
    "pretrend-rejected, poor-pre-fit, evidence-below:N, effect-crosses-zero, mde-above:X (plan). "
    "Repeatable.")]

BackendOpt = Annotated[str | None, typer.Option(
    "--backend", help="Where placebo refits, randomization draws and a run's evaluations go: "
    "local (this machine's processes) or dask (a Dask cluster: pip install "
    "'lpip-eval[dask]'). Changes no output.", metavar="local|dask", show_default=False)]
SchedulerOpt = Annotated[str | None, typer.Option(
    "--scheduler", help="With --backend dask: the address of a running Dask scheduler, e.g. "
    "tcp://10.0.0.5:8786 (default: $DASK_SCHEDULER_ADDRESS, else a local cluster of "
    "--workers processes).", metavar="ADDRESS", show_default=False)]
WorkersOpt = Annotated[int | None, typer.Option(
    "--workers", help="Processes (default 1; a config's [run] workers). Changes no output.",
    min=1, show_default=False)]

# The execution bundle: where the work runs, never part of a result or its recorded command.
EXECUTION: dict[str, tuple[Any, Any]] = {
    "backend": (BackendOpt, None), "scheduler": (SchedulerOpt, None),
    "workers": (WorkersOpt, None)}

# The output bundle of the estimating commands: parameter name -> (type, default).
OUTPUTS: dict[str, tuple[Any, Any]] = {
    "outcome_label": (OutcomeLabel, None), "outcome_unit": (OutcomeUnit, None),
    "outcome_scale": (OutcomeScale, None), "json_out": (JsonOut, None),
    "report": (ReportOut, None), "eml": (EmlOut, None),
    "markdown": (MarkdownOut, None), "title": (Title, None), "fail_on": (FailOn, None),
    "quiet": (Quiet, False)}


def _param(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=annotation)


def _is_list(annotation: Any) -> bool:
    """A variable-length tuple (``tuple[str, ...]``): a list of values."""
    return typing.get_origin(annotation) is tuple and Ellipsis in typing.get_args(annotation)


def _cli_type(annotation: Any, repeat: bool) -> Any:
    """The command-line type of a field: plain scalars as they are, lists as repeated or
    comma-separated text, anything else as text the design parses (``--fit-periods``)."""
    if annotation in (bool, int, float, str, Path):
        return annotation
    if typing.get_origin(annotation) is typing.Literal:
        return str
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kept = [a for a in args if a is not type(None)]
        if len(kept) == 1 and kept[0] in (int, float, str, Path) and len(args) == 2:
            return kept[0] | None
    if repeat and _is_list(annotation):
        return list[str] | None
    return str | None


def _field_param(f: dataclasses.Field[Any], annotation: Any, flag: str) -> inspect.Parameter:
    meta = f.metadata
    cli = _cli_type(annotation, bool(meta.get("repeat")))
    default = f.default if f.default not in ((), dataclasses.MISSING) else None
    return _param(f.name, Annotated[cli, typer.Option(flag, help=meta.get("help") or "")],
                  default)


def panel_parameters(unused: Iterable[str] = ()) -> list[inspect.Parameter]:
    """``DATA`` and the panel options, from the PanelSpec fields' metadata."""
    hints = typing.get_type_hints(PanelSpec)
    params = [_param("data", DataArg, inspect.Parameter.empty)]
    for f in dataclasses.fields(PanelSpec):
        if f.name == "data" or f.name in unused or f.metadata.get("no_cli"):
            continue
        flag = f.metadata.get("flag") or "--" + f.name.replace("_", "-")
        params.append(_field_param(f, hints[f.name], flag))
    return params


def method_parameters(method: Method) -> list[inspect.Parameter]:
    """A method's options, from its designs' spec fields (first design first; an option two
    designs share, such as ``--draws``, is declared once)."""
    params: dict[str, inspect.Parameter] = {}
    flags: set[str] = set()
    if all(f.name != "design" for d in method.designs.values()
           for f in dataclasses.fields(d.spec)):
        params["design"] = _param("design", Annotated[str, typer.Option(
            "--design", help=method.design_help)], method.default_design)
    for design in method.designs.values():
        hints = spec_keys(design.spec)
        renamed = {v: k for k, v in design.renamed.items()}
        for f in dataclasses.fields(design.spec):
            flag = f.metadata.get("flag") or "--" + f.name.replace("_", "-")
            if f.name in params or f.name in EXECUTION or flag.split("/")[0] in flags:
                continue
            flags.add(flag.split("/")[0])
            param = _field_param(f, hints[f.name], flag)
            params[renamed.get(f.name, f.name)] = param.replace(
                name=renamed.get(f.name, f.name))
    return list(params.values())


def execution_parameters() -> list[inspect.Parameter]:
    """The execution bundle: ``--backend``, ``--scheduler``, ``--workers``."""
    return [_param(name, annotation, default)
            for name, (annotation, default) in EXECUTION.items()]


def output_parameters() -> list[inspect.Parameter]:
    """The output bundle: outcome words, output files, gates, ``--quiet``."""
    return [_param(name, annotation, default) for name, (annotation, default) in OUTPUTS.items()]


def spec_value(annotation: Any, value: Any) -> Any:
    """A command-line value in its field's form: lists as tuples (comma-separated text
    split), everything else as given."""
    if not _is_list(annotation):
        return value
    if value is None:
        return ()
    if isinstance(value, str):
        value = [c.strip() for c in value.split(",") if c.strip()]
    if typing.get_args(annotation)[0] is float:  # numbers: text the spec check names
        return tuple(_number(c) for c in value)
    return tuple(value)


def _number(text: Any) -> Any:
    try:
        return float(text)
    except (TypeError, ValueError):
        return text


def command(name: str, params: list[inspect.Parameter], doc: str,
            body: Callable[..., None]) -> Callable[..., None]:
    """A Typer command function with the signature ``params`` calling ``body(ctx, values)``
    (Typer reads the signature, so the options can be built from metadata)."""
    def run(ctx: typer.Context, **values: Any) -> None:
        body(ctx, values)

    ctx_param = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                  annotation=typer.Context)
    signature = inspect.Signature([ctx_param, *params], return_annotation=None)
    run.__signature__ = signature  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
    run.__name__ = run.__qualname__ = name
    run.__doc__ = doc
    return run


def guard(action: Callable[[], T]) -> T:
    """Run ``action``; user errors become one ``Error:`` line and their exit code."""
    try:
        return action()
    except LpipEvalError as exc:
        from lpip_eval.cli.console import error_console

        error_console().print(f"Error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
