"""Strength-of-evidence rating (Maryland SMS as the What Works Centre applies it)."""

from __future__ import annotations

from report_fixtures import did_event_study, did_twfe, synth

from lpip_eval.results.evidence import LABELS, rate_evidence


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
    rating = rate_evidence(result)
    assert rating["level"] == 3
    assert any("could not be tested" in r for r in rating["reasons"])


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
