"""Strength-of-evidence rating (Maryland SMS as the What Works Centre applies it)."""

from __future__ import annotations

from typing import Any

import pytest
from report_fixtures import did_event_study, did_twfe, synth

from lpip_eval.methods.registry import rate_evidence
from lpip_eval.results.evidence import LABELS


def test_did_with_parallel_pretrends_is_level_3() -> None:
    rating = rate_evidence(did_twfe())
    assert rating["level"] == 3
    assert rating["label"] == LABELS[3]
    assert any("moved in parallel" in r for r in rating["reasons"])
    assert any("Only 2 pilot areas" in r for r in rating["reasons"])


def test_failed_pretrend_test_lowers_to_level_2_and_says_so() -> None:
    rating = rate_evidence(did_event_study())
    assert rating["level"] == 2
    assert any("lowered to level 2" in r and "p = 0.010" in r for r in rating["reasons"])


def test_untestable_pretrends_keep_level_3_with_reason() -> None:
    result = did_twfe()
    del result["diagnostics"]["pretrend_test"]
    result["diagnostics"]["pre_periods"] = 1  # no design could test them
    rating = rate_evidence(result)
    assert rating["level"] == 3
    assert any("cannot be tested" in r and "one period" in r for r in rating["reasons"])


def test_untested_but_testable_pretrends_are_level_2() -> None:
    """2+ periods before the start: an event study would test parallel trends, so a design
    that did not is not rated above it (issue 11)."""
    result = did_twfe()
    del result["diagnostics"]["pretrend_test"]
    result["diagnostics"]["pre_periods"] = 2
    rating = rate_evidence(result)
    assert rating["level"] == 2
    assert any("not tested here" in r and "event-study" in r for r in rating["reasons"])


def _staggered(design: str, pretrend: dict[str, Any] | None) -> dict[str, Any]:
    result = did_twfe()
    result["design"] = design
    result["diagnostics"]["treatment_starts"] = {"E06000022": "2021Q3", "E06000023": "2022Q1"}
    if pretrend is None:
        del result["diagnostics"]["pretrend_test"]
    else:
        result["diagnostics"]["pretrend_test"] = pretrend
    return result


PASSED = {"test": "t", "statistic": 1.0, "df": 3, "p_value": 0.6, "leads": 3,
          "rejected_at_5pct": False}
REJECTED = {**PASSED, "p_value": 0.001, "rejected_at_5pct": True}
TITLES = {"twfe": "Two-way fixed effects difference-in-differences",
          "event-study": "Event-study difference-in-differences (leads and lags, reference "
                         "period -1)",
          "cs": "Callaway & Sant'Anna (2021) staggered difference-in-differences",
          "sa": "Interaction-weighted event study (Sun & Abraham 2021)",
          "imputation": "Imputation difference-in-differences (Borusyak, Jaravel & Spiess "
                        "2024)"}


@pytest.mark.parametrize("robust_pre", [PASSED, REJECTED])
def test_untested_design_never_outranks_a_tested_one_on_staggered_data(
        robust_pre: dict[str, Any]) -> None:
    """Naive TWFE and imputation (neither tests pre-trends) are never above CS or Sun &
    Abraham on the same data, whether those passed or failed the test."""
    tested = [rate_evidence(_staggered(TITLES[k], robust_pre))["level"] for k in ("cs", "sa")]
    for key in ("twfe", "imputation"):
        assert rate_evidence(_staggered(TITLES[key], None))["level"] <= min(tested)


def test_twfe_on_staggered_data_is_below_robust_designs_and_says_why() -> None:
    robust = rate_evidence(_staggered(TITLES["cs"], PASSED))
    twfe_result = _staggered(TITLES["twfe"], None)
    twfe_result["diagnostics"]["goodman_bacon"] = {"later_vs_earlier_weight": 0.1}
    naive = rate_evidence(twfe_result)
    assert robust["level"] == 3 and naive["level"] == 2
    reason = " ".join(naive["reasons"])
    assert "started at different times" in reason and "callaway-santanna" in reason
    assert "10% of this estimate's weight" in reason
    # the dynamic TWFE event study is capped too, even when its (contaminated) test passes
    event = rate_evidence(_staggered(TITLES["event-study"], PASSED))
    assert event["level"] == 2 and "Sun & Abraham 2021" in " ".join(event["reasons"])


def test_rejected_pretrend_caps_every_did_design() -> None:
    for key in ("cs", "sa", "event-study"):
        rating = rate_evidence(_staggered(TITLES[key], REJECTED))
        assert rating["level"] == 2
        assert any("lowered to level 2" in r for r in rating["reasons"])


def test_matched_areas_with_rejected_pretrend_are_capped() -> None:
    result = did_twfe()
    result["method"] = "match"
    result["diagnostics"]["balance"] = {"max_abs_smd_after": 0.05}
    result["diagnostics"]["pretrend_test"] = REJECTED
    assert rate_evidence(result)["level"] == 2


def test_honestdid_breakdown_is_cited() -> None:
    result = _staggered(TITLES["cs"], PASSED)
    result["diagnostics"]["sensitivity"] = [
        {"method": "relative-magnitudes", "target": "average", "breakdown": 1.96},
        {"method": "smoothness", "target": "average", "breakdown": 0.0228}]
    reasons = " ".join(rate_evidence(result)["reasons"])
    assert "more than 1.96 times the largest one before it" in reasons
    assert "more than 0.0228 per period" in reasons


def test_castle_doctrine_ratings() -> None:
    """The new-user trial's case: naive TWFE on castle got Level 3 while the event study
    that rejected pre-trends got Level 2. Now TWFE and imputation are not above CS."""
    from castle_data import castle_result

    levels = {d: castle_result(d).evidence["level"] for d in
              ("twfe", "event-study", "callaway-santanna", "sun-abraham", "imputation")}
    assert levels["twfe"] <= levels["callaway-santanna"]
    assert levels["twfe"] <= levels["event-study"]
    assert levels["imputation"] <= min(levels["callaway-santanna"], levels["sun-abraham"])
    assert levels["twfe"] == 2


def test_poor_synthetic_fit_lowers_rating() -> None:
    result = synth()
    assert rate_evidence(result)["level"] == 2
    result["diagnostics"]["pre_fit"]["rmspe_to_sd"] = 0.1
    assert rate_evidence(result)["level"] == 3


def test_short_pre_period_is_a_reason() -> None:
    result = did_twfe()
    result["diagnostics"]["pre_periods"] = 2
    assert any("Short pre-period" in r for r in rate_evidence(result)["reasons"])


def test_poor_balance_after_matching_lowers_rating() -> None:
    result = did_twfe()
    result["method"] = "match"
    result["diagnostics"]["balance"] = {"max_abs_smd_after": 0.4}
    assert rate_evidence(result)["level"] == 2
    result["diagnostics"]["balance"] = {"max_abs_smd_after": 0.05}
    assert rate_evidence(result)["level"] == 3
