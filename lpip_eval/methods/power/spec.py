"""What a plan asks for, as options: :class:`PlanSpec` (the ``[plan]`` table of a config
file, the options of ``lpip-eval plan``) and :func:`plan_options`, which checks it and turns it
into the :class:`~lpip_eval.methods.power.plan.PlanOptions` the planner takes.

The fields' metadata documents them as the spec classes of :mod:`lpip_eval.methods.specs` are
documented (``help``; ``flag`` where the option is not ``--key-with-dashes``): the config
reference (``docs/config.md``) reads it through :mod:`lpip_eval.runs.keys`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lpip_eval.errors import UsageError
from lpip_eval.methods.power.plan import PlanOptions

SYNTH_PLAN_OPTIONS = {"v": "equal", "placebo_in_time": False, "leave_one_out": False}
"""Synthetic control in plans: the exact donor-weight solver (outcome in every pre-period,
equal V), no V search and no robustness refits (they do not change the interval)."""
PLANNED_METHODS = ("did", "synth", "match")


def _key(default: Any, help: str, *, flag: str | None = None) -> Any:
    return dataclasses.field(default=default, metadata={"help": help, "flag": flag})


@dataclass(frozen=True)
class PlanSpec:
    """The plan's options (the ``[plan]`` table; ``lpip-eval plan``'s options of the same
    names). Sizes come from the data: its pilot areas, comparison areas and history."""

    method: str = _key("did", "Method the evaluation will use: did, synth or match.")
    design: str | None = _key(None, "The design as the method's command takes it (default: "
                              "the method's default).")
    post_periods: int = _key(8, "Periods the pilot will run from its start.")
    ci_level: float = _key(0.95, "Two-sided interval level of the evaluation (the test is at "
                           "1 - level).")
    power: float = _key(0.8, "Target power.")
    expected_effect: float | None = _key(
        None, "The effect the partnership hopes for, in the outcome's units: turned into a "
        "power and a verdict.")
    pilots: int = _key(200, "Placebo pilots for the design-based MDE (0: the formula's only).")
    draws: int = _key(999, "Randomization / placebo draws per simulated pilot.")
    seed: int = _key(20240101, "Random seed of the simulated pilots and their draws.")
    control_group: str | None = _key(
        None, "A roll-out in waves with callaway-santanna: comparison areas never treated "
        "(never, the default) or also those not yet treated (not-yet).")


def plan_options(spec: PlanSpec, *, where: Callable[[str], str] = lambda key: "--" + key
                 .replace("_", "-")) -> PlanOptions:
    """The checked :class:`PlanOptions` of ``spec``; a UsageError naming ``where(key)``."""
    from lpip_eval.methods.registry import METHODS

    if spec.method not in PLANNED_METHODS:
        raise UsageError(f"{where('method')}: '{spec.method}' cannot be planned",
                         hint="use one of " + ", ".join(PLANNED_METHODS))
    chosen = METHODS[spec.method]
    design = spec.design or chosen.default_design
    if design not in chosen.designs or design == "nnmatch":
        raise UsageError(f"{where('design')}: '{design}' cannot be planned for {spec.method}",
                         hint="use one of " + ", ".join(d for d in chosen.designs
                                                         if d != "nnmatch"))
    if spec.draws < 19:
        raise UsageError(f"{where('draws')}: must be at least 19, got {spec.draws}",
                         hint="e.g. 999")
    est: dict[str, Any] = {"draws": spec.draws, "seed": spec.seed}
    if spec.control_group is not None:
        if spec.control_group not in ("never", "not-yet"):
            raise UsageError(f"{where('control_group')}: '{spec.control_group}' is not a "
                             "comparison group", hint="use never or not-yet")
        if spec.method != "did" or design not in ("auto", "callaway-santanna"):
            raise UsageError(f"{where('control_group')} is only used by did "
                             "callaway-santanna (a roll-out in waves)",
                             hint=f"leave out {where('control_group')}")
        est["control_group"] = spec.control_group
    if spec.method == "synth":
        est.update({"design": design, **(SYNTH_PLAN_OPTIONS if design == "classic" else {})})
    try:
        return PlanOptions(method=spec.method, design=design, ci_level=spec.ci_level,
                           power=spec.power, post_periods=spec.post_periods,
                           expected_effect=spec.expected_effect, pilots=spec.pilots,
                           seed=spec.seed, estimator_options=est)
    except UsageError as exc:
        option = exc.message.split(" ", 1)[0].lstrip("-").replace("-", "_")
        if option in {f.name for f in dataclasses.fields(PlanSpec)}:
            raise UsageError(f"{where(option)}: {exc.message.split(' ', 1)[1]}",
                             hint=exc.hint) from None
        raise
