"""Design-based minimum detectable effects: the real procedure on placebo pilots.

From the history before the planned start, many *placebo pilots* are drawn: a fake start in
the past (leaving ``post`` periods after it inside the history) and as many areas as the
real pilot, chosen at random among all areas. Each is evaluated by the registered estimator
(:func:`lpip_eval.methods.registry.estimate`) with the options the real evaluation will use,
so its inference (randomization, wild bootstrap, placebo ranks, ...) is the real one.

Every supported procedure is *shift-equivariant*: adding a constant effect d to the pilot
areas' post-period outcome shifts the estimate and both interval ends by d (the
fixed-effects regressions are linear in the outcome and the effect is a regressor; synthetic
control weights use the pre-period only; the intervals invert the test under a constant
additive effect). So one run per placebo pilot gives the whole power curve: the test rejects
at effect d when 0 is outside [low + d, high + d]. The MDE is the smallest d whose rejection
rate reaches the target power. ``check_power`` verifies the shortcut by injecting the effect
and rerunning the procedure on fresh pilots (tests/methods/test_power.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from lpip_eval.data.panel import NEVER, Panel
from lpip_eval.errors import DesignError


def fake_starts(n_periods: int, post: int) -> list[int]:
    """Period positions usable as fake starts: ``post`` periods after them in the history and
    at least half the history (and two periods) before them."""
    last = n_periods - post
    first = max(2, last // 2)
    if last < 2:
        raise DesignError(
            f"the history before the start has {n_periods} periods: too few to simulate a "
            f"pilot with {post} post-periods and 2 or more periods before it",
            hint="use fewer --post-periods, or rely on the analytic MDE (--simulate none)")
    return list(range(first, last + 1))


def placebo_panel(panel: Panel, start: int, post: int, treated: np.ndarray,
                  effect: float = 0.0) -> Panel:
    """``panel`` (balanced) cut to the periods before ``start + post``, the areas ``treated``
    starting at position ``start``, ``effect`` added to their outcome from then on."""
    rows = panel.time_idx < start + post
    first = np.full(panel.n_units, NEVER, dtype=panel.first_treated.dtype)
    first[treated] = panel.period_ordinals[start]
    y = panel.y[rows].copy()
    if effect:
        hit = np.isin(panel.unit_idx[rows], treated) & (panel.time_idx[rows] >= start)
        y[hit] += effect

    def take(values: np.ndarray | None) -> np.ndarray | None:
        return None if values is None else values[rows]

    return replace(panel, period_ordinals=panel.period_ordinals[:start + post],
                   unit_idx=panel.unit_idx[rows], time_idx=panel.time_idx[rows], y=y,
                   first_treated=first, covariates=take(panel.covariates),
                   weights=take(panel.weights), cluster_idx=take(panel.cluster_idx),
                   warnings=())


def draw_pilots(panel: Panel, n_treated: int, post: int, pilots: int,
                seed: int) -> list[tuple[int, np.ndarray]]:
    """``pilots`` (fake start, treated area positions) pairs, seeded."""
    starts = fake_starts(panel.n_periods, post)
    rng = np.random.default_rng(seed)
    return [(int(rng.choice(starts)), np.sort(rng.choice(panel.n_units, n_treated,
                                                          replace=False)))
            for _ in range(pilots)]


def run_pilots(panel: Panel, method: str, options: Mapping[str, Any], draws: list[tuple[int,
               np.ndarray]], post: int, *, effect: float = 0.0,
               progress: Callable[[int, int], None] | None = None) -> list[Any]:
    """The registered estimator's result on each placebo pilot (seed varied per pilot: the
    pilot's own, whatever process runs it), through ``parallel.map_items`` in up to 8
    rounds (for ``progress``; serially, one round per pilot)."""
    from functools import partial

    base_seed = int(options.get("seed", 20240101))
    job = partial(_pilot, panel, method, dict(options), post, effect)
    items = [(base_seed + i, start, treated) for i, (start, treated) in enumerate(draws)]
    return map_in_rounds(job, items, progress)


def map_in_rounds(job: Callable[[Any], Any], items: list[Any],
                  progress: Callable[[int, int], None] | None) -> list[Any]:
    """``job`` over ``items`` through ``parallel.map_items``, in up to 8 rounds so that
    ``progress(done, total)`` can be called between them (serially: one round per item)."""
    from lpip_eval.parallel import active_workers, map_items

    workers = active_workers()
    rounds = len(items) if workers <= 1 else min(8, max(1, len(items) // (4 * workers)))
    results: list[Any] = []
    for r in range(rounds):
        results += map_items(job, items[r * len(items) // rounds:(r + 1) * len(items) // rounds])
        if progress is not None:
            progress(len(results), len(items))
    return results


def _pilot(panel: Panel, method: str, options: dict[str, Any], post: int, effect: float,
           item: tuple[int, int, np.ndarray]) -> Any:
    """One placebo pilot's result (a task of :func:`run_pilots`)."""
    from lpip_eval.methods.registry import estimate

    seed, start, treated = item
    sub = placebo_panel(panel, start, post, treated, effect)
    return estimate(method, sub, {**options, "seed": seed},
                    where=f"lpip-eval plan --method {method}")


def rejects(low: np.ndarray, high: np.ndarray, effect: float) -> np.ndarray:
    """Per pilot: does the interval shifted by ``effect`` exclude zero?"""
    return (low + effect > 0) | (high + effect < 0)


def simulated_mde(low: np.ndarray, high: np.ndarray, power: float) -> float:
    """Smallest positive effect whose rejection rate reaches ``power`` (inf if none)."""
    candidates = np.unique(np.concatenate([-low, -high]))
    candidates = candidates[np.isfinite(candidates) & (candidates >= 0)]
    for d in candidates:
        step = max(abs(d), 1.0) * 1e-9
        if rejects(low, high, float(d) + step).mean() >= power:
            return float(d) + step
    return math.inf


def power_curve(low: np.ndarray, high: np.ndarray, effects: np.ndarray) -> list[dict[str, float]]:
    """Rejection rate at each effect size."""
    return [{"effect": float(d), "power": float(rejects(low, high, float(d)).mean())}
            for d in effects]


def smallest_p(result: Any, n_areas: int, n_treated: int) -> float | None:
    """The smallest p-value the procedure can give: 1/(draws+1) or 1/(assignments) for
    randomization inference, 1/(J+1) for placebo ranks; None where it has no floor."""
    info = result.estimate.inference
    draws = int(info.details.get("draws", 0) or 0)
    if info.method == "randomization":
        count = math.comb(n_areas, n_treated)
        return 1.0 / min(count, draws + 1) if draws else 1.0 / count
    if info.method == "placebo":
        placebos = int(info.details.get("placebos", n_areas - n_treated) or 0)
        exact = math.comb(n_areas - 1, n_treated - 1) if n_treated > 1 else n_areas - 1
        return 1.0 / (min(placebos, exact) + 1)
    return None


def simulate(panel: Panel, method: str, options: Mapping[str, Any], *, n_treated: int,
             post: int, pilots: int, seed: int, alpha: float, power: float,
             progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """The design-based MDE and power curve over ``pilots`` placebo pilots (JSON-ready)."""
    if not panel.is_balanced:
        raise DesignError("design-based planning needs every area in every period before the "
                          "start", hint="fill the gaps, or use --simulate none")
    draws = draw_pilots(panel, n_treated, post, pilots, seed)
    results = run_pilots(panel, method, options, draws, post, progress=progress)
    low = np.array([_num(r.estimate.ci_low, -math.inf) for r in results])
    high = np.array([_num(r.estimate.ci_high, math.inf) for r in results])
    mde = simulated_mde(low, high, power)
    floor = smallest_p(results[0], panel.n_units, n_treated)
    scale = mde if math.isfinite(mde) else float(np.nanmax(np.abs(low[np.isfinite(low)]),
                                                          initial=1.0))
    effects = np.linspace(0.0, 2.0 * scale, 21)
    info = results[0].estimate.inference
    return {
        "mde": mde, "pilots": pilots, "seed": seed,
        "fake_starts": sorted({panel.label(int(panel.period_ordinals[s])) for s, _ in draws}),
        "inference": info.method, "inference_reason": info.reason,
        "smallest_p": floor, "can_reach_alpha": floor is None or floor <= alpha + 1e-12,
        "false_positive_rate": float(rejects(low, high, 0.0).mean()),
        "power_curve": power_curve(low, high, effects),
    }


def check_power(panel: Panel, method: str, options: Mapping[str, Any], *, n_treated: int,
                post: int, pilots: int, seed: int, effect: float) -> float:
    """Rejection rate of the real procedure with ``effect`` injected into fresh pilots."""
    draws = draw_pilots(panel, n_treated, post, pilots, seed)
    results = run_pilots(panel, method, options, draws, post, effect=effect)
    low = np.array([_num(r.estimate.ci_low, -math.inf) for r in results])
    high = np.array([_num(r.estimate.ci_high, math.inf) for r in results])
    return float(rejects(low, high, 0.0).mean())


def _num(value: float | None, default: float) -> float:
    return default if value is None or not math.isfinite(value) else float(value)
