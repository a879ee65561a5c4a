"""What the methods will see in a Panel: the content of ``lpip-eval validate`` (pure)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lpip_eval.data.microdata import cell_sizes
from lpip_eval.data.panel import NEVER, Panel, boundary_findings
from lpip_eval.data.periods import missing_periods, period_label


def describe_panel(panel: Panel) -> dict[str, Any]:
    """Areas, periods and frequency, balance, missing values and outcome summary per group."""
    treated = panel.is_treated_unit
    rows_per_unit = np.bincount(panel.unit_idx, minlength=panel.n_units)
    gaps = missing_periods(panel.period_ordinals, panel.frequency)
    starts = sorted({panel.label(int(s)) for s in panel.first_treated[treated]})
    summary: list[dict[str, Any]] = []
    treated_row = treated[panel.unit_idx]
    post_row = panel.period_ordinals[panel.time_idx] >= panel.first_treated.min()
    for group, g_mask in (("treated", treated_row), ("comparison", ~treated_row)):
        for phase, p_mask in (("pre", ~post_row), ("post", post_row)):
            values = panel.y[g_mask & p_mask]
            summary.append({
                "group": group, "phase": phase, "rows": len(values),
                "mean": float(values.mean()) if len(values) else None,
                "sd": float(values.std(ddof=1)) if len(values) > 1 else None,
                "min": float(values.min()) if len(values) else None,
                "max": float(values.max()) if len(values) else None,
            })
    return {
        "sources": [s.__dict__ for s in panel.sources],
        "outcome": panel.outcome,
        "rows": len(panel.y),
        "treated_units": [_named(panel, u) for u in panel.treated_units],
        "comparison_units": [_named(panel, u) for u in panel.comparison_units],
        "treatment_starts": starts,
        "frequency": panel.frequency,
        "first_period": panel.label(int(panel.period_ordinals[0])),
        "last_period": panel.label(int(panel.period_ordinals[-1])),
        "n_periods": panel.n_periods,
        "pre_periods": int(np.sum(panel.period_ordinals < panel.first_treated[treated].min())),
        "missing_periods": [period_label(o, panel.frequency) for o in gaps],
        "balanced": panel.is_balanced,
        "incomplete_units": [
            {"unit": u, "periods": int(c)}
            for u, c in zip(panel.units, rows_per_unit, strict=True) if c < panel.n_periods
        ],
        "covariates": list(panel.covariate_names),
        "covariate_missing": _covariate_missing(panel),
        "categoricals": [
            {"column": name, "distinct": len(counts), "values": counts}
            for name, counts in _categorical_counts(panel).items()
        ],
        "weights": panel.weights is not None,
        "outcome_summary": summary,
        "warnings": list(panel.warnings),
        "never_treated": int(np.sum(panel.first_treated == NEVER)),
        "cohorts": _cohorts(panel),
        "aggregation": [*panel.aggregation, *_microdata(panel)],
        "boundary_findings": boundary_findings(panel),
    }


def _cohorts(panel: Panel) -> list[dict[str, Any]]:
    """How many areas start in each period (staggered adoption's cohorts), in time order."""
    starts, counts = np.unique(panel.first_treated[panel.is_treated_unit], return_counts=True)
    return [{"start": panel.label(int(s)), "areas": int(n)}
            for s, n in zip(starts, counts, strict=True)]


def _microdata(panel: Panel) -> list[str]:
    """'microdata: 480 rows in 48 area-periods (5 to 5 per cell)' for a microdata panel."""
    if not panel.microdata:
        return []
    sizes = cell_sizes(panel)
    used = sizes[sizes > 0]
    return [f"microdata: {len(panel.y)} rows in {len(used)} area-periods ({int(used.min())} "
            f"to {int(used.max())} per cell); the TWFE regression uses the rows, other "
            "designs the area-period means"]




def _named(panel: Panel, unit: str) -> str:
    name = panel.unit_names.get(unit)
    return f"{unit} ({name})" if name else unit


def _covariate_missing(panel: Panel) -> dict[str, int]:
    """Per covariate: the number of rows where it is missing (kept as NaN in the panel)."""
    if panel.covariates is None:
        return {}
    missing = np.isnan(panel.covariates).sum(axis=0)
    return {name: int(n) for name, n in zip(panel.covariate_names, missing, strict=True)}


def _categorical_counts(panel: Panel) -> dict[str, dict[str, int]]:
    """Per categorical column: number of areas with each value, most common first."""
    found: dict[str, dict[str, int]] = {}
    for name, values in panel.unit_attributes.items():
        distinct, counts = np.unique(np.asarray(values, dtype=str), return_counts=True)
        order = np.lexsort((distinct, -counts))
        found[name] = {str(distinct[i]): int(counts[i]) for i in order}
    return found
