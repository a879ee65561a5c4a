"""Triangulation: several designs estimating the same outcome, side by side.

For every outcome with at least two successful designs, :func:`triangulate` gives the rows of
a comparison table, a forest-plot chart specification (kind ``"forest"``), a statement of
whether the designs agree, the overlap between the synthetic-control donors and the matched
comparison areas, an evidence rating that takes the agreement into account, and what each
answer rests on (``basis``: its assumptions and checks, and ``why`` when the answers differ;
:mod:`lpip_eval.report.basis`). It works
from result dicts (the JSON form of EffectResult), like the report context, and returns a
plain dict the report templates can lay out.

Decisions:

- Designs **agree** when every pair of intervals overlaps and the estimates share a sign, or
  when the intervals overlap and every interval includes zero (then they agree that there
  is no clear effect). Otherwise they **disagree**, and the statement names the pairs whose
  intervals do not overlap and the designs that point the other way. A design without a
  finite interval is shown but left out of the comparison.
- Combined evidence: on agreement, the best single-design level, because independent
  designs with different assumptions pointing the same way make each one's weak point less
  worrying; on disagreement, the lowest level, because at least one design's assumption
  must be failing and we cannot tell which.
- Donors are the synthetic-control areas with weight > 0.01 (the threshold of ADH-style
  donor tables); matched areas are those with a positive matching weight.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

from lpip_eval.methods.registry import rate_evidence
from lpip_eval.numbers import effect_decimals, fmt_number
from lpip_eval.report.basis import basis_rows, short_name, variants, why_they_differ
from lpip_eval.report.words import METHOD_NAMES, outcome_words
from lpip_eval.results.evidence import LABELS

DONOR_THRESHOLD = 0.01


def triangulate(results: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"outcomes": [...]}``: one entry per outcome estimated by two or more designs, in
    the order the outcomes first appear in ``results``."""
    by_outcome: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        by_outcome.setdefault(result["outcome"], []).append(result)
    return {"outcomes": [_outcome(group) for group in by_outcome.values() if len(group) >= 2]}


def _outcome(results: list[dict[str, Any]]) -> dict[str, Any]:
    label, unit = outcome_words(results[0])
    rows = [_row(r) for r in results]
    for row, variant in zip(rows, variants(results), strict=True):
        if variant:  # one design name, different options: tell them apart by the options
            row["name"] = f"{short_name(row['name'])} ({variant})"
            row["label"] = f"{short_name(row['label'])} ({variant})"
    names = [r["name"] for r in rows]
    for row in rows:  # two results with one design name: tell them apart by method
        if names.count(row["name"]) > 1:
            row["name"] += f" ({row['method']})"
    agreement = _agreement(rows)
    basis = basis_rows(results, [r["name"] for r in rows])
    return {
        "outcome": results[0]["outcome"],
        "outcome_label": label,
        "outcome_unit": unit,
        "rows": rows,
        "chart": _chart(rows, label, unit),
        "agreement": agreement,
        "overlap": _overlap(results),
        "evidence": _evidence(rows, agreement),
        "basis": basis,
        "why": why_they_differ(basis),
    }


def _row(result: dict[str, Any]) -> dict[str, Any]:
    est = result["estimate"]
    evidence = result.get("evidence") or {}
    level = evidence.get("level") or rate_evidence(result)["level"]
    design = str(result.get("design") or METHOD_NAMES.get(result["method"], result["method"]))
    return {
        "method": result["method"],
        "design": design,
        "label": design[:1].upper() + design[1:],
        "name": design if design[:2].isupper() else design[:1].lower() + design[1:],
        "att": _finite(est.get("att")),
        "ci_low": _finite(est.get("ci_low")),
        "ci_high": _finite(est.get("ci_high")),
        "ci_level": est.get("ci_level"),
        "p_value": _finite(est.get("p_value")),
        "evidence_level": level,
    }


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _has_interval(row: dict[str, Any]) -> bool:
    return None not in (row["att"], row["ci_low"], row["ci_high"])


def _range(row: dict[str, Any]) -> str:
    return f"{fmt_number(row['ci_low'])} to {fmt_number(row['ci_high'])}"


def _agreement(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """{status: agree|disagree|unknown, statement, apart: [[a, b]...], rising, falling}."""
    usable = [r for r in rows if _has_interval(r)]
    left_out = [r["name"] for r in rows if not _has_interval(r)]
    note = (f" ({', '.join(left_out)} left out: no interval could be computed)"
            if left_out else "")
    rising = [r["name"] for r in usable if r["att"] > 0]
    falling = [r["name"] for r in usable if r["att"] < 0]
    apart = [[a["name"], b["name"]] for a, b in combinations(usable, 2)
             if a["ci_high"] < b["ci_low"] or b["ci_high"] < a["ci_low"]]
    out = {"apart": apart, "rising": rising, "falling": falling}
    n = len(usable)
    if n < 2:
        return {"status": "unknown", "statement": "The designs cannot be compared: fewer than "
                f"two have an interval{note}.", **out}
    signs = {_sign(r["att"]) for r in usable}
    if not apart and len(signs) == 1:
        direction = {1: "a rise", -1: "a fall", 0: "no change"}[signs.pop()]
        with_zero = [r for r in usable if r["ci_low"] <= 0 <= r["ci_high"]]
        if with_zero and direction != "no change":
            # issue 13: after a headline of "cannot be told apart from zero", a bare "every
            # one estimates a fall" reads as "it fell"
            which = ("every range" if len(with_zero) == n else
                     f"the range{'s' if len(with_zero) > 1 else ''} of "
                     f"{_join([r['name'] for r in with_zero])}")
            return {"status": "agree", "statement": f"The {n} designs point the same way "
                    f"(every one estimates {direction}) and their ranges overlap, but "
                    f"{which} also include{'' if 1 < len(with_zero) < n else 's'} no effect at "
                    f"all{note}.", **out}
        return {"status": "agree", "statement": f"The {n} designs agree: every one estimates "
                f"{direction}, and their ranges overlap{note}.", **out}
    if not apart and all(r["ci_low"] <= 0 <= r["ci_high"] for r in usable):
        return {"status": "agree", "statement": f"The {n} designs agree that there is no "
                "clear effect: their ranges overlap and every range includes zero, although "
                f"the estimates differ in sign{note}.", **out}
    by_name = {r["name"]: r for r in usable}
    parts = [f"{a} ({_range(by_name[a])}) and {b} ({_range(by_name[b])}) have ranges that do "
             "not overlap" for a, b in apart]
    if rising and falling:
        parts.append(f"{_join(rising)} estimate{'s' if len(rising) == 1 else ''} a rise while "
                     f"{_join(falling)} estimate{'s' if len(falling) == 1 else ''} a fall")
    return {"status": "disagree",
            "statement": f"The designs disagree: {'; '.join(parts)}{note}.", **out}


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def row_decimals(rows: list[dict[str, Any]]) -> int:
    """One precision for the designs' column of numbers: the finest any row's range needs
    (:func:`lpip_eval.numbers.effect_decimals`); the table and the forest plot share it."""
    return max((effect_decimals(r["att"], r["ci_low"], r["ci_high"]) for r in rows), default=2)


def _chart(rows: list[dict[str, Any]], label: str, unit: str) -> dict[str, Any]:
    unit_text = f" ({unit})" if unit else ""
    d = row_decimals(rows)
    return {
        "id": "forest",
        "kind": "forest",
        "title": f"Estimated effect on the {label}, by design",
        "xlabel": f"Effect on {label}{unit_text}",
        "alt": (f"Chart of the estimated effect on the {label} from each of {len(rows)} "
                "designs, each with its range, against a line at zero (no effect)."),
        "columns": ["Design", "Effect", "Range"],
        "rows": [[r["label"], fmt_number(r["att"], d, signed=True),
                  f"{fmt_number(r['ci_low'], d)} to {fmt_number(r['ci_high'], d)}"]
                 for r in rows],
        "series": {"labels": [r["label"] for r in rows],
                   "att": [r["att"] for r in rows],
                   "low": [r["ci_low"] for r in rows],
                   "high": [r["ci_high"] for r in rows]},
    }


def _overlap(results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Synthetic-control donors (weight > 0.01) vs matched areas (weight > 0)."""
    synth = next((r for r in results if r["method"] == "synth" and r.get("weights")), None)
    match = next((r for r in results if r["method"] == "match" and r.get("weights")), None)
    if synth is None or match is None:
        return None
    synth_weights = {w["unit"]: float(w["weight"]) for w in synth["weights"]
                     if w["weight"] is not None and w["weight"] > DONOR_THRESHOLD}
    matched = sorted(w["unit"] for w in match["weights"]
                     if w["weight"] is not None and w["weight"] > 0)
    donors = sorted(synth_weights)
    shared = sorted(set(donors) & set(matched))
    weight_on_shared = sum(synth_weights[u] for u in shared)
    total = sum(synth_weights.values())
    names = {**(match.get("diagnostics") or {}).get("unit_names", {}),
             **(synth.get("diagnostics") or {}).get("unit_names", {})}
    share = len(shared) / len(donors) if donors else 0.0
    weight_share = weight_on_shared / total if total > 0 else 0.0
    shown = ", ".join(names.get(u, u) for u in shared[:8]) + (
        f" and {len(shared) - 8} more" if len(shared) > 8 else "")
    statement = (f"{len(shared)} of the {len(donors)} synthetic-control donors "
                 f"({weight_share:.0%} of the synthetic weight) "
                 f"{'is' if len(shared) == 1 else 'are'} also among the "
                 f"{len(matched)} matched areas" + (f": {shown}." if shared else "."))
    return {"synth_donors": donors, "matched": matched, "shared": shared,
            "share_of_donors": share, "synth_weight_on_matched": weight_share,
            "statement": statement}


def _evidence(rows: list[dict[str, Any]], agreement: dict[str, Any]) -> dict[str, Any]:
    levels = [r["evidence_level"] for r in rows]
    if agreement["status"] == "agree":
        level = max(levels)
        best = next(r["name"] for r in rows if r["evidence_level"] == level)
        reasons = [agreement["statement"],
                   f"Combined rating: the best single design's level ({best}, level {level}), "
                   "because designs resting on different assumptions point the same way."]
    elif agreement["status"] == "disagree":
        level = min(levels)
        reasons = [agreement["statement"],
                   f"Combined rating: the lowest single design's level ({level}), because at "
                   "least one design's assumption must be failing and we cannot tell which."]
    else:
        level = min(levels)
        reasons = [agreement["statement"],
                   f"Combined rating: the lowest single design's level ({level})."]
    return {"level": level, "label": LABELS[level], "reasons": reasons}
