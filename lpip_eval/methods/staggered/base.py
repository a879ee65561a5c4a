"""The base columns every Callaway & Sant'Anna influence function combines, and what the
standard errors and the multiplier bootstrap need from them.

An estimate's influence function is ``base @ coef`` (``aggregate``): the base holds the
ATT(g,t) influence functions, each treated cohort's weighted membership ``w_i 1[G_i = g]``,
and a column of ones (p columns). Two forms:

* :class:`DenseBase`, the n x p matrix, for the estimators with covariates or weights;
* :class:`CohortBase`, without covariates or weights: on the areas of cohort c every base
  column is a combination of c's outcomes ``Z_c`` (each area's mean over periods and then
  the cohort's mean in each period taken out) and a constant, ``[Z_c, 1] @ A_c``. The
  influence function of ATT(g,t) on cohort g is ``n / n_g (Z_g[:, t] - Z_g[:, base])``,
  and on a comparison cohort c ``-n / n_comparison`` times the same of c plus the gap
  between c's mean change and the whole comparison group's (R ``did``'s
  ``compute.att_gt``). Variances (through a QR of each Z_c) and each bootstrap draw then
  cost areas x (periods + 1), not areas x p, and no n x p matrix is built.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lpip_eval.methods.staggered.cohorts import Wide
from lpip_eval.methods.staggered.group_time import GroupTime

# A run of areas of the bootstrap's cluster-by-cluster product: rows [lo, hi) in the draw
# order, their values (rows x r) and the map onto the base (r x p).
Block = tuple[int, int, np.ndarray, np.ndarray]
RUN = 2048  # rows per run of a dense base


def cluster_sums(wide: Wide, values: np.ndarray) -> np.ndarray:
    """``values`` summed within clusters (clusters x m, row c = cluster code c)."""
    g = int(wide.clusters.max()) + 1
    if g == wide.n:  # every area its own cluster: a reordering
        out = np.empty((g, values.shape[1]))
        out[wide.clusters] = values
        return out
    order = np.argsort(wide.clusters, kind="stable")
    starts = np.searchsorted(wide.clusters[order], np.arange(g))
    return np.add.reduceat(values[order], starts, axis=0)


def by_area(wide: Wide) -> bool:
    """Whether every area is its own cluster."""
    return int(wide.clusters.max()) + 1 == wide.n


def cluster_order(wide: Wide) -> np.ndarray:
    """Clusters in the order of their first area in ``wide.order``."""
    g = int(wide.clusters.max()) + 1
    rank = np.full(g, len(wide.order))
    np.minimum.at(rank, wide.clusters[wide.order], np.arange(len(wide.order)))
    return np.argsort(rank, kind="stable")


@dataclass(frozen=True)
class DenseBase:
    """The base as an n x p matrix."""

    values: np.ndarray

    @property
    def p(self) -> int:
        return int(self.values.shape[1])

    def dense(self, wide: Wide) -> np.ndarray:
        return self.values

    def root(self, wide: Wide) -> np.ndarray:
        """F with F'F = S'S, S the base summed within clusters: S itself when clusters are
        groups of areas, else the R of S's QR (p x p instead of n x p)."""
        if not by_area(wide):
            return cluster_sums(wide, self.values)
        return np.asarray(np.linalg.qr(self.values, mode="r"))

    def cluster_sums(self, wide: Wide) -> np.ndarray:
        return cluster_sums(wide, self.values)

    def boot_blocks(self, wide: Wide) -> list[Block]:
        return sparse_runs(self.cluster_sums(wide)[cluster_order(wide)])


def sparse_runs(sums: np.ndarray, rows: int = RUN) -> list[Block]:
    """``sums`` cut into runs of rows, each with only its columns that are not all zero
    (an ATT(g,t) influence function is zero outside cohort g and its comparison areas, and
    the clusters are in cohort order)."""
    out = []
    for lo in range(0, len(sums), rows):
        part = sums[lo:lo + rows]
        cols = np.flatnonzero(np.any(part != 0, axis=0))
        out.append((lo, lo + len(part), np.ascontiguousarray(part[:, cols]),
                    np.eye(sums.shape[1])[cols]))
    return out


@dataclass(frozen=True)
class CohortBase:
    """The base as ``[Z_c, 1] @ A_c`` on each cohort's areas (see the module docstring):
    ``z`` (n x periods + 1: every area's Z row and a 1), ``codes`` the cohorts with areas,
    ``maps`` their A_c ((periods + 1) x p)."""

    z: np.ndarray
    codes: tuple[int, ...]
    maps: tuple[np.ndarray, ...]

    @property
    def p(self) -> int:
        return int(self.maps[0].shape[1])

    def dense(self, wide: Wide) -> np.ndarray:
        out = np.zeros((wide.n, self.p))
        for code, a in zip(self.codes, self.maps, strict=True):
            rows = wide.cohort == code
            out[rows] = self.z[rows] @ a
        return out

    def root(self, wide: Wide) -> np.ndarray:
        """F with F'F = S'S: the cluster sums, or with each area its own cluster the
        cohorts' R_c A_c stacked (Z_c = Q_c R_c), so a variance is a sum of squares."""
        if not by_area(wide):
            return self.cluster_sums(wide)
        parts = [np.linalg.qr(self.z[wide.cohort == code], mode="r") @ a
                 for code, a in zip(self.codes, self.maps, strict=True)]
        return np.vstack(parts)

    def cluster_sums(self, wide: Wide) -> np.ndarray:
        out = np.zeros((int(wide.clusters.max()) + 1, self.p))
        for code, a in zip(self.codes, self.maps, strict=True):
            rows = wide.cohort == code
            z = np.zeros((len(out), self.z.shape[1]))
            np.add.at(z, wide.clusters[rows], self.z[rows])
            out += z @ a
        return out

    def boot_blocks(self, wide: Wide) -> list[Block]:
        if not by_area(wide):
            return sparse_runs(self.cluster_sums(wide)[cluster_order(wide)])
        order = wide.order  # cohort first, so each cohort is one run of the draw order
        cohort = wide.cohort[order]
        if np.any(np.diff(cohort) < 0):
            return sparse_runs(self.cluster_sums(wide)[cluster_order(wide)])
        out = []
        for code, a in zip(self.codes, self.maps, strict=True):
            lo, hi = np.searchsorted(cohort, [code, code + 1])
            out.append((int(lo), int(hi), self.z[order[lo:hi]], a))
        return out


Base = DenseBase | CohortBase


def influence_base(wide: Wide, gt: GroupTime) -> Base:
    """The base of ``gt``'s estimates: dense when ``gt`` carries influence functions, else
    per cohort."""
    if gt.inf is not None:
        member = wide.weights[:, None] * (wide.cohort[:, None] == wide.groups[None, :])
        return DenseBase(np.hstack([gt.inf, member, np.ones((wide.n, 1))]))
    if wide.x is not None or not np.all(wide.weights == 1.0):
        raise ValueError("group_time was run without influence functions")
    return _cohort_base(wide, gt)


def _cohort_base(wide: Wide, gt: GroupTime) -> CohortBase:
    n, n_t = wide.n, wide.n_periods
    y = wide.y - wide.y.mean(axis=1, keepdims=True)
    k = n_t + 1
    sizes = np.bincount(wide.cohort, minlength=k)
    means = np.column_stack([np.bincount(wide.cohort, weights=y[:, t], minlength=k)
                             for t in range(n_t)]) / np.maximum(sizes, 1)[:, None]
    z = np.column_stack([y - means[wide.cohort], np.ones(n)])
    cells = len(gt.att)
    p = cells + len(wide.groups) + 1
    codes = np.flatnonzero(sizes)  # only cohorts with areas get a map
    slot = np.full(k, -1)
    slot[codes] = np.arange(len(codes))
    maps = np.zeros((len(codes), n_t + 1, p))
    maps[:, n_t, p - 1] = 1.0
    maps[slot[wide.groups], n_t, cells + np.arange(len(wide.groups))] = 1.0
    live = np.flatnonzero(np.isfinite(gt.att) & (gt.time != gt.base))
    for j in live.tolist():
        g, t, b = int(gt.group[j]), int(gt.time[j]), int(gt.base[j])
        scale = n / gt.n_treated[j]
        maps[slot[g], t, j] += scale
        maps[slot[g], b, j] -= scale
        comp = np.flatnonzero(gt.comparison[j] & (sizes > 0))
        change = means[comp, t] - means[comp, b]  # each comparison cohort's mean change
        pooled = sizes[comp] @ change / gt.n_control[j]
        scale = -n / gt.n_control[j]
        maps[slot[comp], t, j] += scale
        maps[slot[comp], b, j] -= scale
        maps[slot[comp], n_t, j] += scale * (change - pooled)
    return CohortBase(z=z, codes=tuple(int(c) for c in codes),
                      maps=tuple(maps[i] for i in range(len(codes))))
