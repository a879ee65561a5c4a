"""Provenance and the outcome's words: attached in one place (results/result.py) for the CLI
and config runs alike."""

from __future__ import annotations

from pathlib import Path

from lpip_eval.data.panel import PanelSpec, load_panel
from lpip_eval.methods.did import DidSpec, estimate_did
from lpip_eval.results.result import with_provenance

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "west_of_england"


def test_with_provenance_attaches_the_outcome_words_and_the_options() -> None:
    spec = PanelSpec(data=EXAMPLE / "pilot.csv", comparators=EXAMPLE / "comparators.csv",
                     outcome="employment_rate", start="2021Q3")
    panel = load_panel(spec)
    bare = estimate_did(panel, DidSpec(design="2x2", inference="cluster"))
    assert (bare.outcome_label, bare.outcome_unit, bare.provenance) == (None, None, None)
    result = with_provenance(bare, panel, spec, {"design": "2x2", "seed": 7},
                             command="lpip-eval did x", seed=7,
                             outcome_label="employment rate", outcome_unit="percentage points")
    data = result.to_dict()
    assert (data["outcome_label"], data["outcome_unit"]) == ("employment rate",
                                                              "percentage points")
    prov = data["provenance"]
    assert (prov["command"], prov["seed"]) == ("lpip-eval did x", 7)
    assert prov["options"]["data"] == str(EXAMPLE / "pilot.csv")
    assert prov["options"]["design"] == "2x2" and prov["options"]["start"] == "2021Q3"
    assert [Path(i["path"]).name for i in prov["inputs"]] == ["pilot.csv", "comparators.csv"]
    assert data["estimate"] == bare.to_dict()["estimate"]
    unlabelled = with_provenance(bare, panel, spec, {}, command="c", seed=None).to_dict()
    assert (unlabelled["outcome_label"], unlabelled["outcome_unit"]) == (None, None)
