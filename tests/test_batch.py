"""Batch runs: deterministic files, failures recorded while the others run, exit codes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from lpip_eval.batch import BatchResult, run_evaluation
from lpip_eval.config import load_config
from lpip_eval.errors import EXIT_DATA, EXIT_DESIGN, EXIT_OK
from lpip_eval.output import load_results

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "west_of_england"
DID_ONLY = """\
title = "Batch test"

[data]
file = "pilot.csv"
comparators = "comparators.csv"
start = "2021Q3"

[[outcome]]
column = "employment_rate"
label = "employment rate"
unit = "percentage points"

{outcomes}
[run]
seed = 5
draws = 99
{run}
[did]
design = "twfe"

[output]
report = false
"""


def copy_example(folder: Path, config: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("pilot.csv", "comparators.csv"):
        shutil.copy(EXAMPLE / name, folder / name)
    path = folder / "evaluation.toml"
    if config is None:
        shutil.copy(EXAMPLE / "evaluation.toml", path)
    else:
        path.write_text(config, encoding="utf-8")
    return path


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def example_runs(tmp_path_factory: pytest.TempPathFactory
                 ) -> tuple[BatchResult, Path, list[dict[str, bytes]]]:
    """The example config run twice from one folder, with one relative config path (so that
    provenance matches too): the first batch, its config path, both runs' files."""
    base = tmp_path_factory.mktemp("example")
    outputs: list[dict[str, bytes]] = []
    batches = []
    here = Path.cwd()
    os.chdir(base)
    try:
        for run in ("first", "second"):
            copy_example(base / "work")
            batches.append(run_evaluation(load_config(Path("work/evaluation.toml")),
                                          progress=False))
            outputs.append(files_of(base / "work" / "lpip-eval-output"))
            shutil.move(base / "work", base / run)
    finally:
        os.chdir(here)
    return batches[0], base / "first", outputs


def test_two_runs_of_the_example_config_are_byte_identical(
        example_runs: tuple[BatchResult, Path, list[dict[str, bytes]]]) -> None:
    first, second = example_runs[2]
    assert sorted(first) == [
        "claimant_rate-did.json", "claimant_rate-match.json", "employment_rate-did.json",
        "employment_rate-match.json", "index.json", "report.eml", "report.html", "summary.md"]
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], f"{name} differs between two runs"


def test_example_outputs(example_runs: tuple[BatchResult, Path, list[dict[str, bytes]]]
                         ) -> None:
    batch, folder, _ = example_runs
    assert batch.exit_code == EXIT_OK
    out = folder / "lpip-eval-output"
    # every per-evaluation JSON is a valid result
    results = load_results(sorted(out.glob("*-*.json")))
    assert {(r["outcome"], r["method"]) for r in results} == {
        (o, m) for o in ("employment_rate", "claimant_rate") for m in ("did", "match")}
    index = json.loads((out / "index.json").read_text())
    assert index["config"] == "work/evaluation.toml" and index["exit_code"] == EXIT_OK
    assert [(e["outcome"], e["method"], e["status"]) for e in index["evaluations"]] == [
        ("employment_rate", "did", "ok"), ("employment_rate", "match", "ok"),
        ("claimant_rate", "did", "ok"), ("claimant_rate", "match", "ok")]
    assert [e["outcome"] for e in index["triangulation"]["outcomes"]] == [
        "employment_rate", "claimant_rate"]
    did = json.loads((out / "employment_rate-did.json").read_text())
    assert did["outcome_label"] == "employment rate"
    assert did["provenance"]["command"] == "lpip-eval run work/evaluation.toml"
    assert [i["path"] for i in did["provenance"]["inputs"]] == [
        "work/pilot.csv", "work/comparators.csv"]
    assert did["provenance"]["options"]["seed"] == 20240101
    match = json.loads((out / "employment_rate-match.json").read_text())
    assert match["provenance"]["options"]["categoricals"] == ["region", "urban_rural"]
    summary = (out / "summary.md").read_text()
    assert summary == batch.summary
    assert summary.startswith("# West of England skills pilot (simulated data)\n\n"
                              "**All 4 evaluations ran.** Exit code 0.")
    assert "percentage points | 95%: " in summary
    assert "## Designs compared" in summary


def test_a_broken_outcome_is_reported_and_the_others_still_run(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    path = copy_example(folder, DID_ONLY.format(
        outcomes='[[outcome]]\ncolumn = "area_name"\n\n[[outcome]]\ncolumn = "claimant_rate"\n',
        run=""))
    out = folder / "lpip-eval-output"
    out.mkdir()
    (out / "area_name-did.json").write_text("{}")  # a stale result of an earlier run
    batch = run_evaluation(load_config(path), progress=False)
    assert batch.exit_code == EXIT_DATA
    assert sorted(p.name for p in out.iterdir()) == [
        "claimant_rate-did.json", "employment_rate-did.json", "index.json", "summary.md"]
    index = json.loads((out / "index.json").read_text())
    broken = index["evaluations"][1]
    assert broken["status"] == "failed" and broken["exit_code"] == EXIT_DATA
    assert broken["file"] is None and broken["estimate"] is None
    assert "'area_name'" in broken["error"]
    assert [e["status"] for e in index["evaluations"]] == ["ok", "failed", "ok"]
    summary = batch.summary
    assert "2 of 3 evaluations ran; 1 failed." in summary
    assert f"- area_name x did (exit 3): {broken['error']}" in summary


def test_exit_code_is_the_highest_of_the_failures(tmp_path: Path) -> None:
    config = DID_ONLY.format(outcomes='[[outcome]]\ncolumn = "area_name"\n', run="")
    # ci_level 1.5 passes the config (it is the design's own check) and fails with exit 4
    config = config.replace('design = "twfe"', 'design = "twfe"\nci_level = 1.5')
    batch = run_evaluation(load_config(copy_example(tmp_path / "mixed", config)),
                           progress=False)
    assert [e.exit_code for e in batch.evaluations] == [EXIT_DESIGN, EXIT_DATA]
    assert batch.exit_code == EXIT_DESIGN
    assert batch.results == []
    assert not (tmp_path / "mixed" / "lpip-eval-output" / "report.html").exists()


def test_progress_lines_when_stderr_is_not_a_terminal(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    config = DID_ONLY.format(outcomes='[[outcome]]\ncolumn = "claimant_rate"\n', run="")
    path = copy_example(tmp_path / "log", config)
    run_evaluation(load_config(path), progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "[1/2] employment_rate x did: done", "[2/2] claimant_rate x did: done"]
    assert all(line.endswith(" s)") for line in lines)
    run_evaluation(load_config(path), progress=False)
    assert capsys.readouterr().err == ""


def test_parallel_workers_give_the_same_files(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    found = []
    for workers in (1, 2):
        config = DID_ONLY.format(outcomes='[[outcome]]\ncolumn = "claimant_rate"\n',
                                 run=f"workers = {workers}\n")
        copy_example(tmp_path / "w", config)
        batch = run_evaluation(load_config(Path("w/evaluation.toml")), progress=False)
        assert batch.exit_code == EXIT_OK
        found.append(files_of(tmp_path / "w" / "lpip-eval-output"))
        shutil.rmtree(tmp_path / "w")
    assert found[0] == found[1]


def test_json_off_and_no_markdown(tmp_path: Path) -> None:
    config = DID_ONLY.format(outcomes="", run="").replace(
        "report = false", "report = false\njson = false\nmarkdown = false\ndir = \"out/x\"")
    batch = run_evaluation(load_config(copy_example(tmp_path / "j", config)), progress=False)
    out = tmp_path / "j" / "out" / "x"
    assert [p.name for p in out.iterdir()] == ["index.json"]
    index = json.loads((out / "index.json").read_text())
    assert index["evaluations"][0]["file"] is None
    assert batch.files == (out / "index.json",)


def test_ci_workflow_runs_the_example_config() -> None:
    workflow = (ROOT / "examples" / "ci" / "lpip-eval.yml").read_text(encoding="utf-8")
    for needed in ("schedule:", "workflow_dispatch:", 'python-version: "3.11"',
                   "pip install .", 'lpip-eval run "$CONFIG"', "actions/upload-artifact@v4",
                   'GITHUB_STEP_SUMMARY', 'exit "${{ steps.run.outputs.exit_code || 1 }}"',
                   "CONFIG: examples/west_of_england/evaluation.toml",
                   "OUTPUT_DIR: examples/west_of_england/lpip-eval-output"):
        assert needed in workflow, needed
    config = load_config(EXAMPLE / "evaluation.toml")  # the path the workflow runs
    assert config.output.dir == EXAMPLE / "lpip-eval-output"
    assert config.output.markdown == "summary.md"
