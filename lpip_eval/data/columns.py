"""Column values: row locator, area ids and names, numbers, 0/1 flags, duplicates.

Everything here works on whole columns with NumPy. Text is never handled row by row: a
column is factorized first (hash-based) and only its distinct values are normalised and
checked, then mapped back through integer codes. Messages name the file, the column and
spreadsheet rows (header = row 1); building them may be slow, so it happens only when
something is wrong.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from lpip_eval.data.read import MISSING_MARKERS
from lpip_eval.errors import DataError, LpipEvalError, first_items

# An ONS GSS area code (E06000023): the one pattern, also used to guess an area column.
GSS_PATTERN = re.compile(r"^[EKNSW]\d{8}$")
# Near misses of a GSS code (lower case, a lost or extra digit): columns mostly of these are
# checked code by code, so a typo gets its own message.
GSS_LOOKALIKE = re.compile(r"^[EKNSWeknsw]\d{6,9}$")
_LINES_GSS = re.compile(GSS_PATTERN.pattern, re.MULTILINE)
_LINES_LOOKALIKE = re.compile(GSS_LOOKALIKE.pattern, re.MULTILINE)
NAME_COLUMNS = ("area_name", "name", "areanm", "LAD_name", "GEOGRAPHY_NAME")  # last: Nomis
_BINARY = {"1": 1, "0": 0, "true": 1, "false": 0, "yes": 1, "no": 0}
# Object columns of these kinds factorize safely: pandas' hash table treats 1, 1.0 and True
# as one value, so other object columns are turned into text before they are factorized.
_SAFE_OBJECT_KINDS = ("string", "empty", "integer", "boolean")
_SUPPRESSED = re.compile(r"^(\.\.|\.|-+|–|—|:|\*|x|c|z|u|n/?a|na|n\.a\.|none|null|"
                         r"\[[a-z]\]|suppressed|missing)$", re.IGNORECASE)
_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+$")
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")
_UNITS = re.compile(r"^[-+]?[£$€]?\s*[\d.,]+\s*(%|k|m|bn)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Rows:
    """Positions in a (possibly concatenated) frame -> file name and spreadsheet rows.

    ``parts`` holds (file label, number of rows) in concatenation order; spreadsheet rows
    count the header as row 1, so position 0 of a file is row 2.
    """

    parts: tuple[tuple[str, int], ...]

    @property
    def file(self) -> str:
        return self.parts[0][0]

    def locate(self, mask: pd.Series | np.ndarray, limit: int = 5) -> tuple[str, str]:
        """(file, 'row 5' / 'rows 5, 9 and 3 more') for the first offending file."""
        return self.locate_positions(np.flatnonzero(np.asarray(mask, dtype=bool)), limit)

    def at(self, position: int) -> tuple[str, str]:
        """(file, 'row N') of one position."""
        return self.locate_positions(np.array([position], dtype=np.int64))

    def locate_positions(self, positions: np.ndarray, limit: int = 5) -> tuple[str, str]:
        """Like :meth:`locate`, given sorted positions instead of a mask."""
        if not len(positions):
            return self.parts[0][0], "no rows"
        ends = np.cumsum([n for _, n in self.parts])
        part = int(np.searchsorted(ends, positions[0], side="right"))
        part = min(part, len(self.parts) - 1)
        begin = int(ends[part - 1]) if part else 0
        here = positions[(positions >= begin) & (positions < ends[part])] - begin + 2
        text = ("row " if len(here) == 1 else "rows ") + first_items(here.tolist(), limit)
        elsewhere = len(positions) - len(here)
        if elsewhere:
            text += f" (and {elsewhere} in other files)"
        return self.parts[part][0], text


@dataclass
class Areas:
    """Per row: the area's index into ``units`` (sorted); first row of each area on demand."""

    idx: np.ndarray
    units: tuple[str, ...]

    @cached_property
    def first_row(self) -> np.ndarray:
        """Per area: the position of its first row in the file."""
        first = np.full(len(self.units), len(self.idx), dtype=np.int64)
        np.minimum.at(first, self.idx, np.arange(len(self.idx), dtype=np.int64))
        return first


def one_line(exc: LpipEvalError) -> LpipEvalError:
    """The error with line breaks (from column names or cells) shown as \\n: one line."""
    def flat(text: str) -> str:
        return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r")

    if "\n" not in str(exc) and "\r" not in str(exc):
        return exc
    return type(exc)(flat(exc.message), flat(exc.hint) if exc.hint else None)


# --------------------------------------------------------------------------- text columns


def area_strings(values: pd.Series) -> pd.Series:
    """Ids as text ("" where missing): whole numbers lose any '.0', spaces are stripped.

    Per value: call it on distinct values (see :func:`distinct_text`), not on whole columns.
    """
    missing = np.asarray(values.isna(), dtype=bool)
    if pd.api.types.is_float_dtype(values.dtype):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(numbers)
        whole = finite & (np.abs(numbers) < 2.0**53)
        whole[whole] = numbers[whole] == np.round(numbers[whole])
        if (whole | ~finite)[~missing].all():  # 7.0 -> '7'; inf stays 'inf'
            text = np.where(whole, numbers, 0).astype(np.int64).astype(str).astype(object)
            text = np.where(finite, text, numbers.astype(str).astype(object))
            return pd.Series(np.where(missing, "", text), dtype=object)
    stripped = values.astype("string").str.strip().fillna("").to_numpy(dtype=object)
    return pd.Series(np.where(missing, "", stripped), dtype=object)


def distinct_text(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes per row, distinct texts) of a column read as text, like :func:`area_strings`.

    The texts (object array of str, "" for missing) are distinct after normalisation and in
    order of first appearance; ``texts[codes]`` is the column as text.
    """
    if values.dtype == object and pd.api.types.infer_dtype(
            values, skipna=True) not in _SAFE_OBJECT_KINDS:
        values = values.astype("string")
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    texts = area_strings(pd.Series(uniques)).to_numpy(dtype=object)
    if not (codes < 0).any() and (texts == np.asarray(uniques, dtype=object)).all():
        return codes, texts  # normalising changed no value, so the texts stay distinct
    if (codes < 0).any():
        codes = np.where(codes < 0, len(texts), codes)
        texts = np.append(texts, "").astype(object)
    merged, distinct = pd.factorize(texts)
    if len(distinct) < len(texts):  # e.g. ' A' and 'A', or 7 and 7.0
        return np.asarray(merged, dtype=np.int64)[codes], np.asarray(distinct, dtype=object)
    return codes, texts


def sorted_codes(codes: np.ndarray, texts: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Recode so that code order is the texts' sorted order: (codes, sorted texts)."""
    order = np.argsort(texts, kind="stable")
    ordered = tuple(texts[order].tolist())
    if (order == np.arange(len(order))).all():
        return codes, ordered
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], ordered


def check_not_empty(codes: np.ndarray, texts: np.ndarray, message: str, rows: Rows,
                    hint: str) -> None:
    """Raise DataError '{file}: {message} in rows ...' where the text is empty."""
    empty = np.flatnonzero(texts == "")
    if len(empty):
        file, where = rows.locate(codes == empty[0])
        raise DataError(f"{file}: {message} in {where}", hint=hint)


def check_gss_codes(codes: np.ndarray, ids: np.ndarray, column: str, rows: Rows) -> None:
    """Where most ids look like ONS GSS codes (E06000023), every id must be one."""
    lines = "\n".join(ids)
    if lines.count("\n") == len(ids) - 1:  # one id per line: count matches in one C-level scan
        if len(_LINES_LOOKALIKE.findall(lines)) < len(ids) / 2:
            return
        if len(_LINES_GSS.findall(lines)) == len(ids):
            return
    looks = np.fromiter((GSS_LOOKALIKE.match(s) is not None for s in ids), bool, len(ids))
    if not len(looks) or looks.mean() < 0.5:
        return
    bad = [k for k, s in enumerate(ids) if not GSS_PATTERN.match(s)]
    if bad:
        first = str(ids[bad[0]])
        file, where = rows.locate(codes == bad[0])
        problem = ("lower case" if GSS_PATTERN.match(first.upper()) else
                   f"{len(first) - 1} digits" if GSS_LOOKALIKE.match(first) else "not a GSS code")
        others = f" (also {first_items([ids[k] for k in bad[1:]], 3)})" if len(bad) > 1 else ""
        raise DataError(
            f"{file}: column '{column}' holds ONS GSS codes, but {first!r} in {where} is "
            f"malformed ({problem}){others}",
            hint="a GSS code is a capital letter and 8 digits, e.g. E06000023; check for "
            "lost leading zeros or typing errors",
        )


def area_names(frame: pd.DataFrame, area_col: str, areas: Areas) -> dict[str, str]:
    """Area names from a name column (first row of each area), if the data has one."""
    for name_col in NAME_COLUMNS:
        if name_col in frame.columns and name_col != area_col:
            codes, texts = distinct_text(frame[name_col])
            names = texts[codes[areas.first_row]]
            return {u: str(n) for u, n in zip(areas.units, names, strict=True) if n}
    return {}


def unit_attributes(frame: pd.DataFrame, columns: tuple[str, ...], areas: Areas,
                    rows: Rows) -> dict[str, np.ndarray]:
    """Per area (aligned with ``areas.units``): the text of each categorical column.

    Each must be non-empty and the same in every row of an area.
    """
    found: dict[str, np.ndarray] = {}
    for column in columns:
        codes, texts = distinct_text(frame[column])
        check_not_empty(codes, texts, f"categorical column '{column}' is empty", rows,
                        hint="a categorical describes the area: fill it in on every row")
        check_constant_within_area(
            codes, areas, column, rows, display=text_at(codes, texts),
            hint="a categorical describes the area (e.g. its region), so it must be the same "
            "in every row of that area")
        found[column] = texts[codes[areas.first_row]]
    return found


def text_at(codes: np.ndarray, texts: np.ndarray) -> Callable[[int], str]:
    """A function giving the text of the row at a position (for messages)."""
    return lambda pos: str(texts[codes[pos]])


def check_constant_within_area(values: np.ndarray, areas: Areas, column: str, rows: Rows, *,
                               hint: str, display: Callable[[int], object] | None = None
                               ) -> None:
    """Raise DataError naming the first area (sorted) whose rows disagree in ``column``."""
    differs = values != values[areas.first_row][areas.idx]
    if not differs.any():
        return
    bad = np.unique(areas.idx[differs])
    u = int(bad[0])
    first_pos = int(areas.first_row[u])
    other_pos = int(np.flatnonzero(differs & (areas.idx == u))[0])
    show = display or (lambda pos: values[pos].item())
    file, where_a = rows.at(first_pos)
    _, where_b = rows.at(other_pos)
    more = f" ({len(bad) - 1} more areas too)" if len(bad) > 1 else ""
    raise DataError(
        f"{file}: column '{column}' changes within area '{areas.units[u]}': "
        f"{show(first_pos)!r} in {where_a} but {show(other_pos)!r} in {where_b}{more}",
        hint=hint,
    )


def row_order(key: np.ndarray, n_keys: int, rows: Rows,
              describe: Callable[[int], str], *, repeats: bool = False) -> np.ndarray | None:
    """Positions sorting rows by ``key`` (area * n_periods + period), None if already sorted.

    Two rows with one key (area and period) raise DataError unless ``repeats`` (microdata:
    a stable sort); ``describe(pos)`` names the area and period of the row at ``pos``.
    """
    if repeats:
        return None if bool((key[1:] >= key[:-1]).all()) else np.argsort(key, kind="stable")
    if bool((key[1:] > key[:-1]).all()):
        return None
    if n_keys <= 4 * len(key) + 1_000_000:  # counting sort: one slot per possible key
        slots = np.full(n_keys, -1, dtype=np.int64)
        slots[key] = np.arange(len(key))
        order = slots[slots >= 0]
        unique = len(order) == len(key)
    else:
        order = np.argsort(key)
        ordered = key[order]
        unique = not (ordered[1:] == ordered[:-1]).any()
    if not unique:
        _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        dup = counts[inverse] > 1
        first = int(np.argmax(dup))
        same = key == key[first]
        file, where = rows.locate(same)
        n_dup, n_same = int(dup.sum()), int(same.sum())
        more = f"; {n_dup - n_same} more duplicate rows" if n_dup > n_same else ""
        individuals = ("; most rows share their area and period with others: if they are "
                       "individuals (e.g. survey respondents), give --microdata"
                       if n_dup * 2 >= len(key) else "")
        raise DataError(
            f"{file}: {describe(first)} ({where}{more})",
            hint="keep one row per area and period (remove repeated rows or aggregate "
            f"first){individuals}",
        )
    return order


# --------------------------------------------------------------------------- numbers, flags


def _text_hint(value: str, role: str) -> str:
    if _SUPPRESSED.match(value):
        return (f"{value!r} marks a missing or suppressed value: leave those cells empty "
                f"(rows with a missing {role} are left out, with a warning)")
    if _THOUSANDS.match(value):
        return "remove the thousands separators (write 1234, not 1,234)"
    if _DECIMAL_COMMA.match(value):
        return "the file uses decimal commas: save it with decimal points (76.5, not 76,5)"
    if _UNITS.match(value):
        return "remove units and symbols such as %, £ or k: the column must hold plain numbers"
    return "the column must hold only numbers; leave missing values empty"


def _is_real_number_dtype(dtype: Any) -> bool:
    return (pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)) and \
        not pd.api.types.is_complex_dtype(dtype)


def numeric_column(frame: pd.DataFrame, column: str, rows: Rows, *, role: str,
                   describe: Callable[[int], str] | None = None) -> np.ndarray:
    """A column as a new float64 array (NaN where empty); text, dates, infinities and values
    too large to compute with (:func:`check_magnitude`) raise. ``describe(pos)`` names the
    area and period of the row at ``pos`` for messages."""
    values = frame[column]
    dtype = values.dtype
    what = f"{role} column '{column}'"
    if (pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype)
            or isinstance(dtype, pd.PeriodDtype)):
        raise DataError(f"{rows.file}: {what} holds dates, not numbers",
                        hint="check the column name")
    if pd.api.types.is_complex_dtype(dtype):
        raise DataError(f"{rows.file}: {what} holds complex numbers", hint="use real numbers")
    if _is_real_number_dtype(dtype):
        numbers = np.array(values.to_numpy(dtype=float, na_value=np.nan), dtype=float)
    else:
        codes, texts = distinct_text(values)
        blank = np.isin(texts, MISSING_MARKERS)
        text = pd.Series(texts, dtype="string")
        converted = pd.to_numeric(text.mask(blank), errors="coerce")
        table = np.asarray(converted.to_numpy(dtype=float, na_value=np.nan), dtype=float)
        bad_value = np.isnan(table) & ~blank
        if bad_value.any():
            bad = bad_value[codes]
            first = str(texts[codes[np.argmax(bad)]])
            file, where = rows.locate(bad)
            n_bad = int(bad.sum())
            raise DataError(
                f"{file}: {what} has text in {n_bad} row{'s' if n_bad > 1 else ''}, e.g. "
                f"{first[:40]!r} in {where}",
                hint=_text_hint(first, role),
            )
        numbers = table[codes]
    infinite = np.isinf(numbers)
    if infinite.any():
        file, where = rows.locate(infinite)
        raise DataError(f"{file}: {what} has infinite values in {where}",
                        hint="replace them by the true value, or leave the cells empty")
    check_magnitude(numbers, what, rows, describe)
    return numbers


def magnitude_limit(n_values: int) -> float:
    """The largest |x| an estimator can take among ``n_values``: sqrt(float max) / n.

    Below it, every square, every product of two values, every sum of squares over the
    panel and every squared sum stays a finite float64 with a factor n to spare (Higham
    2002, ch. 2: overflow, unlike rounding, destroys a result outright).
    """
    return math.sqrt(sys.float_info.max) / max(n_values, 1)


def check_magnitude(numbers: np.ndarray, what: str, rows: Rows,
                    describe: Callable[[int], str] | None = None) -> None:
    """Raise DataError naming the first cell whose size would overflow the arithmetic."""
    limit = magnitude_limit(len(numbers))
    with np.errstate(invalid="ignore"):
        huge = np.abs(numbers) > limit  # NaN compares False
    if not huge.any():
        return
    pos = int(np.argmax(huge))
    file, where = rows.at(pos)
    cell = f"{describe(pos)} " if describe is not None else ""
    n_huge = int(huge.sum())
    if n_huge > 1:
        where += f"; {n_huge} such cells in all, {rows.locate(huge)[1]}"
    raise DataError(
        f"{file}: {what} has a value too large to compute with, {numbers[pos]:.4g}, for "
        f"{cell}({where})",
        hint=f"with {len(numbers):,} rows, values must stay within ±{limit:.3g}; check the "
        "cell for a typing error or a placeholder, or rescale the column (e.g. millions)",
    )


def binary_column(frame: pd.DataFrame, column: str, rows: Rows) -> np.ndarray:
    """A 0/1 column (also true/false, yes/no) as int64; anything else raises DataError."""
    values = frame[column]
    if _is_real_number_dtype(values.dtype):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        bad = (numbers != 0) & (numbers != 1)
        if not bad.any():
            return numbers.astype(np.int64)
        value = float(numbers[np.argmax(bad)])
        first = "" if np.isnan(value) else str(int(value)) if value.is_integer() else str(value)
    else:
        codes, texts = distinct_text(values)
        lower = [str(t).lower() for t in texts]
        flags = np.array([_BINARY.get(t, -1) for t in lower], dtype=np.int64)[codes]
        bad = flags < 0
        if not bad.any():
            return flags
        first = lower[codes[np.argmax(bad)]]
    file, where = rows.locate(bad)
    found = "is empty" if first == "" else f"must be 0 or 1, but has {first[:40]!r}"
    raise DataError(f"{file}: column '{column}' {found} in {where}",
                    hint="use 1 for treated and 0 for not treated, in every row")


def cluster_codes(frame: pd.DataFrame, column: str, rows: Rows) -> np.ndarray:
    """Per row: the cluster's index in the sorted distinct cluster names."""
    codes, texts = distinct_text(frame[column])
    check_not_empty(codes, texts, f"cluster column '{column}' is empty", rows,
                    hint="every row needs a cluster")
    return sorted_codes(codes, texts)[0]
