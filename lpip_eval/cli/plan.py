"""``lpip-eval plan``: the minimum detectable effect of a pilot before it starts.

Registered on the app in ``cli/commands.py``. The maths is :mod:`lpip_eval.methods.power`
(analytic formula, design-based simulation), the reports :mod:`lpip_eval.report.plan`; this
module parses options, writes (all outputs or none) and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lpip_eval.cli.options import (
    BackendOpt,
    EmlOut,
    FailOn,
    JsonOut,
    MarkdownOut,
    OutcomeLabel,
    OutcomeUnit,
    Quiet,
    ReportOut,
    SchedulerOpt,
    Title,
    WorkersOpt,
    guard,
)

Comparators = Annotated[Path | None, typer.Option(
    "--comparators", help="File of comparison areas; every area in DATA is then a pilot area.")]
AreaCol = Annotated[str, typer.Option("--area-col", help="Area identifier column.")]
PeriodCol = Annotated[str, typer.Option("--period-col", help="Period column.")]
Outcome = Annotated[str | None, typer.Option("--outcome", help="Outcome column.")]
Treated = Annotated[list[str] | None, typer.Option(
    "--treated", help="A planned pilot area (repeatable). Needs --start.")]
Start = Annotated[str | None, typer.Option(
    "--start", help="Planned start; only periods before it are used.")]
TreatedCol = Annotated[str | None, typer.Option(
    "--treated-col", help="Column that is 1 for the planned pilot areas.")]
TreatmentCol = Annotated[str | None, typer.Option(
    "--treatment-col", help="A roll-out in waves: column that is 1 in treated area-periods "
    "(each area's start inside the data).")]
FirstTreatedCol = Annotated[str | None, typer.Option(
    "--first-treated-col", help="A roll-out in waves: column with each area's planned first "
    "treated period (may lie after the data's end); empty or 0 = never treated.")]

def plan(
    ctx: typer.Context,
    data: Annotated[Path | None, typer.Argument(
        help="Historical data (as for did/synth/match); leave out for what-if mode.",
        show_default=False, metavar="[DATA]")] = None,
    comparators: Comparators = None,
    area_col: AreaCol = "area",
    period_col: PeriodCol = "period",
    outcome: Outcome = None,
    treated: Treated = None,
    start: Start = None,
    treated_col: TreatedCol = None,
    treatment_col: TreatmentCol = None,
    first_treated_col: FirstTreatedCol = None,
    method: Annotated[str, typer.Option("--method", help="did, synth or match.")] = "did",
    design: Annotated[str | None, typer.Option(
        "--design", help="The design as the method's command takes it (default: its "
        "default).")] = None,
    post_periods: Annotated[int, typer.Option(
        "--post-periods", help="Periods the pilot will run from its start (in waves: from "
        "the last wave's start).")] = 8,
    ci_level: Annotated[float, typer.Option(
        "--ci-level", help="Two-sided interval level of the evaluation (test at 1 - level)."
    )] = 0.95,
    power: Annotated[float, typer.Option("--power", help="Target power.")] = 0.8,
    expected_effect: Annotated[float | None, typer.Option(
        "--expected-effect", help="The effect the partnership hopes for, in the outcome's "
        "units: turned into a power and a verdict.")] = None,
    pilots: Annotated[int, typer.Option(
        "--pilots", help="Placebo pilots for the design-based MDE (0: analytic only).")] = 200,
    draws: Annotated[int, typer.Option(
        "--draws", help="Randomization / placebo draws per simulated pilot.", min=19)] = 999,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 20240101,
    control_group: Annotated[str | None, typer.Option(
        "--control-group", help="A roll-out in waves with callaway-santanna: never (default) "
        "or not-yet (also areas not yet treated).")] = None,
    n_areas: Annotated[int | None, typer.Option(
        "--n-areas", help="What-if: areas in all (pilot + comparison).")] = None,
    n_treated: Annotated[int | None, typer.Option(
        "--n-treated", help="What-if: pilot areas.")] = None,
    n_pre: Annotated[int | None, typer.Option("--n-pre", help="What-if: periods before.")
                     ] = None,
    n_post: Annotated[int | None, typer.Option(
        "--n-post", help="What-if: periods from the start (default: --post-periods).")] = None,
    sd: Annotated[float | None, typer.Option(
        "--sd", help="What-if: SD of the outcome after area and period effects.")] = None,
    rho: Annotated[float | None, typer.Option(
        "--rho", help="What-if: its AR(1) autocorrelation.")] = None,
    outcome_label: OutcomeLabel = None,
    outcome_unit: OutcomeUnit = None,
    json_out: JsonOut = None,
    report: ReportOut = None,
    eml: EmlOut = None,
    markdown: MarkdownOut = None,
    title: Title = None,
    fail_on: FailOn = None,
    quiet: Quiet = False,
    backend: BackendOpt = None,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Plan a pilot: the smallest effect the evaluation could detect, before it starts."""

    def go() -> None:
        from dataclasses import replace

        from lpip_eval.cli.commands import command_line
        from lpip_eval.errors import UsageError
        from lpip_eval.methods.power.plan import plan_from_panel, plan_what_if
        from lpip_eval.methods.power.spec import PlanSpec, plan_options
        from lpip_eval.report.files import Outputs
        from lpip_eval.results.gates import check_gates, gate_error, parse_gates

        parse_gates(fail_on or ())
        options = plan_options(PlanSpec(
            method=method, design=design, post_periods=post_periods, ci_level=ci_level,
            power=power, expected_effect=expected_effect, pilots=pilots, draws=draws,
            seed=seed, control_group=control_group))
        files = Outputs(json=json_out, html=report, eml=eml, markdown=markdown, title=title)
        what_if = [n_areas, n_treated, n_pre, sd, rho]
        command = command_line(ctx)
        if data is None:
            if any(v is None for v in what_if):
                raise UsageError("plan needs DATA, or all of --n-areas, --n-treated, --n-pre, "
                                 "--sd and --rho (what-if mode)",
                                 hint="e.g. lpip-eval plan --n-areas 40 --n-treated 4 "
                                 "--n-pre 12 --n-post 8 --sd 1.2 --rho 0.7")
            files.check()
            result = plan_what_if(n_areas=int(n_areas or 0), n_treated=int(n_treated or 0),
                                  n_pre=int(n_pre or 0), n_post=n_post or post_periods,
                                  sd=float(sd or 0), rho=float(rho or 0), options=options,
                                  command=command)
        else:
            if any(v is not None for v in what_if):
                raise UsageError("--n-areas, --n-treated, --n-pre, --sd and --rho are for "
                                 "planning without data", hint="leave them out with DATA")
            from lpip_eval.cli.console import progress_bar
            from lpip_eval.data.panel import load_panel
            from lpip_eval.data.spec import PanelSpec

            spec = PanelSpec(data=data, comparators=comparators, area_col=area_col,
                             period_col=period_col, outcome=outcome,
                             treated=tuple(treated or ()), start=start,
                             treated_col=treated_col, treatment_col=treatment_col,
                             first_treated_col=first_treated_col)
            files.check(inputs=[p for p in (data, comparators) if p is not None])
            panel = load_panel(spec, planned=True)  # the start may lie after the data
            from lpip_eval.cli.evaluate import backend_of
            from lpip_eval.parallel import use_backend

            chosen = backend_of({"backend": backend, "scheduler": scheduler,
                                 "workers": workers}, quiet=quiet)
            with use_backend(chosen), progress_bar(quiet) as progress:
                result = plan_from_panel(panel, options, command=command, progress=progress)
            result = replace(result, inputs=tuple(
                {"file": s.path, "sha256": s.sha256, "rows": s.rows} for s in panel.sources))
        result = replace(result, outcome_label=outcome_label, outcome_unit=outcome_unit)
        body = result.to_dict()
        tripped = check_gates(body, fail_on or ())
        from lpip_eval.files import write_all
        from lpip_eval.report.plan import render_plan_outputs

        outputs: list[tuple[str, str | bytes]] = render_plan_outputs(
            body, html=report, eml=eml, markdown=markdown, title=title,
            gates=[t.to_dict() for t in tripped])
        if json_out:
            outputs.insert(0, (json_out, result.to_json()))
        write_all(outputs)
        if not quiet and not files.to_stdout:
            _print(body, [t.message for t in tripped])
        if tripped:
            raise gate_error(tripped)

    guard(go)


def _print(body: dict[str, Any], gates: list[str]) -> None:
    """The plan's table (MDE by source, the trade-off curve) and its headline."""
    from rich.table import Table

    from lpip_eval.cli.console import console, error_console
    from lpip_eval.numbers import fmt_number
    from lpip_eval.report.plan import plan_headline

    out = console()
    table = Table(title="Minimum detectable effect", title_justify="left")
    for col in ("vary", "pilot areas", "comparison areas", "post periods", "MDE (formula)"):
        table.add_column(col, justify="left" if col == "vary" else "right")
    for row in body["curve"]:
        table.add_row(row["vary"].replace("_", " "), str(row["n_treated"]),
                      str(row["n_areas"] - row["n_treated"]), str(row["n_post"]),
                      fmt_number(row["mde"], 4, console=True))
    out.print(table)
    if body.get("waves"):
        waves = Table(title="Wave by wave", title_justify="left")
        for col in ("wave", "pilots", "comparisons", "after", "weight", "MDE formula",
                    "MDE simulated"):
            waves.add_column(col, justify="left" if col == "wave" else "right")
        for w in body["waves"]:
            c = w["n_comparison"]
            waves.add_row(w["start"], str(w["n_areas"]),
                          str(int(c)) if c == int(c) else fmt_number(c, 3, console=True),
                          str(w["n_post"]), f"{w['weight']:.0%}",
                          fmt_number(w["mde_analytic"], 4, console=True),
                          fmt_number(w["mde_simulated"], 4, console=True))
        out.print(waves)
    out.print(plan_headline(body), markup=False, highlight=False, soft_wrap=True)
    if body.get("waves"):
        from lpip_eval.report.plan import waves_sentence

        out.print(waves_sentence(body), markup=False, highlight=False, soft_wrap=True)
    for line in [*body["warnings"], *gates]:
        error_console().print(f"  Note: {line}", markup=False, highlight=False, soft_wrap=True)
