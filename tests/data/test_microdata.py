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


def test_individual_covariates_enter_the_regression_on_individuals() -> None:
    """TWFE on individuals with a covariate equals OLS with area and year dummies (statsmodels,
    to 1e-8). The cluster-robust SE is statsmodels' CR1 clustered by area rescaled to fixest's
    small-sample rule, where the 11 area dummies nested in the area clusters are not counted
    in K (statsmodels K = 17: intercept, d, age, 11 areas, 3 years; fixest K = 6), to 1e-8."""
    import statsmodels.formula.api as smf

    frame = individuals(sizes=None, seed=2)
    rng = np.random.default_rng(5)
    frame["age"] = rng.normal(40, 10, len(frame))
    frame["y"] = frame["y"] + 0.05 * frame["age"]
    micro = panel_from_frame(frame, spec(microdata=True, covariates=("age",)))
    result = estimate("did", micro, {"design": "twfe", "inference": "cluster"})
    frame["d"] = ((frame["pilot"] == 1) & (frame["year"] >= 2021)).astype(float)
    ols = smf.ols("y ~ d + age + C(area) + C(year)", data=frame).fit(
        cov_type="cluster", cov_kwds={"groups": frame["area"].astype("category").cat.codes})
    assert result.estimate.att == pytest.approx(ols.params["d"], abs=1e-8)
    n = len(frame)
    fixest_se = ols.bse["d"] * np.sqrt((n - 17) / (n - 6))
    assert result.estimate.se == pytest.approx(fixest_se, rel=1e-8)


def test_randomization_permutes_areas_not_individuals() -> None:
    """With equal cells every permuted estimate on individuals equals the cell-means one, so
    randomization inference (which reassigns whole areas: C(12, 4) = 495 assignments) gives
    the same p-value on both."""
    frame = individuals()
    micro = panel_from_frame(frame, spec(microdata=True))
    means = frame.groupby(["area", "year"], as_index=False)[["y", "pilot"]].mean()
    cells = panel_from_frame(means, spec())
    options = {"design": "twfe", "inference": "randomization", "draws": 999, "seed": 3}
    on_rows = estimate("did", micro, options)
    on_cells = estimate("did", cells, options)
    assert on_rows.estimate.inference.method == "randomization"
    assert on_rows.estimate.p_value == pytest.approx(on_cells.estimate.p_value, abs=1e-12)
    assert on_rows.estimate.att == pytest.approx(on_cells.estimate.att, abs=1e-10)


@pytest.mark.parametrize("method, options", [
    ("synth", {"design": "classic", "placebo_in_time": False, "leave_one_out": False}),
    ("match", {"design": "twfe", "inference": "cluster"}),
])
def test_synth_and_match_use_the_weighted_cell_means_and_say_so(
        method: str, options: dict[str, object]) -> None:
    frame = individuals(sizes=None, seed=4)
    frame["x"] = frame.groupby("area")["y"].transform("mean")  # an area-level matching column
    micro = panel_from_frame(frame, spec(microdata=True, weights_col="w",
                                         covariates=("x",) if method == "match" else ()))
    frame = frame.assign(wy=frame["y"] * frame["w"], wx=frame["x"] * frame["w"])
    sums = frame.groupby(["area", "year"], as_index=False)[["wy", "wx", "w", "pilot"]].sum()
    sums["y"], sums["x"] = sums["wy"] / sums["w"], sums["wx"] / sums["w"]
    sums["pilot"] = (sums["pilot"] > 0).astype(int)
    cells = panel_from_frame(sums[["area", "year", "y", "x", "pilot"]],
                             spec(covariates=("x",) if method == "match" else ()))
    extra = {"match_on": ("x",)} if method == "match" else {}
    on_rows = estimate(method, micro, {**options, **extra})
    on_cells = estimate(method, cells, {**options, **extra})
    assert on_rows.estimate.att == pytest.approx(on_cells.estimate.att, abs=1e-9)
    assert any("uses the means (weighted by --weights-col)" in w for w in on_rows.warnings)


def test_the_report_says_how_the_rows_were_combined() -> None:
    """The cell-means note travels from the panel to the result (diagnostics.data_combined,
    set by with_provenance) and into every report format."""
    from lpip_eval.report.context import build_context
    from lpip_eval.report.render import render_markdown, render_text
    from lpip_eval.results.result import with_provenance

    frame = individuals(sizes=None, seed=4)
    micro = panel_from_frame(frame, spec(microdata=True))
    result = estimate("did", micro, {"design": "2x2", "inference": "cluster"})
    result = with_provenance(result, micro, spec(microdata=True), {}, command="lpip-eval did",
                             seed=None)
    notes = result.diagnostics["data_combined"]
    assert len(notes) == 1 and "uses the means of" in notes[0]
    context = build_context([result.to_dict()])
    for text in (render_markdown(context), " ".join(render_text(context).split())):
        assert "How the data were combined:" in text
        assert "individual rows in 48 area-periods" in text
