"""Running the CLI in-process and checking its one-line error contract (shared by tests)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lpip_eval.cli.commands import app

BAD = Path(__file__).resolve().parent / "bad_inputs"


def input_hashes() -> dict[str, str]:
    return {str(p.relative_to(BAD)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(BAD.rglob("*")) if p.is_file()}


def run_cli(args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """Run the CLI in-process from ``cwd``; (exit code, stdout, stderr)."""
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "250")  # Rich tables: no wrapped cells
    result = CliRunner().invoke(app, args, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a bug: show the traceback
    return result.exit_code, result.stdout, result.stderr


def check_error_line(stderr: str, *, files: tuple[str, ...], mentions: tuple[str, ...]) -> str:
    """The stderr contract: one line, 'Error:', the files and the items named, a hint."""
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {stderr!r}"
    line = lines[0]
    assert line.startswith("Error: "), line
    assert "hint: " in line, f"no hint: {line}"
    for name in files:
        assert name in line, f"message does not name the file {name!r}: {line}"
    for item in mentions:
        assert item in line, f"message does not mention {item!r}: {line}"
    return line
