"""Outputs never cost a user their data, and are written all or none (issue 10, items 1-3, 10).

- an output path that is an input (data, comparators, config, result file) is refused, exit 2;
- two outputs on one path, two on stdout, or an empty path: exit 2;
- a failure after estimation (missing folder, a folder as the path, an e-mail over its size
  limit, a full disk, no permission) leaves no output behind: one ``Error:`` line, exit 3;
- in ``run``, an output that cannot be made is reported in index.json and the summary, and
  the other outputs are still written.
"""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from cli_runner import run_cli

from lpip_eval.errors import EXIT_DATA, EXIT_USAGE

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "west_of_england"
EX = ["pilot.csv", "--comparators", "comparators.csv", "--outcome", "employment_rate",
      "--start", "2021Q3", "--draws", "99"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("pilot.csv", "comparators.csv"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    return tmp_path


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _one_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize("outputs", [["--json", "pilot.csv"], ["--json", "./pilot.csv"],
                                     ["--markdown", "comparators.csv"],
                                     ["--report", "../" + "{name}/pilot.csv"]])
def test_an_output_that_is_an_input_is_refused(folder: Path, outputs: list[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = [o.replace("{name}", folder.name) for o in outputs]
    before = _hashes(folder)
    code, _, stderr = run_cli(["did", *EX, *outputs], folder, monkeypatch)
    assert code == EXIT_USAGE
    assert "is an input file" in _one_error(stderr)
    assert _hashes(folder) == before


def test_report_command_never_overwrites_its_result(folder: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, stderr = run_cli(["did", *EX, "--json", "r.json", "--quiet"], folder, monkeypatch)
    assert code == 0, stderr
    before = _hashes(folder)
    code, _, stderr = run_cli(["report", "r.json", "--markdown", "r.json"], folder, monkeypatch)
    assert code == EXIT_USAGE and "is an input file" in _one_error(stderr)
    assert _hashes(folder) == before


def test_init_never_overwrites_its_data(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _hashes(folder)
    code, _, stderr = run_cli(["init", "pilot.csv", "-o", "pilot.csv", "--force"], folder,
                              monkeypatch)
    assert code == EXIT_USAGE and "is an input file" in _one_error(stderr)
    assert _hashes(folder) == before


@pytest.mark.parametrize("output", ['report = "pilot.csv"', 'markdown = "evaluation.toml"',
                                    'markdown = "index.json"'])
def test_config_outputs_never_overwrite_inputs(folder: Path, output: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    (folder / "evaluation.toml").write_text(
        '[data]\nfile = "pilot.csv"\ncomparators = "comparators.csv"\nstart = "2021Q3"\n'
        '[[outcome]]\ncolumn = "employment_rate"\n[did]\ndesign = "2x2"\n'
        f'[output]\ndir = "."\n{output}\n')
    before = _hashes(folder)
    code, _, stderr = run_cli(["run", "evaluation.toml"], folder, monkeypatch)
    assert code == EXIT_USAGE
    line = _one_error(stderr)
    assert "[output]" in line and ("is an input file" in line or "both write" in line)
    assert _hashes(folder) == before


@pytest.mark.parametrize(("outputs", "says"), [
    (["--json", "-", "--markdown", "-"], "both write to stdout"),
    (["--json", "same.out", "--report", "same.out"], "both write same.out"),
    (["--json", ""], "--json is an empty path"),
])
def test_output_collisions_are_usage_errors(folder: Path, outputs: list[str], says: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    before = _hashes(folder)
    code, stdout, stderr = run_cli(["did", *EX, *outputs], folder, monkeypatch)
    assert code == EXIT_USAGE and says in _one_error(stderr)
    assert stdout == "" and _hashes(folder) == before


@pytest.mark.parametrize("outputs", [
    ["--report", "nodir/r.html"],
    ["--report", "afolder"],
    ["--eml", "r.eml", "--title", "T" * 120_000],
])
def test_a_failure_after_estimation_leaves_no_output(folder: Path, outputs: list[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (folder / "afolder").mkdir()
    before = _hashes(folder)
    code, _, stderr = run_cli(["did", *EX, "--json", "o.json", "--markdown", "o.md",
                               *outputs], folder, monkeypatch)
    assert code == EXIT_DATA
    _one_error(stderr)
    assert _hashes(folder) == before  # no o.json, o.md, nor a temporary file


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EACCES])
def test_disk_full_or_no_permission_is_one_error_line(folder: Path, err: int,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The second file fails to write: the first is not left behind either."""
    import os

    from lpip_eval import files

    real = files._staged
    calls: list[str] = []

    def failing(path: str, data: str | bytes) -> str:
        calls.append(path)
        if len(calls) == 2:
            raise files._write_error(path, OSError(err, os.strerror(err)))
        return real(path, data)

    monkeypatch.setattr(files, "_staged", failing)
    before = _hashes(folder)
    code, _, stderr = run_cli(["did", *EX, "--json", "o.json", "--markdown", "o.md"], folder,
                              monkeypatch)
    assert code == EXIT_DATA
    assert "cannot be written" in _one_error(stderr)
    assert _hashes(folder) == before


def test_report_of_a_deeply_nested_file_is_one_error_line(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    code, _, stderr = run_cli(["report", "deep.json", "--markdown", "o.md"], tmp_path,
                              monkeypatch)
    assert code == EXIT_DATA and "nested too deeply" in _one_error(stderr)
    assert not (tmp_path / "o.md").exists()


def test_run_writes_the_rest_when_one_output_fails(folder: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The combined e-mail over its size limit: index, report, summary, JSONs still written,
    the failure named in them, and the exit code says so."""
    (folder / "evaluation.toml").write_text(
        f'title = "{"T" * 120_000}"\n'
        '[data]\nfile = "pilot.csv"\ncomparators = "comparators.csv"\nstart = "2021Q3"\n'
        '[[outcome]]\ncolumn = "employment_rate"\n[run]\ndraws = 99\n[did]\ndesign = "2x2"\n'
        '[output]\ndir = "out"\nreport = "report.html"\neml = "report.eml"\n')
    code, _, stderr = run_cli(["run", "evaluation.toml", "--quiet"], folder, monkeypatch)
    assert code == EXIT_DATA, stderr
    assert "report.eml was not written" in stderr
    out = folder / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "employment_rate-did.json", "index.json", "report.html", "summary.md"]
    index = json.loads((out / "index.json").read_text())
    assert index["exit_code"] == EXIT_DATA
    assert [e["file"] for e in index["output_errors"]] == ["report.eml"]
    assert "report.eml" in (out / "summary.md").read_text()
