"""Distances and nearest-neighbour search for matching, vectorised over candidates.

Distances (``fit_metric``), all estimated once on the *full sample* (the treated rows and the
candidate pool together) and then held fixed:

* ``mahalanobis`` — ``d(i, j)^2 = (x_i - x_j)' S^-1 (x_i - x_j)`` with ``S`` the full-sample
  covariance of the matching variables (divisor n - 1), as Stata's ``teffects nnmatch``
  ``metric(mahalanobis)`` (its default). A singular ``S`` (e.g. a variable that is a linear
  combination of others) uses the generalised inverse, as MatchIt does.
* ``ivariance`` — the diagonal version, ``sum_k (x_ik - x_jk)^2 / s_k^2`` (``teffects``
  ``metric(ivariance)``; the default of the older ``nnmatch`` and of R's ``Matching``).
* ``propensity`` — a logit of treatment on the matching variables (statsmodels); the distance
  is the absolute difference of the *linear predictor* (the logit of the score), as MatchIt's
  ``distance = "glm", link = "linear.logit"``; on the linear predictor the score is not squeezed
  near 0 and 1.

Each metric is a linear map ``z = (x - centre) @ T`` (for the propensity score, the linear
predictor) so that ``d`` is the Euclidean distance between ``z`` vectors; distances are then
computed as exact differences (no ``|a|^2 + |b|^2 - 2ab`` cancellation, so exact ties stay ties)
for blocks of treated rows against all candidates, with the block size set by a memory budget.

``match_areas`` returns a :class:`MatchedSet`: k nearest candidates per treated row with
``np.argpartition`` (ties at the k-th place broken by row order), with replacement or, without
replacement, greedily in a stated order (MatchIt's ``m.order = "closest"``: treated rows whose
nearest candidate is closest go first, each round giving every treated row one more match);
a caliper in standard deviations of every matching variable (of the linear predictor for the
propensity score); exact strata; or coarsened exact matching (:func:`cem_strata`).
Weights are MatchIt's ATT weights: a treated row weighs 1 if matched; a control weighs
``sum over the treated rows it serves of 1 / (number of that row's matches)``, scaled so the
control weights sum to the number of distinct matched controls. For CEM the control weight in
stratum s is ``(n_t,s / n_c,s) * (N_c / N_t)`` (matched counts), which is the same rule.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

DISTANCES = ("mahalanobis", "ivariance", "propensity")
BLOCK_BUDGET = 2_000_000  # floats per block of treated-by-candidate differences
EIGEN_TOL = 1e-10  # relative eigenvalue cut-off for the generalised inverse


@dataclass(frozen=True)
class MatchMetric:
    """A fitted distance: ``z = (x - centre) @ transform`` (or the logit's linear predictor)."""

    distance: str
    centre: np.ndarray
    transform: np.ndarray
    scale: np.ndarray  # full-sample SD of each matching variable (caliper units)
    coef: np.ndarray | None = None  # logit coefficients, intercept first (propensity only)
    predictor_sd: float | None = None  # SD of the linear predictor (propensity caliper units)
    rank_deficient: bool = False

    def coordinates(self, x: np.ndarray) -> np.ndarray:
        """Rows of ``x`` in the metric's coordinates (n, q)."""
        x = np.asarray(x, dtype=float)
        if self.distance == "propensity":
            assert self.coef is not None
            return (self.coef[0] + x @ self.coef[1:])[:, None]
        return (x - self.centre) @ self.transform

    def caliper_coordinates(self, x: np.ndarray) -> np.ndarray:
        """Coordinates in which a caliper of c means ``max |difference| <= c``."""
        if self.distance == "propensity":
            sd = self.predictor_sd or 1.0
            return self.coordinates(x) / sd
        return (np.asarray(x, dtype=float) - self.centre) / self.scale


def fit_metric(features: np.ndarray, sample: np.ndarray, distance: str,
               treated: np.ndarray | None = None) -> MatchMetric:
    """Estimate ``distance`` on the rows of ``features`` selected by the boolean ``sample``.

    ``treated`` (boolean, same length) is needed for the propensity score.
    """
    if distance not in DISTANCES:
        raise ValueError(f"unknown distance {distance!r}")
    x = np.asarray(features, dtype=float)[sample]
    centre = x.mean(axis=0)
    sd = x.std(axis=0, ddof=1) if len(x) > 1 else np.ones(x.shape[1])
    scale = np.where(sd > 0, sd, 1.0)
    if distance == "ivariance":
        return MatchMetric(distance, centre, np.diag(1.0 / scale), scale)
    if distance == "mahalanobis":
        cov = np.atleast_2d(np.cov(x, rowvar=False, ddof=1))
        vals, vecs = np.linalg.eigh(cov)
        keep = vals > EIGEN_TOL * max(float(vals.max()), 1e-300)
        transform = vecs[:, keep] / np.sqrt(vals[keep])
        return MatchMetric(distance, centre, transform, scale,
                           rank_deficient=bool((~keep).any()))
    if treated is None:
        raise ValueError("the propensity score needs the treatment indicator")
    coef = logit_coefficients(x, np.asarray(treated)[sample].astype(float))
    eta = coef[0] + x @ coef[1:]
    return MatchMetric(distance, centre, np.eye(x.shape[1]), scale, coef=coef,
                       predictor_sd=float(eta.std(ddof=1)) if len(eta) > 1 else 1.0)


def logit_coefficients(x: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Maximum-likelihood logit of ``d`` on ``[1, x]`` (statsmodels ``Logit``).

    Raises ``SeparationError`` when the fit separates the groups (some linear predictor beyond
    +-25, i.e. a score within 1e-11 of 0 or 1): the score then carries no usable distance.
    """
    import warnings

    import statsmodels.api as sm

    design = np.column_stack([np.ones(len(x)), x])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = sm.Logit(d, design).fit(disp=0, maxiter=200, method="newton")
        except Exception as exc:  # PerfectSeparationError, singular Hessian
            raise SeparationError(str(exc)) from None
    coef = np.asarray(fit.params, dtype=float)
    eta = design @ coef
    if not np.all(np.isfinite(coef)) or np.abs(eta).max() > 25:
        raise SeparationError("the logit separates treated and candidate rows")
    return coef


def irls_logit(x: np.ndarray, d: np.ndarray, max_iter: int = 50, ridge: float = 1e-8
               ) -> np.ndarray:
    """Logit by Newton-Raphson in NumPy (the same MLE as statsmodels, much less overhead).

    Used for the many refits of randomization inference. A tiny ridge keeps a separated
    draw finite; such a draw still orders the candidates by its linear predictor.
    """
    design = np.column_stack([np.ones(len(x)), x])
    beta = np.zeros(design.shape[1])
    penalty = ridge * np.eye(len(beta))
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -30, 30)))
        grad = design.T @ (d - p) - ridge * beta
        hess = (design * (p * (1 - p))[:, None]).T @ design + penalty
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        beta = beta + step
        if float(np.max(np.abs(step))) < 1e-10 * (1.0 + float(np.max(np.abs(beta)))):
            break
    return beta


class SeparationError(ValueError):
    """The propensity-score logit separates the groups perfectly."""


# --------------------------------------------------------------------------- distances


def _block_rows(n_rows: int, n_cols: int, width: int) -> Iterator[slice]:
    step = max(1, BLOCK_BUDGET // max(1, n_cols * max(1, width)))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def distance_block(za: np.ndarray, zb: np.ndarray, ua: np.ndarray | None = None,
                   ub: np.ndarray | None = None, caliper: float | None = None) -> np.ndarray:
    """Squared distances (len(za), len(zb)) by exact differences; inf outside the caliper."""
    diff = za[:, None, :] - zb[None, :, :]
    d2 = np.einsum("ijk,ijk->ij", diff, diff)
    if caliper is not None and ua is not None and ub is not None:
        far = np.abs(ua[:, None, :] - ub[None, :, :]).max(axis=2) > caliper * (1 + 1e-12)
        d2[far] = np.inf
    return d2


def squared_distances(za: np.ndarray, zb: np.ndarray, ua: np.ndarray | None = None,
                      ub: np.ndarray | None = None, caliper: float | None = None
                      ) -> Iterator[tuple[slice, np.ndarray]]:
    """Blocks (rows of ``za``, squared distances to every row of ``zb``) within the budget."""
    for rows in _block_rows(len(za), len(zb), za.shape[1]):
        yield rows, distance_block(za[rows], zb, None if ua is None else ua[rows], ub, caliper)


def k_nearest(d2: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` smallest entries of each row: (columns, squared distances), both (n, k).

    Ties at the k-th place go to the lower column index; missing places (fewer than ``k``
    finite distances) have column -1 and distance inf. Rows are sorted by distance.
    """
    n, m = d2.shape
    kk = min(k, m)
    cols = np.full((n, k), -1, dtype=np.int64)
    dist = np.full((n, k), np.inf)
    if kk == 0 or n == 0:
        return cols, dist
    kth = np.partition(d2, kk - 1, axis=1)[:, kk - 1]
    below = d2 < kth[:, None]
    at = d2 == kth[:, None]
    room = kk - below.sum(axis=1)
    take = below | (at & (np.cumsum(at, axis=1) <= room[:, None]))
    r, c_flat = np.nonzero(take)
    c = c_flat.reshape(n, kk)
    dd = d2[r, c_flat].reshape(n, kk)
    order = np.argsort(dd, axis=1, kind="stable")
    c = np.take_along_axis(c, order, axis=1)
    dd = np.take_along_axis(dd, order, axis=1)
    finite = np.isfinite(dd)
    cols[:, :kk] = np.where(finite, c, -1)
    dist[:, :kk] = dd
    return cols, dist


def within_ties(d2: np.ndarray, k: int, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """All entries within ``tol`` of each row's k-th smallest (Abadie-Imbens sets with ties).

    Returns (row, column) index arrays, row-major. Rows with no finite entry give none.
    """
    m = d2.shape[1]
    if m == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    kth = np.partition(d2, min(k, m) - 1, axis=1)[:, min(k, m) - 1]
    take = (d2 <= kth[:, None] + tol) & np.isfinite(d2)
    r, c = np.nonzero(take)
    return r.astype(np.int64), c.astype(np.int64)


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class MatchedSet:
    """Who was matched to whom, the distances and the matching weights.

    Row indices refer to the rows of the ``features`` given to :func:`match_areas`.
    Pairs are listed treated row by treated row (input order), nearest first.
    """

    treated: np.ndarray  # treated rows considered, in input order
    pair_treated: np.ndarray  # (n_pairs,) treated row of each pair
    pair_control: np.ndarray  # (n_pairs,) control row of each pair
    pair_distance: np.ndarray  # (n_pairs,) distance (not squared); nan for CEM
    pair_weight: np.ndarray  # (n_pairs,) share of the treated row's weight on this control
    weights: np.ndarray  # (n_rows,) MatchIt ATT weights (0 = not in the matched set)
    unmatched: np.ndarray  # treated rows with no match
    short: np.ndarray  # treated rows with fewer than k matches (but at least one)
    metric: MatchMetric | None

    @property
    def matched_controls(self) -> np.ndarray:
        return np.unique(self.pair_control)


def match_areas(
    features: np.ndarray,
    treated: np.ndarray,
    *,
    candidates: np.ndarray | None = None,
    k: int = 1,
    distance: str = "mahalanobis",
    replace: bool = False,
    caliper: float | None = None,
    exact: np.ndarray | None = None,
    cem: bool = False,
    cem_bins: int | None = None,
    metric: MatchMetric | None = None,
    coarsened: np.ndarray | None = None,
) -> MatchedSet:
    """Match every treated row to ``k`` candidate rows (the vectorised core of matching).

    ``features`` (n, p) are the matching variables; ``treated`` and ``candidates`` are boolean
    masks (candidates default to the rows not treated). ``exact`` holds integer stratum codes
    (rows match only within a stratum). ``metric`` reuses a fitted distance (e.g. the observed
    one in randomization draws); by default it is fitted on treated + candidate rows.
    ``coarsened`` reuses CEM stratum codes (by default :func:`cem_strata` on those rows).
    """
    x = np.asarray(features, dtype=float)
    n = len(x)
    treated = np.asarray(treated, dtype=bool)
    pool = ~treated if candidates is None else np.asarray(candidates, dtype=bool) & ~treated
    strata = np.zeros(n, dtype=np.int64) if exact is None else np.asarray(exact, dtype=np.int64)
    t_rows = np.flatnonzero(treated)
    if k < 1:
        raise ValueError("k must be at least 1")
    if cem:
        codes = cem_strata(x, treated | pool, cem_bins) if coarsened is None else coarsened
        return _cem_match(t_rows, pool, _combine(codes, strata), n)
    if metric is None:
        metric = fit_metric(x, treated | pool, distance, treated)
    z = metric.coordinates(x)
    u = metric.caliper_coordinates(x) if caliper is not None else None
    pairs_t, pairs_c, pairs_d = [], [], []
    for s in np.unique(strata[t_rows]):
        ts = t_rows[strata[t_rows] == s]
        cs = np.flatnonzero(pool & (strata == s))
        found = _match_stratum(z, u, ts, cs, k, replace, caliper)
        pairs_t.append(found[0])
        pairs_c.append(found[1])
        pairs_d.append(found[2])
    return _assemble(t_rows, np.concatenate(pairs_t) if pairs_t else np.empty(0, np.int64),
                     np.concatenate(pairs_c) if pairs_c else np.empty(0, np.int64),
                     np.concatenate(pairs_d) if pairs_d else np.empty(0), n, k, metric)


def _match_stratum(z: np.ndarray, u: np.ndarray | None, ts: np.ndarray, cs: np.ndarray,
                   k: int, replace: bool, caliper: float | None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (treated row, control row, squared distance) within one exact stratum."""
    empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))
    if not len(ts) or not len(cs):
        return empty
    want = k if replace else min(len(cs), k * len(ts))
    cols_all = np.empty((len(ts), want), dtype=np.int64)
    dist_all = np.empty((len(ts), want))
    zc = z[cs]
    uc = None if u is None else u[cs]
    zt = z[ts]
    ut = None if u is None else u[ts]
    for rows, d2 in squared_distances(zt, zc, ut, uc, caliper):
        cols_all[rows], dist_all[rows] = k_nearest(d2, want)
    if replace:
        ok = cols_all[:, :k] >= 0
        ti = np.repeat(ts, k).reshape(len(ts), k)[ok]
        return ti, cs[cols_all[:, :k][ok]], dist_all[:, :k][ok]
    return _greedy(ts, cs, cols_all, dist_all, k)


def _greedy(ts: np.ndarray, cs: np.ndarray, cols: np.ndarray, dist: np.ndarray, k: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Matching without replacement: ``k`` rounds; in each, treated rows in order of their
    nearest candidate's distance (closest first, ties by row order) take their nearest
    candidate not yet used. A loop over the (few) treated rows, never over candidates."""
    order = np.lexsort((np.arange(len(ts)), dist[:, 0]))
    used = np.zeros(len(cs), dtype=bool)
    pointer = np.zeros(len(ts), dtype=np.int64)
    out_t, out_c, out_d = [], [], []
    for _ in range(k):
        for i in order:
            p = pointer[i]
            while p < cols.shape[1] and cols[i, p] >= 0 and used[cols[i, p]]:
                p += 1
            pointer[i] = p + 1
            if p >= cols.shape[1] or cols[i, p] < 0:
                continue
            used[cols[i, p]] = True
            out_t.append(ts[i])
            out_c.append(cs[cols[i, p]])
            out_d.append(dist[i, p])
    return (np.array(out_t, dtype=np.int64), np.array(out_c, dtype=np.int64),
            np.array(out_d, dtype=float))


def _assemble(t_rows: np.ndarray, pt: np.ndarray, pc: np.ndarray, pd2: np.ndarray, n: int,
              k: int, metric: MatchMetric | None) -> MatchedSet:
    """Order pairs by treated row then distance; weights 1/k_i and MatchIt ATT weights."""
    pos = np.searchsorted(t_rows, pt)  # t_rows is sorted (np.flatnonzero of a mask)
    order = np.lexsort((pc, pd2, pos))
    pt, pc, pd2, pos = pt[order], pc[order], pd2[order], pos[order]
    counts = np.bincount(pos, minlength=len(t_rows))
    pw = 1.0 / counts[pos] if len(pt) else np.empty(0)
    weights = _matchit_weights(t_rows[counts > 0], pc, pw, n)
    return MatchedSet(treated=t_rows, pair_treated=pt, pair_control=pc,
                      pair_distance=np.sqrt(pd2), pair_weight=pw, weights=weights,
                      unmatched=t_rows[counts == 0], short=t_rows[(counts > 0) & (counts < k)],
                      metric=metric)


def _matchit_weights(matched_t: np.ndarray, pc: np.ndarray, pw: np.ndarray, n: int
                     ) -> np.ndarray:
    weights = np.zeros(n)
    weights[matched_t] = 1.0
    if len(pc):
        control = np.bincount(pc, weights=pw, minlength=n)
        n_controls = len(np.unique(pc))
        weights += control * (n_controls / control.sum())
    return weights


# --------------------------------------------------------------------------- CEM


def sturges_bins(n: int) -> int:
    """Sturges' rule, ``ceiling(log2(n) + 1)`` (R's ``nclass.Sturges``, cem's default)."""
    return math.ceil(math.log2(max(n, 1)) + 1)


def cem_strata(x: np.ndarray, sample: np.ndarray, bins: int | None = None) -> np.ndarray:
    """Coarsen every column into equal-width bins over its sample range; combined codes.

    As R's ``cut(x, breaks = b)`` in cem: ``b`` equal-width intervals spanning the range,
    ``b`` by Sturges' rule on the number of sample rows unless given.
    """
    b = bins or sturges_bins(int(np.sum(sample)))
    xs = x[sample]
    lo, hi = xs.min(axis=0), xs.max(axis=0)
    width = np.where(hi > lo, (hi - lo) / b, 1.0)
    codes = np.clip(np.floor((x - lo) / width), 0, b - 1).astype(np.int64)
    return np.unique(codes, axis=0, return_inverse=True)[1].ravel().astype(np.int64)


def _combine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.unique(np.column_stack([a, b]), axis=0, return_inverse=True)[1].ravel()


def _cem_match(t_rows: np.ndarray, pool: np.ndarray, strata: np.ndarray, n: int) -> MatchedSet:
    """Every treated row is paired with every candidate in its stratum (weight 1/n_c,s)."""
    pt, pc = [], []
    for r in t_rows:
        cs = np.flatnonzero(pool & (strata == strata[r]))
        pt.append(np.full(len(cs), r, dtype=np.int64))
        pc.append(cs)
    pt_a = np.concatenate(pt) if pt else np.empty(0, np.int64)
    pc_a = np.concatenate(pc) if pc else np.empty(0, np.int64)
    per_t = np.bincount(pt_a, minlength=n)
    pw = 1.0 / per_t[pt_a] if len(pt_a) else np.empty(0)
    counts = per_t[t_rows]
    weights = _matchit_weights(t_rows[counts > 0], pc_a, pw, n)
    return MatchedSet(treated=t_rows, pair_treated=pt_a, pair_control=pc_a,
                      pair_distance=np.full(len(pt_a), np.nan), pair_weight=pw,
                      weights=weights, unmatched=t_rows[counts == 0],
                      short=np.empty(0, np.int64), metric=None)
