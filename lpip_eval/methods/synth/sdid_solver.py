"""The Frank-Wolfe simplex solver behind synthetic DiD's unit and time weights.

A vectorised transcription of R synthdid's ``sc.weight.fw`` / ``fw.step`` and its two-round
solve with ``sparsify_function`` (Arkhangelsky et al. 2021; synth-inference/synthdid,
R/solver.R): many problems (e.g. every placebo) are solved at once on Gram quantities.

Each problem's arithmetic is the same whatever else is in its batch (element-wise operations
and row-wise reductions only), so results do not depend on how problems are chunked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_ITER = 10_000
MAX_ITER_PRE_SPARSIFY = 100
_RESCALE = 1e-100  # lazy scale factors below this are folded back into their vectors


@dataclass(frozen=True)
class Gram:
    """A batch of problems ``min ||A_r x - b_r||^2 + eta ||x||^2`` over the simplex, given by
    ``A_r'A_r`` (R, n, n), ``A_r'b_r`` (R, n) and ``b_r'b_r`` (R,); ``rows`` is the number of
    rows of A_r (R's N0 in ``sc.weight.fw``)."""

    gram: np.ndarray
    ab: np.ndarray
    bb: np.ndarray
    rows: int


@dataclass(frozen=True)
class SharedGram:
    """A batch of problems on one Gram matrix ``full`` = Z'Z (M, M) of columns Z: in problem
    r the columns ``keep[r]`` are A_r and b_r is the mean of the columns ``fake[r]`` (sdid's
    placebos: a placebo's Gram matrix is a submatrix of the fit's). Nothing per problem is
    larger than M, and a Frank-Wolfe step reads one row of ``full``."""

    full: np.ndarray
    keep: np.ndarray
    fake: np.ndarray
    rows: int


@dataclass(frozen=True)
class _Problems:
    """Per-problem quantities in the solver's variable space (m variables; excluded ones
    have ``allowed`` False and are never chosen)."""

    c: np.ndarray  # (R, m) A'b
    b2: np.ndarray  # (R,) b'b
    rows: int
    gram: Gram | None = None  # per-problem Gram matrices, or
    full: np.ndarray | None = None  # one shared (m, m) Gram matrix
    allowed: np.ndarray | None = None  # (R, m) for a shared Gram matrix
    full_diag: np.ndarray | None = None  # the diagonal of ``full``, contiguous

    def diagonal(self, sel: np.ndarray, k: np.ndarray) -> np.ndarray:
        if self.full_diag is not None:
            return self.full_diag.take(k)
        assert self.gram is not None
        return self.gram.gram[sel, k, k]

    def column(self, sel: np.ndarray, k: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Row k of each selected problem's A'A, written to ``out`` (no allocation per
        Frank-Wolfe step)."""
        if self.full is not None:
            # mode "clip" (k is always in range): with "raise", take buffers ``out`` (a
            # second copy of every row, 60% of the gather's time)
            return np.take(self.full, k, axis=0, out=out, mode="clip")
        assert self.gram is not None
        out[...] = self.gram.gram[sel, k]
        return out

    def product(self, x: np.ndarray) -> np.ndarray:
        """A'A x per problem, each summed over its non-zero weights in index order."""
        if self.full is None:
            assert self.gram is not None
            return (self.gram.gram * x[:, None, :]).sum(axis=2)
        # the i-th non-zero weight of every problem at once (problems by falling count, so
        # those with more than i are a prefix): one gather of rows of the symmetric matrix
        # per i, added in index order as a per-problem sum over axis 0 would
        nnz = np.count_nonzero(x, axis=1)
        order = np.argsort(-nnz, kind="stable")
        x, nnz = x[order], nnz[order]
        width = int(nnz[0]) if len(nnz) else 0
        cols = np.argsort(x == 0, axis=1, kind="stable")[:, :width]
        vals = np.take_along_axis(x, cols, axis=1)
        counts = np.searchsorted(-nnz, -np.arange(width), side="left")  # nnz > i
        total, term = np.zeros_like(x), np.empty_like(x)
        for i, n in enumerate(counts):
            part = np.take(self.full, cols[:n, i], axis=0, out=term[:n], mode="clip")
            np.multiply(part, vals[:n, i, None], out=part)
            if i:
                np.add(total[:n], part, out=total[:n])
            else:
                total[:n] = part
        out = np.empty_like(total)
        out[order] = total
        return out


def solve_simplex(gram: Gram | SharedGram, x0: np.ndarray, zeta: float,
                  min_decrease: float) -> np.ndarray:
    """R's two-round weight solve: ``sc.weight.fw`` for 100 iterations, sparsify, then again
    for up to 10,000 iterations. ``x0`` and the result are (R, n), in the order of
    ``gram``'s variables (``keep[r]`` for a :class:`SharedGram`)."""
    if isinstance(gram, Gram):
        problems = _Problems(c=gram.ab, b2=gram.bb, rows=gram.rows, gram=gram)
        start = np.array(x0, dtype=float, copy=True)
    else:
        reps, m = len(gram.keep), len(gram.full)
        rowsel = np.arange(reps)[:, None]
        allowed = np.zeros((reps, m), dtype=bool)
        allowed[rowsel, gram.keep] = True
        # b = mean of the fake columns: A'b = mean of their rows (``full`` is symmetric)
        c = gram.full[gram.fake].mean(axis=1)
        b2 = gram.full[gram.fake[:, :, None], gram.fake[:, None, :]].mean(axis=(1, 2))
        problems = _Problems(c=c, b2=b2, rows=gram.rows, full=gram.full, allowed=allowed,
                             full_diag=np.diagonal(gram.full).copy())
        start = np.zeros((reps, m))
        start[rowsel, gram.keep] = x0
    # NumPy buffers a row-wise broadcast (w += move[:, None] * column) when its buffer holds
    # two or more rows, which made that product 3x slower than a plain one; a buffer of at
    # most one row avoids it (the arithmetic, hence every result, is unchanged); never larger
    # than it was (NumPy caps the size)
    old = np.setbufsize(max(16, min(np.getbufsize(), 16 * (start.shape[1] // 16))))
    try:
        x = _frank_wolfe(problems, start, zeta, min_decrease, MAX_ITER_PRE_SPARSIFY)
        x = _frank_wolfe(problems, _sparsify(x), zeta, min_decrease, MAX_ITER)
    finally:
        np.setbufsize(old)
    if isinstance(gram, SharedGram):
        x = x[np.arange(len(x))[:, None], gram.keep]
    return x


def _sparsify(x: np.ndarray) -> np.ndarray:
    """R's ``sparsify_function``: zero the weights at or below max/4, renormalise."""
    out = np.where(x <= x.max(axis=1, keepdims=True) / 4, 0.0, x)
    return out / out.sum(axis=1, keepdims=True)


def _frank_wolfe(p: _Problems, x0: np.ndarray, zeta: float, min_decrease: float,
                 max_iter: int) -> np.ndarray:
    """Frank-Wolfe with exact line search on the simplex for every problem of ``p``
    (R's ``sc.weight.fw`` / ``fw.step``; eta = rows * zeta^2).

    A problem stops after the first iteration t >= 2 that lowers
    ``zeta^2 ||x||^2 + ||A x - b||^2 / rows`` by at most ``min_decrease^2``, or after
    ``max_iter`` iterations. Works on Gram quantities: a step moves x to (1-s)x + s e_k and
    the half gradient h = A'A x - A'b + eta x to (1-s)h + s(A'A e_k - A'b + eta e_k), so an
    iteration costs O(n), not O(rows * n). Both are kept lazily scaled (x = scale z,
    h = scale w), so a step touches the whole vector once (adding the new column) and the
    choice of vertex is the argmin of w.
    """
    zeta2 = zeta * zeta
    eta = p.rows * zeta2
    threshold = min_decrease * min_decrease
    out = np.array(x0, dtype=float, copy=True)
    reps = len(out)
    live = np.arange(reps)
    z = out.copy()
    g = p.product(z)
    c, b2 = np.ascontiguousarray(p.c), p.b2
    xx, xg, cx = _dot(z, z), _dot(z, g), _dot(c, z)
    w = g - c + eta * z
    del g
    if p.allowed is not None:
        w[~p.allowed] = np.inf  # never chosen; adding finite columns keeps it so
    # x = scale * z and h = scale * w: both shrink by (1 - s) at a step, so one factor
    scale = np.ones(reps)
    prev = np.full(reps, np.inf)
    # (problem, k) entries of z, w and c are read and written through flat indices
    base = np.arange(reps) * w.shape[1]
    zf, wf, cf = z.reshape(-1), w.reshape(-1), c.reshape(-1)
    buffer = np.empty_like(w)
    t = 0
    while True:
        # the loss of the current x (after iteration t), then R's stopping rule
        vals = zeta2 * xx + (xg - 2 * cx + b2) / p.rows
        if t >= 2:
            stop = prev - vals <= threshold
            if stop.any():
                out[live[stop]] = scale[stop, None] * z[stop]
                kept = ~stop
                live, z, w, c, b2 = live[kept], z[kept], w[kept], c[kept], b2[kept]
                scale, xx, xg, cx, vals = scale[kept], xx[kept], xg[kept], cx[kept], vals[kept]
                base = base[:len(live)]
                zf, wf, cf = z.reshape(-1), w.reshape(-1), c.reshape(-1)
        if t >= max_iter or not len(live):
            break
        t += 1
        prev = vals
        k = np.argmin(w, axis=1)  # argmin of the half gradient h = scale w (scale > 0)
        flat = base + k
        xk, hk, ck = scale * zf.take(flat), scale * wf.take(flat), cf.take(flat)
        dk = p.diagonal(live, k)
        gk = hk + ck - eta * xk  # (A'A x)_k
        q = xg + eta * xx
        num = q - cx - hk  # -h . (e_k - x)
        den = dk - 2 * gk + q + eta * (1 - 2 * xk)  # |A(e_k - x)|^2 + eta |e_k - x|^2
        step = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        np.minimum(np.maximum(step, 0.0, out=step), 1.0, out=step)  # np.clip, less overhead
        if xk.max() == 1.0:  # R: if all(d.x == 0) return(x)
            step[(xk == 1.0) & (np.count_nonzero(z, axis=1) == 1)] = 0.0
        # x'x, x'g and c'x after the step, in O(1) (e_k'A'A x = g_k, A'A symmetric)
        keep_share = 1.0 - step
        both = 2 * step * keep_share
        share2, step2 = keep_share * keep_share, step * step
        xx = share2 * xx + both * xk + step2
        xg = share2 * xg + both * gk + step2 * dk
        cx = keep_share * cx + step * ck
        if step.max() == 1.0:  # moved onto a vertex: restart the lazy vectors there
            whole = keep_share == 0.0
            z[whole] = 0.0
            w[whole] = np.where(np.isinf(w[whole]), np.inf, 0.0)
            keep_share[whole] = 1.0 / scale[whole]
        scale *= keep_share
        move = step / scale
        zf[flat] += move
        column = p.column(live, k, buffer[:len(live)])
        np.subtract(column, c, out=column)
        np.multiply(column, move[:, None], out=column)
        np.add(w, column, out=w)
        wf[flat] += eta * move
        if scale.min() < _RESCALE:
            small = scale < _RESCALE
            z[small] *= scale[small, None]
            w[small] *= scale[small, None]
            scale[small] = 1.0
    out[live] = scale[:, None] * z
    return out


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products, summed in the same order whatever the batch: BLAS dot products
    (``np.vecdot``, ``einsum``) may group the terms by the row's memory alignment, which
    depends on the batch, so two workers' chunks would change the last digits."""
    return (a * b).sum(axis=1)
