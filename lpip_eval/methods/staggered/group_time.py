"""ATT(g,t): the average effect on cohort g in period t (Callaway & Sant'Anna 2021, eq. 2.6).

Each ATT(g,t) is a 2x2 DiD of the outcome change from a base period to t, cohort g against
a comparison group: never-treated areas, or (``not-yet``) areas not treated by t nor by the
base period (never-treated included). Base period: ``varying`` = the period before t for
pre-treatment t (so pre-period ATTs are period-to-period placebo changes) and g - 1 after
the start; ``universal`` = g - 1 always (ATT(g, g-1) = 0). Covariates are taken at the
earlier of the two periods, as R ``did``'s panel code does. The influence function of each
ATT(g,t) is scaled to all n areas (zero for areas in neither group), as in R ``did``'s
``compute.att_gt``: ATT - att ~ mean over areas of the column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lpip_eval.methods.staggered.cohorts import Wide
from lpip_eval.methods.staggered.drdid import two_by_two


@dataclass(frozen=True)
class GroupTime:
    """ATT(g,t) cells: cohort start position ``group``, period ``time`` and ``base``
    positions, ``att`` (NaN where a cell has no comparison areas), ``comparison`` (cells x
    cohort codes: the comparison cohorts of each cell), influence functions ``inf`` (n x
    cells) of the estimators with covariates or weights when asked for (without either,
    ``base.influence_base`` builds them per cohort from the outcomes; None)."""

    group: np.ndarray
    time: np.ndarray
    base: np.ndarray
    att: np.ndarray
    inf: np.ndarray | None
    n_treated: np.ndarray
    n_control: np.ndarray
    comparison: np.ndarray

    @property
    def post(self) -> np.ndarray:
        return self.time >= self.group


def cells(wide: Wide, base_period: str) -> list[tuple[int, int, int]]:
    """(group, time, base) positions of every ATT(g,t) R ``did`` reports."""
    n_t = wide.n_periods
    out = []
    for g in (int(v) for v in wide.groups):
        for t in range(1 if base_period == "varying" else 0, n_t):
            base = g - 1 if (base_period == "universal" or t >= g) else t - 1
            out.append((g, t, base))
    return out


def group_time(wide: Wide, *, control: str, base_period: str, estimation: str,
               influence: bool = True) -> GroupTime:
    """Every ATT(g,t) of ``wide`` (see the module docstring)."""
    spec = np.array(cells(wide, base_period), dtype=np.int64).reshape(-1, 3)
    group, time, base = spec[:, 0], spec[:, 1], spec[:, 2]
    codes = np.arange(wide.n_periods + 1)  # cohort codes: start positions; n_periods = never
    sizes = np.bincount(wide.cohort, minlength=len(codes))
    if control == "never":  # comparison[j, c]: cohort c is in cell j's comparison group
        comparison = np.broadcast_to(codes == wide.n_periods, (len(spec), len(codes)))
    else:
        comparison = ((codes[None, :] > np.maximum(time, base)[:, None])
                      & (codes[None, :] != group[:, None]))
    reference = time == base  # universal base period: ATT(g, g-1) = 0 by construction
    n_tr = np.where(reference, 0, sizes[group])
    n_co = np.where(reference, 0, comparison.astype(np.int64) @ sizes)
    live = np.flatnonzero(~reference & (n_tr > 0) & (n_co > 0))
    att = np.where(reference, 0.0, np.nan)
    inf = None
    if wide.x is None and np.all(wide.weights == 1.0):
        # no covariates, no weights: a difference in means (all three estimators)
        att[live] = _differences_in_means(wide, spec, live, comparison, n_tr, n_co)
    else:
        inf = np.zeros((wide.n, len(spec)), order="F") if influence else None
        for j in live.tolist():
            att[j] = _two_by_two_cell(wide, spec[j], comparison[j][wide.cohort], estimation,
                                      inf, j)
    return GroupTime(group=group, time=time, base=base, att=att, inf=inf,
                     n_treated=n_tr, n_control=n_co, comparison=comparison)


def _differences_in_means(wide: Wide, spec: np.ndarray, live: np.ndarray,
                          comparison: np.ndarray, n_tr: np.ndarray, n_co: np.ndarray
                          ) -> np.ndarray:
    """ATT of the cells ``live`` from cohort sums of the outcome.

    Each area's mean over periods is taken out first: its outcome changes are the same, and
    the cohort sums then carry no level to cancel."""
    y = wide.y - wide.y.mean(axis=1, keepdims=True)
    k = comparison.shape[1]
    sums = np.column_stack([np.bincount(wide.cohort, weights=y[:, t], minlength=k)
                            for t in range(wide.n_periods)])  # cohort x period
    comp_sums = comparison[live].astype(float) @ sums
    g, t, b = spec[live, 0], spec[live, 1], spec[live, 2]
    rows = np.arange(len(live))
    mean_t = (sums[g, t] - sums[g, b]) / n_tr[live]
    mean_c = (comp_sums[rows, t] - comp_sums[rows, b]) / n_co[live]
    return np.asarray(mean_t - mean_c)


def _two_by_two_cell(wide: Wide, cell: np.ndarray, comp: np.ndarray, estimation: str,
                     inf: np.ndarray | None, j: int) -> float:
    """One ATT(g,t) by ``two_by_two`` (covariates at the earlier period, area weights)."""
    g, t, base = (int(v) for v in cell)
    treat = wide.cohort == g
    sub = treat | comp
    n_sub = int(sub.sum())
    dy = wide.y[sub, t] - wide.y[sub, base]
    x = np.ones((n_sub, 1)) if wide.x is None else \
        np.column_stack([np.ones(n_sub), wide.x[sub, min(t, base), :]])
    value, psi = two_by_two(dy, treat[sub].astype(float), x, wide.weights[sub], estimation)
    if inf is not None:
        inf[sub, j] = psi * wide.n / n_sub
    return value
