"""The ``lpip-eval`` command line: parse options, call one library function, print, write.

Heavy modules (pandas, NumPy, statsmodels) are imported inside the commands so that
``lpip-eval --help`` starts instantly. Errors a user can cause print one ``Error:`` line
and exit with the error's code: 2 usage, 3 data, 4 design, 5 gate (docs/design.md, "Exit
codes"); anything else is a bug (exit 1) and shows a traceback.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from lpip_eval import __version__
from lpip_eval.cli.digest import digest
from lpip_eval.cli.evaluate import init, report_command, run
from lpip_eval.cli.options import (
    DID_DESIGNS,
    AreaCol,
    CiLevel,
    ClusterCol,
    Comparators,
    Covariates,
    DataArg,
    Draws,
    EmlOut,
    FailOn,
    FirstTreatedCol,
    InferenceOpt,
    JsonOut,
    MarkdownOut,
    Outcome,
    OutcomeLabel,
    OutcomeUnit,
    PeriodCol,
    Quiet,
    ReportOut,
    Seed,
    Start,
    Title,
    Treated,
    TreatedCol,
    TreatmentCol,
    WeightsCol,
    check_common,
    guard,
)
from lpip_eval.errors import EXIT_OK

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




def _panel_spec(data: Path, comparators: Path | None, area_col: str, period_col: str,
                outcome: str | None, treated: list[str] | None, start: str | None,
                treated_col: str | None, treatment_col: str | None,
                first_treated_col: str | None, covariates: str | None, weights_col: str | None,
                cluster_col: str | None) -> Any:
    from lpip_eval.data.panel import PanelSpec

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
        from lpip_eval.cli.console import print_validation
        from lpip_eval.data.describe import describe_panel
        from lpip_eval.data.panel import load_panel

        print_validation(describe_panel(load_panel(spec)))

    guard(run)




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
    check_common(inference, ci_level)
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
        from lpip_eval.cli.console import emit_result, progress_bar
        from lpip_eval.data.panel import load_panel
        from lpip_eval.methods.registry import estimate
        from lpip_eval.report.files import Outputs
        from lpip_eval.results.gates import check_gates, gate_error, parse_gates
        from lpip_eval.results.result import with_provenance

        parse_gates(fail_on)
        json_out, html, eml, markdown, title = outputs
        files = Outputs(json=json_out, html=html, eml=eml, markdown=markdown, title=title)
        files.check(inputs=[p for p in (spec.data, spec.comparators) if p is not None])
        panel = load_panel(spec)
        with progress_bar(quiet) as progress:
            result = estimate(method, panel, options, where=f"lpip-eval {method}",
                              progress=progress)
        result = with_provenance(result, panel, spec, options, command=_command_line(ctx),
                                 seed=options.get("seed"), outcome_label=labels[0],
                                 outcome_unit=labels[1])
        tripped = check_gates(result.to_dict(), fail_on)
        emit_result(result, panel.unit_names, outputs=files, quiet=quiet, gates=tripped)
        if tripped:
            raise gate_error(tripped)

    guard(run)


def _estimate_units(ctx: typer.Context, spec: Any, *,
                    labels: tuple[str | None, str | None], outputs: tuple[str | None, ...],
                    quiet: bool, fail_on: tuple[str, ...]) -> None:
    """``match --design nnmatch``: unit-level matching, written and printed like the rest."""

    def run() -> None:
        from lpip_eval.cli.console import emit_result
        from lpip_eval.methods.match.units import run_unit_match
        from lpip_eval.report.files import Outputs
        from lpip_eval.results.gates import check_gates, gate_error, parse_gates

        parse_gates(fail_on)
        json_out, html, eml, markdown, title = outputs
        files = Outputs(json=json_out, html=html, eml=eml, markdown=markdown, title=title)
        files.check(inputs=[spec.data])
        result = run_unit_match(spec, command=_command_line(ctx), outcome_label=labels[0],
                                outcome_unit=labels[1])
        tripped = check_gates(result.to_dict(), fail_on)
        emit_result(result, {}, outputs=files, quiet=quiet, gates=tripped)
        if tripped:
            raise gate_error(tripped)

    guard(run)


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
        "--distance", help="mahalanobis, ivariance or propensity (nnmatch: mahalanobis, "
        "ivariance or euclidean).")] = "mahalanobis",
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
        "--design", help="DiD on the matched set: twfe or 2x2. nnmatch: unit-level data (one "
        "row per person or firm, no periods): the ATT of Stata's teffects nnmatch, matching "
        "with replacement, Abadie-Imbens standard error; the id column is --area-col if the "
        "file has it.")] = "twfe",
    bias_adjust: Annotated[bool, typer.Option(
        "--bias-adjust/--no-bias-adjust",
        help="nnmatch: Abadie-Imbens bias adjustment on the matching variables.")] = False,
    vce_nn: Annotated[int, typer.Option(
        "--vce-nn", min=0, help="nnmatch: own-group neighbours behind each unit's variance "
        "(teffects vce(robust, nn(#)); 0 = one variance for all).")] = 2,
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
    check_common(inference, ci_level)
    outputs = (json_out, report, eml, markdown, title)
    if design == "nnmatch":
        if caliper is not None or cem:
            raise typer.BadParameter("nnmatch keeps every nearest match; leave out --caliper "
                                     "and --cem", param_hint="--design")
        if distance not in ("mahalanobis", "ivariance", "euclidean"):
            raise typer.BadParameter("use mahalanobis, ivariance or euclidean with nnmatch",
                                     param_hint="--distance")
        if not (treated_col and outcome):
            raise typer.BadParameter("nnmatch needs --treated-col (1 = treated, 0 = not) and "
                                     "--outcome", param_hint="--design")
        from lpip_eval.methods.match.units import UnitMatchSpec

        unit_spec = UnitMatchSpec(
            data=data, outcome=outcome, treated_col=treated_col, match_on=_columns(match_on),
            id_col=area_col, exact=_columns(exact), bias_adjust=bias_adjust, distance=distance,
            k=k, vce_nn=vce_nn, ci_level=ci_level)
        _estimate_units(ctx, unit_spec, labels=(outcome_label, outcome_unit), outputs=outputs,
                        quiet=quiet, fail_on=tuple(fail_on or ()))
        return
    if distance not in ("mahalanobis", "ivariance", "propensity"):
        raise typer.BadParameter("use mahalanobis, ivariance or propensity",
                                 param_hint="--distance")
    if design not in ("twfe", "2x2"):
        raise typer.BadParameter("use twfe, 2x2 or nnmatch", param_hint="--design")
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




app.command("report")(report_command)
app.command()(run)
app.command()(init)
app.command("digest")(digest)


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
