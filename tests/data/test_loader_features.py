"""Loader features and the fast paths of ``panel_from_frame``.

* Covariates with missing values are kept as NaN (synthetic control averages what is there);
  ``Panel.complete_covariate_rows`` gives the rows a regression can use, with a warning.
* ``PanelSpec.categoricals``: text columns describing areas become ``Panel.unit_attributes``,
  checked to be filled in and constant within each area.
* The fast paths (rows already sorted, numeric 0/1 columns, factorized ids) give the same
  Panel as the slow ones (shuffled rows, text columns), and never share memory with the
  caller's frame. Timing itself is measured by ``benchmarks/panel.py``, not here.

All data is built in the tests (seeded); expected values follow from how it is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from lpip_eval.cli.console import print_validation
from lpip_eval.data.describe import describe_panel
from lpip_eval.data.panel import NEVER, Panel, PanelSpec, UsageError, load_panel, panel_from_frame
from lpip_eval.errors import DataError, DesignError

REGIONS = ["North East", "London", "South West"]
N_AREAS, N_PERIODS = 6, 8  # quarters 2019Q1..2020Q4; areas 0 and 1 treated from 2020Q1


def _frame(seed: int = 0) -> pd.DataFrame:
    """Balanced panel sorted by area then quarter, with a covariate 'beer' and area texts."""
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(N_AREAS):
        for t in range(N_PERIODS):
            rows.append({
                "area": f"E0600{a:04d}", "area_name": f"Town {a}",
                "period": f"{2019 + t // 4}Q{t % 4 + 1}",
                "y": float(rng.normal()), "beer": float(rng.normal()),
                "region": REGIONS[a % 3], "urban_rural": "Urban" if a < 3 else "Rural",
                "D": int(a < 2 and t >= 4),
            })
    return pd.DataFrame(rows)


def _spec(**kwargs: object) -> PanelSpec:
    base: dict[str, object] = {"data": Path("panel.csv"), "outcome": "y", "treatment_col": "D"}
    return PanelSpec(**{**base, **kwargs})  # type: ignore[arg-type]


def _same_panel(a: Panel, b: Panel) -> None:
    for name in ("units", "period_ordinals", "unit_idx", "time_idx", "y", "first_treated",
                 "covariates", "weights", "cluster_idx"):
        np.testing.assert_array_equal(np.asarray(getattr(a, name), dtype=object),
                                      np.asarray(getattr(b, name), dtype=object), err_msg=name)
    assert a.unit_names == b.unit_names
    assert a.unit_attributes.keys() == b.unit_attributes.keys()
    for key, values in a.unit_attributes.items():
        assert list(values) == list(b.unit_attributes[key]), key


# ------------------------------------------------------------------ missing covariates


def test_missing_covariates_are_kept_as_nan() -> None:
    frame = _frame()
    early = frame["period"].isin(["2019Q1", "2019Q2"])  # beer not collected before 2019Q3
    frame.loc[early, "beer"] = np.nan
    panel = panel_from_frame(frame, _spec(covariates=("beer",)), source="panel.csv")
    assert len(panel.y) == len(frame) == N_AREAS * N_PERIODS  # no row left out
    assert panel.warnings == ()
    assert panel.covariates is not None
    # The frame is sorted by area then period, so rows keep their order.
    np.testing.assert_array_equal(np.isnan(panel.covariates[:, 0]), early.to_numpy())
    np.testing.assert_array_equal(panel.covariates[~early.to_numpy(), 0],
                                  frame.loc[~early, "beer"].to_numpy())


def test_complete_covariate_rows_leaves_out_rows_with_a_gap_and_says_so() -> None:
    frame = _frame()
    gaps = [3, 9, 10]  # area 0 (one row) and area 1 (two rows)
    frame.loc[gaps, "beer"] = np.nan
    spec = _spec(covariates=("beer",))
    panel = panel_from_frame(frame, spec, source="panel.csv")
    complete = panel.complete_covariate_rows()
    expected = panel_from_frame(frame.drop(index=gaps), spec, source="panel.csv")
    _same_panel(complete, expected)
    assert complete.covariates is not None and np.isfinite(complete.covariates).all()
    assert complete.warnings == ("3 rows with a missing covariate were left out of the "
                                 "regression (areas 'E06000000', 'E06000001')",)
    assert panel.warnings == ()  # the original panel is unchanged
    assert len(panel.y) == N_AREAS * N_PERIODS


def test_complete_covariate_rows_is_the_same_panel_when_nothing_is_missing() -> None:
    panel = panel_from_frame(_frame(), _spec(covariates=("beer",)))
    assert panel.complete_covariate_rows() is panel
    plain = panel_from_frame(_frame(), _spec())
    assert plain.complete_covariate_rows() is plain


def test_complete_covariate_rows_drops_areas_left_without_rows() -> None:
    frame = _frame()
    frame.loc[frame["area"] == "E06000005", "beer"] = np.nan
    panel = panel_from_frame(frame, _spec(covariates=("beer",), categoricals=("region",)))
    panel = panel.complete_covariate_rows()
    assert panel.units == tuple(f"E0600{a:04d}" for a in range(5))
    assert "E06000005" not in panel.unit_names
    assert list(panel.unit_attributes["region"]) == [REGIONS[a % 3] for a in range(5)]
    assert panel.warnings[-1] == ("areas 'E06000005' have no row with every covariate and were "
                                  "left out")
    assert set(np.unique(panel.unit_idx)) == set(range(panel.n_units))


def test_complete_covariate_rows_raises_a_design_error_when_nothing_can_be_estimated() -> None:
    frame = _frame()
    treated_pre = frame["area"].isin(["E06000000", "E06000001"]) & frame["period"].str.startswith(
        "2019")
    frame.loc[treated_pre, "beer"] = np.nan
    panel = panel_from_frame(frame, _spec(covariates=("beer",)), source="panel.csv")
    with pytest.raises(DesignError, match=r"^panel\.csv: after leaving out rows with a missing "
                       r"covariate, treated area 'E06000000', 'E06000001' has no y data before "
                       r"its start \(2020Q1\)"):
        panel.complete_covariate_rows()
    frame["beer"] = np.nan
    panel = panel_from_frame(frame, _spec(covariates=("beer",)), source="panel.csv")
    with pytest.raises(DesignError, match="every row has a missing covariate"):
        panel.complete_covariate_rows()


def test_missing_outcome_is_still_left_out_with_a_warning() -> None:
    frame = _frame()
    frame.loc[[5, 6], "y"] = np.nan
    frame.loc[7, "beer"] = np.nan
    panel = panel_from_frame(frame, _spec(covariates=("beer",)))
    assert len(panel.y) == N_AREAS * N_PERIODS - 2
    assert panel.warnings == ("2 rows with a missing y were left out (areas 'E06000000')",)
    assert panel.covariates is not None and int(np.isnan(panel.covariates).sum()) == 1


# ------------------------------------------------------------------ categoricals


def test_categoricals_become_per_area_text() -> None:
    frame = _frame()
    frame["region"] = frame["region"].where(frame.index % 2 == 0, " " + frame["region"] + " ")
    panel = panel_from_frame(frame, _spec(categoricals=("region", "urban_rural")))
    assert list(panel.unit_attributes) == ["region", "urban_rural"]
    region = panel.unit_attributes["region"]
    assert region.dtype == object and len(region) == panel.n_units
    assert list(region) == [REGIONS[a % 3] for a in range(N_AREAS)]  # spaces stripped
    assert list(panel.unit_attributes["urban_rural"]) == ["Urban"] * 3 + ["Rural"] * 3
    info = describe_panel(panel)
    assert info["categoricals"] == [
        {"column": "region", "distinct": 3,
         "values": {"London": 2, "North East": 2, "South West": 2}},
        {"column": "urban_rural", "distinct": 2, "values": {"Rural": 3, "Urban": 3}},
    ]


def test_categoricals_follow_the_areas_when_rows_are_shuffled_or_dropped() -> None:
    frame = _frame().sample(frac=1.0, random_state=3)
    frame.loc[frame["area"] == "E06000004", "y"] = np.nan  # area 4 has no outcome at all
    panel = panel_from_frame(frame, _spec(categoricals=("region",)))
    assert panel.units == ("E06000000", "E06000001", "E06000002", "E06000003", "E06000005")
    assert list(panel.unit_attributes["region"]) == [REGIONS[a % 3] for a in (0, 1, 2, 3, 5)]


def test_numeric_categoricals_are_read_as_text() -> None:
    frame = _frame().assign(code=lambda f: f["area"].str[-1].astype(int) % 2)
    panel = panel_from_frame(frame, _spec(categoricals=("code",)))
    assert list(panel.unit_attributes["code"]) == ["0", "1", "0", "1", "0", "1"]


def test_a_categorical_that_changes_within_an_area_is_an_error() -> None:
    frame = _frame()
    frame.loc[12, "region"] = "Scotland"  # area 1's fifth row (spreadsheet row 14)
    with pytest.raises(DataError) as info:
        panel_from_frame(frame, _spec(categoricals=("region",)), source="panel.csv")
    assert str(info.value).startswith(
        "panel.csv: column 'region' changes within area 'E06000001': 'London' in row 10 but "
        "'Scotland' in row 14 (hint: a categorical describes the area")


def test_an_empty_categorical_is_an_error() -> None:
    frame = _frame().astype({"region": object})
    frame.loc[[20, 21], "region"] = [None, "  "]
    with pytest.raises(DataError, match=r"^panel\.csv: categorical column 'region' is empty in "
                       r"rows 22, 23 \(hint: "):
        panel_from_frame(frame, _spec(categoricals=("region",)), source="panel.csv")


def test_categorical_roles_and_names_are_checked() -> None:
    with pytest.raises(UsageError, match="'y' is given as both --outcome and --categoricals"):
        panel_from_frame(_frame(), _spec(categoricals=("y",)))
    with pytest.raises(DataError, match=r"no column 'regoin'.*did you mean 'region'"):
        panel_from_frame(_frame(), _spec(categoricals=("regoin",)))


def test_a_categorical_error_names_the_comparators_file(tmp_path: Path) -> None:
    frame = _frame()
    pilot, comparators = frame[frame["area"] < "E06000002"], frame[frame["area"] >= "E06000002"]
    comparators = comparators.assign(region=comparators["region"].where(
        comparators.index != 20, "Wales"))  # area 2's fifth row: row 6 of comparators.csv
    pilot.drop(columns="D").to_csv(tmp_path / "pilot.csv", index=False)
    comparators.drop(columns="D").to_csv(tmp_path / "comparators.csv", index=False)
    spec = PanelSpec(data=tmp_path / "pilot.csv", comparators=tmp_path / "comparators.csv",
                     outcome="y", start="2020Q1", categoricals=("region",))
    with pytest.raises(DataError, match=r"comparators\.csv: column 'region' changes within "
                       r"area 'E06000002': 'South West' in row 2 but 'Wales' in row 6"):
        load_panel(spec)
    good = load_panel(PanelSpec(**{**spec.__dict__, "categoricals": ("urban_rural",)}))
    assert list(good.unit_attributes["urban_rural"]) == ["Urban"] * 3 + ["Rural"] * 3


# ------------------------------------------------------------------ validate output


def test_validate_lists_comparison_areas_compactly(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{"area": f"A{a:02d}", "period": 2015 + t, "y": float(a + t), "D": int(a == 0 and t)}
            for a in range(20) for t in range(2)]
    panel = panel_from_frame(pd.DataFrame(rows), _spec())
    print_validation(describe_panel(panel))
    text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    shown = ", ".join(f"A{a:02d}" for a in range(1, 13))
    assert f"comparison areas 19: {shown} and 7 more" in text


def test_validate_reports_categoricals_and_missing_covariates(
        capsys: pytest.CaptureFixture[str]) -> None:
    frame = _frame()
    frame.loc[[1, 2], "beer"] = np.nan
    panel = panel_from_frame(frame, _spec(covariates=("beer",), categoricals=("region",)))
    info = describe_panel(panel)
    assert info["covariate_missing"] == {"beer": 2}
    print_validation(info)
    text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert "beer (2 rows missing)" in text
    assert "categorical region 3 values: London (2), North East (2), South West (2)" in text


# ------------------------------------------------------------------ fast and slow paths


@pytest.mark.parametrize("dtype", ["str", object, "string", "category"])
def test_sorted_and_shuffled_rows_give_the_same_panel(dtype: Any) -> None:
    frame = _frame()
    reference = panel_from_frame(frame, _spec(covariates=("beer",), cluster_col="region",
                                              categoricals=("urban_rural",)))
    shuffled = frame.sample(frac=1.0, random_state=7).astype(
        {"area": dtype, "area_name": dtype, "period": dtype, "D": object})
    shuffled["D"] = shuffled["D"].map({0: "no", 1: "Yes"})  # text flags: the slow path
    before = shuffled.copy()
    panel = panel_from_frame(shuffled, _spec(covariates=("beer",), cluster_col="region",
                                             categoricals=("urban_rural",)))
    pdt.assert_frame_equal(shuffled, before)
    _same_panel(panel, reference)
    assert panel.unit_names == {f"E0600{a:04d}": f"Town {a}" for a in range(N_AREAS)}


def test_panel_arrays_are_writable_copies() -> None:
    frame = _frame()
    panel = panel_from_frame(frame, _spec())
    panel.y[0] = 1e6
    assert frame.loc[0, "y"] != 1e6
    assert panel.unit_idx.flags.writeable and panel.time_idx.flags.writeable


def test_duplicates_are_found_in_otherwise_sorted_rows() -> None:
    frame = _frame()
    # Position 9 (spreadsheet row 11: area 1, 2019Q2) repeated just below itself.
    frame = pd.concat([frame.iloc[:10], frame.iloc[[9]], frame.iloc[10:]], ignore_index=True)
    with pytest.raises(DataError, match=r"^panel\.csv: area 'E06000001' has more than one row "
                       r"for period 2019Q2 \(rows 11, 12\)"):
        panel_from_frame(frame, _spec(), source="panel.csv")


def test_ids_of_different_types_stay_apart() -> None:
    # pandas' hash table treats 1, 1.0 and True as one value; as ids they are '1', '1.0', 'True'.
    frame = pd.DataFrame({"area": pd.Series([1, 1, 1.0, 1.0, True, True], dtype=object),
                          "period": [2019, 2020] * 3, "y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                          "D": [0, 1, 0, 0, 0, 0]})
    panel = panel_from_frame(frame, _spec())
    assert panel.units == ("1", "1.0", "True")
    assert list(panel.first_treated) == [2020, NEVER, NEVER]


def test_binary_columns_accept_numbers_and_words_alike() -> None:
    frame = _frame()
    numeric = panel_from_frame(frame, _spec())
    for flags in (frame["D"].astype(float), frame["D"].astype(bool),
                  frame["D"].map({0: "false", 1: "TRUE"}), frame["D"].astype("Int64")):
        _same_panel(panel_from_frame(frame.assign(D=flags), _spec()), numeric)
    bad = frame.assign(D=frame["D"].astype(float))
    bad.loc[4, "D"] = 0.5
    with pytest.raises(DataError, match=r"column 'D' must be 0 or 1, but has '0\.5' in row 6"):
        panel_from_frame(bad, _spec())
    bad.loc[4, "D"] = np.nan
    with pytest.raises(DataError, match=r"column 'D' is empty in row 6"):
        panel_from_frame(bad, _spec())
