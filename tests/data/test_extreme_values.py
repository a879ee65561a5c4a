"""Values too large to compute with are bad data: one DataError naming the cell (issue 10,
item 6).

A cell of 1e308 used to give an effect of 1e305 rated "Level 3 of 5", or a null effect in a
JSON the tool's own ``report`` rejects. The loader now refuses any outcome, covariate or
weight whose arithmetic over the panel could overflow (|x| above sqrt(float max) / rows:
then every sum of squares and every squared sum over the panel stays finite).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lpip_eval.data.panel import PanelSpec, panel_from_frame
from lpip_eval.errors import DataError


def _frame(n_areas: int = 6, n_periods: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = [(f"A{a}", f"20{10 + t}", 50 + rng.normal(), 1 + rng.random(), 100.0 + a)
            for a in range(n_areas) for t in range(n_periods)]
    return pd.DataFrame(rows, columns=["area", "period", "y", "x", "pop"])


def _spec(**extra: object) -> PanelSpec:
    return PanelSpec(data=Path("sim.csv"), outcome="y", treated=("A0",), start="2014",
                     **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(("column", "role", "extra"), [
    ("y", "outcome", {}),
    ("x", "covariate", {"covariates": ("x",)}),
    ("pop", "weights", {"weights_col": "pop"}),
])
def test_huge_value_names_file_column_area_and_period(column: str, role: str,
                                                      extra: dict[str, object]) -> None:
    frame = _frame()
    frame.loc[13, column] = 1e308  # area A1, period 2015 (spreadsheet row 15)
    with pytest.raises(DataError) as caught:
        panel_from_frame(frame, _spec(**extra), source="sim.csv")
    message = str(caught.value)
    for item in ("sim.csv", f"{role} column '{column}'", "'A1'", "2015", "row 15", "1e+308"):
        assert item in message, message
    assert caught.value.hint and "too large" in message


def test_limit_depends_on_the_panel_size() -> None:
    frame = _frame()
    limit = math.sqrt(sys.float_info.max) / len(frame)
    frame.loc[5, "y"] = -0.99 * limit  # just inside: kept
    panel = panel_from_frame(frame, _spec(), source="sim.csv")
    assert np.isfinite(np.sum(panel.y ** 2))
    frame.loc[5, "y"] = -1.01 * limit  # just outside: refused
    with pytest.raises(DataError, match="too large"):
        panel_from_frame(frame, _spec(), source="sim.csv")


def test_large_but_ordinary_values_are_kept() -> None:
    frame = _frame()
    frame["y"] *= 1e12  # e.g. GDP in pounds
    panel = panel_from_frame(frame, _spec(), source="sim.csv")
    assert panel.y.max() > 1e13
