"""Period parsing and ordering: years, quarters, months, UK financial years, dates and
period numbers.

Every period becomes an integer *ordinal* so that consecutive periods differ by 1:
year -> Y; quarter -> 4*Y + (q-1); month -> 12*Y + (m-1); financial year (April-March)
-> its starting year; date -> days since 1970-01-01 (dates are ordered, not consecutive);
period number (``index``: 1, 2, ..., as Stata's ``xtset`` and R's ``did`` take them) -> the
number. A column of whole numbers is read as years when every value lies in 1800-2200, else
as period numbers; ``period_type`` (``--period-type``) overrides the inference.
Only the distinct values of a column are parsed; the result is mapped back with NumPy.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd

from lpip_eval.errors import DataError, first_items

Frequency = Literal["year", "quarter", "month", "financial-year", "date", "index"]
PeriodType = Literal["year", "quarter", "month", "date", "fy", "index"]

FREQUENCIES: tuple[Frequency, ...] = get_args(Frequency)
_EXAMPLE: dict[Frequency, str] = {
    "year": "2019",
    "quarter": "2019Q3",
    "month": "2019-07",
    "financial-year": "2019/20",
    "date": "2019-07-15",
    "index": "3",
}
_PLURAL: dict[Frequency, str] = {
    "year": "years",
    "quarter": "quarters",
    "month": "months",
    "financial-year": "financial years",
    "date": "dates",
    "index": "period numbers",
}
PERIOD_TYPES: dict[str, Frequency] = {"year": "year", "quarter": "quarter", "month": "month",
                                      "date": "date", "fy": "financial-year", "index": "index"}
YEAR_RANGE = (1800, 2200)  # whole numbers read as years when every value lies in it
_SPELLINGS = (
    "write periods as years (2019), quarters (2019Q3, Q3 2019), months (2019-07, Jul 2019, "
    "2019M07), ISO dates (2019-07-15), UK financial years (2019/20, FY2019-20; the second "
    "year must follow the first) or period numbers (1, 2, 3), with years from 1000 to 9999"
)
_FIRST_YEAR = 1000  # as for numeric year columns: earlier years are typing errors
_EPOCH = dt.date(1970, 1, 1).toordinal()
_MAX_SHOWN = 5

_MONTHS: dict[str, int] = {}
_NAMES = "january february march april may june july august september october november december"
for _i, _name in enumerate(_NAMES.split(), start=1):
    _MONTHS[_name] = _MONTHS[_name[:3]] = _i
_MONTHS["sept"] = 9

_YEAR = re.compile(r"(\d{4})")
_INDEX = re.compile(r"[1-9]\d{0,8}|0")  # no leading zero: '0001' is a mistyped year
_QUARTER_YQ = re.compile(r"(\d{4})\s*-?\s*(?:quarter\s*|q)([1-4])")
_QUARTER_QY = re.compile(r"(?:quarter\s*|q)([1-4])\s*-?\s*(\d{4})")
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[t ]00:00(?::00(?:\.0+)?)?z?)?")
_FY = re.compile(r"(fy\s*)?(\d{4})\s*[-/]\s*(\d{4}|\d{2})")
_MONTH_NUM = re.compile(r"(\d{4})(?:[-/]|\s*m)(\d{1,2})")
_MONTH_NAME_YEAR = re.compile(r"([a-z]{3,9})\.?[\s-]*(\d{4})")
_WINDOW = re.compile(r"([a-z]{3,9})\.?\s*(\d{4})\s*[-–]\s*([a-z]{3,9})\.?\s*(\d{4})")
_YEAR_MONTH_NAME = re.compile(r"(\d{4})[\s-]*([a-z]{3,9})\.?")


@dataclass(frozen=True, eq=False)
class ParsedPeriods:
    """Integer ordinals (int64, one per input row) and the column's frequency.

    ``codes`` (per row) index ``distinct``, the ordinal of each distinct cell value, so that
    ``ordinals == distinct[codes]``; several spellings of a period share an ordinal.
    """

    ordinals: np.ndarray
    frequency: Frequency
    codes: np.ndarray | None = None
    distinct: np.ndarray | None = None


def _parse_text(text: str) -> dict[Frequency, int]:
    """Candidate readings of one spelling: empty if unreadable, two if month-or-FY.

    Years before 1000 are unreadable, as in numeric year columns: '0001-01' is a typing
    error, and its label would not have four digits (issue 10, item 12).
    """
    readings = _readings(text)
    first = {"year": _FIRST_YEAR, "financial-year": _FIRST_YEAR, "quarter": 4 * _FIRST_YEAR,
             "month": 12 * _FIRST_YEAR,
             "date": dt.date(_FIRST_YEAR, 1, 1).toordinal() - _EPOCH, "index": 0}
    return {f: o for f, o in readings.items() if o >= first[f]}


def _readings(text: str) -> dict[Frequency, int]:
    s = text.strip().lower()
    if _INDEX.fullmatch(s):
        return _whole_number(int(s))
    if m := _YEAR.fullmatch(s):
        return {"year": int(m[1])}
    if m := _QUARTER_YQ.fullmatch(s):
        return {"quarter": 4 * int(m[1]) + int(m[2]) - 1}
    if m := _QUARTER_QY.fullmatch(s):
        return {"quarter": 4 * int(m[2]) + int(m[1]) - 1}
    if m := _DATE.fullmatch(s):
        try:
            return {"date": dt.date(int(m[1]), int(m[2]), int(m[3])).toordinal() - _EPOCH}
        except ValueError:
            return {}
    if (window := _window(s)) is not None:  # a 12-month window, e.g. Nomis APS
        end_month, start_year = window
        return ({"financial-year": start_year} if end_month % 12 == 2
                else {"year": end_month // 12})
    out: dict[Frequency, int] = {}
    if m := _FY.fullmatch(s):
        year, second = int(m[2]), m[3]
        follows = year + 1 if len(second) == 4 else (year + 1) % 100
        if int(second) == follows:
            out["financial-year"] = year
        if m[1] or len(second) == 4:  # "FY..." and "2019/2020" are never months
            return out
    if (m := _MONTH_NUM.fullmatch(s)) and 1 <= int(m[2]) <= 12:
        out["month"] = 12 * int(m[1]) + int(m[2]) - 1
    elif (m := _MONTH_NAME_YEAR.fullmatch(s)) and m[1] in _MONTHS:
        out["month"] = 12 * int(m[2]) + _MONTHS[m[1]] - 1
    elif (m := _YEAR_MONTH_NAME.fullmatch(s)) and m[2] in _MONTHS:
        out["month"] = 12 * int(m[1]) + _MONTHS[m[2]] - 1
    return out


def _window(text: str) -> tuple[int, int] | None:
    """(end month ordinal, start year) of a 12-month window 'Jan 2021-Dec 2021', else None.

    Windows ending in March are financial years (Apr-Mar); others are labelled by the year
    they end in (Jan-Dec is the calendar year)."""
    m = _WINDOW.fullmatch(text.strip().lower())
    if not m or m[1] not in _MONTHS or m[3] not in _MONTHS:
        return None
    first = 12 * int(m[2]) + _MONTHS[m[1]] - 1
    last = 12 * int(m[4]) + _MONTHS[m[3]] - 1
    return (last, int(m[2])) if last - first == 11 else None


def _check_windows(uniques: Iterable[object], codes: np.ndarray, where: str) -> None:
    """Rolling 12-month windows that overlap (Jan-Dec 2021, then Apr 2021-Mar 2022) would
    share or straddle years: a DataError naming two of them."""
    ends: dict[int, tuple[int, str]] = {}
    for k, value in enumerate(uniques):
        if isinstance(value, str) and (window := _window(value)) is not None:
            ends.setdefault(window[0] % 12, (k, value))
    if len(ends) > 1:
        (k1, a), (k2, b) = sorted(ends.values())[:2]
        raise DataError(
            f"{where} holds overlapping 12-month windows: {a!r} (row "
            f"{_first_row(codes, k1)}) and {b!r} (row {_first_row(codes, k2)}); "
            f"{len(ends)} different end months",
            hint="keep one window per year, e.g. only the Jan-Dec windows (filter the "
            "download's DATE_NAME column)")


def _parse_scalar(value: object) -> dict[Frequency, int] | None:
    """Candidate readings of one distinct cell value; None means missing (empty text)."""
    if isinstance(value, str):
        return _parse_text(value) if value.strip() else None
    if isinstance(value, bool | np.bool_):
        return {}
    if isinstance(value, pd.Period):
        return _parse_period_object(value)
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, dt.datetime):
        if value.time() != dt.time(0):
            return {}
        value = value.date()
    if isinstance(value, dt.date):
        return {"date": value.toordinal() - _EPOCH}
    if isinstance(value, int | np.integer | float | np.floating):
        number = float(value)
        if number.is_integer() and 0 <= number < 1e9:
            return _whole_number(int(number))
    return {}


def _whole_number(number: int) -> dict[Frequency, int]:
    """A whole number is a period number, and a year too when it has four digits."""
    return {"year": number, "index": number} if 1000 <= number <= 9999 else {"index": number}


def _parse_period_object(value: pd.Period) -> dict[Frequency, int]:
    """A pandas Period: calendar years, quarters, months, days; April-March years as FY."""
    code = value.freqstr.upper()
    if code in ("Y-DEC", "A-DEC", "Y", "A"):
        return {"year": value.year}
    if code in ("Q-DEC", "Q"):
        return {"quarter": 4 * value.year + value.quarter - 1}
    if code == "M":
        return {"month": 12 * value.year + value.month - 1}
    if code == "D":
        return {"date": dt.date(value.year, value.month, value.day).toordinal() - _EPOCH}
    if code in ("Y-MAR", "A-MAR"):  # pandas labels a fiscal year by the year it ends in
        return {"financial-year": value.year - 1}
    return {}


def _show(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _count(n_rows: int) -> str:
    return f"{n_rows} row" if n_rows == 1 else f"{n_rows} rows"


def _first_row(codes: np.ndarray, code: int) -> int:
    """Spreadsheet row (header = row 1) of the first cell holding distinct value ``code``."""
    return int(np.argmax(codes == code)) + 2


def _narrowed(readings: list[dict[Frequency, int] | None],
              period_type: str | None) -> list[dict[Frequency, int] | None]:
    """The readings the column allows: only ``period_type``'s when given; else whole numbers
    are years when all lie in :data:`YEAR_RANGE`, period numbers when none does (a column
    with some of each is reported as mixed), and other spellings are never period numbers."""
    if period_type is not None:
        f = PERIOD_TYPES[period_type]
        return [r if r is None else ({f: r[f]} if f in r else {}) for r in readings]
    numbers = [r for r in readings if r]
    if numbers and all("index" in r for r in numbers):
        low, high = YEAR_RANGE
        as_year = [r is not None and low <= r.get("year", 0) <= high for r in readings]
        kind: Frequency = "year" if all(a for a, r in zip(as_year, readings, strict=True)
                                        if r) else "index"
        if kind == "index" and any(as_year):  # years next to other numbers: mixed
            return [r if not r else {"year" if a else "index": r["index"]}
                    for a, r in zip(as_year, readings, strict=True)]
        return [r if not r else {kind: r[kind]} for r in readings]
    return [r if r is None else {f: o for f, o in r.items() if f != "index"}
            for r in readings]


def parse_periods(values: pd.Series, *, source: str, column: str,
                  period_type: str | None = None) -> ParsedPeriods:
    """Parse a period column into ordinals and one frequency; raise DataError if unusable.

    ``period_type`` (year, quarter, month, date, fy, index) reads every value as that type;
    None infers it."""
    if period_type is not None and period_type not in PERIOD_TYPES:
        from lpip_eval.errors import UsageError

        raise UsageError(f"--period-type {period_type!r} is not a period type",
                         hint=f"use one of {', '.join(PERIOD_TYPES)}, or leave it out")
    where = f"{source}: column '{column}'"
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:  # unhashable cells such as lists
        types = sorted({type(v).__name__ for v in values if not isinstance(v, str)})
        raise DataError(
            f"{where} holds values that are not periods ({', '.join(types)})",
            hint=_SPELLINGS,
        ) from None
    codes = np.asarray(codes, dtype=np.int64)
    if len(codes) == 0:
        raise DataError(f"{where} has no rows", hint="check the file has data below its header")
    _check_windows(uniques, codes, where)
    readings = _narrowed([_parse_scalar(v) for v in uniques], period_type)
    empty = [k for k, r in enumerate(readings) if r is None]
    missing = codes < 0
    if empty:
        missing |= np.isin(codes, empty)
    if missing.any():
        rows = (np.flatnonzero(missing) + 2).tolist()
        raise DataError(
            f"{where} has {_count(len(rows))} without a period: "
            f"{'rows' if len(rows) > 1 else 'row'} {first_items(rows)}",
            hint="fill in the period or drop those rows",
        )
    bad = [k for k, r in enumerate(readings) if not r]
    if bad:
        shown = ", ".join(
            f"row {_first_row(codes, k)}: {_show(uniques[k])}" for k in bad[:_MAX_SHOWN]
        )
        more = f" and {len(bad) - _MAX_SHOWN} more values" if len(bad) > _MAX_SHOWN else ""
        n_rows = int(np.isin(codes, bad).sum())
        as_type = (f"with --period-type {period_type}, write every period as one of the "
                   f"{_PLURAL[PERIOD_TYPES[period_type]]}, e.g. "
                   f"{_EXAMPLE[PERIOD_TYPES[period_type]]}; or leave --period-type out"
                   if period_type else _SPELLINGS)
        raise DataError(
            f"{where} has {_count(n_rows)} whose period cannot be read: {shown}{more}",
            hint=as_type,
        )
    definite = {next(iter(r)) for r in readings if r and len(r) == 1}
    # "2011-12" is December 2011 or FY 2011/12: FY only when every other value is an FY.
    ambiguous_as: Frequency = "financial-year" if definite == {"financial-year"} else "month"
    parsed = [r for r in readings if r]  # all of them: missing and unreadable were rejected
    chosen: list[Frequency] = [ambiguous_as if len(r) > 1 else next(iter(r)) for r in parsed]
    kinds = list(dict.fromkeys(chosen))
    if len(kinds) > 1:
        examples = ", ".join(
            f"row {_first_row(codes, k)}: {_show(uniques[k])} ({_PLURAL[f][:-1]})"
            for f in kinds
            for k in [chosen.index(f)]
        )
        spell = " or ".join(f"all {_PLURAL[f]} like {_EXAMPLE[f]}" for f in kinds)
        numbers = ("; if they are all period numbers, give --period-type index"
                   if set(kinds) == {"year", "index"} else "")
        raise DataError(
            f"{where} mixes period formats: {examples}",
            hint=f"use one format for every period in the column, e.g. {spell}{numbers}",
        )
    frequency = kinds[0]
    table = np.array([r[f] for r, f in zip(parsed, chosen, strict=True)], dtype=np.int64)
    return ParsedPeriods(ordinals=table[codes], frequency=frequency, codes=codes,
                         distinct=table)


def parse_period_value(text: str | int, frequency: Frequency, *, option: str) -> int:
    """Parse one period given on the command line (e.g. ``--start``) in the data's frequency."""
    reading = _parse_scalar(text) or {}
    if frequency in reading:
        return reading[frequency]
    example = f"{option} {_EXAMPLE[frequency]}"
    if reading:
        kinds = " or ".join(_PLURAL[f][:-1] for f in FREQUENCIES if f in reading)
        problem = f"is a {kinds}, but the periods in the data are {_PLURAL[frequency]}"
    else:
        problem = f"is not a period; the periods in the data are {_PLURAL[frequency]}"
    raise DataError(
        f"{option} {_show(text)} {problem}",
        hint=f"write {option} as one of the data's {_PLURAL[frequency]}, e.g. {example}",
    )


def period_type_of(frequency: str) -> str:
    """The ``--period-type`` value of a frequency (``financial-year`` is ``fy``)."""
    return {"financial-year": "fy"}.get(frequency, frequency)


def period_label(ordinal: int, frequency: Frequency) -> str:
    """Canonical label: 2019, 2019Q3, 2019-07, 2019/20, 2019-07-15 or 3 (period number)."""
    o = int(ordinal)
    if frequency in ("year", "index"):
        return str(o)
    if frequency == "quarter":
        return f"{o // 4}Q{o % 4 + 1}"
    if frequency == "month":
        return f"{o // 12}-{o % 12 + 1:02d}"
    if frequency == "financial-year":
        return f"{o}/{(o + 1) % 100:02d}"
    return dt.date.fromordinal(o + _EPOCH).isoformat()


def _modal_step(diffs: np.ndarray) -> int | None:
    """The most common gap, if every gap is a whole multiple of it; else None."""
    steps, counts = np.unique(diffs, return_counts=True)
    step = int(steps[np.argmax(counts)])
    return step if step > 0 and not (diffs % step).any() else None


def _missing_dates(days: np.ndarray) -> list[int]:
    """Missing dates for monthly-spaced (same day, or month-end) or evenly spaced dates."""
    dates = days.astype("datetime64[D]")
    months = dates.astype("datetime64[M]")
    day_of_month = (dates - months.astype("datetime64[D]")).astype(np.int64)
    month_end = (dates + 1).astype("datetime64[M]") != months
    same_day = bool((day_of_month == day_of_month[0]).all())
    month_idx = months.astype(np.int64)
    if (same_day or month_end.all()) and (step := _modal_step(np.diff(month_idx))):
        grid = np.arange(month_idx[0], month_idx[-1] + 1, step).astype("datetime64[M]")
        if same_day:
            expected = grid.astype("datetime64[D]") + day_of_month[0]
            expected = expected[expected.astype("datetime64[M]") == grid]  # no 31 June
        else:
            expected = (grid + 1).astype("datetime64[D]") - 1
        return np.setdiff1d(expected.astype(np.int64), days).tolist()
    if step := _modal_step(np.diff(days)):
        return np.setdiff1d(np.arange(days[0], days[-1] + 1, step), days).tolist()
    return []


def missing_periods(ordinals: np.ndarray, frequency: Frequency) -> list[int]:
    """Ordinals absent between the smallest and largest given ordinal (repeats allowed).

    Dates use their modal spacing: whole calendar months (same day of month, or month
    ends) or a constant number of days; irregular dates report no gaps.
    """
    present = np.unique(np.asarray(ordinals, dtype=np.int64))
    if present.size < 2:
        return []
    if frequency == "date":
        return _missing_dates(present)
    return np.setdiff1d(np.arange(present[0], present[-1] + 1), present).tolist()
