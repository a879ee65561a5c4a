"""Microdata: several rows per area and period (individuals, e.g. survey respondents).

With ``--microdata`` the panel keeps every row; the two-way fixed-effects regression runs
on individuals (area and period effects, individual covariates, ``--weights-col`` weighting
individuals) with inference clustered or permuted at the area level, as in a repeated
cross-section DiD (Angrist & Pischke 2009, ch. 5.2; Bertrand, Duflo & Mullainathan 2004).
Designs built on one value per area and period (synthetic control, matched areas, 2x2
means, event studies) use the area-period means (:func:`cell_means`), and say so. With
equal cell sizes and no covariates the two TWFE estimates coincide: the individual
deviations from their cell mean are orthogonal to regressors constant within cells.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from lpip_eval.data.panel import Panel


def cell_means(panel: Panel, *, used_by: str) -> Panel:
    """The panel of area-period means (weighted by the individual weights, if any), with a
    note naming ``used_by``; a panel that is not microdata is returned as it is."""
    if not panel.microdata:
        return panel
    cell = panel.unit_idx * panel.n_periods + panel.time_idx
    cells, first, inverse, sizes = np.unique(cell, return_index=True, return_inverse=True,
                                             return_counts=True)
    w = np.ones_like(panel.y) if panel.weights is None else panel.weights
    total = np.bincount(inverse, weights=w)

    def mean(values: np.ndarray) -> np.ndarray:
        gaps = np.bincount(inverse, weights=np.isnan(values) * w)
        sums = np.bincount(inverse, weights=np.nan_to_num(values) * w)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total - gaps > 0, sums / (total - gaps), np.nan)

    covariates = None
    if panel.covariates is not None:
        covariates = np.column_stack([mean(panel.covariates[:, j])
                                      for j in range(panel.covariates.shape[1])])
    weighted = " (weighted by --weights-col)" if panel.weights is not None else ""
    note = (f"{used_by} uses the means{weighted} of {len(panel.y)} individual rows in "
            f"{len(cells)} area-periods (cell sizes {int(sizes.min())} to {int(sizes.max())})")
    return replace(
        panel, unit_idx=panel.unit_idx[first], time_idx=panel.time_idx[first],
        y=mean(panel.y), covariates=covariates, weights=None,
        cluster_idx=None if panel.cluster_idx is None else panel.cluster_idx[first],
        microdata=False, warnings=(*panel.warnings, note),
        aggregation=(*panel.aggregation, note))


def cell_sizes(panel: Panel) -> np.ndarray:
    """Rows per area-period cell (areas x periods; 0 where a cell has none)."""
    sizes = np.bincount(panel.unit_idx * panel.n_periods + panel.time_idx,
                        minlength=panel.n_units * panel.n_periods)
    return sizes.reshape(panel.n_units, panel.n_periods)
