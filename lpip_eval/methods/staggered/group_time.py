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
    positions, ``att`` (NaN where a cell has no comparison areas), influence functions
    ``inf`` (n x cells; None when not asked for)."""

    group: np.ndarray
    time: np.ndarray
    base: np.ndarray
    att: np.ndarray
    inf: np.ndarray | None
    n_treated: np.ndarray
    n_control: np.ndarray

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
    n, n_t = wide.n, wide.n_periods
    spec = cells(wide, base_period)
    att = np.full(len(spec), np.nan)
    inf = np.zeros((n, len(spec))) if influence else None
    n_tr = np.zeros(len(spec), dtype=np.int64)
    n_co = np.zeros(len(spec), dtype=np.int64)
    plain = wide.x is None and np.all(wide.weights == 1.0)
    for j, (g, t, base) in enumerate(spec):
        if t == base:  # universal base period: the reference cell
            att[j] = 0.0
            continue
        treat = wide.cohort == g
        never = wide.cohort == n_t
        comp = never if control == "never" else (wide.cohort > max(t, base)) & ~treat
        n_tr[j], n_co[j] = int(treat.sum()), int(comp.sum())
        if not n_tr[j] or not n_co[j]:
            continue
        dy = wide.y[:, t] - wide.y[:, base]
        if plain:  # no covariates, no weights: a difference in means (all three estimators)
            mt, mc = dy[treat].mean(), dy[comp].mean()
            att[j] = mt - mc
            if inf is not None:
                col = np.zeros(n)
                col[treat] = n * (dy[treat] - mt) / n_tr[j]
                col[comp] = -n * (dy[comp] - mc) / n_co[j]
                inf[:, j] = col
            continue
        sub = treat | comp
        d = treat[sub].astype(float)
        first = min(t, base)
        x = np.ones((int(sub.sum()), 1)) if wide.x is None else \
            np.column_stack([np.ones(int(sub.sum())), wide.x[sub, first, :]])
        value, psi = two_by_two(dy[sub], d, x, wide.weights[sub], estimation)
        att[j] = value
        if inf is not None:
            inf[sub, j] = psi * n / int(sub.sum())
    arr = np.array(spec, dtype=np.int64).reshape(-1, 3)
    return GroupTime(group=arr[:, 0], time=arr[:, 1], base=arr[:, 2], att=att, inf=inf,
                     n_treated=n_tr, n_control=n_co)
