"""Conformal inference for synthetic control (Chernozhukov, Wüthrich & Zhu 2021, "An Exact
and Robust Conformal Inference Method for Counterfactual and Synthetic Controls", JASA
116(536), 1849-1864; R package ``scinference``).

A null hypothesis about the effects in the post-period, H0: theta_t = theta0_t, is tested by
imposing it (the pilot's post-period outcome minus theta0_t is its outcome without the
pilot), fitting the counterfactual model on all T periods, and comparing the post-period
residual statistic ``S(u) = sum_{t > T0} |u_t| / sqrt(T1)`` (the paper's S_q with q = 1)
with its values under the T moving-block permutations ``pi_j(t) = t + j mod T``:
``p = (1/T) sum_j 1{S(u o pi_j) >= S(u)}``. The test is exact when the residuals are
exchangeable and approximately valid when they are stationary and weakly dependent.

The model is the paper's constrained least squares synthetic control: weights w >= 0 summing
to 1 minimising ``sum_t (y1_t - y0_t' w)^2``; with ``intercept`` (for ``--design sdid``,
whose weights allow a constant difference in level) both sides are demeaned over the
periods first. Confidence sets invert the test over a grid of effects: for the average
effect (a constant effect theta0 in every post-period, all T periods) and for each
post-period (that period and the pre-period, T0 + 1 periods). The smallest possible p-value
is one over the number of periods, so with few periods a set is unbounded: the result says so
in words and its ends are null.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lpip_eval.methods.synth.weights import SimplexSolution, solve_simplex_qp
from lpip_eval.numbers import fmt_p
from lpip_eval.results.result import Estimate, InferenceInfo

GRID = 201  # grid points for inverting the test


@dataclass(frozen=True)
class ConformalSet:
    """A confidence set from test inversion: ends (NaN if unbounded or empty), the p-value of
    no effect, and a sentence when there is no bounded set."""

    low: float
    high: float
    p_zero: float
    note: str | None


class _Model:
    """Fits of the constrained least squares synthetic control, warm-started."""

    def __init__(self, y0: np.ndarray, intercept: bool) -> None:
        self.y0 = y0 - y0.mean(axis=1, keepdims=True) if intercept else y0
        self.intercept = intercept
        self.start: SimplexSolution | None = None

    def residuals(self, y1: np.ndarray, cols: np.ndarray) -> np.ndarray:
        target = y1[cols] - y1[cols].mean() if self.intercept else y1[cols]
        y0 = self.y0[:, cols] - (self.y0[:, cols].mean(axis=1, keepdims=True)
                                 if self.intercept else 0.0)
        z = target[:, None] - y0.T
        sol = solve_simplex_qp(z, start=self.start)
        self.start = sol
        return np.asarray(z @ sol.w)


def _statistic(u: np.ndarray, n_post: int) -> float:
    return float(np.sum(np.abs(u[-n_post:]))) / math.sqrt(n_post)


def p_value(u: np.ndarray, n_post: int) -> float:
    """Moving-block permutation p-value of the post-period residuals (the last ``n_post``)."""
    observed = _statistic(u, n_post)
    stats = np.array([_statistic(np.roll(u, j), n_post) for j in range(len(u))])
    return float(np.mean(stats >= observed - 1e-12 * max(1.0, observed)))


def _p_for(model: _Model, y1: np.ndarray, cols: np.ndarray, n_post: int, theta: float
           ) -> float:
    y = y1.astype(float, copy=True)
    y[cols[-n_post:]] -= theta
    return p_value(model.residuals(y, cols), n_post)


def _invert(model: _Model, y1: np.ndarray, cols: np.ndarray, n_post: int, centre: float,
            width: float, level: float) -> ConformalSet:
    alpha = 1 - level
    p_zero = _p_for(model, y1, cols, n_post, 0.0)
    n = len(cols)
    if 1 / n > alpha:
        return ConformalSet(math.nan, math.nan, p_zero, (
            f"no bounded {level:.0%} set: with {n} periods the smallest possible p-value is "
            f"1/{n} = {1 / n:.3f}, above {alpha:.2f}, so no effect size can be ruled out"))
    grid = centre + np.linspace(-width, width, GRID)
    accepted = np.array([_p_for(model, y1, cols, n_post, float(c)) > alpha for c in grid])
    if not accepted.any():
        return ConformalSet(math.nan, math.nan, p_zero, (
            f"no {level:.0%} set: every effect on the searched grid is rejected"))
    if accepted[0] or accepted[-1]:
        return ConformalSet(math.nan, math.nan, p_zero, (
            f"no bounded {level:.0%} set: effects as far as {width:.3g} from the estimate "
            "are not rejected"))
    inside = grid[accepted]
    step = float(grid[1] - grid[0])
    return ConformalSet(float(inside.min()) - step / 2, float(inside.max()) + step / 2,
                        p_zero, None)


def conformal(y1: np.ndarray, y0: np.ndarray, t0: int, *, att: float, level: float,
              intercept: bool = False) -> tuple[ConformalSet, list[ConformalSet],
                                                  dict[str, Any]]:
    """The set for the average post-period effect, one set per post-period, and details.

    ``y1``: the pilot's outcome (or the pilot areas' average) over all T periods; ``y0``:
    the donors' (J x T); ``t0``: the first post-period; ``att`` centres the grid.
    """
    y1 = np.asarray(y1, dtype=float)
    y0 = np.asarray(y0, dtype=float)
    n_periods = len(y1)
    n_post = n_periods - t0
    model = _Model(y0, intercept)
    pre_u = model.residuals(y1, np.arange(t0))
    gaps = y1[t0:] - _counterfactual(model, y1, y0, t0)
    spread = float(np.std(y0[:, :t0])) if y0.size else 0.0
    width = 3.0 * float(max(np.max(np.abs(gaps)), math.sqrt(np.mean(pre_u ** 2)), spread,
                            abs(att), 1e-12))
    average = _invert(model, y1, np.arange(n_periods), n_post, att, width, level)
    periods = [_invert(model, y1, np.append(np.arange(t0), t), 1, float(gaps[t - t0]),
                       width, level) for t in range(t0, n_periods)]
    details = {"statistic": "S_1: mean absolute post-period residual x sqrt(T1)",
               "permutations": "moving block", "periods": n_periods,
               "post_periods": n_post, "grid_points": GRID, "grid_half_width": width,
               "model": "synthetic control with an intercept (demeaned)" if intercept else
               "constrained least squares synthetic control",
               "smallest_p_average": 1 / n_periods, "smallest_p_per_period": 1 / (t0 + 1),
               "note": average.note}
    return average, periods, details


def p_of_no_effect(y1: np.ndarray, y0: np.ndarray, t0: int, *, intercept: bool = False
                   ) -> float:
    """The conformal p-value of no effect alone: one refit on all T periods, no set (for
    comparing inference methods, :mod:`lpip_eval.methods.synth.agreement`)."""
    y1 = np.asarray(y1, dtype=float)
    n = len(y1)
    return _p_for(_Model(np.asarray(y0, dtype=float), intercept), y1, np.arange(n), n - t0, 0.0)


def _counterfactual(model: _Model, y1: np.ndarray, y0: np.ndarray, t0: int) -> np.ndarray:
    """Post-period counterfactual from weights fitted on the pre-period (for grid centres)."""
    cols = np.arange(t0)
    target = y1[cols] - (y1[cols].mean() if model.intercept else 0.0)
    base = y0[:, cols] - (y0[:, cols].mean(axis=1, keepdims=True) if model.intercept else 0.0)
    w = solve_simplex_qp(target[:, None] - base.T).w
    shift = float(y1[cols].mean() - w @ y0[:, cols].mean(axis=1)) if model.intercept else 0.0
    return np.asarray(w @ y0[:, t0:]) + shift


def estimate_of(y1: np.ndarray, y0: np.ndarray, t0: int, *, att: float, level: float,
                warnings: list[str], intercept: bool = False
                ) -> tuple[Estimate, list[ConformalSet], dict[str, Any]]:
    """The Estimate for ``--inference conformal`` (p-value of no effect, the set for the
    average effect or null ends with the reason), the per-period sets and the details."""
    average, periods, details = conformal(y1, y0, t0, att=att, level=level,
                                          intercept=intercept)
    n = details["periods"]
    details.update({"p_per_period": [s.p_zero for s in periods],
                    "range_note": average.note})
    reason = (f"Conformal inference (Chernozhukov, Wuthrich & Zhu 2021): no effect was imposed "
              f"on the {details['post_periods']} post-periods, the synthetic control refitted "
              f"on all {n} periods, and the post-period residuals compared with their {n} "
              f"shifts in time (moving blocks); {fmt_p(average.p_zero, prefix=True)}. The "
              f"{level:.0%} range collects the constant effects the test does not reject.")
    if average.note:
        reason += f" There is {average.note}."
        warnings.append(f"conformal inference: {average.note}")
    return (Estimate(att, None, average.low, average.high, level, average.p_zero,
                     InferenceInfo("conformal", reason, details)), periods, details)
