"""The ``lpip-eval`` command line: parse options, call one library function, print, write.

Heavy modules (pandas, NumPy, statsmodels) are imported inside the commands so that
``lpip-eval --help`` starts instantly. Errors a user can cause print one ``Error:`` line
and exit 3 or 4 (DESIGN.md, "Exit codes"); anything else is a bug and shows a traceback.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


InferenceOpt = Annotated[str, typer.Option(
    "--inference", help="auto, cluster (CR1), wild-bootstrap or randomization. auto never uses "
    "clustered SEs with fewer than 10 treated areas.")]
CiLevel = Annotated[float, typer.Option("--ci-level", help="Interval level.")]
Draws = Annotated[int, typer.Option("--draws", help="Bootstrap / randomization / placebo draws.",
                                    min=19)]
Seed = Annotated[int, typer.Option("--seed", help="Random seed.")]
FailOn = Annotated[list[str] | None, typer.Option(
    "--fail-on", help="Exit 5 (after writing every output) if this gate trips: "
    "pretrend-rejected, poor-pre-fit, evidence-below:N, effect-crosses-zero. Repeatable.")]


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
    inference: InferenceOpt = "auto",
    bootstrap_weights: Annotated[str | None, typer.Option(
        "--bootstrap-weights", help="rademacher or webb (wild bootstrap; default by cluster "
        "count).")] = None,
    ci_level: CiLevel = 0.95,
    draws: Draws = 999,
    seed: Seed = 20240101,
    outcome_label: OutcomeLabel = None,
    outcome_unit: OutcomeUnit = None,
    json_out: JsonOut = None,
    report: ReportOut = None,
    eml: EmlOut = None,
    markdown: MarkdownOut = None,
    title: Title = None,
    fail_on: FailOn = None,
    quiet: Quiet = False,
) -> None:
    """Difference-in-differences: 2x2, two-way fixed effects or event study."""
    if design not in DID_DESIGNS:
        raise typer.BadParameter(f"use one of {', '.join(DID_DESIGNS)}", param_hint="--design")
    _check_common(inference, ci_level)
    if bootstrap_weights not in (None, "rademacher", "webb"):
        raise typer.BadParameter("use rademacher or webb", param_hint="--bootstrap-weights")
    spec = _panel_spec(data, comparators, area_col, period_col, outcome, treated, start,
                       treated_col, treatment_col, first_treated_col, covariates, weights_col,
                       cluster_col)
    options = {"design": design, "inference": inference, "bootstrap_weights": bootstrap_weights,
               "ci_level": ci_level, "draws": draws, "seed": seed}
    _estimate(ctx, "did", spec, options, labels=(outcome_label, outcome_unit),
              outputs=(json_out, report, eml, markdown, title), quiet=quiet,
              fail_on=tuple(fail_on or ()))


def _estimate(ctx: typer.Context, method: str, spec: Any, options: dict[str, Any], *,
              labels: tuple[str | None, str | None],
              outputs: tuple[str | None, ...], quiet: bool, fail_on: tuple[str, ...]) -> None:
    """Load the panel, run ``method`` through the registry, write outputs, print, check gates.

    A tripped ``--fail-on`` gate exits 5 after every output has been written.
    """

    def run() -> None:
        from dataclasses import replace

        from lpip_eval.gates import check_gates, gate_error, parse_gates
        from lpip_eval.output import Outputs, emit_result
        from lpip_eval.panel import load_panel
        from lpip_eval.registry import estimate

        parse_gates(fail_on)
        panel = load_panel(spec)
        with _progress_bar(quiet) as progress:
            result = estimate(method, panel, options, where=f"lpip-eval {method}",
                              progress=progress)
        result = replace(result, outcome_label=labels[0], outcome_unit=labels[1])
        tripped = check_gates(result.to_dict(), fail_on)
        json_out, html, eml, markdown, title = outputs
        emit_result(result, panel, spec, options, command=_command_line(ctx),
                    seed=options.get("seed"),
                    outputs=Outputs(json=json_out, html=html, eml=eml, markdown=markdown,
                                    title=title), quiet=quiet, gates=tripped)
        if tripped:
            raise gate_error(tripped)

    _guard(run)


@contextmanager
def _progress_bar(quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A Rich progress bar on stderr, only when stderr is a terminal (DESIGN.md)."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress

    from lpip_eval.output import error_console

    with Progress(console=error_console(), transient=True) as bar:
        task = bar.add_task("Placebo refits", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _columns(text: str | None) -> tuple[str, ...]:
    return tuple(c.strip() for c in text.split(",") if c.strip()) if text else ()


@app.command()
def match(
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
    weights_col: WeightsCol = None,
    cluster_col: ClusterCol = None,
    match_on: Annotated[str | None, typer.Option(
        "--match-on", help="Comma-separated covariates to match on (pre-period means).")] = None,
    outcome_level: Annotated[bool, typer.Option(
        "--outcome-level/--no-outcome-level",
        help="Match on the pre-period outcome level.")] = True,
    outcome_trend: Annotated[bool, typer.Option(
        "--outcome-trend/--no-outcome-trend",
        help="Match on the pre-period outcome trend.")] = True,
    distance: Annotated[str, typer.Option(
        "--distance", help="mahalanobis, ivariance or propensity.")] = "mahalanobis",
    k: Annotated[int, typer.Option("--k", help="Comparison areas per pilot area.", min=1)] = 1,
    replace: Annotated[bool, typer.Option(
        "--replace/--no-replace", help="Match with or without replacement.")] = False,
    caliper: Annotated[float | None, typer.Option(
        "--caliper", help="Largest allowed difference, in standard deviations.")] = None,
    exact: Annotated[str | None, typer.Option(
        "--exact", help="Comma-separated text columns to match exactly (e.g. region).")] = None,
    cem: Annotated[bool, typer.Option("--cem", help="Coarsened exact matching.")] = False,
    cem_bins: Annotated[int | None, typer.Option(
        "--cem-bins", help="Bins per variable for --cem (default: Sturges' rule).")] = None,
    design: Annotated[str, typer.Option(
        "--design", help="DiD on the matched set: twfe or 2x2.")] = "twfe",
    inference: InferenceOpt = "auto",
    ci_level: CiLevel = 0.95,
    draws: Draws = 999,
    seed: Seed = 20240101,
    outcome_label: OutcomeLabel = None,
    outcome_unit: OutcomeUnit = None,
    json_out: JsonOut = None,
    report: ReportOut = None,
    eml: EmlOut = None,
    markdown: MarkdownOut = None,
    title: Title = None,
    fail_on: FailOn = None,
    quiet: Quiet = False,
) -> None:
    """Matched comparison areas: choose similar areas, check balance, then DiD on them."""
    _check_common(inference, ci_level)
    if distance not in ("mahalanobis", "ivariance", "propensity"):
        raise typer.BadParameter("use mahalanobis, ivariance or propensity",
                                 param_hint="--distance")
    if design not in ("twfe", "2x2"):
        raise typer.BadParameter("use twfe or 2x2", param_hint="--design")
    from dataclasses import replace as dc_replace

    spec = _panel_spec(data, comparators, area_col, period_col, outcome, treated, start,
                       treated_col, treatment_col, first_treated_col, match_on, weights_col,
                       cluster_col)
    spec = dc_replace(spec, categoricals=_columns(exact))
    options = {"match_on": _columns(match_on), "use_outcome_level": outcome_level,
               "use_outcome_trend": outcome_trend, "distance": distance, "k": k,
               "replace": replace, "caliper": caliper, "exact": _columns(exact), "cem": cem,
               "cem_bins": cem_bins, "design": design, "inference": inference,
               "ci_level": ci_level, "draws": draws, "seed": seed}
    _estimate(ctx, "match", spec, options, labels=(outcome_label, outcome_unit),
              outputs=(json_out, report, eml, markdown, title), quiet=quiet,
              fail_on=tuple(fail_on or ()))


@app.command()
def synth(
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
    design: Annotated[str, typer.Option(
        "--design", help="classic (Abadie, Diamond & Hainmueller) or sdid (synthetic DiD).")
    ] = "classic",
    estimator: Annotated[str, typer.Option(
        "--estimator", help="With --design sdid: sdid, or sc / did in the same framework "
        "(Arkhangelsky et al. 2021, Table 1).")] = "sdid",
    predictor: Annotated[list[str] | None, typer.Option(
        "--predictor", help="COLUMN[:PERIODS][:mean|value], e.g. lnincome:1980-1988:mean or "
        "cigsale:1975 (repeatable; default: the outcome in every fitting period).")] = None,
    fit_periods: Annotated[str | None, typer.Option(
        "--fit-periods", help="Periods whose outcome the weights are chosen to match, e.g. "
        "1970-1988 (default: all before the start).")] = None,
    v: Annotated[str, typer.Option(
        "--v", help="Predictor weights: optimize, equal, regression, cv (ADH 2015) or "
        "numbers w1,w2,... one per predictor.")] = "optimize",
    donors_nearest: Annotated[int | None, typer.Option(
        "--donors-nearest", help="Keep only the K donors closest before the start.")] = None,
    penalty: Annotated[float | None, typer.Option(
        "--penalty", help="Penalised SC lambda (Abadie & L'Hour 2021).")] = None,
    inference: Annotated[str, typer.Option(
        "--inference", help="placebo (placebo-in-space ranks; auto = placebo) or none.")
    ] = "placebo",
    placebo_mspe_cutoff: Annotated[float | None, typer.Option(
        "--placebo-mspe-cutoff", help="Leave out placebos whose pre-period MSPE exceeds this "
        "multiple of the pilot's.")] = None,
    placebo_in_time: Annotated[bool, typer.Option(
        "--placebo-in-time/--no-placebo-in-time", help="Refit with a fake start in the "
        "pre-period.")] = True,
    leave_one_out: Annotated[bool, typer.Option(
        "--leave-one-out/--no-leave-one-out", help="Refit without each donor with weight.")
    ] = True,
    aggregate: Annotated[bool, typer.Option(
        "--aggregate", help="Several pilot areas: fit their average as one area.")] = False,
    workers: Annotated[int, typer.Option("--workers", help="Processes for placebo refits.",
                                         min=1)] = 1,
    ci_level: CiLevel = 0.95,
    draws: Draws = 999,
    seed: Seed = 20240101,
    outcome_label: OutcomeLabel = None,
    outcome_unit: OutcomeUnit = None,
    json_out: JsonOut = None,
    report: ReportOut = None,
    eml: EmlOut = None,
    markdown: MarkdownOut = None,
    title: Title = None,
    fail_on: FailOn = None,
    quiet: Quiet = False,
) -> None:
    """Synthetic control for one or a few pilot areas, with placebo inference."""
    if design not in ("classic", "sdid"):
        raise typer.BadParameter("use classic or sdid", param_hint="--design")
    if inference not in ("auto", "placebo", "none"):
        raise typer.BadParameter("use placebo or none", param_hint="--inference")
    if not 0 < ci_level < 1:
        raise typer.BadParameter("give a level between 0 and 1, e.g. 0.95",
                                 param_hint="--ci-level")
    predictor_columns = tuple(p.split(":")[0].strip() for p in predictor or ())
    extra = [c for c in predictor_columns if c and c not in _columns(covariates)
             and c != outcome]
    all_covariates = ",".join([*_columns(covariates), *dict.fromkeys(extra)]) or None
    spec = _panel_spec(data, comparators, area_col, period_col, outcome, treated, start,
                       treated_col, treatment_col, first_treated_col, all_covariates, None, None)
    options: dict[str, Any] = {"design": design, "ci_level": ci_level, "draws": draws,
                               "seed": seed, "workers": workers}
    if design == "sdid":
        if estimator not in ("sdid", "sc", "did"):
            raise typer.BadParameter("use sdid, sc or did", param_hint="--estimator")
        options["estimator"] = estimator
    if design == "classic":
        options.update({"predictors": tuple(predictor or ()), "fit_periods": fit_periods,
                        "v": v, "donors_nearest": donors_nearest, "penalty": penalty,
                        "inference": inference, "placebo_mspe_cutoff": placebo_mspe_cutoff,
                        "placebo_in_time": placebo_in_time, "leave_one_out": leave_one_out,
                        "aggregate": aggregate})
    _estimate(ctx, "synth", spec, options, labels=(outcome_label, outcome_unit),
              outputs=(json_out, report, eml, markdown, title), quiet=quiet,
              fail_on=tuple(fail_on or ()))


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


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="The evaluation file (TOML).",
                                           metavar="EVALUATION.toml", show_default=False)],
    fail_on: FailOn = None,
    quiet: Quiet = False,
) -> None:
    """Run every outcome x design an evaluation file asks for, write all outputs (CI)."""

    def go() -> int:
        from lpip_eval.batch import run_evaluation
        from lpip_eval.config import load_config
        from lpip_eval.output import error_console

        batch = run_evaluation(load_config(config), progress=not quiet,
                               fail_on=tuple(fail_on or ()))
        err = error_console()
        for evaluation in batch.evaluations:
            if evaluation.error:
                err.print(f"Error: {evaluation.outcome} x {evaluation.method}: "
                          f"{evaluation.error}", markup=False, highlight=False, soft_wrap=True)
            for gate in evaluation.gates:
                err.print(f"Gate tripped: {evaluation.outcome} x {evaluation.method}: "
                          f"{gate.message}", markup=False, highlight=False, soft_wrap=True)
        if not quiet:
            from lpip_eval.output import console

            console().print(batch.summary, markup=False, highlight=False, soft_wrap=True)
        return int(batch.exit_code)

    code = _guard(go)
    if code:
        raise typer.Exit(code)


@app.command()
def init(
    data: DataArg,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Where to write the config (default: evaluation.toml beside "
        "DATA).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter evaluation file for a data file."""

    def go() -> None:
        from lpip_eval.output import console
        from lpip_eval.starter import write_starter

        path = write_starter(data, output or data.with_name("evaluation.toml"), overwrite=force)
        console().print(f"Wrote {path}: fill in the outcome and start, then run "
                        f"`lpip-eval run {path}`.", markup=False, highlight=False)

    _guard(go)


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
