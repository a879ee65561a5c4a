"""Is the pilot exchangeable with the comparison areas? The check behind synthetic DiD's
placebo standard error, and the rank-based fallback (issue 12).

The placebo SE (Arkhangelsky et al. 2021, Algorithm 4) measures how much the estimate moves
when comparison areas play the pilot, so it assumes the pilot's unexplained variation is like
theirs. A pilot whose pre-period mean (level) or the SD of its period-to-period changes
(scale) lies above the 95th or below the 5th percentile of the comparison areas' is flagged:
then placebo-in-space rank inference on the sdid estimates is used (Abadie, Diamond &
Hainmueller 2010's logic: every comparison area plays the pilot once; p is the pilot's rank
in absolute estimates, ties against the pilot), whose range inverts the test under a
constant additive effect (the estimate moves one for one with it, since omega fits the
pre-period and lambda the comparison areas only).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

LOW_PCT, HIGH_PCT = 5.0, 95.0


def exchangeability(y: np.ndarray, n0: int, t0: int, outcome: str) -> dict[str, Any]:
    """Level and scale of the pilot (mean of the pilot rows) against the comparison areas'
    5th-95th percentiles; ``ok`` False with a suggestion when outside."""
    co, pilot = y[:n0, :t0], y[n0:, :t0].mean(axis=0)
    levels, level = co.mean(axis=1), float(pilot.mean())
    scales = np.std(np.diff(co, axis=1), axis=1, ddof=1) if t0 > 2 else None
    scale = float(np.std(np.diff(pilot), ddof=1)) if t0 > 2 else math.nan
    out: dict[str, Any] = {"level": level, "level_percentile": _pct(levels, level),
                           "scale": scale,
                           "scale_percentile": _pct(scales, scale) if scales is not None
                           else None}
    problems = []
    for what, pct in (("level", out["level_percentile"]), ("scale", out["scale_percentile"])):
        if pct is not None and (pct > HIGH_PCT or pct < LOW_PCT):
            side = "above" if pct > HIGH_PCT else "below"
            problems.append(f"its {what} ({'mean' if what == 'level' else 'SD of changes'}) "
                            f"is {side} the {HIGH_PCT if side == 'above' else LOW_PCT:.0f}th "
                            "percentile of the comparison areas'")
    out["ok"] = not problems
    out["problems"] = problems
    out["suggestion"] = (None if not problems else
                         f"use {outcome} per resident (or another rate) so the pilot is "
                         "comparable with the comparison areas, or --inference conformal")
    return out


def _pct(values: np.ndarray | None, x: float) -> float | None:
    if values is None or not len(values) or not math.isfinite(x):
        return None
    return 100.0 * float(np.mean(values < x) + 0.5 * np.mean(values == x))


def rank_inference(tau: float, placebo: np.ndarray, level: float
                   ) -> tuple[float, float, float, str | None]:
    """(p, low, high, note): the pilot's rank among ``|placebo|`` and the inverted range
    ``tau +- threshold`` (NaN ends with the reason if the placebos are too few)."""
    n = len(placebo)
    size = np.abs(placebo)
    tol = 1e-9 * max(1.0, abs(tau))
    p = (1 + int(np.sum(size >= abs(tau) - tol))) / (n + 1)
    m = math.floor((1 - level) * (n + 1) - 1 + 1e-12) + 1
    if m <= 0:
        return p, math.nan, math.nan, (f"no {level:.0%} range: with {n} placebos every effect "
                                       "size is consistent with the placebo distribution")
    threshold = float(np.sort(size)[::-1][m - 1])
    return p, tau - threshold, tau + threshold, None


def each_donor(n0: int, n1: int) -> np.ndarray:
    """Permutations in which each comparison area in turn is the placebo pilot (one pilot)."""
    if n1 != 1:
        raise ValueError("each_donor is for one pilot area")
    rows = [np.append(np.delete(np.arange(n0), j), j) for j in range(n0)]
    return np.array(rows, dtype=np.int64)
