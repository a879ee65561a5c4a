"""Difference-in-differences: 2x2, two-way fixed effects and event study.

* ``2x2`` — each area's pre- and post-period means, then the regression
  ``y ~ 1 + treated + post + treated:post`` on those means (Card & Krueger 1994; Angrist &
  Pischke 2009, ch. 5). Needs one common start.
* ``twfe`` — ``y_it = a_i + l_t + b D_it (+ x_it'g) + e_it`` with analytic weights if given;
  b is the headline (Wooldridge 2010, ch. 10). With staggered starts b is a weighted average
  of 2x2 comparisons, some against areas already treated (Goodman-Bacon 2021): a warning is
  added and ``diagnostics.goodman_bacon`` holds the decomposition (``methods/bacon.py``).
* ``event-study`` — leads and lags of the start, ``y_it = a_i + l_t + sum_k b_k 1{t - s_i = k}``
  with k = -1 the reference; the headline is the mean of the post-period b_k, and the leads
  are tested jointly for pre-trends (Freyaldenhoven, Hansen & Shapiro 2019; Roth 2022).

Inference is chosen and run by ``linear.design.infer`` (see ``linear/inference.py`` for the
conventions: CR1 clustered by area, G-1 degrees of freedom; wild cluster bootstrap;
randomization inference).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from lpip_eval.data.panel import NEVER, Panel
from lpip_eval.errors import DesignError, first_items
from lpip_eval.methods.bacon import goodman_bacon
from lpip_eval.methods.linear import inference as inf
from lpip_eval.methods.linear.absorb import Absorber
from lpip_eval.methods.linear.design import (
    DesignInference,
    LinearDesign,
    cr1,
    infer,
    rows_of_areas,
    treated_cluster_count,
)
from lpip_eval.methods.linear.unit_order import panel_unit_order
from lpip_eval.methods.registry import option_setting, with_evidence
from lpip_eval.methods.sensitivity import honest
from lpip_eval.methods.specs import DidSpec
from lpip_eval.results.result import EffectResult, Estimate, PeriodEffect

DESIGNS = {
    "2x2": "2x2 difference-in-differences (pre/post means)",
    "twfe": "Two-way fixed effects difference-in-differences",
    "event-study": "Event-study difference-in-differences (leads and lags, reference period -1)",
}


def estimate_did(panel: Panel, spec: DidSpec, progress: Any = None) -> EffectResult:
    """Estimate the effect on ``panel`` with the DiD design in ``spec``; returns EffectResult.

    ``auto`` and ``callaway-santanna`` go to their registered estimators."""
    if spec.design not in DESIGNS:
        from lpip_eval.methods.registry import METHODS

        return METHODS["did"].estimate(panel, spec, progress)
    try:
        return _estimate(panel, spec)
    except DesignError as exc:
        source = panel.source
        if source and not exc.message.startswith(source):
            raise DesignError(f"{source}: {exc.message}", hint=exc.hint) from None
        raise


def _estimate(panel: Panel, spec: DidSpec) -> EffectResult:
    if panel.covariates is not None and spec.design != "2x2":
        panel = panel.complete_covariate_rows()  # covariates enter the regression

    warnings = list(panel.warnings)
    builder = {"2x2": two_by_two_design, "twfe": twfe_design,
               "event-study": _event_study}[spec.design]
    design, extras = builder(panel, warnings)
    treated_clusters = treated_cluster_count(design)
    n_clusters = design.n_clusters
    choice = inf.choose_inference(
        spec.inference, n_treated_clusters=treated_clusters, n_clusters=n_clusters,
        n_assignments=inf.count_assignments(panel.first_treated),
    )
    if spec.bootstrap_weights:
        choice = inf.InferenceChoice(choice.method, choice.reason, spec.bootstrap_weights)
    if choice.method == "cluster" and treated_clusters < inf.FEW_TREATED:
        warnings.append(f"only {treated_clusters} treated clusters: clustered standard errors "
                        "are likely too small; consider --inference randomization")
    if choice.method == "randomization" and inf.count_assignments(panel.first_treated) < 20:
        warnings.append("fewer than 20 possible assignments: the randomization p-value cannot "
                        "fall below 0.05")
    result = infer(design, choice, level=spec.ci_level, draws=spec.draws, seed=spec.seed,
                   pre_coefs=extras.get("pre_index"))
    if n_clusters < 2:
        raise DesignError("fewer than two clusters", hint="check --cluster-col")
    diagnostics = _diagnostics(panel, design, result, extras)
    if spec.design == "twfe" and panel.common_start is None:
        diagnostics["goodman_bacon"] = goodman_bacon(panel)
    pre_test = result.pre_test or pretrend_slope(panel, choice, spec)
    inf.record_pretrend(diagnostics, warnings, pre_test)
    if spec.design == "event-study":
        vcov, _ = cr1(design, result.fit)
        rows, notes = honest.analyse(extras["event_times"], result.coef, vcov,
                                     honest.request_of(spec), int(panel.is_treated_unit.sum()))
        if rows:
            diagnostics["sensitivity"] = rows
        warnings.extend(notes)
    iv = result.interval
    estimate = Estimate(att=result.headline, se=iv.se, ci_low=iv.ci_low, ci_high=iv.ci_high,
                        ci_level=spec.ci_level, p_value=iv.p_value, inference=result.info)
    common = panel.common_start
    start_label = panel.label(common) if common is not None else \
        panel.label(int(panel.first_treated[panel.is_treated_unit].min()))
    return with_evidence(EffectResult(
        method="did", design=DESIGNS[spec.design], outcome=panel.outcome,
        unit_col=panel.unit_col, time_col=panel.time_col,
        treated_units=panel.treated_units, comparison_units=panel.comparison_units,
        treatment_start=start_label, estimate=estimate,
        effects_by_period=_period_effects(result, extras),
        diagnostics=diagnostics, warnings=tuple(dict.fromkeys(warnings)),
    ))


# --------------------------------------------------------------------------- designs


def _nested(panel: Panel, unit_codes: np.ndarray, clusters: np.ndarray, n_units: int) -> int:
    """How many area fixed effects fixest leaves out of K when areas are nested in clusters.

    fixest (``fixef.K = "nested"``) drops nested fixed effects but one from K, so with area
    clusters K = regressors + number of periods; checked against pyfixest on mpdta.
    """
    if panel.cluster_idx is None:
        return n_units - 1
    cluster_of_unit = np.zeros(n_units, dtype=clusters.dtype)
    cluster_of_unit[unit_codes] = clusters
    return n_units - 1 if bool(np.all(cluster_of_unit[unit_codes] == clusters)) else 0


def twfe_design(panel: Panel, warnings: list[str]) -> tuple[LinearDesign, dict[str, Any]]:
    """The two-way fixed-effects regression (area and period effects, one treated-after
    dummy) and its diagnostics; appends a warning for staggered starts (Goodman-Bacon 2021).
    Also the outcome model of matched comparison areas (``methods/match``)."""
    if panel.common_start is None:
        warnings.append("treatment starts at different times: the TWFE estimate also compares "
                        "later with earlier pilots and can weight some effects negatively "
                        f"(Goodman-Bacon 2021); use {option_setting('design', 'callaway-santanna')}"
                        " (or auto, the default)")
    _require_pre_periods(panel, 1)
    times = panel.period_ordinals[panel.time_idx]

    def build(first: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        d = (times >= first[panel.unit_idx]).astype(float)
        return d[:, None], panel.covariates

    rows_of = rows_of_areas(panel.unit_idx, panel.n_units)

    def build_at(first: np.ndarray, areas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = rows_of(areas)
        return rows, (times[rows] >= first[panel.unit_idx[rows]]).astype(float)[:, None]

    factor = None
    if panel.common_start is not None:
        factor = (panel.period_ordinals >= panel.common_start).astype(float)[:, None]
    return panel_design(panel, build, np.array([1.0]), factor, build_at), {}


def _event_study(panel: Panel, warnings: list[str]) -> tuple[LinearDesign, dict[str, Any]]:
    _require_pre_periods(panel, 1)
    start_pos = panel.start_position
    treated = panel.is_treated_unit
    rel = panel.time_idx - start_pos[panel.unit_idx]
    rel_treated = rel[treated[panel.unit_idx]]
    event_times = [int(k) for k in np.unique(rel_treated) if k != -1]
    pre_index = np.array([j for j, k in enumerate(event_times) if k < -1], dtype=int)
    if not len(pre_index):
        raise DesignError(
            f"the event study needs at least 2 pre-periods before the start "
            f"({panel.label(int(panel.first_treated[treated].min()))}) to test pre-trends",
            hint=f"use {option_setting('design', 'twfe')} or 2x2, or add earlier periods",
        )
    post = np.array([k >= 0 for k in event_times])
    contrast = post / post.sum()
    times = panel.period_ordinals
    lowest = min(event_times)
    lookup = np.full(max(event_times) - lowest + 1, -1)
    lookup[np.array(event_times) - lowest] = np.arange(len(event_times))

    def build(first: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        pos = np.searchsorted(times, first, side="left")
        unit_rel = panel.time_idx - pos[panel.unit_idx]
        is_t = (first != NEVER)[panel.unit_idx]
        # one float array, written straight from each row's column (no (n, k) temporaries)
        column = np.full(len(unit_rel), -1)
        known = is_t & (unit_rel >= lowest) & (unit_rel < lowest + len(lookup))
        column[known] = lookup[unit_rel[known] - lowest]
        rows = np.flatnonzero(column >= 0)
        cols = np.zeros((len(unit_rel), len(event_times)))
        cols[rows, column[rows]] = 1.0
        return cols, panel.covariates

    factor = None
    if panel.common_start is not None:
        start = int(panel.start_position[panel.is_treated_unit][0])
        rel_t = np.arange(panel.n_periods) - start
        factor = (rel_t[:, None] == np.array(event_times)[None, :]).astype(float)
    design = panel_design(panel, build, contrast, factor)
    labels = {}
    if panel.common_start is not None:
        start = int(panel.start_position[panel.is_treated_unit][0])
        labels = {k: panel.period_labels[start + k] for k in [*event_times, -1]
                  if 0 <= start + k < panel.n_periods}
    return design, {"event_times": event_times, "pre_index": pre_index, "labels": labels}


def panel_design(panel: Panel, build: Any, contrast: np.ndarray,
                  time_factor: np.ndarray | None = None, build_at: Any = None) -> LinearDesign:
    clusters = panel.cluster_codes
    absorber = Absorber(panel.unit_idx, panel.time_idx, panel.weights,
                        n_units=panel.n_units, n_times=panel.n_periods,
                        balanced_sorted=panel.is_balanced)
    return LinearDesign(
        y=panel.y, build=build, observed=panel.first_treated, absorber=absorber,
        weights=panel.weights, clusters=clusters, contrast=contrast,
        n_nested=_nested(panel, panel.unit_idx, clusters, panel.n_units),
        unit_order=lambda: panel_unit_order(panel),
        time_factor=time_factor, build_at=build_at,
    )


def two_by_two_design(panel: Panel, warnings: list[str]
                      ) -> tuple[LinearDesign, dict[str, Any]]:
    """The 2x2 design: each area's pre- and post-period means, regressed on area and period
    effects and treated-after (one common start needed); its diagnostics."""
    start = panel.common_start
    if start is None:
        starts = sorted({panel.label(int(s)) for s in panel.first_treated[panel.is_treated_unit]})
        raise DesignError(
            f"the 2x2 design needs one common start, but treated areas start at "
            f"{first_items(starts)}",
            hint=f"use {option_setting('design', 'callaway-santanna')} (or auto, the "
                 "default)",
        )
    if panel.covariates is not None:
        warnings.append("covariates are not used by the 2x2 design (use --design twfe)")
    _require_pre_periods(panel, 1)
    post_row = panel.period_ordinals[panel.time_idx] >= start
    cell = panel.unit_idx * 2 + post_row
    n_cells = panel.n_units * 2
    w = np.ones(len(panel.y)) if panel.weights is None else panel.weights
    sum_w = np.bincount(cell, weights=w, minlength=n_cells)
    present = sum_w > 0
    y_cell = np.bincount(cell, weights=w * panel.y, minlength=n_cells)[present] / sum_w[present]
    cell_ids = np.flatnonzero(present)
    unit = cell_ids // 2
    post = (cell_ids % 2).astype(float)
    cluster_of_unit = np.zeros(panel.n_units, dtype=np.int64)
    cluster_of_unit[panel.unit_idx] = panel.cluster_codes
    weights = None if panel.weights is None else sum_w[present] / np.bincount(
        cell, minlength=n_cells)[present]

    def build(first: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        treated = (first != NEVER)[unit].astype(float)
        nuisance = np.column_stack([np.ones(len(unit)), treated, post])
        return (treated * post)[:, None], nuisance

    design = LinearDesign(
        y=y_cell, build=build, observed=panel.first_treated,
        absorber=Absorber(None, None, weights), weights=weights,
        clusters=cluster_of_unit[unit], contrast=np.array([1.0]), n_nested=0,
        nuisance_varies=True,
        unit_order=lambda: panel_unit_order(panel),
    )
    return design, {"collapsed_rows": len(unit)}


def pretrend_slope(panel: Panel, choice: inf.InferenceChoice, spec: DidSpec
                   ) -> dict[str, Any] | None:
    """Differential linear pre-trend: in the pre-period, y on area and period effects and
    treated x (period - start). Needs one common start and at least 3 pre-periods."""
    start = panel.common_start
    if start is None:
        return None
    pre_rows = panel.period_ordinals[panel.time_idx] < start
    n_pre = int(np.sum(panel.period_ordinals < start))
    if n_pre < 3:
        return None
    sub = replace(
        panel, unit_idx=panel.unit_idx[pre_rows], time_idx=panel.time_idx[pre_rows],
        y=panel.y[pre_rows], period_ordinals=panel.period_ordinals[:n_pre],
        covariates=None if panel.covariates is None else panel.covariates[pre_rows],
        weights=None if panel.weights is None else panel.weights[pre_rows],
        cluster_idx=None if panel.cluster_idx is None else panel.cluster_idx[pre_rows],
    )
    trend = (sub.time_idx - (n_pre - 1)).astype(float)

    def build(first: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return ((first != NEVER)[sub.unit_idx] * trend)[:, None], sub.covariates

    rows_of = rows_of_areas(sub.unit_idx, sub.n_units)

    def build_at(first: np.ndarray, areas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = rows_of(areas)
        return rows, ((first != NEVER)[sub.unit_idx[rows]] * trend[rows])[:, None]

    factor = (np.arange(n_pre) - (n_pre - 1)).astype(float)[:, None]
    fitted = infer(panel_design(sub, build, np.array([1.0]), factor, build_at), choice,
                   level=spec.ci_level,
                   draws=spec.draws, seed=spec.seed, strict=False)
    p_value = fitted.interval.p_value
    return {"test": f"differential linear pre-trend ({choice.method} inference)",
            "statistic": fitted.headline, "df": None, "p_value": p_value,
            "leads": n_pre, "rejected_at_5pct": bool(p_value < 0.05),
            "slope_per_period": fitted.headline,
            "slope_interval": [fitted.interval.ci_low, fitted.interval.ci_high]}


def _require_pre_periods(panel: Panel, needed: int) -> None:
    """Every treated area needs ``needed`` periods with data before its start (exit 4)."""
    before = panel.period_ordinals[panel.time_idx] < panel.first_treated[panel.unit_idx]
    counts = np.bincount(panel.unit_idx[before], minlength=panel.n_units)
    short = [panel.units[i] for i in np.flatnonzero(panel.is_treated_unit & (counts < needed))]
    if short:
        raise DesignError(
            f"treated area {first_items(short)} has fewer than {needed} pre-period"
            f"{'s' if needed > 1 else ''} with {panel.outcome} data",
            hint="the design needs more periods before the start (or use "
                 f"{option_setting('design', '2x2')})",
        )


# --------------------------------------------------------------------------- outputs


def _period_effects(result: DesignInference, extras: dict[str, Any]) -> tuple[PeriodEffect, ...]:
    event_times = extras.get("event_times")
    if not event_times:
        return ()
    labels = extras.get("labels", {})
    out = [
        PeriodEffect(period=labels.get(k, f"t{k:+d}"), event_time=k, att=float(result.coef[j]),
                     se=result.per_coef[j].se, ci_low=result.per_coef[j].ci_low,
                     ci_high=result.per_coef[j].ci_high)
        for j, k in enumerate(event_times)
    ]
    out.append(PeriodEffect(period=labels.get(-1, "t-1"), event_time=-1, att=0.0, se=0.0,
                            ci_low=0.0,
                            ci_high=0.0))
    return tuple(sorted(out, key=lambda e: e.event_time or 0))


def within_label(design: LinearDesign) -> str:
    """How the fixed effects were removed, in words for the result's diagnostics."""
    if not design.absorber.groups:
        return "none (regression on each area's pre- and post-period means)"
    if design.absorber.fast:
        return "exact two-way demeaning (balanced panel)"
    if design.absorber.exact:
        return "exact two-way demeaning (normal equations: gaps or weights)"
    return "alternating projections"


def _diagnostics(panel: Panel, design: LinearDesign, result: DesignInference,
                 extras: dict[str, Any]) -> dict[str, Any]:
    treated_row = panel.is_treated_unit[panel.unit_idx]
    labels = panel.period_labels
    means = []
    for group, mask in (("treated", treated_row), ("comparison", ~treated_row)):
        sums = np.bincount(panel.time_idx[mask], weights=panel.y[mask], minlength=panel.n_periods)
        counts = np.bincount(panel.time_idx[mask], minlength=panel.n_periods)
        means.append((group, np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)))
    group_means = [{"period": labels[t], "treated": float(means[0][1][t]),
                    "comparison": float(means[1][1][t])} for t in range(panel.n_periods)]
    start = int(panel.first_treated[panel.is_treated_unit].min())
    diag: dict[str, Any] = {
        **panel.shape(),
        "within_transform": within_label(design),
        "pre_periods": int(np.sum(panel.period_ordinals < start)),
        "post_periods": int(np.sum(panel.period_ordinals >= start)),
        "clusters": design.n_clusters,
        "cluster_col": panel.cluster_col or panel.unit_col,
        "covariates": list(panel.covariate_names),
        "weights_col": "weights" if panel.weights is not None else None,
        "group_means": group_means,
        "unit_names": dict(sorted(panel.unit_names.items())),
    }
    if panel.common_start is None:
        diag["treatment_starts"] = {u: panel.label(int(s)) for u, s in
                                    zip(panel.units, panel.first_treated, strict=True)
                                    if s != NEVER}
    diag.update({k: v for k, v in extras.items() if k == "collapsed_rows"})
    return diag
