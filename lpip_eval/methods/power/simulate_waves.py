"""Design-based minimum detectable effects of a roll-out in waves: the real staggered
estimator on placebo roll-outs.

**History.** Only the periods before the *first* wave's start are used, for every area: that
is the one block in which no area is treated yet, so every area can be drawn as a placebo
wave or a never-treated comparison, and the panel stays balanced. (The periods between the
first and a later wave's start are part of that later wave's history in the evaluation,
but they hold treated areas, so a placebo drawn on them would mix real effects in.)

**Placebo roll-outs.** Each shifts the whole planned schedule into that history, keeping the
gaps between the waves: a fake first start ``s`` and wave ``k`` starting at ``s + d_k``
(``d_k`` its planned lag behind the first wave, in periods), with the evaluation ending
``post`` periods after the last wave's fake start, inside the history. As many areas as each
real wave are drawn at random among all areas (without replacement, the same counts per
wave); the rest are the never-treated comparison areas. Each is evaluated by the registered
staggered estimator with the options the real evaluation will use (so its inference, e.g.
randomization reassigning start periods, is the real one).

**Effects.** A constant effect added to every treated area-period shifts each ATT(g,t), the
cohort averages and the headline by that amount, and the intervals with them (the
estimators are linear in the outcome; the influence-function and bootstrap standard errors
do not change; randomization intervals invert the test under a constant additive effect).
So one run per placebo roll-out gives the whole power curve, as for a single start
(:mod:`.simulate`). With staggered starts the randomization draws are always sampled, over
an area order derived from the outcome, so there the shift holds in distribution (another
equally valid sample of reassignments), not draw by draw. :func:`check_wave_power` verifies
the whole shortcut by injecting the effect in each wave's post periods and rerunning the
procedure on fresh roll-outs (tests/methods/test_power_waves.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from lpip_eval.data.panel import NEVER, Panel
from lpip_eval.errors import DesignError
from lpip_eval.methods.power.simulate import (
    fake_starts,
    map_in_rounds,
    power_curve,
    rejects,
    simulated_mde,
)


@dataclass(frozen=True)
class Rollout:
    """One placebo roll-out: each wave's start position and area positions."""

    starts: tuple[int, ...]
    areas: tuple[np.ndarray, ...]


def rollout_panel(panel: Panel, rollout: Rollout, post: int, effect: float = 0.0) -> Panel:
    """``panel`` (balanced, nobody treated) cut to the periods up to ``post`` after the last
    wave's start, each wave's areas starting at its position, ``effect`` added to their
    outcome from their own start on."""
    end = rollout.starts[-1] + post
    rows = panel.time_idx < end
    first = np.full(panel.n_units, NEVER, dtype=panel.first_treated.dtype)
    own_start = np.full(panel.n_units, end, dtype=np.int64)
    for start, areas in zip(rollout.starts, rollout.areas, strict=True):
        first[areas] = panel.period_ordinals[start]
        own_start[areas] = start
    y = panel.y[rows].copy()
    if effect:
        y[panel.time_idx[rows] >= own_start[panel.unit_idx[rows]]] += effect

    def take(values: np.ndarray | None) -> np.ndarray | None:
        return None if values is None else values[rows]

    return replace(panel, period_ordinals=panel.period_ordinals[:end],
                   unit_idx=panel.unit_idx[rows], time_idx=panel.time_idx[rows], y=y,
                   first_treated=first, covariates=take(panel.covariates),
                   weights=take(panel.weights), cluster_idx=take(panel.cluster_idx),
                   warnings=())


def draw_rollouts(panel: Panel, offsets: Sequence[int], sizes: Sequence[int], post: int,
                  pilots: int, seed: int) -> list[Rollout]:
    """``pilots`` placebo roll-outs (seeded): fake first starts leaving room for the waves'
    lags and ``post`` periods after the last, at least two periods before the first."""
    span = int(offsets[-1])
    if panel.n_periods - span < 2 + post:
        raise DesignError(
            f"the history before the first wave has {panel.n_periods} periods: too few to "
            f"simulate a roll-out whose waves span {span + 1} periods with {post} periods "
            "after the last wave and 2 or more before the first",
            hint="use fewer --post-periods, or rely on the analytic MDE (--pilots 0)")
    firsts = fake_starts(panel.n_periods - span, post)
    rng = np.random.default_rng(seed)
    total = int(sum(sizes))
    cuts = np.cumsum(sizes)[:-1]
    out = []
    for _ in range(pilots):
        s = int(rng.choice(firsts))
        chosen = rng.choice(panel.n_units, total, replace=False)
        out.append(Rollout(tuple(s + int(d) for d in offsets),
                           tuple(np.sort(part) for part in np.split(chosen, cuts))))
    return out


def run_rollouts(panel: Panel, method: str, options: Mapping[str, Any],
                 rollouts: list[Rollout], post: int, *, effect: float = 0.0,
                 progress: Callable[[int, int], None] | None = None) -> list[Any]:
    """The registered estimator's result on each placebo roll-out (seed varied per one: its
    own, whatever process runs it), through ``parallel.map_items`` in rounds as
    :func:`.simulate.run_pilots` does."""
    from functools import partial

    base_seed = int(options.get("seed", 20240101))
    job = partial(_rollout, panel, method, dict(options), post, effect)
    items = [(base_seed + i, rollout) for i, rollout in enumerate(rollouts)]
    return map_in_rounds(job, items, progress)


def _rollout(panel: Panel, method: str, options: dict[str, Any], post: int, effect: float,
             item: tuple[int, Rollout]) -> Any:
    """One placebo roll-out's result (a task of :func:`run_rollouts`)."""
    from lpip_eval.methods.registry import estimate

    seed, rollout = item
    return estimate(method, rollout_panel(panel, rollout, post, effect),
                    {**options, "seed": seed}, where=f"lpip-eval plan --method {method}")


def _bounds(results: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    low = np.array([_num(r.estimate.ci_low, -math.inf) for r in results])
    high = np.array([_num(r.estimate.ci_high, math.inf) for r in results])
    return low, high


def wave_bounds(results: list[Any], n_waves: int) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """Per wave, the interval of its own average effect in each result, as the evaluation
    reports it (Callaway & Sant'Anna's group aggregation); None for designs without one."""
    rows = []
    for r in results:
        groups = (r.diagnostics.get("aggregations") or {}).get("group") or {}
        by = groups.get("by_group")
        if by is None or len(by) != n_waves:
            return None
        rows.append([(_num(g["ci_low"], -math.inf), _num(g["ci_high"], math.inf))
                     for g in by])
    table = np.array(rows, dtype=float)  # pilots x waves x 2
    return [(table[:, k, 0], table[:, k, 1]) for k in range(n_waves)]


def smallest_p(result: Any, n_areas: int, sizes: Sequence[int]) -> float | None:
    """The smallest p-value the procedure can give: for randomization inference (start
    periods reassigned across areas) 1 / min(assignments, draws + 1), the assignments being
    the multinomial ways to give each wave its areas; None where it has no floor."""
    info = result.estimate.inference
    if info.method != "randomization":
        return None
    count = math.factorial(n_areas) // math.prod(
        math.factorial(n) for n in (*sizes, n_areas - sum(sizes)))
    draws = int(info.details.get("draws", 0) or 0)
    return 1.0 / min(count, draws + 1) if draws else 1.0 / count


def simulate_waves(panel: Panel, method: str, options: Mapping[str, Any], *,
                   offsets: Sequence[int], sizes: Sequence[int], post: int, pilots: int,
                   seed: int, alpha: float, power: float,
                   progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """The design-based MDE of the overall effect and of each wave, and the power curve of
    the overall one, over ``pilots`` placebo roll-outs (JSON-ready)."""
    if not panel.is_balanced:
        raise DesignError("design-based planning needs every area in every period before the "
                          "first wave", hint="fill the gaps, or use --pilots 0")
    rollouts = draw_rollouts(panel, offsets, sizes, post, pilots, seed)
    results = run_rollouts(panel, method, options, rollouts, post, progress=progress)
    low, high = _bounds(results)
    mde = float(simulated_mde(low, high, power))
    per_wave = wave_bounds(results, len(sizes))
    floor = smallest_p(results[0], panel.n_units, sizes)
    scale = mde if math.isfinite(mde) else float(np.nanmax(np.abs(low[np.isfinite(low)]),
                                                          initial=1.0))
    info = results[0].estimate.inference
    return {
        "mde": mde, "pilots": pilots, "seed": seed,
        "fake_starts": sorted({panel.label(int(panel.period_ordinals[r.starts[0]]))
                               for r in rollouts}),
        "inference": info.method, "inference_reason": info.reason,
        "smallest_p": floor, "can_reach_alpha": floor is None or floor <= alpha + 1e-12,
        "false_positive_rate": float(rejects(low, high, 0.0).mean()),
        "power_curve": power_curve(low, high, np.linspace(0.0, 2.0 * scale, 21)),
        "wave_mdes": None if per_wave is None else [float(simulated_mde(lo, hi, power))
                                                   for lo, hi in per_wave],
    }


def check_wave_power(panel: Panel, method: str, options: Mapping[str, Any], *,
                     offsets: Sequence[int], sizes: Sequence[int], post: int, pilots: int,
                     seed: int, effect: float) -> float:
    """Rejection rate of the real procedure with ``effect`` injected into each wave's post
    periods of fresh placebo roll-outs."""
    rollouts = draw_rollouts(panel, offsets, sizes, post, pilots, seed)
    low, high = _bounds(run_rollouts(panel, method, options, rollouts, post, effect=effect))
    return float(rejects(low, high, 0.0).mean())


def _num(value: float | None, default: float) -> float:
    return default if value is None or not math.isfinite(value) else float(value)
