"""What each answer rests on: for designs that estimate one outcome, say in words which
assumption each answer needs and which of its checks passed (issue 12, item 5).

Three numbers side by side (Texas prisons: placebo ranks p = 0.18, with covariate predictors
p = 0.02, synthetic DiD p = 0.02) leave a reader to guess which to believe. For every result
this module gives its **answer** (a clear rise or fall, or not told apart from zero), the
**assumption** the comparison rests on (by design) and the one its range rests on (by
inference method), its **checks** (passed, concerns, not checked) and what sets it apart
from the others with the same design name (predictors, inference, ...: from the options in
its provenance). :func:`why_they_differ` turns the rows into sentences when the answers
differ.
"""

from __future__ import annotations

from typing import Any

from lpip_eval.numbers import fmt_p
from lpip_eval.report.checks import assumption_checks, is_cross_section

# Options that change how a result was computed (shown to tell apart results of one design).
# Execution settings (workers, backend), file names and the seed are left out.
SHAPING = ("design", "estimator", "inference", "predictors", "fit_periods", "v",
           "donors_nearest", "penalty", "aggregate", "match_on", "exact", "k", "caliper",
           "distance", "control_group", "base_period", "anticipation", "ci_level")

_COMPARISON = {
    "classic": "without the pilot, it would have kept following the weighted mix of comparison "
               "areas that tracked it before the start",
    "sdid": "without the pilot, it would have moved in parallel with the re-weighted comparison "
            "areas (a constant gap allowed)",
    "did": "without the pilot, pilot and comparison areas would have changed alike (parallel "
           "trends)",
    "match": "without the pilot, the matched comparison areas would have changed like the "
             "pilot areas",
    "units": "treated and matched untreated units differ only in what the matching variables "
             "capture",
}


def comparison_assumption(result: dict[str, Any]) -> str:
    """The assumption behind the comparison, by method and design."""
    method, design = result.get("method"), str(result.get("design", "")).lower()
    if method == "synth":
        return _COMPARISON["sdid" if "synthetic d" in design else "classic"]
    if method == "match":
        return _COMPARISON["units" if is_cross_section(result) else "match"]
    return _COMPARISON["did"]


def range_assumption(result: dict[str, Any]) -> str:
    """The assumption behind the range and p-value, by inference method (and its details)."""
    inference = (result.get("estimate") or {}).get("inference") or {}
    method, details = inference.get("method"), inference.get("details") or {}
    if method == "placebo" and "fallback_from" in details:
        return ("the pilot's estimate is ranked among the comparison areas' placebo estimates "
                "(placebo-in-space ranks)")
    if method == "placebo" and "replications" in details:
        return ("the pilot varies like the comparison areas (placebo standard error, normal "
                "distribution)")
    if method == "placebo":
        what = ("post/pre-period gap ratio" if details.get("statistic", "").startswith("post/pre")
                else "post-period gap")
        return (f"the pilot's {what} is ranked among the comparison areas' own (placebo-in-"
                "space): an area that fitted less well before the start looks less unusual")
    if method == "conformal":
        periods = details.get("periods")
        floor = f"; with {periods} periods its p-value cannot go below 1/{periods}" \
            if periods else ""
        return f"the gaps are exchangeable over time (conformal inference{floor})"
    return {
        "randomization": "the pilot areas could as well have been any of the areas "
                         "(randomization inference)",
        "cluster": "there are enough areas for cluster-robust standard errors",
        "wild-bootstrap": "errors are independent across areas (wild cluster bootstrap)",
        "multiplier-bootstrap": "errors are independent across areas (multiplier bootstrap)",
        "abadie-imbens": "matches are close enough for the Abadie-Imbens standard error",
    }.get(str(method), f"its {method} inference")


def answer(result: dict[str, Any]) -> tuple[str, str]:
    """(kind, words): kind 'rise' or 'fall' (the range excludes zero), 'none' (it includes
    zero) or 'open' (no range could be computed)."""
    est = result.get("estimate") or {}
    values = [est.get(k) for k in ("ci_low", "ci_high", "att")]
    p = fmt_p(est.get("p_value"), prefix=True)
    if not all(isinstance(v, int | float) for v in values):
        note = ((est.get("inference") or {}).get("details") or {}).get("range_note")
        return "open", f"{note or 'no range could be computed'} ({p})"
    low, high, att = (float(v) for v in values if isinstance(v, int | float))
    if low > 0 or high < 0:
        kind = "rise" if att > 0 else "fall"
        return kind, f"a clear {kind} ({p})"
    return "none", f"cannot be told apart from zero ({p})"


def checks_summary(result: dict[str, Any]) -> dict[str, Any]:
    """``{passed, concerns: [names], unchecked: [names], text}`` from the result's checks."""
    passed, concerns, unchecked = 0, [], []
    for check in assumption_checks(result):
        name = str(check.get("check", "")).split(":")[0].split(" (")[0].rstrip(".")
        if check["status"] in ("Passed", "Basis of the range"):
            passed += check["status"] == "Passed"
        elif check["status"] == "Concern":
            concerns.append(name)
        else:
            unchecked.append(name)
    if not (passed or concerns or unchecked):
        return {"passed": 0, "concerns": [], "unchecked": [], "text": "no checks recorded"}
    parts = [f"{passed} passed"]
    if concerns:
        parts.append(f"concern{'s' if len(concerns) > 1 else ''}: {'; '.join(concerns)}")
    if unchecked:
        parts.append(f"not checked: {'; '.join(unchecked)}")
    return {"passed": passed, "concerns": concerns, "unchecked": unchecked,
            "text": ", ".join(parts)}


def variants(results: list[dict[str, Any]]) -> list[str]:
    """For each result, the options that set it apart from the others with the same design
    name ('' when its design name is unique): e.g. 'predictors: income, ur, alcohol'."""
    out = []
    for result in results:
        twins = [r for r in results if r is not result and r.get("design") == result.get("design")]
        if not twins:
            out.append("")
            continue
        mine = _options(result)
        differing = [k for k in SHAPING if any(_options(t).get(k) != mine.get(k) for t in twins)]
        out.append("; ".join(f"{k.replace('_', ' ')}: {_show(mine.get(k))}" for k in differing))
    return out


def short_name(design: str) -> str:
    """A design's name without its citation: 'Synthetic control (Abadie, Diamond &
    Hainmueller 2010)' -> 'Synthetic control' (the variant text follows it instead)."""
    head, _, tail = design.rpartition(" (")
    return head if head and any(ch.isdigit() for ch in tail) else design


def _options(result: dict[str, Any]) -> dict[str, Any]:
    return dict(((result.get("provenance") or {}).get("options")) or {})


def _show(value: Any) -> str:
    if value in (None, (), [], ""):
        return "default"
    if isinstance(value, list | tuple):
        shown = ", ".join(str(v) for v in value[:4])
        return shown + (f" and {len(value) - 4} more" if len(value) > 4 else "")
    return str(value)


def basis_rows(results: list[dict[str, Any]], names: list[str]) -> list[dict[str, Any]]:
    """One row per result: name, answer (kind, words), the two assumptions, checks."""
    rows = []
    for result, name in zip(results, names, strict=True):
        kind, words = answer(result)
        rows.append({"name": name, "answer_kind": kind, "answer": words,
                     "rests_on": f"{comparison_assumption(result)}; its range assumes "
                                 f"{range_assumption(result)}",
                     "checks": checks_summary(result)["text"]})
    return rows


def why_they_differ(rows: list[dict[str, Any]]) -> str | None:
    """A sentence when the answers differ (a clear rise, a clear fall, not told apart from
    zero, no range), naming which design gave which; None when every answer is the same."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["answer_kind"], []).append(row)
    if len(groups) < 2:
        return None
    words = {"rise": "a clear rise", "fall": "a clear fall",
             "none": "an effect that cannot be told apart from zero", "open": "no range"}
    parts = [f"{_names(group)} {'finds' if len(group) == 1 else 'find'} {words[kind]}"
             for kind, group in groups.items()]
    return (f"The answers differ: {'; '.join(parts)}. Each rests on its own assumptions "
            "(listed below); believe the one whose assumptions are most plausible here and "
            "whose checks passed, and treat the effect as uncertain if none stands out.")


def _names(rows: list[dict[str, Any]]) -> str:
    names = [r["name"] for r in rows]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
