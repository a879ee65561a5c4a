"""The report context (pure): headline wording and snapshots per design.

Snapshots live in tests/snapshots/; after an intended change, regenerate them with
``LPIP_EVAL_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_report_context.py`` and review
the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import did_event_study, did_twfe, hostile, synth

from lpip_eval.report.context import build_context, headline

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.mark.parametrize("name, make", [("did_twfe", did_twfe),
                                        ("did_event_study", did_event_study),
                                        ("synth", synth)])
def test_context_snapshot(name: str, make: Any) -> None:
    context = build_context([make()])
    text = json.dumps(context, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    path = SNAPSHOTS / f"context_{name}.json"
    if os.environ.get("LPIP_EVAL_UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_headline_positive_effect_with_unit_and_range() -> None:
    text = headline(did_twfe())
    assert text == ("The pilot is estimated to have raised the employment rate by 1.23 "
                    "percentage points (95% range 0.41 to 2.05 percentage points).")


def test_headline_is_honest_when_range_includes_zero() -> None:
    text = headline(did_event_study())
    assert "cannot be told apart from zero" in text
    assert "raised" not in text
    assert "\u22120.30 to 2.80" in text


def test_headline_negative_effect_says_lowered() -> None:
    result = did_twfe()
    result["estimate"].update(att=-0.8, ci_low=-1.2, ci_high=-0.4)
    assert "lowered the employment rate by 0.80" in headline(result)


def test_headline_without_unit_uses_bare_number() -> None:
    result = did_twfe()
    result["outcome_unit"] = None
    result["outcome_label"] = "claimant rate"
    assert headline(result).startswith("The pilot is estimated to have raised the claimant rate "
                                       "by 1.23 (95% range")


def test_context_is_pure_and_keeps_hostile_strings_as_data() -> None:
    result = hostile()
    before = json.dumps(result, sort_keys=True)
    context = build_context([result])
    assert json.dumps(result, sort_keys=True) == before  # input not modified
    codes = [a["code"] for a in context["main"]["treated"]]
    assert codes == result["treated_units"]  # escaping is the templates' job, not the context's


def test_context_lists_weights_and_checks() -> None:
    context = build_context([synth()])
    section = context["main"]
    assert section["has_weights"] is True
    weights = {a["code"]: a["weight"] for a in section["comparison"]}
    assert weights["E06000001"] == "0.700"
    assert context["evidence"]["level"] == 2  # recomputed: evidence block was empty
