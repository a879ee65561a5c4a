"""Issue 14, item 6: validate shows cohort sizes, the aggregation done and boundary findings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from cli_runner import run_cli
from test_combine import dorset
from test_microdata import individuals

from lpip_eval.data.describe import describe_panel
from lpip_eval.data.panel import PanelSpec, panel_from_frame


def test_cohort_sizes() -> None:
    rows = [(f"A{a}", year, float(a + year), [2020, 2020, 2021, 0, 0, 0][a])
            for a in range(6) for year in range(2017, 2023)]
    frame = pd.DataFrame(rows, columns=["area", "year", "y", "first"])
    panel = panel_from_frame(frame, PanelSpec(data=Path("p.csv"), period_col="year",
                                              outcome="y", first_treated_col="first"))
    info = describe_panel(panel)
    assert info["cohorts"] == [{"start": "2020", "areas": 2}, {"start": "2021", "areas": 1}]
    assert info["never_treated"] == 3


def test_validate_shows_boundary_findings_then_the_harmonisation(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dorset().to_csv(tmp_path / "dorset.csv", index=False)
    args = ["validate", "dorset.csv", "--period-col", "year", "--outcome", "y",
            "--treated-col", "pilot", "--start", "2021"]
    code, out, err = run_cli(args, tmp_path, monkeypatch)
    assert code == 0, err
    assert "boundary changes" in out and "E07000052 West Dorset (2015-2018)" in out
    assert "2021: 6 areas; never treated: 3" in out  # each former district counts
    code, out, err = run_cli([*args, "--harmonise-boundaries", "--combine", "mean",
                              "--lookup-weight-col", "population"], tmp_path, monkeypatch)
    assert code == 0, err
    assert "combined" in out and "weighted mean by population" in out
    assert "none found" in out
    assert "2021: 1 area; never treated: 3" in out


def test_validate_describes_microdata() -> None:
    panel = panel_from_frame(individuals(), PanelSpec(
        data=Path("s.csv"), period_col="year", outcome="y", treated_col="pilot",
        start="2021", microdata=True))
    (note,) = describe_panel(panel)["aggregation"]
    assert note.startswith("microdata: 240 rows in 48 area-periods (5 to 5 per cell)")
