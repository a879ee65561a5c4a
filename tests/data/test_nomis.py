"""Issue 14, item 5: Nomis downloads (APS 12-month windows, measures, OBS_STATUS)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_runner import check_error_line, run_cli

from lpip_eval.data.periods import parse_periods

AREAS = [f"E0600000{k}" for k in range(1, 9)]


def nomis_aps(measures: tuple[str, ...] = ("Variable",), suppress: bool = False,
              rolling: bool = False) -> pd.DataFrame:
    """A Nomis-shaped APS download: employment rate, Jan-Dec windows 2016-2023."""
    rng = np.random.default_rng(4)
    rows = []
    for k, code in enumerate(AREAS):
        for year in range(2016, 2024):
            windows = [(f"Jan {year}-Dec {year}", f"{year}-12")]
            if rolling and year == 2021:
                windows.append((f"Apr {year}-Mar {year + 1}", f"{year + 1}-03"))
            for name, date in windows:
                for measure in measures:
                    value = 70 + k + 0.2 * (year - 2016) + 3 * (k == 0 and year >= 2021) \
                        + rng.normal(0, 0.5)
                    status = "!" if suppress and k == 3 and year == 2017 else "A"
                    rows.append((date, name, date, "12 months ending", code, f"Area {k}",
                                 "Employment rate - aged 16-64", measure,
                                 "" if status == "!" else round(value, 1), status))
    return pd.DataFrame(rows, columns=[
        "DATE", "DATE_NAME", "DATE_CODE", "DATE_TYPE", "GEOGRAPHY_CODE", "GEOGRAPHY_NAME",
        "VARIABLE_NAME", "MEASURES_NAME", "OBS_VALUE", "OBS_STATUS"])


ARGS = ["--area-col", "GEOGRAPHY_CODE", "--period-col", "DATE_NAME", "--outcome",
        "OBS_VALUE", "--treated", "E06000001", "--start", "2021"]


def test_aps_windows_are_years_and_financial_years() -> None:
    parsed = parse_periods(pd.Series(["Jan 2021-Dec 2021", "Jan 2022-Dec 2022"]),
                           source="aps.csv", column="DATE_NAME")
    assert (parsed.frequency, parsed.ordinals.tolist()) == ("year", [2021, 2022])
    parsed = parse_periods(pd.Series(["Apr 2021-Mar 2022"]), source="aps.csv",
                           column="DATE_NAME")
    assert (parsed.frequency, parsed.ordinals.tolist()) == ("financial-year", [2021])


def test_nomis_file_through_validate_and_did(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    nomis_aps(suppress=True).to_csv(tmp_path / "aps.csv", index=False)
    before = (tmp_path / "aps.csv").read_bytes()
    code, out, err = run_cli(["validate", "aps.csv", *ARGS], tmp_path, monkeypatch)
    assert code == 0, err
    assert "OBS_STATUS" in out + err
    code, out, err = run_cli(["did", "aps.csv", *ARGS, "--json", "-", "--quiet"], tmp_path,
                             monkeypatch)
    assert code == 0, err
    result = json.loads(out)
    assert result["estimate"]["att"] == pytest.approx(3, abs=1.0)
    assert any("OBS_STATUS" in w and "'!'" in w for w in result["warnings"])
    assert (tmp_path / "aps.csv").read_bytes() == before


def test_several_measures_ask_for_one(tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    nomis_aps(measures=("Variable", "Numerator")).to_csv(tmp_path / "aps.csv", index=False)
    code, _, err = run_cli(["did", "aps.csv", *ARGS], tmp_path, monkeypatch)
    assert code == 2
    check_error_line(err, files=("aps.csv",), mentions=("MEASURES_NAME", "Numerator",
                                                        "--measure"))
    code, _out, err = run_cli(["did", "aps.csv", *ARGS, "--measure", "Variable", "--quiet",
                              "--json", "-"], tmp_path, monkeypatch)
    assert code == 0, err


def test_overlapping_rolling_windows_are_reported(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    nomis_aps(rolling=True).to_csv(tmp_path / "aps.csv", index=False)
    code, _, err = run_cli(["did", "aps.csv", *ARGS], tmp_path, monkeypatch)
    assert code == 3
    check_error_line(err, files=("aps.csv",), mentions=("'Jan 2016-Dec 2016'",
                                                        "'Apr 2021-Mar 2022'",
                                                        "one window per year"))
