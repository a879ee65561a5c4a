"""The wide, balanced panel the staggered designs work on, and its cohorts.

Callaway & Sant'Anna (2021) with panel data need every area in every period (R ``did``
drops areas with a missing period, ``allow_unbalanced_panel = FALSE``); areas already
treated in the first period have no pre-period and are dropped too, as R ``did`` does. A
cohort is coded by the position of its first treated period; never-treated areas (and areas
starting after the last period) get position ``n_periods``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from lpip_eval.data.panel import NEVER, Panel
from lpip_eval.errors import DesignError, first_items


@dataclass(frozen=True)
class Wide:
    """Area-by-period arrays: ``y`` (n x T), ``x`` (n x T x k or None), per area ``cohort``
    (start position; T = never), ``weights`` (mean 1), ``clusters`` (codes 0..G-1),
    ``units`` (indices into the panel's areas) and, computed when first asked for,
    ``order`` (areas in a data-derived order, for sampled draws)."""

    y: np.ndarray
    x: np.ndarray | None
    cohort: np.ndarray
    weights: np.ndarray
    clusters: np.ndarray
    units: np.ndarray
    labels: tuple[str, ...]

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_periods(self) -> int:
        return int(self.y.shape[1])

    @cached_property
    def order(self) -> np.ndarray:
        """The areas in an order derived from their data alone (see
        ``linear.unit_order.canonical_unit_order``): by cohort, then outcome path."""
        from lpip_eval.methods.linear.unit_order import canonical_wide_order

        return canonical_wide_order(self.y, self.cohort)

    @cached_property
    def shares(self) -> np.ndarray:
        """P(G = g) for every cohort code: the weighted share of areas in the cohort."""
        return np.bincount(self.cohort, weights=self.weights,
                           minlength=self.n_periods + 1) / self.n

    @cached_property
    def groups(self) -> np.ndarray:
        """Start positions of the treated cohorts, ascending."""
        return np.unique(self.cohort[self.cohort < self.n_periods])

    def with_cohort(self, cohort: np.ndarray) -> Wide:
        return Wide(self.y, self.x, cohort, self.weights, self.clusters, self.units,
                    self.labels)

    def with_y(self, y: np.ndarray) -> Wide:
        return Wide(y, self.x, self.cohort, self.weights, self.clusters, self.units,
                    self.labels)


def wide_panel(panel: Panel, warnings: list[str]) -> Wide:
    """The balanced wide panel of ``panel`` (warnings name what was left out)."""
    n_units, n_t = panel.n_units, panel.n_periods
    rows = np.bincount(panel.unit_idx, minlength=n_units)
    complete = rows == n_t
    start = panel.start_position
    first = complete & (start == 0)
    if (~complete).any():
        gone = [panel.units[i] for i in np.flatnonzero(~complete)]
        warnings.append(f"{len(gone)} area{'s' if len(gone) != 1 else ''} without data in "
                        f"every period left out (the design needs a balanced panel): "
                        f"{first_items(gone)}")
    if first.any():
        gone = [panel.units[i] for i in np.flatnonzero(first)]
        warnings.append(f"{len(gone)} area{'s' if len(gone) != 1 else ''} treated from the "
                        f"first period left out (no period before the start): "
                        f"{first_items(gone)}")
    keep = complete & ~first
    units = np.flatnonzero(keep)
    if not len(units):
        raise DesignError("no area has data in every period",
                          hint="the staggered designs need a balanced panel")
    if len(units) == n_units:  # every area kept: its rows as they are
        row_keep = slice(None)
        r_unit, r_time = panel.unit_idx, panel.time_idx
    else:
        position = np.full(n_units, -1)
        position[units] = np.arange(len(units))
        row_keep = keep[panel.unit_idx]
        r_unit, r_time = position[panel.unit_idx[row_keep]], panel.time_idx[row_keep]
    y = np.empty((len(units), n_t))
    y[r_unit, r_time] = panel.y[row_keep]
    x = None
    if panel.covariates is not None:
        x = np.empty((len(units), n_t, panel.covariates.shape[1]))
        x[r_unit, r_time] = panel.covariates[row_keep]
    weights = np.ones(len(units))
    if panel.weights is not None:
        w = np.empty((len(units), n_t))
        w[r_unit, r_time] = panel.weights[row_keep]
        if np.any(np.abs(w - w[:, :1]) > 1e-12 * np.abs(w[:, :1])):
            raise DesignError("the weights vary over time within an area",
                              hint="the staggered designs take one weight per area")
        weights = w[:, 0] / w[:, 0].mean()
    cohort = np.where(panel.first_treated[units] == NEVER, n_t, start[units])
    if panel.cluster_idx is None:  # each area its own cluster
        clusters = np.arange(len(units))
    else:
        codes = np.empty(len(units), dtype=np.int64)
        codes[r_unit] = panel.cluster_idx[row_keep]  # an area's cluster (its last row's)
        _, clusters = np.unique(codes, return_inverse=True)
    return Wide(y=y, x=x, cohort=cohort, weights=weights, clusters=clusters, units=units,
                labels=panel.period_labels)


def cohort_table(wide: Wide) -> list[dict[str, object]]:
    """One row per cohort: start period, areas, periods before and after the start."""
    out: list[dict[str, object]] = []
    for g in wide.groups:
        out.append({"start": wide.labels[int(g)], "areas": int(np.sum(wide.cohort == g)),
                    "periods_before": int(g), "periods_after": int(wide.n_periods - g)})
    never = int(np.sum(wide.cohort == wide.n_periods))
    out.append({"start": "never", "areas": never, "periods_before": wide.n_periods,
                "periods_after": 0})
    return out
