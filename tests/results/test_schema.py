"""The JSON result contract (docs/design.md, "JSON result"): the published schema, and how a
result's non-finite numbers become null with a warning.

That every method's and design's result validates against the schema, holds no NaN and
serialises byte for byte the same for the same seed is checked for all of them in
``tests/methods/test_contract.py``; here, DiD's per-design content on the example files.
"""

from __future__ import annotations

import dataclasses
import json
import math
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from schema_check import assert_valid

from lpip_eval.data.panel import Panel, PanelSpec, load_panel
from lpip_eval.methods.did import DidSpec, estimate_did
from lpip_eval.methods.registry import result_schema
from lpip_eval.results.result import SCHEMA_VERSION, EffectResult, PeriodEffect

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "west_of_england"
DRAWS = 99


@cache
def _panel() -> Panel:
    return load_panel(PanelSpec(data=EXAMPLE / "pilot.csv",
                                comparators=EXAMPLE / "comparators.csv",
                                outcome="employment_rate", start="2021Q3"))


DESIGNS = ("2x2", "twfe", "event-study")


@cache
def _result(design: str, inference: str) -> EffectResult:
    return estimate_did(_panel(), DidSpec(design=design, inference=inference, draws=DRAWS,
                                          seed=5))


def test_schema_version_matches_the_published_schema() -> None:
    schema = result_schema()
    accepted = schema["properties"]["schema_version"]["enum"]
    assert SCHEMA_VERSION == accepted[-1] == "1.1"  # 1.1 added outcome_scale
    assert "1.0" in accepted  # a MINOR bump keeps earlier results of its major valid


@pytest.mark.parametrize("design", DESIGNS)
def test_did_result_on_the_example(design: str) -> None:
    """Quarterly labels, per-period effects for the event study only, disjoint groups."""
    document = _result(design, "auto").to_dict()
    assert_valid(document)
    assert document["treatment_start"] == "2021Q3"
    periods = document["effects_by_period"]
    assert bool(periods) == (design == "event-study")
    assert set(document["treated_units"]).isdisjoint(document["comparison_units"])


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
    document = _with_non_finite(_result("twfe", "cluster")).to_dict()
    assert_valid(document)
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
    assert set(_result("twfe", "cluster").warnings) <= set(document["warnings"])


def test_to_dict_does_not_change_the_result() -> None:
    result = _with_non_finite(_result("twfe", "cluster"))
    before = repr(result)
    result.to_dict()
    assert repr(result) == before
