"""Areas in an order derived from their data alone.

Sampled randomization and bootstrap draws are tied to this order, not to the areas' names
or the rows' order, so renaming areas, shuffling rows, adding a constant to the outcome or
rescaling it draws the same assignments and weights (tests/methods/test_invariance.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only
    from lpip_eval.data.panel import Panel


def _negative_first(dev: np.ndarray, companion: np.ndarray | None) -> bool:
    """Whether flipping the sign makes ``dev`` canonical: by its third moment, else its
    covariance with ``companion`` (period or regressor), else its sorted values."""
    tol = 1e-6 * max(1, len(dev))
    for moment in (float(np.sum(dev * dev * dev)),
                   float(np.sum(dev * companion)) if companion is not None else 0.0):
        if abs(moment) > tol:
            return moment < 0
    up, down = np.sort(dev), np.sort(-dev)
    differ = np.flatnonzero(up != down)
    return bool(len(differ)) and bool(down[differ[0]] > up[differ[0]])


def lexsort_by_leading_keys(keys: list[np.ndarray], leading: int = 2) -> np.ndarray:
    """``np.lexsort(keys)``, sorting by the ``leading`` primary keys (the last ones) first
    and by the rest only within the runs that tie on them: far fewer passes when ties are
    rare, the same permutation always."""
    if len(keys) <= leading:
        return np.lexsort(keys)
    order = np.lexsort(keys[-leading:])
    tie = np.ones(len(order) - 1, dtype=bool) if len(order) else np.zeros(0, dtype=bool)
    for key in keys[-leading:]:
        ranked = key[order]
        same = ranked[1:] == ranked[:-1]
        if ranked.dtype.kind == "f":  # lexsort puts NaNs together, last: they tie
            same |= np.isnan(ranked[1:]) & np.isnan(ranked[:-1])
        tie &= same
    if not tie.any():
        return order
    starts = np.concatenate([[True], ~tie])
    run = np.cumsum(starts) - 1  # run number of each sorted position
    in_run = np.concatenate([tie, [False]]) | np.concatenate([[False], tie])
    pos = np.flatnonzero(in_run)
    rows = order[pos]
    inner = np.lexsort([k[rows] for k in keys[:-leading]] + [run[pos]])
    order[pos] = rows[inner]
    return order


def canonical_wide_order(y: np.ndarray, group: np.ndarray | None = None) -> np.ndarray:
    """:func:`canonical_unit_order` of a balanced panel given as an (areas x periods) array:
    the same key, without going through rows."""
    dev = y - y.mean(axis=1, keepdims=True)
    scale = max(float(np.abs(dev).max()) if dev.size else 0.0, 1e-300)
    dev = np.round(dev / scale, 9)
    companion = np.broadcast_to(np.arange(y.shape[1], dtype=float), dev.shape)
    if _negative_first(dev.ravel(), companion.ravel()):
        dev = -dev
    keys = [dev[:, j] for j in range(y.shape[1] - 1, -1, -1)]
    if group is not None:
        keys.append(np.asarray(group, dtype=float))
    return lexsort_by_leading_keys(keys)


def canonical_unit_order(unit_idx: np.ndarray, y: np.ndarray, n_units: int,
                         group: np.ndarray | None = None,
                         time_idx: np.ndarray | None = None,
                         row_key: np.ndarray | None = None) -> np.ndarray:
    """Areas in an order derived from their data alone.

    Key: (``group``, e.g. treatment timing; number of rows; the area's deviations from its
    own mean, by period if ``time_idx`` is given, else sorted by (``row_key``, deviation),
    with ``row_key`` itself part of the key; deviations scaled by the largest and
    signed so that the third moment is non-negative). Unchanged by renaming areas,
    shuffling rows, adding a constant to y or multiplying it by any non-zero number, so
    sampled randomization and bootstrap draws are invariant to all of these. Areas that
    still tie have the same data up to a level shift, which no DiD statistic sees.
    """
    rows = np.bincount(unit_idx, minlength=n_units)
    mean = np.bincount(unit_idx, weights=y, minlength=n_units) / np.maximum(rows, 1)
    dev = y - mean[unit_idx]
    scale = max(float(np.abs(dev).max()) if len(dev) else 0.0, 1e-300)
    dev = dev / scale
    dev = np.round(dev, 9)
    companion = row_key if row_key is not None else time_idx
    if _negative_first(dev, None if companion is None else companion.astype(float)):
        dev = -dev
    if time_idx is not None:
        width = int(time_idx.max()) + 1 if len(time_idx) else 0
        padded = np.full((n_units, width), 9.0)
        padded[unit_idx, time_idx] = dev
    else:
        extra = np.zeros(len(dev)) if row_key is None else np.round(row_key, 9)
        order = np.lexsort((dev, extra, unit_idx))
        width = int(rows.max()) if n_units else 0
        padded = np.full((n_units, 2 * width), 9.0)
        position = np.arange(len(order)) - np.repeat(np.cumsum(rows) - rows, rows)
        padded[unit_idx[order], 2 * position] = extra[order]
        padded[unit_idx[order], 2 * position + 1] = dev[order]
        width *= 2
    keys = [padded[:, j] for j in range(width - 1, -1, -1)]
    keys.append(rows.astype(float))
    if group is not None:
        keys.append(np.asarray(group, dtype=float))
    return lexsort_by_leading_keys(keys, leading=len(keys) - width + 1)


def panel_unit_order(panel: Panel) -> np.ndarray:
    """:func:`canonical_unit_order` of a panel's areas, grouped by their start (the DiD
    designs' randomization draws)."""
    return canonical_unit_order(panel.unit_idx, panel.y, panel.n_units, panel.first_treated,
                                panel.time_idx)
