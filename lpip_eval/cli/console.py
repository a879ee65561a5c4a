"""The terminal: every line lpip-eval prints (Rich), and the progress displays.

Only ``lpip_eval/cli/`` prints; the library returns values and takes callbacks (a placebo
refit counter for the estimators, a per-evaluation callback for
:func:`lpip_eval.runs.batch.run_evaluation`), and this module turns them into output. Results go
to stdout, warnings, errors and progress to stderr. Rich honours ``NO_COLOR`` and only draws
colour on a terminal (docs/design.md, "Command line").
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from lpip_eval.files import write_all
from lpip_eval.numbers import MINUS, effect_decimals, fmt_number, fmt_p
from lpip_eval.report.files import Outputs, render_outputs

if TYPE_CHECKING:
    from lpip_eval.results.gates import TrippedGate
    from lpip_eval.results.result import EffectResult
    from lpip_eval.runs.batch import EvaluationRecord


def console() -> Console:
    """stdout. Everything printed holds data (area, column and file names), so strings are
    text, never Rich markup or emoji codes: ``[/red] x`` prints as it is (issue 10, item 5)."""
    return Console(highlight=False, soft_wrap=False, markup=False, emoji=False)


def error_console() -> Console:
    """stderr, with the same rule: data is text, never markup."""
    return Console(stderr=True, highlight=False, markup=False, emoji=False)


def _fmt(value: float | None, digits: int = 4) -> str:
    """``digits`` significant figures, never scientific notation (issue 13)."""
    return fmt_number(value, digits, console=True)


def _fixed(value: float | None, decimals: int, *, signed: bool = False) -> str:
    """An effect with the decimals its uncertainty deserves (the reports use the same)."""
    if value is None:
        return "-"
    return fmt_number(value, decimals, signed=signed).replace(MINUS, "-").replace("n/a", "-")


def emit_result(result: EffectResult, unit_names: Mapping[str, str], *, outputs: Outputs,
                quiet: bool, gates: Sequence[TrippedGate] = ()) -> None:
    """Write the requested files (all or none), then print the table (unless JSON goes to
    stdout).

    ``result`` carries its provenance (``with_provenance``). ``gates`` (tripped ``--fail-on``
    gates) are shown in the reports' gates box; the JSON result and the terminal list them as
    warnings ("Gate tripped: ...").
    """
    from lpip_eval.results.gates import gate_sentence

    shown = result
    if gates:
        shown = dataclasses.replace(result, warnings=(
            *result.warnings, *(f"Gate tripped: {g.message}" for g in gates)))
    data = result.to_dict()
    files: list[tuple[str, str | bytes]] = [(outputs.json, shown.to_json())] if outputs.json else []
    files += render_outputs([data], outputs, gates=[
        {"gate": g.gate, "message": gate_sentence(g, data)} for g in gates])
    write_all(files)  # every output rendered first, then all written or none
    if quiet:
        return
    print_written(outputs)
    if not outputs.to_stdout:
        print_result(shown, unit_names)


def print_written(outputs: Outputs) -> None:
    """'Wrote a.json, report.html' on stderr, so that stdout stays the result."""
    if outputs.files:
        error_console().print("Wrote " + ", ".join(outputs.files), soft_wrap=True)


def print_result(result: EffectResult, unit_names: Mapping[str, str]) -> None:
    """A Rich table of the headline estimate, per-period effects and the checks."""
    out = console()
    est = result.estimate
    cross_section = not result.time_col  # unit-level matching: units, no periods
    noun = "unit" if cross_section else "area"
    names = ", ".join(unit_names.get(u, u) for u in result.treated_units[:6])
    if len(result.treated_units) > 6:
        names += f" and {len(result.treated_units) - 6} more"
    table = Table(title=f"{result.design}: effect on {result.outcome_label or result.outcome}",
                  title_justify="left")
    for col in ("estimate", "std. error", f"{est.ci_level:.0%} interval", "p-value"):
        table.add_column(col, justify="right")
    d = effect_decimals(est.att, est.ci_low, est.ci_high, est.se)
    table.add_row(_fixed(est.att, d), _fixed(est.se, d),
                  f"{_fixed(est.ci_low, d)} to {_fixed(est.ci_high, d)}",
                  fmt_p(est.p_value).replace("n/a", "-"))
    out.print(table)
    if result.outcome_scale == "log" and est.ci_low is not None and est.ci_high is not None:
        from lpip_eval.report.words import percent

        out.print(f"On the log scale: {_fixed(est.att, d, signed=True)} log points is about "
                  f"{percent(est.att)} ({est.ci_level:.0%} interval about {percent(est.ci_low)} "
                  f"to {percent(est.ci_high)}).".replace(MINUS, "-"))
    n_treated = len(result.treated_units)
    if cross_section:
        out.print(f"Treated: {n_treated} unit{'s' if n_treated != 1 else ''} ({names}); "
                  f"matched with {len(result.comparison_units)} untreated units.")
    else:
        from lpip_eval.report.cohorts import waves_span

        span = waves_span({"diagnostics": result.diagnostics})
        start = f"starting {span}" if span else f"from {result.treatment_start}"
        out.print(f"Treated: {n_treated} area{'s' if n_treated != 1 else ''} ({names}) "
                  f"{start}; compared with {len(result.comparison_units)} "
                  f"area{'s' if len(result.comparison_units) != 1 else ''}.")
    out.print(f"Inference: {est.inference.method}: {est.inference.reason.rstrip('.')}.")
    pre = result.diagnostics.get("pretrend_test")
    if pre:
        verdict = "rejected" if pre["rejected_at_5pct"] else "not rejected"
        out.print(f"Pre-trends: {pre['test']}: {fmt_p(pre['p_value'], prefix=True)} "
                  f"({verdict} at 5%).")
    for entry in result.diagnostics.get("sensitivity") or []:
        from lpip_eval.report.sensitivity import sentence

        out.print(f"Sensitivity ({entry['method'].replace('-', ' ')}): "
                  f"{sentence(entry, result.outcome_unit or '')}")
    fit = result.diagnostics.get("pre_fit")
    if fit:
        out.print(f"Pre-period fit: RMSPE {_fmt(fit.get('rmspe'))} (MSPE {_fmt(fit.get('mspe'))}, "
                  f"{_fmt(fit.get('rmspe_to_sd'), 2)} of the outcome's pre-period SD).")
    if result.evidence:
        out.print(f"Evidence: {result.evidence.get('label')}.")
    if result.weights:
        top = sorted(result.weights, key=lambda w: -w[1])[:10]
        weights = Table(title=f"Comparison {noun}s with the most weight", title_justify="left")
        weights.add_column(noun)
        weights.add_column("weight", justify="right")
        for unit, weight in top:
            weights.add_row(unit_names.get(unit, unit), _fmt(weight, 3))
        out.print(weights)
    _print_matching(out, result, unit_names)
    effects = [e for e in result.effects_by_period
               if e.event_time is None or e.event_time >= 0 or e.se is not None
               or e.ci_low is not None]
    if effects:
        with_range = any(e.ci_low is not None for e in effects)
        per = Table(title="Effects by period", title_justify="left")
        for col in ("period", "from start", "effect", *(["interval"] if with_range else [])):
            per.add_column(col, justify="right")
        for e in effects:
            row = [e.period, "" if e.event_time is None else f"{e.event_time:+d}",
                   _fixed(e.att, d)]
            if with_range:
                row.append(f"{_fixed(e.ci_low, d)} to {_fixed(e.ci_high, d)}")
            per.add_row(*row)
        out.print(per)
    err = error_console()
    for w in result.warnings:
        err.print(f"Warning: {w}", markup=False)


def _print_matching(out: Console, result: EffectResult, unit_names: Mapping[str, str]) -> None:
    """Matched pairs and the balance table, for results that carry them."""
    pairs = result.diagnostics.get("matched_pairs") or []
    if pairs:
        table = Table(title="Matched areas", title_justify="left")
        for col in ("pilot area", "comparison area", "distance"):
            table.add_column(col, justify="right" if col == "distance" else "left")
        for pair in pairs[:20]:
            table.add_row(unit_names.get(pair["treated"], pair["treated"]),
                          unit_names.get(pair["control"], pair["control"]),
                          _fmt(pair.get("distance"), 3))
        out.print(table)
    unmatched = result.diagnostics.get("unmatched") or []
    if unmatched:
        out.print("Unmatched pilot areas (left out): "
                  + ", ".join(unit_names.get(u, u) for u in unmatched) + ".")
    balance = result.diagnostics.get("balance") or {}
    if balance.get("rows"):
        table = Table(title="Balance before and after matching (|SMD| < 0.1 good, < 0.25 "
                      "acceptable)", title_justify="left")
        for col in ("variable", "SMD before", "SMD after", "var. ratio after", "verdict"):
            table.add_column(col, justify="left" if col in ("variable", "verdict") else "right")
        for row in balance["rows"]:
            table.add_row(row["variable"], _fmt(row["smd_before"], 3), _fmt(row["smd_after"], 3),
                          _fmt(row.get("vr_after"), 3), str(row.get("verdict", "")))
        out.print(table)


def _listed(names: list[str], limit: int = 12) -> str:
    """'3: a, b, c' or '40: a, ... (12 names) and 28 more'."""
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"{len(names)}: " + ", ".join(names[:limit]) + more


def print_validation(info: dict[str, Any]) -> None:
    """The ``validate`` report: data sources, areas, periods, balance, outcome summary."""
    out = console()
    head = Table(title="What the methods will see", title_justify="left", show_header=False)
    head.add_column("item")
    head.add_column("value")
    for s in info["sources"]:
        head.add_row("file", f"{s['path']} ({s['rows']} rows, sha256 {s['sha256'][:12]}…)")
    head.add_row("outcome", info["outcome"])
    head.add_row("treated areas", _listed(info["treated_units"]))
    head.add_row("comparison areas", _listed(info["comparison_units"]))
    head.add_row("treatment starts", ", ".join(info["treatment_starts"]))
    cohorts = info.get("cohorts", [])
    if cohorts:
        head.add_row("cohorts", ", ".join(
            f"{c['start']}: {c['areas']} area{'s' if c['areas'] != 1 else ''}" for c in cohorts)
            + f"; never treated: {info['never_treated']}")
    head.add_row("periods", f"{info['n_periods']} {info['frequency']} periods, "
                 f"{info['first_period']} to {info['last_period']} "
                 f"({info['pre_periods']} before the first start)")
    head.add_row("missing periods", ", ".join(info["missing_periods"]) or "none")
    incomplete = info["incomplete_units"]
    head.add_row("balanced", "yes" if info["balanced"] else
                 f"no: {len(incomplete)} area{'s lack' if len(incomplete) != 1 else ' lacks'} "
                 "some periods (e.g. "
                 + ", ".join(f"{u['unit']} has {u['periods']}" for u in incomplete[:3]) + ")")
    missing = info.get("covariate_missing", {})
    head.add_row("covariates", ", ".join(
        f"{c} ({missing[c]} rows missing)" if missing.get(c) else c for c in info["covariates"]
    ) or "none")
    for cat in info.get("categoricals", []):
        values = [f"{v} ({n})" for v, n in cat["values"].items()]
        shown = ", ".join(values[:6]) + (f" and {len(values) - 6} more" if len(values) > 6 else "")
        head.add_row(f"categorical {cat['column']}", f"{cat['distinct']} values: {shown}")
    for note in info.get("aggregation", []):
        head.add_row("combined", note)
    head.add_row("boundary changes", "; ".join(info.get("boundary_findings", []))
                 or "none found (2019-2023 district merges)")
    out.print(head)
    summ = Table(title=f"{info['outcome']} by group", title_justify="left")
    for col in ("group", "phase", "rows", "mean", "sd", "min", "max"):
        summ.add_column(col, justify="right" if col not in ("group", "phase") else "left")
    for r in info["outcome_summary"]:
        summ.add_row(r["group"], r["phase"], str(r["rows"]), _fmt(r["mean"]), _fmt(r["sd"]),
                     _fmt(r["min"]), _fmt(r["max"]))
    out.print(summ)
    err = error_console()
    for w in info["warnings"]:
        err.print(f"Warning: {w}", markup=False)


@contextmanager
def progress_bar(quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A Rich bar of placebo refits on stderr, only when stderr is a terminal; yields the
    ``progress(done, total)`` callback the estimators take (None: draw nothing)."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress

    with Progress(console=error_console(), transient=True) as bar:
        task = bar.add_task("Placebo refits", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


class BatchProgress:
    """Progress of a config run, one call per finished evaluation: a Rich bar on a
    terminal's stderr, plain log lines ("[2/6] outcome x method: done (1.2 s)") otherwise."""

    def __init__(self, total: int) -> None:
        self.total, self.count = total, 0
        self.bar: Any = None
        if sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                MofNCompleteColumn(), console=Console(stderr=True),
                                transient=True)
            self.bar.start()
            self.task = self.bar.add_task("evaluations", total=total)

    def __call__(self, record: EvaluationRecord) -> None:
        self.count += 1
        if record.ok:
            state = "done" + (f", gate tripped: {', '.join(g.gate for g in record.gates)}"
                              if record.gates else "")
        else:
            state = f"failed (exit {record.exit_code}): {record.error}"
        line = (f"[{self.count}/{self.total}] {record.outcome} x {record.method}: {state} "
                f"({record.seconds:.1f} s)")
        if self.bar is not None:
            self.bar.console.print(line, markup=False, highlight=False)
            self.bar.update(self.task, advance=1,
                            description=f"{record.outcome} x {record.method}")
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@contextmanager
def batch_progress(total: int, *, enabled: bool
                   ) -> Iterator[Callable[[EvaluationRecord], None] | None]:
    """The ``progress(record)`` callback for ``run_evaluation`` (None when not ``enabled``),
    closed (the bar removed) on leaving the block."""
    if not enabled:
        yield None
        return
    shown = BatchProgress(total)
    try:
        yield shown
    finally:
        shown.close()
