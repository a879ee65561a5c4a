"""Goodman-Bacon (2021) decomposition of TWFE on staggered starts (``methods/bacon.py``).

Checks: (1) the identity of Theorem 1 — the weights sum to one and the weighted sum of the
2x2 estimates is the TWFE estimate, to 1e-12; (2) every 2x2 estimate and weight equals
diff-diff 3.13's ``BaconDecomposition`` on the castle-doctrine data (to 1e-10; R
``bacondecomp``'s README uses a different 520-row castle file, so its numbers do not apply);
(3) the negative cohort-by-period weights are what TWFE really puts on those effects: an
outcome that is 1 in one such cell only gives a TWFE estimate equal to that weight.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from castle_data import castle_csv, castle_panel, castle_result

from lpip_eval.data.panel import Panel, PanelSpec, load_panel
from lpip_eval.methods import registry
from lpip_eval.methods.bacon import LATER, goodman_bacon


def test_weighted_sum_is_the_twfe_estimate_on_castle() -> None:
    bacon = goodman_bacon(castle_panel())
    weights = [r["weight"] for r in bacon["comparisons"]]
    assert sum(weights) == pytest.approx(1.0, abs=1e-12)
    assert min(weights) >= 0
    att = castle_result("twfe").estimate.att
    assert bacon["twfe_estimate"] == pytest.approx(att, abs=1e-12)
    assert att == pytest.approx(0.069398, abs=1e-6)  # pyfixest feols (new-user trial, 2b)
    assert len(bacon["comparisons"]) == 5 + 2 * 10  # 5 waves vs never, 10 pairs both ways


def test_comparisons_match_diff_diff_on_castle() -> None:
    import diff_diff  # test dependency (pyproject [test])

    data = pd.read_csv(castle_csv())
    first = data[data.post == 1].groupby("sid").year.min()
    data["first"] = data.sid.map(first).fillna(0).astype(int)
    ref = diff_diff.BaconDecomposition().fit(data, "l_homicide", "sid", "year",
                                             "first").to_dataframe()
    kinds = {"treated_vs_never": "treated vs untreated",
             "earlier_vs_later": "earlier vs later started", "later_vs_earlier": LATER}
    ours = {(r["type"], r["treated"], r["comparison"]): r
            for r in goodman_bacon(castle_panel())["comparisons"]}
    assert len(ours) == len(ref)
    for row in ref.itertuples():
        control = "untreated" if row.control_group == "never_treated" else str(row.control_group)
        mine = ours[(kinds[row.comparison_type], str(row.treated_group), control)]
        assert mine["estimate"] == pytest.approx(row.estimate, abs=1e-10)
        assert mine["weight"] == pytest.approx(row.weight, abs=1e-10)
    later = goodman_bacon(castle_panel())["later_vs_earlier_weight"]
    assert later == pytest.approx(0.024112408927951898, abs=1e-10)  # diff-diff 3.13


def test_twfe_on_staggered_starts_carries_the_decomposition() -> None:
    result = castle_result("twfe")
    bacon = result.diagnostics["goodman_bacon"]
    assert bacon["later_vs_earlier_weight"] == pytest.approx(0.0241, abs=1e-4)
    assert any("2% of this estimate's weight" in r for r in result.evidence["reasons"])
    assert "callaway-santanna" in " ".join(result.warnings)


def _waves(effect_cell: tuple[int, int] | None) -> pd.DataFrame:
    """Six areas start in period 1 of 8, six in period 6, one never: TWFE puts negative
    weight on the early cohort's late periods (de Chaisemartin & D'Haultfoeuille 2020). The
    outcome is 1 in the ``(start, period)`` cell only, else 0."""
    rows = []
    for unit in range(13):
        start = 1 if unit < 6 else 6 if unit < 12 else None
        for t in range(8):
            rows.append({"area": f"a{unit}", "period": 2000 + t,
                         "y": 1.0 if effect_cell == (start, t) else 0.0,
                         "first": "" if start is None else 2000 + start})
    return pd.DataFrame(rows)


def test_negative_weights_are_the_weights_twfe_uses(tmp_path: Path) -> None:
    def panel(cell: tuple[int, int] | None) -> Panel:
        path = tmp_path / f"w{cell}.csv"
        _waves(cell).to_csv(path, index=False)
        return load_panel(PanelSpec(data=path, area_col="area", period_col="period",
                                    outcome="y", first_treated_col="first"))

    negative = goodman_bacon(panel(None))["negative_weights"]
    assert negative["cells"], "the early cohort's last periods should carry negative weight"
    assert negative["total"] < 0
    for cell in negative["cells"]:
        start, period = int(cell["start"]) - 2000, int(cell["period"]) - 2000
        twfe = registry.estimate("did", panel((start, period)),
                                 {"design": "twfe", "inference": "cluster"})
        # y = 1 in that cell only: TWFE returns exactly the weight it puts on the cell
        assert twfe.estimate.att == pytest.approx(cell["weight"], abs=1e-12)
        assert cell["weight"] < 0
