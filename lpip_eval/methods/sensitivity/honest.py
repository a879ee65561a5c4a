"""HonestDiD sensitivity of an event study's post-period effect (Rambachan & Roth 2023, "A
More Credible Approach to Parallel Trends", Review of Economic Studies 90(5)): how the
interval for the target (the first post period, or the average of the post periods) widens
when post-period trends may differ from the pre-period ones.

* ``smoothness``: Delta^SD(M), the FLCI (:mod:`.smoothness`); M in outcome units;
* ``relative-magnitudes``: Delta^RM(Mbar), the C-LF confidence set (:mod:`.relative_magnitudes`);
  Mbar a ratio to the largest pre-period change.

Each gives a row per value and the breakdown value: the largest M (Mbar) whose interval
excludes zero, solved by root finding, not read off the grid. The event-study coefficients
must be consecutive around the reference period -1 (leads ``-n..-2``, lags ``0..``), with the
estimator's cluster-robust covariance; with fewer than 10 treated areas that covariance is
unreliable (Conley & Taber 2011), so the analysis runs only when asked and says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from lpip_eval.methods.sensitivity.relative_magnitudes import RelativeMagnitudes
from lpip_eval.methods.sensitivity.smoothness import Flci

METHODS = ("smoothness", "relative-magnitudes")
DEFAULT_MBAR = (0.0, 0.5, 1.0, 1.5, 2.0)
DEFAULT_M_MULTIPLES = (0.0, 0.5, 1.0, 1.5, 2.0)  # times the target's standard error
FEW_TREATED = 10
MBAR_CAP = 10.0


@dataclass(frozen=True)
class Request:
    """What the user asked: methods (empty = both when there are 10+ treated areas; "none"
    = off), grids (empty = defaults), target (``first`` or ``average``), interval level."""

    methods: tuple[str, ...] = ()
    m: tuple[float, ...] = ()
    mbar: tuple[float, ...] = ()
    target: str = "average"
    level: float = 0.95


def request_of(spec: Any) -> Request:
    """The Request of a design spec's ``sensitivity*`` options (defaults where it has none)."""
    return Request(methods=tuple(getattr(spec, "sensitivity", ())),
                   m=tuple(getattr(spec, "sensitivity_m", ())),
                   mbar=tuple(getattr(spec, "sensitivity_mbar", ())),
                   target=getattr(spec, "sensitivity_target", "average"),
                   level=float(getattr(spec, "ci_level", 0.95)))


def analyse(event_times: tuple[int, ...] | list[int], beta: np.ndarray, vcov: np.ndarray,
            request: Request, n_treated: int) -> tuple[list[dict[str, Any]], list[str]]:
    """``diagnostics.sensitivity`` entries and warnings for event-time estimates ``beta``
    (one per ``event_times``, reference -1 left out) with covariance ``vcov``."""
    asked = tuple(m for m in request.methods if m != "none")
    if "none" in request.methods:
        return [], []
    methods = asked or (METHODS if n_treated >= FEW_TREATED else ())
    if not methods:
        return [], []
    keep = [j for j, e in enumerate(event_times) if int(e) != -1]  # -1: the reference, 0
    times = [int(event_times[j]) for j in keep]
    beta = np.asarray(beta, dtype=float)[keep]
    vcov = np.asarray(vcov, dtype=float)[np.ix_(keep, keep)]
    pre = [e for e in times if e < -1]
    post = [e for e in times if e >= 0]
    if not pre or not post:
        return [], ([] if not asked else [
            "sensitivity analysis skipped: it needs event-study coefficients both before "
            "(t <= -2) and after the start"])
    if pre != list(range(min(pre), -1)) or post != list(range(0, max(post) + 1)) \
            or len(pre) + len(post) != len(times):
        return [], ["sensitivity analysis skipped: the event times are not consecutive "
                    "around the reference period -1"]
    order = [times.index(e) for e in [*pre, *post]]
    beta = np.asarray(beta, dtype=float)[order]
    vcov = np.asarray(vcov, dtype=float)[np.ix_(order, order)]
    n_pre, n_post = len(pre), len(post)
    l_vec = np.zeros(n_post)
    if request.target == "first":
        l_vec[0] = 1.0
    else:
        l_vec[:] = 1.0 / n_post
    warnings: list[str] = []
    if n_treated < FEW_TREATED:
        warnings.append(f"sensitivity analysis with only {n_treated} treated areas: it rests "
                        "on the clustered covariance of the event-study estimates, which is "
                        "unreliable with fewer than 10 treated areas; read its intervals as "
                        "indicative")
    alpha = 1 - request.level
    estimate = float(l_vec @ beta[n_pre:])
    se = math.sqrt(max(float(l_vec @ vcov[n_pre:, n_pre:] @ l_vec), 0.0))
    z = float(special.ndtri(1 - alpha / 2))
    original = {"ci_low": estimate - z * se, "ci_high": estimate + z * se}
    out: list[dict[str, Any]] = []
    for method in methods:
        try:
            entry = (_smoothness(beta, vcov, n_pre, l_vec, alpha, request.m, se)
                     if method == "smoothness"
                     else _relative(beta, vcov, n_pre, l_vec, alpha, request.mbar))
        except (ValueError, np.linalg.LinAlgError) as exc:
            warnings.append(f"{method} sensitivity analysis failed: {exc}")
            continue
        out.append({"method": method, "target": request.target,
                    "target_periods": post if request.target == "average" else [0],
                    "original": dict(original), **entry})
    return out, warnings


def _smoothness(beta: np.ndarray, vcov: np.ndarray, n_pre: int, l_vec: np.ndarray,
                alpha: float, grid: tuple[float, ...], se: float) -> dict[str, Any]:
    flci = Flci(beta, vcov, n_pre, l_vec, alpha=alpha)
    values = grid or tuple(k * se for k in DEFAULT_M_MULTIPLES)
    rows = [_row(m, flci.interval(m)) for m in values]
    value = flci.breakdown()
    entry: dict[str, Any] = {"parameter": "M", "rows": rows,
                             "breakdown": None if value is None or math.isinf(value)
                             else value}
    if value is not None and math.isinf(value):
        entry["breakdown_note"] = "the interval excludes zero for every M"
    return entry


def _relative(beta: np.ndarray, vcov: np.ndarray, n_pre: int, l_vec: np.ndarray,
              alpha: float, grid: tuple[float, ...]) -> dict[str, Any]:
    rm = RelativeMagnitudes(beta, vcov, n_pre, l_vec, alpha=alpha)
    rows = []
    for m in grid or DEFAULT_MBAR:
        low, high = rm.interval(m)
        row = _row(m, (low, high))
        # a set reaching the grid's end (R's +-20 SE) is cut there: at least this wide
        row["reaches_search_limit"] = bool(low <= rm.grid[0] or high >= rm.grid[-1])
        rows.append(row)
    value = rm.breakdown(hi=MBAR_CAP)
    entry: dict[str, Any] = {"parameter": "Mbar", "rows": rows, "breakdown": value,
                             "search_range": [float(rm.grid[0]), float(rm.grid[-1])]}
    if value is not None and value >= MBAR_CAP:
        entry["breakdown_note"] = f"the set excludes zero up to Mbar = {MBAR_CAP:g}"
    return entry


def _row(m: float, interval: tuple[float, float]) -> dict[str, Any]:
    low, high = interval
    return {"m": float(m), "ci_low": None if math.isnan(low) else low,
            "ci_high": None if math.isnan(high) else high}
