"""Reading tables from disk (CSV, Parquet, Excel) into pandas.

Readers turn every failure into a one-line :class:`DataError` naming the file and what was
found there.
"""

from __future__ import annotations

import csv
import hashlib
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lpip_eval.errors import DataError, first_items

if TYPE_CHECKING:
    import pandas as pd

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
DELIMITERS = (",", ";", "\t", "|")
# Cells read as missing, by the readers and by text columns parsed as numbers: empty, and what
# R (NA) and Python (NaN, nan) write for missing.
MISSING_MARKERS = ("", "NA", "NaN", "nan")


@dataclass(frozen=True)
class InputFile:
    """Where numbers came from: a file as the user named it, its SHA-256 and row count."""

    path: str
    sha256: str
    rows: int


def sha256_of(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sniff_delimiter(path: Path) -> str:
    """The delimiter used in the header line: the most frequent of , ; tab |."""
    with path.open("r", encoding="utf-8-sig", errors="replace") as handle:
        header = handle.readline()
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _check_utf8(path: Path) -> None:
    """Raise DataError naming the first row (header = row 1) that is not UTF-8 text."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(
            f"{path}: is UTF-16 text, not UTF-8",
            hint="save the file as 'CSV UTF-8 (comma delimited)'",
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        row = data.count(b"\n", 0, exc.start) + 1
        begin = data.rfind(b"\n", 0, exc.start) + 1
        text = data[begin : begin + 40].decode("utf-8", errors="replace").strip()
        raise DataError(
            f"{path}: is not UTF-8 text: row {row} has byte 0x{data[exc.start]:02x} ({text!r})",
            hint="save the file as 'CSV UTF-8 (comma delimited)'; Excel's plain 'CSV' "
            "uses another encoding",
        ) from None


def _csv_header(path: Path, sep: str) -> list[str]:
    """The header row's names as written (pandas would rename duplicates to 'x.1').

    Blank lines above the header are skipped, as pandas does.
    """
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        try:
            for header in csv.reader(handle, delimiter=sep, skipinitialspace=True):
                if any(name.strip() for name in header):
                    return [_column_name(name) or f"Unnamed: {i}" for i, name in enumerate(header)]
        except csv.Error as exc:
            raise DataError(
                f"{path}: the header row cannot be read: {exc}", hint="check the quotes in row 1"
            ) from None
    return []


def _check_header(path: Path, names: list[object], where: str = "") -> None:
    """Column names must be unique (pandas would silently rename a repeat to 'x.1')."""
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        key = str(name).strip()
        if key in seen:
            raise DataError(
                f"{path}{where}: column '{key}' appears twice in the header "
                f"(columns {seen[key]} and {i})",
                hint="rename or remove one of them",
            )
        seen[key] = i


def _long_rows(path: Path, sep: str, width: int) -> list[tuple[int, int, int]]:
    """(first row, last row, fields) of records with more non-empty fields than the header.

    Rows count lines, header = row 1; a record spans several rows when a quote is open.
    """
    found: list[tuple[int, int, int]] = []
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=sep, skipinitialspace=True)
        next(reader, None)
        last = reader.line_num
        for fields in reader:
            n_fields = len(fields)
            while n_fields > width and not fields[n_fields - 1].strip():
                n_fields -= 1  # trailing empty fields (a delimiter at the end) are harmless
            if n_fields > width:
                found.append((last + 1, reader.line_num, n_fields))
                if len(found) > 5:
                    break
            last = reader.line_num
    return found


def _ragged_error(path: Path, sep: str, width: int, fallback: str) -> DataError:
    long_rows = _long_rows(path, sep, width)
    if not long_rows:
        return DataError(
            f"{path}: cannot be read as a table: {fallback}",
            hint="check that every row has the same number of fields as the header",
        )
    row, last, fields = long_rows[0]
    if last > row:
        return DataError(
            f'{path}: a quote (") in row {row} is not closed on that row, so rows {row} to '
            f"{last} are read as one row of {fields} fields (the header has {width})",
            hint='close the quote, or remove the stray " character',
        )
    others = [r for r, _, _ in long_rows[1:]]
    more = f" (also row{'s' if len(others) > 1 else ''} {first_items(others)})" if others else ""
    if width == 1:
        hint = "remove any title or note lines above the header row"
    else:
        hint = (f"a value may contain an unquoted '{sep}' (e.g. a name such as 'Bristol, City "
                "of' or a decimal comma): quote it or remove it")
    return DataError(
        f"{path}: row {row} has {fields} fields but the header (row 1) has {width}{more}",
        hint=hint,
    )


def _read_csv(path: Path, text_columns: tuple[str, ...]) -> pd.DataFrame:
    import pandas as pd

    _check_utf8(path)
    sep = _sniff_delimiter(path)
    header = _csv_header(path, sep)
    if not header:
        raise DataError(f"{path}: has no header row (the file holds only blank lines)",
                        hint="export the data again, with a header row")
    _check_header(path, list(header))
    dtype = {c: "str" for c in text_columns if c in header}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(
                path, sep=sep, dtype=dtype, encoding="utf-8-sig", skipinitialspace=True,
                index_col=False, header=0, names=header, keep_default_na=False,
                na_values=MISSING_MARKERS,
            )
        except pd.errors.ParserError as exc:
            if quote := re.search(r"EOF inside string starting at row (\d+)", str(exc)):
                raise DataError(
                    f'{path}: a quote (") opened in row {int(quote[1]) + 1} is never closed',
                    hint='close the quote, or remove the stray " character',
                ) from None
            raise _ragged_error(path, sep, len(header), _first_line(exc)) from None
    # index_col=False makes pandas drop the surplus fields of long rows with only a warning.
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught) and _long_rows(
        path, sep, len(header)
    ):
        raise _ragged_error(path, sep, len(header), "rows longer than the header")
    return frame


def _read_excel(path: Path, text_columns: tuple[str, ...]) -> pd.DataFrame:
    import pandas as pd

    with pd.ExcelFile(path) as book:
        sheets = [str(s) for s in book.sheet_names]
        first = sheets[0] if sheets else ""
        top = pd.read_excel(book, sheet_name=0, header=None, nrows=1)
        names = [_column_name(v) for v in top.iloc[0].tolist()] if len(top) else []
        where = f" (sheet '{first}')"
        if not names:
            raise DataError(f"{path}{where}: the first sheet is empty",
                            hint=_sheet_hint(sheets))
        _check_header(path, [n for n in names if n != "nan"], where)
        missing = [c for c in text_columns if c not in names]
        if missing and text_columns:
            raise DataError(
                f"{path}{where}: the first sheet has no column '{missing[0]}' in row 1 "
                f"(found {first_items(names, 6)})",
                hint=_sheet_hint(sheets),
            )
        return pd.read_excel(
            book, sheet_name=0, dtype={c: "str" for c in text_columns},
            keep_default_na=False, na_values=MISSING_MARKERS,
        )


def _sheet_hint(sheets: list[str]) -> str:
    listed = ", ".join(repr(s) for s in sheets)
    return (f"the data is read from the first sheet, with the header in row 1; the workbook's "
            f"sheets are {listed}: move the data sheet first or save it as CSV")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_table(path: Path, *, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV, Parquet or Excel file into a DataFrame (the user's file is never changed).

    ``text_columns`` are read as text so that identifiers such as ``E06000023`` or ``007``
    keep their spelling. The CSV delimiter is taken from the header line; line breaks
    inside header cells become spaces, so every column can be named on the command line.
    Only empty cells
    and the machine-written markers ``NA``, ``NaN`` and ``nan`` count as missing: other
    text such as ``..``, ``n/a`` or ``-`` stays text, so that a numeric column holding it
    is reported rather than silently losing those rows.
    """
    import pandas as pd

    if not path.exists():
        raise DataError(f"{path}: file not found", hint="check the path and the working folder")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a data file",
                        hint="give a .csv, .parquet or .xlsx file")
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES | PARQUET_SUFFIXES | EXCEL_SUFFIXES and suffix != "":
        raise DataError(f"{path}: unsupported file type '{suffix}'",
                        hint="use .csv, .parquet or .xlsx")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty",
                        hint="export the data again, with a header row")
    try:
        if suffix in PARQUET_SUFFIXES:
            frame = pd.read_parquet(path)
        elif suffix in EXCEL_SUFFIXES:
            frame = _read_excel(path, text_columns)
        else:
            frame = _read_csv(path, text_columns)
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: has no header row",
                        hint="export the data again, with a header row") from None
    except ImportError as exc:
        raise DataError(f"{path}: cannot be read: {_first_line(exc)}",
                        hint="save it as .csv or .xlsx") from None
    except Exception as exc:
        # A corrupt Parquet or Excel file makes those readers raise almost anything; for
        # CSV only the parser's own errors mean a bad file (anything else is a bug here).
        is_csv = suffix not in PARQUET_SUFFIXES | EXCEL_SUFFIXES
        if is_csv and not isinstance(exc, ValueError | OSError | csv.Error):
            raise
        kind = ("a Parquet" if suffix in PARQUET_SUFFIXES else
                "an Excel" if suffix in EXCEL_SUFFIXES else "a CSV")
        raise DataError(
            f"{path}: cannot be read as {kind} file: {_first_line(exc)}",
            hint=f"check that it really is {kind} file (open it, then save it again)",
        ) from None
    if frame.shape[1] == 0 or len(frame) == 0:
        raise DataError(f"{path}: has a header but no data rows", hint="check the export")
    frame.columns = [_column_name(c) for c in frame.columns]
    _check_header(path, list(frame.columns))
    return frame


def _column_name(name: object) -> str:
    """A header cell as a column name: stripped, line breaks (Excel Alt+Enter) as spaces."""
    return re.sub(r"\s*[\r\n]+\s*", " ", str(name)).strip()
