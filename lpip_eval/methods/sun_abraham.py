"""Interaction-weighted event study (Sun & Abraham 2021, "Estimating dynamic treatment effects
in event studies with heterogeneous treatment effects", J. Econometrics 225(2)).

The regression ``y_it = a_i + l_t + sum_{g, e != -1} d_ge 1{G_i = g} 1{t - g = e} (+ x'b)``
has one coefficient per treated cohort ``g`` (areas starting in the same period) and event
time ``e``, with the never-treated areas as the control cohort (if every area is treated
eventually: the last-treated cohort, and the periods from its start on are left out) and
``e = -1`` the reference period. Each event time's effect averages its cohorts' ``d_ge``
with weights equal to the cohorts' shares of the observations at that event time; the
headline averages every post-period ``d_ge`` (``e >= 0``) by its share of the treated
observations, which is what Callaway & Sant'Anna's "simple" aggregation does. Standard
errors: CR1 clustered by area with the weights held fixed (as fixest's ``sunab``), t
intervals with G - 1 degrees of freedom; the pre-period effects are tested jointly.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from lpip_eval.data.panel import NEVER, Panel
from lpip_eval.errors import DesignError
from lpip_eval.methods import event_inference as ev
from lpip_eval.methods.linear import inference as inf
from lpip_eval.methods.linear.absorb import least_squares
from lpip_eval.methods.linear.design import cr1
from lpip_eval.methods.registry import with_evidence
from lpip_eval.methods.specs import StaggeredSpec

TITLE = "Interaction-weighted event study (Sun & Abraham 2021)"


def _cells(panel: Panel, first: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Per row: cohort x event-time column index (-1: none), and the (cohort, e) cells."""
    rel, ever = ev.relative_times(panel, first)
    cohort = first[panel.unit_idx]
    keys = np.unique(np.column_stack([cohort[ever], rel[ever]]), axis=0)
    cells = [(int(g), int(e)) for g, e in keys if e != -1]
    index = {c: j for j, c in enumerate(cells)}
    col = np.full(len(rel), -1)
    for r in np.flatnonzero(ever & (rel != -1)):
        col[r] = index[(int(cohort[r]), int(rel[r]))]
    return col, cells


def _aggregation(panel: Panel, first: np.ndarray) -> tuple[np.ndarray, tuple[int, ...], Any]:
    """(k, p) matrix taking the cohort x event-time coefficients to [headline, each event
    time], the event times, and the design's column builder."""
    col, cells = _cells(panel, first)
    w = np.ones(len(col)) if panel.weights is None else panel.weights
    mass = np.bincount(col[col >= 0], weights=w[col >= 0], minlength=len(cells))
    events = tuple(sorted({e for _, e in cells}))
    agg = np.zeros((1 + len(events), len(cells)))
    post = np.array([e >= 0 for _, e in cells])
    agg[0] = np.where(post, mass, 0.0) / mass[post].sum()
    for i, e in enumerate(events):
        on = np.array([c[1] == e for c in cells])
        agg[1 + i] = np.where(on, mass, 0.0) / mass[on].sum()

    def build(f: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        c, _ = _cells(panel, f)
        out = np.zeros((len(c), len(cells)))
        out[np.flatnonzero(c >= 0), c[c >= 0]] = 1.0
        return out, panel.covariates

    return agg, events, build


def _control_cohort(panel: Panel, warnings: list[str]) -> Panel:
    """The panel with a control cohort: never-treated areas, else the last-treated cohort
    (its start and later periods left out)."""
    if not panel.is_treated_unit.all():
        return panel
    last = int(panel.first_treated.max())
    if len(np.unique(panel.first_treated)) < 2:
        raise DesignError("every area starts at the same time, so there is no control cohort",
                          hint="add comparison areas that are never treated")
    keep = panel.period_ordinals[panel.time_idx] < last
    warnings.append(f"no never-treated areas: the last-treated cohort (starting "
                    f"{panel.label(last)}) is the control and periods from then on are left "
                    "out")
    n_keep = int(np.sum(panel.period_ordinals < last))
    first = np.where(panel.first_treated == last, NEVER, panel.first_treated)
    return replace(panel, unit_idx=panel.unit_idx[keep], time_idx=panel.time_idx[keep],
                   y=panel.y[keep], period_ordinals=panel.period_ordinals[:n_keep],
                   first_treated=first,
                   covariates=None if panel.covariates is None else panel.covariates[keep],
                   weights=None if panel.weights is None else panel.weights[keep],
                   cluster_idx=None if panel.cluster_idx is None else panel.cluster_idx[keep])


def fit_sun_abraham(panel: Panel) -> tuple[ev.EventFit, Any]:
    """Aggregated estimates, their CR1 covariance, and a re-estimator for reassignments."""
    from lpip_eval.methods.did import panel_design

    agg, events, build = _aggregation(panel, panel.first_treated)
    design = panel_design(panel, build, agg[0])
    fit, resid = design.fit()
    vcov, df = cr1(design, fit)
    theta = agg @ fit.coef
    out = ev.EventFit(event_times=events, theta=theta, vcov=agg @ vcov @ agg.T, df=df,
                      se_note="CR1 clustered, cohort shares held fixed")

    def reestimate(first: np.ndarray, outcomes: np.ndarray) -> np.ndarray:
        other, other_events, other_build = _aggregation(panel, first)
        if other_events != events or other.shape != agg.shape:
            raise DesignError("a reassignment of start periods changes the cohort-by-event-"
                              "time cells", hint="use --inference cluster")
        targets, _ = other_build(first)
        coef = least_squares(resid.apply(targets), resid.apply(outcomes))
        return (other @ coef).T

    return out, reestimate


def pretrend_test(fit: ev.EventFit) -> dict[str, Any] | None:
    """Joint Wald test (F with G - 1 denominator df) that the pre-period effects are zero."""
    from scipy import special

    pre = np.array([1 + j for j, e in enumerate(fit.event_times) if e < -1], dtype=int)
    if not len(pre) or fit.df is None:
        return None
    b = fit.theta[pre]
    wald = float(b @ np.linalg.pinv(fit.vcov[np.ix_(pre, pre)]) @ b)
    q = len(pre)
    p_value = float(special.fdtrc(q, fit.df, wald / q))
    return {"test": "joint pre-trend Wald test (CR1, F distribution)", "statistic": wald / q,
            "df": [q, fit.df], "p_value": p_value, "leads": q,
            "rejected_at_5pct": p_value < 0.05}


def estimate_sun_abraham(panel: Panel, spec: StaggeredSpec, progress: Any = None) -> Any:
    """``did --design sun-abraham``: the EffectResult."""
    if panel.covariates is not None:
        panel = panel.complete_covariate_rows()
    warnings = list(panel.warnings)
    panel = _control_cohort(panel, warnings)
    fit, reestimate = fit_sun_abraham(panel)
    diagnostics: dict[str, Any] = {}
    inf.record_pretrend(diagnostics, warnings, pretrend_test(fit))
    result = ev.staggered_result(panel, spec, TITLE, fit, reestimate, warnings, diagnostics)
    return with_evidence(result)
