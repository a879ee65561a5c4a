"""Tests for lpip_eval.data.periods: spellings, ordinals, labels, errors and gaps."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from lpip_eval.data.periods import (
    Frequency,
    ParsedPeriods,
    missing_periods,
    parse_period_value,
    parse_periods,
    period_label,
)
from lpip_eval.errors import EXIT_DATA, DataError

SOURCE = "pilot.csv"
COLUMN = "period"


def parse(values: object) -> ParsedPeriods:
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    return parse_periods(series, source=SOURCE, column=COLUMN)


def parse_one(value: object) -> tuple[Frequency, int]:
    result = parse([value])
    assert result.ordinals.dtype == np.int64
    assert result.ordinals.shape == (1,)
    return result.frequency, int(result.ordinals[0])


def days(iso: str) -> int:
    return (dt.date.fromisoformat(iso) - dt.date(1970, 1, 1)).days


def error_text(values: object) -> str:
    with pytest.raises(DataError) as info:
        parse(values)
    err = info.value
    assert err.exit_code == EXIT_DATA
    assert "\n" not in str(err)
    assert err.hint
    return str(err)


# --- spellings --------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["2019", " 2019 ", 2019, 2019.0, np.int64(2019)])
def test_year_spellings(spelling: object) -> None:
    assert parse_one(spelling) == ("year", 2019)


@pytest.mark.parametrize(
    "spelling",
    ["2019Q3", "2019-Q3", "2019 Q3", "2019q3", "Q3 2019", "Q3-2019", "q3 2019", " 2019Q3 ",
     "2019 Quarter 3", "Quarter 3 2019"],
)  # fmt: skip
def test_quarter_spellings(spelling: str) -> None:
    assert parse_one(spelling) == ("quarter", 4 * 2019 + 2)


@pytest.mark.parametrize(
    "spelling",
    ["2019-07", "2019/07", "2019-7", "Jul 2019", "July 2019", "Jul-2019", "2019M07", "2019m7",
     "2019 Jul", "JUL 2019", " july 2019 "],
)  # fmt: skip
def test_month_spellings(spelling: str) -> None:
    assert parse_one(spelling) == ("month", 12 * 2019 + 6)


@pytest.mark.parametrize(
    "spelling",
    ["2019/20", "2019-20", "2019/2020", "2019-2020", "FY2019/20", "FY 2019-20", "fy2019/2020",
     " FY 2019/20 "],
)  # fmt: skip
def test_financial_year_spellings(spelling: str) -> None:
    assert parse_one(spelling) == ("financial-year", 2019)


def test_financial_year_across_century() -> None:
    assert parse_one("1999/00") == ("financial-year", 1999)
    assert period_label(1999, "financial-year") == "1999/00"


@pytest.mark.parametrize("spelling", ["2019-07-15", " 2019-07-15 ", "2019-07-15 00:00:00"])
def test_iso_date_spellings(spelling: str) -> None:
    assert parse_one(spelling) == ("date", days("2019-07-15"))


def test_integer_and_float_year_columns() -> None:
    ints = parse(pd.Series([2019, 2020, 2019], dtype="int64"))
    floats = parse(pd.Series([2019.0, 2020.0, 2019.0]))
    assert ints.frequency == floats.frequency == "year"
    np.testing.assert_array_equal(ints.ordinals, [2019, 2020, 2019])
    np.testing.assert_array_equal(floats.ordinals, ints.ordinals)
    assert floats.ordinals.dtype == np.int64


def test_datetime64_column_stays_dates_even_on_first_of_month() -> None:
    values = pd.Series(pd.to_datetime(["2019-01-01", "2019-02-01", "2019-01-01"]))
    result = parse(values)
    assert result.frequency == "date"
    np.testing.assert_array_equal(
        result.ordinals, [days("2019-01-01"), days("2019-02-01"), days("2019-01-01")]
    )


def test_date_objects_in_object_column() -> None:
    result = parse(pd.Series([dt.date(2019, 7, 15), "2019-07-16"], dtype=object))
    assert result.frequency == "date"
    np.testing.assert_array_equal(result.ordinals, [days("2019-07-15"), days("2019-07-16")])


def test_maps_every_row_back_from_unique_values() -> None:
    values = pd.Series(["2019Q1", "2019Q2", "2019Q1", "2019 q2", "Q1 2019"] * 1000)
    result = parse(values)
    assert result.ordinals.shape == (5000,)
    np.testing.assert_array_equal(result.ordinals[:5], [8076, 8077, 8076, 8077, 8076])


def test_does_not_change_the_input() -> None:
    values = pd.Series(["2019Q1", "2019Q2"])
    before = values.copy()
    parse(values)
    pd.testing.assert_series_equal(values, before)


# --- financial-year ambiguity -----------------------------------------------------------


def test_ambiguous_values_with_a_non_month_are_financial_years() -> None:
    result = parse(["2011-12", "2012-13", "2011-12"])
    assert result.frequency == "financial-year"
    np.testing.assert_array_equal(result.ordinals, [2011, 2012, 2011])


def test_ambiguous_values_that_are_all_valid_months_are_months() -> None:
    result = parse(["2010-11", "2011-12"])
    assert result.frequency == "month"
    np.testing.assert_array_equal(result.ordinals, [12 * 2010 + 10, 12 * 2011 + 11])


def test_ambiguous_values_with_explicit_financial_year_are_financial_years() -> None:
    for other in ["2012/2013", "FY2012/13"]:
        result = parse(["2011-12", other])
        assert result.frequency == "financial-year"
        np.testing.assert_array_equal(result.ordinals, [2011, 2012])


def test_ambiguous_values_with_plain_months_are_months() -> None:
    result = parse(["2011-12", "2011-07"])
    assert result.frequency == "month"
    np.testing.assert_array_equal(result.ordinals, [12 * 2011 + 11, 12 * 2011 + 6])


@pytest.mark.parametrize("spelling", ["2019/21", "2019-2021", "FY2019/19", "FY 2019-21"])
def test_financial_year_second_year_must_follow_first(spelling: str) -> None:
    message = error_text([spelling])
    assert repr(spelling) in message
    assert "row 2" in message


# --- labels and round trips -------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "ordinal", "label"),
    [
        ("year", 2019, "2019"),
        ("quarter", 4 * 2019 + 2, "2019Q3"),
        ("quarter", 4 * 2019, "2019Q1"),
        ("month", 12 * 2019 + 6, "2019-07"),
        ("month", 12 * 2019 + 11, "2019-12"),
        ("financial-year", 2019, "2019/20"),
        ("date", days("2019-07-15"), "2019-07-15"),
        ("date", 0, "1970-01-01"),
    ],
)
def test_period_label(frequency: Frequency, ordinal: int, label: str) -> None:
    assert period_label(ordinal, frequency) == label
    assert parse_one(label) == (frequency, ordinal)


@pytest.mark.parametrize(
    ("frequency", "start", "stop"),
    [
        ("year", 1990, 2030),
        ("quarter", 4 * 1999, 4 * 2031),
        ("month", 12 * 1999, 12 * 2031),
        ("financial-year", 1995, 2035),
        ("date", days("2019-12-01"), days("2021-03-31")),
    ],
)
def test_labels_round_trip(frequency: Frequency, start: int, stop: int) -> None:
    ordinals = np.arange(start, stop, dtype=np.int64)
    result = parse([period_label(int(o), frequency) for o in ordinals])
    assert result.frequency == frequency
    np.testing.assert_array_equal(result.ordinals, ordinals)
    assert missing_periods(result.ordinals, frequency) == []


def test_consecutive_periods_differ_by_one() -> None:
    quarters = parse(["2019Q4", "2020Q1"]).ordinals
    months = parse(["2019-12", "2020-01"]).ordinals
    years = parse(["2019/20", "2020/21"]).ordinals
    for ordinals in (quarters, months, years):
        assert int(np.diff(ordinals)[0]) == 1


# --- errors -----------------------------------------------------------------------------


def test_unparseable_error_names_file_column_rows_and_values() -> None:
    message = error_text(["2019Q1", "2019Q2", "2019Q3", "abc", "abc", "2019Q5"])
    assert message.startswith(f"{SOURCE}: column '{COLUMN}'")
    assert "3 rows" in message
    assert "row 5: 'abc'" in message
    assert "row 7: '2019Q5'" in message
    assert "2019Q3" in message.split("hint:")[1]  # hint lists accepted spellings
    assert "2019/20" in message.split("hint:")[1]


def test_unparseable_error_shows_only_first_values() -> None:
    message = error_text([f"bad{i}" for i in range(8)])
    assert "'bad0'" in message
    assert "'bad4'" in message
    assert "'bad5'" not in message
    assert "3 more values" in message


@pytest.mark.parametrize("value", ["2019-13", "2019-02-30", "Foo 2019", "2019Q5", "12019"])
def test_invalid_spellings_are_rejected(value: str) -> None:
    assert repr(value) in error_text(["2019Q1", value])


def test_non_integral_float_and_out_of_range_year_are_rejected() -> None:
    assert "row 3: 2019.5" in error_text([2019.0, 2019.5])
    assert "row 2: 19" in error_text(pd.Series([19, 2019]))


def test_datetime_with_time_of_day_is_rejected() -> None:
    stamps = [pd.Timestamp("2019-01-01"), pd.Timestamp("2019-01-02 10:30")]
    message = error_text(pd.Series(stamps))
    assert "row 3" in message


@pytest.mark.parametrize(
    "values",
    [["2019Q1", None, "2019Q3"], ["2019Q1", "", "2019Q3"], ["2019Q1", "  ", "2019Q3"],
     pd.Series([2019.0, np.nan, 2020.0]), pd.Series([2019, None, 2020], dtype="Int64")],
)  # fmt: skip
def test_missing_periods_error(values: object) -> None:
    message = error_text(values)
    assert message.startswith(f"{SOURCE}: column '{COLUMN}'")
    assert "1 row without a period: row 3" in message


def test_missing_periods_error_lists_first_rows() -> None:
    message = error_text(["2019"] + [None] * 8)
    assert "8 rows without a period: rows 3, 4, 5, 6, 7 and 3 more" in message


def test_mixed_frequencies_error_names_one_row_of_each() -> None:
    message = error_text(["2019Q3", "2019Q4", "2019-07", "2019-08", "2019Q1"])
    assert message.startswith(f"{SOURCE}: column '{COLUMN}' mixes period formats")
    assert "row 2: '2019Q3' (quarter)" in message
    assert "row 4: '2019-07' (month)" in message
    assert "row 3" not in message
    assert "use one format" in message


def test_mixed_years_and_dates_error() -> None:
    message = error_text(pd.Series([2019, dt.date(2019, 7, 15)], dtype=object))
    assert "row 2: 2019 (year)" in message
    assert "row 3: 2019-07-15 (date)" in message


def test_ambiguous_value_next_to_quarters_is_mixed() -> None:
    message = error_text(["2019Q1", "2011-12"])
    assert "(quarter)" in message
    assert "row 3: '2011-12' (month)" in message


def test_empty_column_is_an_error() -> None:
    assert "has no rows" in error_text(pd.Series([], dtype="str"))


# --- parse_period_value -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "frequency", "expected"),
    [
        ("2019", "year", 2019),
        (2019, "year", 2019),
        ("2019Q3", "quarter", 4 * 2019 + 2),
        ("Q3 2019", "quarter", 4 * 2019 + 2),
        ("2019-07", "month", 12 * 2019 + 6),
        ("Jul 2019", "month", 12 * 2019 + 6),
        ("2011-12", "month", 12 * 2011 + 11),
        ("2011-12", "financial-year", 2011),
        ("2019/20", "financial-year", 2019),
        ("2019-07-15", "date", days("2019-07-15")),
    ],
)
def test_parse_period_value(text: str | int, frequency: Frequency, expected: int) -> None:
    assert parse_period_value(text, frequency, option="--start") == expected


def test_parse_period_value_wrong_frequency() -> None:
    with pytest.raises(DataError) as info:
        parse_period_value("2019-07", "quarter", option="--start")
    err = info.value
    assert err.exit_code == EXIT_DATA
    assert "--start '2019-07'" in err.message
    assert "a month" in err.message
    assert "quarters" in err.message
    assert err.hint is not None
    assert "--start 2019Q3" in err.hint


@pytest.mark.parametrize(
    ("text", "frequency", "example"),
    [
        ("2019", "quarter", "2019Q3"),
        ("2019Q3", "month", "2019-07"),
        ("2019-07", "date", "2019-07-15"),
        ("2019-07", "financial-year", "2019/20"),
        ("2019/20", "year", "2019"),
        ("nonsense", "month", "2019-07"),
    ],
)
def test_parse_period_value_errors(text: str, frequency: Frequency, example: str) -> None:
    with pytest.raises(DataError) as info:
        parse_period_value(text, frequency, option="--end")
    assert f"--end {text!r}" in str(info.value)
    assert info.value.hint is not None
    assert f"--end {example}" in info.value.hint


# --- missing_periods --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "labels", "expected"),
    [
        ("year", ["2015", "2019", "2016", "2015"], ["2017", "2018"]),
        ("quarter", ["2019Q3", "2020Q2", "2019Q3"], ["2019Q4", "2020Q1"]),
        ("month", ["2019-11", "2020-02"], ["2019-12", "2020-01"]),
        ("financial-year", ["2017/18", "2020/21"], ["2018/19", "2019/20"]),
        ("date", ["2019-07-01", "2019-07-05", "2019-07-02"], ["2019-07-03", "2019-07-04"]),
    ],
)
def test_missing_periods(frequency: Frequency, labels: list[str], expected: list[str]) -> None:
    result = parse(labels)
    assert result.frequency == frequency
    gaps = missing_periods(result.ordinals, frequency)
    assert [period_label(o, frequency) for o in gaps] == expected


def test_missing_periods_none_for_complete_or_tiny_input() -> None:
    assert missing_periods(np.array([2019, 2020, 2021, 2020]), "year") == []
    assert missing_periods(np.array([2019]), "quarter") == []
    assert missing_periods(np.array([], dtype=np.int64), "month") == []


def test_missing_periods_monthly_spaced_dates() -> None:
    dates = pd.Series(pd.to_datetime(["2019-01-01", "2019-02-01", "2019-05-01", "2019-06-01"]))
    result = parse(dates)
    gaps = missing_periods(result.ordinals, "date")
    assert [period_label(o, "date") for o in gaps] == ["2019-03-01", "2019-04-01"]


def test_missing_periods_monthly_dates_mid_month_and_month_end() -> None:
    mid = parse(["2019-01-15", "2019-02-15", "2019-05-15"]).ordinals
    assert [period_label(o, "date") for o in missing_periods(mid, "date")] == [
        "2019-03-15",
        "2019-04-15",
    ]
    ends = parse(["2019-01-31", "2019-02-28", "2019-05-31"]).ordinals
    assert [period_label(o, "date") for o in missing_periods(ends, "date")] == [
        "2019-03-31",
        "2019-04-30",
    ]


def test_missing_periods_quarterly_spaced_dates() -> None:
    dates = parse(["2019-01-01", "2019-04-01", "2019-10-01", "2020-01-01"]).ordinals
    assert [period_label(o, "date") for o in missing_periods(dates, "date")] == ["2019-07-01"]


def test_missing_periods_weekly_dates() -> None:
    weeks = pd.date_range("2019-01-07", periods=10, freq="7D")
    kept = pd.Series(weeks.delete([3, 4, 7]))
    result = parse(kept)
    gaps = missing_periods(result.ordinals, "date")
    assert [period_label(o, "date") for o in gaps] == ["2019-01-28", "2019-02-04", "2019-02-25"]


def test_missing_periods_two_dates_define_their_own_spacing() -> None:
    assert missing_periods(parse(["2019-01-15", "2019-04-15"]).ordinals, "date") == []


def test_missing_periods_irregular_dates_report_no_gaps() -> None:
    dates = parse(["2019-01-01", "2019-01-04", "2019-01-09", "2019-01-20"]).ordinals
    assert missing_periods(dates, "date") == []


@pytest.mark.parametrize("value", ["0001-01", "0999Q4", "0001", "0099/00", "0500-06-30",
                                   "Jan 0001"])
def test_years_before_1000_are_rejected_as_in_numeric_columns(value: str) -> None:
    """Issue 10, item 12: '0001-01' used to load, then synth failed with "--predictor '1-01'
    is not a period" though no predictor was given. The cell itself is what is wrong."""
    message = error_text(["2019-01", "2019-02", value])
    assert f"row 4: {value!r}" in message
    assert "1000" in message.split("hint:")[1]


@pytest.mark.parametrize("frequency", ["year", "quarter", "month"])
def test_labels_of_the_first_and_last_readable_years_round_trip(frequency: Frequency) -> None:
    per_year = {"quarter": 4, "month": 12}.get(frequency, 1)
    for ordinal in (1000 * per_year, 10000 * per_year - 1):
        label = period_label(ordinal, frequency)
        # whole numbers outside 1800-2200 are read as years only when asked (issue 14)
        kind = "year" if frequency == "year" else None
        parsed = parse_periods(pd.Series([label]), source=SOURCE, column=COLUMN,
                               period_type=kind)
        assert (parsed.frequency, int(parsed.ordinals[0])) == (frequency, ordinal), label


# --- period numbers (issue 14, item 1) --------------------------------------------------


@pytest.mark.parametrize("values", [[1, 2, 1, 2], ["1", "2", "2", "1"], [1.0, 2.0],
                                    list(range(1, 41))])
def test_whole_numbers_outside_the_year_range_are_period_numbers(values: list[object]) -> None:
    parsed = parse(values)
    assert parsed.frequency == "index"
    assert parsed.ordinals.tolist() == [int(float(v)) for v in values]
    assert period_label(3, "index") == "3"


@pytest.mark.parametrize("values", [[1800, 1801], [2019, 2020], ["2200", "2199"]])
def test_whole_numbers_from_1800_to_2200_are_years(values: list[object]) -> None:
    assert parse(values).frequency == "year"


def test_period_type_index_reads_year_like_numbers_as_period_numbers() -> None:
    parsed = parse_periods(pd.Series([2019, 2020]), source=SOURCE, column=COLUMN,
                           period_type="index")
    assert parsed.frequency == "index"
    assert parse_periods(pd.Series([1750, 1751]), source=SOURCE, column=COLUMN,
                         period_type="year").frequency == "year"


def test_period_type_that_does_not_fit_names_the_value() -> None:
    with pytest.raises(DataError) as info:
        parse_periods(pd.Series(["2019Q1", "2019Q2"]), source=SOURCE, column=COLUMN,
                      period_type="year")
    assert "'2019Q1'" in str(info.value)
    assert "--period-type year" in (info.value.hint or "")


def test_years_next_to_small_numbers_are_mixed_and_hint_at_period_type() -> None:
    message = error_text([1, 2, 2019])
    assert "row 4: 2019 (year)" in message
    assert "--period-type index" in message.split("hint:")[1]


def test_period_number_gaps_are_found() -> None:
    assert missing_periods(parse([1, 2, 5]).ordinals, "index") == [3, 4]


def test_start_as_period_number_and_wrong_kind() -> None:
    assert parse_period_value("2", "index", option="--start") == 2
    with pytest.raises(DataError) as info:
        parse_period_value("2", "year", option="--start")
    assert "period number" in info.value.message
    assert "years" in info.value.message
