"""Extreme and degenerate numbers through the CLI: exit 3 or 4 and one ``Error:`` line, no
traceback, no numpy warning and no output file (issue 10, items 6, 7 and 11)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from cli_runner import BAD, check_error_line, run_cli

from lpip_eval.errors import EXIT_DATA

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
