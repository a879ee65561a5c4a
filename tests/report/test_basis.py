"""What each answer rests on (``report/basis.py``, issue 12 item 5): when designs or inference
methods on one outcome give different answers, the combined report says which answer rests
on which assumption and which checks each passed, instead of three numbers side by side.

The Texas case (Mixtape's Texas prison expansion, 1993): default predictors p = 0.18,
covariate predictors p = 0.02, synthetic DiD p = 0.02, conformal with 16 periods (no
bounded set) — rebuilt here from the synth fixture with those numbers.
"""

from __future__ import annotations

import copy
from typing import Any

from report_fixtures import did_twfe, synth

from lpip_eval.report.basis import (
    answer,
    checks_summary,
    range_assumption,
    short_name,
    variants,
    why_they_differ,
)
from lpip_eval.report.context import build_context
from lpip_eval.report.render import render_markdown
from lpip_eval.report.triangulation import triangulate


def _texas_like(p: float, low: float | None, high: float | None, inference: str = "placebo",
                predictors: list[str] | None = None) -> dict[str, Any]:
    result = synth()
    result["estimate"].update(att=21013.0, ci_low=low, ci_high=high, p_value=p)
    result["estimate"]["inference"]["method"] = inference
    if inference == "conformal":
        result["estimate"]["inference"]["details"] = {
            "periods": 16, "range_note": "no bounded 95% set: with 16 periods the smallest "
            "possible p-value is 1/16 = 0.062, above 0.05, so no effect size can be ruled out"}
    result["provenance"] = copy.deepcopy(result["provenance"])
    result["provenance"]["options"] = {"inference": inference, "predictors": predictors,
                                       "workers": 2, "seed": 1}
    return result


def _texas() -> list[dict[str, Any]]:
    return [_texas_like(0.176, -21305.0, 63331.0),
            _texas_like(0.020, 5179.0, 36848.0, predictors=["income", "ur", "alcohol"]),
            _texas_like(0.062, None, None, inference="conformal")]


def test_results_of_one_design_are_told_apart_by_their_options() -> None:
    shown = variants(_texas())
    assert shown == ["inference: placebo; predictors: default",
                     "inference: placebo; predictors: income, ur, alcohol",
                     "inference: conformal; predictors: default"]
    assert variants([did_twfe(), synth()]) == ["", ""]  # unique designs need no variant
    assert short_name("Synthetic control (Abadie, Diamond & Hainmueller 2010)") == \
        "Synthetic control"
    assert short_name("Two-way fixed effects (cluster)") == "Two-way fixed effects (cluster)"


def test_answers_and_why_they_differ() -> None:
    texas = _texas()
    assert answer(texas[0]) == ("none", "cannot be told apart from zero (p = 0.176)")
    assert answer(texas[1]) == ("rise", "a clear rise (p = 0.020)")
    kind, words = answer(texas[2])
    assert kind == "open" and words.startswith("no bounded 95% set: with 16 periods")
    entry = triangulate(texas)["outcomes"][0]
    names = [row["name"] for row in entry["basis"]]
    assert names[1] == "synthetic control (inference: placebo; predictors: income, ur, alcohol)"
    why = entry["why"]
    assert why is not None
    assert f"{names[1]} finds a clear rise" in why
    assert f"{names[0]} finds an effect that cannot be told apart from zero" in why
    assert f"{names[2]} finds no range" in why


def test_each_answer_names_the_assumption_its_range_rests_on() -> None:
    texas = _texas()
    assert "ranked among the comparison areas' own" in range_assumption(texas[0])
    assert "cannot go below 1/16" in range_assumption(texas[2])
    did = did_twfe()
    assert "randomization" in range_assumption(did) or "cluster" in range_assumption(did)


def test_checks_are_counted_and_concerns_named() -> None:
    result = synth()
    result["diagnostics"]["checks"] = [
        {"assumption": "a", "check": "Pre-period fit: gap", "result": "", "ok": True,
         "verdict": "fine"},
        {"assumption": "b", "check": "Predictor balance: pilot", "result": "", "ok": False,
         "verdict": "off"},
        {"assumption": "c", "check": "Other tests of no effect", "result": "", "ok": None,
         "verdict": "cannot compare"}]
    summary = checks_summary(result)
    assert summary["passed"] == 1 and summary["concerns"] == ["Predictor balance"]
    assert summary["text"] == ("1 passed, concern: Predictor balance, not checked: Other "
                               "tests of no effect")


def test_same_answers_need_no_explanation() -> None:
    texas = _texas()[:1]
    assert why_they_differ([{"answer_kind": "none", "name": "a"},
                            {"answer_kind": "none", "name": "b"}]) is None
    assert triangulate(texas)["outcomes"] == []  # one design: nothing to compare


def test_the_combined_report_explains_the_difference() -> None:
    texas = _texas()
    context = build_context(texas)
    assert "The answers differ" in context["agreement"]  # under the headline too
    text = render_markdown(context)
    assert "**Why the answers differ.**" in text
    assert "What each answer rests on:" in text
    assert "Rests on: without the pilot, it would have kept following" in text


def test_options_from_the_data_are_escaped_in_the_html() -> None:
    from lpip_eval.report.render import render_html

    texas = _texas()
    texas[1]["provenance"]["options"]["predictors"] = ["<script>alert(1)</script>"]
    html = render_html(build_context(texas), {})
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
