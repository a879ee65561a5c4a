"""The ``lpip-eval`` command line: parse options, call the library once, print, write.

Each estimating command (``did``, ``synth``, ``match``) is built from its :class:`Method`
record: the panel options from the PanelSpec fields, the method's options from its specs'
fields (flag, help, default: ``cli/options.py``), the shared output options; and every one
runs through :func:`_estimate`, the same registry call a config file makes. The specs check
the values, so a mistake gets the same exit code here and in ``evaluation.toml``, and the
message names the flag here and the key there.

Heavy modules (pandas, NumPy, statsmodels) are imported inside the commands so that
``lpip-eval --help`` starts instantly. Errors a user can cause print one ``Error:`` line
and exit with the error's code: 2 usage, 3 data, 4 design, 5 gate (docs/design.md, "Exit
codes"); anything else is a bug (exit 1) and shows a traceback.
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
import typing
from collections.abc import Callable
from typing import Annotated, Any

import typer

from lpip_eval import __version__
from lpip_eval.cli.digest import digest
from lpip_eval.cli.evaluate import init, report_command, run, schema
from lpip_eval.cli.options import (
    EXECUTION,
    OUTPUTS,
    command,
    execution_parameters,
    guard,
    method_parameters,
    output_parameters,
    panel_parameters,
    spec_value,
)
from lpip_eval.cli.plan import plan
from lpip_eval.data.spec import PanelSpec
from lpip_eval.errors import EXIT_OK
from lpip_eval.methods.registry import METHODS, Design, Method, spec_keys

app = typer.Typer(
    name="lpip-eval",
    help="What-works-here evaluation of local policy pilots: difference-in-differences, "
    "synthetic control and matched comparison areas, with honest inference for one or a few "
    "treated areas, and evidence reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lpip-eval {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """What-works-here evaluation of local policy pilots."""


def _panel_spec(values: dict[str, Any]) -> PanelSpec:
    """The PanelSpec of the panel options in ``values`` (taken out of it)."""
    hints = typing.get_type_hints(PanelSpec)
    given = {f.name: spec_value(hints[f.name], values.pop(f.name))
             for f in dataclasses.fields(PanelSpec) if f.name in values}
    return PanelSpec(**given)


def _validate(ctx: typer.Context, values: dict[str, Any]) -> None:
    spec = _panel_spec(values)

    def run() -> None:
        from lpip_eval.cli.console import print_validation
        from lpip_eval.data.describe import describe_panel
        from lpip_eval.data.panel import load_panel

        print_validation(describe_panel(load_panel(spec)))

    guard(run)


app.command("validate")(command("validate", panel_parameters(), "Check a data set and print "
                                "what the methods will see.", _validate))


def _where(method: str) -> Callable[[str], str]:
    """Names an option in the registry's messages as its flag (``--draws``)."""
    def where(key: str) -> str:
        from lpip_eval.runs.keys import cli_option

        return (cli_option(method, key) or key) if key else f"lpip-eval {method}"

    return where


def _options(ctx: typer.Context, m: Method, values: dict[str, Any]) -> dict[str, Any]:
    """The method options the user gave (the spec supplies the rest, as for a config table),
    and the design."""
    options: dict[str, Any] = {"design": values.get("design") or m.default_design}
    for name, value in values.items():
        source = ctx.get_parameter_source(name)  # Typer's own click: compare by name
        if source is None or source.name in ("DEFAULT", "DEFAULT_MAP"):
            continue
        types = [spec_keys(d.spec).get(d.renamed.get(name, name)) for d in m.designs.values()]
        options[name] = spec_value(next((t for t in types if t is not None), Any), value)
    return options


def _recorded(spec: Any, options: dict[str, Any], design: Design) -> dict[str, Any]:
    """The provenance's options: every option of the design, as given or by default."""
    recorded = {f.name: f.default for f in dataclasses.fields(spec)
                if f.default is not dataclasses.MISSING}
    recorded.update({design.renamed.get(k, k): v for k, v in options.items()})
    return recorded


def _estimate(ctx: typer.Context, name: str, values: dict[str, Any]) -> None:
    """Load the data the design needs, run it through the registry, attach provenance and
    the outcome's words, write the outputs, print, check the ``--fail-on`` gates (exit 5 after
    every output is written)."""
    m = METHODS[name]
    out = {key: values.pop(key) for key in OUTPUTS}
    execution = {key: values.pop(key) for key in EXECUTION}
    panel_spec = _panel_spec(values)
    options = _options(ctx, m, values)
    fail_on = tuple(out["fail_on"] or ())
    where = _where(name)

    def run() -> None:
        from lpip_eval.cli.console import emit_result, progress_bar
        from lpip_eval.cli.evaluate import backend_of
        from lpip_eval.data.panel import load_panel
        from lpip_eval.methods.registry import build_options, design_of, estimate
        from lpip_eval.parallel import use_backend
        from lpip_eval.report.files import Outputs
        from lpip_eval.results.gates import check_gates, gate_error, parse_gates
        from lpip_eval.results.result import with_outcome_words, with_provenance

        parse_gates(fail_on)
        backend = backend_of(execution, quiet=out["quiet"])
        spec = build_options(name, options, where=where, outcome=panel_spec.outcome)
        data_spec = m.load_spec(panel_spec, spec)
        outputs = Outputs(json=out["json_out"], html=out["report"], eml=out["eml"],
                          markdown=out["markdown"], title=out["title"])
        outputs.check(inputs=[p for p in (data_spec.data, data_spec.comparators)
                              if p is not None])
        words = {"outcome_label": out["outcome_label"], "outcome_unit": out["outcome_unit"],
                 "outcome_scale": out["outcome_scale"]}
        design = m.designs[design_of(m, spec)]
        if design.loads == "units":
            with use_backend(backend):
                result = estimate(name, data_spec, options, where=where)
            if result.provenance is not None:  # estimate_units attaches the file's
                result = dataclasses.replace(result, provenance=dataclasses.replace(
                    result.provenance, command=command_line(ctx)))
            result = with_outcome_words(result, **words)
            unit_names: dict[str, str] = {}
        else:
            panel = load_panel(data_spec)
            with use_backend(backend), progress_bar(out["quiet"]) as progress:
                result = estimate(name, panel, options, where=where, progress=progress)
            result = with_provenance(result, panel, data_spec,
                                     _recorded(spec, options, design),
                                     command=command_line(ctx),
                                     seed=getattr(spec, "seed", None), **words)
            unit_names = dict(panel.unit_names)
        tripped = check_gates(result.to_dict(), fail_on)
        emit_result(result, unit_names, outputs=outputs, quiet=out["quiet"], gates=tripped)
        if tripped:
            raise gate_error(tripped)

    guard(run)


def _estimating_command(m: Method) -> None:
    params = [*panel_parameters(m.unused_roles), *method_parameters(m),
              *execution_parameters(), *output_parameters()]
    app.command(m.name)(command(m.name, params, m.summary,
                                lambda ctx, values: _estimate(ctx, m.name, values)))


for _method in METHODS.values():
    _estimating_command(_method)

app.command("report")(report_command)
app.command()(run)
app.command()(init)
app.command("digest")(digest)
app.command("plan")(plan)
app.command("schema")(schema)


def command_line(ctx: typer.Context) -> str:
    """The command as the user could retype it: the options that differ from their defaults.

    Built from the parsed parameters (not ``sys.argv``), so it is right however the command
    was invoked, including from another program. The execution options (``--backend``,
    ``--scheduler``, ``--workers``) are left out: they change nothing in the result.
    """
    words = ctx.command_path.split()
    words[0] = "lpip-eval"
    for param in ctx.command.params:
        if param.name in EXECUTION:
            continue
        value = ctx.params.get(param.name or "")
        if param.param_type_name == "argument":
            values = value if isinstance(value, list | tuple) else [value]
            words.extend(str(v) for v in values if v is not None)  # an optional one left out
            continue
        empty = isinstance(value, list | tuple) and not value
        if value is None or empty or value == param.default:
            continue
        option = max(param.opts, key=len)
        if isinstance(value, bool):
            flag = option if value else (max(param.secondary_opts, key=len)
                                         if param.secondary_opts else None)
            if flag:
                words.append(flag)
        elif isinstance(value, list | tuple):
            for item in value:
                words.extend([option, str(item)])
        else:
            words.extend([option, str(value)])
    return shlex.join(words)


def main() -> None:
    """Console-script entry point."""
    import os

    # Many small matrix products: one BLAS thread is fastest and avoids contention.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    app()
    sys.exit(EXIT_OK)
