"""Matched comparison areas: choose the areas to compare against, show the balance, estimate.

1. **Matching variables**, one row per area, from the periods before the (common) start: the
   outcome's pre-period mean and linear trend (OLS slope per period), and the pre-period mean
   of each ``match_on`` covariate.
2. **Matching** (``distance.match_areas``): each pilot area gets its ``k`` nearest
   candidate areas (never-treated areas) by Mahalanobis distance (default; full-sample
   covariance, as Stata ``teffects nnmatch``), inverse-variance distance or the logit of a
   propensity score; with or without replacement (greedy, closest first), a caliper in SDs,
   exact strata on categorical area attributes (``Panel.unit_attributes``) or coarsened exact
   matching. Pilot areas with no admissible match are named in a warning and left out.
3. **Balance** before and after (``balance.py``: MatchIt / cobalt definitions for the ATT).
4. **Effect**: difference-in-differences (``did.py``'s TWFE or 2x2 design) on the matched set,
   with MatchIt's ATT weights (pilot areas 1; a comparison area the sum over the pilots it
   serves of 1/(number of that pilot's matches)). Matching variables are not regressors.
5. **Inference**: as ``did`` (``inference.choose_inference``), except that randomization
   inference draws *placebo pilots from the candidate pool*: each draw takes as many candidate
   areas as there are pilots, matches them again among the remaining candidates with the same
   options and distance (a propensity score is re-fitted), and recomputes the matched DiD. The
   p-value is the share of placebo estimates at least as large in absolute value (the observed
   set is not among the draws: ``(hits + 1) / (draws + 1)``), and the interval inverts the
   test under a constant additive effect (placebo estimates do not involve the pilots, so they
   do not move with the hypothesised effect). The pre-trend test on the matched set uses the
   same draws. Matching on the pre-period trend (the default) balances trends by construction,
   so a passed pre-trend test is weaker evidence than in plain DiD; the check says so.

Needs one common start (staggered pilots: use ``did --design callaway-santanna``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from lpip_eval.data.panel import Panel
from lpip_eval.errors import DataError, DesignError, first_items
from lpip_eval.methods import did as did_mod
from lpip_eval.methods.linear import inference as inf
from lpip_eval.methods.linear.design import infer
from lpip_eval.methods.match.balance import balance_check, balance_table, love_plot
from lpip_eval.methods.match.distance import (
    MatchedSet,
    MatchMetric,
    SeparationError,
    fit_metric,
    match_areas,
)
from lpip_eval.methods.match.placebo import PlaceboPilots
from lpip_eval.methods.registry import option_name, option_setting, with_evidence
from lpip_eval.methods.specs import DidSpec, MatchSpec
from lpip_eval.numbers import fmt_p
from lpip_eval.results.result import EffectResult, Estimate, InferenceInfo, PeriodEffect

DESIGNS = {"twfe": "two-way fixed effects DiD", "2x2": "2x2 DiD (pre/post means)"}


@dataclass(frozen=True)
class AreaMatch:
    """The matching step: variables per area, candidate pool, distance and matched set."""

    x: np.ndarray
    names: list[str]
    pool: np.ndarray
    codes: np.ndarray | None
    metric: MatchMetric | None
    matched: MatchedSet


def estimate_match(panel: Panel, spec: MatchSpec, progress: Any = None) -> EffectResult:
    """Match pilot areas to comparison areas and estimate the DiD on the matched set."""
    _check_spec(spec)
    start = panel.common_start
    if start is None:
        raise DesignError("matching needs one common start, but the pilot areas start at "
                          "different times", hint="use lpip-eval did --design callaway-santanna")
    warnings = list(panel.warnings)
    am = select_comparison_areas(panel, spec, warnings)
    sub = matched_panel(panel, am.matched.weights)
    build = did_mod.twfe_design if spec.design == "twfe" else did_mod.two_by_two_design
    design, _ = build(sub, warnings)
    att, interval, info, pre_test = _effect(panel, sub, design, am, spec, warnings)
    balance = balance_table(am.x, am.names, panel.is_treated_unit, am.pool, am.matched.weights)
    diagnostics = _diagnostics(panel, sub, am, balance, spec, design)
    if pre_test is not None:
        diagnostics["pretrend_test"] = pre_test
    estimate = Estimate(att=att, se=interval.se, ci_low=interval.ci_low,
                        ci_high=interval.ci_high, ci_level=spec.ci_level,
                        p_value=interval.p_value, inference=info)
    return with_evidence(EffectResult(
        method="match", design=_design_name(spec), outcome=panel.outcome,
        unit_col=panel.unit_col, time_col=panel.time_col,
        treated_units=sub.treated_units, comparison_units=sub.comparison_units,
        treatment_start=panel.label(start), estimate=estimate,
        effects_by_period=_period_effects(sub, start),
        weights=_weights(panel, am.matched), diagnostics=diagnostics,
        warnings=tuple(dict.fromkeys(warnings)),
    ))


def select_comparison_areas(panel: Panel, spec: MatchSpec, warnings: list[str]) -> AreaMatch:
    """Matching variables, distance and matched set (unmatched pilots named in ``warnings``)."""
    start = int(panel.common_start or 0)
    x, names, usable = area_features(panel, spec, start, warnings)
    treated = panel.is_treated_unit
    pool = ~treated & usable
    if not pool.any():
        raise DesignError("no candidate comparison area has data before the start",
                          hint="add comparison areas with pre-period data")
    codes = _exact_codes(panel, spec.exact)
    metric = _metric(x, treated, pool, spec)
    ms = match_areas(x, treated, candidates=pool, k=spec.k, distance=spec.distance,
                     replace=spec.replace, caliper=spec.caliper, exact=codes, cem=spec.cem,
                     cem_bins=spec.cem_bins, metric=metric)
    units = np.array(panel.units, dtype=object)
    if len(ms.unmatched):
        warnings.append(f"no admissible comparison area for pilot area "
                        f"{first_items(units[ms.unmatched].tolist())}: left out of the "
                        "estimate (see diagnostics.unmatched)")
    if not len(ms.pair_control):
        raise DesignError("no pilot area could be matched to a comparison area",
                          hint=f"relax {option_setting('caliper')} or {option_setting('exact')},"
                               " or add candidate areas")
    if len(ms.short):
        warnings.append(f"pilot area {first_items(units[ms.short].tolist())} got fewer than "
                        f"k = {spec.k} matches")
    return AreaMatch(x=x, names=names, pool=pool, codes=codes, metric=metric, matched=ms)


def _effect(panel: Panel, sub: Panel, design: Any, am: AreaMatch, spec: MatchSpec,
            warnings: list[str]
            ) -> tuple[float, inf.Interval, InferenceInfo, dict[str, Any] | None]:
    """The matched DiD with the chosen inference, and the pre-trend test on the matched set."""
    targets, _ = design.build(design.observed)
    treated_clusters = len(np.unique(design.clusters[np.abs(targets).sum(axis=1) > 0]))
    n_plans = math.comb(int(am.pool.sum()), int(panel.is_treated_unit.sum()))
    choice = inf.choose_inference(spec.inference, n_treated_clusters=treated_clusters,
                                  n_clusters=design.n_clusters, n_assignments=n_plans)
    if choice.method == "cluster" and treated_clusters < inf.FEW_TREATED:
        warnings.append(f"only {treated_clusters} treated clusters: clustered standard errors "
                        "are likely too small; consider --inference randomization")
    if choice.method == "randomization":
        fit, _ = design.fit()
        att = float(design.contrast @ fit.coef)
        placebo = PlaceboPilots(panel, am.x, am.pool, am.codes, am.metric, spec,
                                int(panel.common_start or 0))
        interval, info, pre_test = placebo.run(att, am.matched, choice, spec.inference)
        if n_plans < inf.MIN_RI_ASSIGNMENTS:
            warnings.append("fewer than 20 possible placebo sets: the randomization p-value "
                            "cannot fall below 0.05")
    else:
        result = infer(design, choice, level=spec.ci_level, draws=spec.draws, seed=spec.seed)
        att, interval, info = result.headline, result.interval, result.info
        pre_test = did_mod.pretrend_slope(sub, choice, _did_spec(spec))
    if pre_test is not None:
        if spec.use_outcome_trend:
            pre_test["test"] += ("; the pre-period trend was a matching variable, so similar "
                                 "pre-trends are partly built in")
        if pre_test["rejected_at_5pct"]:
            warnings.append(f"the pre-trend test on the matched set rejects parallel pre-trends "
                            f"at the 5% level ({fmt_p(pre_test['p_value'], prefix=True)})")
    return att, interval, info, pre_test


# --------------------------------------------------------------------------- inputs


def _check_spec(spec: MatchSpec) -> None:
    if spec.design == "nnmatch":
        raise DesignError("design 'nnmatch' is for unit-level data (one row per unit, no "
                          "periods), not an area panel", hint="lpip-eval match DATA --design "
                          "nnmatch --treated-col T --outcome Y --match-on X1,X2, or [match] "
                          "design = \"nnmatch\" in a config file of its own")
    if spec.bias_adjust or spec.vce_nn != 2:
        raise DesignError("bias adjustment and vce_nn belong to design nnmatch (unit-level "
                          "data)", hint="leave them out for matched comparison areas")


def area_features(panel: Panel, spec: MatchSpec, start: int, warnings: list[str]
                  ) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Per-area matching variables from the pre-period; (values, names, usable areas)."""
    pre = panel.period_ordinals[panel.time_idx] < start
    u, yv = panel.unit_idx[pre], panel.y[pre]
    t = (panel.period_ordinals[panel.time_idx[pre]] - start).astype(float)  # periods apart
    n = np.bincount(u, minlength=panel.n_units).astype(float)
    cols: list[np.ndarray] = []
    names: list[str] = []
    with np.errstate(invalid="ignore", divide="ignore"):
        if spec.use_outcome_level:
            cols.append(np.bincount(u, weights=yv, minlength=panel.n_units) / n)
            names.append(f"{panel.outcome}: pre-period mean")
        if spec.use_outcome_trend:
            st = np.bincount(u, weights=t, minlength=panel.n_units)
            sy = np.bincount(u, weights=yv, minlength=panel.n_units)
            stt = np.bincount(u, weights=t * t, minlength=panel.n_units) - st * st / n
            sty = np.bincount(u, weights=t * yv, minlength=panel.n_units) - st * sy / n
            slope = np.where(stt > 1e-12, sty / stt, np.nan)
            if np.all(np.isnan(slope[panel.is_treated_unit])):
                warnings.append("the outcome's pre-period trend was not used for matching "
                                "(it needs at least two periods before the start)")
            else:
                cols.append(slope)
                names.append(f"{panel.outcome}: pre-period trend (per {panel.frequency})")
        for name in spec.match_on:
            if name not in panel.covariate_names or panel.covariates is None:
                raise DataError(f"{option_name('match_on')} column '{name}' is not among the "
                                "loaded columns",
                                hint="the matching covariates must be loaded as covariates")
            j = panel.covariate_names.index(name)
            cols.append(np.bincount(u, weights=panel.covariates[pre, j],
                                    minlength=panel.n_units) / n)
            names.append(f"{name}: pre-period mean")
    if not cols:
        raise DesignError("nothing to match on",
                          hint="keep the outcome level or trend, or give "
                               f"{option_setting('match_on')} columns")
    x = np.column_stack(cols)
    usable = np.all(np.isfinite(x), axis=1)
    names_of = np.array(panel.units, dtype=object)
    bad = panel.is_treated_unit & ~usable
    if bad.any():
        raise DesignError(f"pilot area {first_items(names_of[bad].tolist())} lacks the "
                          "pre-period data to compute its matching variables",
                          hint="matching needs periods before the start (two for the trend)")
    dropped = ~panel.is_treated_unit & ~usable
    if dropped.any():
        warnings.append(f"{int(dropped.sum())} candidate area(s) without enough pre-period "
                        f"data were not considered ({first_items(names_of[dropped].tolist())})")
    flat = np.nanstd(x[usable], axis=0) == 0
    if flat.any() and not spec.cem:
        warnings.append(f"{', '.join(np.array(names)[flat])} does not vary and was not used")
        x, names = x[:, ~flat], [nm for nm, f in zip(names, flat, strict=True) if not f]
        if not names:
            raise DesignError("no matching variable varies across areas",
                              hint=f"add {option_setting('match_on')} columns")
    return x, names, usable


def _exact_codes(panel: Panel, columns: tuple[str, ...]) -> np.ndarray | None:
    """Integer stratum codes from the categorical area attributes named in ``--exact``."""
    if not columns:
        return None
    attrs = getattr(panel, "unit_attributes", None) or {}
    parts = []
    for col in columns:
        if col not in attrs:
            raise DataError(f"{option_name('exact')} column '{col}' is not a loaded area "
                            "attribute",
                            hint="load it as a categorical area column (constant within area)")
        parts.append(np.unique(np.asarray(attrs[col]).astype(str), return_inverse=True)[1])
    return np.unique(np.column_stack(parts), axis=0, return_inverse=True)[1].ravel()


def _metric(x: np.ndarray, treated: np.ndarray, pool: np.ndarray, spec: MatchSpec
            ) -> MatchMetric | None:
    if spec.cem:
        return None
    try:
        return fit_metric(x, treated | pool, spec.distance, treated)
    except SeparationError:
        raise DesignError("the propensity-score model separates the pilot areas from the "
                          "candidates perfectly, so it cannot rank candidates",
                          hint=f"use {option_setting('distance', 'mahalanobis')}") from None


def matched_panel(panel: Panel, unit_weights: np.ndarray) -> Panel:
    """The panel restricted to areas with positive matching weight, weighted by it."""
    keep_units = np.flatnonzero(unit_weights > 0)
    rows = np.isin(panel.unit_idx, keep_units)
    remap = np.full(panel.n_units, -1, dtype=np.int64)
    remap[keep_units] = np.arange(len(keep_units))
    times, time_idx = np.unique(panel.time_idx[rows], return_inverse=True)
    w = unit_weights[panel.unit_idx[rows]]
    if panel.weights is not None:
        w = w * panel.weights[rows]
    units = tuple(panel.units[i] for i in keep_units)
    extra: dict[str, Any] = {}
    if "unit_attributes" in {f.name for f in fields(panel)}:
        attrs = getattr(panel, "unit_attributes", None) or {}
        extra["unit_attributes"] = {k: np.asarray(v)[keep_units] for k, v in attrs.items()}
    return replace(
        panel, **extra, units=units, period_ordinals=panel.period_ordinals[times],
        unit_idx=remap[panel.unit_idx[rows]], time_idx=time_idx.astype(np.int64),
        y=panel.y[rows], first_treated=panel.first_treated[keep_units], covariate_names=(),
        covariates=None, weights=w,
        cluster_idx=None if panel.cluster_idx is None else panel.cluster_idx[rows],
        unit_names={u: panel.unit_names[u] for u in units if u in panel.unit_names},
    )


def _did_spec(spec: MatchSpec) -> DidSpec:
    return DidSpec(design=spec.design, inference=spec.inference,
                   ci_level=spec.ci_level, draws=spec.draws, seed=spec.seed)


# --------------------------------------------------------------------------- outputs


DISTANCE_NAMES = {"mahalanobis": "Mahalanobis distance", "ivariance": "inverse-variance distance",
                  "propensity": "the propensity score (logit)"}


def _design_name(spec: MatchSpec) -> str:
    if spec.cem:
        how = "coarsened exact matching"
    else:
        how = (f"{spec.k}-nearest-neighbour matching on {DISTANCE_NAMES[spec.distance]} "
               f"{'with' if spec.replace else 'without'} replacement")
    return f"Matched comparison areas ({how}) + {DESIGNS[spec.design]}"


def _weights(panel: Panel, ms: MatchedSet) -> tuple[tuple[str, float], ...]:
    """Matched comparison areas with their share of the comparison (sums to 1)."""
    controls = ms.matched_controls
    w = ms.weights[controls]
    share = w / w.sum()
    order = np.lexsort((controls, -share))
    return tuple((panel.units[int(controls[i])], float(share[i])) for i in order)


def _group_paths(sub: Panel) -> tuple[np.ndarray, np.ndarray]:
    """Per period: mean of the pilot areas, weighted mean of the comparison areas."""
    treated_row = sub.is_treated_unit[sub.unit_idx]
    assert sub.weights is not None
    out = []
    for mask in (treated_row, ~treated_row):
        w = sub.weights[mask]
        num = np.bincount(sub.time_idx[mask], weights=w * sub.y[mask], minlength=sub.n_periods)
        den = np.bincount(sub.time_idx[mask], weights=w, minlength=sub.n_periods)
        out.append(np.where(den > 0, num / np.where(den > 0, den, 1), np.nan))
    return out[0], out[1]


def _period_effects(sub: Panel, start: int) -> tuple[PeriodEffect, ...]:
    """Pilot minus weighted comparison per period, less its pre-period mean (no SEs)."""
    pilot, comp = _group_paths(sub)
    gap = pilot - comp
    pre = sub.period_ordinals < start
    base = float(np.nanmean(gap[pre]))
    t0 = int(np.searchsorted(sub.period_ordinals, start))
    labels = sub.period_labels
    return tuple(PeriodEffect(period=labels[t], event_time=t - t0, att=float(gap[t] - base),
                              se=None, ci_low=None, ci_high=None)
                 for t in range(sub.n_periods) if np.isfinite(gap[t]))


def _diagnostics(panel: Panel, sub: Panel, am: AreaMatch, balance: dict[str, Any],
                 spec: MatchSpec, design: Any) -> dict[str, Any]:
    units = panel.units
    ms = am.matched
    start = int(sub.common_start or 0)
    pilot, comp = _group_paths(sub)
    labels = sub.period_labels
    pairs = [{"treated": units[int(t)], "control": units[int(c)],
              "distance": None if not np.isfinite(d) else float(d), "weight": float(w)}
             for t, c, d, w in zip(ms.pair_treated, ms.pair_control, ms.pair_distance,
                                   ms.pair_weight, strict=True)]
    weights_chart = _weights(panel, ms)
    return {
        "n_obs": len(sub.y),
        "n_units": sub.n_units,
        "n_periods": sub.n_periods,
        "frequency": panel.frequency,
        "balanced": sub.is_balanced,
        "within_transform": did_mod.within_label(design),
        "pre_periods": int(np.sum(sub.period_ordinals < start)),
        "post_periods": int(np.sum(sub.period_ordinals >= start)),
        "clusters": design.n_clusters,
        "cluster_col": panel.cluster_col or panel.unit_col,
        "candidate_pool": int(am.pool.sum()),
        "matching": {
            "method": "cem" if spec.cem else "nearest neighbour",
            "distance": None if spec.cem else spec.distance,
            "k": spec.k, "replace": spec.replace, "caliper_sd": spec.caliper,
            "exact": list(spec.exact), "cem_bins": spec.cem_bins, "variables": am.names,
            "order": None if spec.replace or spec.cem else
            "closest first (pilots whose nearest candidate is closest pick first, one match "
            "per round)",
            "covariance": "full sample (pilot and candidate areas), divisor n - 1"
            if spec.distance == "mahalanobis" and not spec.cem else None,
            "weights": "pilot areas 1; comparison areas: sum over the pilots they serve of "
                       "1 / (that pilot's number of matches) (MatchIt's ATT weights)",
        },
        "matched_pairs": pairs,
        "unmatched": [units[int(i)] for i in ms.unmatched],
        "fewer_than_k": [units[int(i)] for i in ms.short],
        "balance": balance,
        "checks": [balance_check(balance)],
        "charts": [love_plot(balance), {
            "id": "match_weights", "kind": "weights",
            "title": "Weights of the matched comparison areas",
            "alt": f"Bar chart of the weights of the {len(weights_chart)} matched comparison "
                   "areas, largest first.",
            "columns": ["Comparison area", "Weight"],
            "rows": [[panel.unit_names.get(u) or u, f"{w:.3f}"] for u, w in weights_chart],
            "series": {"units": [u for u, _ in weights_chart],
                       "weights": [w for _, w in weights_chart]},
        }],
        "group_means": [{"period": labels[t], "treated": float(pilot[t]),
                         "comparison": float(comp[t])} for t in range(sub.n_periods)],
        "unit_names": dict(sorted(panel.unit_names.items())),
    }
