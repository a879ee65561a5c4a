"""Aggregations of ATT(g,t) and their influence functions (Callaway & Sant'Anna 2021, §3;
R ``did``'s ``compute.aggte``).

* ``simple``: post-treatment cells weighted by cohort size (the headline);
* ``group``: per cohort, the mean of its post-treatment cells; overall weighted by size;
* ``dynamic``: per event time e = t - g, cells weighted by cohort size; overall = the mean
  over e >= 0;
* ``calendar``: per period, the treated cohorts' cells weighted by size; overall = the mean.

Where the weights are estimated cohort shares, the influence function carries their
estimation error (R ``did``'s ``wif``), so the standard errors match R's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lpip_eval.methods.staggered.cohorts import Wide
from lpip_eval.methods.staggered.group_time import GroupTime


@dataclass(frozen=True)
class Aggregation:
    """One aggregation: per element ``keys`` (event time, cohort or period position),
    ``att`` and influence functions ``inf`` (n x elements; None without), and the
    ``overall`` effect with its influence function."""

    kind: str
    keys: np.ndarray
    att: np.ndarray
    inf: np.ndarray | None
    overall: float
    overall_inf: np.ndarray | None


def aggregate_all(wide: Wide, gt: GroupTime) -> dict[str, Aggregation]:
    """The four aggregations of ``gt`` (see the module docstring)."""
    return {"simple": simple(wide, gt), "group": group(wide, gt),
            "dynamic": dynamic(wide, gt), "calendar": calendar(wide, gt)}


def _shares(wide: Wide, groups: np.ndarray) -> np.ndarray:
    """P(G = g) for each entry of ``groups``: the weighted share of areas in the cohort."""
    by_group = {int(g): float(np.mean(wide.weights * (wide.cohort == g)))
                for g in np.unique(groups)}
    return np.array([by_group[int(g)] for g in groups])


def _wif(wide: Wide, groups: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Influence of estimating the weights shares/sum(shares) (n x len(groups))."""
    total = shares.sum()
    member = wide.weights[:, None] * (wide.cohort[:, None] == groups[None, :]) - shares
    return member / total - member.sum(axis=1)[:, None] * (shares / total**2)[None, :]


def _combine(att: np.ndarray, inf: np.ndarray | None, keep: np.ndarray, weights: np.ndarray,
             wif: np.ndarray | None) -> np.ndarray | None:
    if inf is None:
        return None
    out = inf[:, keep] @ weights
    if wif is not None:
        out = out + wif @ att[keep]
    return out


def _valid(gt: GroupTime) -> np.ndarray:
    return np.isfinite(gt.att)


def _weighted(wide: Wide, gt: GroupTime, keep: np.ndarray) -> tuple[float, np.ndarray | None]:
    """Cohort-size-weighted mean of the cells ``keep`` and its influence function."""
    if not keep.any():
        return np.nan, None if gt.inf is None else np.zeros(wide.n)
    pg = _shares(wide, gt.group[keep])
    w = pg / pg.sum()
    wif = None if gt.inf is None else _wif(wide, gt.group[keep], pg)
    return float(gt.att[keep] @ w), _combine(gt.att, gt.inf, keep, w, wif)


def _pack(kind: str, keys: list[int], parts: list[tuple[float, np.ndarray | None]],
          overall: tuple[float, np.ndarray | None]) -> Aggregation:
    att = np.array([p[0] for p in parts])
    inf = None if not parts or parts[0][1] is None else \
        np.column_stack([p[1] for p in parts])  # type: ignore[misc]
    return Aggregation(kind, np.array(keys, dtype=np.int64), att, inf, overall[0], overall[1])


def simple(wide: Wide, gt: GroupTime) -> Aggregation:
    value, psi = _weighted(wide, gt, gt.post & _valid(gt))
    return Aggregation("simple", np.zeros(0, dtype=np.int64), np.zeros(0), None, value, psi)


def group(wide: Wide, gt: GroupTime) -> Aggregation:
    groups = [int(g) for g in wide.groups]
    parts = []
    for g in groups:
        keep = (gt.group == g) & gt.post & _valid(gt)
        k = int(keep.sum())
        mean = float(gt.att[keep].mean()) if k else np.nan
        parts.append((mean, _combine(gt.att, gt.inf, keep, np.full(k, 1 / max(k, 1)), None)))
    att = np.array([p[0] for p in parts])
    ok = np.isfinite(att)
    garr = np.array(groups, dtype=np.int64)
    pg = _shares(wide, garr[ok])
    overall = float(att[ok] @ pg / pg.sum())
    psi = None
    if gt.inf is not None:
        inf = np.column_stack([p[1] for p in parts])  # type: ignore[misc]
        psi = inf[:, ok] @ (pg / pg.sum()) + _wif(wide, garr[ok], pg) @ att[ok]
    return _pack("group", groups, parts, (overall, psi))


def dynamic(wide: Wide, gt: GroupTime) -> Aggregation:
    event = gt.time - gt.group
    keys = [int(e) for e in np.unique(event)]
    parts = [_weighted(wide, gt, (event == e) & _valid(gt)) for e in keys]
    return _pack("dynamic", keys, parts, _mean_of(parts, [e >= 0 for e in keys]))


def calendar(wide: Wide, gt: GroupTime) -> Aggregation:
    first = int(gt.group.min())
    keys = [int(t) for t in np.unique(gt.time) if t >= first]
    parts = [_weighted(wide, gt, (gt.time == t) & gt.post & _valid(gt)) for t in keys]
    return _pack("calendar", keys, parts, _mean_of(parts, [True] * len(keys)))


def _mean_of(parts: list[tuple[float, np.ndarray | None]], use: list[bool]
             ) -> tuple[float, np.ndarray | None]:
    chosen = [p for p, u in zip(parts, use, strict=True) if u and np.isfinite(p[0])]
    if not chosen:
        return np.nan, None
    value = float(np.mean([p[0] for p in chosen]))
    if chosen[0][1] is None:
        return value, None
    return value, np.mean(np.column_stack([p[1] for p in chosen]), axis=1)  # type: ignore[misc]
