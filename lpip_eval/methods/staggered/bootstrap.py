"""Standard errors from influence functions: analytic (clustered) and the multiplier
bootstrap of R ``did``'s ``mboot`` (Callaway & Sant'Anna 2021, §4).

With influence functions psi (n areas x m estimates), clustered by ``clusters``:

* analytic: se_j = sqrt(sum over clusters of (sum of psi_ij)^2) / n (R ``did`` with
  ``bstrap = FALSE``; with area clusters this is R's sqrt(mean(psi^2) / n));
* multiplier bootstrap: each draw multiplies every cluster's summed psi by an independent
  Mammen (default, as R's ``BMisc``) or Rademacher weight; se_j = the draws' interquartile
  range / (z_0.75 - z_0.25), and the uniform band's critical value is the 1 - alpha quantile
  of max_j |draw_j| / se_j over the estimates of a curve. Draws are made over the clusters
  in a data-derived order, so renaming areas or shuffling rows changes nothing. R sums
  cluster means; summing the psi (the same for area clusters) keeps the variance right when
  clusters differ in size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lpip_eval.methods.staggered.cohorts import Wide

IQR_NORMAL = 1.3489795003921634  # z_0.75 - z_0.25
CHUNK = 200  # draws per block: bounds memory at CHUNK x clusters


def cluster_sums(wide: Wide, inf: np.ndarray) -> np.ndarray:
    """psi summed within clusters (clusters x m)."""
    g = int(wide.clusters.max()) + 1
    out = np.zeros((g, inf.shape[1]))
    np.add.at(out, wide.clusters, inf)
    return out


def analytic_se(wide: Wide, inf: np.ndarray) -> np.ndarray:
    """Clustered influence-function standard errors of each column of ``inf``."""
    sums = cluster_sums(wide, inf)
    return np.sqrt(np.sum(sums**2, axis=0)) / wide.n


def cluster_order(wide: Wide) -> np.ndarray:
    """Clusters in the order of their first area in ``wide.order``."""
    g = int(wide.clusters.max()) + 1
    rank = np.full(g, len(wide.order))
    np.minimum.at(rank, wide.clusters[wide.order], np.arange(len(wide.order)))
    return np.argsort(rank, kind="stable")


def _two_points(n: int, draws: int, kind: str, rng: np.random.Generator
                ) -> tuple[float, float, np.ndarray]:
    """The two values of the weights and a (draws x n) mask of where the lower one is drawn
    (from single-precision uniforms: half the random bits, the same two-point law)."""
    u = rng.random((draws, n), dtype=np.float32)
    if kind == "rademacher":
        return -1.0, 1.0, u < np.float32(0.5)
    root5 = math.sqrt(5.0)
    return (1 - root5) / 2, (1 + root5) / 2, u < np.float32((root5 + 1) / (2 * root5))


@dataclass(frozen=True)
class BootDraws:
    """Bootstrap draws of the estimates' errors (draws x m)."""

    draws: np.ndarray
    kind: str

    def se(self) -> np.ndarray:
        q75, q25 = np.quantile(self.draws, [0.75, 0.25], axis=0)
        return (q75 - q25) / IQR_NORMAL

    def critical_value(self, columns: np.ndarray, level: float) -> float:
        """Uniform-band critical value over ``columns`` (indices into the estimates)."""
        se = self.se()[columns]
        ok = se > 0
        if not ok.any():
            return math.nan
        t = np.max(np.abs(self.draws[:, columns][:, ok]) / se[ok], axis=1)
        return float(np.quantile(t, level))


def multiplier_bootstrap(wide: Wide, inf: np.ndarray, *, draws: int, seed: int,
                         kind: str = "mammen") -> BootDraws:
    """Draws of mean(v_c * psi_c) over clusters c, the errors of the m estimates. Chunks of
    :data:`CHUNK` draws, each from its own stream (``SeedSequence(seed).spawn``), go through
    ``parallel.map_items``: the same draws whatever runs them."""
    from functools import partial

    from lpip_eval.parallel import map_items

    sums = cluster_sums(wide, inf)[cluster_order(wide)]
    sizes = [min(CHUNK, draws - start) for start in range(0, draws, CHUNK)]
    streams = np.random.SeedSequence(seed).spawn(len(sizes))  # one per chunk, not per worker
    job = partial(_chunk_draws, sums=sums, kind=kind, n=wide.n)
    return BootDraws(np.vstack(map_items(job, list(zip(sizes, streams, strict=True)))), kind)


def _chunk_draws(item: tuple[int, np.random.SeedSequence], *, sums: np.ndarray, kind: str,
                 n: int) -> np.ndarray:
    """One chunk of bootstrap draws from its own random stream: ``v @ sums / n`` with ``v``
    the two-point weights, as ``high * sum(sums) + (low - high) * (mask @ sums)``."""
    size, stream = item
    low, high, is_low = _two_points(len(sums), size, kind, np.random.default_rng(stream))
    return (high * sums.sum(axis=0) + (low - high) * (is_low.astype(float) @ sums)) / n
