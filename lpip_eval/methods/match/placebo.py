"""Randomization inference for matched DiD: placebo pilots drawn from the candidate pool.

Each draw takes as many candidate areas as there are pilot areas (all sets when there are at
most ``max(draws, 5000)`` of them, else a seeded sample over a data-derived order of the
areas, as ``inference.assignments``), matches them again among the remaining candidates with
the same options and distance (the propensity score is re-fitted for each draw; a Mahalanobis
or inverse-variance metric, caliper units and CEM bins are those of the observed match), and
recomputes the matched DiD. The observed set is not among the draws, so the p-value is
``(hits + 1) / (draws + 1)`` (``inference.randomization_pvalue``); the interval inverts the test
under a constant additive effect: the placebo estimates involve no pilot area, so they do not
move with the hypothesised effect and only the observed estimate shifts.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from lpip_eval.data.panel import NEVER, Panel
from lpip_eval.errors import DesignError
from lpip_eval.methods import did as did_mod
from lpip_eval.methods.linear import inference as inf
from lpip_eval.methods.linear.unit_order import canonical_unit_order
from lpip_eval.methods.match.distance import (
    MatchedSet,
    MatchMetric,
    cem_strata,
    irls_logit,
    match_areas,
)
from lpip_eval.results.result import InferenceInfo

if TYPE_CHECKING:
    from lpip_eval.methods.match.areas import MatchSpec


class PlaceboPilots:
    """Randomization inference with placebo pilots drawn from the candidate pool.

    The matched DiD is linear in per-area summaries when the panel is balanced and unweighted
    (TWFE) or every area has pre- and post-period data (2x2): the estimate is the pilots' mean
    change minus the weighted comparison areas' mean change, and the TWFE pre-trend slope is the
    same contrast of per-area pre-period OLS slopes. Each draw then costs one re-match and a dot
    product; otherwise the design is refitted on each draw's matched panel (no pre-trend test).
    """

    def __init__(self, panel: Panel, x: np.ndarray, pool: np.ndarray,
                 codes: np.ndarray | None, metric: MatchMetric | None, spec: MatchSpec,
                 start: int) -> None:
        self.panel, self.x, self.pool, self.codes, self.metric, self.spec = (
            panel, x, pool, codes, metric, spec)
        self.start = start
        self.coarsened = cem_strata(x, panel.is_treated_unit | pool, spec.cem_bins) \
            if spec.cem else None
        post = panel.period_ordinals[panel.time_idx] >= start
        n = panel.n_units
        cnt = [np.bincount(panel.unit_idx[m], minlength=n) for m in (~post, post)]
        sums = [np.bincount(panel.unit_idx[m], weights=panel.y[m], minlength=n)
                for m in (~post, post)]
        with np.errstate(invalid="ignore", divide="ignore"):
            self.change = sums[1] / cnt[1] - sums[0] / cnt[0]
        self.n_pre = int(np.sum(panel.period_ordinals < start))
        twfe_ok = panel.is_balanced and panel.weights is None
        twox2_ok = panel.weights is None and bool(np.all((cnt[0] > 0) & (cnt[1] > 0)))
        self.closed = twfe_ok if spec.design == "twfe" else twox2_ok
        self.slopes = _pre_slopes(panel, start) if twfe_ok and self.n_pre >= 3 else None

    def statistics(self, weights: np.ndarray, treated: np.ndarray) -> tuple[float, float]:
        """(matched DiD, differential pre-trend slope) for one matched set."""
        t = treated & (weights > 0)
        c = ~treated & (weights > 0)
        if not t.any() or not c.any():
            return math.nan, math.nan
        if not self.closed:
            first = np.where(treated, self.start, NEVER).astype(self.panel.first_treated.dtype)
            from lpip_eval.methods.match.areas import matched_panel

            sub = matched_panel(replace(self.panel, first_treated=first), weights)
            build = did_mod.twfe_design if self.spec.design == "twfe" else did_mod.two_by_two_design
            design, _ = build(sub, [])
            fit, _ = design.fit()
            return float(design.contrast @ fit.coef), math.nan
        wc = weights[c] / weights[c].sum()
        att = float(self.change[t].mean() - wc @ self.change[c])
        slope = math.nan if self.slopes is None else \
            float(self.slopes[t].mean() - wc @ self.slopes[c])
        return att, slope

    def plan(self, n_t: int) -> inf.Assignments:
        """Placebo pilot sets (rows of area indices): all if few, else a seeded sample."""
        pool_units = np.flatnonzero(self.pool)
        order = canonical_unit_order(self.panel.unit_idx, self.panel.y, self.panel.n_units)
        ordered = order[np.isin(order, pool_units)]
        total = math.comb(len(ordered), n_t)
        if total <= max(self.spec.draws, inf.EXACT_LIMIT):
            combos = np.array(list(itertools.combinations(range(len(ordered)), n_t)),
                              dtype=np.int64).reshape(-1, n_t)
            return inf.Assignments(dense=ordered[combos], exact=True, observed_included=False)
        rng = np.random.default_rng(self.spec.seed)
        picks = np.argsort(rng.random((self.spec.draws, len(ordered))), axis=1)[:, :n_t]
        return inf.Assignments(dense=ordered[picks], exact=False, observed_included=False)

    def draw(self, pilots: np.ndarray) -> tuple[float, float]:
        spec = self.spec
        treated = np.zeros(self.panel.n_units, dtype=bool)
        treated[pilots] = True
        metric = self.metric
        if metric is not None and spec.distance == "propensity":
            sample = self.pool
            coef = irls_logit(self.x[sample], treated[sample].astype(float))
            eta = coef[0] + self.x[sample] @ coef[1:]
            metric = replace(metric, coef=coef, predictor_sd=float(eta.std(ddof=1)))
        ms = match_areas(self.x, treated, candidates=self.pool & ~treated, k=spec.k,
                         distance=spec.distance, replace=spec.replace, caliper=spec.caliper,
                         exact=self.codes, cem=spec.cem, cem_bins=spec.cem_bins, metric=metric,
                         coarsened=self.coarsened)
        return self.statistics(ms.weights, treated)

    def run(self, att: float, ms: MatchedSet, choice: inf.InferenceChoice, requested: str
            ) -> tuple[inf.Interval, InferenceInfo, dict[str, Any] | None]:
        spec = self.spec
        treated = self.panel.is_treated_unit
        plan = self.plan(int(treated.sum()))
        stats = np.array([self.draw(row) for row in plan.rows]).reshape(-1, 2)
        ok = np.isfinite(stats[:, 0])
        plan = plan.subset(ok)
        on_y = stats[ok, 0]
        if len(on_y) == 0:
            n_pool = int(self.pool.sum())
            raise DesignError(
                f"randomization inference has no placebo to compare with: the "
                f"{n_pool} candidate area{'s' if n_pool != 1 else ''} cannot stand in for "
                f"{int(treated.sum())} pilot area{'s' if treated.sum() != 1 else ''} and "
                "still leave areas to match them with",
                hint="add comparison areas; randomization inference needs at least 19 "
                "placebo sets for a 5% test")
        zeros = np.zeros(len(on_y))
        lo, hi = inf.randomization_interval(att, on_y, zeros, plan, spec.ci_level,
                                            float(np.std(on_y)) or 1.0)
        interval = inf.Interval(se=None, ci_low=lo, ci_high=hi,
                                p_value=inf.randomization_pvalue(att, on_y, plan))
        n_pool, n_t = int(self.pool.sum()), int(treated.sum())
        scheme = (f"{len(on_y)} sets of {n_t} placebo pilot areas drawn from the {n_pool} "
                  "candidate areas, each matched again among the remaining candidates")
        if requested == "auto":
            reason = (f"{n_t} pilot area{'s' if n_t != 1 else ''} (fewer than "
                      f"{inf.FEW_TREATED}): clustered standard errors would be badly "
                      f"anti-conservative, so randomization inference over the candidate "
                      f"pool was used ({scheme})")
        else:
            reason = f"{choice.reason} ({scheme})"
        details = {"draws": len(on_y), "exact": plan.exact, "statistic": "matched DiD estimate",
                   "seed": None if plan.exact else spec.seed, "candidate_pool": n_pool,
                   "scheme": "placebo pilots from the candidate pool, re-matched",
                   "dropped_draws": int((~ok).sum()),
                   "interval": "test inversion under a constant additive effect"}
        info = InferenceInfo(method="randomization", reason=reason, details=details)
        pre_test = None
        if self.slopes is not None:
            slope = self.statistics(ms.weights, treated)[1]
            on_s = stats[ok, 1]
            p = inf.randomization_pvalue(slope, on_s, plan)
            s_lo, s_hi = inf.randomization_interval(slope, on_s, zeros, plan, spec.ci_level,
                                                    float(np.std(on_s)) or 1.0)
            pre_test = {"test": "differential linear pre-trend on the matched set "
                                "(randomization inference over the candidate pool)",
                        "statistic": slope, "df": None, "p_value": p, "leads": self.n_pre,
                        "rejected_at_5pct": bool(p < 0.05), "slope_per_period": slope,
                        "slope_interval": [s_lo, s_hi]}
        return interval, info, pre_test


def _pre_slopes(panel: Panel, start: int) -> np.ndarray:
    """Per area: OLS slope of the outcome on the period index over the pre-period."""
    pre = panel.period_ordinals[panel.time_idx] < start
    u, t, yv = panel.unit_idx[pre], panel.time_idx[pre].astype(float), panel.y[pre]
    n = np.bincount(u, minlength=panel.n_units).astype(float)
    st = np.bincount(u, weights=t, minlength=panel.n_units)
    sy = np.bincount(u, weights=yv, minlength=panel.n_units)
    stt = np.bincount(u, weights=t * t, minlength=panel.n_units) - st * st / n
    sty = np.bincount(u, weights=t * yv, minlength=panel.n_units) - st * sy / n
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(stt > 1e-12, sty / stt, np.nan)
