"""Option types shared by the ``lpip-eval`` commands, and the user-error guard.

Kept apart from ``commands.py`` so the estimating commands and the batch commands
(``evaluate.py``) declare the same options the same way. Imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from lpip_eval.errors import LpipEvalError, UsageError, one_line

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


OutcomeLabel = Annotated[str | None, typer.Option(
    "--outcome-label", help="How reports name the outcome, e.g. 'employment rate'.",
    callback=one_line_option)]
OutcomeUnit = Annotated[str | None, typer.Option(
    "--outcome-unit", help="Unit of the effect in reports, e.g. 'percentage points'.",
    callback=one_line_option)]
Title = Annotated[str | None, typer.Option("--title", help="Report title.")]


DID_DESIGNS = ("2x2", "twfe", "event-study")
INFERENCE_NAMES = ("auto", "cluster", "wild-bootstrap", "randomization")


def check_common(inference: str, ci_level: float) -> None:
    """Usage errors (exit 2) for option values shared by the estimating commands."""
    if inference not in INFERENCE_NAMES:
        raise typer.BadParameter(f"use one of {', '.join(INFERENCE_NAMES)}",
                                 param_hint="--inference")
    if not 0 < ci_level < 1:
        raise typer.BadParameter("give a level between 0 and 1, e.g. 0.95",
                                 param_hint="--ci-level")


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


def guard(action: Callable[[], T]) -> T:
    """Run ``action``; user errors become one ``Error:`` line and their exit code."""
    try:
        return action()
    except LpipEvalError as exc:
        from lpip_eval.cli.console import error_console

        error_console().print(f"Error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
