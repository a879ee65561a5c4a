"""Imputation difference-in-differences (Borusyak, Jaravel & Spiess 2024, "Revisiting Event-
Study Designs: Robust and Efficient Estimation", Review of Economic Studies).

1. Fit ``y_it = a_i + l_t (+ x_it'b)`` by (weighted) least squares on the untreated
   observations only (never-treated areas, and pilot areas before their start), with the
   exact two-way solve of ``linear.absorb`` (any gaps);
2. impute ``Y_it(0)`` for every treated observation and take ``tau_it = y_it - Y_it(0)``;
3. average: the headline gives every treated observation the same weight (or its analytic
   weight), each event time ``k`` averages the observations ``k`` periods after the start.

Each estimate is ``sum_it v_it y_it`` with imputation weights ``v`` (``w_it`` on treated rows,
``-Z_0 (Z_0'Z_0)^-1 Z_1'w_1`` on untreated ones, BJS eq. 6). The standard error is BJS's
conservative clustered variance (Theorem 3): ``sum_c (sum_{it in c} v_it e_it)^2`` with
``e_it`` the first-stage residual on untreated rows and ``tau_it`` minus its ``v^2``-weighted
mean within the cohort-by-event-time cell on treated rows (as the ``didimputation`` R
package). Treated observations whose area has no untreated period, or whose period has no
untreated area, cannot be imputed and are left out with a warning.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lpip_eval.data.panel import NEVER, Panel
from lpip_eval.errors import DesignError
from lpip_eval.methods import event_inference as ev
from lpip_eval.methods.linear import inference as inf
from lpip_eval.methods.linear.absorb import EXACT_MAX_LEVELS, TwoWayExact
from lpip_eval.methods.registry import with_evidence
from lpip_eval.methods.specs import StaggeredSpec

TITLE = "Imputation difference-in-differences (Borusyak, Jaravel & Spiess 2024)"


class _Imputation:
    """The untreated-only fit for one assignment of start periods ``first``."""

    def __init__(self, panel: Panel, first: np.ndarray) -> None:
        if panel.n_periods > EXACT_MAX_LEVELS:
            raise DesignError(f"imputation needs at most {EXACT_MAX_LEVELS} periods",
                              hint="aggregate the periods (e.g. to years)")
        rel, ever = ev.relative_times(panel, first)
        treated = ever & (rel >= 0)
        untreated = ~treated
        unit, time = panel.unit_idx, panel.time_idx
        has_unit = np.bincount(unit[untreated], minlength=panel.n_units) > 0
        has_time = np.bincount(time[untreated], minlength=panel.n_periods) > 0
        self.target = treated & has_unit[unit] & has_time[time]
        self.dropped = int(treated.sum() - self.target.sum())
        if not self.target.any():
            raise DesignError("no treated observation can be imputed: every pilot area needs "
                              "a period before its start and every period an untreated area",
                              hint="add earlier periods or comparison areas")
        self.untreated = untreated
        self.rel = rel
        w = np.ones(len(panel.y)) if panel.weights is None else panel.weights
        self.w = w
        self.unit0, self.time0 = unit[untreated], time[untreated]
        self.unit1, self.time1 = unit[self.target], time[self.target]
        self.solver = TwoWayExact((self.unit0, panel.n_units), (self.time0, panel.n_periods),
                                  w[untreated])
        x = panel.covariates
        self.x0 = None if x is None else x[untreated]
        self.x1 = None if x is None else x[self.target]
        self.x0t = None if self.x0 is None else self.solver.residualize(self.x0)
        if x is not None and self.x0t is not None:  # covariates the effects absorb go
            keep = np.linalg.norm(self.x0t, axis=0) > 1e-10 * np.sqrt(len(self.x0t)) * max(
                1.0, float(np.abs(x).max()))
            self.x0, self.x1, self.x0t = (None, None, None) if not keep.any() else (
                x[untreated][:, keep], x[self.target][:, keep], self.x0t[:, keep])
        self.event_times = tuple(int(e) for e in np.unique(rel[self.target]))
        w1 = w[self.target]
        cols = [w1 / w1.sum()]
        for e in self.event_times:
            on = (rel[self.target] == e) * w1
            cols.append(on / on.sum())
        self.weights1 = np.column_stack(cols)  # (n1, k): the estimands' weights

    def _effects(self, z0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.solver.effects(self.solver.sum_big @ z0, self.solver.sum_small @ z0)

    def taus(self, outcomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(treated effects tau (n1, q), untreated residuals (n0, q)) for outcome columns."""
        y0, y1 = outcomes[self.untreated], outcomes[self.target]
        if self.x0 is not None and self.x0t is not None and self.x1 is not None:
            sw = np.sqrt(self.w[self.untreated])[:, None]
            beta = np.linalg.lstsq(self.x0t * sw, self.solver.residualize(y0) * sw,
                                   rcond=None)[0]
            y0 = y0 - self.x0 @ beta
            y1 = y1 - self.x1 @ beta
        a, g = self._effects(y0)
        return y1 - a[self.unit1] - g[self.time1], y0 - a[self.unit0] - g[self.time0]

    def estimates(self, outcomes: np.ndarray) -> np.ndarray:
        """(q, k) estimates for outcome columns (n, q)."""
        tau, _ = self.taus(outcomes)
        return (self.weights1.T @ tau).T

    def untreated_weights(self) -> np.ndarray:
        """Imputation weights on the untreated rows (n0, k), BJS eq. 6."""
        w0 = self.w[self.untreated][:, None]
        rhs_unit = np.column_stack([np.bincount(self.unit1, weights=c, minlength=len(
            self.solver.inv_big)) for c in self.weights1.T])
        rhs_time = np.column_stack([np.bincount(self.time1, weights=c, minlength=len(
            self.solver.schur_pinv)) for c in self.weights1.T])
        a, g = self.solver.effects(rhs_unit, rhs_time)
        v = a[self.unit0] + g[self.time0]
        if self.x0 is not None and self.x0t is not None and self.x1 is not None:
            ax, gx = self._effects(self.x0)
            c = (self.x1 - ax[self.unit1] - gx[self.time1]).T @ self.weights1  # (p, k)
            gram = self.x0t.T @ (self.x0t * w0)
            v = v + self.x0t @ np.linalg.lstsq(gram, c, rcond=None)[0]
        return -w0 * v


def pretrend_test(panel: Panel, model: _Imputation) -> dict[str, Any] | None:
    """BJS (2024, sec. 4.4, Test 1): on the untreated observations only, regress y on area and
    period effects (and covariates) plus one indicator per lead (each period k before an
    area's start, k = 1..K); the most distant leads are dropped until the leads are not
    collinear with the area effects (with every lead, they add up to an ever-treated area's
    own effect), so the earliest periods are the reference; test that the leads are jointly zero
    with a CR1 area-clustered Wald test (F with G - 1 denominator df; area effects nested in
    the clusters are not counted in K, as fixest). Being fitted on untreated rows only, it
    is independent of the imputation estimates (the didimputation R package's ``pretrends``).
    None when no pilot area has a period before its start or there are fewer than 2
    clusters."""
    from scipy import special

    ever = (panel.first_treated != NEVER)[panel.unit_idx][model.untreated]
    rel0 = np.where(ever, model.rel[model.untreated], 0)  # never-treated rows have no leads
    leads = sorted({int(k) for k in np.unique(rel0[rel0 < 0])}, reverse=True)
    w = model.w[model.untreated]
    while leads:  # drop the most distant lead while the leads are collinear with the effects
        x = np.column_stack([(rel0 == k).astype(float) for k in leads])
        if model.x0 is not None:
            x = np.column_stack([x, model.x0])
        xt = model.solver.residualize(x)
        if np.linalg.matrix_rank(xt * np.sqrt(w)[:, None]) == x.shape[1]:
            break
        leads = leads[:-1]
    if not leads:
        return None
    yt = model.solver.residualize(panel.y[model.untreated][:, None])[:, 0]
    sw = np.sqrt(w)
    coef = np.linalg.lstsq(xt * sw[:, None], yt * sw, rcond=None)[0]
    resid = (yt - xt @ coef) * sw
    clusters = panel.cluster_codes[model.untreated]
    if len(np.unique(clusters)) < 2:
        return None
    n_periods = len(np.unique(model.time0))
    vcov, df = inf.cluster_robust(xt * sw[:, None], resid, clusters, x.shape[1] + n_periods)
    q = len(leads)
    b = coef[:q]
    wald = float(b @ np.linalg.pinv(vcov[:q, :q]) @ b) / q
    p_value = float(special.fdtrc(q, df, wald))
    return {"test": "BJS (2024) pre-trend test: lead indicators on the untreated "
                    "observations, joint Wald (CR1, F distribution)",
            "statistic": wald, "df": [q, df], "p_value": p_value, "leads": q,
            "lead_coefficients": {str(k): float(c) for k, c in zip(leads, b, strict=True)},
            "rejected_at_5pct": p_value < 0.05}


def fit_imputation(panel: Panel, first: np.ndarray | None = None
                   ) -> tuple[ev.EventFit, _Imputation]:
    """Estimates and BJS's conservative clustered covariance for the observed starts."""
    model = _Imputation(panel, panel.first_treated if first is None else first)
    tau, resid0 = model.taus(panel.y[:, None])
    tau, resid0 = tau[:, 0], resid0[:, 0]
    theta = model.weights1.T @ tau
    v1, v0 = model.weights1, model.untreated_weights()
    cohort = panel.first_treated[panel.unit_idx[model.target]]
    cell = np.unique(np.column_stack([cohort, model.rel[model.target]]), axis=0,
                     return_inverse=True)[1].ravel()
    n_cells = int(cell.max()) + 1
    clusters = np.unique(panel.cluster_codes, return_inverse=True)[1].ravel()
    n_clusters = int(clusters.max()) + 1
    c0, c1 = clusters[model.untreated], clusters[model.target]
    scores = np.zeros((n_clusters, len(theta)))
    for j in range(len(theta)):
        vv = v1[:, j] ** 2
        den = np.bincount(cell, weights=vv, minlength=n_cells)
        num = np.bincount(cell, weights=vv * tau, minlength=n_cells)
        bar = np.divide(num, den, out=np.zeros(n_cells), where=den > 0)
        scores[:, j] = (np.bincount(c1, weights=v1[:, j] * (tau - bar[cell]),
                                    minlength=n_clusters)
                        + np.bincount(c0, weights=v0[:, j] * resid0, minlength=n_clusters))
    fit = ev.EventFit(event_times=model.event_times, theta=theta, vcov=scores.T @ scores,
                      se_note="BJS (2024) conservative clustered variance, Theorem 3")
    return fit, model


def estimate_imputation(panel: Panel, spec: StaggeredSpec, progress: Any = None) -> Any:
    """``did --design imputation``: the EffectResult."""
    if panel.covariates is not None:
        panel = panel.complete_covariate_rows()
    fit, model = fit_imputation(panel)
    warnings = list(panel.warnings)
    diagnostics: dict[str, Any] = {}
    inf.record_pretrend(diagnostics, warnings, pretrend_test(panel, model))
    if model.dropped:
        warnings.append(f"{model.dropped} treated observations could not be imputed (their "
                        "area has no period before its start, or their period no untreated "
                        "area) and are left out")

    def reestimate(first: np.ndarray, outcomes: np.ndarray) -> np.ndarray:
        other = _Imputation(panel, first)
        if other.event_times != model.event_times:
            raise DesignError("a reassignment of start periods changes the event times "
                              "that can be imputed", hint="use --inference cluster")
        return other.estimates(outcomes)

    return with_evidence(ev.staggered_result(panel, spec, TITLE, fit, reestimate, warnings,
                                             diagnostics))
