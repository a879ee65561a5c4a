"""Issue 14, item 1: period numbers (1, 2, ...) and year ranges written YYYY-YYYY.

Card & Krueger (1994) code their two interview waves as numbers; with ``wave`` recoded to 1
and 2 the balanced sample's 2x2 DiD of full-time equivalent employment is 2.75 (their
Table 3, row 3: 2.75, from the same 384 stores' means).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli

from lpip_eval.data.panel import PanelSpec, panel_from_frame
from lpip_eval.methods.specs import SynthSpec
from lpip_eval.methods.synth.classic import estimate_synth, parse_predictor, parse_window

REFERENCE = Path(__file__).resolve().parent.parent / "reference"


def test_card_krueger_with_waves_numbered_1_and_2(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.read_csv(REFERENCE / "card_krueger_fte.csv")
    frame = frame[frame["balanced"] == 1].copy()
    frame["wave"] = frame["wave"] + 1  # 0/1 in the file -> 1/2, as in the issue
    path = tmp_path / "ck.csv"
    frame.to_csv(path, index=False)
    before = path.read_bytes()
    code, out, err = run_cli(["did", "ck.csv", "--area-col", "store", "--period-col", "wave",
                              "--outcome", "fte", "--treated-col", "nj", "--start", "2",
                              "--design", "2x2", "--json", "-", "--quiet"], tmp_path,
                             monkeypatch)
    assert code == 0, err
    result = json.loads(out)
    assert round(result["estimate"]["att"], 2) == 2.75
    assert result["provenance"]["options"]["period_type"] == "index (inferred)"
    assert path.read_bytes() == before


def test_period_type_year_is_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    rows = [(a, t, float(rng.normal()), int(a == "B")) for a in "ABCDE" for t in (1, 2, 3, 4)]
    pd.DataFrame(rows, columns=["area", "t", "y", "pilot"]).to_csv(tmp_path / "p.csv",
                                                                   index=False)
    code, out, err = run_cli(["did", "p.csv", "--period-col", "t", "--treated-col", "pilot",
                              "--start", "3", "--period-type", "index", "--json", "-",
                              "--quiet"], tmp_path, monkeypatch)
    assert code == 0, err
    assert json.loads(out)["provenance"]["options"]["period_type"] == "index"
    code, _, err = run_cli(["did", "p.csv", "--period-col", "t", "--treated-col", "pilot",
                            "--start", "3", "--period-type", "decade"], tmp_path, monkeypatch)
    assert code == 2
    assert "--period-type 'decade'" in err


def _annual_panel(periods: list[object], start: str, period_type: str | None = None):
    rng = np.random.default_rng(1)
    rows = [(a, p, float(rng.normal()), float(rng.normal())) for a in "ABCDEF"
            for p in periods]
    frame = pd.DataFrame(rows, columns=["area", "period", "y", "x"])
    spec = PanelSpec(data=Path("p.csv"), outcome="y", treated=("A",), start=start,
                     covariates=("x",), period_type=period_type)
    return panel_from_frame(frame, spec)


def test_two_consecutive_years_are_a_range_on_annual_data() -> None:
    panel = _annual_panel(list(range(1988, 1996)), "1993")
    spec = SynthSpec(predictors=(parse_predictor("x:1990-1991:mean", outcome="y"),),
                     fit_periods=parse_window("1991-1992"), inference="none",
                     placebo_in_time=False, leave_one_out=False)
    result = estimate_synth(panel, spec)
    assert result.diagnostics["fit_periods"] == ["1991", "1992"]


def test_two_consecutive_years_are_one_financial_year_on_financial_year_data() -> None:
    panel = _annual_panel([f"{y}/{(y + 1) % 100:02d}" for y in range(2014, 2022)], "2019/20")
    spec = SynthSpec(predictors=(parse_predictor("x:2017-2018", outcome="y"),), inference="none",
                     placebo_in_time=False, leave_one_out=False)
    result = estimate_synth(panel, spec)
    x = pd.Series(panel.covariates[:, 0]).groupby(
        [panel.unit_idx, panel.time_idx]).mean().unstack().to_numpy()
    one_year = panel.period_labels.index("2017/18")
    table = result.diagnostics["predictor_balance"]
    # the predictor is the FY 2017/18 value, not a mean over 2017/18 and 2018/19
    assert np.isclose(table[0]["pilot"], x[0, one_year])


def test_ranges_of_period_numbers() -> None:
    panel = _annual_panel(list(range(1, 9)), "6")
    assert panel.frequency == "index"
    spec = SynthSpec(fit_periods=parse_window("2-5"), inference="none",
                     placebo_in_time=False, leave_one_out=False)
    assert estimate_synth(panel, spec).diagnostics["fit_periods"] == ["2", "5"]
