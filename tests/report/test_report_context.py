"""The report context (pure): headline wording and snapshots per design.

Snapshots live in tests/snapshots/; after an intended change, regenerate them with
``LPIP_EVAL_UPDATE_SNAPSHOTS=1 python -m pytest tests/report/test_report_context.py`` and review
the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import did_event_study, did_twfe, hostile, match, synth, triangulated

from lpip_eval.report.context import build_context
from lpip_eval.report.words import headline, outcome_words

SNAPSHOTS = Path(__file__).parents[1] / "snapshots"
GATE = {"gate": "pretrend-rejected", "message": "Gate 'pretrend-rejected' tripped for the "
        "employment rate (Two-way fixed effects difference-in-differences): the pre-trend "
        "test rejected parallel trends (p = 0.010)."}


@pytest.mark.parametrize("name, make", [("did_twfe", did_twfe),
                                        ("did_event_study", did_event_study),
                                        ("synth", synth),
                                        ("triangulated", triangulated)])
def test_context_snapshot(name: str, make: Any) -> None:
    made = make()
    results = made if isinstance(made, list) else [made]
    context = build_context(results, gates=[GATE] if name == "triangulated" else None)
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
    assert "\u22120.3 to 2.8" in text  # +/-1.55: two significant figures, one decimal


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


def test_single_result_has_no_triangulation_and_no_gates() -> None:
    context = build_context([did_twfe()])
    assert context["triangulation"] == [] and context["gates"] == []
    assert context["agreement"] is None and context["evidence"]["scope"] is None
    # two outcomes, one design each: nothing to compare either
    other = did_twfe()
    other["outcome"] = "claimant_rate"
    assert build_context([did_twfe(), other])["triangulation"] == []


def test_several_designs_are_compared_and_the_top_rating_is_the_combined_one() -> None:
    results = triangulated()  # did +1.23 (level 3), synth -1.50 (level 2), match +1.10
    context = build_context(results)
    (entry,) = context["triangulation"]
    assert entry["agreement"]["status"] == "disagree"
    assert context["agreement"] == entry["agreement"]["statement"]
    # disagreement: the lowest single level, with the reasons of the design it came from
    assert context["evidence"]["level"] == entry["evidence"]["level"] == 2
    assert context["evidence"]["reasons"][:2] == entry["evidence"]["reasons"]
    assert context["evidence"]["reasons"][2].startswith("Synthetic control: ")
    assert context["evidence"]["scope"] == ("Combined rating of the 3 designs that estimate "
                                            "the employment rate.")
    assert [row["effect"] for row in entry["table"]] == ["+1.23", "\u22121.50", "+1.10"]
    assert entry["range_heading"] == "95% range"
    assert [row["evidence"] for row in entry["table"]] == ["3 of 5", "2 of 5", "3 of 5"]
    # donors by weight, then matched areas that are not donors; names where known
    assert entry["overlap"]["areas"] == [
        {"code": "E06000001", "name": "Hartlepool", "weight": "0.700", "matched": True},
        {"code": "E06000002", "name": "", "weight": "0.300", "matched": False},
        {"code": "E06000003", "name": "", "weight": "", "matched": True}]


def test_agreement_lifts_the_top_rating_to_the_best_design() -> None:
    low = did_event_study()  # pre-trend test rejected: level 2 on its own
    low["estimate"].update(att=1.2, ci_low=0.4, ci_high=2.0)
    context = build_context([low, match()])
    assert context["triangulation"][0]["agreement"]["status"] == "agree"
    assert context["evidence"]["level"] == 3
    assert "level 2" in " ".join(build_context([low])["evidence"]["reasons"])


def test_gates_are_passed_through_as_text() -> None:
    context = build_context([hostile()], gates=[{"gate": "x", "message": "<b>y</b>"}])
    assert context["gates"] == [{"gate": "x", "message": "<b>y</b>"}]


def test_big_box_and_headline_show_the_same_number() -> None:
    """Issue 13: "+21,013.188 prisoners" in the big box beside "+21,013.19" in the headline.
    A count with a range of +/-42,000 is shown with no decimals, the same everywhere."""
    result = synth()
    result.update(outcome_label="Black male prisoners", outcome_unit="prisoners")
    result["estimate"].update(att=21013.188, ci_low=-21305.2, ci_high=63331.5, se=None)
    context = build_context([result])
    assert context["main"]["estimate"]["att"] == "+21,013"
    assert "+21,013 prisoners" in context["headline"]
    assert "\u221221,305 to 63,332" in context["headline"]
    assert "." not in context["main"]["estimate"]["ci_high"]


def test_outcome_label_reaches_every_chart() -> None:
    """Issue 13: "Figure 3. bmprison: pilot vs synthetic", y axis "Bmprison" despite
    --outcome-label."""
    result = synth()
    result.update(outcome="bmprison", outcome_label="Black male prisoners",
                  outcome_unit="prisoners")
    result["diagnostics"]["charts"] = [  # as methods/synth/output.py titles them
        {"id": "synth_paths", "kind": "paths", "title": "bmprison: pilot vs synthetic",
         "alt": "Line chart of bmprison from 1985 to 2000.", "rows": []},
        {"id": "synth_gap", "kind": "gap", "title": "Gap in bmprison: pilot minus synthetic",
         "alt": "Line chart of the gap.", "rows": []}]
    charts = build_context([result])["main"]["charts"]
    for chart in charts:
        assert "bmprison" not in chart["title"] + chart["alt"], chart["title"]
    paths = [c for c in charts if c["kind"] in ("paths", "gap")]
    assert paths and all("Black male prisoners (prisoners)" in c["ylabel"] for c in paths)


@pytest.mark.parametrize(("column", "label"), [
    ("l_homicide", "l_homicide"), ("ln_wage", "ln_wage"), ("employment_rate", "employment rate"),
    ("bmprison", "bmprison"),
])
def test_column_names_become_words_only_when_safe(column: str, label: str) -> None:
    result = did_twfe()
    result.update(outcome=column, outcome_label=None)
    assert outcome_words(result)[0] == label
    assert "l homicide" not in build_context([result])["title"]


def test_log_outcome_reads_as_a_percentage() -> None:
    """Issue 13: castle doctrine's +0.0694 on l_homicide was never translated to about +7%."""
    result = did_twfe()
    result.update(outcome="l_homicide", outcome_label=None, outcome_unit="log points")
    result["estimate"].update(att=0.0694, ci_low=-0.043, ci_high=0.182, se=0.0559)
    text = headline(result)
    assert "+0.07 log points (about +7.2%)" in text
    assert "(about \u22124.2% to +20%)" in text and "l homicide" not in text
    assert build_context([result])["main"]["estimate"]["percent"] == "about +7.2%"
    result["estimate"].update(ci_low=0.01, ci_high=0.13)
    assert "raised the l_homicide by 0.069 log points, about 7.2%" in headline(result)
    result.update(outcome_unit=None, outcome_scale="log")
    assert "about 7.2%" in headline(result)
    result.update(outcome_scale=None)
    assert "about" not in headline(result)  # not a log outcome: no percentage


@pytest.mark.parametrize(("att", "low", "high", "shown"), [
    (21013.188, -21305.2, 63331.4, "+21,013 prisoners, but the 95% range \u221221,305 to 63,331"),
    (1.9e12, -2.0e12, 5.8e12, "+1,900,000,000,000 prisoners, but the 95% range "
                               "\u22122,000,000,000,000 to 5,800,000,000,000"),
    (3.2e-5, -1.1e-5, 7.5e-5, "+0.000032 prisoners, but the 95% range \u22120.000011 to "
                              "0.000075"),
    (0.25, 0.1, 0.4, "raised the Black male prisoners by 0.25 prisoners (95% range 0.10 to 0.40"),
])
def test_headline_precision_from_huge_to_tiny(att: float, low: float, high: float,
                                              shown: str) -> None:
    """No scientific notation and no false precision at any magnitude (issue 13)."""
    result = synth()
    result.update(outcome_label="Black male prisoners", outcome_unit="prisoners")
    result["estimate"].update(att=att, ci_low=low, ci_high=high, se=None)
    text = headline(result)
    assert shown in text, text
    assert not re.search(r"\de[+-]?\d", text)


def test_titles_keep_column_names_and_acronyms_as_given() -> None:
    """Issue 13: "L_homicide: pilot areas and comparison areas"; str.capitalize also made
    "GDP per head" into "Gdp per head"."""
    from lpip_eval.report.words import sentence_case

    assert sentence_case("l_homicide") == "l_homicide"
    assert sentence_case("GDP per head") == "GDP per head"
    assert sentence_case("employment rate") == "Employment rate"
    result = did_twfe()
    result.update(outcome="l_homicide", outcome_label=None)
    titles = [c["title"] for c in build_context([result])["main"]["charts"]]
    assert titles[0].startswith("l_homicide: pilot areas")


def test_headline_carries_a_rejected_pre_trend() -> None:
    """Read alone (an e-mail's first lines), the headline must not sound surer than the rating:
    the Medicaid expansion (ehec) gave 'raised ... by 0.067' over a Level 2 rating whose reason
    was a pre-trend test at p < 0.001."""
    result = did_twfe()
    assert "already moving differently" not in headline(result)
    result["diagnostics"]["pretrend_test"] = {"test": "t", "p_value": 0.0004,
                                              "rejected_at_5pct": True}
    text = headline(result)
    assert text.startswith("The pilot is estimated to have raised the employment rate")
    assert text.endswith("Before it started, the pilot and comparison areas were already "
                         "moving differently (pre-trend test p < 0.001), so the comparison may "
                         "not show what would have happened without it.")
