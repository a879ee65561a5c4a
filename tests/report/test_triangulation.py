"""Triangulation on hand-built result dicts: agreement, disagreement, donor overlap, rating."""

from __future__ import annotations

from typing import Any

from lpip_eval.report.triangulation import triangulate


def result(method: str, att: float, low: float | None, high: float | None, *,
           outcome: str = "employment_rate", level: int = 3,
           weights: dict[str, float] | None = None, design: str | None = None
           ) -> dict[str, Any]:
    designs = {"did": "Two-way fixed effects difference-in-differences",
               "synth": "Synthetic control", "match": "Matched comparison areas"}
    return {
        "method": method, "design": design or designs[method], "outcome": outcome,
        "outcome_label": None, "outcome_unit": "percentage points",
        "treated_units": ["P1"], "comparison_units": sorted(weights or {"C1": 1.0}),
        "estimate": {"att": att, "se": None, "ci_low": low, "ci_high": high,
                     "ci_level": 0.95, "p_value": 0.01,
                     "inference": {"method": "placebo", "reason": "", "details": {}}},
        "weights": [{"unit": u, "weight": w} for u, w in (weights or {}).items()],
        "diagnostics": {"unit_names": {"C1": "Area One", "C2": "Area Two"}},
        "evidence": {"level": level, "label": "", "reasons": []},
    }


def only(results: list[dict[str, Any]]) -> dict[str, Any]:
    (entry,) = triangulate(results)["outcomes"]
    return entry


def test_one_design_per_outcome_is_not_triangulated() -> None:
    assert triangulate([result("did", 1.5, 1.2, 1.8),
                        result("synth", 1.4, 1.0, 1.9, outcome="claimant_rate")]) == {
        "outcomes": []}


def test_agreement_takes_the_best_level() -> None:
    entry = only([result("did", 1.5, 1.2, 1.8, level=2), result("synth", 1.3, 0.9, 1.7),
                  result("match", 1.7, 1.3, 2.1)])
    assert entry["agreement"]["status"] == "agree"
    assert entry["agreement"]["statement"] == ("The 3 designs agree: every one estimates a "
                                               "rise, and their ranges overlap.")
    assert entry["evidence"]["level"] == 3
    assert entry["evidence"]["label"].startswith("Level 3 of 5")
    assert entry["evidence"]["reasons"][1].startswith(
        "Combined rating: the best single design's level (synthetic control, level 3)")
    assert [r["label"] for r in entry["rows"]] == [
        "Two-way fixed effects difference-in-differences", "Synthetic control",
        "Matched comparison areas"]
    assert entry["outcome_label"] == "employment rate"


def test_no_clear_effect_counts_as_agreement() -> None:
    entry = only([result("did", 0.1, -0.4, 0.6), result("synth", -0.1, -0.7, 0.5)])
    assert entry["agreement"]["status"] == "agree"
    assert "agree that there is no clear effect" in entry["agreement"]["statement"]


def test_disagreement_names_the_designs_and_takes_the_lowest_level() -> None:
    entry = only([result("did", 1.5, 1.2, 1.8, level=3),
                  result("synth", -0.4, -0.9, -0.1, level=2)])
    agreement = entry["agreement"]
    assert agreement["status"] == "disagree"
    assert agreement["apart"] == [["two-way fixed effects difference-in-differences",
                                   "synthetic control"]]
    assert agreement["statement"] == (
        "The designs disagree: two-way fixed effects difference-in-differences (1.20 to 1.80) "
        "and synthetic control (\u22120.90 to \u22120.10) have ranges that do not overlap; "
        "two-way fixed effects difference-in-differences estimates a rise while synthetic "
        "control estimates a fall.")
    assert entry["evidence"]["level"] == 2
    assert "designs disagree" in entry["evidence"]["reasons"][0]


def test_overlapping_ranges_with_a_clear_opposite_sign_disagree() -> None:
    entry = only([result("did", 0.5, 0.1, 0.9), result("match", -0.1, -0.6, 0.4)])
    assert entry["agreement"]["status"] == "disagree"
    assert entry["agreement"]["apart"] == []
    assert entry["agreement"]["rising"] == ["two-way fixed effects difference-in-differences"]
    assert entry["agreement"]["falling"] == ["matched comparison areas"]


def test_a_design_without_an_interval_is_left_out() -> None:
    entry = only([result("did", 1.5, 1.2, 1.8), result("synth", 1.4, None, None)])
    assert entry["agreement"]["status"] == "unknown"
    assert "synthetic control left out: no interval could be computed" in \
        entry["agreement"]["statement"]
    assert entry["chart"]["series"]["low"] == [1.2, None]


def test_donor_overlap_with_matched_areas() -> None:
    synth = result("synth", 1.4, 1.0, 1.8,
                   weights={"C1": 0.6, "C2": 0.3, "C3": 0.095, "C4": 0.005})
    match = result("match", 1.6, 1.2, 2.0, weights={"C1": 0.5, "C3": 0.5, "C5": 0.0})
    entry = only([result("did", 1.5, 1.2, 1.8), synth, match])
    overlap = entry["overlap"]
    # C4's weight 0.005 is below the 0.01 donor threshold; C5 was not matched (weight 0)
    assert overlap["synth_donors"] == ["C1", "C2", "C3"]
    assert overlap["matched"] == ["C1", "C3"]
    assert overlap["shared"] == ["C1", "C3"]
    assert overlap["share_of_donors"] == 2 / 3
    assert abs(overlap["synth_weight_on_matched"] - 0.695 / 0.995) < 1e-12
    assert overlap["statement"] == ("2 of the 3 synthetic-control donors (70% of the "
                                    "synthetic weight) are also among the 2 matched areas: "
                                    "Area One, C3.")
    assert only([result("did", 1.5, 1.2, 1.8), synth])["overlap"] is None


def test_forest_chart_spec() -> None:
    entry = only([result("did", 1.5, 1.2, 1.8), result("synth", 1.3, 0.9, 1.7)])
    chart = entry["chart"]
    assert chart["kind"] == "forest" and chart["id"] == "forest"
    assert chart["series"] == {"labels": ["Two-way fixed effects difference-in-differences",
                                          "Synthetic control"],
                               "att": [1.5, 1.3], "low": [1.2, 0.9], "high": [1.8, 1.7]}
    assert chart["xlabel"] == "Effect on employment rate (percentage points)"
    assert chart["rows"][1] == ["Synthetic control", "+1.30", "0.90 to 1.70"]


def test_forest_chart_spec_is_drawn_by_the_report_charts() -> None:
    from lpip_eval.report.charts import CHART_KINDS, render_chart

    assert "forest" in CHART_KINDS
    chart = only([result("did", 1.5, 1.2, 1.8), result("synth", 1.3, None, None),
                   result("match", 1.7, 1.3, 2.1,
                          design="Matched comparison areas, one per pilot, two-way fixed "
                                 "effects difference-in-differences")])["chart"]
    png = render_chart(chart)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert render_chart(chart) == png


def test_two_results_of_one_design_are_told_apart() -> None:
    entry = only([result("did", 1.5, 1.2, 1.8, design="Synthetic control"),
                  result("synth", 1.3, 0.9, 1.7)])
    assert [r["name"] for r in entry["rows"]] == ["synthetic control (did)",
                                                  "synthetic control (synth)"]


def test_the_report_context_carries_each_compared_outcome() -> None:
    """build_context shows triangulate's entries (outcomes with two or more designs), adding
    a table for the reader and the list of donors and matched areas."""
    from lpip_eval.report.context import build_context

    synth = result("synth", 1.4, 1.0, 1.8, weights={"C1": 0.6, "C2": 0.4})
    match = result("match", 1.6, 1.2, 2.0, weights={"C1": 1.0, "C3": 1.0})
    results = [result("did", 1.5, 1.2, 1.8), synth, match,
               result("did", -0.2, -0.3, -0.1, outcome="claimant_rate")]
    (expected,) = triangulate(results)["outcomes"]
    (shown,) = build_context(results)["triangulation"]
    assert {k: v for k, v in shown.items() if k in expected and k != "overlap"} == \
        {k: v for k, v in expected.items() if k != "overlap"}
    assert {k: v for k, v in shown["overlap"].items() if k != "areas"} == expected["overlap"]
    assert shown["overlap"]["areas"] == [
        {"code": "C1", "name": "Area One", "weight": "0.600", "matched": True},
        {"code": "C2", "name": "Area Two", "weight": "0.400", "matched": False},
        {"code": "C3", "name": "", "weight": "", "matched": True}]
    assert [r["evidence"] for r in shown["table"]] == ["3 of 5"] * 3
    assert shown["table"][1] == {"design": "Synthetic control", "effect": "+1.40",
                                 "range": "1.00 to 1.80", "p_value": "0.010",
                                 "evidence": "3 of 5"}


def test_mixed_interval_levels_are_named_in_the_table() -> None:
    from lpip_eval.report.context import build_context

    other = result("synth", 1.3, 0.9, 1.7)
    other["estimate"]["ci_level"] = 0.9
    (shown,) = build_context([result("did", 1.5, 1.2, 1.8), other])["triangulation"]
    assert shown["range_heading"] == "Range"
    assert [r["range"] for r in shown["table"]] == ["1.20 to 1.80 (95%)",
                                                    "0.90 to 1.70 (90%)"]


def test_agreeing_on_a_direction_is_not_an_effect() -> None:
    """Issue 13: a combined report headed "cannot be told apart from zero" went on "The 3
    designs agree: every one estimates a fall" (organ donations)."""
    from lpip_eval.report.triangulation import _agreement

    rows = [{"name": n, "att": a, "ci_low": lo, "ci_high": hi} for n, a, lo, hi in
            (("DiD", -0.0225, -0.142, 0.106), ("matching", -0.019, -0.148, 0.110),
             ("synthetic control", -0.0159, -0.372, 0.340))]
    statement = _agreement(rows)["statement"]
    assert "every range also includes no effect" in statement
    assert not statement.startswith("The 3 designs agree: every one estimates a fall")
    rows[0].update(ci_low=-0.04, ci_high=-0.01)
    assert "the ranges of matching and synthetic control also include no effect" in \
        _agreement(rows)["statement"]
