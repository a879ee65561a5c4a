"""Goodman-Bacon decomposition of the two-way fixed-effects estimate on staggered starts.

With areas starting at different times, the TWFE coefficient on the treated-after dummy is
a weighted average of every 2x2 difference-in-differences between timing groups
(Goodman-Bacon 2021, J. Econometrics 225(2), Theorem 1, eqs. 10a-g):

* treated vs untreated — a timing group against the never-treated (and always-treated)
  areas, over the whole panel;
* earlier vs later — an earlier group against a later one before the later one starts;
* later vs earlier — a later group against an earlier one *after* the earlier one started:
  the "forbidden" comparison, whose control areas are already treated, so changes in their
  effect enter with the wrong sign.

The weights are non-negative and sum to one, and their weighted sum of 2x2 estimates equals
the TWFE estimate exactly (balanced panel, no covariates, no weights). Separately, the
weights TWFE puts on each cohort-by-period effect (de Chaisemartin & D'Haultfoeuille 2020,
Theorem 1: the two-way-demeaned treatment of the treated cells) can be negative; those are
reported as ``negative_weights``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lpip_eval.data.panel import Panel

SOURCE = "Goodman-Bacon (2021), Theorem 1"
UNTREATED = "treated vs untreated"
EARLIER = "earlier vs later started"
LATER = "later vs earlier started"


def goodman_bacon(panel: Panel) -> dict[str, Any]:
    """The decomposition as ``diagnostics.goodman_bacon`` (a note when it cannot be
    computed: unbalanced panel, covariates or weights)."""
    if not panel.is_balanced or panel.covariates is not None or panel.weights is not None:
        return {"source": SOURCE,
                "note": "not computed: the decomposition is exact only on a balanced panel "
                        "without covariates or weights"}
    n_t = panel.n_periods
    y = np.zeros((panel.n_units, n_t))
    y[panel.unit_idx, panel.time_idx] = panel.y
    start = panel.start_position
    timing = (start > 0) & (start < n_t)  # treatment varies within the panel
    groups = np.unique(start[timing])
    share = {int(g): float(np.mean(start == g)) for g in groups}
    dbar = {int(g): (n_t - g) / n_t for g in groups}
    means = {int(g): y[start == g].mean(axis=0) for g in groups}
    untreated = ~timing
    d = (np.arange(n_t)[None, :] >= start[:, None]).astype(float)
    d_tilde = d - d.mean(axis=1, keepdims=True) - d.mean(axis=0, keepdims=True) + d.mean()
    v_d = float(np.mean(d_tilde**2))
    rows: list[dict[str, Any]] = []

    def add(kind: str, treated: int, control: int | None, weight: float, est: float) -> None:
        rows.append({"type": kind, "treated": panel.period_labels[treated],
                     "comparison": "untreated" if control is None
                     else panel.period_labels[control],
                     "weight": weight / v_d, "estimate": est})

    def window(series: np.ndarray, lo: int, hi: int) -> float:
        return float(series[lo:hi].mean())

    if untreated.any():
        n_u, y_u = float(np.mean(untreated)), y[untreated].mean(axis=0)
        for g, n_g in share.items():
            nk = n_g / (n_g + n_u)
            w = (n_g + n_u) ** 2 * nk * (1 - nk) * dbar[g] * (1 - dbar[g])
            est = ((window(means[g], g, n_t) - window(means[g], 0, g))
                   - (window(y_u, g, n_t) - window(y_u, 0, g)))
            add(UNTREATED, g, None, w, est)
    keys = sorted(share)
    for i, k in enumerate(keys):
        for m in keys[i + 1:]:  # k starts before m
            nk, dk, dm = share[k] / (share[k] + share[m]), dbar[k], dbar[m]
            size = share[k] + share[m]
            yk, ym = means[k], means[m]
            w_early = ((size * (1 - dm)) ** 2 * nk * (1 - nk)
                       * (dk - dm) / (1 - dm) * (1 - dk) / (1 - dm))
            est_early = ((window(yk, k, m) - window(yk, 0, k))
                         - (window(ym, k, m) - window(ym, 0, k)))
            add(EARLIER, k, m, w_early, est_early)
            w_late = (size * dk) ** 2 * nk * (1 - nk) * (dm / dk) * (dk - dm) / dk
            est_late = ((window(ym, m, n_t) - window(ym, k, m))
                        - (window(yk, m, n_t) - window(yk, k, m)))
            add(LATER, m, k, w_late, est_late)
    by_type = []
    for kind in (UNTREATED, EARLIER, LATER):
        picked = [r for r in rows if r["type"] == kind]
        total = sum(r["weight"] for r in picked)
        if picked:
            by_type.append({"type": kind, "weight": total, "comparisons": len(picked),
                            "estimate": sum(r["weight"] * r["estimate"] for r in picked)
                            / total if total > 0 else None})
    return {
        "source": SOURCE,
        "twfe_estimate": sum(r["weight"] * r["estimate"] for r in rows),
        "comparisons": rows,
        "by_type": by_type,
        "later_vs_earlier_weight": sum(r["weight"] for r in rows if r["type"] == LATER),
        "negative_weights": _negative_weights(panel, start, d, d_tilde),
    }


def _negative_weights(panel: Panel, start: np.ndarray, d: np.ndarray,
                      d_tilde: np.ndarray) -> dict[str, Any]:
    """The weights TWFE puts on each treated cohort-by-period effect (de Chaisemartin &
    D'Haultfoeuille 2020): the cells whose weight is negative and their total."""
    treated = d > 0
    weights = np.where(treated, d_tilde, 0.0) / float(d_tilde[treated].sum())
    cells: list[dict[str, Any]] = []
    for g in np.unique(start[treated.any(axis=1)]):
        in_g = start == g
        for t in range(int(g), panel.n_periods):
            w = float(weights[in_g, t].sum())
            if w < -1e-12:
                cells.append({"start": panel.period_labels[int(g)],
                              "period": panel.period_labels[t], "weight": w})
    return {"cells": cells, "total": float(sum(c["weight"] for c in cells))}
