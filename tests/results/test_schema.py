"""The JSON result contract (docs/design.md, "JSON result"): every result validates against the
published JSON Schema (Draft 2020-12), holds no NaN, and serialises deterministically."""

from __future__ import annotations

import dataclasses
import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from simulate import simulate_panel, to_panel

from lpip_eval.data.panel import Panel, PanelSpec, load_panel
from lpip_eval.methods.did import DidSpec, estimate_did
from lpip_eval.results.result import SCHEMA_VERSION, EffectResult, PeriodEffect, load_schema

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "west_of_england"
DRAWS = 99
INFERENCE = ("auto", "cluster", "wild-bootstrap", "randomization")


@cache
def _panel(name: str) -> Panel:
    if name == "example":
        return load_panel(PanelSpec(data=EXAMPLE / "pilot.csv",
                                    comparators=EXAMPLE / "comparators.csv",
                                    outcome="employment_rate", start="2021Q3"))
    # 6 treated areas of 30 with three start dates (positions in 12 yearly periods).
    return to_panel(simulate_panel(n_units=30, n_treated=6, start=[4, 4, 6, 6, 8, 8],
                                   effect=1.0, seed=12))


CASES = [
    pytest.param(panel, design, inference, id=f"{panel}-{design}-{inference}")
    for panel, designs in (("example", ("2x2", "twfe", "event-study")),
                           ("staggered", ("twfe", "event-study")))
    for design in designs
    for inference in INFERENCE
]


def _estimate(panel: str, design: str, inference: str) -> EffectResult:
    return estimate_did(_panel(panel), DidSpec(design=design, inference=inference,
                                               draws=DRAWS, seed=5))


@cache
def _result(panel: str, design: str, inference: str) -> EffectResult:
    return _estimate(panel, design, inference)


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def _assert_valid(document: dict[str, Any]) -> None:
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


def _floats(value: Any) -> list[float]:
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats(v)]
    return [value] if isinstance(value, float) else []


def test_schema_version_matches_the_published_schema() -> None:
    schema = load_schema()
    assert schema["properties"]["schema_version"] == {"const": SCHEMA_VERSION}


@pytest.mark.parametrize(("panel", "design", "inference"), CASES)
def test_result_validates_and_has_no_nan(panel: str, design: str, inference: str) -> None:
    result = _result(panel, design, inference)
    document = result.to_dict()
    _assert_valid(document)
    json.dumps(document, allow_nan=False)  # raises ValueError on NaN or infinity
    assert all(math.isfinite(f) for f in _floats(document))
    # Round trip through the text is lossless and still valid.
    text = result.to_json()
    assert json.loads(text) == document
    _assert_valid(json.loads(text))

    est = document["estimate"]
    assert est["inference"]["method"] in ("cluster", "wild-bootstrap", "randomization")
    if inference != "auto":
        assert est["inference"]["method"] == inference
    assert est["ci_low"] <= est["att"] <= est["ci_high"]
    assert 0 <= est["p_value"] <= 1
    if est["se"] is None:  # randomization inference has no standard error, and says so
        assert any(w.startswith("estimate.se is null") for w in document["warnings"])
    periods = document["effects_by_period"]
    assert bool(periods) == (design == "event-study")
    assert set(document["treated_units"]).isdisjoint(document["comparison_units"])


@pytest.mark.parametrize(("panel", "design", "inference"), CASES)
def test_to_json_is_deterministic(panel: str, design: str, inference: str) -> None:
    first = _result(panel, design, inference).to_json()
    second = _estimate(panel, design, inference).to_json()  # a fresh run, same seed
    assert first.encode("utf-8") == second.encode("utf-8")
    assert first.endswith("\n")


def _with_non_finite(result: EffectResult) -> EffectResult:
    """A result whose numbers include NaN, +-inf and NumPy scalars."""
    est = dataclasses.replace(result.estimate, se=math.nan, ci_low=-math.inf,
                              ci_high=math.inf, p_value=np.float64(math.nan))
    periods = (PeriodEffect(period="t+0", event_time=0, att=np.float64(1.5), se=math.nan,
                            ci_low=None, ci_high=np.float64(math.inf)),)
    diagnostics = {**result.diagnostics, "rmspe": np.float64(math.nan),
                   "n_donors": np.int64(7), "nested": {"values": [1.0, math.inf]}}
    return dataclasses.replace(result, estimate=est, effects_by_period=periods,
                               diagnostics=diagnostics)


def test_non_finite_numbers_become_null_with_a_warning() -> None:
    document = _with_non_finite(_result("example", "twfe", "cluster")).to_dict()
    _assert_valid(document)
    text = json.dumps(document, allow_nan=False)
    assert "NaN" not in text and "Infinity" not in text
    est = document["estimate"]
    assert est["se"] is None and est["ci_low"] is None and est["ci_high"] is None
    assert est["p_value"] is None
    assert document["effects_by_period"][0]["se"] is None
    assert document["effects_by_period"][0]["ci_high"] is None
    assert document["effects_by_period"][0]["att"] == 1.5
    assert type(document["effects_by_period"][0]["att"]) is float
    assert document["diagnostics"]["rmspe"] is None
    assert document["diagnostics"]["n_donors"] == 7
    assert type(document["diagnostics"]["n_donors"]) is int
    assert document["diagnostics"]["nested"]["values"] == [1.0, None]
    warnings = " | ".join(document["warnings"])
    for path in ("estimate.se", "estimate.ci_low", "estimate.ci_high", "estimate.p_value",
                 "effects_by_period[0].se", "effects_by_period[0].ci_high",
                 "diagnostics.rmspe", "diagnostics.nested.values[1]"):
        assert f"{path} is null" in warnings, path
    # Each null is explained once, and the result's own warnings are kept.
    assert len(document["warnings"]) == len(set(document["warnings"]))
    assert set(_result("example", "twfe", "cluster").warnings) <= set(document["warnings"])


def test_to_dict_does_not_change_the_result() -> None:
    result = _with_non_finite(_result("example", "twfe", "cluster"))
    before = repr(result)
    result.to_dict()
    assert repr(result) == before
