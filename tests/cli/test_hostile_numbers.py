"""Extreme and degenerate numbers through the CLI: exit 3 or 4 and one ``Error:`` line, no
traceback, no numpy warning and no output file (issue 10, items 6, 7 and 11)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from cli_runner import BAD, check_error_line, run_cli

from lpip_eval.errors import EXIT_DATA, EXIT_DESIGN

GOOD = BAD / "good"
START = ("--outcome", "employment_rate", "--start", "2021Q1")


def _comparators_with(tmp_path: Path, cells: int, value: float) -> Path:
    frame = pd.read_csv(GOOD / "comparators.csv", dtype={"area": str})
    frame.loc[:cells - 1, "employment_rate"] = value
    path = tmp_path / "comparators.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("cells", [1, 2])
@pytest.mark.parametrize("command", ["did", "synth", "match"])
def test_overflowing_cell_is_bad_data(command: str, cells: int, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    comparators = _comparators_with(tmp_path, cells, 1e308)
    first = pd.read_csv(comparators, dtype={"area": str}).iloc[0]
    out = tmp_path / "out"
    code, stdout, stderr = run_cli(
        [command, str(GOOD / "pilot.csv"), "--comparators", str(comparators), *START,
         "--json", str(out / "r.json"), "--markdown", str(out / "r.md")], tmp_path, monkeypatch)
    assert code == EXIT_DATA, stderr
    check_error_line(stderr, files=("comparators.csv",),
                     mentions=("'employment_rate'", f"'{first['area']}'", str(first["period"]),
                               "row 2"))
    assert stdout == ""
    assert not out.exists()


def _variant(tmp_path: Path, kind: str) -> tuple[Path, Path]:
    """Copies of the good pilot and comparator files with one kind of unlucky numbers."""
    pilot = pd.read_csv(GOOD / "pilot.csv", dtype={"area": str})
    comps = pd.read_csv(GOOD / "comparators.csv", dtype={"area": str})
    if kind == "empty-pilot-cell":
        pilot.loc[0, "employment_rate"] = None
    elif kind == "constant":
        pilot["employment_rate"] = 70.0
        comps["employment_rate"] = 70.0
    elif kind == "tiny":
        pilot["employment_rate"] *= 1e-300
        comps["employment_rate"] *= 1e-300
    elif kind == "huge-but-allowed":
        pilot["employment_rate"] *= 1e140
        comps["employment_rate"] *= 1e140
    elif kind == "one-comparator":
        comps = comps[comps["area"] == comps["area"].iloc[0]]
    paths = tmp_path / "pilot.csv", tmp_path / "comparators.csv"
    pilot.to_csv(paths[0], index=False)
    comps.to_csv(paths[1], index=False)
    return paths


@pytest.mark.parametrize("kind", ["empty-pilot-cell", "constant", "tiny", "huge-but-allowed",
                                  "one-comparator"])
@pytest.mark.parametrize("command", ["did", "synth", "match"])
def test_no_numpy_warning_reaches_the_user(command: str, kind: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Item 11: raw RuntimeWarnings used to be printed before the ``Error:`` line."""
    pilot, comps = _variant(tmp_path, kind)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, _, stderr = run_cli([command, str(pilot), "--comparators", str(comps), *START,
                                   "--draws", "99", "-q"], tmp_path, monkeypatch)
    assert code in (0, EXIT_DATA, EXIT_DESIGN), stderr
    if code:
        check_error_line(stderr, files=(), mentions=())
    numeric = [f"{w.filename}:{w.lineno}: {w.message}" for w in caught
               if issubclass(w.category, RuntimeWarning)]
    assert numeric == []
