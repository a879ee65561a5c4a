"""The loader: only LpipEvalError escapes, the caller's DataFrame is never changed.

Hypothesis feeds ``panel_from_frame`` random malformed DataFrames (random column names,
dtypes, NaNs, duplicate rows, mixed period spellings, random text) with random PanelSpecs;
the direct tests pin down reader behaviour that a careless CSV reader gets wrong silently.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lpip_eval.data.panel import NEVER, Panel, PanelSpec, UsageError, load_panel, panel_from_frame
from lpip_eval.data.read import read_table
from lpip_eval.errors import DataError, LpipEvalError

BAD = Path(__file__).resolve().parents[1] / "bad_inputs"
FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ROLE_NAMES = ["area", "period", "y", "d", "ft", "w", "cl", "x"]
COLUMN_NAMES = [*ROLE_NAMES, "Area", " area", "", "y.1", "y\nrate", 0, 1]
PERIODS = ["2019Q1", "2019Q2", "2019 Q3", "Q4 2019", "2020Q1", "2019-07", "2019-08", "Jul 2019",
           "2019M09", "2019/20", "2020/21", "FY2019-20", "2011-12", "2019", "2020", "2019-07-15",
           "2019-07-16T00:00:00", "2019Q5", "2019/21", "Spring 2020", "", " ", "..", "n/a", "NA",
           "nan", "0", "never"]
AREAS = ["E06000022", "E06000023", "E06000001", "E0600002", "e06000023", "A", "B", " A ", "1",
         "1.0", "", "A\r\nB"]
TEXT_MARKERS = ["..", "n/a", "-", "x", "c", "1,234", "76,5", "5%", "inf", "-inf", "1e400", "nan",
                "NA", "", " ", "true", "yes", "0", "1", "2"]


def _cells() -> st.SearchStrategy[object]:
    return st.one_of(
        st.integers(-3, 2100),
        st.floats(allow_nan=True, allow_infinity=True, width=64),
        st.sampled_from(PERIODS),
        st.sampled_from(AREAS),
        st.sampled_from(TEXT_MARKERS),
        st.text(max_size=6),
        st.booleans(),
        st.none(),
        st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2030, 1, 1)),
        st.just(pd.Period("2019Q3")),
        st.just(pd.NA),
        st.just(np.nan),
    )


@st.composite
def _column(draw: st.DrawFn, n_rows: int) -> pd.Series:
    """A column of one kind (so pandas gives it a real dtype) or of mixed objects."""
    kind = draw(st.sampled_from(["int", "float", "period", "area", "text", "bool", "date",
                                 "mixed", "str", "string", "category", "Int64"]))
    n = n_rows
    if kind == "int":
        return pd.Series(draw(st.lists(st.integers(-3, 2100), min_size=n, max_size=n)),
                         dtype="int64")
    if kind == "Int64":
        values = draw(st.lists(st.one_of(st.integers(0, 2100), st.none()), min_size=n,
                               max_size=n))
        return pd.Series(values, dtype="Int64")
    if kind == "float":
        values = draw(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=n,
                               max_size=n))
        return pd.Series(values, dtype="float64")
    if kind == "bool":
        return pd.Series(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    if kind == "date":
        values = draw(st.lists(st.datetimes(min_value=dt.datetime(2015, 1, 1),
                                            max_value=dt.datetime(2025, 1, 1)),
                               min_size=n, max_size=n))
        return pd.Series(pd.to_datetime(values), dtype="datetime64[ns]")
    if kind == "mixed":
        return pd.Series(draw(st.lists(_cells(), min_size=n, max_size=n)), dtype=object)
    pool = {"period": PERIODS, "area": AREAS, "text": TEXT_MARKERS}.get(kind, PERIODS + AREAS)
    values = draw(st.lists(st.one_of(st.sampled_from(pool), st.none()), min_size=n, max_size=n))
    dtype = {"str": "str", "string": "string", "category": "category"}.get(kind, object)
    return pd.Series(values, dtype=dtype)


_rarely = st.sampled_from([False] * 9 + [True])  # True one time in ten (uniform draw)


@st.composite
def _spec(draw: st.DrawFn, names: list[object]) -> tuple[PanelSpec, set[str] | None]:
    """Mostly one treatment with a start where it needs one, and roles naming columns."""
    columns = [str(n) for n in names]
    pick = st.sampled_from([*ROLE_NAMES, "missing"]) if draw(_rarely) else \
        st.sampled_from(columns or ROLE_NAMES)
    n_treatments = draw(st.sampled_from([1] * 8 + [0, 2]))
    treatments = draw(st.lists(st.sampled_from(["comparators", "treated", "treated_col",
                                                "treatment_col", "first_treated_col"]),
                               min_size=n_treatments, max_size=n_treatments, unique=True))
    needs_start = any(t in ("comparators", "treated", "treated_col") for t in treatments)
    start = draw(st.sampled_from(PERIODS)) if needs_start != draw(_rarely) else None
    optional = st.one_of(st.none(), st.none(), st.none(), pick)
    kwargs: dict[str, object] = {
        "data": Path("fuzz.csv"),
        "area_col": draw(st.just("area") | pick),
        "period_col": draw(st.just("period") | pick),
        "outcome": draw(st.sampled_from(["y", None]) | pick),
        "start": start,
        "covariates": tuple(draw(st.lists(pick, max_size=1))) if draw(st.booleans()) else (),
        "weights_col": draw(optional),
        "cluster_col": draw(optional),
    }
    pilot: set[str] | None = None
    for treatment in treatments:
        if treatment == "comparators":
            kwargs["comparators"] = Path("comparators.csv")
            pilot = set(draw(st.lists(st.sampled_from(AREAS), max_size=3)))
        elif treatment == "treated":
            kwargs["treated"] = tuple(draw(st.lists(st.sampled_from(AREAS), min_size=1,
                                                    max_size=3)))
        else:
            kwargs[treatment] = draw(pick)
    return PanelSpec(**kwargs), pilot  # type: ignore[arg-type]


@st.composite
def random_frames(draw: st.DrawFn) -> tuple[pd.DataFrame, PanelSpec, set[str] | None]:
    """Random columns of random kinds; usually named for the roles, sometimes oddly."""
    n_rows = draw(st.integers(0, 10))
    names: list[object] = [] if draw(_rarely) else ["area", "period", "y"]
    names += draw(st.lists(st.sampled_from(COLUMN_NAMES), max_size=5))
    if not draw(_rarely):
        names = list(dict.fromkeys(names))  # mostly unique names
    frame = pd.DataFrame({i: draw(_column(n_rows)) for i in range(len(names))})
    frame.columns = pd.Index(names, dtype=object) if names else frame.columns
    if n_rows and draw(st.booleans()):
        frame = pd.concat([frame, frame.iloc[: draw(st.integers(1, n_rows))]])  # duplicate rows
    if draw(st.booleans()):
        frame.index = pd.Index(draw(st.lists(st.sampled_from(["r", "s", 7]), min_size=len(frame),
                                             max_size=len(frame))), dtype=object)
    spec, pilot = draw(_spec(list(frame.columns)))
    return frame, spec, pilot


def _good_frame(n_areas: int, n_periods: int, spelling: str, rng: np.random.Generator
                ) -> pd.DataFrame:
    spell = {
        "quarter": lambda t: f"{2018 + t // 4}Q{t % 4 + 1}",
        "month": lambda t: f"{2018 + t // 12}-{t % 12 + 1:02d}",
        "year": lambda t: 2010 + t,
        "fy": lambda t: f"{2010 + t}/{(11 + t) % 100:02d}",
        "date": lambda t: pd.Timestamp(2018, t % 12 + 1, 1) + pd.DateOffset(years=t // 12),
    }[spelling]
    rows = []
    for a in range(n_areas):
        for t in range(n_periods):
            rows.append({"area": f"E0600{a:04d}", "period": spell(t),
                         "y": float(rng.normal()), "d": int(a == 0 and t >= n_periods // 2),
                         "ft": spell(n_periods // 2) if a == 0 else "", "w": 1.0 + a,
                         "cl": f"c{a % 2}", "x": float(t)})
    return pd.DataFrame(rows)


@st.composite
def corrupted_frames(draw: st.DrawFn) -> tuple[pd.DataFrame, PanelSpec, set[str] | None]:
    """A good panel with a few random corruptions: deeper paths than random frames reach."""
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    spelling = draw(st.sampled_from(["quarter", "month", "year", "fy", "date"]))
    n_areas = draw(st.sampled_from([3, 2, 4, 1]))
    frame = _good_frame(n_areas, draw(st.sampled_from([4, 3, 6, 2, 1])), spelling, rng)
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["cell", "cell", "dup", "drop", "dtype", "rename"]))
        column = draw(st.sampled_from(list(frame.columns)))
        if action == "cell":
            row = draw(st.integers(0, len(frame) - 1))
            frame[column] = frame[column].astype(object)
            frame.loc[frame.index[row], column] = draw(_cells())
        elif action == "dup":
            frame = pd.concat([frame, frame.sample(1, random_state=1)], ignore_index=True)
        elif action == "drop" and len(frame) > 1:
            frame = frame.drop(frame.index[draw(st.integers(0, len(frame) - 1))])
        elif action == "dtype":
            frame[column] = frame[column].astype(draw(st.sampled_from(["str", "string",
                                                                       "category", object])))
        elif action == "rename":
            frame = frame.rename(columns={column: draw(st.sampled_from(COLUMN_NAMES))})
    treatment = draw(st.sampled_from(["treated", "treated_col", "treatment_col", "ft"]))
    start = draw(st.sampled_from(["", *PERIODS])) if treatment in ("treated", "treated_col") \
        else None
    kwargs: dict[str, object] = {"data": Path("fuzz.csv"), "outcome": draw(
        st.sampled_from(["y", "y", "x", "w", None])), "start": start or None}
    if treatment == "treated":
        kwargs["treated"] = ("E06000000",)
    elif treatment == "treated_col":
        kwargs["treated_col"] = "d"
    elif treatment == "treatment_col":
        kwargs["treatment_col"] = "d"
    else:
        kwargs["first_treated_col"] = "ft"
    if draw(st.booleans()):
        kwargs["weights_col"] = "w"
    if draw(st.booleans()):
        kwargs["cluster_col"] = "cl"
    if draw(st.booleans()):
        kwargs["covariates"] = ("x",)
    return frame, PanelSpec(**kwargs), None  # type: ignore[arg-type]


def _check_panel(panel: Panel) -> None:
    """Invariants every Panel satisfies, whatever the input."""
    n = len(panel.y)
    assert len(panel.unit_idx) == len(panel.time_idx) == n > 0
    assert np.isfinite(panel.y).all()
    assert list(panel.units) == sorted(set(panel.units))
    assert np.all(np.diff(panel.period_ordinals) > 0)
    key = panel.unit_idx * (panel.n_periods + 1) + panel.time_idx
    assert np.all(np.diff(key) > 0), "rows sorted by area then period, no duplicates"
    assert set(np.unique(panel.unit_idx)) == set(range(panel.n_units))
    assert len(panel.first_treated) == panel.n_units
    treated = panel.first_treated != NEVER
    assert treated.any() and not treated.all()
    for extra in (panel.weights, panel.cluster_idx):
        assert extra is None or len(extra) == n
    if panel.covariates is not None:
        assert panel.covariates.shape == (n, len(panel.covariate_names))
        assert not np.isinf(panel.covariates).any()
        try:  # missing covariates are kept; the regression view drops them (or says why not)
            complete = panel.complete_covariate_rows()
        except LpipEvalError:
            pass
        else:
            assert complete.covariates is not None
            assert np.isfinite(complete.covariates).all()
    if panel.weights is not None:
        assert (panel.weights > 0).all()


def _load(frame: pd.DataFrame, spec: PanelSpec, pilot: set[str] | None) -> None:
    before = frame.copy(deep=True)
    try:
        panel = panel_from_frame(frame, spec, source="fuzz.csv", pilot_areas=pilot)
    except LpipEvalError as exc:
        message = str(exc)
        assert "\n" not in message and message.strip() == message
        assert exc.hint, message
    else:
        _check_panel(panel)
    pdt.assert_frame_equal(frame, before)  # never changes the caller's DataFrame
    assert frame.index.equals(before.index) and list(frame.columns) == list(before.columns)


@FUZZ
@given(random_frames())
def test_random_frames_raise_only_lpip_errors(case: tuple[pd.DataFrame, PanelSpec, set[str] | None]
                                              ) -> None:
    _load(*case)


@FUZZ
@given(corrupted_frames())
def test_corrupted_panels_raise_only_lpip_errors(
        case: tuple[pd.DataFrame, PanelSpec, set[str] | None]) -> None:
    _load(*case)


_CSV_PIECES = st.sampled_from(["area", "period", "y", ",", ";", "\t", "|", "\n", "\r\n", '"',
                                " ", "..", "1.5", "2019Q1", "E06000022", "\ufeff", "\x00", "é",
                                "NA"])


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.lists(_CSV_PIECES, max_size=40).map("".join).map(str.encode),
                 st.binary(max_size=60)),
       st.sampled_from([".csv", ".tsv", ".txt", ""]))
def test_random_csv_bytes_raise_only_data_errors(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            frame = read_table(path, text_columns=("area",))
        except DataError as exc:
            assert "\n" not in str(exc) and str(exc).startswith(str(path)), str(exc)
        else:
            assert len(frame) > 0 and frame.columns.is_unique
        assert path.read_bytes() == data


# ------------------------------------------------------------------ in-memory frames

GOOD_SPEC = PanelSpec(data=Path("panel.csv"), outcome="employment_rate",
                      treatment_col="treated_now")


def _good_panel_frame() -> pd.DataFrame:
    return pd.read_csv(BAD / "good" / "panel.csv", keep_default_na=False, na_values=[""])


@pytest.mark.parametrize("text_dtype", [object, "str", "string", "category"])
def test_text_dtypes_give_the_same_panel(text_dtype: object) -> None:
    frame = _good_panel_frame()
    reference = panel_from_frame(frame, GOOD_SPEC)
    converted = frame.astype({c: text_dtype for c in ("area", "area_name", "period",
                                                      "first_treated")})
    before = converted.copy()
    panel = panel_from_frame(converted, GOOD_SPEC)
    pdt.assert_frame_equal(converted, before)
    for name in ("units", "period_ordinals", "unit_idx", "time_idx", "y", "first_treated"):
        np.testing.assert_array_equal(np.asarray(getattr(panel, name), dtype=object),
                                      np.asarray(getattr(reference, name), dtype=object))
    assert panel.unit_names == reference.unit_names


def test_pandas_period_dtype_and_odd_index_are_accepted() -> None:
    frame = _good_panel_frame()
    reference = panel_from_frame(frame, GOOD_SPEC)
    odd = frame.assign(period=pd.PeriodIndex(frame["period"], freq="Q"))
    odd.index = pd.Index(["r"] * len(odd))  # duplicate, non-numeric labels
    panel = panel_from_frame(odd, GOOD_SPEC)
    assert panel.frequency == "quarter"
    np.testing.assert_array_equal(panel.period_ordinals, reference.period_ordinals)
    np.testing.assert_array_equal(panel.y, reference.y)


def test_row_numbers_are_positions_not_index_labels() -> None:
    frame = _good_panel_frame().astype({"employment_rate": object})
    frame.index = frame.index[::-1] + 1000
    frame.iloc[5, frame.columns.get_loc("employment_rate")] = ".."
    with pytest.raises(DataError, match=r"'\.\.' in row 7 "):
        panel_from_frame(frame, GOOD_SPEC)


def test_integer_column_names_and_duplicates() -> None:
    frame = _good_panel_frame()
    numbered = frame.set_axis(range(frame.shape[1]), axis=1)
    spec = PanelSpec(data=Path("x"), area_col="0", period_col="2", outcome="3",
                     treatment_col="7")
    assert panel_from_frame(numbered, spec).n_units == 7
    doubled = frame.set_axis([*frame.columns[:-1], "employment_rate"], axis=1)
    with pytest.raises(DataError, match="'employment_rate' appears more than once"):
        panel_from_frame(doubled, GOOD_SPEC)


def test_whole_number_float_areas_lose_the_decimal_point() -> None:
    frame = pd.DataFrame({"area": [1.0, 1.0, 2.0, 2.0, np.inf, np.inf],
                          "period": [2019, 2020] * 3, "y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    panel = panel_from_frame(frame, PanelSpec(data=Path("x"), outcome="y", treated=("1",),
                                              start="2020"))
    assert panel.units == ("1", "2", "inf")
    missing = frame.assign(area=[1.0, np.nan, 2.0, 2.0, 3.0, 3.0])
    with pytest.raises(DataError, match="'area' is empty in row 3"):
        panel_from_frame(missing, PanelSpec(data=Path("x"), outcome="y", treated=("1",),
                                            start="2020"))


@pytest.mark.parametrize(("value", "hint"), [
    ("..", "suppressed"), ("n/a", "suppressed"), ("1,234", "thousands"),
    ("76,5", "decimal commas"), ("5%", "units"), ("about 5", "only numbers")])
def test_text_in_a_numeric_column_gets_a_fitting_hint(value: str, hint: str) -> None:
    frame = _good_panel_frame().astype({"employment_rate": object})
    frame.loc[3, "employment_rate"] = value
    with pytest.raises(DataError) as info:
        panel_from_frame(frame, GOOD_SPEC, source="panel.csv")
    assert str(info.value).startswith(
        f"panel.csv: outcome column 'employment_rate' has text in 1 row, e.g. {value!r} in row 5")
    assert hint in (info.value.hint or "")


def test_dates_as_outcome_are_rejected() -> None:
    frame = _good_panel_frame().assign(employment_rate=pd.Timestamp("2020-01-01"))
    with pytest.raises(DataError, match="holds dates, not numbers"):
        panel_from_frame(frame, GOOD_SPEC)


def test_role_conflicts_are_usage_errors() -> None:
    spec = PanelSpec(data=Path("x"), outcome="employment_rate", treatment_col="treated_now",
                     weights_col="employment_rate")
    with pytest.raises(UsageError, match="both --outcome and --weights-col"):
        panel_from_frame(_good_panel_frame(), spec)


# ------------------------------------------------------------------ reading files


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def test_only_empty_and_machine_missing_markers_are_missing(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.csv", "area,y,z\nA,NA,..\nB,,n/a\nC,nan,-\nD,1.5,x\n")
    frame = read_table(path)
    assert frame["y"].isna().tolist() == [True, True, True, False]
    assert frame["z"].tolist() == ["..", "n/a", "-", "x"]


def test_every_row_one_field_longer_is_not_read_as_an_index(tmp_path: Path) -> None:
    # pandas would silently take the first field of each row as the index and shift
    # every value one column to the left.
    path = _write(tmp_path, "shift.csv", "area,period,y\nA,2019,1,9\nB,2019,2,9\n")
    with pytest.raises(DataError, match=r"row 2 has 4 fields but the header \(row 1\) has 3"):
        read_table(path)


def test_trailing_delimiters_quotes_bom_and_tabs_are_fine(tmp_path: Path) -> None:
    path = _write(tmp_path, "ok.csv", '\ufeffarea, name ,y,\nA,"Bristol, City of",1,\n'
                  'B,"Bath",2,\n')
    frame = read_table(path, text_columns=("area",))
    assert list(frame.columns[:3]) == ["area", "name", "y"]
    assert frame["name"].tolist() == ["Bristol, City of", "Bath"]
    tabbed = _write(tmp_path, "ok.tsv", "area\tperiod\ty\n007\t2019\t1.5\n")
    frame = read_table(tabbed, text_columns=("area",))
    assert frame["area"].tolist() == ["007"]  # leading zeros kept
    assert frame["y"].tolist() == [1.5]


def test_line_breaks_in_headers_become_spaces_and_messages_stay_one_line(tmp_path: Path
                                                                         ) -> None:
    path = _write(tmp_path, "h.csv", 'area,"Employment\nrate (%)",period\nA,1,2019\n"B\nC",2,2019\n'
                  "A,3,2019\n")
    frame = read_table(path)
    assert list(frame.columns) == ["area", "Employment rate (%)", "period"]
    spec = PanelSpec(data=path, treated=("A",), start="2019", outcome="Employment rate (%)")
    with pytest.raises(DataError) as info:
        load_panel(spec)
    assert str(info.value).startswith(f"{path}: area 'A' has more than one row")
    duplicated = pd.DataFrame({"area": ["B\nC", "B\nC"], "period": [2019, 2019], "y": [1, 2]})
    with pytest.raises(DataError, match=r"area 'B\\nC' has more than one row"):
        panel_from_frame(duplicated, PanelSpec(data=path, treated=("A",), start="2019"))


def test_excel_duplicate_header_is_reported(tmp_path: Path) -> None:
    frame = pd.DataFrame([["A", 2019, 1.0, 2.0]], columns=["area", "period", "y", "y2"])
    path = tmp_path / "dup.xlsx"
    frame.rename(columns={"y2": "y"}).to_excel(path, index=False)
    with pytest.raises(DataError, match=r"sheet 'Sheet1'\): column 'y' appears twice"):
        read_table(path, text_columns=("area",))


def test_load_panel_does_not_touch_the_files(tmp_path: Path) -> None:
    pilot = (BAD / "good" / "pilot.csv").read_bytes()
    comps = (BAD / "good" / "comparators.csv").read_bytes()
    _write(tmp_path, "p.csv", pilot)
    _write(tmp_path, "c.csv", comps)
    spec = PanelSpec(data=tmp_path / "p.csv", comparators=tmp_path / "c.csv", start="2021Q1",
                     outcome="employment_rate")
    panel = load_panel(spec)
    assert panel.treated_units == ("E06000022", "E06000023")
    assert len(panel.comparison_units) == 5
    assert (tmp_path / "p.csv").read_bytes() == pilot
    assert (tmp_path / "c.csv").read_bytes() == comps
    assert [s.rows for s in panel.sources] == [24, 60]
    assert panel.source == f"{tmp_path / 'p.csv'} + {tmp_path / 'c.csv'}"  # for messages
