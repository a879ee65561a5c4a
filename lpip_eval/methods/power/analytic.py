"""Analytic minimum detectable effects: the serial-correlation-robust DiD formula.

Burlig, Preonas & Woerman (2020), "Panel data and experimental design", *Journal of
Development Economics* 144, eq. (8), as in their Stata ``pcpanel``: with m pre-periods, r
post-periods, J areas of which a share P is treated, and idiosyncratic errors with variance
sigma^2, average pre/pre covariance psi_B, post/post psi_A and pre/post psi_X,

    Var(b) = [ (m+r)/(mr) sigma^2 + (m-1)/m psi_B + (r-1)/r psi_A - 2 psi_X ] / (P(1-P)J)
    MDE    = (t_{1-alpha/2, J} + t_{power, J}) sqrt(Var(b)).

The bracket is a' Sigma a with a = (post mean) - (pre mean) over the m + r periods.

From historical data the covariances are estimated from the pre-period outcome after area
and period effects (two-way demeaned). Demeaning biases the raw covariances (the within-area
mean is removed: E[S] = (N-1)/N M Sigma M, M = I - 11'/T); as ``pcpanel`` corrects for
estimated fixed effects, this module corrects exactly: it finds the stationary
autocovariances gamma(k) whose Toeplitz Sigma reproduces S through that map (least squares).
gamma is identified only up to a constant (a common area effect is absorbed), which the DiD
variance does not depend on, since a sums to zero. Lags longer than the history are held at
the last estimated lag (stated in the assumptions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lpip_eval.errors import DataError, UsageError


@dataclass(frozen=True)
class Covariances:
    """Per-period variance and average covariances of the idiosyncratic outcome."""

    sigma2: float
    psi_b: float
    psi_a: float
    psi_x: float

    def bracket(self, m: int, r: int) -> float:
        """The bracket of BPW eq. (8): a' Sigma a."""
        return ((m + r) / (m * r) * self.sigma2 + (m - 1) / m * self.psi_b
                + (r - 1) / r * self.psi_a - 2 * self.psi_x)


def ar1_autocovariance(sd: float, rho: float, lags: int) -> np.ndarray:
    """gamma(k) = sd^2 rho^k, k = 0..lags-1: a stationary AR(1) with marginal SD ``sd``."""
    if sd <= 0:
        raise UsageError("--sd must be above 0", hint="the SD of the outcome after area and "
                         "period effects, e.g. 1.2")
    if not -1 < rho < 1:
        raise UsageError("--rho must be between -1 and 1 (exclusive)", hint="e.g. 0.7")
    return sd ** 2 * rho ** np.arange(lags, dtype=float)


def toeplitz(gamma: np.ndarray, n: int) -> np.ndarray:
    """The n x n covariance with gamma(|t - s|), lags beyond ``gamma`` held at its last."""
    lags = np.minimum(np.abs(np.subtract.outer(np.arange(n), np.arange(n))), len(gamma) - 1)
    return np.asarray(gamma)[lags]


def covariances(gamma: np.ndarray, m: int, r: int) -> Covariances:
    """sigma^2, psi_B, psi_A, psi_X of m pre- and r post-periods under autocovariance gamma."""
    sigma = toeplitz(gamma, m + r)
    pre, post = sigma[:m, :m], sigma[m:, m:]

    def off_mean(block: np.ndarray) -> float:
        k = len(block)
        return 0.0 if k < 2 else float((block.sum() - np.trace(block)) / (k * (k - 1)))

    return Covariances(sigma2=float(np.mean(np.diag(sigma))), psi_b=off_mean(pre),
                       psi_a=off_mean(post), psi_x=float(sigma[:m, m:].mean()))


def bracket(gamma: np.ndarray, m: int, r: int) -> float:
    """a' Sigma a with a = post mean - pre mean (equal to :meth:`Covariances.bracket`)."""
    a = np.concatenate([np.full(m, -1.0 / m), np.full(r, 1.0 / r)])
    return float(a @ toeplitz(gamma, m + r) @ a)


def critical_sum(n_areas: int, alpha: float, power: float) -> float:
    """t_{1-alpha/2, J} + t_{power, J}: BPW's critical values with J degrees of freedom."""
    from scipy import stats

    return float(stats.t.ppf(1 - alpha / 2, n_areas) + stats.t.ppf(power, n_areas))


def mde(gamma: np.ndarray, *, n_areas: int, n_treated: int, m: int, r: int, alpha: float,
        power: float) -> float:
    """The minimum detectable effect of BPW eq. (8) (two-sided test at ``alpha``)."""
    check_sizes(n_areas, n_treated, m, r)
    p = n_treated / n_areas
    variance = bracket(gamma, m, r) / (p * (1 - p) * n_areas)
    return critical_sum(n_areas, alpha, power) * float(np.sqrt(max(variance, 0.0)))


def power_at(effect: float, gamma: np.ndarray, *, n_areas: int, n_treated: int, m: int,
             r: int, alpha: float) -> float:
    """Power against ``effect`` implied by the same formula: t_{power} = |effect|/SE - t_{crit}."""
    from scipy import stats

    check_sizes(n_areas, n_treated, m, r)
    p = n_treated / n_areas
    se = float(np.sqrt(max(bracket(gamma, m, r) / (p * (1 - p) * n_areas), 0.0)))
    if se == 0:
        return 1.0 if effect else alpha
    return float(stats.t.cdf(abs(effect) / se - stats.t.ppf(1 - alpha / 2, n_areas), n_areas))


def check_sizes(n_areas: int, n_treated: int, m: int, r: int) -> None:
    """The design sizes the formula needs, as UsageErrors naming the option."""
    if m < 1:
        raise UsageError("--n-pre must be at least 1", hint="periods before the start")
    if r < 1:
        raise UsageError("--n-post must be at least 1", hint="periods from the start on")
    if not 1 <= n_treated < n_areas:
        raise UsageError(f"--n-treated must be from 1 to {n_areas - 1} (fewer than --n-areas)",
                         hint="the pilot areas; the rest are comparison areas")


def estimate_autocovariance(y: np.ndarray) -> np.ndarray:
    """Bias-corrected stationary autocovariances gamma(0..T-1) of an areas x periods matrix.

    The residual after area and period effects is ``M_N y M_T``; averaged over areas its
    cross-products estimate (N-1)/N M_T Sigma M_T. gamma solves that map for a Toeplitz
    Sigma by least squares (minimum norm: the constant gamma is not identified).
    """
    y = np.asarray(y, dtype=float)
    n, t = y.shape
    if n < 3 or t < 2:
        raise DataError(f"planning from data needs at least 3 areas and 2 periods before the "
                        f"start (found {n} areas, {t} periods)",
                        hint="give more history, or plan without data (--n-areas ...)")
    resid = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()
    s = resid.T @ resid / (n - 1)
    centre = np.eye(t) - 1.0 / t
    columns = []
    for k in range(t):
        basis = (np.abs(np.subtract.outer(np.arange(t), np.arange(t))) == k).astype(float)
        columns.append((centre @ basis @ centre).ravel())
    gamma, *_ = np.linalg.lstsq(np.column_stack(columns), s.ravel(), rcond=None)
    return np.asarray(gamma, dtype=float)
