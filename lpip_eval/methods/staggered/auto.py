"""``did --design auto`` (the default): ``twfe`` when every pilot starts in the same period,
``callaway-santanna`` when starts are staggered, since two-way fixed effects then compare
later with earlier adopters and can weight effects negatively (Goodman-Bacon 2021; de
Chaisemartin & D'Haultfoeuille 2020). The result says which ran and why, in
``diagnostics.design_choice``. Inference that only one of them runs decides instead:
``multiplier-bootstrap`` -> callaway-santanna, ``wild-bootstrap`` -> twfe.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lpip_eval.data.panel import Panel
from lpip_eval.methods.specs import CS_DEFAULTS, DidSpec
from lpip_eval.results.result import EffectResult


def choose_design(panel: Panel, spec: DidSpec) -> tuple[str, str]:
    """(design, reason) for ``panel``."""
    starts = sorted({panel.label(int(s)) for s in panel.first_treated[panel.is_treated_unit]})
    if spec.inference == "multiplier-bootstrap":
        return "callaway-santanna", ("--inference multiplier-bootstrap runs on the staggered "
                                     "design only")
    if len(starts) <= 1:
        return "twfe", (f"every pilot area starts in {starts[0] if starts else 'one period'}: "
                        "two-way fixed effects")
    if spec.inference == "wild-bootstrap":
        return "twfe", ("pilot areas start at different times, but --inference "
                        "wild-bootstrap runs on two-way fixed effects only")
    return "callaway-santanna", (
        f"pilot areas start at {len(starts)} different times ({starts[0]} to {starts[-1]}): "
        "two-way fixed effects would compare later with earlier pilots and can weight "
        "effects negatively (Goodman-Bacon 2021), so Callaway & Sant'Anna (2021) was used")


def estimate_auto(panel: Panel, spec: DidSpec, progress: Any = None) -> EffectResult:
    """Estimate with the design :func:`choose_design` picks."""
    from lpip_eval.methods.did import estimate_did
    from lpip_eval.methods.staggered.estimator import estimate_cs

    design, reason = choose_design(panel, spec)
    note = {"requested": "auto", "chosen": design, "reason": reason}
    if design == "callaway-santanna":
        return estimate_cs(panel, replace(spec, design=design), choice_note=note)
    unused = [k for k, v in CS_DEFAULTS.items() if getattr(spec, k) != v]
    weights = None if spec.bootstrap_weights == "mammen" else spec.bootstrap_weights
    twfe = replace(spec, design="twfe", bootstrap_weights=weights,
                   control_group=CS_DEFAULTS["control_group"],
                   estimation=CS_DEFAULTS["estimation"], base_period=CS_DEFAULTS["base_period"])
    result: EffectResult = estimate_did(panel, twfe)
    warnings = [f"{k.replace('_', '-')} is only used by callaway-santanna (staggered starts)"
                for k in unused]
    return replace(result, diagnostics={**result.diagnostics, "design_choice": note},
                   warnings=(*result.warnings, *warnings))
