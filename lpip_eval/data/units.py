"""Unit-level data (one row per person or firm, no periods): read and check the columns.

The loading half of unit-level matching (``match --design nnmatch``; the estimator is
:mod:`lpip_eval.methods.match.units`): :func:`load_units` reads a CSV, Parquet or Excel file
and checks the outcome, the 0/1 treatment column, the matching variables, the exact-matching
strata and the unit ids, with one message per problem naming the file, column and
spreadsheet rows (header = row 1). It takes column names, so ``data/`` knows nothing of the
methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lpip_eval.data.columns import Rows, binary_column, distinct_text, numeric_column
from lpip_eval.data.read import InputFile, read_table, sha256_of
from lpip_eval.errors import DataError, closest
from lpip_eval.files import display_path

DEFAULT_ID_COL = "area"  # PanelSpec.area_col's default: when the file lacks it, name units by row


@dataclass(frozen=True)
class UnitData:
    """The checked columns of a unit-level file."""

    ids: tuple[str, ...]
    y: np.ndarray
    treated: np.ndarray  # bool
    x: np.ndarray  # (n, p) matching variables
    exact: np.ndarray | None  # integer stratum codes
    source: InputFile
    id_col: str  # the id column, or "row" when units are named by their spreadsheet row


def load_units(path: Path, *, outcome: str, treated_col: str, match_on: Sequence[str],
               id_col: str | None = None, exact: Sequence[str] = ()) -> UnitData:
    """Read ``path`` and check the named columns (DataError if not): the ``outcome``, the 0/1
    ``treated_col``, the numeric ``match_on`` variables, the text ``exact`` strata and the
    unit ``id_col``.

    An id column left at its default (``area``) that the file does not have means units are
    named by their row; any other id column must exist.
    """
    match_on, exact = tuple(match_on), tuple(exact)
    frame = read_table(path, text_columns=(id_col,) if id_col else ())
    rows = Rows(((display_path(path), len(frame)),))
    if id_col == DEFAULT_ID_COL and id_col not in frame.columns:
        id_col = None
    needed = [c for c in (id_col, outcome, treated_col, *match_on, *exact) if c]
    for column in needed:
        if column not in frame.columns:
            raise DataError(f"{rows.file}: no column '{column}'",
                            hint=closest(column, [str(c) for c in frame.columns], "columns"))
    if not match_on:
        raise DataError(f"{rows.file}: no matching variables",
                        hint="name them with --match-on, e.g. --match-on age,education")
    treated = binary_column(frame, treated_col, rows).astype(bool)
    y = _complete(frame, outcome, rows, "outcome")
    x = np.column_stack([_complete(frame, c, rows, "matching") for c in match_on])
    ids = _ids(frame, id_col, rows)
    strata = _strata(frame, exact, rows) if exact else None
    source = InputFile(path=rows.file, sha256=sha256_of(path), rows=len(frame))
    return UnitData(ids=ids, y=y, treated=treated, x=x, exact=strata, source=source,
                    id_col=id_col or "row")


def _complete(frame: pd.DataFrame, column: str, rows: Rows, role: str) -> np.ndarray:
    values = numeric_column(frame, column, rows, role=role)
    missing = np.isnan(values)
    if missing.any():
        file, where = rows.locate(missing)
        raise DataError(f"{file}: {role} column '{column}' is empty in {where}",
                        hint="fill in the values, or drop those units from the file")
    return values


def _ids(frame: pd.DataFrame, id_col: str | None, rows: Rows) -> tuple[str, ...]:
    if id_col is None:
        return tuple(f"row {i + 2}" for i in range(len(frame)))
    codes, texts = distinct_text(frame[id_col])
    ids = texts[codes]
    blank = ids == ""
    if blank.any():
        file, where = rows.locate(blank)
        raise DataError(f"{file}: id column '{id_col}' is empty in {where}",
                        hint="give every unit an id, or leave out the id column option")
    repeated = pd.Series(codes).duplicated(keep=False).to_numpy()
    if repeated.any():
        file, where = rows.locate(repeated)
        raise DataError(f"{file}: id column '{id_col}' repeats ids ({ids[repeated][0]!r}) in "
                        f"{where}", hint="unit-level matching needs one row per unit")
    return tuple(str(v) for v in ids)


def _strata(frame: pd.DataFrame, columns: tuple[str, ...], rows: Rows) -> np.ndarray:
    parts = []
    for column in columns:
        codes, texts = distinct_text(frame[column])
        blank = texts[codes] == ""
        if blank.any():
            file, where = rows.locate(blank)
            raise DataError(f"{file}: exact-matching column '{column}' is empty in {where}",
                            hint="fill in the values, or drop those units from the file")
        parts.append(codes)
    return np.unique(np.column_stack(parts), axis=0, return_inverse=True)[1].ravel()
