"""``lpip-eval did`` end to end: the README command, JSON to stdout and to a file (atomic,
deterministic), provenance, ``--help`` / ``--version``, and a fast, light ``--help``.

Subprocesses run the installed console script (next to this interpreter) where the real
process matters (argv in provenance, stdout/stderr separation, imports); the rest uses
Typer's in-process CliRunner.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import subprocess
import sys
from functools import cache
from importlib.metadata import version
from pathlib import Path

import pytest
from schema_check import assert_valid
from typer.testing import CliRunner

import lpip_eval
from lpip_eval.cli.commands import app

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "west_of_england"
# The command in examples/west_of_england/README.md ("Example command"), run from the repo root.
README_ARGS = ["did", "examples/west_of_england/pilot.csv",
               "--comparators", "examples/west_of_england/comparators.csv",
               "--outcome", "employment_rate", "--start", "2021Q3"]
HEAVY = ("pandas", "statsmodels", "matplotlib", "numpy", "scipy")  # imported lazily by the CLI


def _script() -> str:
    found = shutil.which("lpip-eval", path=str(Path(sys.executable).parent))
    assert found, "the lpip-eval console script is not installed next to this Python"
    return found


def _run(args: list[str], cwd: Path, *, script: bool = True) -> subprocess.CompletedProcess[str]:
    command = [_script(), *args] if script else [sys.executable, "-m", "lpip_eval", *args]
    env = {"PATH": str(Path(sys.executable).parent), "NO_COLOR": "1", "LC_ALL": "C.UTF-8",
           "PYTHONIOENCODING": "utf-8", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def _option_pairs(words: list[str]) -> list[tuple[str, ...]]:
    """Positional words and (option, value) pairs, order-insensitive."""
    pairs: list[tuple[str, ...]] = []
    i = 0
    while i < len(words):
        if words[i].startswith("--") and i + 1 < len(words):
            pairs.append((words[i], words[i + 1]))
            i += 2
        else:
            pairs.append((words[i],))
            i += 1
    return sorted(pairs)


@cache
def _readme_run() -> subprocess.CompletedProcess[str]:
    return _run(README_ARGS, REPO)


def test_readme_example_prints_the_table() -> None:
    proc = _readme_run()
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Two-way fixed effects difference-in-differences" in out
    assert "effect on employment_rate" in out
    for header in ("estimate", "std. error", "95% interval", "p-value"):
        assert header in out
    assert "Treated: 4 areas" in out and "compared with 36 areas" in out
    assert "Inference: randomization" in out
    assert "\x1b[" not in out  # no colour codes when stdout is not a terminal
    assert "Error" not in proc.stderr and "Traceback" not in proc.stderr


def test_json_to_stdout_is_only_valid_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(app, [*README_ARGS, "--draws", "99", "--json", "-"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert result.stdout.lstrip().startswith("{") and result.stdout.endswith("}\n")
    assert_valid(document)
    assert document["estimate"]["inference"]["method"] == "randomization"
    assert document["outcome"] == "employment_rate"
    assert len(document["treated_units"]) == 4 and len(document["comparison_units"]) == 36
    assert document["treatment_start"] == "2021Q3"
    assert "Error" not in result.stderr


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder holding copies of the example files, so paths are given relative to it."""
    for name in ("pilot.csv", "comparators.csv"):
        shutil.copyfile(EXAMPLE / name, tmp_path / name)
    return tmp_path


JSON_ARGS = ["did", "pilot.csv", "--comparators", "comparators.csv",
             "--outcome", "employment_rate", "--start", "2021Q3", "--seed", "11",
             "--draws", "199", "--json", "out.json"]


def test_json_file_is_atomic_deterministic_and_has_provenance(workdir: Path) -> None:
    first = _run(JSON_ARGS, workdir)
    assert first.returncode == 0, first.stderr
    # Written by rename from a temporary file in the same folder: nothing else is left.
    assert sorted(p.name for p in workdir.iterdir()) == ["comparators.csv", "out.json",
                                                         "pilot.csv"]
    written = (workdir / "out.json").read_bytes()
    assert "estimate" in first.stdout  # the table is still printed

    second = _run(JSON_ARGS, workdir)
    assert second.returncode == 0, second.stderr
    assert (workdir / "out.json").read_bytes() == written  # byte-identical on a re-run
    assert sorted(p.name for p in workdir.iterdir()) == ["comparators.csv", "out.json",
                                                         "pilot.csv"]

    document = json.loads(written)
    assert_valid(document)
    prov = document["provenance"]
    assert prov is not None
    assert prov["inputs"] == [
        {"path": name, "sha256": hashlib.sha256((workdir / name).read_bytes()).hexdigest(),
         "rows": rows}
        for name, rows in (("pilot.csv", 160), ("comparators.csv", 1440))  # data rows
    ]
    # The command is rebuilt from the parsed options (positional arguments first, then the
    # options in their declared order), so it is the same however the user ordered them.
    recorded = shlex.split(prov["command"])
    assert recorded[:2] == ["lpip-eval", "did"]
    assert _option_pairs(recorded[2:]) == _option_pairs(JSON_ARGS[1:])
    assert prov["seed"] == 11
    assert prov["options"]["seed"] == 11 and prov["options"]["draws"] == 199
    assert prov["options"]["outcome"] == "employment_rate"
    packages = prov["packages"]
    assert packages["lpip-eval"] == lpip_eval.__version__
    for name in ("numpy", "pandas", "scipy"):
        assert packages[name] == version(name)
    assert document["tool"] == {"name": "lpip-eval", "version": lpip_eval.__version__}


@pytest.mark.parametrize("failure", ["bad column", "missing folder"])
def test_failed_run_leaves_no_json_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        failure: str) -> None:
    monkeypatch.chdir(REPO)
    if failure == "bad column":
        out = tmp_path / "out.json"
        args = [*README_ARGS[:4], "--outcome", "no_such_column", "--start", "2021Q3"]
    else:
        out = tmp_path / "missing" / "out.json"
        args = [*README_ARGS, "--draws", "99"]
    result = CliRunner().invoke(app, [*args, "--json", str(out)])
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("Error: ")
    assert ("no_such_column" if failure == "bad column" else "missing") in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_python_m_help() -> None:
    proc = _run(["--help"], REPO, script=False)
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout
    for command in ("did", "validate"):
        assert command in proc.stdout


def test_version() -> None:
    proc = _run(["--version"], REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"lpip-eval {lpip_eval.__version__}\n"
    assert lpip_eval.__version__ == version("lpip-eval")


HELP_PROBE = """
import json, sys
from lpip_eval.cli.commands import app
codes = []
for args in (["--help"], ["did", "--help"]):
    try:
        app(args)
    except SystemExit as exc:
        codes.append(exc.code)
print(json.dumps({"codes": codes, "loaded": sorted(m for m in sys.argv[1:] if m in sys.modules)}))
"""


def test_help_imports_no_heavy_modules() -> None:
    """``lpip-eval --help`` must be instant: docs/design.md ("Habits"), cli/commands.py."""
    proc = subprocess.run([sys.executable, "-c", HELP_PROBE, *HEAVY], capture_output=True,
                          text=True, timeout=60, check=False, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["codes"] == [0, 0]
    assert report["loaded"] == []
    assert "difference-in-differences" in proc.stdout.lower()


RUN_PROBE = """
import json, sys
from lpip_eval.cli.commands import app
try:
    app(sys.argv[1].split("|"))
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": sorted(m for m in ("scipy.stats", "scipy.optimize")
                                                 if m in sys.modules)}))
"""


def test_staggered_run_imports_no_unused_scipy_parts(tmp_path: Path) -> None:
    """A Callaway-Sant'Anna run without a sensitivity analysis needs neither scipy.stats nor
    scipy.optimize (together 0.4-0.9 s of start-up); they load only when a plan, matching or
    HonestDiD asks for them."""
    mpdta = REPO / "tests" / "reference" / "mpdta.csv"
    args = ["did", str(mpdta), "--area-col", "countyreal", "--period-col", "year",
            "--outcome", "lemp", "--first-treated-col", "first.treat", "--inference",
            "cluster", "--json", str(tmp_path / "out.json"), "--quiet"]
    proc = subprocess.run([sys.executable, "-c", RUN_PROBE, "|".join(args)],
                          capture_output=True, text=True, timeout=120, check=False, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report == {"code": 0, "loaded": []}
    assert (tmp_path / "out.json").exists()


def test_staggered_run_says_its_waves_and_sensitivity(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """mpdta: counties start in 2004, 2006 and 2007. The console said "from 2004" (issue 11:
    the right start text) and printed nothing of the HonestDiD analysis it ran."""
    from cli_runner import run_cli

    mpdta = REPO / "tests" / "reference" / "mpdta.csv"
    code, out, err = run_cli(
        ["did", str(mpdta), "--area-col", "countyreal", "--period-col", "year", "--outcome",
         "lemp", "--first-treated-col", "first.treat", "--base-period", "universal",
         "--sensitivity", "relative-magnitudes"], tmp_path, monkeypatch)
    assert code == 0, err
    flat = " ".join(out.split())
    assert "starting between 2004 and 2007 in 3 waves; compared with 309 areas" in flat
    assert "from 2004" not in flat
    assert "Sensitivity (relative magnitudes): The conclusion about the average effect" in flat
