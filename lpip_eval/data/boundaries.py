"""English local authority district merges, 2019-2023, and what they mean for a panel.

The table ``lad_changes_2019_2023.csv`` ships with the package (42 predecessor districts ->
their successor; no district was split). Source: ONS Code History Database (Open Government
Licence v3) and the statutory instruments of each reorganisation; transcribed from public
recode tables and cross-checked in three or more independent public repositories (sha256
ff9e1bb7...a351a814). Somerset West and Taunton (E07000246) is a 2019 successor and a 2023
predecessor, so codes are followed transitively: Taunton Deane -> E07000246 -> E06000066.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from functools import cache
from importlib import resources

from lpip_eval.errors import first_items

TABLE = "lad_changes_2019_2023.csv"
SOURCE = ("ONS Code History Database (OGL v3); the statutory instruments of each "
          "reorganisation")


@dataclass(frozen=True)
class Change:
    """One predecessor district and the district it became part of on ``effective``."""

    effective: dt.date
    old_code: str
    old_name: str
    new_code: str
    new_name: str


@cache
def changes() -> tuple[Change, ...]:
    """The shipped table, in file order."""
    text = resources.files("lpip_eval.data").joinpath(TABLE).read_text("utf-8")
    return tuple(Change(dt.date.fromisoformat(r["effective"]), r["old_code"], r["old_name"],
                        r["new_code"], r["new_name"])
                 for r in csv.DictReader(text.splitlines()))


@cache
def _successor() -> dict[str, Change]:
    return {c.old_code: c for c in changes()}


def final_code(code: str) -> str:
    """The code an area has today: its successor's successor ... (itself if unchanged)."""
    step = _successor()
    seen = {code}
    while code in step:
        code = step[code].new_code
        if code in seen:  # a cycle would be a broken table; tests check there is none
            break
        seen.add(code)
    return code


@cache
def codes() -> frozenset[str]:
    """Every code in the table."""
    return frozenset(names())


@cache
def names() -> dict[str, str]:
    """Every code in the table -> its name."""
    out = {c.old_code: c.old_name for c in changes()}
    out.update({c.new_code: c.new_name for c in changes()})
    return out


@cache
def leaves(code: str) -> frozenset[str]:
    """The earliest districts an area is made of (itself if it had no predecessors)."""
    parts = [c.old_code for c in changes() if c.new_code == code]
    if not parts:
        return frozenset({code})
    return frozenset().union(*(leaves(p) for p in parts))


def change_date(code: str) -> dt.date | None:
    """When a predecessor code stopped being used (None for a current code)."""
    change = _successor().get(code)
    return None if change is None else change.effective


def named(code: str) -> str:
    """'E07000049 East Dorset' (the code alone when the table does not name it)."""
    name = names().get(code)
    return f"{code} {name}" if name else code


def findings(spans: dict[str, tuple[str, str]]) -> list[str]:
    """Boundary-change findings for a panel's areas, ``spans`` = code -> (first, last period
    label). One sentence per successor whose predecessors are in the data, naming them."""
    by_final: dict[str, list[str]] = {}
    for code in spans:
        final = final_code(code)
        if final != code:
            by_final.setdefault(final, []).append(code)
    out = []
    for final, old in sorted(by_final.items()):
        later = sorted(c for c in spans if final_code(c) == final and c not in old)
        old_text = first_items([f"{named(c)} ({_span(spans[c])})" for c in sorted(old)], 8)
        dates = sorted({d.isoformat() for c in old if (d := change_date(c))})
        if later:
            now = first_items([f"{named(c)} ({_span(spans[c])})" for c in later], 4)
            what = (f"area codes changed ({', '.join(dates)}): the data has former district "
                    f"{old_text} and their successor {now}")
        else:
            what = (f"former district {old_text} became part of {named(final)} "
                    f"({', '.join(dates)}), which is not in the data")
        out.append(f"{what}; --harmonise-boundaries combines them into {final} for every "
                   "period (--combine sum for counts, --combine mean with "
                   "--lookup-weight-col for rates)")
    return out


def _span(span: tuple[str, str]) -> str:
    return span[0] if span[0] == span[1] else f"{span[0]}-{span[1]}"
