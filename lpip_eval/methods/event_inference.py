"""Inference and results for staggered-adoption estimators that are linear in the outcome.

The imputation (Borusyak, Jaravel & Spiess 2024) and interaction-weighted (Sun & Abraham
2021) estimators give, for a fixed assignment of start periods, estimates that are linear
in the outcome: a headline and one effect per event time. Each estimator hands this module
an :class:`EventFit` (estimates, their covariance from per-cluster scores) and a function
re-estimating under any reassignment of the cohorts, and gets back the headline
``Estimate`` and per-event-time ``PeriodEffect`` rows.

* ``cluster``: normal intervals from the estimator's own cluster-robust covariance;
* ``randomization``: the start periods are permuted across areas (``inference.assignments``);
  the interval inverts the test under a constant additive effect, using linearity: the
  statistic for outcome ``y - b0 * D`` is ``est(y) - b0 * est(D)`` (``D`` = the observed
  treated-now indicator);
* ``auto``: randomization with fewer than 10 treated areas (Conley & Taber 2011), else
  cluster.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lpip_eval.data.panel import Panel
from lpip_eval.methods.linear import inference as inf
from lpip_eval.methods.linear.unit_order import panel_unit_order
from lpip_eval.methods.sensitivity import honest
from lpip_eval.results.result import Estimate, InferenceInfo, PeriodEffect

# est(first_treated per area, outcomes (n, q)) -> (q, k) estimates [headline, per event time]
Reestimate = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class EventFit:
    """Estimates ``theta`` = [headline, one per event time in ``event_times``] and their
    covariance ``vcov``; ``df`` for t intervals (None: normal)."""

    event_times: tuple[int, ...]
    theta: np.ndarray
    vcov: np.ndarray
    df: int | None = None
    se_note: str = ""


@dataclass(frozen=True)
class EventInference:
    """What :func:`run` gives: the headline, the per-event-time rows and how it ran."""

    estimate: Estimate
    effects: tuple[PeriodEffect, ...]
    warnings: tuple[str, ...]


def choose(requested: str, panel: Panel) -> inf.InferenceChoice:
    """The inference to run: the requested one, or the ``auto`` rule of the module docstring."""
    treated = int(panel.is_treated_unit.sum())
    if requested != "auto":
        return inf.InferenceChoice(requested, f"requested with --inference {requested}")
    n_assign = inf.count_assignments(panel.first_treated)
    if treated < inf.FEW_TREATED and n_assign >= inf.MIN_RI_ASSIGNMENTS:
        return inf.InferenceChoice(
            "randomization", f"{treated} treated areas (fewer than {inf.FEW_TREATED}): "
            "clustered standard errors would be badly anti-conservative, so the start "
            "periods were reassigned across areas (randomization inference)")
    return inf.InferenceChoice("cluster", f"{treated} treated areas: cluster-robust standard "
                               "errors by area")


def _normal(estimate: float, se: float, level: float, df: int | None) -> inf.Interval:
    if df is not None:
        return inf.t_interval(estimate, se, df, level)
    if not math.isfinite(se) or se <= 0:
        return inf.degenerate(se, 0.0)
    from scipy import special

    q = float(special.ndtri(0.5 + level / 2))
    p = float(2 * special.ndtr(-abs(estimate / se)))
    return inf.Interval(se=float(se), ci_low=estimate - q * se, ci_high=estimate + q * se,
                        p_value=p)


def run(panel: Panel, fit: EventFit, reestimate: Reestimate, choice: inf.InferenceChoice, *,
        level: float, draws: int, seed: int, labels: dict[int, str]) -> EventInference:
    """Intervals for the headline and every event time with ``choice`` (cluster or
    randomization)."""
    warnings: list[str] = []
    k = len(fit.theta)
    details: dict[str, Any]
    if choice.method == "cluster":
        se = np.sqrt(np.maximum(np.diag(fit.vcov), 0.0))
        intervals = [_normal(float(fit.theta[j]), float(se[j]), level, fit.df)
                     for j in range(k)]
        details = {"se_type": fit.se_note, "clusters": len(np.unique(panel.cluster_codes))}
        if fit.df is not None:
            details["df"] = fit.df
        treated = int(panel.is_treated_unit.sum())
        if treated < inf.FEW_TREATED:
            warnings.append(f"only {treated} treated areas: clustered standard errors are "
                            "likely too small; consider --inference randomization")
    elif choice.method == "randomization":
        intervals, details = _randomization(panel, fit, reestimate, level, draws, seed)
    else:
        raise ValueError(f"unknown inference {choice.method!r}")
    head = intervals[0]
    estimate = Estimate(att=float(fit.theta[0]), se=head.se, ci_low=head.ci_low,
                        ci_high=head.ci_high, ci_level=level, p_value=head.p_value,
                        inference=InferenceInfo(choice.method, choice.reason, details))
    effects = tuple(PeriodEffect(period=labels.get(e, f"t{e:+d}"), event_time=e,
                                 att=float(fit.theta[1 + j]), se=intervals[1 + j].se,
                                 ci_low=intervals[1 + j].ci_low,
                                 ci_high=intervals[1 + j].ci_high)
                    for j, e in enumerate(fit.event_times))
    return EventInference(estimate, effects, tuple(warnings))


def _randomization(panel: Panel, fit: EventFit, reestimate: Reestimate, level: float,
                   draws: int, seed: int) -> tuple[list[inf.Interval], dict[str, Any]]:
    order = panel_unit_order(panel)
    plan = inf.assignments(panel.first_treated, draws, seed, order)
    outcomes = np.column_stack([panel.y, panel.treated_now])
    stats = np.stack([reestimate(row, outcomes) for row in plan.iter_rows()])  # (draws, 2, k)
    intervals = []
    for j in range(len(fit.theta)):
        on_y, on_d = stats[:, 0, j], stats[:, 1, j]
        observed = float(fit.theta[j])
        low, high = inf.randomization_interval(observed, on_y, on_d, plan, level,
                                               float(np.std(on_y)) or 1.0)
        intervals.append(inf.Interval(se=None, ci_low=low, ci_high=high,
                                      p_value=inf.randomization_pvalue(observed, on_y, plan)))
    details = {"draws": plan.draws, "exact": plan.exact, "statistic": "estimate",
               "seed": None if plan.exact else seed,
               "interval": "test inversion under a constant additive effect"}
    return intervals, details


def event_labels(panel: Panel, event_times: tuple[int, ...]) -> dict[int, str]:
    """Period labels of event times when every pilot starts together (else ``t+k``)."""
    if panel.common_start is None:
        return {}
    start = int(panel.start_position[panel.is_treated_unit][0])
    return {k: panel.period_labels[start + k] for k in event_times
            if 0 <= start + k < panel.n_periods}


def relative_times(panel: Panel, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: periods since the area's start (``first``), and whether the area is ever
    treated under ``first``."""
    from lpip_eval.data.panel import NEVER

    pos = np.searchsorted(panel.period_ordinals, first, side="left")
    ever = first != NEVER
    pos = np.where(ever, pos, panel.n_periods)
    return panel.time_idx - pos[panel.unit_idx], ever[panel.unit_idx]


def staggered_result(panel: Panel, spec: Any, title: str, fit: EventFit,
                     reestimate: Reestimate, warnings: list[str],
                     diagnostics: dict[str, Any] | None = None) -> Any:
    """The EffectResult of a staggered-adoption design (evidence not yet rated)."""
    from lpip_eval.data.panel import NEVER
    from lpip_eval.results.result import EffectResult

    choice = choose(spec.inference, panel)
    if choice.method == "randomization" and inf.count_assignments(panel.first_treated) < 20:
        warnings.append("fewer than 20 possible assignments: the randomization p-value cannot "
                        "fall below 0.05")
    out = run(panel, fit, reestimate, choice, level=spec.ci_level, draws=spec.draws,
              seed=spec.seed, labels=event_labels(panel, fit.event_times))
    starts = panel.first_treated[panel.is_treated_unit]
    cohorts = []
    for s, n in zip(*np.unique(starts, return_counts=True), strict=True):
        before = int(np.searchsorted(panel.period_ordinals, s, side="left"))
        cohorts.append({"start": panel.label(int(s)), "areas": int(n),
                        "periods_before": before, "periods_after": panel.n_periods - before})
    first = int(starts.min())
    diag: dict[str, Any] = {
        **panel.shape(),
        "clusters": len(np.unique(panel.cluster_codes)),
        "cluster_col": panel.cluster_col or panel.unit_col,
        "covariates": list(panel.covariate_names),
        "weights_col": "weights" if panel.weights is not None else None,
        "pre_periods": int(np.sum(panel.period_ordinals < first)),
        "post_periods": int(np.sum(panel.period_ordinals >= first)),
        "cohorts": cohorts,
        "unit_names": dict(sorted(panel.unit_names.items())),
        **(diagnostics or {}),
    }
    rows, notes = honest.analyse(fit.event_times, fit.theta[1:], fit.vcov[1:, 1:],
                                 honest.request_of(spec), int(panel.is_treated_unit.sum()))
    if rows:
        diag["sensitivity"] = rows
    warnings.extend(notes)
    if panel.common_start is None:
        diag["treatment_starts"] = {u: panel.label(int(s)) for u, s in
                                    zip(panel.units, panel.first_treated, strict=True)
                                    if s != NEVER}
    common = panel.common_start
    return EffectResult(
        method="did", design=title, outcome=panel.outcome, unit_col=panel.unit_col,
        time_col=panel.time_col, treated_units=panel.treated_units,
        comparison_units=panel.comparison_units,
        treatment_start=panel.label(common if common is not None else first),
        estimate=out.estimate, effects_by_period=out.effects, diagnostics=diag,
        warnings=tuple(dict.fromkeys([*warnings, *out.warnings])))
