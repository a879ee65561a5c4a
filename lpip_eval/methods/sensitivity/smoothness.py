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

import numpy as np
from scipy import optimize, special


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
    return float(optimize.brentq(cover, 0.0, high, xtol=1e-12))


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

    def _w(self, z: np.ndarray) -> np.ndarray:
        return self.w0 + self.null @ z

    def _sd(self, w: np.ndarray) -> float:
        v = np.concatenate([-w, self.l_vec])
        return math.sqrt(max(float(v @ self.sigma @ v), 1e-300))

    def _bias_coef(self, w: np.ndarray) -> np.ndarray:
        return self.b_post.T @ self.l_vec - self.b_pre.T @ w

    def _min_sd(self, bound: float | None, start: np.ndarray) -> np.ndarray:
        """z minimising sd(w(z)) subject to ||bias coefficients||_1 <= bound (None: free)."""
        k = self.null.shape[1]
        c0 = self._bias_coef(self.w0)
        cz = -self.b_pre.T @ self.null  # bias coefficients = c0 + cz z

        n_post = len(self.l_vec)
        v0 = np.concatenate([-self.w0, self.l_vec])
        vz = np.vstack([-self.null, np.zeros((n_post, k))])
        if bound is None:  # equality-constrained least squares: closed form
            gram = vz.T @ self.sigma @ vz
            return np.asarray(-np.linalg.solve(gram, vz.T @ self.sigma @ v0))
        scale = float(v0 @ self.sigma @ v0) or 1.0

        def var(x: np.ndarray) -> float:
            v = v0 + vz @ x[:k]
            return float(v @ self.sigma @ v) / scale
        u0 = np.abs(c0 + cz @ start) + 1e-9
        cons = [
            {"type": "ineq", "fun": lambda x: x[k:] - (c0 + cz @ x[:k])},
            {"type": "ineq", "fun": lambda x: x[k:] + (c0 + cz @ x[:k])},
            {"type": "ineq", "fun": lambda x: bound - np.sum(x[k:])},
        ]
        res = optimize.minimize(var, np.concatenate([start, u0]), method="SLSQP",
                                constraints=cons, options={"maxiter": 200, "ftol": 1e-12})
        return np.asarray(res.x[:k])

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
        res = optimize.linprog(cost, A_ub=a_ub, b_ub=b_ub,
                               bounds=[(None, None)] * k + [(0, None)] * m, method="highs")
        return float(res.fun), np.asarray(res.x[:k])

    def interval(self, m_bound: float) -> tuple[float, float]:
        """The FLCI under Delta^SD(``m_bound``)."""
        k = self.null.shape[1]
        z_free = self._min_sd(None, np.zeros(k))

        def half(z: np.ndarray) -> float:
            w = self._w(z)
            sd = self._sd(w)
            bias = m_bound * float(np.abs(self._bias_coef(w)).sum())
            return sd * folded_normal_quantile(bias / sd, self.alpha)

        best_z = z_free
        if m_bound > 0:
            low, z_low = self._lowest_bias()
            high = float(np.abs(self._bias_coef(self._w(z_free))).sum())
            if high > low:
                cache: dict[float, np.ndarray] = {}

                def at(h: float) -> float:
                    cache[h] = self._min_sd(h, z_low)
                    return half(cache[h])

                grid = np.linspace(low, high, 25)
                values = [at(h) for h in grid]
                i = int(np.argmin(values))
                lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
                res = optimize.minimize_scalar(at, bounds=(lo, hi), method="bounded",
                                               options={"xatol": 1e-10 * max(high, 1e-12)})
                best_h = float(res.x) if res.fun < values[i] else float(grid[i])
                best_z = cache[best_h] if best_h in cache else cache[float(grid[i])]
                if half(z_low) < half(best_z):
                    best_z = z_low
        w = self._w(best_z)
        centre = float(self.l_vec @ self.betahat[self.n_pre:] - w @ self.betahat[:self.n_pre])
        length = half(best_z)
        return centre - length, centre + length

    def breakdown(self, hi: float | None = None) -> float | None:
        """The largest M whose FLCI excludes zero (bisection; None if even M = 0 does not)."""
        def excludes(m: float) -> bool:
            low, high = self.interval(m)
            return low > 0 or high < 0

        if not excludes(0.0):
            return None
        top = hi or max(float(np.sqrt(np.diag(self.sigma)).max()), 1e-12)
        while excludes(top):
            top *= 2
            if top > 1e12:
                return math.inf
        low = 0.0
        for _ in range(40):
            mid = (low + top) / 2
            if excludes(mid):
                low = mid
            else:
                top = mid
            if top - low < 1e-7 * top:
                break
        return low
