"""The Frank-Wolfe simplex solver behind synthetic DiD's unit and time weights.

A vectorised transcription of R synthdid's ``sc.weight.fw`` / ``fw.step`` and its two-round
solve with ``sparsify_function`` (Arkhangelsky et al. 2021; synth-inference/synthdid,
R/solver.R): many problems (e.g. every placebo) are solved at once on Gram quantities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_ITER = 10_000
MAX_ITER_PRE_SPARSIFY = 100


@dataclass(frozen=True)
class Gram:
    """A batch of problems ``min ||A_r x - b_r||^2 + eta ||x||^2`` over the simplex, given by
    ``A_r'A_r`` (R, n, n), ``A_r'b_r`` (R, n) and ``b_r'b_r`` (R,); ``rows`` is the number of
    rows of A_r (R's N0 in ``sc.weight.fw``)."""

    gram: np.ndarray
    ab: np.ndarray
    bb: np.ndarray
    rows: int


def solve_simplex(gram: Gram, x0: np.ndarray, zeta: float, min_decrease: float) -> np.ndarray:
    """R's two-round weight solve: ``sc.weight.fw`` for 100 iterations, sparsify, then again
    for up to 10,000 iterations."""
    x = _frank_wolfe(gram, x0, zeta, min_decrease, MAX_ITER_PRE_SPARSIFY)
    return _frank_wolfe(gram, _sparsify(x), zeta, min_decrease, MAX_ITER)


def _sparsify(x: np.ndarray) -> np.ndarray:
    """R's ``sparsify_function``: zero the weights at or below max/4, renormalise."""
    out = np.where(x <= x.max(axis=1, keepdims=True) / 4, 0.0, x)
    return out / out.sum(axis=1, keepdims=True)


def _frank_wolfe(gram: Gram, x0: np.ndarray, zeta: float, min_decrease: float,
                 max_iter: int) -> np.ndarray:
    """Frank-Wolfe with exact line search on the simplex for every problem of ``gram``
    (R's ``sc.weight.fw`` / ``fw.step``; eta = rows * zeta^2).

    A problem stops after the first iteration t >= 2 that lowers
    ``zeta^2 ||x||^2 + ||A x - b||^2 / rows`` by at most ``min_decrease^2``, or after
    ``max_iter`` iterations. Works on Gram quantities: ``g = A'A x`` moves towards a column
    of A'A when x moves towards a vertex, so an iteration costs O(n), not O(rows * n).
    """
    zeta2 = zeta * zeta
    eta = gram.rows * zeta2
    threshold = min_decrease * min_decrease
    big, c, b2 = gram.gram, gram.ab, gram.bb
    dg = np.diagonal(big, axis1=1, axis2=2)
    out = np.array(x0, dtype=float, copy=True)
    live = np.arange(len(out))
    x = out.copy()
    g = (big * x[:, None, :]).sum(axis=2)  # per row, so independent of the batch (not einsum)
    prev = np.full(len(out), np.inf)
    idx = np.arange(len(out))
    step = np.zeros(len(out))
    t = 0
    xx, xg, cx = _dot(x, x), _dot(x, g), _dot(c, x)
    while True:
        # the loss of the current x (after iteration t), then R's stopping rule
        vals = zeta2 * xx + (xg - 2 * cx + b2) / gram.rows
        if t >= 2:
            stop = prev - vals <= threshold
            if stop.any():
                out[live[stop]] = x[stop]
                kept = ~stop
                live, x, g, c, dg, b2 = (live[kept], x[kept], g[kept], c[kept], dg[kept],
                                         b2[kept])
                xx, xg, cx, vals = xx[kept], xg[kept], cx[kept], vals[kept]
                idx, step = idx[:len(live)], step[:len(live)]
        if t >= max_iter or not len(live):
            break
        t += 1
        prev = vals
        h = g - c + eta * x  # half the gradient
        k = np.argmin(h, axis=1)
        xk, gk = x[idx, k], g[idx, k]
        num = xg - cx + eta * xx - h[idx, k]  # -h . (e_k - x)
        den = dg[idx, k] - 2 * gk + xg + eta * (xx - 2 * xk + 1)
        step.fill(0.0)
        np.divide(num, den, out=step, where=den > 0)
        np.clip(step, 0.0, 1.0, out=step)
        at_vertex = xk == 1.0
        if at_vertex.any():  # R: if all(d.x == 0) return(x)
            step[at_vertex & (np.count_nonzero(x, axis=1) == 1)] = 0.0
        # x'x, x'g and c'x after the step, in O(1): x moves to (1-s)x + s e_k and g to
        # (1-s)g + s A'A e_k, and e_k'A'A x = g_k (A'A symmetric)
        keep_share = 1.0 - step
        xx = keep_share * keep_share * xx + 2 * step * keep_share * xk + step * step
        xg = (keep_share * keep_share * xg + 2 * step * keep_share * gk
              + step * step * dg[idx, k])
        cx = keep_share * cx + step * c[idx, k]
        share = keep_share[:, None]
        x *= share
        x[idx, k] += step
        column = big[live, k]  # row k of a symmetric matrix
        column *= step[:, None]
        g *= share
        g += column
    out[live] = x
    return out


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products, summed in the same order whatever the batch: BLAS dot products
    (``np.vecdot``, ``einsum``) may group the terms by the row's memory alignment, which
    depends on the batch, so two workers' chunks would change the last digits."""
    return (a * b).sum(axis=1)
