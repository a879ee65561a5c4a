"""No method hands back an effect that is not a finite number (issue 10, item 6).

Whatever slips past the loader's magnitude check, ``registry.estimate`` refuses a result
whose effect or standard error is NaN or infinite (exit 4) instead of printing it, or
writing a JSON that the tool's own ``report`` rejects. An interval end may be infinite
(an unbounded interval from too few draws) or missing; that is reported, not refused.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest

from lpip_eval.data.panel import PanelSpec, load_panel
from lpip_eval.errors import DesignError
from lpip_eval.methods import did
from lpip_eval.methods.registry import estimate

GOOD = Path(__file__).resolve().parents[1] / "bad_inputs" / "good"


@pytest.fixture(scope="module")
def panel() -> Any:
    return load_panel(PanelSpec(data=GOOD / "pilot.csv", comparators=GOOD / "comparators.csv",
                                outcome="employment_rate", start="2021Q1"))


def _patched(monkeypatch: pytest.MonkeyPatch, **changes: Any) -> None:
    real = did.estimate_did  # the did designs' estimator in the registry

    def fake(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        return dataclasses.replace(result,
                                   estimate=dataclasses.replace(result.estimate, **changes))

    monkeypatch.setattr(did, "estimate_did", fake)


@pytest.mark.parametrize("changes", [{"att": math.nan}, {"att": math.inf},
                                     {"att": -math.inf}, {"se": math.nan}, {"se": math.inf},
                                     {"p_value": math.inf}])
def test_non_finite_effect_is_a_design_error(changes: dict[str, float], panel: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _patched(monkeypatch, **changes)
    with pytest.raises(DesignError) as caught:
        estimate("did", panel, {"draws": 99})
    named = {"att": "effect", "se": "standard error", "p_value": "p-value"}[next(iter(changes))]
    assert f"estimated {named} is not a finite number" in str(caught.value)
    assert caught.value.hint


def test_unbounded_interval_is_still_a_result(panel: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _patched(monkeypatch, ci_low=-math.inf, ci_high=math.inf)
    result = estimate("did", panel, {"draws": 99})
    assert math.isfinite(result.estimate.att)
    assert result.estimate.ci_high == math.inf
