"""Issue 14, items 2-3: boundary changes and area lookups combine rows into evaluated areas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lpip_eval.data.panel import PanelSpec, panel_from_frame
from lpip_eval.errors import DataError, UsageError

DORSET_OLD = {"E07000049": 50.0, "E07000050": 60.0, "E07000051": 70.0, "E07000052": 80.0,
              "E07000053": 90.0}
OTHERS = ("E06000001", "E06000002", "E06000003")


def dorset(missing: str | None = None) -> pd.DataFrame:
    """Dorset's five districts to 2018, Dorset (E06000059) from 2019, three comparators."""
    rows = []
    for year in range(2015, 2024):
        if year < 2019:
            rows += [(c, year, 10.0 + k + year % 7, pop, 1) for k, (c, pop)
                     in enumerate(DORSET_OLD.items()) if not (c == missing and year == 2016)]
        else:
            rows.append(("E06000059", year, 20.0 + year % 7, 350.0, 1))
        rows += [(c, year, 5.0 + k + year % 5, 100.0, 0) for k, c in enumerate(OTHERS)]
    return pd.DataFrame(rows, columns=["area", "year", "y", "population", "pilot"])


def spec(**options: object) -> PanelSpec:
    base: dict[str, object] = {"data": Path("dorset.csv"), "period_col": "year",
                               "outcome": "y", "treated_col": "pilot", "start": "2021"}
    return PanelSpec(**{**base, **options})  # type: ignore[arg-type]


def test_mixed_codes_are_reported_by_name() -> None:
    panel = panel_from_frame(dorset(), spec())
    (finding,) = [w for w in panel.warnings if "E06000059" in w]
    assert "E07000053 Weymouth and Portland (2015-2018)" in finding
    assert "E06000059 Dorset (2019-2023)" in finding


def test_harmonised_sum_and_weighted_mean() -> None:
    frame = dorset()
    before = frame.copy()
    summed = panel_from_frame(frame, spec(harmonise_boundaries=True, combine="sum"))
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame is untouched
    assert summed.units == ("E06000001", "E06000002", "E06000003", "E06000059")
    dorset_rows = summed.unit_idx == 3
    y2015 = summed.y[dorset_rows][0]
    assert y2015 == pytest.approx(sum(10.0 + k + 2015 % 7 for k in range(5)))
    assert not [w for w in summed.warnings if "former district" in w or "changed" in w]
    assert "boundary changes" in summed.aggregation[0]
    mean = panel_from_frame(frame, spec(harmonise_boundaries=True, combine="mean",
                                        lookup_weight_col="population"))
    weights = np.array(list(DORSET_OLD.values()))
    expected = np.average([10.0 + k + 2015 % 7 for k in range(5)], weights=weights)
    assert mean.y[mean.unit_idx == 3][0] == pytest.approx(expected)
    assert mean.y[mean.unit_idx == 3][-1] == pytest.approx(20.0 + 2023 % 7)  # kept as is


def test_mean_needs_weights_unless_equal_weights_are_asked_for() -> None:
    with pytest.raises(UsageError, match="--lookup-weight-col"):
        panel_from_frame(dorset(), spec(harmonise_boundaries=True, combine="mean"))
    with pytest.raises(UsageError, match="--combine"):
        panel_from_frame(dorset(), spec(harmonise_boundaries=True))
    equal = panel_from_frame(dorset(), spec(harmonise_boundaries=True, combine="equal-mean"))
    assert equal.y[equal.unit_idx == 3][0] == pytest.approx(12.0 + 2015 % 7)


def test_a_period_missing_a_district_gets_no_value_and_a_warning() -> None:
    panel = panel_from_frame(dorset(missing="E07000051"),
                             spec(harmonise_boundaries=True, combine="sum"))
    assert 2016 not in panel.period_ordinals[panel.time_idx[panel.unit_idx == 3]]
    assert any("E07000051" in w and "2016" in w for w in panel.warnings)


def test_successor_and_predecessor_in_one_period_is_double_counting() -> None:
    frame = pd.concat([dorset(), pd.DataFrame([("E07000049", 2020, 1.0, 50.0, 1)],
                                              columns=["area", "year", "y", "population",
                                                       "pilot"])])
    with pytest.raises(DataError, match=r"E06000059 and E07000049|E07000049 and E06000059"):
        panel_from_frame(frame, spec(harmonise_boundaries=True, combine="sum"))


def test_somerset_is_followed_through_two_changes() -> None:
    rows = []
    for year in range(2016, 2025):
        rest = ["E07000187", "E07000188", "E07000189"]  # Mendip, Sedgemoor, South Somerset
        codes = (["E07000190", "E07000191", *rest] if year < 2019 else
                 ["E07000246", *rest] if year < 2023 else ["E06000066"])
        rows += [(c, year, 1.0, 1) for c in codes]
        rows += [(c, year, 2.0, 0) for c in OTHERS]
    frame = pd.DataFrame(rows, columns=["area", "year", "y", "pilot"])
    panel = panel_from_frame(frame, spec(start="2022", harmonise_boundaries=True,
                                         combine="sum"))
    assert "E06000066" in panel.units
    somerset = panel.y[panel.unit_idx == panel.units.index("E06000066")]
    # 2016-2018: five districts; 2019-2022: four; from 2023 one: all of Somerset each year
    assert somerset.tolist() == [5.0] * 3 + [4.0] * 4 + [1.0] * 2


def test_a_successor_with_only_some_predecessors_gets_no_value_where_incomplete() -> None:
    rows = [(c, year, 1.0, 1) for year in range(2016, 2025) for c in
            (["E07000187"] if year < 2023 else ["E06000066"])]
    rows += [(c, year, 2.0, 0) for year in range(2016, 2025) for c in OTHERS]
    frame = pd.DataFrame(rows, columns=["area", "year", "y", "pilot"])
    panel = panel_from_frame(frame, spec(start="2024", harmonise_boundaries=True,
                                         combine="sum"))
    somerset = panel.unit_idx == panel.units.index("E06000066")
    assert panel.period_ordinals[panel.time_idx[somerset]].tolist() == [2023, 2024]
    (short,) = [w for w in panel.warnings if "without all their parts" in w]
    assert "area 'E06000066' in 2016 lacks" in short and "E07000188" in short


# --------------------------------------------------------------------------- lookups


def fine_panel() -> pd.DataFrame:
    rows = [(f"E0100000{k}", year, float(k + year - 2018), 10.0 * (k + 1))
            for k in range(6) for year in range(2018, 2023)]
    return pd.DataFrame(rows, columns=["area", "year", "y", "pop"])


def write_lookup(tmp_path: Path, pairs: list[tuple[str, str]], **columns: list[float]) -> Path:
    table = pd.DataFrame(pairs, columns=["area", "footprint"]).assign(**columns)
    path = tmp_path / "lookup.csv"
    table.to_csv(path, index=False)
    return path


def lookup_spec(path: Path, **options: object) -> PanelSpec:
    return spec(area_lookup=path, treated=("pilot",), treated_col=None, start="2021",
                **options)


def test_lookup_combines_fine_areas_into_pilot_and_comparators(tmp_path: Path) -> None:
    pairs = [("E01000000", "pilot"), ("E01000001", "pilot"), ("E01000002", "north"),
             ("E01000003", "north"), ("E01000004", "south"), ("E01000005", "south")]
    path = write_lookup(tmp_path, pairs, w=[1.0, 3.0, 1.0, 1.0, 1.0, 1.0])
    before = path.read_bytes()
    panel = panel_from_frame(fine_panel(), lookup_spec(path, combine="sum"))
    assert panel.units == ("north", "pilot", "south")
    assert panel.y[panel.unit_idx == 1][0] == pytest.approx(0.0 + 1.0)
    weighted = panel_from_frame(fine_panel(), lookup_spec(path, combine="mean",
                                                          lookup_weight_col="w"))
    assert weighted.y[weighted.unit_idx == 1][0] == pytest.approx(0.75)
    from_data = panel_from_frame(fine_panel(), lookup_spec(path, combine="mean",
                                                           lookup_weight_col="pop"))
    assert from_data.y[from_data.unit_idx == 1][0] == pytest.approx(20.0 / 30.0)
    assert path.read_bytes() == before
    assert "lookup.csv" in panel.aggregation[0]


def test_lookup_errors_name_unmapped_and_doubly_mapped_codes(tmp_path: Path) -> None:
    pairs = [("E01000000", "pilot"), ("E01000001", "pilot"), ("E01000002", "north")]
    with pytest.raises(DataError, match="E01000003") as info:
        panel_from_frame(fine_panel(), lookup_spec(write_lookup(tmp_path, pairs),
                                                   combine="sum"))
    assert "not in the area lookup" in str(info.value)
    pairs = [(f"E0100000{k}", "pilot" if k < 2 else "north") for k in range(6)]
    pairs.append(("E01000004", "south"))
    with pytest.raises(DataError, match="E01000004") as info:
        panel_from_frame(fine_panel(), lookup_spec(write_lookup(tmp_path, pairs),
                                                   combine="sum"))
    assert "mapped more than once" in str(info.value)
