"""Treatment timing: periods of the data and each area's first treated period.

Timing comes from one of five options (docs/design.md, "Input data"): ``--comparators``,
``--treated`` or ``--treated-col`` with ``--start``, or per area from ``--treatment-col``
(0/1 per area-period, staying on once started) or ``--first-treated-col``. The result is one
ordinal per area, :data:`NEVER` for comparison areas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lpip_eval.data.columns import (
    Areas,
    Rows,
    binary_column,
    check_constant_within_area,
    distinct_text,
    text_at,
)
from lpip_eval.data.periods import (
    Frequency,
    ParsedPeriods,
    parse_period_value,
    parse_periods,
    period_label,
)
from lpip_eval.data.spec import START_OPTIONS
from lpip_eval.errors import DataError, closest, first_items

if TYPE_CHECKING:
    import pandas as pd

    from lpip_eval.data.spec import PanelSpec

NEVER = np.iinfo(np.int64).max
_NEVER_SPELLINGS = ("", "0", "never")


def parse_period_column(values: pd.Series, column: str, rows: Rows,
                        source: str, period_type: str | None = None) -> ParsedPeriods:
    """Parse periods; with several files, an error names the file and its own rows."""
    try:
        return parse_periods(values, source=rows.file if len(rows.parts) == 1 else source,
                             column=column, period_type=period_type)
    except DataError:
        if len(rows.parts) == 1:
            raise
    found: list[tuple[str, ParsedPeriods, object]] = []
    begin = 0
    for label, n in rows.parts:
        part = values.iloc[begin:begin + n].reset_index(drop=True)
        found.append((label, parse_periods(part, source=label, column=column,
                                           period_type=period_type), part.iloc[0]))
        begin += n
    shown = "; ".join(f"{label} has {parsed.frequency} periods (row 2: {first!r})"
                      for label, parsed, first in found)
    raise DataError(f"column '{column}' differs between the files: {shown}",
                    hint="write the periods the same way in every file")


def period_index(parsed: ParsedPeriods) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct ordinals, per row index into them), from the distinct values only."""
    if parsed.codes is None or parsed.distinct is None:
        values, index = np.unique(parsed.ordinals, return_inverse=True)
        return values.astype(np.int64), index.astype(np.int64)
    values = np.unique(parsed.distinct)
    return values, np.searchsorted(values, parsed.distinct).astype(np.int64)[parsed.codes]


def start_ordinal(spec: PanelSpec, parsed: ParsedPeriods, source: str) -> int:
    """``--start`` as an ordinal in the data's frequency (DataError naming the data's span)."""
    try:
        return parse_period_value(spec.start or "", parsed.frequency, option="--start")
    except DataError as exc:
        first, last = parsed.ordinals.min(), parsed.ordinals.max()
        span = (f"the data runs from {period_label(int(first), parsed.frequency)} to "
                f"{period_label(int(last), parsed.frequency)}")
        raise DataError(f"{source}: {exc.message}", hint=f"{exc.hint}; {span}") from None


def first_treated(frame: pd.DataFrame, spec: PanelSpec, option: str, areas: Areas,
                  parsed: ParsedPeriods, rows: Rows, source: str,
                  pilot_areas: set[str]) -> np.ndarray:
    """Per area (``areas.units``): the ordinal of its first treated period, NEVER if none."""
    first = np.full(len(areas.units), NEVER, dtype=np.int64)
    if option in START_OPTIONS:
        start = start_ordinal(spec, parsed, source)
        position = {u: i for i, u in enumerate(areas.units)}
        if option == "--comparators":
            treated = [position[a] for a in pilot_areas if a in position]
        elif option == "--treated":
            names = sorted({a.strip() for a in spec.treated})
            unknown = [a for a in names if a not in position]
            if unknown:
                raise DataError(
                    f"{source}: treated area {first_items(unknown)} is not in column "
                    f"'{spec.area_col}'",
                    hint=closest(unknown[0], list(areas.units), "areas include", limit=12),
                )
            treated = [position[a] for a in names]
        else:
            column = spec.treated_col or ""
            flag = binary_column(frame, column, rows)
            check_constant_within_area(flag, areas, column, rows,
                                       hint="--treated-col marks treated areas in every "
                                       "period; for a start that differs by area use "
                                       "--treatment-col or --first-treated-col")
            treated = np.flatnonzero(flag[areas.first_row] == 1).tolist()
        first[treated] = start
        return first
    if option == "--treatment-col":
        return _from_treatment_column(frame, spec.treatment_col or "", areas, parsed, rows)
    return _from_first_treated_column(frame, spec, areas, parsed, rows)


def _from_treatment_column(frame: pd.DataFrame, column: str, areas: Areas,
                           parsed: ParsedPeriods, rows: Rows) -> np.ndarray:
    """First period with a 1 per area; a 0 after the start is an error."""
    first = np.full(len(areas.units), NEVER, dtype=np.int64)
    on = binary_column(frame, column, rows) == 1
    ordinals = parsed.ordinals
    np.minimum.at(first, areas.idx[on], ordinals[on])
    off_again = ~on & (ordinals > first[areas.idx])
    if off_again.any():
        k = int(np.argmax(off_again))
        file, where = rows.at(k)
        u = int(areas.idx[k])
        raise DataError(
            f"{file}: column '{column}' switches off again in area '{areas.units[u]}' "
            f"at {period_label(int(ordinals[k]), parsed.frequency)} ({where}), after "
            f"starting at {period_label(int(first[u]), parsed.frequency)}",
            hint="a treatment is assumed to stay on once started: mark every period from "
            "the start on with 1",
        )
    return first


def _from_first_treated_column(frame: pd.DataFrame, spec: PanelSpec, areas: Areas,
                               parsed: ParsedPeriods, rows: Rows) -> np.ndarray:
    """Each area's first treated period from its column (empty, 0 or 'never' = never)."""
    column = spec.first_treated_col or ""
    codes, texts = distinct_text(frame[column])
    table = np.full(len(texts), NEVER, dtype=np.int64)
    for k, value in enumerate(texts):
        if str(value).lower() in _NEVER_SPELLINGS:
            continue
        try:
            table[k] = parse_period_value(str(value), parsed.frequency, option="x")
        except DataError:
            file, where = rows.locate(codes == k)
            raise DataError(
                f"{file}: column '{column}' has {str(value)[:40]!r} in {where}, which is not "
                f"a {_singular(parsed.frequency)} like the periods in column '{spec.period_col}'",
                hint=f"write each area's first treated period like the periods in the data "
                f"(e.g. {period_label(int(parsed.ordinals.min()), parsed.frequency)}); empty "
                "or 0 = never treated",
            ) from None
    per_row = table[codes]
    check_constant_within_area(per_row, areas, column, rows, display=text_at(codes, texts),
                               hint="each area has one first treated period, the same in all "
                               "its rows (empty or 0 if never treated)")
    return per_row[areas.first_row]


def _singular(frequency: Frequency) -> str:
    return {"financial-year": "financial year", "index": "period number"}.get(frequency,
                                                                               frequency)
