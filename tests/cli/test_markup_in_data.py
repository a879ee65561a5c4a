"""Data values are printed as text, never as Rich markup (issue 10, item 5): an area, a
comparator, an outcome column or a file name that looks like markup is printed as it is,
after the outputs are written, with exit 0; and the same holds on the error path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from cli_runner import run_cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "west_of_england"
CRASHING = "[/red] x"
LINK = "[link=https://evil.example/]Bristol[/link] [blink]"
COMPARATOR = "[/] "  # every comparator's name starts so


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example with markup in a pilot area's name, a comparator's name and a column."""
    folder = tmp_path_factory.mktemp("markup")
    pilot = pd.read_csv(EXAMPLE / "pilot.csv")
    names = list(dict.fromkeys(pilot["area_name"]))
    pilot["area_name"] = pilot["area_name"].replace({names[0]: CRASHING, names[1]: LINK})
    comparators = pd.read_csv(EXAMPLE / "comparators.csv")
    comparators["area_name"] = COMPARATOR + comparators["area_name"]
    for frame, name in ((pilot, "pilot.csv"), (comparators, "comparators.csv")):
        frame.rename(columns={"claimant_rate": "emp[/x]"}).to_csv(folder / name, index=False)
    (folder / "[red]x[").mkdir()  # the file "[red]x[/blue].csv" is "blue].csv" in "[red]x["
    shutil.copy(folder / "pilot.csv", folder / "[red]x[/blue].csv")
    return folder


def args(outcome: str = "employment_rate") -> list[str]:
    return ["pilot.csv", "--comparators", "comparators.csv", "--outcome", outcome,
            "--start", "2021Q3", "--draws", "99"]


@pytest.mark.parametrize("command", ["did", "synth", "match"])
def test_area_names_that_look_like_markup_print_as_text(
        folder: Path, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    extra = ["--k", "3"] if command == "match" else []
    code, stdout, stderr = run_cli([command, *args(), *extra, "--json", f"{command}.json"],
                                   folder, monkeypatch)
    assert code == 0, stderr
    assert CRASHING in stdout and LINK in stdout
    if command != "did":  # did prints no comparison areas
        assert f"│ {COMPARATOR}" in stdout  # a donor or matched area, in a table cell


def test_an_outcome_column_that_looks_like_markup_prints_as_text(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, stdout, stderr = run_cli(["did", *args("emp[/x]")], folder, monkeypatch)
    assert code == 0, stderr
    assert "effect on emp[/x]" in " ".join(stdout.split())  # the title may wrap


def test_validate_prints_a_file_name_that_looks_like_markup(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, stdout, stderr = run_cli(["validate", "[red]x[/blue].csv", "--comparators",
                                    "comparators.csv", "--outcome", "emp[/x]", "--start",
                                    "2021Q3"], folder, monkeypatch)
    assert code == 0, stderr
    assert "[red]x[/blue].csv" in stdout and "emp[/x]" in stdout
    assert CRASHING in stdout


def test_error_lines_print_data_as_text(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, stderr = run_cli(["did", *args("[bold]gone[/x]")], folder, monkeypatch)
    assert code == 3, stderr
    assert stderr.startswith("Error: ") and "[bold]gone[/x]" in stderr
