"""Issue 14, item 2: the shipped table of local authority district merges, 2019-2023."""

from __future__ import annotations

import re
from collections import Counter

from lpip_eval.data.boundaries import changes, final_code, findings, leaves, names

GSS = re.compile(r"E0[678]\d{6}")


def test_table_is_internally_consistent() -> None:
    table = changes()
    assert len(table) == 42
    counts = Counter(c.old_code for c in table)
    assert max(counts.values()) == 1  # every predecessor maps to one successor (no splits)
    for change in table:
        assert GSS.fullmatch(change.old_code), change
        assert GSS.fullmatch(change.new_code), change
        assert change.old_code != change.new_code
        assert change.old_name and change.new_name
        assert change.effective.month == 4 and change.effective.day == 1
    # a successor is named the same wherever it appears
    for code in {c.new_code for c in table}:
        assert len({c.new_name for c in table if c.new_code == code}) == 1
    # no successor is later a predecessor except Somerset West and Taunton, after its merger
    for change in table:
        later = [c for c in table if c.old_code == change.new_code]
        assert all(c.effective > change.effective for c in later)
    assert [c.new_code for c in table if c.old_code in {d.new_code for d in table}] == [
        "E06000066"]


def test_codes_are_followed_transitively() -> None:
    assert final_code("E07000190") == "E06000066"  # Taunton Deane -> E07000246 -> Somerset
    assert final_code("E07000246") == "E06000066"
    assert final_code("E07000049") == "E06000059"
    assert final_code("E09000001") == "E09000001"
    assert leaves("E06000066") == {"E07000187", "E07000188", "E07000189", "E07000190",
                                   "E07000191"}
    assert names()["E06000059"] == "Dorset"


def test_findings_name_the_districts() -> None:
    spans = {"E07000049": ("2015", "2018"), "E07000050": ("2015", "2018"),
             "E06000059": ("2019", "2023"), "E09000001": ("2015", "2023")}
    (finding,) = findings(spans)
    assert "E07000049 East Dorset (2015-2018)" in finding
    assert "E06000059 Dorset (2019-2023)" in finding
    assert "--harmonise-boundaries" in finding
    assert findings({"E09000001": ("2015", "2023")}) == []
