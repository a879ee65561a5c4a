"""Synthetic control weights: donor weights W on the simplex and predictor weights V.

Notation (Abadie, Diamond & Hainmueller 2010, ADH): ``X1`` (k) and ``X0`` (k x J) are the
pilot's and the donors' predictors, ``Z1`` (T) and ``Z0`` (T x J) their outcomes over the
fitting window. Predictors are standardised by their standard deviation across all units
of the fit (pilot and donors, ddof 1), as R's ``Synth::synth`` does (``divisor <-
sqrt(apply(cbind(X0, X1), 1, var))``).

**Inner problem, solved exactly.** For diagonal V, ``W(V) = argmin (X1 - X0 w)' V (X1 - X0 w)
+ lambda * sum_j w_j ||X1 - X0_j||_V^2`` over ``w >= 0, sum w = 1`` (lambda = 0 is ADH; lambda
> 0 is the penalised estimator of Abadie & L'Hour 2021). On the simplex ``X1 - X0 w = -(X0 -
X1 1') w``, so this is the convex QP ``min ||Z w||^2 + f'w`` with ``Z = V^1/2 (X0 - X1 1')``.
:func:`solve_simplex_qp` solves it with a primal active-set method (for f = 0 it is Wolfe's
1976 minimum-norm-point algorithm): finitely many steps, exact up to rounding, warm-started
from the previous support during the V search. :func:`kkt_violation` checks the result.

**Outer problem.** V (diagonal, sum 1, each weight at least ``V_RATIO`` times the largest, as
MSCMT's default lower bound) minimises the outcome MSPE ``||Z1 - Z0 W(V)||^2 / T`` (ADH 2010,
sec. 2.3). It is not convex and has many local optima, so :func:`search_v` first checks two
cases it can settle exactly, then searches globally:

* ``min_w ||Z1 - Z0 w||^2 / T`` over the simplex bounds the loss from below for every V;
  a V that reaches it is a certified global optimum (Becker & Kloessner 2018). With outcome
  values as predictors, ``v`` proportional to their variance reproduces that bound, and it
  is always one of the starts.
* If the pilot lies inside the donors' convex hull on the predictors, every V fits them
  exactly and W(V) is the same *set* for all V; the nested problem's optimum is then the
  exact fit with the smallest outcome MSPE, which is computed directly (no V search).
* Otherwise: differential evolution on ``theta`` (``v = softmax(theta)``, box-bounded), with
  the population seeded by equal V, R Synth's regression-based V, one start dominated by
  each predictor and any caller starts, then a derivative-free Nelder-Mead polish of the
  best point. The best loss seen wins; the number of starts, evaluations and the loss are
  reported.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg.lapack import dgesv as _dgesv
from scipy.optimize import minimize

_ZERO = 1e-13  # weights below this leave the support
V_RATIO = 1e-8  # smallest predictor weight relative to the largest
_BOUND = 0.25 * math.log(1.0 / V_RATIO)  # theta in [-B, B] gives ratios down to V_RATIO


@dataclass(frozen=True)
class SimplexSolution:
    """Solution of ``min ||Z w||^2 + f'w`` on the simplex: weights, support, iterations."""

    w: np.ndarray
    support: np.ndarray
    iterations: int
    converged: bool


def _null_direction(zs: np.ndarray, fs: np.ndarray | None) -> np.ndarray:
    """A direction p with Zs p = 0, 1'p = 0 (objective linear along it) and p'f <= 0."""
    p = np.asarray(np.linalg.svd(np.vstack([zs, np.ones((1, zs.shape[1]))]))[2][-1])
    slope = 0.0 if fs is None else float(fs @ p)
    if slope > 0 or (slope == 0 and p.min() >= 0):
        p = -p
    return p


def solve_simplex_qp(
    z: np.ndarray,
    f: np.ndarray | None = None,
    *,
    start: SimplexSolution | None = None,
    tol: float = 1e-10,
    col_norms: np.ndarray | None = None,
) -> SimplexSolution:
    """Minimise ``||z @ w||^2 + f @ w`` subject to ``w >= 0, sum(w) = 1``.

    Primal active-set method: keep a feasible ``w`` supported on ``S``; move towards the
    minimiser over the affine hull of ``S`` (dropping weights that reach zero on the way),
    then add the coordinate with the most negative reduced gradient, until there is none
    (the KKT conditions hold). ``start`` warm-starts from an earlier solution of a problem
    of the same size; ``col_norms`` (squared column norms of ``z``) saves recomputing them.
    """
    n_rows, n_cols = z.shape
    norms = np.einsum("ij,ij->j", z, z) if col_norms is None else col_norms
    scale = float(norms.max())
    if not scale > 0:
        scale = 1.0
    zn = z * (1.0 / math.sqrt(scale))
    fn = None if f is None else np.asarray(f, dtype=float) * (1.0 / scale)
    if start is not None and len(start.w) == n_cols and len(start.support):
        sup = start.support[start.w[start.support] > 0]
        lam = start.w[sup]
        lam = lam / lam.sum()
    else:
        vertex = norms if fn is None else norms / scale + fn
        sup, lam = np.array([int(np.argmin(vertex))]), np.ones(1)
    limit = 50 * (n_cols + n_rows + 10)
    iterations, converged = 0, False
    zs = zn[:, sup]
    while iterations < limit:
        while iterations < limit:  # minor cycle: reach the affine minimiser on the support
            iterations += 1
            n = len(sup)
            if n == 1:
                lam = np.ones(1)
                break
            m = np.empty((n + 1, n + 1))
            np.matmul(zs.T, zs, out=m[:n, :n])
            m[:n, :n] *= 2.0
            m[n, :n] = 1.0
            m[:n, n] = 1.0
            m[n, n] = 0.0
            rhs = np.zeros(n + 1)
            rhs[n] = 1.0
            if fn is not None:
                rhs[:n] = -fn[sup]
            _, _, sol, info = _dgesv(m, rhs, overwrite_a=1, overwrite_b=1)
            a = sol[:n]
            low, high = a.min(), a.max()
            singular = info != 0 or not (high < 1e8 and low > -1e8)
            if not singular and low > _ZERO:
                lam = a
                break
            p = _null_direction(zs, None if fn is None else fn[sup]) if singular else a - lam
            falling = p < 0
            step = float((lam[falling] / -p[falling]).min())
            lam = lam + step * p
            keep = lam > _ZERO
            if keep.all():  # rounding: drop the smallest
                keep[int(lam.argmin())] = False
            sup, lam, zs = sup[keep], lam[keep], zs[:, keep]
            lam = lam / lam.sum()
        grad = zn.T @ (zs @ lam)
        grad *= 2.0
        if fn is not None:
            grad += fn
        level = float(grad[sup] @ lam)
        j = int(grad.argmin())
        if grad[j] >= level - tol * abs(level) - 1e-15 or j in sup:
            converged = True
            break
        sup = np.append(sup, j)
        lam = np.append(lam, 0.0)
        zs = zn[:, sup]
    w = np.zeros(n_cols)
    w[sup] = lam
    w /= w.sum()
    return SimplexSolution(w=w, support=np.sort(sup), iterations=iterations,
                           converged=converged)


def kkt_violation(z: np.ndarray, f: np.ndarray | None, w: np.ndarray) -> float:
    """Largest violation of the KKT conditions of ``min ||z w||^2 + f'w`` on the simplex.

    At the optimum the gradient ``g = 2 z'z w + f`` (scaled by the largest squared column
    norm) equals a common level on the support and is at least that level elsewhere, and
    ``w >= 0``, ``sum w = 1``.
    """
    scale = float(max(np.max(np.sum(z * z, axis=0)), 1e-300))
    grad = (2.0 * (z.T @ (z @ w)) + (0.0 if f is None else f)) / scale
    on = w > 1e-9
    nu = float(grad[on] @ w[on] / w[on].sum())
    stationarity = float(np.max(np.abs(grad[on] - nu)))
    dual = float(max(0.0, -np.min(grad - nu)))
    primal = max(-min(float(w.min()), 0.0), abs(float(w.sum()) - 1.0))
    return max(stationarity, dual, primal)


def standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``x`` (k predictors x units) divided by their SD across units (ddof 1).

    A predictor that does not vary keeps divisor 1 (it cannot tell donors apart anyway).
    """
    sd = np.std(x, axis=1, ddof=1) if x.shape[1] > 1 else np.ones(x.shape[0])
    sd = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
    return x / sd[:, None], sd


# --------------------------------------------------------------------------- V problem


@dataclass
class VProblem:
    """One fit: ``d = X0s - X1s`` (k x J, standardised predictors) and ``e = Z0 - Z1``
    (T x J, fit-window outcomes); for weights w the outcome gap is ``Z1 - Z0 w = -e w``."""

    d: np.ndarray
    e: np.ndarray
    penalty: float = 0.0
    evaluations: int = 0
    _warm: SimplexSolution | None = field(default=None, repr=False)
    _d2: np.ndarray | None = field(default=None, repr=False)

    @property
    def k(self) -> int:
        return int(self.d.shape[0])

    def solve_w(self, v: np.ndarray, warm: bool = True) -> SimplexSolution:
        """W(V): the exact simplex solution for predictor weights ``v`` (any scale)."""
        v = np.maximum(np.asarray(v, dtype=float), 0.0)
        if self._d2 is None:
            self._d2 = self.d * self.d
        norms = v @ self._d2
        f = self.penalty * norms if self.penalty > 0 else None
        sol = solve_simplex_qp(np.sqrt(v)[:, None] * self.d, f, col_norms=norms,
                               start=self._warm if warm else None)
        self._warm = sol
        return sol

    def loss_w(self, w: np.ndarray) -> float:
        """Outcome MSPE over the fitting window for donor weights ``w``."""
        r = self.e @ w
        return float(r @ r) / len(r)

    def loss(self, v: np.ndarray) -> tuple[float, SimplexSolution]:
        self.evaluations += 1
        sol = self.solve_w(v)
        return self.loss_w(sol.w), sol


def regression_v(x1s: np.ndarray, x0s: np.ndarray, z1: np.ndarray, z0: np.ndarray
                 ) -> np.ndarray | None:
    """R Synth's regression-based V: ``diag(B B')`` from the OLS of the fit-window outcomes
    on an intercept and the standardised predictors across units, normalised to sum 1."""
    xall = np.column_stack([np.ones(x0s.shape[1] + 1), np.column_stack([x1s, x0s]).T])
    beta = np.linalg.lstsq(xall, np.column_stack([z1, z0]).T, rcond=None)[0]
    sv = np.sum(beta[1:] ** 2, axis=1)
    total = float(sv.sum())
    return np.asarray(sv / total) if np.isfinite(total) and total > 0 else None


@dataclass(frozen=True)
class VSearch:
    """Outcome of the V search (reported in ``diagnostics.v_search``)."""

    v: np.ndarray
    w: np.ndarray
    loss: float
    lower_bound: float
    starts: int
    evaluations: int
    method: str
    certified: bool
    interior: bool = False


def _softmax(theta: np.ndarray) -> np.ndarray:
    e = np.exp(theta - theta.max())
    return np.asarray(e / e.sum())


def _theta(v: np.ndarray) -> np.ndarray:
    v = np.maximum(np.asarray(v, dtype=float), 0.0)
    t = np.log(np.maximum(v / v.max(), V_RATIO))
    return np.clip(t - 0.5 * (t.max() + t.min()), -_BOUND, _BOUND)


def interior_weights(problem: VProblem) -> np.ndarray | None:
    """The nested optimum when the pilot lies inside the donors' convex hull on the
    predictors (then every V > 0 fits them exactly): the exact fit with the smallest outcome
    MSPE, from ``min ||e w||^2 + M ||d w||^2`` with M large. None if the pilot is outside."""
    k = problem.k
    sol = solve_simplex_qp(problem.d)
    resid = problem.d @ sol.w
    scale = float(np.max(np.sum(problem.d * problem.d, axis=0)))
    if float(resid @ resid) > 1e-20 * k * scale:
        return None
    e_scale = float(np.max(np.sum(problem.e * problem.e, axis=0))) or 1.0
    weight = 1e8 * e_scale / max(scale, 1e-300)
    return solve_simplex_qp(np.vstack([math.sqrt(weight) * problem.d, problem.e])).w


def _evolve(fun: Callable[[np.ndarray], float], seeds: list[np.ndarray], k: int, seed: int,
            generations: int, stop: Callable[[], bool]) -> tuple[np.ndarray, np.ndarray]:
    """Differential evolution (rand/1/bin, dithered F in [0.5, 1], CR 0.7) in [-B, B]^k."""
    rng = np.random.default_rng(seed)
    size = max(15, 10 + 3 * k, len(seeds))
    n_random = size - len(seeds)
    cells = rng.permuted(np.tile(np.arange(n_random), (k, 1)), axis=1).T
    lhs = (cells + rng.random((n_random, k))) / max(n_random, 1)  # Latin hypercube
    pop = np.vstack([*seeds, -_BOUND + 2 * _BOUND * lhs]) if n_random else np.vstack(seeds)
    fit = np.array([fun(x) for x in pop])
    others = np.array([np.delete(np.arange(size), i) for i in range(size)])
    for _ in range(generations):
        if stop() or fit.max() - fit.min() <= 1e-10 * max(abs(float(fit.min())), 1e-12):
            break
        picks = np.array([rng.choice(others[i], 3, replace=False) for i in range(size)])
        scale = rng.uniform(0.5, 1.0, size)[:, None]
        mutants = np.clip(pop[picks[:, 0]] + scale * (pop[picks[:, 1]] - pop[picks[:, 2]]),
                          -_BOUND, _BOUND)
        cross = rng.random((size, k)) < 0.7
        cross[np.arange(size), rng.integers(k, size=size)] = True
        trials = np.where(cross, mutants, pop)
        for i in range(size):
            value = fun(trials[i])
            if value <= fit[i]:
                pop[i], fit[i] = trials[i], value
    return pop, fit


def search_v(
    problem: VProblem,
    *,
    extra_starts: Sequence[np.ndarray] = (),
    regression_start: np.ndarray | None = None,
    seed: int = 0,
    generations: int = 60,
) -> VSearch:
    """Global search for the V minimising the outcome MSPE (see the module docstring)."""
    k = problem.k
    bound = problem.loss_w(solve_simplex_qp(problem.e).w)
    tol = 1e-9 * bound + 1e-12 * float(np.mean(problem.e * problem.e))
    if problem.penalty == 0 and k > 1:
        inside = interior_weights(problem)
        if inside is not None:
            loss = problem.loss_w(inside)
            return VSearch(np.full(k, 1.0 / k), inside, loss, bound, 0, problem.evaluations,
                           "none: the pilot lies inside the donors' convex hull on the "
                           "predictors, so every V fits them exactly; W is the exact fit with "
                           "the smallest outcome MSPE", loss <= bound + tol, interior=True)
    best: dict[str, object] = {"loss": math.inf, "v": np.full(k, 1.0 / k)}

    def evaluate(v: np.ndarray) -> float:
        loss, _ = problem.loss(v)
        if loss < float(best["loss"]):  # type: ignore[arg-type]
            best.update(loss=loss, v=np.asarray(v, dtype=float).copy())
        return loss

    def done() -> bool:
        return float(best["loss"]) <= bound + tol  # type: ignore[arg-type]

    starts = [np.full(k, 1.0 / k), *extra_starts]
    if regression_start is not None:
        starts.append(regression_start)
    if k > 1:
        starts.extend(np.where(np.arange(k) == i, 0.9, 0.1 / (k - 1)) for i in range(k))
    used = 0
    for v0 in starts:  # exact starts first: zeros allowed here
        used += 1
        evaluate(v0)
        if done():
            break
    method = "heuristic starts"
    if not done() and k > 1:
        def fun(theta: np.ndarray) -> float:
            return evaluate(_softmax(theta))

        pop, fit = _evolve(fun, [_theta(v) for v in starts], k, seed, generations, done)
        method = (f"differential evolution ({len(pop)} members, seeded with {len(starts)} "
                  "starts)")
        if not done():
            # Stop on the spread of the simplex's losses alone (relative 1.5e-8, R optim's
            # default reltol): V directions that leave W unchanged keep the simplex wide.
            minimize(fun, pop[int(np.argmin(fit))], method="Nelder-Mead",
                     bounds=[(-_BOUND, _BOUND)] * k,
                     options={"maxiter": 150 * k, "xatol": math.inf,
                              "fatol": 1.5e-8 * float(fit.min()), "adaptive": k > 4})
            method += ", then a Nelder-Mead polish"
    v_best = np.asarray(best["v"])
    v_best = v_best / v_best.sum()
    w_best = problem.solve_w(v_best, warm=False).w
    loss_best = problem.loss_w(w_best)
    return VSearch(v=v_best, w=w_best, loss=loss_best, lower_bound=bound, starts=used,
                   evaluations=problem.evaluations, method=method,
                   certified=loss_best <= bound + tol)
