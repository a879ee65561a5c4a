"""The README's contract (issue 10, item 16): every command it shows runs as written from a
clone. Here: the files its commands read exist in the repository, what they write is ignored
by git, and its test command is the one .ci/run runs, installing chromium through
scripts/test-deps.sh. (Running each command is checked by hand in a fresh clone.)"""

from __future__ import annotations

import itertools
import re
import shlex
import subprocess
from pathlib import Path

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
