"""A config file is trusted less than the runner: it reads and writes only inside its own
folder or the working directory, unless ``lpip-eval run --allow-outside`` (issue 10, item 4)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_runner import run_cli

from lpip_eval.errors import EXIT_DATA, EXIT_USAGE

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "west_of_england"
SECRET = "sk-live-abc123"


def _config(folder: Path, data: str, *, out_dir: str = "out", extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "evaluation.toml"
    path.write_text(f'[data]\nfile = "{data}"\nstart = "2021Q3"\ntreated = ["E06000023"]\n'
                    f'[[outcome]]\ncolumn = "employment_rate"\n[did]\ndesign = "2x2"\n'
                    f'[output]\ndir = "{out_dir}"\nreport = false\nmarkdown = false\n{extra}',
                    encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder: data/ with the example panel, ci/ for configs, a secret beside it."""
    (tmp_path / "project" / "data").mkdir(parents=True)
    panel = (EXAMPLE / "pilot.csv").read_text() + \
        "".join((EXAMPLE / "comparators.csv").read_text().splitlines(keepends=True)[1:])
    (tmp_path / "project" / "data" / "panel.csv").write_text(panel)
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "credentials").write_text(f"API_TOKEN={SECRET}\n")
    return tmp_path / "project"


@pytest.mark.parametrize("data", ["/etc/passwd", "../../secrets/credentials"])
def test_config_cannot_read_files_outside(project: Path, data: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(project / "ci", data)
    code, _, stderr = run_cli(["run", str(config.relative_to(project))], project, monkeypatch)
    assert code == EXIT_USAGE, stderr
    assert stderr.count("Error:") == 1 and "outside the config file's folder" in stderr
    assert "--allow-outside" in stderr
    assert SECRET not in stderr and "root:" not in stderr


def test_config_cannot_write_outside(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(project / "ci", "../data/panel.csv", out_dir="../../escaped")
    code, _, stderr = run_cli(["run", "ci/evaluation.toml"], project, monkeypatch)
    assert code == EXIT_USAGE, stderr
    assert "[output] 'dir'" in stderr
    assert not (project.parent / "escaped").exists()
    assert config.exists()


def test_config_beside_its_data_folder_runs(project: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """ci/evaluation.toml naming ../data/panel.csv: inside the working directory, so fine."""
    _config(project / "ci", "../data/panel.csv")
    code, _, stderr = run_cli(["run", "ci/evaluation.toml", "--quiet"], project, monkeypatch)
    assert code == 0, stderr
    assert (project / "ci" / "out" / "index.json").is_file()


def test_allow_outside_lifts_the_rule(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(project / "data" / "panel.csv", project.parent / "shared.csv")
    config = _config(project / "ci", "../../shared.csv")
    args = ["run", str(config.relative_to(project)), "--quiet"]
    code, _, stderr = run_cli(args, project, monkeypatch)
    assert code == EXIT_USAGE, stderr
    code, _, stderr = run_cli([*args, "--allow-outside"], project, monkeypatch)
    assert code == 0, stderr


def test_deeply_nested_config_is_one_error_line(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "deep.toml"
    config.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    code, _, stderr = run_cli(["run", "deep.toml"], tmp_path, monkeypatch)
    assert code == EXIT_DATA, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("Error: deep.toml: nested too deeply")
