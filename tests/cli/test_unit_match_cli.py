"""``lpip-eval match --design nnmatch``: unit-level matching from the command line.

The numbers are Stata 18's ``teffects nnmatch (re78 $X) (treat), atet ...`` on
``tests/reference/nsw_dw_simulated.csv`` (see ``test_nnmatch_teffects.py`` and
``reference/SOURCE.md``); tolerance relative 1e-10. The rest is the CLI contract: JSON valid
against the schema, reports that list no unit ids, one-line errors with exit codes, no
output file after a failure, and the user's file untouched.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from cli_runner import check_error_line, run_cli

from lpip_eval.errors import EXIT_DATA, EXIT_DESIGN, EXIT_USAGE, DesignError
from lpip_eval.methods.match.areas import MatchSpec, estimate_match
from lpip_eval.methods.registry import result_schema

REF = Path(__file__).resolve().parents[1] / "reference" / "nsw_dw_simulated.csv"
X = "age,education,black,hispanic,married,nodegree,re74,re75"
BASE = ["match", "units.csv", "--design", "nnmatch", "--treated-col", "treat",
        "--outcome", "re78", "--match-on", X]
RTOL = 1e-10


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(REF, tmp_path / "units.csv")
    return tmp_path


def _json(workdir: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> dict[str, object]:
    code, out, err = run_cli([*BASE, *extra, "--json", "-"], workdir, monkeypatch)
    assert code == 0, err
    document = json.loads(out)
    jsonschema.validate(document, result_schema())
    return document


@pytest.mark.parametrize(("extra", "b", "se"), [
    ((), 367.727172023548, 1165.576724477436),
    (("--bias-adjust",), 568.373267898747, 1160.307963109378),
    (("--distance", "ivariance", "--k", "3"), -359.892578304576, 1175.831351008482),
    (("--distance", "euclidean"), 189.596500603699, 1287.388173524406),
    (("--vce-nn", "0"), 367.727172023548, 1610.429926881280),
    (("--vce-nn", "4"), 367.727172023548, 1306.385305024590),
], ids=["atet", "biasadj", "ivariance-nn3", "euclidean", "vce-iid", "vce-nn4"])
def test_cli_equals_teffects(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                             extra: tuple[str, ...], b: float, se: float) -> None:
    doc = _json(workdir, monkeypatch, *extra)
    est = doc["estimate"]
    assert isinstance(est, dict)
    assert est["att"] == pytest.approx(b, rel=RTOL)
    assert est["se"] == pytest.approx(se, rel=RTOL)
    assert est["ci_low"] == pytest.approx(b - 1.959963984540054 * se, rel=1e-9)
    assert est["inference"]["method"] == "abadie-imbens"


def test_result_contents(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = _json(workdir, monkeypatch, "--outcome-unit", "dollars")
    assert doc["method"] == "match" and doc["time_col"] == "" and doc["unit_col"] == "row"
    assert doc["treatment_start"] is None
    assert len(doc["treated_units"]) == 185 and doc["treated_units"][0] == "row 2"
    weights = {w["unit"]: w["weight"] for w in doc["weights"]}  # type: ignore[union-attr]
    assert sorted(weights) == sorted(doc["comparison_units"])  # type: ignore[arg-type]
    assert sum(weights.values()) == pytest.approx(185.0)  # each treated unit spreads 1
    assert doc["evidence"]["level"] == 2  # type: ignore[index]
    balance = doc["diagnostics"]["balance"]  # type: ignore[index]
    assert balance["n_treated_after"] == 185
    assert balance["n_comparison_after"] == len(weights)
    assert doc["provenance"]["options"]["design"] == "nnmatch"  # type: ignore[index]


def test_id_column_names_the_units(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.read_csv(workdir / "units.csv")
    frame.insert(0, "person", [f"P{i:05d}" for i in range(len(frame))])
    frame.to_csv(workdir / "people.csv", index=False)
    code, out, err = run_cli(["match", "people.csv", *BASE[2:], "--area-col", "person",
                              "--json", "-"], workdir, monkeypatch)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["unit_col"] == "person" and doc["treated_units"][:2] == ["P00000", "P00001"]
    assert doc["estimate"]["att"] == pytest.approx(367.727172023548, rel=RTOL)


def test_reports_list_no_unit_ids(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = hashlib.sha256((workdir / "units.csv").read_bytes()).hexdigest()
    code, out, err = run_cli([*BASE, "--report", "r.html", "--markdown", "r.md",
                              "--eml", "r.eml"], workdir, monkeypatch)
    assert code == 0, err
    assert "Treated: 185 units" in out and "matched with 42 untreated units" in out
    html = (workdir / "r.html").read_text(encoding="utf-8")
    markdown = (workdir / "r.md").read_text(encoding="utf-8")
    for text in (html, markdown):
        assert "185 treated unit" in text and "42 matched untreated unit" in text
        assert "row 1956" not in text  # the most-used match: ids stay in the JSON only
        assert "Level 2 of 5" in text
        assert "Parallel trends" not in text
    assert "<script" not in html.lower()
    assert hashlib.sha256((workdir / "units.csv").read_bytes()).hexdigest() == before


ERRORS = [
    ("treatment-not-binary", {"treat": 2}, (), EXIT_DATA, ("'treat'", "'2'", "row 2")),
    ("empty-matching-value", {"age": None}, (), EXIT_DATA, ("'age'", "empty", "row 2")),
    ("text-in-outcome", {"re78": "n/a"}, (), EXIT_DATA, ("'re78'", "'n/a'", "row 2")),
    ("column-typo", None, ("--match-on", "agee,education"), EXIT_DATA,
     ("'agee'", "did you mean 'age'")),
    ("everyone-treated", "all-treated", (), EXIT_DESIGN, ("'treat'", "every unit")),
    ("constant-variable", "constant", (), EXIT_DESIGN, ("'hispanic'", "same value")),
    ("exact-without-partner", "exact", ("--exact", "group"), EXIT_DESIGN,
     ("no untreated unit", "group")),
    ("duplicate-ids", "dup-ids", ("--area-col", "person"), EXIT_DATA,
     ("'person'", "repeats", "rows 2, 3")),
]


@pytest.mark.parametrize(("name", "change", "extra", "code", "mentions"), ERRORS,
                         ids=[e[0] for e in ERRORS])
def test_bad_input_gets_one_line(workdir: Path, monkeypatch: pytest.MonkeyPatch, name: str,
                                 change: object, extra: tuple[str, ...], code: int,
                                 mentions: tuple[str, ...]) -> None:
    frame = pd.read_csv(workdir / "units.csv")
    if isinstance(change, dict):
        frame = frame.astype(object)
        for column, value in change.items():
            frame.loc[0, column] = value
    elif change == "all-treated":
        frame["treat"] = 1
    elif change == "constant":
        frame["hispanic"] = 0
    elif change == "exact":
        frame["group"] = "a"
        frame.loc[0, "group"] = "b"  # a treated unit alone in its group
    elif change == "dup-ids":
        frame.insert(0, "person", range(len(frame)))
        frame.loc[1, "person"] = 0
    frame.to_csv(workdir / "units.csv", index=False)
    exit_code, _, err = run_cli([*BASE, *extra, "--json", "out.json"], workdir, monkeypatch)
    assert exit_code == code, err
    check_error_line(err, files=("units.csv",), mentions=mentions)
    assert not (workdir / "out.json").exists()


@pytest.mark.parametrize("extra", [("--caliper", "0.5"), ("--cem",),
                                   ("--distance", "propensity")])
def test_area_only_options_are_usage_errors(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                                            extra: tuple[str, ...]) -> None:
    exit_code, _, err = run_cli([*BASE, *extra], workdir, monkeypatch)
    assert exit_code == EXIT_USAGE
    assert "Traceback" not in err


def test_area_matching_refuses_the_unit_design() -> None:
    with pytest.raises(DesignError, match="unit-level"):
        estimate_match(None, MatchSpec(design="nnmatch"))  # type: ignore[arg-type]
    with pytest.raises(DesignError, match="nnmatch"):
        estimate_match(None, MatchSpec(bias_adjust=True))  # type: ignore[arg-type]


CONFIG = """
[data]
file = "units.csv"
treated_col = "treat"
{data_extra}

[[outcome]]
column = "re78"
unit = "dollars"

[match]
design = "nnmatch"
match_on = ["age", "education", "black", "hispanic", "married", "nodegree", "re74", "re75"]
bias_adjust = true
{match_extra}
{other}
[output]
dir = "out"
markdown = "summary.md"
report = "report.html"
"""


def _config(workdir: Path, data_extra: str = "", match_extra: str = "", other: str = "") -> str:
    (workdir / "eval.toml").write_text(CONFIG.format(data_extra=data_extra,
                                                     match_extra=match_extra, other=other),
                                       encoding="utf-8")
    return "eval.toml"


def test_config_runs_the_unit_design(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run_cli(["run", _config(workdir)], workdir, monkeypatch)
    assert code == 0, err
    doc = json.loads((workdir / "out" / "re78-match.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, result_schema())
    assert doc["estimate"]["att"] == pytest.approx(568.373267898747, rel=RTOL)  # biasadj($X)
    assert doc["estimate"]["se"] == pytest.approx(1160.307963109378, rel=RTOL)
    assert doc["provenance"]["inputs"][0]["rows"] == 2675
    assert "row 1956" not in (workdir / "out" / "report.html").read_text(encoding="utf-8")
    assert "| 2 of 5 | ok |" in (workdir / "out" / "summary.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(("extra", "code", "mentions"), [
    ({"data_extra": 'start = "2020"'}, EXIT_DATA, ("'start'", "nnmatch")),
    ({"other": '[did]\ndesign = "twfe"\n'}, EXIT_DATA, ("[did]", "one row per unit")),
    ({"match_extra": "caliper = 0.5"}, EXIT_USAGE, ("'caliper'", "nnmatch")),
], ids=["start", "area-design-beside", "caliper"])
def test_config_mistakes(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                         extra: dict[str, str], code: int, mentions: tuple[str, ...]) -> None:
    exit_code, _, err = run_cli(["run", _config(workdir, **extra)], workdir, monkeypatch)
    assert exit_code == code, err
    assert "Traceback" not in err
    for item in mentions:
        assert item in err, err
