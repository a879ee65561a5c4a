"""Meta-analysis of effects from several places: fixed and random effects (pure maths).

:func:`pool` takes estimates and their standard errors and returns a :class:`Pooled`, with
the definitions of R's metafor (Viechtbauer 2010, J. Stat. Softw. 36(3); ``rma.uni`` and
``predict.rma``), so that its numbers can be checked against metafor's:

- weights ``w_i = 1 / (v_i + tau²)``; pooled ``mu = Σ w_i y_i / Σ w_i``, ``SE = (Σ w_i)^-½``;
- ``tau²``: ``reml`` (restricted maximum likelihood, the fixed-point iteration of
  Viechtbauer 2005, J. Educ. Behav. Stat. 30(3), eq. 12), ``dl`` (DerSimonian & Laird 1986,
  truncated at 0), ``pm`` (Paule & Mandel 1982: statsmodels' ``combine_effects`` with
  ``method_re="iterated"``, which is exactly 0 when Q <= k - 1), or ``fixed`` (tau² = 0);
- Hartung-Knapp (Hartung & Knapp 2001; metafor ``test="knha"``): ``SE² = Σ w_i (y_i -
  mu)² / ((k - 1) Σ w_i)``, intervals from t with k - 1 degrees of freedom, not truncated;
- prediction interval for a new place (``predict.rma``): ``mu ± c √(SE² + tau²)``, ``c`` the
  normal quantile, or t with k - 1 d.f. under Hartung-Knapp;
- Cochran's Q on the fixed-effect weights, its chi-squared p-value (k - 1 d.f.); ``I² =
  100 tau² / (tau² + s²)`` and ``H² = (tau² + s²) / s²`` with the typical within-place
  variance ``s² = (k - 1) Σ w / ((Σ w)² - Σ w²)`` (Higgins & Thompson 2002, eq. 9), as metafor
  reports them; for ``fixed``, from Q: ``I² = 100 max(0, (Q - (k - 1)) / Q)``, ``H² = Q / (k -
  1)``.

statsmodels' DerSimonian-Laird tau² is not truncated (negative on homogeneous data, with a
NaN standard error), and its I² always comes from Q: hence the code here.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

POOLING_METHODS = ("reml", "dl", "pm", "fixed")
FEW_RESULTS = 4  # with 2 to this many results tau² is poorly estimated
REML_TOL = 1e-12
REML_MAX_ITER = 10_000


@dataclass(frozen=True)
class Pooled:
    """One group's pooled effect, heterogeneity and prediction interval."""

    pooling: str
    hartung_knapp: bool
    k: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    ci_level: float
    pred_low: float | None
    pred_high: float | None
    tau2: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_p: float
    weights: tuple[float, ...]  # percent of the total weight, in input order
    warnings: tuple[str, ...] = ()


def _check(estimates: Sequence[float], ses: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(estimates, dtype=float)
    se = np.asarray(ses, dtype=float)
    if y.ndim != 1 or y.shape != se.shape:
        raise ValueError("estimates and standard errors must be two lists of one length")
    if y.size < 2:
        raise ValueError("pooling needs at least two results")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(se)) and np.all(se > 0)):
        raise ValueError("every estimate must be finite and every standard error positive")
    return y, se**2


def cochran_q(y: np.ndarray, v: np.ndarray) -> float:
    """Cochran's Q with fixed-effect weights 1/v."""
    w = 1.0 / v
    mu = float(np.sum(w * y) / np.sum(w))
    return float(np.sum(w * (y - mu) ** 2))


def tau2_dl(y: np.ndarray, v: np.ndarray) -> float:
    """DerSimonian-Laird moment estimate, truncated at 0."""
    w = 1.0 / v
    c = float(np.sum(w) - np.sum(w**2) / np.sum(w))
    return max(0.0, (cochran_q(y, v) - (y.size - 1)) / c)


def tau2_reml(y: np.ndarray, v: np.ndarray) -> float:
    """REML estimate by the fixed-point iteration of Viechtbauer (2005), from the DL value,
    truncated at 0 (so a homogeneous set gives exactly 0)."""
    tau2 = tau2_dl(y, v)
    for _ in range(REML_MAX_ITER):
        w = 1.0 / (v + tau2)
        mu = np.sum(w * y) / np.sum(w)
        new = float(np.sum(w**2 * ((y - mu) ** 2 - v)) / np.sum(w**2) + 1.0 / np.sum(w))
        new = max(0.0, new)
        if abs(new - tau2) <= REML_TOL * max(1.0, tau2):
            return new
        tau2 = new
    raise ArithmeticError("the REML estimate of tau² did not converge")


def tau2_pm(y: np.ndarray, v: np.ndarray) -> float:
    """Paule-Mandel estimate (statsmodels' iterated method-of-moments; 0 when Q <= k - 1)."""
    from statsmodels.stats.meta_analysis import combine_effects

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = combine_effects(y, v, method_re="iterated")
    return max(0.0, float(result.tau2))


def pool(estimates: Sequence[float], ses: Sequence[float], *, pooling: str = "reml",
         hartung_knapp: bool = False, level: float = 0.95) -> Pooled:
    """Pool ``estimates`` (standard errors ``ses``) by ``pooling`` (see the module
    docstring). Needs at least two results; ValueError otherwise or on bad numbers."""
    from scipy import stats

    if pooling not in POOLING_METHODS:
        raise ValueError(f"unknown pooling method {pooling!r}")
    y, v = _check(estimates, ses)
    k = int(y.size)
    q = cochran_q(y, v)
    tau2 = {"reml": tau2_reml, "dl": tau2_dl, "pm": tau2_pm}.get(pooling, lambda *_: 0.0)(y, v)
    w = 1.0 / (v + tau2)
    mu = float(np.sum(w * y) / np.sum(w))
    se = math.sqrt(1.0 / float(np.sum(w)))
    if hartung_knapp:
        se = math.sqrt(float(np.sum(w * (y - mu) ** 2)) / ((k - 1) * float(np.sum(w))))
        crit = float(stats.t.ppf(0.5 + level / 2, k - 1))
    else:
        crit = float(stats.norm.ppf(0.5 + level / 2))
    w0 = 1.0 / v
    s2 = (k - 1) * float(np.sum(w0)) / (float(np.sum(w0)) ** 2 - float(np.sum(w0**2)))
    if pooling == "fixed":
        i2 = 100.0 * max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
        h2 = q / (k - 1)
        pred: tuple[float | None, float | None] = (None, None)
    else:
        i2 = 100.0 * tau2 / (tau2 + s2)
        h2 = (tau2 + s2) / s2
        half = crit * math.sqrt(se**2 + tau2)
        pred = (mu - half, mu + half)
    notes = []
    if k <= FEW_RESULTS and pooling != "fixed":
        notes.append(f"Only {k} results: how much the effect varies from place to place "
                     "(tau², I², the prediction interval) cannot be estimated well from so "
                     "few.")
    return Pooled(pooling=pooling, hartung_knapp=hartung_knapp, k=k, estimate=mu, se=se,
                  ci_low=mu - crit * se, ci_high=mu + crit * se, ci_level=level,
                  pred_low=pred[0], pred_high=pred[1], tau2=tau2, i2=i2, h2=h2, q=q,
                  q_df=k - 1, q_p=float(stats.chi2.sf(q, k - 1)),
                  weights=tuple(float(x) for x in 100.0 * w / np.sum(w)),
                  warnings=tuple(notes))


def se_from_interval(low: float, high: float, level: float) -> float:
    """An approximate standard error from a symmetric normal interval:
    ``(high - low) / (2 z)``, z the normal quantile at ``(1 + level) / 2``."""
    from scipy import stats

    return (high - low) / (2.0 * float(stats.norm.ppf(0.5 + level / 2)))
