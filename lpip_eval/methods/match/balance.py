"""Covariate balance before and after matching, with MatchIt's / cobalt's definitions for the ATT.

For each variable x (Greifer, MatchIt ``summary.matchit`` and cobalt ``bal.tab`` with
``s.d.denom = "treated"``; Stuart 2010):

* **standardised mean difference** ``SMD = (mean_T(x; w) - mean_C(x; w)) / s_T``, with
  weighted means (the matching weights; before matching all weights are 1) and ``s_T`` the
  standard deviation of x in the treated group *before* matching, the same denominator before
  and after (cobalt FAQ: "the standardization factor is the same before and after weighting").
  ``s_T^2`` is the sample variance (divisor n - 1) for a continuous variable and ``p(1 - p)``
  for a 0/1 variable (MatchIt's ``wvar``). With fewer than two treated areas, or a treated SD of
  zero, ``s_T`` is undefined and the SD of all areas (treated and candidates) is used instead
  (cobalt's ``s.d.denom = "all"``); the result says so.
* **variance ratio** ``VR = var_T(x; w) / var_C(x; w)`` for continuous variables, with the
  reliability-weights variance ``sum w (x - m)^2 / (1 - sum w^2)`` (weights normalised to sum to
  1; MatchIt's ``wvar``, the same as R's ``cov.wt``); undefined (null) for 0/1 variables and
  for groups with fewer than two areas of positive weight.

Thresholds (stated in every result): ``|SMD| < 0.1`` good, ``< 0.25`` acceptable, otherwise
poor (Stuart 2010; Rubin 2001 for 0.25); a variance ratio between 0.5 and 2 is acceptable
(Rubin 2001).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np

from lpip_eval.numbers import fmt_number

SMD_GOOD = 0.1
SMD_ACCEPTABLE = 0.25
VR_LOW, VR_HIGH = 0.5, 2.0
THRESHOLDS = {
    "smd_good": SMD_GOOD,
    "smd_acceptable": SMD_ACCEPTABLE,
    "variance_ratio_acceptable": [VR_LOW, VR_HIGH],
    "smd": "difference in (weighted) means divided by the pilot areas' standard deviation "
           "before matching (s.d.denom = 'treated', as cobalt and MatchIt for the ATT)",
    "variance_ratio": "pilot variance over comparison variance, both weighted "
                      "(reliability weights, as MatchIt)",
    "rule": "|SMD| < 0.1 good, < 0.25 acceptable, otherwise poor",
}


def is_binary(x: np.ndarray) -> bool:
    """A 0/1 variable (MatchIt: ``all(x == 0 | x == 1)``)."""
    return bool(np.all((x == 0) | (x == 1)))


def weighted_mean(x: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * x) / np.sum(w))


def weighted_var(x: np.ndarray, w: np.ndarray | None = None, binary: bool | None = None
                 ) -> float:
    """MatchIt's ``wvar``: ``p(1-p)`` for 0/1 data, else the reliability-weights variance."""
    w = np.ones(len(x)) if w is None else np.asarray(w, dtype=float)
    w = w / w.sum()
    m = float(np.sum(w * x))
    if is_binary(x) if binary is None else binary:
        return m * (1 - m)
    denom = 1 - float(np.sum(w * w))
    return float(np.sum(w * (x - m) ** 2) / denom) if denom > 0 else math.nan


def verdict(smd: float | None) -> str:
    if smd is None or not math.isfinite(smd):
        return "not available"
    a = abs(smd)
    return "good" if a < SMD_GOOD else "acceptable" if a < SMD_ACCEPTABLE else "poor"


def balance_table(x: np.ndarray, names: list[str], treated: np.ndarray, pool: np.ndarray,
                  weights: np.ndarray) -> dict[str, Any]:
    """``diagnostics["balance"]``: SMDs and variance ratios before and after matching.

    ``x`` (n, p) matching variables per area; ``treated`` / ``pool`` boolean masks (all pilot
    areas, all candidate areas); ``weights`` the matching weights (0 = not matched).
    """
    x = np.asarray(x, dtype=float)
    w = np.asarray(weights, dtype=float)
    ones = np.ones(len(x))
    rows: list[dict[str, Any]] = []
    denominators = set()
    after_smd: list[float] = []
    before_smd: list[float] = []
    for j, name in enumerate(names):
        col = x[:, j]
        binary = is_binary(col[treated | pool])
        sd, denom = _denominator(col, treated, pool, binary)
        denominators.add(denom)
        before = _stats(col, treated, pool, ones, sd, binary)
        after = _stats(col, treated & (w > 0), pool & (w > 0), w, sd, binary)
        rows.append({"variable": name, "mean_treated_before": before[0],
                     "mean_comparison_before": before[1], "mean_treated_after": after[0],
                     "mean_comparison_after": after[1], "smd_before": before[2],
                     "smd_after": after[2], "vr_before": before[3], "vr_after": after[3],
                     "verdict": verdict(after[2])})
        after_smd += [abs(after[2])] if after[2] is not None and math.isfinite(after[2]) else []
        before_smd += [abs(before[2])] if before[2] is not None and math.isfinite(before[2]) \
            else []
    return {
        "variables": list(names),
        "rows": rows,
        "max_abs_smd_after": max(after_smd, default=None),
        "max_abs_smd_before": max(before_smd, default=None),
        "sd_denominator": "treated" if denominators == {"treated"} else
                          "all areas for some variables (fewer than two pilot areas, or no "
                          "spread among them)",
        "thresholds": THRESHOLDS,
        "n_treated_before": int(treated.sum()),
        "n_comparison_before": int(pool.sum()),
        "n_treated_after": int((treated & (w > 0)).sum()),
        "n_comparison_after": int((pool & (w > 0)).sum()),
    }


def _denominator(col: np.ndarray, treated: np.ndarray, pool: np.ndarray, binary: bool
                 ) -> tuple[float, str]:
    if treated.sum() >= 2:
        sd = math.sqrt(max(weighted_var(col[treated], binary=binary), 0.0))
        if sd > math.sqrt(np.finfo(float).eps) * max(1.0, float(np.abs(col[treated]).max())):
            return sd, "treated"
    both = treated | pool
    return math.sqrt(max(weighted_var(col[both], binary=binary), 0.0)), "all"


def _stats(col: np.ndarray, t: np.ndarray, c: np.ndarray, w: np.ndarray, sd: float,
           binary: bool) -> tuple[float | None, float | None, float | None, float | None]:
    """(treated mean, comparison mean, SMD, variance ratio) with weights ``w``."""
    if not t.any() or not c.any():
        return None, None, None, None
    mt = weighted_mean(col[t], w[t])
    mc = weighted_mean(col[c], w[c])
    diff = mt - mc
    smd = diff / sd if sd > 0 else (0.0 if diff == 0 else None)
    vr = None
    if not binary and (w[t] > 0).sum() >= 2 and (w[c] > 0).sum() >= 2:
        vc = weighted_var(col[c], w[c], binary=False)
        vt = weighted_var(col[t], w[t], binary=False)
        vr = vt / vc if vc > 0 else None
    return mt, mc, smd, vr


def love_plot(balance: dict[str, Any]) -> dict[str, Any]:
    """Chart spec (kind ``balance``) for the love plot, with the numbers as a table."""
    rows = balance["rows"]
    smd = partial(fmt_number, digits=3, signed=True, separators=False)

    worst = balance["max_abs_smd_after"]
    return {
        "id": "balance",
        "kind": "balance",
        "title": "Balance before and after matching (standardised mean differences)",
        "alt": (f"Dot chart of the standardised mean difference between pilot and comparison "
                f"areas for {len(rows)} matching variables, before and after matching, with "
                f"reference lines at 0.1 and 0.25; the largest difference after matching is "
                f"{'n/a' if worst is None else f'{worst:.3f}'}."),
        "columns": ["Variable", "SMD before", "SMD after", "Variance ratio after", "Balance"],
        "rows": [[r["variable"], smd(r["smd_before"]), smd(r["smd_after"]),
                  "n/a" if r["vr_after"] is None else f"{r['vr_after']:.2f}", r["verdict"]]
                 for r in rows],
        "series": {"variables": [r["variable"] for r in rows],
                   "smd_before": [r["smd_before"] for r in rows],
                   "smd_after": [r["smd_after"] for r in rows],
                   "thresholds": [SMD_GOOD, SMD_ACCEPTABLE]},
    }


def balance_check(balance: dict[str, Any]) -> dict[str, Any]:
    """The assumption/check/verdict entry for the report's checks table."""
    worst = balance["max_abs_smd_after"]
    ok = worst is not None and worst < SMD_ACCEPTABLE
    poor = [r["variable"] for r in balance["rows"] if r["verdict"] == "poor"]
    return {
        "assumption": "Comparable areas: before the pilot, the matched comparison areas looked "
                      "like the pilot areas on the matching variables.",
        "check": "Standardised mean differences after matching (pilot SD as denominator; "
                 "|SMD| < 0.1 good, < 0.25 acceptable).",
        "result": "n/a" if worst is None else f"largest |SMD| {worst:.3f}",
        "ok": ok if worst is not None else None,
        "verdict": ("The matched areas are well balanced." if ok and worst < SMD_GOOD else
                    "The matched areas are acceptably balanced." if ok else
                    f"The matched areas still differ on {', '.join(poor) or 'some variables'}; "
                    "treat the estimate with caution."),
    }
