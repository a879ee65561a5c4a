"""The planning result of ``lpip-eval plan``: minimum detectable effects before a pilot.

Serialised by :meth:`PlanResult.to_dict` into the JSON of ``schema/plan.schema.json``
(``kind = "plan"``). ``mde`` is the figure reports lead with: the design-based (simulated)
MDE when there is one, the analytic (Burlig, Preonas & Woerman 2020) one otherwise. A roll-out
in waves (:mod:`lpip_eval.methods.power.waves`) adds ``waves``, one row per wave, and its
``mde`` is the overall (average) effect's; ``waves`` is null for a single start.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

PLAN_SCHEMA_VERSION = "1.1"  # 1.1: "waves" (roll-outs in waves)


@dataclass(frozen=True)
class PlanResult:
    """One plan: the MDEs, the trade-off curve and every assumption behind them."""

    method: str
    design: str
    ci_level: float
    power: float
    mde_analytic: float | None
    mde_simulated: float | None
    curve: tuple[dict[str, Any], ...]
    assumptions: dict[str, Any]
    simulation: dict[str, Any] | None = None
    expected_effect: float | None = None
    power_at_expected: dict[str, float | None] = field(default_factory=dict)
    outcome: str | None = None
    outcome_label: str | None = None
    outcome_unit: str | None = None
    start: str | None = None
    warnings: tuple[str, ...] = ()
    command: str = ""
    inputs: tuple[dict[str, Any], ...] = ()
    waves: tuple[dict[str, Any], ...] = ()  # a roll-out in waves: one row per wave

    @property
    def mde(self) -> float | None:
        return self.mde_simulated if self.mde_simulated is not None else self.mde_analytic

    @property
    def mde_source(self) -> str:
        return "simulated" if self.mde_simulated is not None else "analytic"

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready data (non-finite numbers become null)."""
        from lpip_eval import __version__

        return _finite({
            "schema_version": PLAN_SCHEMA_VERSION,
            "tool": {"name": "lpip-eval", "version": __version__},
            "kind": "plan", "method": self.method, "design": self.design,
            "ci_level": self.ci_level, "power": self.power,
            "mde": self.mde, "mde_source": self.mde_source,
            "mde_analytic": self.mde_analytic, "mde_simulated": self.mde_simulated,
            "curve": [dict(c) for c in self.curve], "assumptions": self.assumptions,
            "simulation": self.simulation, "expected_effect": self.expected_effect,
            "power_at_expected": dict(self.power_at_expected) or None,
            "outcome": self.outcome, "outcome_label": self.outcome_label,
            "outcome_unit": self.outcome_unit, "start": self.start,
            "warnings": list(self.warnings), "command": self.command,
            "inputs": list(self.inputs),
            "waves": [dict(w) for w in self.waves] or None,
        })

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def load_plan_schema() -> dict[str, Any]:
    """The published JSON Schema of a plan."""
    text = resources.files("lpip_eval.results").joinpath("schema/plan.schema.json")
    return dict(json.loads(text.read_text("utf-8")))
