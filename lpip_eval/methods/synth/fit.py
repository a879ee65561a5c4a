"""Fitting one synthetic control, for the pilot or for a placebo, and the refit loop.

:class:`SynthProblem` holds the outcome and predictor arrays of every unit and the period
windows; :func:`fit_unit` standardises the predictors over the target and its donors (as R's
Synth does for each ``dataprep``), chooses V (``weights.search_v`` or a fixed rule),
solves W exactly and returns the gap in every period. :func:`run_task` and :func:`map_fits`
run many refits through ``parallel.map_items``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lpip_eval.methods.synth.weights import VProblem, regression_v, search_v, standardise


@contextmanager
def missing_allowed() -> Iterator[None]:
    """NaN for means over all-missing slices, without NumPy's RuntimeWarnings.

    ``np.errstate`` alone does not silence ``nanmean``'s "Mean of empty slice" (a Python
    warning, not a floating-point flag), which reached users' terminals (issue 10, item 11).
    """
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        warnings.filterwarnings("ignore", "Degrees of freedom <= 0", RuntimeWarning)
        yield


@dataclass(frozen=True)
class SynthProblem:
    """Everything a fit needs, for any target unit (picklable for the placebo workers).

    ``y``: outcome (units x periods, NaN if missing); ``x``: raw predictors (k x units);
    ``x_train``: the cv training-window predictors (else None); ``fit``: period indices
    whose outcome MSPE V minimises (``valid`` instead for cv); ``pre``/``post``: the
    period indices before and from the start; ``lags``: per predictor, its period index if
    it is the outcome's value in a fit period, else -1; ``v``: "optimize", "equal",
    "regression" or explicit weights; ``nearest``: donors kept per fit (None = all).
    """

    y: np.ndarray
    x: np.ndarray
    x_train: np.ndarray | None
    fit: np.ndarray
    valid: np.ndarray | None
    pre: np.ndarray
    post: np.ndarray
    lags: np.ndarray
    v: str | tuple[float, ...] = "optimize"
    penalty: float = 0.0
    nearest: int | None = None
    seed: int = 0
    ranks: np.ndarray | None = None  # row -> place in a data-derived order (None: the row)


@dataclass(frozen=True)
class UnitFit:
    """A fitted synthetic control: donors used, their weights, V, the gap in every period."""

    target: int
    donors: np.ndarray
    w: np.ndarray
    v: np.ndarray
    gaps: np.ndarray
    pre_mspe: float
    post_mspe: float
    start: int
    end: int
    search: dict[str, object] = field(default_factory=dict)

    @property
    def att(self) -> float:
        """Mean gap over the post-period ``[start, end)``."""
        post = self.gaps[self.start:self.end]
        return float(np.nanmean(post)) if np.isfinite(post).any() else math.nan

    @property
    def ratio(self) -> float:
        """Post- over pre-period RMSPE (ADH 2010's placebo statistic)."""
        if not self.pre_mspe > 0:
            return math.inf if self.post_mspe > 0 else 1.0
        return math.sqrt(self.post_mspe / self.pre_mspe)



@dataclass(frozen=True)
class _Matrices:
    prob: VProblem
    x1s: np.ndarray
    x0s: np.ndarray
    z1: np.ndarray
    z0: np.ndarray
    sd: np.ndarray


def _matrices(p: SynthProblem, x: np.ndarray, target: int, donors: np.ndarray,
              window: np.ndarray) -> _Matrices:
    xs, sd = standardise(x[:, np.append(donors, target)])
    x0s, x1s = xs[:, :-1], xs[:, -1]
    z0, z1 = p.y[np.ix_(donors, window)].T, p.y[target, window]
    prob = VProblem(d=x0s - x1s[:, None], e=z0 - z1[:, None], penalty=p.penalty)
    return _Matrices(prob, x1s, x0s, z1, z0, sd)


def nearest_donors(p: SynthProblem, target: int, donors: np.ndarray) -> np.ndarray:
    """The ``p.nearest`` donors closest to ``target`` in RMS outcome over the fit window."""
    if p.nearest is None or p.nearest >= len(donors):
        return donors
    dist = np.mean((p.y[np.ix_(donors, p.fit)] - p.y[target, p.fit]) ** 2, axis=1)
    return np.sort(donors[np.argsort(dist, kind="stable")[:p.nearest]])


def _rank(p: SynthProblem, target: int) -> int:
    """The V search's seed offset for ``target``: its place in the data-derived order, so
    renaming areas or shuffling rows does not change the search (issue 9)."""
    return int(target) if p.ranks is None else int(p.ranks[target])


def fit_unit(p: SynthProblem, target: int, donors: np.ndarray) -> UnitFit:
    """Synthetic control for row ``target`` of ``p.y`` from the rows ``donors``."""
    donors = nearest_donors(p, target, donors)
    train = p.x if p.x_train is None else p.x_train
    mats = _matrices(p, train, target, donors, p.fit if p.valid is None else p.valid)
    prob, k = mats.prob, mats.prob.k
    regression = regression_v(mats.x1s, mats.x0s, mats.z1, mats.z0)
    search: dict[str, object]
    if isinstance(p.v, tuple) or p.v in ("equal", "regression"):
        given = np.asarray(p.v, dtype=float) if isinstance(p.v, tuple) else None
        v = given if given is not None else regression if p.v == "regression" else None
        v = np.full(k, 1.0 / k) if v is None else v / v.sum()
        w = prob.solve_w(v, warm=False).w
        search = {"method": f"none (V {p.v if isinstance(p.v, str) else 'given'})",
                  "starts": 0, "evaluations": 1, "best_loss": prob.loss_w(w)}
    else:
        on = p.lags >= 0
        lag = np.where(on, mats.sd ** 2, 0.0)
        res = search_v(prob, extra_starts=[lag / lag.sum()] if on.any() else [],
                       regression_start=regression, seed=p.seed + _rank(p, target))
        v, w = res.v, res.w
        search = {"method": res.method, "starts": res.starts, "evaluations": res.evaluations,
                  "best_loss": res.loss, "lower_bound": res.lower_bound,
                  "certified_global": res.certified, "pilot_inside_hull": res.interior}
    if p.x_train is not None:  # cv: W from the validation-window predictors
        w = _matrices(p, p.x, target, donors, p.fit).prob.solve_w(v, warm=False).w
    gaps = p.y[target] - w @ p.y[donors]
    post = gaps[p.post]
    with missing_allowed():
        post_mspe = float(np.nanmean(post ** 2)) if np.isfinite(post).any() else math.nan
    return UnitFit(target=int(target), donors=donors, w=w, v=v, gaps=gaps,
                   pre_mspe=float(np.nanmean(gaps[p.pre] ** 2)), post_mspe=post_mspe,
                   start=int(p.pre[-1]) + 1, end=int(p.post[-1]) + 1 if len(p.post) else 0,
                   search=search)


def run_task(problems: tuple[SynthProblem, ...], task: tuple[int, int, np.ndarray]) -> UnitFit:
    """One refit for ``parallel.map_items``: (problem index, target row, donor pool)."""
    which, target, pool = task
    fit = fit_unit(problems[which], target, pool[pool != target])
    return UnitFit(fit.target, fit.donors, fit.w, fit.v, fit.gaps, fit.pre_mspe, fit.post_mspe,
                   fit.start, fit.end)


def _run_block(fn: Callable[[Any], UnitFit], block: list[Any]) -> list[UnitFit]:
    return [fn(item) for item in block]


def map_fits(fn: Callable[[Any], UnitFit], items: list[Any], workers: int,
             progress: Callable[[int, int], None] | None) -> list[UnitFit]:
    """Run ``fn`` over ``items`` through ``parallel.map_items``, calling ``progress(done,
    total)`` along the way.

    ``workers``: the processes of the active backend (``parallel.active_workers``; the
    spec's ``workers`` without one). ``map_items`` hands items to local processes in chunks
    of 16, so the items are grouped into 16 blocks per process of about equal size: every
    process then gets the same number of fits. A fit does not depend on its block. With
    progress, the work goes in up to 4 rounds (serially: one call per fit), each round a call
    to ``map_items``.
    """
    from functools import partial

    from lpip_eval.parallel import active_workers, map_items

    total = len(items)
    workers = active_workers(workers)
    if workers <= 1:
        out: list[UnitFit] = []
        for item in items:
            out.extend(map_items(fn, [item]))
            if progress is not None:
                progress(len(out), total)
        return out
    rounds = 1 if progress is None else min(4, max(1, total // (8 * workers)))
    out = []
    for r in range(rounds):
        part = items[r * total // rounds:(r + 1) * total // rounds]
        n_blocks = 16 * workers
        blocks = [part[i * len(part) // n_blocks:(i + 1) * len(part) // n_blocks]
                  for i in range(n_blocks)]
        for block in map_items(partial(_run_block, fn), blocks, workers=workers):
            out.extend(block)
        if progress is not None:
            progress(len(out), total)
    return out
