"""Standard errors from influence functions: analytic (clustered) and the multiplier
bootstrap of R ``did``'s ``mboot`` (Callaway & Sant'Anna 2021, §4).

The estimates' influence functions are ``base @ coef`` (see
:mod:`lpip_eval.methods.staggered.base`): n areas x p base columns, p x m coefficients.
Clustered by ``clusters``, with S the base summed within clusters:

* analytic: se_j = sqrt(coef_j' S'S coef_j) / n (R ``did`` with ``bstrap = FALSE``; with
  area clusters this is R's sqrt(mean(psi^2) / n));
* multiplier bootstrap: each draw multiplies every cluster's row of S by an independent
  Rademacher weight (default: R ``did``'s ``mboot`` through ``BMisc::multiplier_bootstrap``)
  or Mammen weight; se_j = the draws' interquartile range / (z_0.75 - z_0.25), and the
  uniform band's critical value is the 1 - alpha quantile of max_j |draw_j| / se_j over the
  estimates of a curve. Draws are made over the clusters in a data-derived order, so
  renaming areas or shuffling rows changes nothing. Summing psi within clusters (R ``did``
  2.x) keeps the variance right when clusters differ in size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from lpip_eval.methods.staggered.base import Base, Block
from lpip_eval.methods.staggered.cohorts import Wide

IQR_NORMAL = 1.3489795003921634  # z_0.75 - z_0.25
CHUNK = 200  # draws per block: bounds memory at CHUNK x clusters


def analytic_se(root: np.ndarray, coef: np.ndarray, n: int) -> np.ndarray:
    """Clustered influence-function standard errors of the estimates ``base @ coef``, from
    a square root F of the base's clustered Gram matrix (F'F = S'S): ||F coef|| / n, a sum
    of squares, so a variance that is zero comes out zero to rounding, not to its square
    root as a quadratic form would."""
    return np.sqrt(np.sum((root @ coef) ** 2, axis=0)) / n


def _two_points(n: int, draws: int, kind: str, rng: np.random.Generator
                ) -> tuple[float, float, np.ndarray]:
    """The two values of the weights and a (draws x n) 0/1 matrix of where the lower one
    is drawn: Rademacher from single random bits, Mammen from single-precision uniforms."""
    if kind == "rademacher":
        packed = rng.integers(0, 256, size=(draws, (n + 7) // 8), dtype=np.uint8)
        return -1.0, 1.0, np.unpackbits(packed, axis=1, count=n)
    root5 = math.sqrt(5.0)
    u = rng.random((draws, n), dtype=np.float32)
    return (1 - root5) / 2, (1 + root5) / 2, u < np.float32((root5 + 1) / (2 * root5))


@dataclass(frozen=True)
class BootDraws:
    """Bootstrap draws of the estimates' errors (draws x m)."""

    draws: np.ndarray
    kind: str

    @cached_property
    def _se(self) -> np.ndarray:
        q75, q25 = np.quantile(self.draws, [0.75, 0.25], axis=0, method="inverted_cdf")
        return np.asarray((q75 - q25) / IQR_NORMAL)  # R's quantile(type = 1)

    def se(self) -> np.ndarray:
        """Interquartile-range standard errors of the estimates (computed once)."""
        return self._se

    def critical_value(self, columns: np.ndarray, level: float, floor: float = 0.0) -> float:
        """Uniform-band critical value over ``columns`` (indices into the estimates), leaving
        out estimates whose bootstrap SE is at most ``floor`` (rounding noise: dividing by
        it made the critical value ~1e15; R ``did`` drops such degenerate columns too)."""
        se = self.se()[columns]
        ok = se > floor
        if not ok.any():
            return math.nan
        t = np.max(np.abs(self.draws[:, columns][:, ok]) / se[ok], axis=1)
        return float(np.quantile(t, level, method="inverted_cdf"))


def multiplier_bootstrap(wide: Wide, base: Base, coef: np.ndarray, *, draws: int,
                         seed: int, kind: str = "rademacher") -> BootDraws:
    """Draws of mean(v_c * psi_c) over clusters c, the errors of the m estimates
    ``base @ coef``. Chunks of :data:`CHUNK` draws, each from its own stream
    (``SeedSequence(seed).spawn``), go through ``parallel.map_items``: the same draws
    whatever runs them. The clusters are drawn in a data-derived order
    (``base.cluster_order``)."""
    from functools import partial

    from lpip_eval.parallel import map_items

    blocks = base.boot_blocks(wide)
    total = np.zeros(base.p)
    for _, _, left, right in blocks:
        total += left.sum(axis=0) @ right
    sizes = [min(CHUNK, draws - start) for start in range(0, draws, CHUNK)]
    streams = np.random.SeedSequence(seed).spawn(len(sizes))  # one per chunk, not per worker
    job = partial(_chunk_draws, blocks=blocks, total=total, kind=kind, n=wide.n,
                  clusters=max(hi for _, hi, _, _ in blocks))
    on_base = np.vstack(map_items(job, list(zip(sizes, streams, strict=True))))
    return BootDraws(on_base @ coef, kind)


def _chunk_draws(item: tuple[int, np.random.SeedSequence], *, blocks: list[Block],
                 total: np.ndarray, kind: str, n: int, clusters: int) -> np.ndarray:
    """One chunk of bootstrap draws from its own random stream: ``v @ sums / n`` with ``v``
    the two-point weights, as ``high * sum(sums) + (low - high) * (mask @ sums)``, run by
    run of clusters (``mask[:, run] @ left @ right``)."""
    size, stream = item
    low, high, is_low = _two_points(clusters, size, kind, np.random.default_rng(stream))
    on_low = np.zeros((size, len(total)))
    for lo, hi, left, right in blocks:
        on_low += (is_low[:, lo:hi].astype(float) @ left) @ right
    return (high * total + (low - high) * on_low) / n
