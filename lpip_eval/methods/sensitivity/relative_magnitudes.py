"""HonestDiD relative magnitudes: confidence sets under Delta^RM(Mbar) with the conditional
least-favourable hybrid test (C-LF) (Rambachan & Roth 2023, "A More Credible Approach to
Parallel Trends", Review of Economic Studies 90(5), Sections 2.4.1 and 5; Andrews, Roth &
Pakes 2023, "Inference for Linear Conditional Moment Inequalities", Review of Economic
Studies 90(6), Sections 3-5).

Delta^RM(Mbar): every post-period first difference of the trend ``delta`` is at most Mbar
times the largest pre-period first difference in absolute value. As R's HonestDiD
(``computeConditionalCS_DeltaRM``) does, the set is the union over the location ``s`` and
sign of that largest pre-period difference of polyhedra ``A delta <= 0``; each is tested on
a grid of ``theta = l' tau_post`` with the moments that involve post periods (R's
``postPeriodMomentsOnly``), and the confidence set is the union of the accepted points.

For a polyhedron the test of ``theta`` is ARP's conditional test with nuisance parameters:
``y = A beta - a theta``, ``eta = min_d max_i (y - X d)_i / sd_i``. This module solves that
linear programme through its dual, ``eta = max_lambda lambda' y`` over the vertices of
``{lambda >= 0, sd' lambda = 1, X' lambda = 0}``; the handful of moments lets us enumerate the
vertices once, and then every grid point, every least-favourable simulation draw and the
conditioning set (ARP's ``vlo``, ``vup`` for the optimal vertex, exactly rather than by
bisection) are matrix products. The least-favourable critical value is the ``1 - kappa``
quantile of ``eta`` under the null at the least-favourable point (``y ~ N(0, Sigma_y)``);
draws are seeded (R's simulation draws differ, so grid endpoints agree to the simulation
error). ``kappa = alpha / 10`` as R.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

GRID_POINTS = 1000
GRID_POINTS_MAX = 20_000
LF_DRAWS = 1000


def rm_constraints(n_pre: int, n_post: int, mbar: float, s: int, positive: bool) -> np.ndarray:
    """R's ``.create_A_RM``: rows of ``A delta <= 0`` for the largest pre-period difference
    at ``s`` (``-(n_pre - 1)..0``) with sign ``positive``; columns are the pre and post
    periods (the reference period dropped)."""
    width = n_pre + n_post + 1
    diffs = np.zeros((n_pre + n_post, width))
    for r in range(n_pre + n_post):
        diffs[r, r:r + 2] = (-1.0, 1.0)
    v_max = np.zeros(width)
    v_max[n_pre + s - 1:n_pre + s + 1] = (-1.0, 1.0)
    if not positive:
        v_max = -v_max
    upper = np.vstack([np.tile(v_max, (n_pre, 1)), np.tile(mbar * v_max, (n_post, 1))])
    a = np.vstack([diffs - upper, -diffs - upper])
    a = a[(a * a).sum(axis=1) > 1e-10]
    return np.delete(a, n_pre, axis=1)


def gamma_matrix(l_vec: np.ndarray) -> np.ndarray:
    """An invertible matrix with first row ``l'`` completed by unit vectors in order (R's
    ``.construct_Gamma``, which takes the pivots of rref([l, I]))."""
    rows = [np.asarray(l_vec, dtype=float)]
    for j in range(len(l_vec)):
        trial = np.vstack([*rows, np.eye(len(l_vec))[j]])
        if np.linalg.matrix_rank(trial) == len(trial):
            rows.append(np.eye(len(l_vec))[j])
    return np.vstack(rows)


MAX_MOMENTS = 16  # supports enumerated: sum_{j <= k + 1} C(m, j); 16 moments = 8 post periods


def extreme_rays(x: np.ndarray) -> np.ndarray:
    """The extreme rays (rows, scaled to sum 1) of the cone ``{lambda >= 0, X' lambda = 0}``:
    on each minimal support the null space of ``X_S'`` is one positive direction."""
    m = x.shape[0]
    if m > MAX_MOMENTS:
        raise ValueError(f"relative magnitudes: {m} post-period moments; at most "
                         f"{MAX_MOMENTS} (8 post periods) are supported")
    key = (x.shape, np.round(x, 12).tobytes())
    if key in _RAYS:
        return _RAYS[key]
    top = min(m, (np.linalg.matrix_rank(x) if x.size else 0) + 1)
    found: list[np.ndarray] = []
    for size in range(1, top + 1):
        for support in itertools.combinations(range(m), size):
            sub = x[list(support)].T  # (k, size)
            if sub.size and np.linalg.matrix_rank(sub) != size - 1:
                continue
            ray = np.linalg.svd(sub)[2][-1] if sub.size else np.ones(1)
            if ray.min() < 0:
                ray = -ray
            if ray.min() <= 1e-12:
                continue
            lam = np.zeros(m)
            lam[list(support)] = ray / ray.sum()
            found.append(lam)
    rays = np.unique(np.round(np.vstack(found), 14), axis=0) if found else np.zeros((0, m))
    _RAYS[key] = rays
    return rays


_RAYS: dict[tuple[tuple[int, ...], bytes], np.ndarray] = {}


def dual_vertices(sd: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The vertices (rows) of ``{lambda >= 0, sd' lambda = 1, X' lambda = 0}``: the extreme
    rays of the cone, normalised (they do not depend on Mbar, s or the sign, only on X)."""
    rays = extreme_rays(x)
    return rays / (rays @ sd)[:, None]


@dataclass(frozen=True)
class _Polyhedron:
    """One (s, sign) polyhedron's ARP ingredients on the post-period moments."""

    y: np.ndarray  # A beta on the moments used
    a: np.ndarray  # coefficient of theta
    sigma: np.ndarray  # covariance of y
    vertices: np.ndarray  # (V, m) dual vertices
    lf_cv: float


def _polyhedron(betahat: np.ndarray, sigma: np.ndarray, n_pre: int, l_vec: np.ndarray,
                a_full: np.ndarray, draws: np.ndarray, kappa: float) -> _Polyhedron | None:
    post = a_full[:, n_pre:]
    rows = np.flatnonzero(np.abs(post).sum(axis=1) > 0)
    a_rows = a_full[rows]
    transformed = post[rows] @ np.linalg.inv(gamma_matrix(l_vec))
    sig_y = a_rows @ sigma @ a_rows.T
    sd = np.sqrt(np.maximum(np.diag(sig_y), 0.0))
    if (sd <= 0).any():
        return None
    vertices = dual_vertices(sd, transformed[:, 1:])
    if len(vertices) == 0:  # eta unbounded below: every theta accepted
        return _Polyhedron(a_rows @ betahat, transformed[:, 0], sig_y, vertices, math.inf)
    values, vectors = np.linalg.eigh(sig_y)  # a square root that allows singular Sigma_y
    root = vectors * np.sqrt(np.maximum(values, 0.0))
    xi = draws[:, :len(rows)] @ root.T
    eta = (xi @ vertices.T).max(axis=1)
    lf_cv = float(np.quantile(eta, 1 - kappa))
    return _Polyhedron(a_rows @ betahat, transformed[:, 0], sig_y, vertices, lf_cv)


def _accept(poly: _Polyhedron, thetas: np.ndarray, alpha: float, kappa: float) -> np.ndarray:
    """ARP's conditional test with the least-favourable hybrid, for every theta at once."""
    if len(poly.vertices) == 0:
        return np.ones(len(thetas), dtype=bool)
    y = poly.y[:, None] - poly.a[:, None] * thetas[None, :]  # (m, G)
    values = poly.vertices @ y  # (V, G)
    best = values.argmax(axis=0)
    eta = values[best, np.arange(len(thetas))]
    gamma = poly.vertices[best]  # (G, m)
    sig_gamma = gamma @ poly.sigma  # (G, m)
    var_b = np.einsum("gm,gm->g", sig_gamma, gamma)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = sig_gamma / var_b[:, None]  # (G, m)
        s_t = y.T - b * eta[:, None]  # (G, m); gamma' y = eta
        p = s_t @ poly.vertices.T  # (G, V)
        q = b @ poly.vertices.T
        lower = np.where(q < 1 - 1e-10, p / (1 - q), -np.inf).max(axis=1)
        upper = np.where(q > 1 + 1e-10, p / (q - 1), np.inf).min(axis=1)
        sd_b = np.sqrt(np.maximum(var_b, 0.0))
        zlo, zup = lower / sd_b, np.minimum(upper, poly.lf_cv) / sd_b
        stat = eta / sd_b
    mod_size = (alpha - kappa) / (1 - kappa)
    reject = eta > poly.lf_cv
    inside = (zlo <= stat) & (stat <= zup) & (sd_b > 1e-300)
    cval = np.zeros(len(thetas))
    if inside.any():
        lo, hi = zlo[inside], zup[inside]
        cval[inside] = np.maximum(0.0, _truncnorm_quantile(1 - mod_size, lo, hi))
    reject |= inside & (stat > cval)
    degenerate = var_b < np.finfo(float).eps * max(float(np.abs(poly.sigma).max()), 1e-300)
    reject = np.where(degenerate, (eta > poly.lf_cv) | (eta > 0), reject)  # R: LF first
    return ~reject


def _truncnorm_quantile(p: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The p quantile of N(0, 1) truncated to [lo, hi]."""
    from scipy import stats

    out = stats.truncnorm.ppf(p, lo, hi)
    return np.where(np.isfinite(out), out, np.where(np.isfinite(hi), hi, lo))


def search_grid(theta_hat: float, sd_theta: float, points: int = GRID_POINTS) -> np.ndarray:
    """The theta values tested: R HonestDiD's default grid, [-20, 20] standard errors of
    the target around zero, extended with the same spacing to 20 standard errors beyond
    the estimate. R's points are all kept, so a set inside R's grid gets R's interval; a set
    reaching past it is no longer cut there, and with t > 20 (where R's grid misses the set
    and every interval comes back empty) the set is found. At most
    :data:`GRID_POINTS_MAX` points (wider spacing beyond that)."""
    lo = min(-20 * sd_theta, theta_hat - 20 * sd_theta)
    hi = max(20 * sd_theta, theta_hat + 20 * sd_theta)
    if lo == -20 * sd_theta and hi == 20 * sd_theta:
        return np.linspace(lo, hi, points)
    step = 40 * sd_theta / (points - 1)
    below = math.ceil((-20 * sd_theta - lo) / step) if step > 0 else 0
    above = math.ceil((hi - 20 * sd_theta) / step) if step > 0 else 0
    if points + below + above > GRID_POINTS_MAX:
        return np.linspace(lo, hi, GRID_POINTS_MAX)
    return -20 * sd_theta + step * np.arange(-below, points + above)


class RelativeMagnitudes:
    """C-LF confidence sets for ``l' tau_post`` under Delta^RM(Mbar) (R HonestDiD's
    ``createSensitivityResults_relativeMagnitudes`` with ``method = "C-LF"``)."""

    def __init__(self, betahat: np.ndarray, sigma: np.ndarray, n_pre: int, l_vec: np.ndarray,
                 alpha: float = 0.05, grid_points: int = GRID_POINTS, seed: int = 0,
                 lf_draws: int = LF_DRAWS) -> None:
        self.betahat, self.sigma, self.n_pre = np.asarray(betahat), np.asarray(sigma), n_pre
        self.l_vec, self.alpha = np.asarray(l_vec, dtype=float), alpha
        self.n_post = len(self.betahat) - n_pre
        self.kappa = alpha / 10
        post = self.sigma[n_pre:, n_pre:]
        sd_theta = math.sqrt(float(self.l_vec @ post @ self.l_vec))
        theta_hat = float(self.l_vec @ self.betahat[n_pre:])
        self.grid = search_grid(theta_hat, sd_theta, grid_points)
        rng = np.random.default_rng(seed)
        self._draws = rng.standard_normal((lf_draws, 2 * self.n_post))

    def accepted(self, mbar: float) -> np.ndarray:
        """Grid points accepted for some location and sign of the largest pre difference."""
        accept = np.zeros(len(self.grid), dtype=bool)
        for s in range(-(self.n_pre - 1), 1):
            for positive in (True, False):
                a_full = rm_constraints(self.n_pre, self.n_post, mbar, s, positive)
                poly = _polyhedron(self.betahat, self.sigma, self.n_pre, self.l_vec, a_full,
                                   self._draws, self.kappa)
                if poly is None:
                    continue
                todo = ~accept
                accept[todo] |= _accept(poly, self.grid[todo], self.alpha, self.kappa)
        return accept

    def interval(self, mbar: float) -> tuple[float, float]:
        """(lowest, highest) accepted grid point; (nan, nan) if none is accepted."""
        hits = self.grid[self.accepted(mbar)]
        if len(hits) == 0:
            return math.nan, math.nan
        return float(hits.min()), float(hits.max())

    def breakdown(self, hi: float = 10.0, tol: float = 1e-3) -> float | None:
        """The largest Mbar whose set excludes zero, by bisection (None if Mbar = 0 does
        not exclude zero; ``hi`` if even ``hi`` does)."""
        def excludes(mbar: float) -> bool:
            low, high = self.interval(mbar)
            return not (math.isnan(low) or low <= 0 <= high)

        if not excludes(0.0):
            return None
        if excludes(hi):
            return hi
        low, top = 0.0, hi
        while top - low > tol:
            mid = (low + top) / 2
            if excludes(mid):
                low = mid
            else:
                top = mid
        return low
