"""Strength of evidence on the Maryland Scientific Methods Scale (SMS).

The What Works Centre for Local Economic Growth scores evaluations from 1 to 5 (Sherman et al.
1997; What Works Centre, "Guide to scoring evidence using the Maryland Scientific Methods
Scale", 2016):

1. a correlation or a before-and-after change in the pilot areas alone;
2. a comparison with other areas, or before and after, without a credible control for
   differences between them (includes designs whose key check fails);
3. before and after, with a comparison group that is shown to be similar (difference-in-
   differences with parallel pre-trends, well-fitting synthetic control, matched comparison
   areas with good balance);
4. quasi-random variation in treatment (instruments, discontinuities);
5. random assignment.

lpip-eval's area designs start at level 3 and are lowered to 2 when the check behind their key
assumption fails; unit-level matching (``match --design nnmatch``) compares treated and
untreated units at one point in time, so it is level 2. Each reason is a sentence a
policymaker can read. The rating works from a result's JSON (``EffectResult.to_dict()``), so
saved results can be rated again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lpip_eval.numbers import fmt_p

if TYPE_CHECKING:
    from lpip_eval.results.result import EffectResult

LABELS = {
    1: "Level 1 of 5: correlation or before-and-after only",
    2: "Level 2 of 5: comparison without a credible control",
    3: "Level 3 of 5: before and after, with a credible comparison group",
    4: "Level 4 of 5: quasi-random variation",
    5: "Level 5 of 5: randomised",
}
FEW_TREATED = 10
SHORT_PRE_PERIOD = 4
POOR_FIT_RATIO = 0.5  # pre-period RMSPE over the outcome's pre-period SD
SMD_ACCEPTABLE = 0.25


def rate_evidence(result: dict[str, Any]) -> dict[str, Any]:
    """``{level, label, reasons}`` for one result dict (the JSON form of an EffectResult)."""
    reasons: list[str] = []
    level = _design_level(result, reasons)
    _caveats(result, reasons)
    return {"level": level, "label": LABELS[level], "reasons": reasons}


def _design_level(result: dict[str, Any], reasons: list[str]) -> int:
    method = result["method"]
    diag = result.get("diagnostics", {})
    n_comp = len(result.get("comparison_units", []))
    if method == "did":
        reasons.append(f"Difference-in-differences: the pilot areas' change is compared with the "
                       f"change in {n_comp} comparison areas over the same periods.")
        pre = diag.get("pretrend_test")
        if pre is None:
            reasons.append("Parallel trends could not be tested (fewer than 3 periods before the "
                           "start, or staggered starts without an event study), so the rating "
                           "rests on the comparison group being plausible.")
            return 3
        if pre.get("rejected_at_5pct"):
            reasons.append(f"Before the pilot, the pilot and comparison areas were already "
                           "moving differently (pre-trend test "
                           f"{fmt_p(pre['p_value'], prefix=True)}), so "
                           "the comparison may not show what would have happened: lowered to "
                           "level 2.")
            return 2
        reasons.append(f"Before the pilot, pilot and comparison areas moved in parallel (pre-trend "
                       f"test {fmt_p(pre['p_value'], prefix=True)}): level 3.")
        return 3
    if method == "synth":
        fit = diag.get("pre_fit", {})
        ratio = fit.get("rmspe_to_sd")
        reasons.append("Synthetic control: the pilot area is compared with a weighted "
                       "combination of comparison areas chosen to match it before the pilot.")
        if ratio is not None and ratio > POOR_FIT_RATIO:
            reasons.append(f"The synthetic comparison did not track the pilot well before it "
                           f"started (pre-period error {ratio:.2f} of the outcome's spread): "
                           "lowered to level 2.")
            return 2
        if _synth_caps(diag, result, reasons):
            return 2
        reasons.append("The synthetic comparison tracked the pilot closely before it started: "
                       "level 3.")
        return 3
    if method == "match" and not result.get("time_col", "period"):  # unit-level matching
        reasons.append("Matched comparison of units at one point in time: treated units are "
                       "compared with untreated units that looked like them on the matching "
                       "variables, but not before and after, so differences that the matching "
                       "variables miss are not ruled out: level 2.")
        return 2
    if method == "match":
        balance = diag.get("balance", {})
        worst = balance.get("max_abs_smd_after")
        reasons.append("Matched comparison areas: comparison areas were chosen to resemble the "
                       "pilot areas before the pilot, then compared before and after.")
        if worst is not None and worst >= SMD_ACCEPTABLE:
            reasons.append(f"After matching, the areas still differ (largest standardised "
                           f"difference {worst:.2f} >= {SMD_ACCEPTABLE}): lowered to level 2.")
            return 2
        reasons.append("After matching, pilot and comparison areas are balanced: level 3.")
        return 3
    reasons.append(f"Unrecognised method '{method}': rated as a simple comparison.")
    return 2


def _synth_caps(diag: dict[str, Any], result: dict[str, Any], reasons: list[str]) -> bool:
    """Synthetic-control diagnostics that cap the rating at level 2 (issue 12), each named:
    an exact or near-exact pre-period fit (overfitting), a pilot outside the donors' convex
    hull, a pilot unlike the donors in level or scale (sdid), inference methods that disagree."""
    fit = diag.get("pre_fit", {})
    capped = False
    if fit.get("overfit"):
        reasons.append(f"The synthetic comparison reproduces the pilot's "
                       f"{fit.get('fit_periods')} pre-period values "
                       f"{'exactly' if fit.get('exact') else 'almost exactly'} with "
                       f"{fit.get('donors')} comparison areas: that is overfitting, not a "
                       "sign of a good comparison: lowered to level 2.")
        capped = True
    if (diag.get("hull") or {}).get("outside"):
        reasons.append("The pilot lies outside what the comparison areas can be mixed to "
                       "reach, so no synthetic comparison can resemble it: lowered to level 2.")
        capped = True
    if (diag.get("exchangeable") or {}).get("ok") is False:
        reasons.append("The pilot is unlike the comparison areas in level or scale, so "
                       "placebo-based uncertainty from them may not apply: lowered to level 2.")
        capped = True
    agree = diag.get("inference_agreement") or {}
    if agree.get("agree") is False:
        reasons.append(f"The inference methods disagree ({agree.get('summary')}): lowered to "
                       "level 2.")
        capped = True
    return capped


def _caveats(result: dict[str, Any], reasons: list[str]) -> None:
    diag = result.get("diagnostics", {})
    n_treated = len(result.get("treated_units", []))
    if n_treated < FEW_TREATED:
        reasons.append(f"Only {n_treated} pilot area{'s' if n_treated != 1 else ''}: the result "
                       "describes what happened here, and its uncertainty comes from comparing "
                       "with how much comparison areas vary "
                       f"({result['estimate']['inference']['method']} inference).")
    pre_periods = diag.get("pre_periods")
    if pre_periods is not None and pre_periods < SHORT_PRE_PERIOD:
        reasons.append(f"Short pre-period ({pre_periods} period{'s' if pre_periods != 1 else ''} "
                       "before the start): trends before the pilot are hard to judge.")


def with_evidence(result: EffectResult) -> EffectResult:
    """The EffectResult with its ``evidence`` block filled in from its own diagnostics."""
    from dataclasses import replace

    light = {  # what the rating reads, without serialising every area's name
        "method": result.method,
        "time_col": result.time_col,
        "diagnostics": result.diagnostics,
        "treated_units": result.treated_units,
        "comparison_units": result.comparison_units,
        "estimate": {"inference": {"method": result.estimate.inference.method}},
    }
    return replace(result, evidence=rate_evidence(light))
