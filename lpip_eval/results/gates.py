"""Gates: named conditions on a result that make a run exit 5 (``--fail-on``, ``[gates]``).

A gate looks at one result dict (the JSON form of an EffectResult) and either trips, with a
sentence for the report saying why, or not. A gate whose check does not apply to a design
(``poor-pre-fit`` on a difference-in-differences, ``pretrend-rejected`` when no pre-trend
test could be run) does not trip: gates catch evidence that something is wrong, they do not
demand checks a design lacks (use ``evidence-below:N`` for that).

| gate | trips when |
| --- | --- |
| ``pretrend-rejected`` | the pre-trend test rejects parallel trends at 5% |
| ``poor-pre-fit`` | the synthetic control's pre-period RMSPE exceeds POOR_FIT_RATIO x SD |
| ``evidence-below:N`` | the evidence level is below N (1-5) |
| ``effect-crosses-zero`` | the interval includes zero (ci_low <= 0 <= ci_high) |
| ``mde-above:X`` | a plan's minimum detectable effect exceeds X (``lpip-eval plan``) |
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from lpip_eval.errors import GateError, UsageError, nearest
from lpip_eval.numbers import fmt_number, fmt_p
from lpip_eval.results.evidence import POOR_FIT_RATIO

Check = Callable[[dict[str, Any], Any], str | None]


@dataclass(frozen=True)
class TrippedGate:
    """A gate that tripped on one result: its name and a sentence saying why."""

    gate: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"gate": self.gate, "message": self.message}


def _pretrend(result: dict[str, Any], _: int | None) -> str | None:
    pre = (result.get("diagnostics") or {}).get("pretrend_test")
    if not pre or not pre.get("rejected_at_5pct"):
        return None
    p = pre.get("p_value")
    return (f"the pre-trend test rejected parallel trends ({fmt_p(p, prefix=True)}): before "
            "the pilot, "
            "the pilot and comparison areas were already moving differently")


def _poor_fit(result: dict[str, Any], _: int | None) -> str | None:
    ratio = ((result.get("diagnostics") or {}).get("pre_fit") or {}).get("rmspe_to_sd")
    if ratio is None or ratio <= POOR_FIT_RATIO:
        return None
    return (f"the synthetic comparison fitted the pilot poorly before the start (pre-period "
            f"error {ratio:.2f} of the outcome's spread, more than {POOR_FIT_RATIO})")


def _evidence_below(result: dict[str, Any], level: int | None) -> str | None:
    found = (result.get("evidence") or {}).get("level")
    if level is None:
        return None
    if found is None:  # a result rated by no method (not schema-valid): it cannot pass
        return f"the result carries no evidence rating, and level {level} is required"
    if found >= level:
        return None
    return f"the evidence is at level {found} of 5, below the required level {level}"


def _crosses_zero(result: dict[str, Any], _: int | None) -> str | None:
    est = result.get("estimate") or {}
    low, high = est.get("ci_low"), est.get("ci_high")
    level = est.get("ci_level")
    shown = f"{level:.0%} " if isinstance(level, float) else ""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return f"no {shown}range could be computed, so the effect cannot be told apart from zero"
    if not low <= 0 <= high:
        return None
    return (f"the {shown}range ({fmt_number(low, 3)} to {fmt_number(high, 3)}) includes zero: "
            "the effect cannot be told apart from no effect")


def _mde_above(result: dict[str, Any], limit: float | None) -> str | None:
    if result.get("kind") != "plan" or limit is None:
        return None  # evaluation results have no MDE: the gate is for plans
    mde = result.get("mde")
    if mde is not None and mde <= limit:
        return None
    shown = "could not be reached" if mde is None else f"is {fmt_number(mde, 3)}"
    return (f"the minimum detectable effect ({result.get('mde_source', 'analytic')}) {shown}, "
            f"above the limit {fmt_number(limit, 3)}: the pilot as planned could miss an "
            "effect of that size")


GATES: dict[str, Check] = {
    "pretrend-rejected": _pretrend,
    "poor-pre-fit": _poor_fit,
    "evidence-below": _evidence_below,
    "effect-crosses-zero": _crosses_zero,
    "mde-above": _mde_above,
}
"""Gate name -> check. ``evidence-below`` takes a level: ``evidence-below:3``."""
NEEDS_LEVEL = ("evidence-below",)
NEEDS_NUMBER = ("mde-above",)


def gate_names() -> list[str]:
    """Valid gate names as a user writes them."""
    return [f"{name}:N" if name in NEEDS_LEVEL else f"{name}:X" if name in NEEDS_NUMBER
            else name for name in GATES]


def parse_gates(names: Iterable[str]) -> tuple[tuple[str, Any], ...]:
    """``("pretrend-rejected", "evidence-below:3")`` -> ((name, level), ...); unknown names
    or a bad level are a UsageError (exit 2) listing the valid gates."""
    parsed: list[tuple[str, Any]] = []
    valid = ", ".join(gate_names())
    for raw in names:
        name, _, arg = str(raw).strip().partition(":")
        if name not in GATES:
            near = nearest(name, list(GATES))
            guess = f"did you mean '{near}'? " if near else ""
            raise UsageError(f"unknown gate '{raw}'", hint=f"{guess}gates: {valid}")
        level: int | float | None = None
        if name in NEEDS_NUMBER:
            try:
                level = float(arg)
            except ValueError:
                level = math.nan
            if not math.isfinite(level) or level <= 0:
                raise UsageError(f"gate '{raw}' needs a positive number",
                                 hint=f"e.g. {name}:1.5 (in the outcome's units)")
        elif name in NEEDS_LEVEL:
            if not arg.strip().isdigit() or not 1 <= int(arg) <= 5:
                raise UsageError(f"gate '{raw}' needs a level from 1 to 5",
                                 hint=f"e.g. {name}:3")
            level = int(arg)
        elif arg:
            raise UsageError(f"gate '{raw}' takes no value", hint=f"write '{name}'")
        if (name, level) not in parsed:
            parsed.append((name, level))
    return tuple(parsed)


def check_gates(result: dict[str, Any], names: Iterable[str]) -> list[TrippedGate]:
    """The gates among ``names`` that trip on ``result`` (a result dict), in order given."""
    tripped = []
    for name, level in parse_gates(names):
        reason = GATES[name](result, level)
        if reason is not None:
            shown = name if level is None else f"{name}:{level:g}"
            tripped.append(TrippedGate(shown, reason))
    return tripped


def gate_sentence(tripped: TrippedGate, result: dict[str, Any] | None = None) -> str:
    """A sentence for reports: "Gate 'x' tripped for <outcome> (<design>): <reason>."."""
    about = ""
    if result is not None:
        label = result.get("outcome_label") or str(result.get("outcome", "")).replace("_", " ")
        about = f" for the {label} ({result.get('design', result.get('method'))})"
    return f"Gate '{tripped.gate}' tripped{about}: {tripped.message}."


def gate_error(tripped: list[TrippedGate]) -> GateError:
    """The GateError (exit 5) a single command raises after writing its outputs."""
    names = ", ".join(t.gate for t in tripped)
    first = tripped[0]
    more = f" (and {len(tripped) - 1} more)" if len(tripped) > 1 else ""
    return GateError(f"gate{'s' if len(tripped) > 1 else ''} tripped: {names}: "
                     f"{first.message}{more}",
                     hint="the outputs were written; drop --fail-on to exit 0 anyway")
