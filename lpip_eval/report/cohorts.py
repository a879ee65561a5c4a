"""Staggered starts in a report: the start sentence, the cohort table and why parallel trends
were not tested (issue 11). Pure functions of a result's JSON.

A result's cohorts come from ``diagnostics.cohorts`` (Callaway & Sant'Anna: start, areas,
periods before and after) or, for the other designs, from ``diagnostics.treatment_starts``
and the periods of ``diagnostics.group_means``; so the table and the per-cohort "too few
periods before the start" check read the same for every DiD design.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from lpip_eval.numbers import fmt_number
from lpip_eval.report.words import decimals
from lpip_eval.results.evidence import did_kind, is_staggered

MIN_PRE = 2  # periods before a cohort's start for any pre-trend test (one lead + reference)


def cohort_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per start period: ``start``, ``areas``, ``before``, ``after`` (periods; None
    when unknown), in start order; never-treated areas are not a row."""
    diag = result.get("diagnostics", {})
    given = [c for c in diag.get("cohorts") or [] if c.get("start") != "never"]
    if given and all("periods_before" in c for c in given):
        return [{"start": str(c["start"]), "areas": int(c["areas"]),
                 "before": c["periods_before"], "after": c["periods_after"]} for c in given]
    periods = [str(m["period"]) for m in diag.get("group_means") or []]
    counts: Counter[str] = Counter(str(s) for s in (diag.get("treatment_starts") or {}).values())
    if not counts:
        counts = Counter({str(c["start"]): int(c["areas"]) for c in given})
    rows = []
    for start, areas in counts.items():
        at = periods.index(start) if start in periods else None
        rows.append({"start": start, "areas": areas, "before": at,
                     "after": None if at is None else len(periods) - at})
    order = {p: i for i, p in enumerate(periods)}
    return sorted(rows, key=lambda r: (order.get(r["start"], len(order)), r["start"]))


def waves_span(result: dict[str, Any]) -> str | None:
    """"between 2006 and 2010 in 5 waves" for staggered starts, else None."""
    if not is_staggered(result.get("diagnostics", {})):
        return None
    rows = cohort_rows(result)
    if len(rows) < 2:
        return None
    return f"between {rows[0]['start']} and {rows[-1]['start']} in {len(rows)} waves"


def start_text(result: dict[str, Any]) -> str | None:
    """"The pilots started between 2006 and 2010 in 5 waves." for staggered starts, else
    None."""
    span = waves_span(result)
    return f"The pilots started {span}." if span else None


def untested_reason(result: dict[str, Any]) -> str:
    """Why the result has no pre-trend test, in words, for its parallel-trends check row."""
    diag = result.get("diagnostics", {})
    kind = did_kind(str(result.get("design", "")))
    if result.get("method") == "did" and kind == "imputation":
        return ("Not tested by the imputation design (the Callaway & Sant'Anna and Sun & "
                "Abraham designs test it).")
    if result.get("method") == "did" and is_staggered(diag) and kind in ("twfe", "2x2"):
        return ("Not tested by two-way fixed effects when pilots start at different times "
                "(the Callaway & Sant'Anna design, which auto picks, tests it).")
    short = [r for r in cohort_rows(result) if r["before"] is not None and r["before"] < MIN_PRE]
    if short:
        waves = ", ".join(f"{r['start']} ({r['before']})" for r in short)
        return f"Not testable here (too few periods before the start: {waves})."
    pre = diag.get("pre_periods")
    if pre is not None and pre < MIN_PRE:
        return "Not testable here (too few periods before the start)."
    return "Not tested by this design (an event study tests it)."


BACON_WORDS = {
    "treated vs untreated": "pilot areas against areas never in the pilot",
    "earlier vs later started": "earlier pilots against areas that started later (before "
                                "those started)",
    "later vs earlier started": "later pilots against areas that had already started",
}


def bacon_block(result: dict[str, Any]) -> dict[str, Any] | None:
    """The Goodman-Bacon (2021) decomposition of a TWFE estimate on staggered starts, for the
    report: a sentence and one row per kind of comparison (weight, average estimate), or None
    when the result has none (``diagnostics.goodman_bacon``, written by ``methods/bacon.py``)."""
    bacon = (result.get("diagnostics") or {}).get("goodman_bacon")
    if not bacon or not bacon.get("by_type"):
        return None
    d = decimals(result)
    rows = [{"kind": BACON_WORDS.get(r["type"], r["type"]), "comparisons": r["comparisons"],
             "weight": f"{r['weight']:.0%}", "estimate": fmt_number(r["estimate"], d,
                                                                    signed=True)}
            for r in bacon["by_type"]]
    n = sum(int(r["comparisons"]) for r in bacon["by_type"])
    late = float(bacon.get("later_vs_earlier_weight") or 0.0)
    negative = float((bacon.get("negative_weights") or {}).get("total") or 0.0)
    twfe = fmt_number(bacon["twfe_estimate"], d, signed=True)
    text = (f"The two-way fixed effects estimate ({twfe}) is a weighted average of {n} "
            "two-group comparisons (Goodman-Bacon 2021). "
            f"{late:.0%} of its weight comes from comparing later pilots with areas that had "
            "already started, which is where a changing effect distorts it.")
    text += (f" Some pilot-period cells get negative weight ({negative:.0%} in all)."
             if negative > 0 else " No pilot-period cell gets a negative weight.")
    return {"text": text, "rows": rows}
