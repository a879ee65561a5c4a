"""The ``lpip-eval`` command line: parse options, call one library function, print, write.

Heavy modules (pandas, NumPy, statsmodels) are imported inside the commands so that
``lpip-eval --help`` starts instantly. Errors a user can cause print one ``Error:`` line
and exit 3 or 4 (DESIGN.md, "Exit codes"); anything else is a bug and shows a traceback.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from lpip_eval import __version__
from lpip_eval.errors import EXIT_OK, LpipEvalError

app = typer.Typer(
    name="lpip-eval",
    help="What-works-here evaluation of local policy pilots (difference-in-differences, "
    "with honest inference for one or a few treated areas).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

T = TypeVar("T")

DataArg = Annotated[Path, typer.Argument(help="Data file (CSV, Parquet or Excel), long format: "
                                         "one row per area and period.", show_default=False,
                                         metavar="DATA")]
Comparators = Annotated[Path | None, typer.Option(
    "--comparators", help="File of comparison areas (same columns); every area in DATA is "
    "then a pilot area. Needs --start.")]
AreaCol = Annotated[str, typer.Option("--area-col", help="Area identifier column.")]
PeriodCol = Annotated[str, typer.Option("--period-col", help="Period column (2019, 2019Q3, "
                                        "2019-07, 2019/20, ISO dates).")]
Outcome = Annotated[str | None, typer.Option("--outcome", help="Outcome column (needed unless "
                                             "the data has one numeric non-role column).")]
Treated = Annotated[list[str] | None, typer.Option("--treated", help="A treated area "
                                                   "(repeatable). Needs --start.")]
Start = Annotated[str | None, typer.Option("--start", help="First treated period, e.g. 2021Q3.")]
TreatedCol = Annotated[str | None, typer.Option("--treated-col", help="Column that is 1 for "
                                                "treated areas in every period. Needs --start.")]
TreatmentCol = Annotated[str | None, typer.Option("--treatment-col", help="Column that is 1 in "
                                                  "treated area-periods (start per area).")]
FirstTreatedCol = Annotated[str | None, typer.Option(
    "--first-treated-col", help="Column with each area's first treated period; empty or 0 = "
    "never treated.")]
Covariates = Annotated[str | None, typer.Option("--covariates", help="Comma-separated "
                                                "covariate columns (twfe, event-study).")]
WeightsCol = Annotated[str | None, typer.Option("--weights-col", help="Analytic weights "
                                                "column (e.g. population).")]
ClusterCol = Annotated[str | None, typer.Option("--cluster-col", help="Cluster column for "
                                                "cluster-robust inference (default: the area).")]
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
OutcomeLabel = Annotated[str | None, typer.Option(
    "--outcome-label", help="How reports name the outcome, e.g. 'employment rate'.")]
OutcomeUnit = Annotated[str | None, typer.Option(
    "--outcome-unit", help="Unit of the effect in reports, e.g. 'percentage points'.")]
Title = Annotated[str | None, typer.Option("--title", help="Report title.")]


DID_DESIGNS = ("2x2", "twfe", "event-study")
INFERENCE_NAMES = ("auto", "cluster", "wild-bootstrap", "randomization")


def _check_common(inference: str, ci_level: float) -> None:
    """Usage errors (exit 2) for option values shared by the estimating commands."""
    if inference not in INFERENCE_NAMES:
        raise typer.BadParameter(f"use one of {', '.join(INFERENCE_NAMES)}",
                                 param_hint="--inference")
    if not 0 < ci_level < 1:
        raise typer.BadParameter("give a level between 0 and 1, e.g. 0.95",
                                 param_hint="--ci-level")


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


def _guard(action: Callable[[], T]) -> T:
    """Run ``action``; user errors become one ``Error:`` line and their exit code."""
    try:
        return action()
    except LpipEvalError as exc:
        from lpip_eval.output import error_console

        error_console().print(f"Error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None


def _panel_spec(data: Path, comparators: Path | None, area_col: str, period_col: str,
                outcome: str | None, treated: list[str] | None, start: str | None,
                treated_col: str | None, treatment_col: str | None,
                first_treated_col: str | None, covariates: str | None, weights_col: str | None,
                cluster_col: str | None) -> Any:
    from lpip_eval.panel import PanelSpec

    return PanelSpec(
        data=data, comparators=comparators, area_col=area_col, period_col=period_col,
        outcome=outcome, treated=tuple(treated or ()), start=start, treated_col=treated_col,
        treatment_col=treatment_col, first_treated_col=first_treated_col,
        covariates=tuple(c.strip() for c in covariates.split(",") if c.strip())
        if covariates else (),
        weights_col=weights_col, cluster_col=cluster_col,
    )


@app.command()
def validate(
    data: DataArg,
    comparators: Comparators = None,
    area_col: AreaCol = "area",
    period_col: PeriodCol = "period",
    outcome: Outcome = None,
    treated: Treated = None,
    start: Start = None,
    treated_col: TreatedCol = None,
    treatment_col: TreatmentCol = None,
    first_treated_col: FirstTreatedCol = None,
    covariates: Covariates = None,
    weights_col: WeightsCol = None,
    cluster_col: ClusterCol = None,
) -> None:
    """Check a data set and print what the methods will see."""
    spec = _panel_spec(data, comparators, area_col, period_col, outcome, treated, start,
                       treated_col, treatment_col, first_treated_col, covariates, weights_col,
                       cluster_col)

    def run() -> None:
        from lpip_eval.output import print_validation
        from lpip_eval.panel import load_panel
        from lpip_eval.validation import describe_panel

        print_validation(describe_panel(load_panel(spec)))

    _guard(run)


@app.command()
def did(
    ctx: typer.Context,
    data: DataArg,
    comparators: Comparators = None,
    area_col: AreaCol = "area",
    period_col: PeriodCol = "period",
    outcome: Outcome = None,
    treated: Treated = None,
    start: Start = None,
    treated_col: TreatedCol = None,
    treatment_col: TreatmentCol = None,
    first_treated_col: FirstTreatedCol = None,
    covariates: Covariates = None,
    weights_col: WeightsCol = None,
    cluster_col: ClusterCol = None,
    design: Annotated[str, typer.Option(
        "--design", help="2x2 (pre/post means), twfe (two-way fixed effects) or event-study.")
    ] = "twfe",
    inference: Annotated[str, typer.Option(
        "--inference", help="auto, cluster (CR1), wild-bootstrap or randomization. auto never "
        "uses clustered SEs with fewer than 10 treated areas.")] = "auto",
    bootstrap_weights: Annotated[str | None, typer.Option(
        "--bootstrap-weights", help="rademacher or webb (wild bootstrap; default by cluster "
        "count).")] = None,
    ci_level: Annotated[float, typer.Option("--ci-level", help="Interval level.")] = 0.95,
    draws: Annotated[int, typer.Option("--draws", help="Bootstrap / randomization draws.",
                                       min=19)] = 999,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 20240101,
    outcome_label: OutcomeLabel = None,
    outcome_unit: OutcomeUnit = None,
    json_out: JsonOut = None,
    report: ReportOut = None,
    eml: EmlOut = None,
    markdown: MarkdownOut = None,
    title: Title = None,
    quiet: Quiet = False,
) -> None:
    """Difference-in-differences: 2x2, two-way fixed effects or event study."""
    if design not in DID_DESIGNS:
        raise typer.BadParameter(f"use one of {', '.join(DID_DESIGNS)}", param_hint="--design")
    _check_common(inference, ci_level)
    spec = _panel_spec(data, comparators, area_col, period_col, outcome, treated, start,
                       treated_col, treatment_col, first_treated_col, covariates, weights_col,
                       cluster_col)
    if bootstrap_weights not in (None, "rademacher", "webb"):
        raise typer.BadParameter("use rademacher or webb", param_hint="--bootstrap-weights")
    options = {"design": design, "inference": inference, "bootstrap_weights": bootstrap_weights,
               "ci_level": ci_level, "draws": draws, "seed": seed}

    def run() -> None:
        from dataclasses import replace

        from lpip_eval.output import Outputs, emit_result
        from lpip_eval.panel import load_panel
        from lpip_eval.registry import estimate

        panel = load_panel(spec)
        result = estimate("did", panel, options, where="lpip-eval did")
        result = replace(result, outcome_label=outcome_label, outcome_unit=outcome_unit)
        emit_result(result, panel, spec, options, command=_command_line(ctx), seed=seed,
                    outputs=Outputs(json=json_out, html=report, eml=eml, markdown=markdown,
                                    title=title), quiet=quiet)

    _guard(run)


@app.command("report")
def report_command(
    results: Annotated[list[Path], typer.Argument(
        help="Result JSON file(s) written with --json; the first is the main result.",
        show_default=False, metavar="RESULT.json...")],
    report: ReportOut = None,
    eml: EmlOut = None,
    markdown: MarkdownOut = None,
    title: Title = None,
    send_to: Annotated[list[str] | None, typer.Option(
        "--send-to", help="E-mail the report to this address (repeatable).")] = None,
    sender: Annotated[str | None, typer.Option("--from", help="Sender address.")] = None,
    smtp_host: Annotated[str, typer.Option("--smtp-host", help="SMTP server.")] = "localhost",
    smtp_port: Annotated[int, typer.Option("--smtp-port", help="SMTP port.")] = 587,
    starttls: Annotated[bool, typer.Option("--starttls/--no-starttls",
                                           help="Upgrade the connection with STARTTLS.")] = True,
    smtp_user: Annotated[str | None, typer.Option(
        "--smtp-user", help="SMTP user; the password is read from the environment variable "
        "LPIP_EVAL_SMTP_PASSWORD, never from an option.")] = None,
) -> None:
    """Render saved results again (HTML, e-mail, Markdown) and optionally send the e-mail."""
    if not (report or eml or markdown or send_to):
        raise typer.BadParameter("give at least one of --report, --eml, --markdown, --send-to",
                                 param_hint="outputs")
    if send_to and not sender:
        raise typer.BadParameter("--send-to needs --from ADDRESS", param_hint="--from")

    def run() -> None:
        from lpip_eval.output import Outputs, load_results, send_report, write_outputs

        loaded = load_results(results)
        write_outputs(loaded, Outputs(html=report, eml=eml, markdown=markdown, title=title))
        if send_to:
            send_report(loaded, title=title, sender=sender or "", to=send_to, host=smtp_host,
                        port=smtp_port, starttls=starttls, user=smtp_user)

    _guard(run)


def _command_line(ctx: typer.Context) -> str:
    """The command as the user could retype it: the options that differ from their defaults.

    Built from the parsed parameters (not ``sys.argv``), so it is right however the command
    was invoked, including from another program.
    """
    words = ctx.command_path.split()
    words[0] = "lpip-eval"
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if param.param_type_name == "argument":
            values = value if isinstance(value, list | tuple) else [value]
            words.extend(str(v) for v in values)
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
