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
assumption fails. For difference-in-differences (this module owns those rules, issue 11):

* a rejected pre-trend test caps the level at 2;
* a design that did not test parallel trends is never rated above a design that could test
  them on the same data, passed or failed: untested is level 2 whenever the data have 2+
  periods before the start (an event study, Callaway & Sant'Anna or Sun & Abraham would test
  them), and stays level 3 only when no design could (one period before the start);
* the two-way fixed-effects estimators (``twfe``, ``event-study``) on staggered starts are
  at most level 2, below the heterogeneity-robust designs: they compare later pilots with
  areas already treated and can weight effects negatively (Goodman-Bacon 2021; Sun &
  Abraham 2021; de Chaisemartin & D'Haultfoeuille 2020);
* imputation (Borusyak, Jaravel & Spiess 2024) is tested by BJS's lead test on the
  untreated observations, and rated like the other designs; when that test cannot run (no
  pilot area observed before its start) it is level 2;
* a HonestDiD breakdown value (Rambachan & Roth 2023), when present, is cited as a reason.

Other designs: unit-level matching (``match --design nnmatch``) compares treated and
untreated units at one point in time, so it is level 2. Each reason is a sentence a
policymaker can read. The rating works from a result's JSON (``EffectResult.to_dict()``), so
saved results can be rated again. Each method's rule is the ``evidence`` field of its record
in :mod:`lpip_eval.methods.registry`, which rates results (``registry.rate_evidence``); a new
method brings its rule in its record.
"""

from __future__ import annotations

from collections.abc import Callable
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


Rule = Callable[[dict[str, Any], list[str]], int]
"""A method's evidence rule: the level for one result dict, appending its reasons."""


def rate(result: dict[str, Any], rule: Rule | None) -> dict[str, Any]:
    """``{level, label, reasons}`` for one result dict (the JSON form of an EffectResult),
    by its method's ``rule`` (the ``evidence`` field of its registry record; ``None``: an
    unrecognised method, rated as a simple comparison)."""
    reasons: list[str] = []
    if rule is None:
        reasons.append(f"Unrecognised method '{result.get('method')}': rated as a simple "
                       "comparison.")
        level = 2
    else:
        level = rule(result, reasons)
    _caveats(result, reasons)
    return {"level": level, "label": LABELS[level], "reasons": reasons}


def did_rule(result: dict[str, Any], reasons: list[str]) -> int:
    """Difference-in-differences (every design of ``did``): see the module docstring."""
    n_comp = len(result.get("comparison_units", []))
    reasons.append(f"Difference-in-differences: the pilot areas' change is compared with the "
                   f"change in {n_comp} comparison areas over the same periods.")
    return _did_level(result, reasons)


def synth_rule(result: dict[str, Any], reasons: list[str]) -> int:
    """Synthetic control: level 3 when the pre-period fit is close and nothing caps it."""
    diag = result.get("diagnostics", {})
    ratio = diag.get("pre_fit", {}).get("rmspe_to_sd")
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


def match_rule(result: dict[str, Any], reasons: list[str]) -> int:
    """Matched comparison areas (level 3 when balanced, pre-trends not rejected); unit-level
    matching (no time column) is level 2."""
    diag = result.get("diagnostics", {})
    if not result.get("time_col", "period"):  # unit-level matching
        reasons.append("Matched comparison of units at one point in time: treated units are "
                       "compared with untreated units that looked like them on the matching "
                       "variables, but not before and after, so differences that the matching "
                       "variables miss are not ruled out: level 2.")
        return 2
    worst = diag.get("balance", {}).get("max_abs_smd_after")
    reasons.append("Matched comparison areas: comparison areas were chosen to resemble the "
                   "pilot areas before the pilot, then compared before and after.")
    if worst is not None and worst >= SMD_ACCEPTABLE:
        reasons.append(f"After matching, the areas still differ (largest standardised "
                       f"difference {worst:.2f} >= {SMD_ACCEPTABLE}): lowered to level 2.")
        return 2
    pre = diag.get("pretrend_test")
    if pre is not None and pre.get("rejected_at_5pct"):
        reasons.append(_rejected(pre))
        return 2
    reasons.append("After matching, pilot and comparison areas are balanced: level 3.")
    return 3


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


def did_kind(design: str) -> str:
    """The DiD estimator a result's ``design`` title names (results may be saved JSON, so the
    title is what there is): callaway-santanna, sun-abraham, imputation, event-study, 2x2,
    twfe."""
    d = design.lower()
    for key, kind in (("callaway", "callaway-santanna"), ("sun & abraham", "sun-abraham"),
                      ("imputation", "imputation"), ("event-study", "event-study"),
                      ("event study", "event-study"), ("2x2", "2x2")):
        if key in d:
            return kind
    return "twfe"


def is_staggered(diag: dict[str, Any]) -> bool:
    """Whether the pilot areas start at different times (from the result's diagnostics)."""
    starts = diag.get("treatment_starts") or {}
    if len(set(starts.values())) > 1:
        return True
    cohorts = [c for c in diag.get("cohorts") or [] if c.get("start") != "never"]
    return len(cohorts) > 1


def _rejected(pre: dict[str, Any]) -> str:
    return (f"Before the pilot, the pilot and comparison areas were already moving differently "
            f"(pre-trend test {fmt_p(pre['p_value'], prefix=True)}), so the comparison may not "
            "show what would have happened: lowered to level 2.")


def _naive_reason(kind: str, diag: dict[str, Any]) -> str:
    what = ("two-way fixed effects" if kind == "twfe"
            else "an event study built from two-way fixed effects")
    text = (f"The pilots started at different times, and {what} then also compares later "
            "pilots with areas that started earlier, as if those were untreated; when effects "
            "grow or differ between waves that can distort the estimate, even flip its sign")
    bacon = diag.get("goodman_bacon") or {}
    share = bacon.get("later_vs_earlier_weight")
    if share is not None:
        text += (f" ({share:.0%} of this estimate's weight comes from such comparisons, "
                 "Goodman-Bacon 2021)")
    return (text + ". The Callaway & Sant'Anna, Sun & Abraham and imputation designs avoid "
            "this (design callaway-santanna, or auto), so this design is rated at most "
            "level 2.")


def _did_level(result: dict[str, Any], reasons: list[str]) -> int:
    diag = result.get("diagnostics", {})
    kind = did_kind(result.get("design", ""))
    naive = kind in ("twfe", "event-study") and is_staggered(diag)
    if naive:
        reasons.append(_naive_reason(kind, diag))
    _sensitivity(diag, reasons)
    pre = diag.get("pretrend_test")
    if pre is not None and pre.get("rejected_at_5pct"):
        reasons.append(_rejected(pre))
        return 2
    if pre is not None:
        passed = (f"Before the pilot, pilot and comparison areas moved in parallel (pre-trend "
                  f"test {fmt_p(pre['p_value'], prefix=True)})")
        if naive:
            reasons.append(passed + ", but with staggered starts that test mixes the waves "
                           "too (Sun & Abraham 2021): level 2.")
            return 2
        reasons.append(passed + ": level 3.")
        return 3
    if kind == "imputation":
        reasons.append("The imputation design's pre-trend test could not be run on these "
                       "data; a design whose key assumption was not checked is not rated "
                       "above one that was: level 2.")
        return 2
    if naive:
        reasons.append("Parallel trends were not tested by this design: level 2.")
        return 2
    n_pre = diag.get("pre_periods")
    if n_pre is not None and n_pre >= 2:
        reasons.append(f"Parallel trends were not tested here, although there are {n_pre} "
                       "periods before the start (the event-study design tests them); a design "
                       "whose key assumption was not checked is not rated above one that was: "
                       "level 2.")
        return 2
    reasons.append("Parallel trends cannot be tested on these data (only one period before "
                   "the start), so the rating rests on the comparison group being plausible: "
                   "level 3.")
    return 3


def _sensitivity(diag: dict[str, Any], reasons: list[str]) -> None:
    """Cite HonestDiD breakdown values (``diagnostics.sensitivity``) in words."""
    for entry in diag.get("sensitivity") or []:
        value = entry.get("breakdown")
        if value is None:
            continue
        if entry.get("method") == "relative-magnitudes":
            reasons.append(f"The conclusion holds unless the departure from parallel trends "
                           f"after the start is more than {value:.2f} times the largest one "
                           "before it (HonestDiD, Rambachan & Roth 2023).")
        else:
            reasons.append(f"The conclusion holds unless the difference in trends could bend "
                           f"by more than {value:.3g} per period after the start (HonestDiD "
                           "smoothness, Rambachan & Roth 2023).")


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


def with_evidence(result: EffectResult, rule: Rule | None) -> EffectResult:
    """The EffectResult with its ``evidence`` block filled in from its own diagnostics by
    ``rule`` (see :func:`rate`)."""
    from dataclasses import replace

    light = {  # what the rating reads, without serialising every area's name
        "method": result.method,
        "design": result.design,
        "time_col": result.time_col,
        "diagnostics": result.diagnostics,
        "treated_units": result.treated_units,
        "comparison_units": result.comparison_units,
        "estimate": {"inference": {"method": result.estimate.inference.method}},
    }
    return replace(result, evidence=rate(light, rule))
