"""HonestDiD sensitivity wired into the DiD designs (issue 11, item 3): options, JSON shape,
the few-treated-areas rule.

Numbers: the HonestDiD README's Medicaid example (``tests/reference/ehec_data.csv``, source
in ``tests/reference/SOURCE.md``), first post period: original CI [0.028510, 0.064384]
(to 1e-6); smoothness M = 0.01 -> [0.0132, 0.0787] (to 1e-4); relative magnitudes Mbar = 1
-> [0.0171, 0.0720] (to 1.5e-3, C-LF is grid-based); breakdowns M in [0.022, 0.024], Mbar in
[1.9, 2.0].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lpip_eval.cli.options import spec_value
from lpip_eval.data.panel import Panel, PanelSpec, panel_from_frame
from lpip_eval.methods import did
from lpip_eval.methods.sensitivity import honest
from lpip_eval.methods.specs import DidSpec, OptionError, StaggeredSpec

EHEC = Path(__file__).parents[1] / "reference" / "ehec_data.csv"


def _medicaid(keep_treated: int | None = None) -> Panel:
    frame = pd.read_csv(EHEC)
    frame = frame[(frame.year < 2016) & (frame.yexp2.isna() | (frame.yexp2 != 2015))]
    frame = frame.assign(D=(frame.yexp2 == 2014).astype(int))
    if keep_treated is not None:
        treated = sorted(frame.loc[frame.D == 1, "stfips"].unique())
        frame = frame[(frame.D == 0) | frame.stfips.isin(treated[:keep_treated])]
    return panel_from_frame(frame, PanelSpec(data=EHEC, area_col="stfips", period_col="year",
                                             outcome="dins", treated_col="D", start="2014"),
                            source="ehec")


def test_event_study_sensitivity_json() -> None:
    spec = DidSpec(design="event-study", inference="cluster",
                   sensitivity=("smoothness", "relative-magnitudes"), sensitivity_m=(0.01,),
                   sensitivity_mbar=(1.0,), sensitivity_target="first")
    result = did.estimate_did(_medicaid(), spec)
    smooth, relative = result.diagnostics["sensitivity"]
    assert smooth["method"] == "smoothness" and relative["method"] == "relative-magnitudes"
    assert smooth["target"] == "first"
    assert smooth["original"]["ci_low"] == pytest.approx(0.028510, abs=1e-6)
    assert smooth["original"]["ci_high"] == pytest.approx(0.064384, abs=1e-6)
    (row,) = smooth["rows"]
    assert row["m"] == 0.01
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.0132, 0.0787), abs=1e-4)
    (row,) = relative["rows"]
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.0171, 0.0720), abs=1.5e-3)
    assert 0.022 <= smooth["breakdown"] <= 0.024
    assert 1.9 <= relative["breakdown"] <= 2.0
    assert not any("sensitivity" in w for w in result.warnings)


def test_default_grids_and_average_target() -> None:
    rows, notes = honest.analyse((-2, 0, 1), np.array([0.0, 0.05, 0.07]),
                                 np.diag([1e-4, 1e-4, 1e-4]), honest.Request(), n_treated=20)
    assert notes == []
    smooth, relative = rows
    assert smooth["target"] == "average" and smooth["target_periods"] == [0, 1]
    assert smooth["original"]["ci_low"] == pytest.approx(0.06 - 1.959964 * 0.01 / np.sqrt(2),
                                                         abs=1e-6)
    assert [r["m"] for r in relative["rows"]] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert [r["m"] for r in smooth["rows"]] == pytest.approx(
        [k * 0.01 / np.sqrt(2) for k in (0, 0.5, 1, 1.5, 2)])


def test_few_treated_areas_only_when_asked_with_caveat() -> None:
    panel = _medicaid(keep_treated=5)
    quiet = did.estimate_did(panel, DidSpec(design="event-study", inference="cluster"))
    assert "sensitivity" not in quiet.diagnostics
    asked = did.estimate_did(panel, DidSpec(design="event-study", inference="cluster",
                                            sensitivity=("smoothness",)))
    assert [s["method"] for s in asked.diagnostics["sensitivity"]] == ["smoothness"]
    assert any("only 5 treated areas" in w for w in asked.warnings)


def test_none_turns_it_off() -> None:
    rows, notes = honest.analyse((-2, 0), np.zeros(2), np.eye(2), honest.Request(("none",)),
                                 n_treated=50)
    assert rows == [] and notes == []


def test_gaps_in_event_times_are_refused_in_words() -> None:
    rows, notes = honest.analyse((-3, 0, 1), np.zeros(3), np.eye(3),
                                 honest.Request(("smoothness",)), n_treated=50)
    assert rows == [] and "not consecutive" in notes[0]


@pytest.mark.parametrize("kwargs", [
    {"design": "twfe", "sensitivity": ("smoothness",)},
    {"design": "event-study", "sensitivity": ("smooth",)},
    {"design": "event-study", "sensitivity_m": (-0.1,)},
    {"design": "event-study", "sensitivity_target": "last"},
])
def test_bad_sensitivity_options(kwargs: dict[str, object]) -> None:
    with pytest.raises(OptionError):
        DidSpec(**kwargs)  # type: ignore[arg-type]


def test_staggered_spec_takes_the_options() -> None:
    spec = StaggeredSpec(design="sun-abraham", sensitivity=("relative-magnitudes",),
                         sensitivity_mbar=(0.5, 1.0))
    assert honest.request_of(spec).mbar == (0.5, 1.0)


def test_cli_number_lists() -> None:
    assert spec_value(tuple[float, ...], "0, 0.01,0.02") == (0.0, 0.01, 0.02)
    assert spec_value(tuple[float, ...], "0,x") == (0.0, "x")  # the spec check names it


def _mpdta() -> Panel:
    path = Path(__file__).parents[1] / "reference" / "mpdta.csv"
    return panel_from_frame(pd.read_csv(path),
                            PanelSpec(data=path, area_col="countyreal", period_col="year",
                                      outcome="lemp", first_treated_col="first.treat"),
                            source="mpdta")


def test_callaway_santanna_needs_a_universal_base_period() -> None:
    # R HonestDiD's honest_did for aggte event studies assumes a universal base period.
    varying = did.estimate_did(_mpdta(), DidSpec(design="callaway-santanna",
                                                 inference="cluster",
                                                 sensitivity=("smoothness",)))
    assert "sensitivity" not in varying.diagnostics
    assert any("--base-period universal" in w for w in varying.warnings)
    universal = did.estimate_did(_mpdta(), DidSpec(
        design="callaway-santanna", inference="cluster", base_period="universal",
        sensitivity=("smoothness",), sensitivity_m=(0.0,)))
    (entry,) = universal.diagnostics["sensitivity"]
    assert entry["target_periods"] == [0, 1, 2, 3]  # mpdta event times 0..3 after the start
    # the average of the dynamic effects (R did, universal base: -0.0772 overall dynamic)
    mid = (entry["original"]["ci_low"] + entry["original"]["ci_high"]) / 2
    assert mid == pytest.approx(-0.0772398215, abs=1e-6)
