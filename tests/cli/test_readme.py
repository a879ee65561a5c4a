"""The README's contract (issue 10, item 16): every command it shows runs as written from a
clone. Here: the files its commands read exist in the repository, what they write is ignored
by git, and its test command is the one .ci/run runs, installing chromium through
scripts/test-deps.sh, and commands say on stderr where their files went. (Running each
README command is checked by hand in a fresh clone.)"""

from __future__ import annotations

import itertools
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_runner import run_cli

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
OUTPUT_OPTIONS = {"--report", "--eml", "--json", "--markdown", "-o", "--output"}


def shell_commands() -> list[list[str]]:
    """The commands in the README's ```sh blocks, continuation lines joined, comments cut."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", README, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            for part in re.split(r"&&", line):
                words = shlex.split(part, comments=True)
                if words:
                    commands.append(words)
    return commands


def lpip_eval_commands() -> list[list[str]]:
    return [words for words in shell_commands() if words[0] == "lpip-eval"]


def test_files_the_commands_read_are_in_the_repository() -> None:
    commands = lpip_eval_commands()
    assert len(commands) >= 6
    for words in commands:
        for before, word in itertools.pairwise(words):
            if before not in OUTPUT_OPTIONS and re.search(r"\.(csv|toml|json|parquet)$", word):
                assert (ROOT / word).is_file(), f"README: {' '.join(words)}: no {word}"


def test_files_the_commands_write_are_ignored_by_git() -> None:
    written = [word for words in lpip_eval_commands()
               for before, word in itertools.pairwise(words)
               if before in OUTPUT_OPTIONS]
    assert {"report.html", "report.eml", "evaluation.toml"} <= set(written)
    ignored = subprocess.run(["git", "check-ignore", *written], cwd=ROOT, text=True,
                             capture_output=True, check=False).stdout.split()
    assert sorted(ignored) == sorted(written)


def test_library_example_reads_files_in_the_repository() -> None:
    block = re.search(r"```python\n(.*?)```", README, flags=re.S)
    assert block is not None
    folder = re.search(r'Path\("([^"]+)"\)', block.group(1))
    assert folder is not None and (ROOT / folder.group(1) / "pilot.csv").is_file()


def test_the_test_command_installs_chromium_and_is_what_ci_runs() -> None:
    [command] = [line for line in README.splitlines() if "python -m pytest" in line]
    assert "scripts/test-deps.sh &&" in command
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command in ci
    script = ROOT / "scripts" / "test-deps.sh"
    assert script.stat().st_mode & 0o111, "scripts/test-deps.sh must be executable"
    text = script.read_text(encoding="utf-8")
    assert "apt-get install" in text and "chromium" in text
    assert subprocess.run(["sh", "-n", str(script)], check=False).returncode == 0


def test_commands_say_where_their_files_went(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    example = ROOT / "examples" / "west_of_england"
    args = ["did", str(example / "pilot.csv"), "--comparators", str(example / "comparators.csv"),
            "--outcome", "employment_rate", "--start", "2021Q3", "--draws", "99"]
    code, stdout, stderr = run_cli([*args, "--report", "report.html", "--eml", "report.eml",
                                    "--json", "r.json"], tmp_path, monkeypatch)
    assert code == 0, stderr
    assert stderr.splitlines() == ["Wrote r.json, report.html, report.eml"]
    assert "Wrote" not in stdout
    code, stdout, stderr = run_cli(["report", "r.json", "--markdown", "s.md"], tmp_path,
                                   monkeypatch)
    assert (code, stdout, stderr) == (0, "", "Wrote s.md\n")
    code, stdout, stderr = run_cli([*args, "--json", "q.json", "--quiet"], tmp_path, monkeypatch)
    assert (code, stdout, stderr) == (0, "", "")
    assert (tmp_path / "q.json").is_file()


def test_run_says_which_folder_its_files_went_to(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    example = ROOT / "examples" / "west_of_england"
    for name in ("pilot.csv", "comparators.csv"):
        shutil.copy(example / name, tmp_path / name)
    (tmp_path / "evaluation.toml").write_text(
        '[data]\nfile = "pilot.csv"\ncomparators = "comparators.csv"\nstart = "2021Q3"\n'
        '[[outcome]]\ncolumn = "employment_rate"\n[run]\ndraws = 99\n[did]\n'
        '[output]\ndir = "out"\n', encoding="utf-8")
    code, _, stderr = run_cli(["run", "evaluation.toml"], tmp_path, monkeypatch)
    assert code == 0, stderr
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert stderr.splitlines()[-1] == f"Wrote {len(written)} files to out", stderr
