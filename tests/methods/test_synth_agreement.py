"""Do the inference methods agree? (``methods/synth/agreement.py``, issue 12 item 4).

The verdict rules are checked on hand-made p-values; the real-data behaviour on Texas
(Mixtape, via causaldata) and the Prop 99 sdid case are in test_synth_inference.py and
test_sdid.py.
"""

from __future__ import annotations

import pytest

from lpip_eval.methods.synth.agreement import NullTest, agreement, agreement_check, verdict


def test_verdicts_at_alpha() -> None:
    assert verdict(NullTest("a", 0.04), 0.05) == "rejects"
    assert verdict(NullTest("a", 0.05), 0.05) == "rejects"  # p <= alpha
    assert verdict(NullTest("a", 0.3), 0.05) == "does not reject"
    assert verdict(NullTest("a", 0.0625, 1 / 16), 0.05) == "cannot reject"


def test_one_rejecting_and_one_clearly_not_disagree() -> None:
    block = agreement([NullTest("ranks", 0.02, 1 / 51), NullTest("conformal", 0.40, 1 / 31)], 0.95)
    assert block is not None and block["agree"] is False
    assert block["rejecting"] == ["ranks"] and block["not_rejecting"] == ["conformal"]
    check = agreement_check(block)
    assert check["ok"] is False
    assert "ranks rejects no effect, conformal does not" in check["verdict"]


def test_p_values_either_side_of_alpha_within_a_factor_two_agree() -> None:
    block = agreement([NullTest("ranks", 0.04), NullTest("se", 0.08)], 0.95)
    assert block is not None and block["agree"] is True


def test_a_test_that_cannot_reach_alpha_is_left_out() -> None:
    block = agreement([NullTest("ranks", 0.02, 1 / 51),
                       NullTest("conformal", 0.0625, 1 / 16)], 0.95)
    assert block is not None and block["agree"] is None
    assert "cannot go below 0.062" in block["summary"]
    assert agreement_check(block)["ok"] is None


@pytest.mark.parametrize("level", [0.9, 0.95])
def test_alpha_follows_the_ci_level(level: float) -> None:
    block = agreement([NullTest("a", 0.07), NullTest("b", 0.5)], level)
    assert block is not None
    assert block["agree"] is (level != 0.9)  # at 90% 'a' rejects and 'b' clearly does not


def test_fewer_than_two_tests_give_no_block() -> None:
    assert agreement([NullTest("a", 0.5)], 0.95) is None
