"""Least squares with absorbed area and period fixed effects (Frisch-Waugh-Lovell).

Three within-transformations give the same numbers (tests check it):

* **balanced, unweighted** panels use the exact closed form
  ``z_it - mean_i - mean_t + mean`` on a reshaped array: one pass, fully vectorised;
* **gaps or analytic weights**, two groupings of which one has at most
  ``EXACT_MAX_LEVELS`` levels (periods, in practice): the exact solution of the normal
  equations, eliminating the large grouping and solving the small one's Schur complement
  once (Somaini & Wolak 2016, "An algorithm to estimate the two-way fixed effects model",
  J. Econometric Methods 5(1)). No iteration; many columns cost little more than one, which
  is what randomization inference needs (Frisch-Waugh-Lovell: only the treatment columns
  change between draws);
* otherwise, the method of alternating projections (Guimarães & Portugal 2010; Gaure 2013,
  the algorithm behind R's lfe and fixest's demeaning), iterated until a sweep moves the
  data by less than ~1e-12 (relative norm).

``benchmarks/absorb.py`` times these against pyhdfe and linearmodels' ``AbsorbingLS``; the
numbers, and why this module does not delegate to them, are in ``benchmarks/README.md``.

All regression algebra is done in the *weighted* metric: rows are scaled by ``sqrt(w)``
after the weighted demeaning, so ordinary least-squares formulas (and the inference in
``inference.py``) apply unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

EXACT_MAX_LEVELS = 1000  # Schur complement up to 1000 x 1000: eigh well under a second
DENSE_TABLE_MAX = 5_000_000  # level-pair cells held densely (40 MB)
EIG_RTOL = 1e-10  # eigenvalues below this share of the largest span the redundant effects
MAP_TOL = 1e-24  # on squared norms: steps below ~1e-12 of the data, relative
MAP_MAX_ITER = 10_000


class Absorber:
    """Removes area and/or period fixed effects from columns of a matrix.

    ``residualize`` works on an (n,) or (n, k) array in the original (unscaled) metric and
    returns the weighted within-transformed array.
    """

    def __init__(
        self,
        unit_idx: np.ndarray | None,
        time_idx: np.ndarray | None,
        weights: np.ndarray | None = None,
        *,
        n_units: int | None = None,
        n_times: int | None = None,
        balanced_sorted: bool = False,
        max_exact_levels: int = EXACT_MAX_LEVELS,
    ) -> None:
        self.weights = weights
        self.groups = [g for g in (unit_idx, time_idx) if g is not None]
        self.sizes = [
            (n_units if g is unit_idx else n_times) or int(g.max()) + 1 for g in self.groups
        ]
        self.fast = balanced_sorted and weights is None and len(self.groups) == 2
        two_way = len(self.groups) == 2 and not self.fast
        self.exact = two_way and min(self.sizes) <= max_exact_levels
        self._group_weight: list[np.ndarray] | None = None  # for alternating projections
        self._two_way: TwoWayExact | None = None

    @property
    def method(self) -> str:
        """Which within-transformation runs: none, balanced, exact or alternating."""
        if not self.groups:
            return "none"
        if self.fast:
            return "balanced"
        return "exact" if self.exact else "alternating"

    def group_weights(self) -> list[np.ndarray]:
        """Per grouping: total weight (or count) of each level; computed on first use."""
        if self._group_weight is None:
            self._group_weight = [
                np.bincount(g, weights=self.weights, minlength=n).astype(float)
                for g, n in zip(self.groups, self.sizes, strict=True)
            ]
        return self._group_weight

    def n_absorbed(self) -> int:
        """Number of fixed-effect parameters absorbed (levels minus redundancies)."""
        if not self.groups:
            return 0
        return sum(self.sizes) - (len(self.groups) - 1)

    def residualize(self, z: np.ndarray, *, overwrite: bool = False) -> np.ndarray:
        """Within-transform ``z`` (n,) or (n, k); returns a new array, or with ``overwrite``
        (and a float array) ``z``'s own memory, transformed in place."""
        arr = np.asarray(z, dtype=float)
        flat = arr.ndim == 1
        mat = arr.reshape(len(arr), -1)
        in_place = overwrite and arr is z
        if not self.groups:
            out = mat if in_place else mat.copy()
        elif self.fast:
            out = self._balanced(mat, in_place)
        elif self.exact:
            out = self._exact().residualize(mat, in_place)
        else:
            out = self._alternating(mat, in_place)
        return out[:, 0] if flat else out

    def fitted_at(self, columns: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray] | None:
        """Fitted fixed effects of sparse columns, only at their own rows.

        Each item is ``(rows, values)``: a (n, k) block that is zero outside ``rows`` (r, k
        values there). Returns per item the (r, k) fitted fixed-effect values at ``rows``
        (what ``residualize`` subtracts there), costing O(levels) per column instead of O(n);
        all items' effects are solved in one call. None where only the dense path applies
        (alternating projections).
        """
        if not self.groups:
            return [np.zeros_like(v) for _, v in columns]
        if self.fast:
            n_units, n_times = self.sizes
            unit, time = self.groups
            out = []
            for rows, vals in columns:
                u_mean = _level_sums(unit[rows], vals, n_units) / n_times
                t_mean = _level_sums(time[rows], vals, n_times) / n_units
                grand = vals.sum(axis=0) / (n_units * n_times)
                out.append(u_mean[unit[rows]] + t_mean[time[rows]] - grand)
            return out
        if not self.exact:
            return None
        two_way = self._exact()
        w = self.weights
        sums_big, sums_small = [], []
        for rows, vals in columns:
            wv = vals if w is None else vals * w[rows][:, None]
            sums_big.append(_level_sums(two_way.big[rows], wv, two_way.n_big))
            sums_small.append(_level_sums(two_way.small[rows], wv, two_way.n_small))
        big_effect, small_effect = two_way.effects(np.hstack(sums_big), np.hstack(sums_small))
        out, col = [], 0
        for rows, vals in columns:
            k = vals.shape[1]
            out.append(big_effect[two_way.big[rows], col:col + k]
                       + small_effect[two_way.small[rows], col:col + k])
            col += k
        return out

    def _exact(self) -> TwoWayExact:
        if self._two_way is None:
            big, small = sorted(zip(self.groups, self.sizes, strict=True),
                                key=lambda gs: -gs[1])
            self._two_way = TwoWayExact(big, small, self.weights)
        return self._two_way

    def _balanced(self, mat: np.ndarray, in_place: bool = False) -> np.ndarray:
        n_units, n_times = self.sizes
        cube = mat.reshape(n_units, n_times, -1)
        unit_means = cube.mean(axis=1, keepdims=True)
        time_means = cube.mean(axis=0, keepdims=True)
        if in_place:
            out = cube
            out -= unit_means
        else:
            out = cube - unit_means
        out -= time_means
        out += unit_means.mean(axis=0, keepdims=True)  # grand mean (balanced: mean of means)
        return out.reshape(mat.shape)

    def _alternating(self, mat: np.ndarray, in_place: bool = False) -> np.ndarray:
        w = self.weights
        out = mat if in_place else mat.copy()
        scale = max(float(np.sum(out * out)), 1e-300)
        for _ in range(MAP_MAX_ITER):
            change = 0.0
            for codes, size, gw in zip(self.groups, self.sizes, self.group_weights(),
                                       strict=True):
                weighted = out if w is None else out * w[:, None]
                denom = np.where(gw > 0, gw, 1.0)
                means = np.column_stack([
                    np.bincount(codes, weights=weighted[:, j], minlength=size) / denom
                    for j in range(out.shape[1])
                ])
                step = means[codes]
                out -= step
                change += float(np.sum(step * step))
            if len(self.groups) == 1 or change <= MAP_TOL * scale:
                break
        return out


class TwoWayExact:
    """Exact two-way within transformation for any pattern of gaps and weights.

    With ``a`` the effects of the large grouping (B levels) and ``g`` those of the small one
    (S levels), the weighted normal equations are ``W_b a + N g = Z_b`` and
    ``N' a + W_s g = Z_s`` (``N`` the B x S table of summed weights, ``Z_*`` weighted sums of
    the column per level). Eliminating ``a`` leaves ``C g = Z_s - N' W_b^-1 Z_b`` with the
    Schur complement ``C = W_s - N' W_b^-1 N`` (S x S), pseudo-inverted once: its null space
    is the redundant effects (one per connected component of the panel), and any solution
    gives the same residuals ``z - a[big] - g[small]`` (Somaini & Wolak 2016).
    """

    def __init__(self, big: tuple[np.ndarray, int], small: tuple[np.ndarray, int],
                 weights: np.ndarray | None) -> None:
        (self.big, n_big), (self.small, n_small) = big, small
        self.n_big, self.n_small = n_big, n_small
        w = np.ones(len(self.big)) if weights is None else np.asarray(weights, dtype=float)
        self.sum_big = _group_sums(self.big, w, n_big)
        self.sum_small = _group_sums(self.small, w, n_small)
        w_big = np.bincount(self.big, weights=w, minlength=n_big)
        w_small = np.bincount(self.small, weights=w, minlength=n_small)
        self.inv_big = 1.0 / np.where(w_big > 0, w_big, 1.0)
        self.table: np.ndarray | sparse.csr_array
        if n_big * n_small <= DENSE_TABLE_MAX:
            cells = np.bincount(self.big * n_small + self.small, weights=w,
                                minlength=n_big * n_small)
            self.table = cells.reshape(n_big, n_small)
            schur = np.diag(w_small) - self.table.T @ (self.table * self.inv_big[:, None])
        else:
            self.table = sparse.csr_array((w, (self.big, self.small)), shape=(n_big, n_small))
            scaled = sparse.csr_array(self.table.multiply(self.inv_big[:, None]))
            schur = np.diag(w_small) - (self.table.T @ scaled).toarray()
        vals, vecs = np.linalg.eigh((schur + schur.T) / 2)
        keep = vals > EIG_RTOL * max(float(vals.max(initial=0.0)), 1e-300)
        self.schur_pinv = (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T
        self.rank = int(keep.sum())

    def residualize(self, mat: np.ndarray, in_place: bool = False) -> np.ndarray:
        """Residuals of each column of ``mat`` (n, k) on both groupings' effects (written
        over ``mat`` with ``in_place``)."""
        big_effect, small_effect = self.effects(self.sum_big @ mat, self.sum_small @ mat)
        if in_place:
            out = mat
            out -= big_effect[self.big]
        else:
            out = mat - big_effect[self.big]
        out -= small_effect[self.small]
        return out

    def effects(self, rhs_big: np.ndarray, rhs_small: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
        """A solution (big-level, small-level effects) of the normal equations with right-hand
        sides ``rhs_big`` (B, k) and ``rhs_small`` (S, k): with the weighted sums of a column
        per level, its fitted fixed effects; with other sums, e.g. the total weight a set of
        target rows puts on each level, the solve behind imputation weights (Borusyak,
        Jaravel & Spiess 2024, eq. 6). Effects of redundant levels are the minimum-norm ones.
        """
        mean_big = rhs_big * self.inv_big[:, None]
        small_effect = self.schur_pinv @ (rhs_small - self.table.T @ mean_big)
        big_effect = mean_big - (self.table @ small_effect) * self.inv_big[:, None]
        return big_effect, small_effect


def _level_sums(codes: np.ndarray, vals: np.ndarray, size: int) -> np.ndarray:
    """(size, k) sums of the rows of ``vals`` (r, k) per level ``codes`` (r,)."""
    return np.column_stack([np.bincount(codes, weights=vals[:, j], minlength=size)
                            for j in range(vals.shape[1])])


def _group_sums(codes: np.ndarray, weights: np.ndarray, size: int) -> sparse.csr_array:
    """(size, n) sparse matrix whose product with (n, k) gives weighted sums per level.

    Built straight in CSR form from a stable sort (already-sorted panels sort in one pass),
    which is several times faster than scipy's COO conversion; one sparse product then does
    all columns at once, far faster than a ``bincount`` per column.
    """
    order = np.argsort(codes, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=size))])
    return sparse.csr_array((weights[order], order, indptr), shape=(size, len(codes)))


@dataclass(frozen=True)
class LinearFit:
    """Coefficients on the target regressors after absorbing fixed effects and nuisance.

    Arrays are in the weighted metric: ``xt`` (n, p) residualised targets, ``yt`` residualised
    outcome, ``resid`` full-model residuals. ``n_params`` counts every estimated parameter
    (targets + nuisance + absorbed fixed effects); ``n_nested`` how many of the absorbed ones
    are nested within clusters (they are not counted in the CR1 factor, as in fixest).
    """

    coef: np.ndarray
    xt: np.ndarray
    yt: np.ndarray
    resid: np.ndarray
    n_params: int
    n_nested: int


class Residualizer:
    """The annihilator M of fixed effects and nuisance regressors, in the weighted metric."""

    def __init__(self, absorber: Absorber, nuisance: np.ndarray | None, weights: np.ndarray | None):
        self.absorber = absorber
        self.sqrt_w = None if weights is None else np.sqrt(weights)
        self.nuisance = None
        self._nuis_pinv = None
        self._nuis_gram: np.ndarray | None = None
        if nuisance is not None and nuisance.shape[1] > 0:
            nt = self._scale(absorber.residualize(nuisance))
            keep = np.linalg.norm(nt, axis=0) > 1e-10 * max(1.0, float(np.abs(nuisance).max()))
            nt = nt[:, keep]
            if nt.shape[1]:
                self.nuisance = nt
                self._nuis_pinv = np.linalg.pinv(nt)

    @property
    def n_nuisance(self) -> int:
        return 0 if self.nuisance is None else self.nuisance.shape[1]

    def _scale(self, mat: np.ndarray) -> np.ndarray:
        if self.sqrt_w is None:
            return mat
        return mat * (self.sqrt_w[:, None] if mat.ndim == 2 else self.sqrt_w)

    def apply(self, z: np.ndarray, *, overwrite: bool = False) -> np.ndarray:
        """M z for z in the original metric; result in the weighted metric. ``overwrite``
        lets a float ``z`` that the caller no longer needs hold the result."""
        within = self.absorber.residualize(z, overwrite=overwrite)
        if self.sqrt_w is not None and overwrite and within.ndim == 2:
            within *= self.sqrt_w[:, None]
            return self.project_out(within)
        return self.project_out(self._scale(within))

    def apply_scaled(self, z: np.ndarray) -> np.ndarray:
        """M z for z already in the weighted metric (used by the wild bootstrap)."""
        if self.sqrt_w is None:
            return self.apply(z)
        unscaled = z / (self.sqrt_w[:, None] if z.ndim == 2 else self.sqrt_w)
        return self.apply(unscaled)

    def sparse_normal_equations(self, columns: list[tuple[np.ndarray, np.ndarray]],
                                yt: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """Per sparse block x (``(rows, values)``, zero elsewhere): ``(xt'xt, xt'yt)`` with
        ``xt = M x`` and ``yt`` already residualised, without forming ``xt``.

        ``M`` is an orthogonal projection in the weighted metric, so ``xt'yt = (s x)'yt`` and
        ``xt'xt = (s x)'(s x) - (s x)'(fitted fixed effects, scaled) - (N'sx)'(N'N)^+(N'sx)``
        with ``s = sqrt(w)`` and ``N`` the residualised nuisance (orthogonal to the fixed
        effects): everything is a sum over ``rows`` (Frisch-Waugh-Lovell; Lovell 2008,
        J. Economic Education 39(4)). None where the absorber has no sparse path.
        """
        fitted = self.absorber.fitted_at(columns)
        if fitted is None:
            return None
        out = []
        for (rows, vals), fe in zip(columns, fitted, strict=True):
            s = None if self.sqrt_w is None else self.sqrt_w[rows][:, None]
            sx = vals if s is None else vals * s
            within = vals - fe if s is None else (vals - fe) * s
            gram = sx.T @ within
            if self.nuisance is not None:
                nx = self.nuisance[rows].T @ sx
                gram = gram - nx.T @ self._nuis_gram_pinv() @ nx
            out.append(((gram + gram.T) / 2, sx.T @ yt[rows]))
        return out

    def _nuis_gram_pinv(self) -> np.ndarray:
        if self._nuis_gram is None:
            assert self.nuisance is not None
            self._nuis_gram = np.linalg.pinv(self.nuisance.T @ self.nuisance)
        return self._nuis_gram

    def project_out(self, zt: np.ndarray) -> np.ndarray:
        if self.nuisance is None or self._nuis_pinv is None:
            return zt
        return zt - self.nuisance @ (self._nuis_pinv @ zt)


def fit_linear(
    y: np.ndarray,
    targets: np.ndarray,
    residualizer: Residualizer,
    *,
    n_nested: int = 0,
    overwrite: bool = False,
) -> LinearFit:
    """OLS of ``y`` on ``targets`` (n, p), net of what ``residualizer`` removes (FWL);
    ``overwrite`` lets the residualised targets reuse ``targets``' memory."""
    xt = residualizer.apply(targets.reshape(len(y), -1), overwrite=overwrite)
    yt = residualizer.apply(y)
    coef = least_squares(xt, yt)
    resid = yt - xt @ coef
    n_params = xt.shape[1] + residualizer.n_nuisance + residualizer.absorber.n_absorbed()
    return LinearFit(coef=coef, xt=xt, yt=yt, resid=resid, n_params=n_params, n_nested=n_nested)


def least_squares(xt: np.ndarray, yt: np.ndarray) -> np.ndarray:
    """OLS coefficients via the normal equations (fast for tall, thin designs), falling back
    to an SVD-based solve when they are singular or badly conditioned."""
    gram = xt.T @ xt
    if np.linalg.cond(gram) < 1e10:
        return np.linalg.solve(gram, xt.T @ yt)
    return np.linalg.lstsq(xt, yt, rcond=None)[0]
