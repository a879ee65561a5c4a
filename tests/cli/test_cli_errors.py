"""Command-line errors on good files, usage errors, and ``lpip-eval validate`` on good data.

Bad options on good data get the same contract as bad files (docs/design.md, "Exit codes"):
one ``Error:`` line on stderr with a hint, exit 2 / 3 / 4, no traceback, no output file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from cli_runner import BAD, check_error_line, input_hashes, run_cli

from lpip_eval.errors import EXIT_DATA, EXIT_DESIGN, EXIT_USAGE

PANEL = "good/panel.csv"
OUTCOME = ("--outcome", "employment_rate")
PAIR = ("good/pilot.csv", "--comparators", "good/comparators.csv")

# (id, arguments after the command, exit code, the file named or None, what it must mention)
OPTION_ERRORS = [
    ("outcome-typo", (*PAIR, "--start", "2021Q1", "--outcome", "employment_rat"), EXIT_DATA,
     "good/pilot.csv", ("'employment_rat'", "did you mean 'employment_rate'")),
    ("outcome-typo-excel", ("good/pilot.xlsx", "--treated", "E06000023", "--start", "2021Q1",
                            "--outcome", "Employment_Rate"), EXIT_DATA,
     "good/pilot.xlsx", ("'Employment_Rate'", "did you mean 'employment_rate'")),
    ("unknown-treated-area", (PANEL, "--treated", "E06000099", "--start", "2021Q1", *OUTCOME),
     EXIT_DATA, PANEL, ("'E06000099'", "'area'")),
    ("start-before-data", (PANEL, "--treated", "E06000023", "--start", "2018Q4", *OUTCOME),
     EXIT_DESIGN, PANEL, ("--start 2018Q4", "before", "2019Q1")),
    ("start-at-first-period", (PANEL, "--treated", "E06000023", "--start", "2019Q1", *OUTCOME),
     EXIT_DESIGN, PANEL, ("--start 2019Q1", "2019Q1")),
    ("start-after-data", (*PAIR, "--start", "2022Q1", *OUTCOME),
     EXIT_DESIGN, "good/pilot.csv", ("--start 2022Q1", "after", "2021Q4")),
    ("start-is-a-year", (PANEL, "--treated", "E06000023", "--start", "2021", *OUTCOME),
     EXIT_DATA, PANEL, ("--start '2021'", "year", "quarters", "2019Q1 to 2021Q4")),
    ("start-is-a-month", (PANEL, "--treated-col", "pilot", "--start", "2021-01", *OUTCOME),
     EXIT_DATA, PANEL, ("--start '2021-01'", "month", "quarters")),
    ("start-not-a-period", (*PAIR, "--start", "soon", *OUTCOME),
     EXIT_DATA, "good/pilot.csv", ("--start 'soon'", "quarters")),
    ("weights-column-typo", (PANEL, "--treated", "E06000023", "--start", "2021Q1", *OUTCOME,
                             "--weights-col", "pop"), EXIT_DATA, PANEL,
     ("'pop'", "did you mean 'population'")),
    ("covariate-typo", (PANEL, "--treated", "E06000023", "--start", "2021Q1", *OUTCOME,
                        "--covariates", "claimant_rat"), EXIT_DATA, PANEL,
     ("'claimant_rat'", "'claimant_rate'")),
    ("cluster-column-missing", (PANEL, "--treated", "E06000023", "--start", "2021Q1", *OUTCOME,
                                "--cluster-col", "region"), EXIT_DATA, PANEL, ("'region'",)),
    ("outcome-is-text", (PANEL, "--treated", "E06000023", "--start", "2021Q1",
                         "--outcome", "area_name"), EXIT_DATA, PANEL,
     ("'area_name'", "'Bath and North East Somerset'", "rows 2, 3")),
    ("missing-file", ("nonexistent.csv", "--treated", "E06000023", "--start", "2021Q1",
                      *OUTCOME), EXIT_DATA, "nonexistent.csv", ("not found",)),
    ("missing-comparators-file", ("good/pilot.csv", "--comparators", "nowhere/comps.csv",
                                  "--start", "2021Q1", *OUTCOME), EXIT_DATA,
     "nowhere/comps.csv", ("not found",)),
    # Usage errors raised by the loader: contradictory or missing options (exit 2).
    ("no-treatment", (PANEL, *OUTCOME), EXIT_USAGE, PANEL, ("no treatment",)),
    ("treatment-twice", (PANEL, "--treated", "E06000023", "--treated-col", "pilot", "--start",
                         "2021Q1", *OUTCOME), EXIT_USAGE, None, ("--treated", "--treated-col")),
    ("comparators-without-start", (*PAIR, *OUTCOME), EXIT_USAGE, None,
     ("--comparators", "--start")),
    ("start-with-treatment-col", (PANEL, "--treatment-col", "treated_now", "--start", "2021Q1",
                                  *OUTCOME), EXIT_USAGE, None, ("--start", "--treatment-col")),
    ("outcome-is-the-area", (PANEL, "--treated", "E06000023", "--start", "2021Q1", "--outcome",
                             "area"), EXIT_USAGE, None, ("'area'", "--area-col", "--outcome")),
    ("outcome-needed", (PANEL, "--treated", "E06000023", "--start", "2021Q1"), EXIT_USAGE, PANEL,
     ("--outcome", "'employment_rate'", "'claimant_rate'")),
]


@pytest.fixture(scope="module")
def hashes_before() -> dict[str, str]:
    return input_hashes()


@pytest.mark.parametrize(("args", "code", "file", "mentions"),
                         [pytest.param(*case[1:], id=case[0]) for case in OPTION_ERRORS])
@pytest.mark.parametrize("command", ["did", "validate"])
def test_bad_options_on_good_files(command: str, args: tuple[str, ...], code: int,
                                   file: str | None, mentions: tuple[str, ...], tmp_path: Path,
                                   hashes_before: dict[str, str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    json_args = ["--json", str(tmp_path / "result.json")] if command == "did" else []
    exit_code, stdout, stderr = run_cli([command, *args, *json_args], BAD, monkeypatch)
    assert exit_code == code, stderr
    check_error_line(stderr, files=(file,) if file else (), mentions=mentions)
    assert stdout == ""
    assert list(tmp_path.iterdir()) == []
    assert input_hashes() == hashes_before, "input files must not change"


def test_real_process_prints_one_unwrapped_line(tmp_path: Path) -> None:
    """Outside CliRunner: a real stderr, a narrow terminal width, a long message."""
    env = {**os.environ, "COLUMNS": "40", "NO_COLOR": "1"}
    out = tmp_path / "result.json"
    done = subprocess.run(
        [sys.executable, "-m", "lpip_eval", "did", "good/pilot.csv", "--comparators",
         "comparators_outcome_dotdot.csv", "--start", "2021Q1", *OUTCOME, "--json", str(out)],
        cwd=BAD, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == EXIT_DATA
    check_error_line(done.stderr, files=("comparators_outcome_dotdot.csv",),
                     mentions=("'employment_rate'", "'..'", "rows 16, 17, 18"))
    assert done.stdout == ""
    assert not out.exists()


def test_treated_from_the_first_period_by_treatment_column(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    frame = pd.read_csv(BAD / PANEL, dtype=str, keep_default_na=False)
    frame.loc[frame["area"] == "E06000022", "treated_now"] = "1"  # treated in every period
    frame.to_csv(tmp_path / "panel.csv", index=False)
    code, _, stderr = run_cli(["did", "panel.csv", "--treatment-col", "treated_now", *OUTCOME],
                              tmp_path, monkeypatch)
    assert code == EXIT_DESIGN
    check_error_line(stderr, files=("panel.csv",),
                     mentions=("'E06000022'", "'treated_now'", "2019Q1", "before its start"))


def test_output_folder_missing_is_one_error_line(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "no" / "such" / "folder" / "result.json"
    code, _, stderr = run_cli(["did", *PAIR, "--start", "2021Q1", *OUTCOME, "--json",
                               str(target), "--quiet"], BAD, monkeypatch)
    assert code == EXIT_DATA
    check_error_line(stderr, files=(str(target),), mentions=("does not exist",))
    assert not target.parent.exists()


@pytest.mark.parametrize("args", [["did", "good/panel.csv", "--bogus"],
                                  ["did"],
                                  ["did", "good/panel.csv", "--draws", "5"],
                                  ["did", "good/panel.csv", "--inference", "magic"],
                                  ["frobnicate"]])
def test_click_usage_errors_exit_2_without_traceback(args: list[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    code, stdout, stderr = run_cli(args, BAD, monkeypatch)
    assert code == EXIT_USAGE
    assert "Traceback" not in stderr + stdout
    assert "Error" in stderr


# ------------------------------------------------------------------ validate on good data


def test_validate_good_pair_of_files(monkeypatch: pytest.MonkeyPatch) -> None:
    code, stdout, stderr = run_cli(["validate", *PAIR, "--start", "2021Q1", *OUTCOME],
                                   BAD, monkeypatch)
    assert code == 0, stderr
    assert stderr == ""
    text = " ".join(stdout.split())
    for expected in (
        "good/pilot.csv (24 rows", "good/comparators.csv (60 rows",  # 2 x 12 and 5 x 12 rows
        "treated areas", "2: E06000022 (Bath and North East Somerset), E06000023",
        "comparison areas", "5",
        "treatment starts", "2021Q1",
        "12 quarter periods, 2019Q1 to 2021Q4 (8 before the first start)",
        "missing periods", "none", "balanced", "yes",
        "employment_rate by group",
    ):
        assert expected in text, expected
    for group in ("treated", "comparison"):
        for phase, rows in (("pre", 8), ("post", 4)):
            n = rows * (2 if group == "treated" else 5)
            assert f"{group} │ {phase} │ {n} │" in text, (group, phase, n)


def test_validate_good_excel_and_single_file(monkeypatch: pytest.MonkeyPatch) -> None:
    code, stdout, stderr = run_cli(["validate", "good/pilot.xlsx", "--comparators",
                                    "good/comparators.csv", "--start", "2021Q1", *OUTCOME],
                                   BAD, monkeypatch)
    assert code == 0, stderr
    assert "good/pilot.xlsx (24 rows" in " ".join(stdout.split())
    for treatment in (["--treated", "E06000022", "--treated", "E06000023", "--start", "2021Q1"],
                      ["--treated-col", "pilot", "--start", "2021Q1"],
                      ["--treatment-col", "treated_now"],
                      ["--first-treated-col", "first_treated"]):
        code, stdout, stderr = run_cli(["validate", PANEL, *treatment, *OUTCOME], BAD,
                                       monkeypatch)
        assert code == 0, (treatment, stderr)
        text = " ".join(stdout.split())
        assert "2: E06000022 (Bath and North East Somerset), E06000023" in text, treatment
        assert "12 quarter periods, 2019Q1 to 2021Q4" in text


def test_validate_warns_about_left_out_rows(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.read_csv(BAD / PANEL, dtype=str, keep_default_na=False)
    frame.loc[29, "employment_rate"] = ""  # a comparator area's row
    frame.to_csv(tmp_path / "gappy.csv", index=False)
    code, stdout, stderr = run_cli(["validate", "gappy.csv", "--treated-col", "pilot",
                                    "--start", "2021Q1", *OUTCOME], tmp_path, monkeypatch)
    assert code == 0, stderr
    assert stderr.startswith("Warning: 1 row with a missing employment_rate was left out")
    assert "no: 1 area lacks some periods" in " ".join(stdout.split())


def test_did_json_on_good_data_writes_the_file(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "result.json"
    code, _, stderr = run_cli(["did", *PAIR, "--start", "2021Q1", *OUTCOME, "--json",
                               str(target), "--quiet", "--inference", "cluster"], BAD, monkeypatch)
    assert code == 0, stderr
    result = json.loads(target.read_text())
    assert result["treated_units"] == ["E06000022", "E06000023"]
    assert result["treatment_start"] == "2021Q1"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temporary file left
