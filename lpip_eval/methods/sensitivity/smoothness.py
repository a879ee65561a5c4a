"""HonestDiD smoothness restrictions: the fixed-length confidence interval (FLCI) under
Delta^SD(M) (Rambachan & Roth 2023, "A More Credible Approach to Parallel Trends", Review of
Economic Studies 90(5), Section 4.1; Armstrong & Kolesar 2018).

Event-study coefficients ``beta = (beta_pre, beta_post)`` are ``tau + delta`` with ``tau_pre
= 0``; the reference period between them has ``delta_0 = 0``. Delta^SD(M) bounds every second
difference of ``delta`` (over pre, reference and post periods) by M: post-period trends may
bend away from the pre-period's by at most M per period squared. The target is
``theta = l' tau_post``. Affine estimators ``l' beta_post - w' beta_pre`` are unbiased for
linear trends when ``w' t_pre = l' t_post`` (t = periods from the reference); writing
``delta`` through its slope at the reference and its second differences ``s`` gives the worst
bias ``M * ||B_post' l - B_pre' w||_1`` in closed form. The FLCI minimises the half-length
``sd(w) * cv_alpha(bias / sd(w))`` (cv_alpha(b): the 1 - alpha quantile of |N(b, 1)|) over
``w``: for a bias bound h the smallest variance is a convex quadratic programme; the
half-length is then minimised over h.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special


def _optimize() -> Any:
    """scipy.optimize, imported when a sensitivity analysis runs (it takes a fifth of a
    second to import, and most runs ask for none)."""
    from scipy import optimize

    return optimize


def second_difference_basis(n_pre: int, n_post: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions t of the pre and post coefficients, B mapping second differences s to
    delta with zero slope at the reference): ``delta = g * t + B s``."""
    t = np.concatenate([np.arange(-n_pre, 0), np.arange(1, n_post + 1)]).astype(float)
    interior = list(range(-n_pre + 1, n_post))  # positions with neighbours on both sides
    basis = np.zeros((n_pre + n_post, len(interior)))
    for j, p in enumerate(interior):
        delta = {0: 0.0, -1: 0.0}
        for q in range(0, n_post):  # forward: delta_{q+1} = 2 delta_q - delta_{q-1} + s_q
            delta[q + 1] = 2 * delta[q] - delta[q - 1] + (1.0 if q == p else 0.0)
        for q in range(-1, -n_pre, -1):  # backward: delta_{q-1} = 2 delta_q - delta_{q+1} + s_q
            delta[q - 1] = 2 * delta[q] - delta[q + 1] + (1.0 if q == p else 0.0)
        basis[:, j] = [delta[int(x)] for x in t]
    return t, basis


def folded_normal_quantile(bias: float, alpha: float) -> float:
    """The 1 - alpha quantile of |N(bias, 1)|."""
    b = abs(bias)

    def cover(c: float) -> float:
        return float(special.ndtr(c - b) - special.ndtr(-c - b)) - (1 - alpha)

    high = b + 10.0
    return float(_optimize().brentq(cover, 0.0, high, xtol=1e-12))


class Flci:
    """The optimal FLCI for ``l' tau_post`` given ``betahat`` and its covariance ``sigma``."""

    def __init__(self, betahat: np.ndarray, sigma: np.ndarray, n_pre: int, l_vec: np.ndarray,
                 alpha: float = 0.05) -> None:
        self.betahat, self.sigma, self.n_pre, self.alpha = betahat, sigma, n_pre, alpha
        self.l_vec = l_vec
        n_post = len(betahat) - n_pre
        t, basis = second_difference_basis(n_pre, n_post)
        self.t_pre, self.t_post = t[:n_pre], t[n_pre:]
        self.b_pre, self.b_post = basis[:n_pre], basis[n_pre:]
        # The w satisfying the trend constraint: w = w0 + N z.
        a = self.t_pre[None, :]
        self.w0 = np.linalg.lstsq(a, np.array([l_vec @ self.t_post]), rcond=None)[0]
        self.null = np.linalg.svd(a)[2][1:].T  # (n_pre, n_pre - 1)
        # bias coefficients c0 + cz z; the estimator's weights on beta: v0 + vz z
        self._c0 = self._bias_coef(self.w0)
        self._cz = -self.b_pre.T @ self.null
        self._v0 = np.concatenate([-self.w0, l_vec])
        self._vz = np.vstack([-self.null, np.zeros((n_post, self.null.shape[1]))])
        self._frontier: dict[float, np.ndarray] = {}
        self._low: tuple[float, np.ndarray] | None = None

    def _w(self, z: np.ndarray) -> np.ndarray:
        return self.w0 + self.null @ z

    def _sd(self, w: np.ndarray) -> float:
        v = np.concatenate([-w, self.l_vec])
        return math.sqrt(max(float(v @ self.sigma @ v), 1e-300))

    def _bias_coef(self, w: np.ndarray) -> np.ndarray:
        return self.b_post.T @ self.l_vec - self.b_pre.T @ w

    def _min_sd(self, bound: float | None, start: np.ndarray) -> np.ndarray:
        """z minimising sd(w(z)) subject to ||bias coefficients||_1 <= bound (None: free).

        With ``u >= |c0 + cz z|`` the problem is a convex QP in ``(z, u)``; SLSQP with exact
        gradients solves it in a few iterations (memoised per bound: the frontier does not
        depend on M)."""
        if bound is None:  # equality-constrained least squares: closed form
            gram = self._vz.T @ self.sigma @ self._vz
            return np.asarray(-np.linalg.solve(gram, self._vz.T @ self.sigma @ self._v0))
        if bound in self._frontier:
            return self._frontier[bound]
        k, m = self.null.shape[1], self.b_pre.shape[1]
        c0, cz = self._c0, self._cz
        quad = self._vz.T @ self.sigma @ self._vz
        lin = self._vz.T @ self.sigma @ self._v0
        scale = float(np.abs(quad).max()) or 1.0
        quad, lin = quad / scale, lin / scale

        def var(x: np.ndarray) -> float:
            z = x[:k]
            return float(z @ quad @ z + 2 * lin @ z)

        def grad(x: np.ndarray) -> np.ndarray:
            return np.concatenate([2 * (quad @ x[:k] + lin), np.zeros(m)])

        eye = np.eye(m)
        jac = np.vstack([np.hstack([-cz, eye]), np.hstack([cz, eye]),
                         np.concatenate([np.zeros(k), -np.ones(m)])[None, :]])
        cons = [{"type": "ineq", "jac": lambda x: jac,
                 "fun": lambda x: np.concatenate([x[k:] - (c0 + cz @ x[:k]),
                                                  x[k:] + (c0 + cz @ x[:k]),
                                                  [bound - np.sum(x[k:])]])}]
        u0 = np.abs(c0 + cz @ start)
        res = _optimize().minimize(var, np.concatenate([start, u0]), jac=grad, method="SLSQP",
                                constraints=cons, options={"maxiter": 500, "ftol": 1e-15})
        self._frontier[bound] = np.asarray(res.x[:k])
        return self._frontier[bound]

    def _lowest_bias(self) -> tuple[float, np.ndarray]:
        """min over z of ||c0 + cz z||_1 (a linear programme)."""
        k = self.null.shape[1]
        m = self.b_pre.shape[1]
        c0 = self._bias_coef(self.w0)
        cz = -self.b_pre.T @ self.null
        # variables (z, u): min sum u, u >= c0 + cz z, u >= -(c0 + cz z)
        cost = np.concatenate([np.zeros(k), np.ones(m)])
        a_ub = np.block([[cz, -np.eye(m)], [-cz, -np.eye(m)]])
        b_ub = np.concatenate([-c0, c0])
        res = _optimize().linprog(cost, A_ub=a_ub, b_ub=b_ub,
                               bounds=[(None, None)] * k + [(0, None)] * m, method="highs")
        return float(res.fun), np.asarray(res.x[:k])

    def _half(self, z: np.ndarray, m_bound: float) -> float:
        w = self._w(z)
        sd = self._sd(w)
        bias = m_bound * float(np.abs(self._bias_coef(w)).sum())
        return sd * folded_normal_quantile(bias / sd, self.alpha)

    def _best_z(self, m_bound: float) -> np.ndarray:
        """The weights of the shortest FLCI: the half-length along the bias/variance frontier
        (bias bound h -> least variance) is minimised over h by a bounded scalar search (R's
        ``findOptimalFLCI`` bisects its derivative along the same frontier)."""
        k = self.null.shape[1]
        z_free = self._min_sd(None, np.zeros(k))
        if m_bound <= 0:
            return z_free
        if self._low is None:
            self._low = self._lowest_bias()
        low, z_low = self._low
        high = float(np.abs(self._bias_coef(self._w(z_free))).sum())
        if high <= low * (1 + 1e-12):
            return z_free
        res = _optimize().minimize_scalar(
            lambda h: self._half(self._min_sd(float(h), z_low), m_bound), bounds=(low, high),
            method="bounded", options={"xatol": 1e-9 * high})
        candidates = [self._min_sd(float(res.x), z_low), z_free, z_low]
        return min(candidates, key=lambda z: self._half(z, m_bound))

    def interval(self, m_bound: float) -> tuple[float, float]:
        """The FLCI under Delta^SD(``m_bound``)."""
        best_z = self._best_z(m_bound)
        w = self._w(best_z)
        centre = float(self.l_vec @ self.betahat[self.n_pre:] - w @ self.betahat[:self.n_pre])
        length = self._half(best_z, m_bound)
        return centre - length, centre + length

    def breakdown(self, hi: float | None = None) -> float | None:
        """The largest M whose FLCI excludes zero, solved by Brent's method on the endpoint
        nearest zero (None if even M = 0 does not exclude zero)."""
        low0, high0 = self.interval(0.0)
        if low0 <= 0 <= high0:
            return None
        sign = 1.0 if low0 > 0 else -1.0

        def edge(m: float) -> float:  # > 0 while the interval excludes zero
            low, high = self.interval(m)
            return low if sign > 0 else -high

        top = hi or max(float(np.sqrt(np.diag(self.sigma)).max()), 1e-12)
        while edge(top) > 0:
            top *= 2
            if top > 1e12:
                return math.inf
        return float(_optimize().brentq(edge, 0.0, top, xtol=1e-7 * top))
