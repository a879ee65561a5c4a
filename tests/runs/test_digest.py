"""The digest's reading and choosing: groups, one result per place, filters, the SE taken
from an interval (stated), duplicates refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lpip_eval.errors import DataError, UsageError
from lpip_eval.runs.digest import DigestOptions, build_digest, load_sources

SHA = {"a": "a" * 64, "b": "b" * 64, "c": "c" * 64}


def result(method: str, att: float, *, se: float | None = 0.2, width: float = 0.8,
           place: str = "a", level: int = 3, outcome: str = "employment_rate",
           unit: str | None = "pp") -> dict[str, Any]:
    """A minimal schema-valid result for the place ``place`` (its data hash)."""
    return {
        "schema_version": "1.0", "tool": {"name": "lpip-eval", "version": "0"},
        "method": method, "design": method, "outcome": outcome, "outcome_label": None,
        "outcome_unit": unit, "unit_col": "area", "time_col": "period",
        "treated_units": [f"E0{place}"], "comparison_units": ["X"], "treatment_start": "2021",
        "estimate": {"att": att, "se": se, "ci_low": att - width / 2,
                     "ci_high": att + width / 2, "ci_level": 0.95, "p_value": 0.01,
                     "inference": {"method": "cluster", "reason": "r", "details": {}}},
        "effects_by_period": [], "weights": [], "diagnostics": {},
        "evidence": {"level": level, "label": f"Level {level}", "reasons": []},
        "warnings": [],
        "provenance": {"inputs": [{"path": "p.csv", "sha256": SHA[place], "rows": 1}],
                       "command": f"lpip-eval {method} p.csv", "options": {}, "seed": 1,
                       "packages": {}},
    }


def digest(tmp_path: Path, results: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    paths = []
    for i, r in enumerate(results):
        path = tmp_path / f"r{i}.json"
        path.write_text(json.dumps(r))
        paths.append(path)
    return build_digest(load_sources(paths), [], DigestOptions(**options))


def rows(group: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [r for r in group["results"] if r["role"] == role]


def test_one_result_per_place_highest_evidence_then_narrowest(tmp_path: Path) -> None:
    out = digest(tmp_path, [result("did", 1.0, level=3, width=1.0),
                            result("synth", 2.0, level=3, width=0.5),
                            result("match", 3.0, level=2, width=0.1),
                            result("did", 1.5, place="b")])
    (group,) = out["groups"]
    assert group["k"] == 2
    chosen = {r["place"]: r["method"] for r in rows(group, "pooled")}
    assert sorted(chosen.values()) == ["did", "synth"]  # place a: synth (same level, narrower)
    assert len(rows(group, "alternative")) == 2
    assert all("one result per place" in r["reason"] for r in rows(group, "alternative"))
    prefer = digest(tmp_path, [result("did", 1.0), result("synth", 2.0, width=0.5),
                               result("did", 1.5, place="b")], prefer="did")
    assert {r["method"] for r in rows(prefer["groups"][0], "pooled")} == {"did"}


def test_groups_never_averaged_across_outcomes(tmp_path: Path) -> None:
    out = digest(tmp_path, [result("did", 1.0), result("did", 2.0, place="b"),
                            result("did", -0.3, outcome="claimant_rate"),
                            result("did", 5.0, place="c", unit="people")])
    keys = [(g["outcome"], g["unit"], g["k"]) for g in out["groups"]]
    assert keys == [("claimant_rate", "pp", 1), ("employment_rate", "people", 1),
                    ("employment_rate", "pp", 2)]
    assert "pooled" not in out  # several groups: nothing at top level
    pooled = out["groups"][2]["pooled"]
    assert 1.0 < pooled["estimate"] < 2.0
    assert out["groups"][0]["pooled"] is None


def test_filters_leave_out_with_reason(tmp_path: Path) -> None:
    out = digest(tmp_path, [result("did", 1.0, level=2), result("synth", 2.0, place="b"),
                            result("did", 1.5, place="c")], min_evidence=3)
    (group,) = out["groups"]
    (left,) = rows(group, "left out")
    assert "below --min-evidence 3" in left["reason"]
    assert group["k"] == 2 and out["pooled"]["estimate"] == group["pooled"]["estimate"]
    only = digest(tmp_path, [result("did", 1.0), result("synth", 2.0, place="b")],
                  methods=("synth",))
    assert [r["method"] for r in rows(only["groups"][0], "pooled")] == ["synth"]


def test_se_from_interval_stated_or_left_out(tmp_path: Path) -> None:
    data = [result("did", 1.0, se=None, width=2 * 1.959964), result("did", 2.0, place="b")]
    out = digest(tmp_path, data)
    (row,) = [r for r in rows(out["groups"][0], "pooled") if r["estimate"] == 1.0]
    assert row["se"] == pytest.approx(1.0, abs=1e-6)
    assert "(high - low) / (2 x 1.960)" in row["se_source"]
    assert any("standard error from the 95% interval" in w for w in out["groups"][0]["warnings"])
    off = digest(tmp_path, data, se_from_interval=False)
    (left,) = rows(off["groups"][0], "left out")
    assert "no standard error" in left["reason"]
    assert off["groups"][0]["pooled"] is None and off["groups"][0]["k"] == 1


def test_duplicates_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="the same evaluation twice"):
        digest(tmp_path, [result("did", 1.0), result("did", 1.0)])


def test_bad_options_and_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="pooling"):
        digest(tmp_path, [result("did", 1.0)], pooling="bayes")
    with pytest.raises(UsageError, match="group-by"):
        digest(tmp_path, [result("did", 1.0)], group_by=("colour",))
    bad = tmp_path / "bad.json"
    bad.write_text('{"method": "did"}')
    with pytest.raises(DataError, match="not an lpip-eval result"):
        load_sources([bad])


def test_provenance_kept(tmp_path: Path) -> None:
    out = digest(tmp_path, [result("did", 1.0), result("did", 2.0, place="b")])
    for row in out["groups"][0]["results"]:
        assert row["provenance"]["command"] == "lpip-eval did p.csv"
        assert len(row["provenance"]["sha256"]) == 64
        assert row["provenance"]["file"].endswith(".json")
