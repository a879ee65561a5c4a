"""The diagnostics block of a Callaway & Sant'Anna result: every ATT(g,t), the four
aggregations with their intervals, and the panel facts reports show (group means, starts)."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from lpip_eval.data.panel import NEVER, Panel
from lpip_eval.methods.specs import DidSpec
from lpip_eval.methods.staggered.aggregate import Aggregation
from lpip_eval.methods.staggered.cohorts import Wide
from lpip_eval.methods.staggered.group_time import GroupTime

Interval = tuple[float | None, float | None, float | None, float]
LABELS = {"dynamic": "event_time", "group": "group", "calendar": "period"}


def _row(att: float, iv: Interval) -> dict[str, Any]:
    return {"att": att, "se": iv[0], "ci_low": iv[1], "ci_high": iv[2], "p_value": iv[3]}


def diagnostics_of(panel: Panel, wide: Wide, gt: GroupTime, aggs: dict[str, Aggregation],
                   names: list[tuple[str, int | None]], att: np.ndarray,
                   intervals: list[Interval], spec: DidSpec) -> dict[str, Any]:
    """``group_time``, ``aggregations`` and the design's settings."""
    labels = wide.labels
    at = {name: j for j, name in enumerate(names)}
    cells = []
    for j in range(len(gt.att)):
        col = at[("gt", j)]
        g, t = int(gt.group[j]), int(gt.time[j])
        cells.append({"group": labels[g], "period": labels[t], "base": labels[int(gt.base[j])],
                      "event_time": t - g, "post": bool(t >= g),
                      "treated_areas": int(gt.n_treated[j]),
                      "comparison_areas": int(gt.n_control[j]),
                      **_row(float(att[col]), intervals[col])})
    aggregations: dict[str, Any] = {}
    for kind, agg in aggs.items():
        col = at[(kind, None)]
        entry: dict[str, Any] = {"overall": _row(float(att[col]), intervals[col])}
        if kind in LABELS:
            rows = []
            for key in agg.keys:
                c = at[(kind, int(key))]
                shown: Any = int(key) if kind == "dynamic" else labels[int(key)]
                rows.append({LABELS[kind]: shown, **_row(float(att[c]), intervals[c])})
            entry["by_" + LABELS[kind]] = rows
        aggregations[kind] = entry
    start, last = int(wide.groups.min()), int(wide.groups.max())
    return {
        **panel.shape(),
        "areas_used": wide.n,
        "control_group": spec.control_group,
        "estimation": spec.estimation,
        "base_period": spec.base_period,
        "covariates": list(panel.covariate_names),
        "clusters": int(wide.clusters.max()) + 1,
        "cluster_col": panel.cluster_col or panel.unit_col,
        "weights_col": "weights" if panel.weights is not None else None,
        "pre_periods": last,  # before the latest start: the pre-trend test uses them all
        "post_periods": wide.n_periods - start,
        "group_time": cells,
        "aggregations": aggregations,
    }


def panel_means(panel: Panel) -> dict[str, Any]:
    """Treated and comparison means by period, each area's start and the area names."""
    key = 2 * panel.time_idx + panel.is_treated_unit[panel.unit_idx]  # (period, treated)
    sums = np.bincount(key, weights=panel.y, minlength=2 * panel.n_periods).reshape(-1, 2)
    counts = np.bincount(key, minlength=2 * panel.n_periods).reshape(-1, 2)
    by_group = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    labels = panel.period_labels
    means = [by_group[:, 1], by_group[:, 0]]
    return {
        "group_means": [{"period": labels[t], "treated": float(means[0][t]),
                         "comparison": float(means[1][t])} for t in range(panel.n_periods)],
        "unit_names": dict(sorted(panel.unit_names.items())),
        "treatment_starts": _start_labels(panel),
    }


def _start_labels(panel: Panel) -> dict[str, str]:
    """Each pilot area's start as a period label (one label per distinct start, not per area:
    30,000 areas have a handful of starts)."""
    starts = panel.first_treated
    treated = np.flatnonzero(starts != NEVER)
    if not len(treated):
        return {}
    distinct, which = np.unique(starts[treated], return_inverse=True)
    labels = np.array([panel.label(int(s)) for s in distinct], dtype=object)
    units = operator.itemgetter(*treated.tolist())(panel.units)
    return dict(zip(units if len(treated) > 1 else (units,), labels[which].tolist(),
                    strict=True))
