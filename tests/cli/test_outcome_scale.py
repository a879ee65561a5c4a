"""``--outcome-scale log`` and ``[[outcome]] scale = "log"`` (issue 13, item 1): a log outcome's
effect is also given as the percentage change it means, 100 (e^b - 1), in the terminal, the
JSON's ``outcome_scale`` and every report; a column named like a log with no scale given gets
a note suggesting the option; a wrong value is a usage error (exit 2)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from cli_runner import check_error_line, run_cli

from lpip_eval.errors import EXIT_OK, EXIT_USAGE

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "west_of_england"


@pytest.fixture
def logged(tmp_path: Path) -> Path:
    """The example's pilot and comparison areas with ``l_emp`` = log(employment rate)."""
    for name in ("pilot.csv", "comparators.csv"):
        frame = pd.read_csv(EXAMPLE / name)
        frame["l_emp"] = frame["employment_rate"].map(math.log)
        frame.to_csv(tmp_path / name, index=False)
    return tmp_path


ARGS = ["did", "pilot.csv", "--comparators", "comparators.csv", "--start", "2021Q3",
        "--outcome", "l_emp", "--design", "2x2", "--inference", "cluster"]


def test_log_scale_reports_the_percentage_change(logged: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run_cli([*ARGS, "--outcome-scale", "log", "--json", "r.json",
                            "--markdown", "r.md"], logged, monkeypatch)
    assert code == EXIT_OK
    result = json.loads((logged / "r.json").read_text(encoding="utf-8"))
    assert result["outcome_scale"] == "log"
    assert not any("looks like a natural log" in w for w in result["warnings"])
    att = result["estimate"]["att"]
    expected = 100 * math.expm1(att)
    shown = f"{expected:+.1f}%" if abs(expected) < 10 else f"{expected:+.0f}%"
    assert f"is about {shown}" in out  # the terminal
    assert f"about {shown}".replace("-", "\u2212") in (logged / "r.md").read_text("utf-8")


def test_a_log_looking_column_without_a_scale_gets_a_note(
        logged: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, _ = run_cli([*ARGS, "--json", "r.json", "--quiet"], logged, monkeypatch)
    assert code == EXIT_OK
    result = json.loads((logged / "r.json").read_text(encoding="utf-8"))
    assert result["outcome_scale"] is None
    assert any("'l_emp' looks like a natural log" in w and "--outcome-scale log" in w
               for w in result["warnings"])
    code, _, _ = run_cli([*ARGS, "--outcome-scale", "level", "--json", "s.json", "--quiet"],
                         logged, monkeypatch)
    level = json.loads((logged / "s.json").read_text(encoding="utf-8"))
    assert level["outcome_scale"] == "level"
    assert not any("natural log" in w for w in level["warnings"])


def test_unknown_scale_is_a_usage_error(logged: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run_cli([*ARGS, "--outcome-scale", "logg", "--json", "r.json"], logged,
                             monkeypatch)
    assert code == EXIT_USAGE and out == "" and not (logged / "r.json").exists()
    check_error_line(err, files=(), mentions=("--outcome-scale", "logg", "did you mean 'log'?"))


def test_config_scale_key(logged: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (logged / "evaluation.toml").write_text(
        'title = "t"\n[data]\nfile = "pilot.csv"\ncomparators = "comparators.csv"\n'
        'start = "2021Q3"\n[[outcome]]\ncolumn = "l_emp"\nscale = "log"\n'
        '[did]\ndesign = "2x2"\ninference = "cluster"\n', encoding="utf-8")
    code, _, _ = run_cli(["run", "evaluation.toml", "--quiet"], logged, monkeypatch)
    assert code == EXIT_OK
    result = json.loads((logged / "lpip-eval-output" / "l_emp-did.json").read_text("utf-8"))
    assert result["outcome_scale"] == "log"
    (logged / "bad.toml").write_text(
        (logged / "evaluation.toml").read_text("utf-8").replace('"log"', '"logarithm"'),
        encoding="utf-8")
    code, _, err = run_cli(["run", "bad.toml"], logged, monkeypatch)
    assert code == EXIT_USAGE
    check_error_line(err, files=("bad.toml",), mentions=("scale", "logarithm"))
