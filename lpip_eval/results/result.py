"""EffectResult: the one result type every method returns, and its JSON.

``to_dict`` gives the documented JSON object (docs/design.md, "JSON result"); numbers are
plain floats and NaN/inf become ``null`` with a sentence in ``warnings`` saying which field
and why. The JSON Schema lives in ``lpip_eval/results/schema/result.schema.json`` and
``SCHEMA_VERSION`` is bumped on any breaking change.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lpip_eval.data.panel import Panel
    from lpip_eval.data.spec import PanelSpec

SCHEMA_VERSION = "1.1"


@dataclass(frozen=True)
class InferenceInfo:
    """Which inference produced the interval and p-value, and why it was chosen."""

    method: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Estimate:
    """The headline effect with its uncertainty."""

    att: float
    se: float | None
    ci_low: float
    ci_high: float
    ci_level: float
    p_value: float
    inference: InferenceInfo


@dataclass(frozen=True)
class PeriodEffect:
    """One period's (or event time's) effect, for the effect-over-time table and chart."""

    period: str
    event_time: int | None
    att: float
    se: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class Provenance:
    """Where the numbers came from."""

    inputs: tuple[dict[str, Any], ...]
    command: str
    options: dict[str, Any]
    seed: int | None
    packages: dict[str, str]


@dataclass(frozen=True)
class EffectResult:
    """One evaluation's result; serialised by :meth:`to_dict` into the stable JSON."""

    method: str
    design: str
    outcome: str
    unit_col: str
    time_col: str
    treated_units: tuple[str, ...]
    comparison_units: tuple[str, ...]
    treatment_start: str | None
    estimate: Estimate
    effects_by_period: tuple[PeriodEffect, ...] = ()
    weights: tuple[tuple[str, float], ...] = ()
    diagnostics: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    provenance: Provenance | None = None
    outcome_label: str | None = None
    outcome_unit: str | None = None
    outcome_scale: str | None = None  # "log" (natural log: reports add % changes) or "level"

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of docs/design.md, "JSON result" (non-finite numbers become null)."""
        from lpip_eval import __version__

        notes: list[str] = []
        est = self.estimate
        estimate = {
            "att": est.att, "se": est.se, "ci_low": est.ci_low, "ci_high": est.ci_high,
            "ci_level": est.ci_level, "p_value": est.p_value,
            "inference": {"method": est.inference.method, "reason": est.inference.reason,
                          "details": est.inference.details},
        }
        body: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "lpip-eval", "version": __version__},
            "method": self.method,
            "design": self.design,
            "outcome": self.outcome,
            "outcome_label": self.outcome_label,
            "outcome_unit": self.outcome_unit,
            "outcome_scale": self.outcome_scale,
            "unit_col": self.unit_col,
            "time_col": self.time_col,
            "treated_units": list(self.treated_units),
            "comparison_units": list(self.comparison_units),
            "treatment_start": self.treatment_start,
            "estimate": estimate,
            "effects_by_period": [
                {"period": e.period, "event_time": e.event_time, "att": e.att, "se": e.se,
                 "ci_low": e.ci_low, "ci_high": e.ci_high}
                for e in self.effects_by_period
            ],
            "weights": [{"unit": u, "weight": w} for u, w in self.weights],
            "diagnostics": self.diagnostics,
            "evidence": self.evidence or {"level": None, "label": None, "reasons": []},
            "warnings": list(self.warnings),
            "provenance": None,
        }
        if self.provenance is not None:
            p = self.provenance
            body["provenance"] = {"inputs": list(p.inputs), "command": p.command,
                                  "options": p.options, "seed": p.seed, "packages": p.packages}
        clean = _finite(body, "", notes)
        if est.se is None and "se" not in {n.split(" ")[0] for n in notes}:
            notes.append(f"estimate.se is null: {est.inference.method} inference gives an "
                         "interval and p-value but no standard error")
        clean["warnings"] = list(dict.fromkeys([*clean["warnings"], *notes]))
        return clean

    def to_json(self) -> str:
        """Deterministic JSON text (fixed key order, 2-space indent, trailing newline)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def check_finite(result: EffectResult) -> EffectResult:
    """The result, or a DesignError (exit 4) if its effect or standard error is NaN or
    infinite, or its p-value is infinite: such a number is an overflow or a degenerate fit,
    never an answer. An interval end may be infinite (unbounded) or NaN (none): the JSON
    says so."""
    from lpip_eval.errors import DesignError

    est = result.estimate
    for name, value in (("effect", est.att), ("standard error", est.se),
                        ("p-value", est.p_value)):
        if value is None or (name == "p-value" and math.isnan(value)):
            continue
        if not math.isfinite(value):
            raise DesignError(
                f"{result.method}: the estimated {name} is not a finite number ({value}) for "
                f"{result.outcome}; the arithmetic overflowed or the fit is degenerate",
                hint="check the outcome and covariates for extreme values, and that pilot "
                "and comparison areas both have data before and after the start")
    return result


def _finite(value: Any, path: str, notes: list[str]) -> Any:
    """Replace NaN/inf by None (recording the field), convert NumPy scalars to Python."""
    if isinstance(value, dict):
        return {str(k): _finite(v, f"{path}.{k}" if path else str(k), notes)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        if all(isinstance(v, str) for v in value):  # e.g. 30,000 area codes: nothing to clean
            return list(value)
        return [_finite(v, f"{path}[{i}]", notes) for i, v in enumerate(value)]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        notes.append(f"{path} is null: the value is not a finite number ({value})")
        return None
    return value


LOG_PREFIXES = ("l_", "ln_", "log_")


def with_outcome_words(result: EffectResult, *, outcome_label: str | None = None,
                       outcome_unit: str | None = None,
                       outcome_scale: str | None = None) -> EffectResult:
    """The result with how reports name its outcome (label, unit) and its scale ("log": a
    natural log, whose effects reports also give as percentage changes). A column named like
    a log (``l_``, ``ln_``, ``log_``) with no scale given gets a note suggesting one."""
    from dataclasses import replace

    warnings = result.warnings
    if outcome_scale is None and result.outcome.lower().startswith(LOG_PREFIXES):
        warnings = (*warnings, f"the outcome '{result.outcome}' looks like a natural log (its "
                    "name starts with l_, ln_ or log_): --outcome-scale log (in a config file, "
                    "scale = \"log\" in its [[outcome]]) makes the reports give the effect as a "
                    "percentage change too; --outcome-scale level says it is not a log")
    return replace(result, outcome_label=outcome_label, outcome_unit=outcome_unit,
                   outcome_scale=outcome_scale, warnings=warnings)


def add_provenance(result: EffectResult, inputs: Sequence[Any], options: dict[str, Any], *,
                   command: str, seed: int | None, outcome_label: str | None = None,
                   outcome_unit: str | None = None,
                   outcome_scale: str | None = None) -> EffectResult:
    """The result as a caller hands it on: a provenance block (input files
    (``data.read.InputFile``), options, command, seed, package versions) and the outcome's
    label and unit for the reports (``--outcome-label``/``--outcome-unit``, a config's
    ``[[outcome]] label``/``unit``).

    Execution settings (``parallel.EXECUTION_OPTIONS``: workers, backend, scheduler) are
    left out: the result is the same whatever they are. The one place both are attached,
    for the CLI and config runs alike (through
    :func:`with_provenance`, or ``methods.match.units.run_unit_match`` for unit-level data).
    """
    from dataclasses import asdict, replace

    from lpip_eval.parallel import EXECUTION_OPTIONS

    kept = {k: v for k, v in options.items() if k not in EXECUTION_OPTIONS}
    prov = Provenance(inputs=tuple(asdict(s) for s in inputs), command=command,
                      options=kept, seed=seed, packages=package_versions())
    return with_outcome_words(replace(result, provenance=prov), outcome_label=outcome_label,
                              outcome_unit=outcome_unit, outcome_scale=outcome_scale)


def with_provenance(result: EffectResult, panel: Panel, spec: PanelSpec,
                    options: dict[str, Any], *, command: str, seed: int | None,
                    outcome_label: str | None = None, outcome_unit: str | None = None,
                    outcome_scale: str | None = None) -> EffectResult:
    """:func:`add_provenance` for a result estimated on ``panel``: its files, and the panel
    options of ``spec`` (paths as text) merged with the method's ``options``."""
    from dataclasses import asdict

    data_options = {k: (str(v) if v is not None and k in ("data", "comparators", "area_lookup")
                        else v)
                    for k, v in asdict(spec).items()}
    data_options["treated"] = list(spec.treated)
    data_options["covariates"] = list(spec.covariates)
    from lpip_eval.data.periods import period_type_of

    inferred = f"{period_type_of(panel.frequency)} (inferred)"
    data_options["period_type"] = spec.period_type or inferred
    return add_provenance(result, panel.sources, {**data_options, **options}, command=command,
                          seed=seed, outcome_label=outcome_label, outcome_unit=outcome_unit,
                          outcome_scale=outcome_scale)


def load_schema() -> dict[str, Any]:
    """The published JSON Schema of a result."""
    schema = resources.files("lpip_eval.results").joinpath("schema/result.schema.json")
    text = schema.read_text("utf-8")
    return dict(json.loads(text))


def package_versions() -> dict[str, str]:
    """Versions of lpip-eval and the numerical packages behind a result."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("lpip-eval", "numpy", "pandas", "scipy", "statsmodels"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out
