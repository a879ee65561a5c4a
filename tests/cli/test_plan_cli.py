"""``lpip-eval plan`` end to end: what-if JSON (schema-valid), data mode, the gate."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from lpip_eval.cli.commands import app
from lpip_eval.results.plan import load_plan_schema

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "examples" / "west_of_england"
WHAT_IF = ["plan", "--n-areas", "100", "--n-treated", "50", "--n-pre", "3", "--n-post", "3",
           "--sd", "1", "--rho", "0.9"]


def test_what_if_json_is_schema_valid_and_hand_value() -> None:
    out = CliRunner().invoke(app, [*WHAT_IF, "--json", "-"])
    assert out.exit_code == 0, out.output
    body = json.loads(out.stdout)
    jsonschema.Draft202012Validator(load_plan_schema()).validate(body)
    assert body["kind"] == "plan" and body["mde_source"] == "analytic"
    assert body["mde"] == pytest.approx(0.338487, abs=1e-6)  # derived (test_power.py)
    assert body["assumptions"]["bracket"] == pytest.approx(0.357847, abs=1e-6)


def test_gate_mde_above_trips_after_writing(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    out = CliRunner().invoke(app, [*WHAT_IF, "--json", str(target), "--fail-on",
                                   "mde-above:0.3"])
    assert out.exit_code == 5
    assert target.exists()
    ok = CliRunner().invoke(app, [*WHAT_IF, "--quiet", "--fail-on", "mde-above:0.4"])
    assert ok.exit_code == 0


def test_bad_gate_value_and_missing_what_if_are_usage_errors() -> None:
    bad = CliRunner().invoke(app, [*WHAT_IF, "--fail-on", "mde-above:x"])
    assert bad.exit_code == 2 and "positive number" in bad.output
    missing = CliRunner().invoke(app, ["plan", "--n-areas", "10"])
    assert missing.exit_code == 2 and "what-if" in missing.output


ROLLOUT = ["plan", str(ROOT / "examples" / "rollout" / "rollout.csv"), "--first-treated-col",
           "planned_start", "--outcome", "employment_rate"]


def test_wave_plan_json_is_schema_valid(tmp_path: Path) -> None:
    """A roll-out in three waves, all after the data's end (issue 15, item 5)."""
    out = CliRunner().invoke(app, [*ROLLOUT, "--pilots", "4", "--draws", "19",
                                   "--json", str(tmp_path / "p.json"),
                                   "--markdown", str(tmp_path / "p.md"),
                                   "--report", str(tmp_path / "p.html")])
    assert out.exit_code == 0, out.output
    body = json.loads((tmp_path / "p.json").read_text())
    jsonschema.Draft202012Validator(load_plan_schema()).validate(body)
    assert body["schema_version"] == "1.1" and body["design"] == "callaway-santanna"
    assert [(w["start"], w["n_areas"], w["n_post"]) for w in body["waves"]] == [
        ("2025Q3", 2, 12), ("2026Q1", 2, 10), ("2026Q3", 4, 8)]
    assert body["mde"] == body["mde_simulated"]
    assert body["assumptions"]["history"] == ["2015Q1", "2024Q4"]
    assert "Rolled out in 3 waves" in out.stdout and "the 2026Q1 wave (2 areas" in out.stdout
    markdown = (tmp_path / "p.md").read_text()
    assert "## Waves" in markdown and "| 2026Q3 | 4 | 32 | 8 |" in markdown
    html = (tmp_path / "p.html").read_text()
    assert "Wave by wave" in html and "<th scope=\"row\">2026Q1</th>" in html
    assert "<script" not in html


def test_single_start_plan_has_no_waves() -> None:
    out = CliRunner().invoke(app, [*WHAT_IF, "--json", "-"])
    assert json.loads(out.stdout)["waves"] is None


@pytest.mark.parametrize("method", ["synth", "match"])
def test_wave_plan_with_synth_or_match_is_refused(method: str) -> None:
    out = CliRunner().invoke(app, [*ROLLOUT, "--method", method, "--pilots", "0"])
    assert out.exit_code == 2, out.output
    errors = [line for line in out.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and f"--method {method} cannot plan a roll-out in waves" in errors[0]
    assert "--method did" in out.output


def test_data_plan_did_writes_report_and_json(tmp_path: Path) -> None:
    args = ["plan", str(EX / "pilot.csv"), "--comparators", str(EX / "comparators.csv"),
            "--outcome", "employment_rate", "--start", "2021Q3", "--method", "did",
            "--pilots", "40", "--draws", "99", "--expected-effect", "1",
            "--json", str(tmp_path / "p.json"), "--report", str(tmp_path / "p.html"),
            "--markdown", str(tmp_path / "p.md")]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    body = json.loads((tmp_path / "p.json").read_text())
    jsonschema.Draft202012Validator(load_plan_schema()).validate(body)
    assert body["mde_source"] == "simulated" and body["mde"] > 0
    assert body["simulation"]["inference"] == "randomization"
    html = (tmp_path / "p.html").read_text()
    assert "would detect an effect on the employment rate" in html
    assert "<script" not in html


def test_planned_start_after_the_data_end_uses_all_history(tmp_path: Path) -> None:
    """The issue: "the start may lie after the data end" (the data ends 2024Q4); estimating
    commands keep refusing such a start."""
    base = ["--comparators", str(EX / "comparators.csv"), "--outcome", "employment_rate"]
    out = CliRunner().invoke(app, ["plan", str(EX / "pilot.csv"), *base, "--start", "2026Q1",
                                   "--pilots", "0", "--json", str(tmp_path / "p.json")])
    assert out.exit_code == 0, out.output
    body = json.loads((tmp_path / "p.json").read_text())
    assert body["start"] == "2026Q1"
    assert body["assumptions"]["history"] == ["2015Q1", "2024Q4"]
    assert body["assumptions"]["n_pre"] == 40
    refused = CliRunner().invoke(app, ["did", str(EX / "pilot.csv"), *base, "--start",
                                       "2026Q1"])
    assert refused.exit_code == 4 and "after the last period" in refused.output


def test_wave_plan_from_a_treatment_column_inside_the_data(tmp_path: Path) -> None:
    """--treatment-col: starts inside the data (2023Q1, 2023Q3), so the history is the data
    before 2023Q1 and the rest is not used."""
    import pandas as pd

    frame = pd.read_csv(ROOT / "examples" / "rollout" / "rollout.csv", dtype=str)
    starts = {"E06000023": "2023Q1", "E06000025": "2023Q1", "E06000022": "2023Q3",
              "E06000024": "2023Q3"}
    frame["on"] = [int(a in starts and p >= starts[a]) for a, p in
                   zip(frame["area"], frame["period"], strict=True)]
    path = tmp_path / "history.csv"
    frame.drop(columns="planned_start").to_csv(path, index=False)
    out = CliRunner().invoke(app, ["plan", str(path), "--treatment-col", "on", "--outcome",
                                   "employment_rate", "--post-periods", "4", "--pilots", "0",
                                   "--json", "-"])
    assert out.exit_code == 0, out.output
    body = json.loads(out.stdout)
    assert body["assumptions"]["history"] == ["2015Q1", "2022Q4"]
    assert [(w["start"], w["n_areas"], w["n_post"]) for w in body["waves"]] == [
        ("2023Q1", 2, 6), ("2023Q3", 2, 4)]


def test_rollout_example_is_what_its_script_writes(tmp_path: Path) -> None:
    import importlib.util

    script = ROOT / "examples" / "rollout" / "generate.py"
    spec = importlib.util.spec_from_file_location("rollout_generate", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path / "rollout.csv")
    assert (tmp_path / "rollout.csv").read_bytes() == (script.parent / "rollout.csv").read_bytes()


def test_what_if_command_has_no_data_argument() -> None:
    """Without DATA the recorded command leaves the argument out (it read 'plan None')."""
    out = CliRunner().invoke(app, [*WHAT_IF, "--json", "-"])
    assert out.exit_code == 0, out.output
    command = json.loads(out.stdout)["command"]
    assert command.startswith("lpip-eval plan --n-areas 100") and "None" not in command
