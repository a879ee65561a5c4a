"""Issue 14, item 4: microdata (several rows per area and period)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lpip_eval.data.panel import PanelSpec, panel_from_frame
from lpip_eval.errors import DataError
from lpip_eval.methods.registry import estimate


def individuals(sizes: int | None = 5, seed: int = 0) -> pd.DataFrame:
    """12 areas (4 treated from 2021) x 4 years, ``sizes`` respondents per cell (random
    sizes of 2-8 when None); the effect on the treated is 2."""
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(12):
        level = rng.normal()
        for year in range(2019, 2023):
            n = sizes or int(rng.integers(2, 9))
            for _ in range(n):
                y = level + 0.3 * (year - 2019) + 2.0 * (a < 4 and year >= 2021)
                rows.append((f"A{a:02d}", year, y + rng.normal(), int(a < 4),
                             float(rng.uniform(0.5, 2))))
    return pd.DataFrame(rows, columns=["area", "year", "y", "pilot", "w"])


def spec(**options: object) -> PanelSpec:
    base: dict[str, object] = {"data": Path("survey.csv"), "period_col": "year",
                               "outcome": "y", "treated_col": "pilot", "start": "2021"}
    return PanelSpec(**{**base, **options})  # type: ignore[arg-type]


def att(panel: object, design: str = "twfe") -> float:
    result = estimate("did", panel, {"design": design, "inference": "cluster"})
    return result.estimate.att


def test_duplicates_that_look_like_individuals_hint_at_microdata() -> None:
    with pytest.raises(DataError) as info:
        panel_from_frame(individuals(), spec())
    assert "--microdata" in (info.value.hint or "")


def test_equal_cells_give_the_cell_means_estimate() -> None:
    frame = individuals()
    micro = panel_from_frame(frame, spec(microdata=True))
    assert micro.microdata and len(micro.y) == len(frame)
    means = frame.groupby(["area", "year"], as_index=False)[["y", "pilot"]].mean()
    cells = panel_from_frame(means, spec())
    assert att(micro) == pytest.approx(att(cells), abs=1e-10)


def test_unequal_cells_weight_individuals_and_other_designs_use_cell_means() -> None:
    frame = individuals(sizes=None, seed=1)
    micro = panel_from_frame(frame, spec(microdata=True, weights_col="w"))
    means = frame.groupby(["area", "year"], as_index=False)[["y", "pilot"]].mean()
    cells = panel_from_frame(means, spec())
    assert att(micro) != pytest.approx(att(cells), abs=1e-6)  # individuals, not cells
    result = estimate("did", micro, {"design": "2x2", "inference": "cluster"})
    assert any("uses the means (weighted by --weights-col)" in w for w in result.warnings)
    frame = frame.assign(wy=frame["y"] * frame["w"])
    sums = frame.groupby(["area", "year"], as_index=False)[["wy", "w", "pilot"]].sum()
    sums["y"] = sums["wy"] / sums["w"]
    sums["pilot"] = (sums["pilot"] > 0).astype(int)
    weighted = panel_from_frame(sums[["area", "year", "y", "pilot"]], spec())
    assert result.estimate.att == pytest.approx(att(weighted, "2x2"), abs=1e-10)
