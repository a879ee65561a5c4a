"""Aggregations of ATT(g,t) and their influence functions (Callaway & Sant'Anna 2021, §3;
R ``did``'s ``compute.aggte``).

* ``simple``: post-treatment cells weighted by cohort size (the headline);
* ``group``: per cohort, the mean of its post-treatment cells; overall weighted by size;
* ``dynamic``: per event time e = t - g, cells weighted by cohort size; overall = the mean
  over e >= 0;
* ``calendar``: per period, the treated cohorts' cells weighted by size; overall = the mean.

Where the weights are estimated cohort shares, the influence function carries their
estimation error (R ``did``'s ``wif``), so the standard errors match R's.

Every influence function here is linear in a few *base* columns (n areas x p): the ATT(g,t)
influence functions, per treated cohort g the weighted membership ``w_i 1[G_i = g]``, and a
column of ones (cohort g's share enters as ``w_i 1[G_i = g] - P(G = g) * 1``). An
aggregation is therefore stored as coefficients on the base (p per estimate), and standard
errors and bootstrap draws are computed once for the base, not per estimate; every base
column but the last is zero outside the areas of a few cohorts, which the bootstrap uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lpip_eval.methods.staggered.cohorts import Wide
from lpip_eval.methods.staggered.group_time import GroupTime


@dataclass(frozen=True)
class Aggregation:
    """One aggregation: per element ``keys`` (event time, cohort or period position),
    ``att`` and the influence functions' coefficients on the base ``coef`` (p x elements),
    and the ``overall`` effect with its coefficients ``overall_coef`` (p)."""

    kind: str
    keys: np.ndarray
    att: np.ndarray
    coef: np.ndarray
    overall: float
    overall_coef: np.ndarray


def aggregate_all(wide: Wide, gt: GroupTime) -> dict[str, Aggregation]:
    """The four aggregations of ``gt`` (see the module docstring)."""
    return {"simple": simple(wide, gt), "group": group(wide, gt),
            "dynamic": dynamic(wide, gt), "calendar": calendar(wide, gt)}


def _size(wide: Wide, gt: GroupTime) -> int:
    return len(gt.att) + len(wide.groups) + 1


def _wif(wide: Wide, gt: GroupTime, groups: np.ndarray, shares: np.ndarray,
         att: np.ndarray) -> np.ndarray:
    """Coefficients of ``wif @ att``, the influence of estimating the weights
    shares / sum(shares), on the membership columns of the cohorts ``groups``."""
    total = shares.sum()
    out = np.zeros(_size(wide, gt))
    coef = att / total - (shares @ att) / total**2  # on w 1[G = g] - P(G = g), per cell
    np.add.at(out, len(gt.att) + np.searchsorted(wide.groups, groups), coef)
    out[-1] = -(coef @ shares)
    return out


def _valid(gt: GroupTime) -> np.ndarray:
    return np.isfinite(gt.att)


def _weighted(wide: Wide, gt: GroupTime, keep: np.ndarray) -> tuple[float, np.ndarray]:
    """Cohort-size-weighted mean of the cells ``keep`` and its coefficients."""
    coef = np.zeros(_size(wide, gt))
    if not keep.any():
        return np.nan, coef
    groups = gt.group[keep]
    pg = wide.shares[groups]
    w = pg / pg.sum()
    coef[np.flatnonzero(keep)] = w
    return float(gt.att[keep] @ w), coef + _wif(wide, gt, groups, pg, gt.att[keep])


def _pack(kind: str, keys: list[int], parts: list[tuple[float, np.ndarray]],
          overall: tuple[float, np.ndarray]) -> Aggregation:
    att = np.array([p[0] for p in parts])
    coef = np.column_stack([p[1] for p in parts]) if parts else np.zeros((len(overall[1]), 0))
    return Aggregation(kind, np.array(keys, dtype=np.int64), att, coef, overall[0], overall[1])


def simple(wide: Wide, gt: GroupTime) -> Aggregation:
    value, coef = _weighted(wide, gt, gt.post & _valid(gt))
    return Aggregation("simple", np.zeros(0, dtype=np.int64), np.zeros(0),
                       np.zeros((len(coef), 0)), value, coef)


def group(wide: Wide, gt: GroupTime) -> Aggregation:
    groups = [int(g) for g in wide.groups]
    parts = []
    for g in groups:
        keep = (gt.group == g) & gt.post & _valid(gt)
        k = int(keep.sum())
        coef = np.zeros(_size(wide, gt))
        coef[np.flatnonzero(keep)] = 1 / max(k, 1)
        parts.append((float(gt.att[keep].mean()) if k else np.nan, coef))
    att = np.array([p[0] for p in parts])
    ok = np.isfinite(att)
    garr = np.array(groups, dtype=np.int64)[ok]
    pg = wide.shares[garr]
    overall = float(att[ok] @ pg / pg.sum())
    coef = np.column_stack([p[1] for p in parts])[:, ok] @ (pg / pg.sum())
    return _pack("group", groups, parts, (overall, coef + _wif(wide, gt, garr, pg, att[ok])))


def dynamic(wide: Wide, gt: GroupTime) -> Aggregation:
    event = gt.time - gt.group
    keys = [int(e) for e in np.unique(event)]
    parts = [_weighted(wide, gt, (event == e) & _valid(gt)) for e in keys]
    return _pack("dynamic", keys, parts, _mean_of(wide, gt, parts, [e >= 0 for e in keys]))


def calendar(wide: Wide, gt: GroupTime) -> Aggregation:
    first = int(gt.group.min())
    keys = [int(t) for t in np.unique(gt.time) if t >= first]
    parts = [_weighted(wide, gt, (gt.time == t) & gt.post & _valid(gt)) for t in keys]
    return _pack("calendar", keys, parts, _mean_of(wide, gt, parts, [True] * len(keys)))


def _mean_of(wide: Wide, gt: GroupTime, parts: list[tuple[float, np.ndarray]],
             use: list[bool]) -> tuple[float, np.ndarray]:
    chosen = [p for p, u in zip(parts, use, strict=True) if u and np.isfinite(p[0])]
    if not chosen:
        return np.nan, np.zeros(_size(wide, gt))
    return (float(np.mean([p[0] for p in chosen])),
            np.mean(np.column_stack([p[1] for p in chosen]), axis=1))
