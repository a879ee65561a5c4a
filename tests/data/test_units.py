"""Unit-level files (data/units.py): read by column names, no method spec needed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lpip_eval.data.units import load_units
from lpip_eval.errors import DataError

CSV = """person,earn,job,age,region
a,10,1,30,N
b,12,0,31,N
c,9,0,45,S
d,14,1,44,S
"""


def test_load_units_by_column_names(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    units = load_units(path, outcome="earn", treated_col="job", match_on=["age"],
                       id_col="person", exact=["region"])
    assert units.ids == ("a", "b", "c", "d") and units.id_col == "person"
    assert units.treated.tolist() == [True, False, False, True]
    np.testing.assert_array_equal(units.y, [10, 12, 9, 14])
    np.testing.assert_array_equal(units.x[:, 0], [30, 31, 45, 44])
    assert units.exact is not None and units.exact.tolist() == [0, 0, 1, 1]
    assert units.source.rows == 4
    # the default id column ("area") missing from the file: units are named by their row
    by_row = load_units(path, outcome="earn", treated_col="job", match_on=("age",),
                        id_col="area")
    assert by_row.ids[0] == "row 2" and by_row.id_col == "row" and by_row.exact is None
    with pytest.raises(DataError, match="no column 'wage'"):
        load_units(path, outcome="wage", treated_col="job", match_on=("age",))
