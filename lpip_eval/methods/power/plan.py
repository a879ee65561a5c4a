"""Planning a pilot evaluation: what-if and from-history MDEs, trade-off curves, verdicts.

:func:`plan_what_if` needs no data (an AR(1) idiosyncratic outcome with ``sd`` and ``rho``);
:func:`plan_from_panel` estimates the covariances from the history before the planned start
and, unless ``pilots == 0``, adds the design-based MDE of :mod:`.simulate`. Both return a
:class:`~lpip_eval.results.plan.PlanResult`. References: Burlig, Preonas & Woerman (2020,
JDE); Abadie (2021, JEL) on placebo inference's smallest p-value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lpip_eval.data.panel import Panel
from lpip_eval.errors import DesignError, UsageError
from lpip_eval.methods.power import analytic
from lpip_eval.results.plan import PlanResult

ESTIMATOR_NOTE = {
    "ar1": "AR(1) with the given SD and rho (what-if mode, no data)",
    "data": "stationary autocovariances of the pre-period outcome after area and period "
            "effects, corrected for the estimated effects (exact for the DiD contrast); lags "
            "beyond the history held at the last estimated lag",
}


@dataclass(frozen=True)
class PlanOptions:
    """What is planned: method/design, test level, power, post-periods, effect hoped for."""

    method: str = "did"
    design: str = "twfe"
    ci_level: float = 0.95
    power: float = 0.8
    post_periods: int = 8
    expected_effect: float | None = None
    pilots: int = 200
    seed: int = 20240101
    estimator_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 < self.ci_level < 1:
            raise UsageError("--ci-level must be between 0 and 1", hint="e.g. 0.95")
        if not 0 < self.power < 1:
            raise UsageError("--power must be between 0 and 1", hint="e.g. 0.8")
        if self.post_periods < 1:
            raise UsageError("--post-periods must be at least 1", hint="e.g. 8")
        if self.pilots < 0:
            raise UsageError("--pilots must be 0 (no simulation) or more", hint="e.g. 200")

    @property
    def alpha(self) -> float:
        return 1 - self.ci_level


def _sizes(n: int, upto: int) -> list[int]:
    values = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, n}
    return sorted(v for v in values if 1 <= v <= upto)


def curve(gamma: np.ndarray, *, n_areas: int, n_treated: int, m: int, r: int,
          alpha: float, power: float, method: str) -> list[dict[str, Any]]:
    """Analytic MDE as the pilot areas, the post-period length and (did) the comparison
    areas vary, the other sizes held at the plan's."""
    rows: list[dict[str, Any]] = []
    n_comp = n_areas - n_treated

    def add(vary: str, j: int, n1: int, rr: int) -> None:
        rows.append({"vary": vary, "n_areas": j, "n_treated": n1, "n_pre": m, "n_post": rr,
                     "mde": analytic.mde(gamma, n_areas=j, n_treated=n1, m=m, r=rr,
                                         alpha=alpha, power=power)})

    for n1 in _sizes(n_treated, max(n_treated, n_areas // 2)):
        if n1 < n_areas:
            add("pilot_areas", n_areas, n1, r)
    for rr in sorted({1, 2, 4, 6, 8, 12, 16, r}):
        add("post_periods", n_areas, n_treated, rr)
    if method == "did":
        for c in _sizes(n_comp, max(n_comp, 4 * n_comp)):
            add("comparison_areas", n_treated + c, n_treated, r)
    return rows


def _assumptions(gamma: np.ndarray, *, mode: str, n_areas: int, n_treated: int, m: int,
                 r: int, extra: Mapping[str, Any]) -> dict[str, Any]:
    cov = analytic.covariances(gamma, m, r)
    return {"mode": mode, "n_areas": n_areas, "n_treated": n_treated,
            "n_comparison": n_areas - n_treated, "n_pre": m, "n_post": r,
            "sigma2": cov.sigma2, "psi_b": cov.psi_b, "psi_a": cov.psi_a, "psi_x": cov.psi_x,
            "bracket": analytic.bracket(gamma, m, r), "df": n_areas,
            "formula": "Burlig, Preonas & Woerman (2020) eq. (8), t critical values with J d.f.",
            "covariance_estimator": ESTIMATOR_NOTE["ar1" if mode == "what-if" else "data"],
            **extra}


def _expected(options: PlanOptions, gamma: np.ndarray, n_areas: int, n_treated: int, m: int,
              r: int, sim: dict[str, Any] | None) -> dict[str, float | None]:
    if options.expected_effect is None:
        return {}
    out: dict[str, float | None] = {"analytic": analytic.power_at(
        options.expected_effect, gamma, n_areas=n_areas, n_treated=n_treated, m=m, r=r,
        alpha=options.alpha)}
    if sim is not None:
        pts = sim["power_curve"]
        effect = abs(options.expected_effect)
        xs = [p["effect"] for p in pts]
        out["simulated"] = float(np.interp(effect, xs, [p["power"] for p in pts])) \
            if effect <= xs[-1] else None
    return out


def plan_what_if(*, n_areas: int, n_treated: int, n_pre: int, n_post: int, sd: float,
                 rho: float, options: PlanOptions, command: str = "") -> PlanResult:
    """The analytic plan without data: an AR(1) outcome with ``sd`` and ``rho``."""
    if n_areas < 2:
        raise UsageError("--n-areas must be at least 2", hint="pilot plus comparison areas")
    analytic.check_sizes(n_areas, n_treated, n_pre, n_post)
    lags = max(n_pre + n_post, n_pre + 16)
    gamma = analytic.ar1_autocovariance(sd, rho, lags)
    value = analytic.mde(gamma, n_areas=n_areas, n_treated=n_treated, m=n_pre, r=n_post,
                         alpha=options.alpha, power=options.power)
    return PlanResult(
        method=options.method, design=options.design, ci_level=options.ci_level,
        power=options.power, mde_analytic=value, mde_simulated=None,
        curve=tuple(curve(gamma, n_areas=n_areas, n_treated=n_treated, m=n_pre, r=n_post,
                          alpha=options.alpha, power=options.power, method=options.method)),
        assumptions=_assumptions(gamma, mode="what-if", n_areas=n_areas, n_treated=n_treated,
                                 m=n_pre, r=n_post, extra={"sd": sd, "rho": rho}),
        expected_effect=options.expected_effect,
        power_at_expected=_expected(options, gamma, n_areas, n_treated, n_pre, n_post, None),
        command=command)


def pre_period(panel: Panel) -> Panel:
    """The panel before its (common) planned start; the start may lie after the data."""
    start = panel.common_start
    if start is None:
        raise DesignError("the planned pilot areas start at different times (a roll-out in "
                          "waves)", hint="plan it with plan_from_panel (methods.power.waves)")
    from lpip_eval.methods.power.simulate import placebo_panel

    t0 = int(np.searchsorted(panel.period_ordinals, start))
    if t0 < 2:
        raise DesignError("fewer than 2 periods before the planned start",
                          hint="planning estimates the outcome's variation from its history")
    treated = np.flatnonzero(panel.is_treated_unit)
    pre = placebo_panel(panel, 0, t0, treated)  # periods [0, t0), nobody yet treated
    return pre


def plan_from_panel(panel: Panel, options: PlanOptions, *, command: str = "",
                    progress: Callable[[int, int], None] | None = None) -> PlanResult:
    """The plan from the history in ``panel`` (its treated areas = the planned pilot; with
    several planned starts, a roll-out in waves: :func:`.waves.plan_waves`)."""
    if panel.common_start is None:
        from lpip_eval.methods.power.waves import plan_waves

        return plan_waves(panel, options, command=command, progress=progress)
    if "control_group" in options.estimator_options:
        raise UsageError("--control-group is for a roll-out in waves (areas starting at "
                         "different times)", hint="leave it out for a single --start")
    pre = pre_period(panel)
    n_areas, n_treated = panel.n_units, int(panel.is_treated_unit.sum())
    if not pre.is_balanced:
        raise DesignError("planning needs every area in every period before the start",
                          hint="fill the gaps or drop the incomplete areas")
    y = np.zeros((pre.n_units, pre.n_periods))
    y[pre.unit_idx, pre.time_idx] = pre.y
    gamma = analytic.estimate_autocovariance(y)
    m, r = pre.n_periods, options.post_periods
    value = analytic.mde(gamma, n_areas=n_areas, n_treated=n_treated, m=m, r=r,
                         alpha=options.alpha, power=options.power)
    warnings: list[str] = []
    sim = None
    if options.pilots:
        from lpip_eval.methods.power.simulate import simulate

        est_options = {**options.estimator_options, "ci_level": options.ci_level}
        if options.method != "synth" or "design" in est_options:
            est_options.setdefault("design", options.design)
        sim = simulate(pre, options.method, est_options, n_treated=n_treated, post=r,
                       pilots=options.pilots, seed=options.seed, alpha=options.alpha,
                       power=options.power, progress=progress)
        if not sim["can_reach_alpha"]:
            warnings.append(
                f"the smallest p-value this design can give is {sim['smallest_p']:.3f}, above "
                f"{options.alpha:.2f}: no effect, however large, can be detected at that level"
                " (a 5% placebo test needs at least 19 comparison areas)")
    if options.method != "did":
        warnings.append("the analytic MDE is the DiD formula's, a benchmark for this method; "
                        "the design-based one is this method's own")
    mde_sim = None if sim is None else sim.pop("mde")
    return PlanResult(
        method=options.method, design=options.design, ci_level=options.ci_level,
        power=options.power, mde_analytic=value,
        mde_simulated=None if mde_sim is None else (mde_sim if math.isfinite(mde_sim)
                                                    else math.inf),
        curve=tuple(curve(gamma, n_areas=n_areas, n_treated=n_treated, m=m, r=r,
                          alpha=options.alpha, power=options.power, method=options.method)),
        assumptions=_assumptions(gamma, mode="data", n_areas=n_areas, n_treated=n_treated,
                                 m=m, r=r, extra={"history": [pre.label(int(pre.period_ordinals[
                                     0])), pre.label(int(pre.period_ordinals[-1]))]}),
        simulation=sim, expected_effect=options.expected_effect,
        power_at_expected=_expected(options, gamma, n_areas, n_treated, m, r, sim),
        outcome=panel.outcome, start=panel.label(int(panel.common_start or 0)),
        warnings=tuple(warnings), command=command,
        inputs=tuple({"file": s.path, "sha256": s.sha256} for s in panel.sources
                     if hasattr(s, "sha256")))
