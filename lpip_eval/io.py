"""Reading tables from disk and writing output files atomically.

Readers turn every failure into a one-line :class:`DataError` naming the file; writers
write to a temporary file in the target folder and rename it, so a failed run leaves no
partial output behind (DESIGN.md, "Exit codes").
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lpip_eval.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
DELIMITERS = (",", ";", "\t", "|")


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


def read_table(path: Path, *, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV, Parquet or Excel file into a DataFrame (the user's file is never changed).

    ``text_columns`` are read as text so that identifiers such as ``E06000023`` or ``007``
    keep their spelling. The CSV delimiter is taken from the header line.
    """
    import pandas as pd

    if not path.exists():
        raise DataError(f"{path}: file not found", hint="check the path and the working folder")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a data file", hint="give a .csv, .parquet or .xlsx file")
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty", hint="export the data again, with a header row")
    try:
        if suffix in CSV_SUFFIXES or suffix == "":
            sep = _sniff_delimiter(path)
            header = pd.read_csv(path, sep=sep, nrows=0, encoding="utf-8-sig")
            dtype = {c: "str" for c in text_columns if c in header.columns}
            frame = pd.read_csv(
                path, sep=sep, dtype=dtype, encoding="utf-8-sig", skipinitialspace=True
            )
        elif suffix in PARQUET_SUFFIXES:
            frame = pd.read_parquet(path)
        elif suffix in EXCEL_SUFFIXES:
            frame = pd.read_excel(path, sheet_name=0, dtype={c: "str" for c in text_columns})
        else:
            raise DataError(
                f"{path}: unsupported file type '{suffix}'",
                hint="use .csv, .parquet or .xlsx",
            )
    except DataError:
        raise
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})",
            hint="save the file as CSV UTF-8",
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError, ImportError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"{path}: cannot be read as a table: {first_line}",
            hint="check that every row has the same number of fields as the header",
        ) from None
    if frame.shape[1] == 0 or len(frame) == 0:
        raise DataError(f"{path}: has a header but no data rows", hint="check the export")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def display_path(path: Path | str) -> str:
    """The path as shown to users and recorded in provenance (as given, POSIX separators)."""
    return Path(path).as_posix()


def write_atomic(path: str, data: str | bytes) -> None:
    """Write ``data`` to ``path`` (``-`` = stdout) via a temporary file and a rename."""
    if path == "-":
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
        else:
            sys.stdout.write(data)
        sys.stdout.flush()
        return
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.exists():
        raise DataError(f"{path}: folder '{folder}' does not exist", hint="create it first")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
