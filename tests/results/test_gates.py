"""Gates: each trips on a constructed data set and not on a clean one; exit 5 in a batch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from simulate import simulate_panel, to_panel

from lpip_eval.errors import EXIT_GATE, UsageError
from lpip_eval.methods.registry import estimate
from lpip_eval.results.gates import check_gates, gate_error, gate_sentence, parse_gates
from lpip_eval.runs.batch import run_evaluation
from lpip_eval.runs.config import load_config

ALL = ("pretrend-rejected", "poor-pre-fit", "evidence-below:3", "effect-crosses-zero")


def gate_frame() -> pd.DataFrame:
    """40 areas x 12 years, 10 treated from 2008. ``clean``: effect 2, parallel trends;
    ``trend``: the pilot areas drift up 0.5 a year from the start of the data (pre-trend);
    ``null``: no effect at all."""
    frame = simulate_panel(seed=11, effect=2.0, n_periods=12, start=7)
    frame = frame.rename(columns={"y": "clean"})
    frame["null"] = simulate_panel(seed=12, effect=0.0, n_periods=12, start=7)["y"].to_numpy()
    treated = frame["first_treated"] > 0
    frame["trend"] = frame["clean"] + np.where(treated, 0.5 * (frame["period"] - 2001), 0.0)
    return frame


@pytest.fixture(scope="module")
def did_results() -> dict[str, dict[str, Any]]:
    frame = gate_frame()
    return {col: estimate("did", to_panel(frame, outcome=col), {"design": "twfe", "seed": 1}
                          ).to_dict() for col in ("clean", "trend", "null")}


def names(result: dict[str, Any], gates: tuple[str, ...] = ALL) -> list[str]:
    return [g.gate for g in check_gates(result, gates)]


def test_clean_data_trips_no_gate(did_results: dict[str, dict[str, Any]]) -> None:
    assert names(did_results["clean"]) == []


def test_pretrend_rejected_and_evidence_below(did_results: dict[str, dict[str, Any]]) -> None:
    trend = did_results["trend"]
    assert trend["diagnostics"]["pretrend_test"]["rejected_at_5pct"]
    assert names(trend) == ["pretrend-rejected", "evidence-below:3"]
    (tripped,) = check_gates(trend, ["evidence-below:3"])
    assert tripped.message == "the evidence is at level 2 of 5, below the required level 3"
    # level 2 is not below 2
    assert names(trend, ("evidence-below:2",)) == []


def test_effect_crosses_zero(did_results: dict[str, dict[str, Any]]) -> None:
    null = did_results["null"]
    assert null["estimate"]["ci_low"] < 0 < null["estimate"]["ci_high"]
    (tripped,) = check_gates(null, ["effect-crosses-zero"])
    assert tripped.message.startswith("the 95% range (\u2212")
    assert tripped.message.endswith("includes zero: the effect cannot be told apart from no "
                                    "effect")


def test_poor_pre_fit_on_a_pilot_outside_the_donors_range() -> None:
    from lpip_eval.methods.synth.classic import SynthSpec, estimate_synth

    spec = SynthSpec(seed=1, inference="none", placebo_in_time=False, leave_one_out=False)
    results = {}
    for shift in (0.0, 20.0):  # 20 above every donor: no weighted average can track it
        frame = simulate_panel(n_units=15, n_periods=12, n_treated=1, start=8, effect=2.0,
                               seed=3, noise_sd=0.1, time_sd=2.0, unit_sd=1.0)
        frame.loc[frame["area"] == "A01", "y"] += shift
        results[shift] = estimate_synth(to_panel(frame), spec).to_dict()
    assert names(results[0.0], ("poor-pre-fit",)) == []
    (tripped,) = check_gates(results[20.0], ["poor-pre-fit"])
    ratio = results[20.0]["diagnostics"]["pre_fit"]["rmspe_to_sd"]
    assert tripped.message == (f"the synthetic comparison fitted the pilot poorly before the "
                               f"start (pre-period error {ratio:.2f} of the outcome's spread, "
                               "more than 0.5)")


def test_gates_that_do_not_apply_do_not_trip(did_results: dict[str, dict[str, Any]]) -> None:
    result = dict(did_results["trend"], diagnostics={})
    assert names(result, ("pretrend-rejected", "poor-pre-fit")) == []


@pytest.mark.parametrize(("given", "message"), [
    ("pretrend", "unknown gate 'pretrend'"),
    ("evidence-below", "gate 'evidence-below' needs a level from 1 to 5"),
    ("evidence-below:6", "gate 'evidence-below:6' needs a level from 1 to 5"),
    ("effect-crosses-zero:1", "gate 'effect-crosses-zero:1' takes no value"),
])
def test_bad_gate_names_are_usage_errors(given: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_gates([given])
    assert info.value.message == message and info.value.exit_code == 2


def test_gate_sentence_and_error(did_results: dict[str, dict[str, Any]]) -> None:
    tripped = check_gates(did_results["trend"], ALL)
    sentence = gate_sentence(tripped[0], did_results["trend"])
    assert sentence.startswith("Gate 'pretrend-rejected' tripped for the trend (Two-way fixed "
                               "effects difference-in-differences): the pre-trend test "
                               "rejected parallel trends (p < 0.001)")
    assert "p = <" not in sentence  # issue 13: was "(p = < 0.001)"
    error = gate_error(tripped)
    assert error.exit_code == EXIT_GATE
    assert error.message.startswith("gates tripped: pretrend-rejected, evidence-below:3: ")


def test_batch_with_a_tripped_gate_writes_everything_and_exits_5(tmp_path: Path) -> None:
    gate_frame().to_csv(tmp_path / "data.csv", index=False)
    config_text = "\n".join([
        "[data]", 'file = "data.csv"', 'first_treated_col = "first_treated"', "",
        *[f'[[outcome]]\ncolumn = "{c}"\n' for c in ("clean", "trend", "null")],
        "[did]", 'design = "twfe"', "seed = 1", "",
        "[output]", "report = false", "",
        "[gates]", 'fail_on = ["pretrend-rejected", "evidence-below:3"]', ""])
    (tmp_path / "evaluation.toml").write_text(config_text, encoding="utf-8")
    config = load_config(tmp_path / "evaluation.toml")
    batch = run_evaluation(config, fail_on=("effect-crosses-zero",))
    assert batch.exit_code == EXIT_GATE
    out = tmp_path / "lpip-eval-output"
    assert sorted(p.name for p in out.iterdir()) == [
        "clean-did.json", "index.json", "null-did.json", "summary.md", "trend-did.json"]
    index = json.loads((out / "index.json").read_text())
    assert index["exit_code"] == EXIT_GATE
    assert index["fail_on"] == ["pretrend-rejected", "evidence-below:3", "effect-crosses-zero"]
    tripped = {e["outcome"]: [g["gate"] for g in e["gates"]] for e in index["evaluations"]}
    assert tripped == {"clean": [], "trend": ["pretrend-rejected", "evidence-below:3"],
                       "null": ["effect-crosses-zero"]}
    assert [e["status"] for e in index["evaluations"]] == ["ok", "gate-tripped",
                                                           "gate-tripped"]
    summary = (out / "summary.md").read_text()
    assert "3 gates tripped" in summary and "## Gates tripped" in summary
    assert "- Gate 'pretrend-rejected' tripped for the trend" in summary


def test_unknown_gate_from_the_command_line_stops_before_running(tmp_path: Path) -> None:
    gate_frame().to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "evaluation.toml").write_text(
        '[data]\nfile = "data.csv"\nfirst_treated_col = "first_treated"\n'
        '[[outcome]]\ncolumn = "clean"\n[did]\n', encoding="utf-8")
    config = load_config(tmp_path / "evaluation.toml")
    with pytest.raises(UsageError, match="unknown gate 'nope'"):
        run_evaluation(config, fail_on=("nope",))
    assert not (tmp_path / "lpip-eval-output").exists()
