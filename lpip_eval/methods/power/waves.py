"""Planning a roll-out in waves (staggered starts), wave by wave as the staggered designs
estimate it (docs/design.md, "Plan").

**Timing.** Each wave is the areas sharing a planned first treated period (a first-treated or
treatment column); a start may lie inside the data or after its end. The evaluation is
taken to end ``post_periods`` periods after the *last* wave's start, so wave k is observed
for ``r_k = last start + post_periods - start_k`` periods (earlier waves longer), and its
history is every period of the data before its start (``n_pre``).

**Analytic MDE per wave.** Burlig, Preonas & Woerman (2020) eq. (8), as for a single start
(:mod:`.analytic`), with that wave's areas as treated and its comparison areas as control:
``Var_k = a_k' Sigma a_k (1/n_k + 1/c_k)``, ``MDE_k = (t_{1-alpha/2, J_k} + t_{power, J_k})
sqrt(Var_k)``, ``J_k = n_k + c_k``. ``a_k`` is the post mean minus the pre-period the design
compares with: Callaway & Sant'Anna (2021) and Sun & Abraham (2021) compare every
post-period with the period before the start (m = 1); imputation (Borusyak, Jaravel &
Spiess 2024) with the mean of every untreated period (m = n_pre). The comparison areas
``c_k`` are the never-treated areas; with Callaway & Sant'Anna's ``control_group =
"not-yet"`` also the waves not yet started, counted as their average over wave k's
post-periods (an approximation: the comparison set changes from period to period).

**Overall MDE.** The headline of all three designs averages the post-treatment effects over
treated area-periods (CS's "simple" aggregation weights each ATT(g,t) by its cohort's size;
imputation averages the treated observations; Sun & Abraham weight by cohort shares), so
wave k weighs ``w_k = n_k r_k / sum_j n_j r_j``. Assuming the waves' estimates independent,
``Var = sum_k w_k^2 Var_k`` and ``MDE = (t_{1-alpha/2, J} + t_{power, J}) sqrt(Var)`` with J
all areas. This is an approximation: the waves share their comparison areas (and, with
imputation, the period effects), so their estimates are correlated; the design-based MDE
(:mod:`.simulate_waves`) needs no such assumption.

**Covariances** are estimated (:func:`.analytic.estimate_autocovariance`) from the periods
before the first wave's start, the one block where no area is treated; lags longer than it
are held at the last estimated lag.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lpip_eval.data.panel import Panel
from lpip_eval.errors import DesignError, UsageError
from lpip_eval.methods.power import analytic
from lpip_eval.results.plan import PlanResult

if TYPE_CHECKING:
    from lpip_eval.methods.power.plan import PlanOptions

WAVE_DESIGNS = ("callaway-santanna", "imputation", "sun-abraham")
ONE_BASE_PERIOD = ("callaway-santanna", "sun-abraham")
AGGREGATION = ("waves weighted by their treated area-periods, w_k = n_k r_k / sum n_j r_j "
               "(the headline of callaway-santanna's simple aggregation, imputation and "
               "sun-abraham); Var = sum w_k^2 Var_k assumes the waves' estimates independent, "
               "an approximation since they share comparison areas")


@dataclass(frozen=True)
class Wave:
    """One planned wave: its start, areas, periods and comparison areas."""

    start: int  # period ordinal
    label: str
    n_areas: int
    n_pre: int  # periods of the data before the start
    n_post: int  # periods from the start to the evaluation's end
    n_comparison: float  # never-treated (+ not-yet-treated, averaged) comparison areas
    m: int  # pre-periods the design compares with

    def variance(self, gamma: np.ndarray) -> float:
        """Var_k = a_k' Sigma a_k (1/n_k + 1/c_k) (BPW eq. 8 with P(1-P)J = n c / J)."""
        return analytic.bracket(gamma, self.m, self.n_post) * (1 / self.n_areas
                                                               + 1 / self.n_comparison)

    def df(self) -> int:
        return round(self.n_areas + self.n_comparison)


def wave_design(method: str, design: str) -> str:
    """The staggered design a wave plan uses; a UsageError (exit 2) for any other."""
    if method != "did":
        raise UsageError(f"--method {method} cannot plan a roll-out in waves (areas starting "
                         "at different times)", hint="use --method did (its designs "
                         "callaway-santanna, imputation and sun-abraham estimate staggered "
                         "starts), or plan each wave with its own --start")
    if design == "auto":
        return "callaway-santanna"  # as did --design auto picks on staggered starts
    if design not in WAVE_DESIGNS:
        raise UsageError(f"--design {design} cannot plan a roll-out in waves",
                         hint="use " + ", ".join(WAVE_DESIGNS) + " (or auto)")
    return design


def schedule(panel: Panel, post: int, design: str, control_group: str = "never"
             ) -> list[Wave]:
    """The waves of ``panel``'s planned starts, in start order."""
    ordinals = panel.period_ordinals
    if panel.frequency == "date" or np.any(np.diff(ordinals) != 1):
        raise DesignError("planning a roll-out in waves needs regular periods with none "
                          "missing (years, quarters, months, ...)",
                          hint="fill in the missing periods, or plan each wave on its own")
    first = panel.first_treated[panel.is_treated_unit]
    starts, sizes = np.unique(first, return_counts=True)
    never = int((~panel.is_treated_unit).sum())
    end = int(starts[-1]) + post  # the evaluation ends before this ordinal
    waves = []
    for start, n in zip(starts.tolist(), sizes.tolist(), strict=True):
        r = end - start
        comparison = float(never)
        if control_group == "not-yet":
            later = [int(sizes[j]) * min(r, int(starts[j]) - start) for j in
                     range(len(starts)) if starts[j] > start]
            comparison += sum(later) / r
        n_pre = int(start - ordinals[0])
        waves.append(Wave(start=int(start), label=panel.label(int(start)), n_areas=int(n),
                          n_pre=n_pre, n_post=r, n_comparison=comparison,
                          m=1 if design in ONE_BASE_PERIOD else n_pre))
    return waves


def weights(waves: Sequence[Wave]) -> np.ndarray:
    """w_k = n_k r_k / sum_j n_j r_j: each wave's share of the treated area-periods."""
    mass = np.array([w.n_areas * w.n_post for w in waves], dtype=float)
    return mass / mass.sum()


def wave_mde(gamma: np.ndarray, wave: Wave, *, alpha: float, power: float) -> float:
    """BPW's MDE for one wave (the single-start formula applied to the wave)."""
    return analytic.critical_sum(wave.df(), alpha, power) * math.sqrt(
        max(wave.variance(gamma), 0.0))


def overall_se(gamma: np.ndarray, waves: Sequence[Wave]) -> float:
    """sqrt(sum w_k^2 Var_k): the overall effect's SE, the waves taken as independent."""
    w = weights(waves)
    return math.sqrt(max(float(sum(wk ** 2 * wave.variance(gamma)
                                   for wk, wave in zip(w, waves, strict=True))), 0.0))


def overall_mde(gamma: np.ndarray, waves: Sequence[Wave], *, n_areas: int, alpha: float,
                power: float) -> float:
    """The overall (average) effect's MDE, critical values with J = all areas d.f."""
    return analytic.critical_sum(n_areas, alpha, power) * overall_se(gamma, waves)


def history(panel: Panel) -> Panel:
    """The panel before the first wave's start (nobody treated); at least 2 periods."""
    from lpip_eval.methods.power.simulate import placebo_panel

    t0 = int(np.searchsorted(panel.period_ordinals, panel.first_treated.min()))
    if t0 < 2:
        raise DesignError("fewer than 2 periods before the first wave's start",
                          hint="planning estimates the outcome's variation from its history")
    pre = placebo_panel(panel, 0, t0, np.zeros(0, dtype=np.int64))
    if not pre.is_balanced:
        raise DesignError("planning needs every area in every period before the first wave",
                          hint="fill the gaps or drop the incomplete areas")
    return pre


def plan_waves(panel: Panel, options: PlanOptions, *, command: str = "",
               progress: Callable[[int, int], None] | None = None) -> PlanResult:
    """The plan of a roll-out in waves (``panel``'s treated areas, their planned starts)."""
    design = wave_design(options.method, options.design)
    control = str(options.estimator_options.get("control_group", "never"))
    pre = history(panel)
    y = np.zeros((pre.n_units, pre.n_periods))
    y[pre.unit_idx, pre.time_idx] = pre.y
    gamma = analytic.estimate_autocovariance(y)
    post, alpha, power = options.post_periods, options.alpha, options.power
    waves = schedule(panel, post, design, control)
    n_areas = panel.n_units
    mde_a = overall_mde(gamma, waves, n_areas=n_areas, alpha=alpha, power=power)
    warnings: list[str] = []
    sim = None
    if options.pilots:
        from lpip_eval.methods.power.simulate_waves import simulate_waves

        est = {**options.estimator_options, "ci_level": options.ci_level, "design": design}
        sim = simulate_waves(pre, "did", est, offsets=[w.start - waves[0].start for w in waves],
                             sizes=[w.n_areas for w in waves], post=post,
                             pilots=options.pilots, seed=options.seed, alpha=alpha,
                             power=power, progress=progress)
        if not sim["can_reach_alpha"]:
            warnings.append(f"the smallest p-value this design can give is "
                            f"{sim['smallest_p']:.3f}, above {alpha:.2f}: no effect, however "
                            "large, can be detected at that level")
        if sim.get("wave_mdes") and sim["inference"] == "randomization":
            warnings.append("each wave's simulated MDE uses the interval the evaluation reports "
                            "for that wave (influence-function standard errors), not the "
                            "randomization inference of the average; with few areas in a wave "
                            "it can be too optimistic")
    wave_sims = None if sim is None else sim.pop("wave_mdes")
    mde_s = None if sim is None else sim.pop("mde")
    w = weights(waves)
    rows = [{"start": wave.label, "n_areas": wave.n_areas, "n_comparison": wave.n_comparison,
             "n_pre": wave.n_pre, "n_post": wave.n_post, "pre_periods_compared": wave.m,
             "weight": float(w[k]),
             "mde_analytic": wave_mde(gamma, wave, alpha=alpha, power=power),
             "mde_simulated": None if not wave_sims else wave_sims[k]}
            for k, wave in enumerate(waves)]
    n_treated = sum(wave.n_areas for wave in waves)
    cov = analytic.covariances(gamma, waves[0].m, waves[0].n_post)
    assumptions = {
        "mode": "data", "n_areas": n_areas, "n_treated": n_treated,
        "n_comparison": n_areas - n_treated, "n_pre": pre.n_periods, "n_post": post,
        "sigma2": cov.sigma2, "psi_b": cov.psi_b, "psi_a": cov.psi_a, "psi_x": cov.psi_x,
        "bracket": analytic.bracket(gamma, waves[0].m, waves[0].n_post), "df": n_areas,
        "formula": "Burlig, Preonas & Woerman (2020) eq. (8) per wave, t critical values "
                   "with the wave's areas (overall: all areas) as d.f.",
        "covariance_estimator": "stationary autocovariances of the outcome before the first "
                                "wave's start, after area and period effects, corrected for "
                                "the estimated effects; lags beyond it held at the last",
        "history": [pre.label(int(pre.period_ordinals[0])),
                    pre.label(int(pre.period_ordinals[-1]))],
        "evaluation_end": panel.label(waves[-1].start + post - 1),
        "aggregation": AGGREGATION, "control_group": control,
        "pre_period_compared": ("the period before each wave's start" if design in
                                ONE_BASE_PERIOD else "every period before each wave's start"),
        "waves_note": "n_post counts the periods from a wave's start to the evaluation's end, "
                      "post_periods after the last wave's start",
    }
    return PlanResult(
        method="did", design=design, ci_level=options.ci_level, power=power,
        mde_analytic=mde_a, mde_simulated=mde_s,
        curve=tuple(_curve(gamma, panel, design, control, post, alpha, power)),
        assumptions=assumptions, simulation=sim, expected_effect=options.expected_effect,
        power_at_expected=_expected(options, gamma, waves, n_areas, sim),
        outcome=panel.outcome, start=waves[0].label, warnings=tuple(warnings),
        command=command, waves=tuple(rows))


def _curve(gamma: np.ndarray, panel: Panel, design: str, control: str, post: int,
           alpha: float, power: float) -> list[dict[str, Any]]:
    """The overall analytic MDE as the periods after the last wave's start vary."""
    n_treated = int(panel.is_treated_unit.sum())
    m = int(np.searchsorted(panel.period_ordinals, panel.first_treated.min()))
    return [{"vary": "post_periods", "n_areas": panel.n_units, "n_treated": n_treated,
             "n_pre": m, "n_post": r,
             "mde": overall_mde(gamma, schedule(panel, r, design, control),
                                n_areas=panel.n_units, alpha=alpha, power=power)}
            for r in sorted({1, 2, 4, 6, 8, 12, 16, post})]


def _expected(options: PlanOptions, gamma: np.ndarray, waves: Sequence[Wave], n_areas: int,
              sim: dict[str, Any] | None) -> dict[str, float | None]:
    """Power against the hoped-for effect: the formula's (t with J d.f.) and the
    simulation's (its power curve, interpolated)."""
    from scipy import stats

    if options.expected_effect is None:
        return {}
    effect = abs(options.expected_effect)
    se = overall_se(gamma, waves)
    crit = float(stats.t.ppf(1 - options.alpha / 2, n_areas))
    out: dict[str, float | None] = {
        "analytic": float(stats.t.cdf(effect / se - crit, n_areas)) if se > 0 else 1.0}
    if sim is not None:
        xs = [p["effect"] for p in sim["power_curve"]]
        out["simulated"] = (float(np.interp(effect, xs, [p["power"] for p in
                                                        sim["power_curve"]]))
                            if effect <= xs[-1] else None)
    return out

