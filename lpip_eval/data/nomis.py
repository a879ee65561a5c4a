"""Nomis downloads: measures, suppressed observations and APS 12-month windows.

Nomis (www.nomisweb.co.uk) files have the columns ``DATE_NAME``/``DATE``,
``GEOGRAPHY_CODE``, ``GEOGRAPHY_NAME``, ``MEASURES_NAME``, ``OBS_VALUE`` and ``OBS_STATUS``.
A long file holding several measures (e.g. ``Variable`` and ``Numerator``) needs the one to
use (``--measure``); an ``OBS_STATUS`` other than ``A`` (normal) or ``Q`` (unreliable but
shown) marks a value that is suppressed or not available, which becomes missing (left out
with a warning). The Annual Population Survey's 12-month windows (``Jan 2021-Dec 2021``)
are read as periods by :mod:`lpip_eval.data.periods`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lpip_eval.data.columns import distinct_text
from lpip_eval.errors import DataError, UsageError, first_items

if TYPE_CHECKING:
    import pandas as pd

    from lpip_eval.data.spec import PanelSpec

MEASURES = "MEASURES_NAME"
STATUS = "OBS_STATUS"
SHOWN = {"", "A", "Q"}  # normal value; estimate shown but unreliable


def prepare(frame: pd.DataFrame, spec: PanelSpec, outcome: str,
            source: str) -> tuple[pd.DataFrame, list[str]]:
    """The frame restricted to one measure, suppressed outcomes made missing (a new frame;
    the caller's is unchanged), and warnings saying what was done."""
    warnings: list[str] = []
    if MEASURES in frame.columns:
        codes, measures = distinct_text(frame[MEASURES])
        present = [str(m) for m in measures if m]
        if spec.measure is not None:
            if spec.measure not in present:
                raise DataError(f"{source}: column '{MEASURES}' has no measure "
                                f"{spec.measure!r}",
                                hint=f"measures in the file: {first_items(present, 8)}")
            frame = frame[frame[MEASURES].astype("string") == spec.measure]
        elif len(present) > 1:
            raise UsageError(
                f"{source}: the file holds {len(present)} measures in column '{MEASURES}' "
                f"({first_items(present, 6)}), so each area and period has several rows",
                hint=f"give --measure with the one to use, e.g. --measure {present[0]!r}")
        del codes
    elif spec.measure is not None:
        raise UsageError(f"--measure {spec.measure!r}: {source} has no column '{MEASURES}'",
                         hint="--measure picks a measure in a Nomis download; drop it")
    if STATUS in frame.columns and outcome != STATUS:
        codes, statuses = distinct_text(frame[STATUS])
        hidden = np.array([str(s).strip().upper() not in SHOWN for s in statuses])[codes]
        if hidden.any():
            markers = sorted({str(s) for s in statuses} - SHOWN)
            frame = frame.copy()
            column = frame[outcome]
            frame[outcome] = column.where(~hidden, None) if column.dtype == object else \
                column.astype("float64").where(~hidden)
            n = int(hidden.sum())
            warnings.append(
                f"{n} row{'s' if n > 1 else ''} whose {STATUS} marks the value as suppressed "
                f"or not available ({first_items(markers)}) count as missing")
    return frame, warnings
