"""Output files: atomic writes and paths as shown to users.

Every output is rendered in memory first; :func:`write_all` then writes all of a command's
files or none, and :func:`check_outputs` refuses output paths that collide with each other or
with an input before any work is done (docs/design.md, "Exit codes").
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from lpip_eval.errors import DataError, UsageError


def display_path(path: Path | str) -> str:
    """The path as shown to users and recorded in provenance (as given, POSIX separators)."""
    return Path(path).as_posix()


def write_atomic(path: str, data: str | bytes) -> None:
    """Write ``data`` to ``path`` (``-`` = stdout) via a temporary file and a rename."""
    write_all([(path, data)])


def check_outputs(outputs: Mapping[str, str | None], inputs: Sequence[Path | str] = ()) -> None:
    """Refuse output paths that cannot all be written as asked (a UsageError, exit 2).

    ``outputs`` maps what names an output (``--json``, ``[output] 'report'``) to its path
    (``-`` = stdout, None = not asked for). Refused: an empty path; stdout for two outputs
    (their texts would run together); one path for two outputs; a path that is one of the
    ``inputs`` (data, config or result files: they are never overwritten).
    """
    given = {name: path for name, path in outputs.items() if path is not None}
    for name, path in given.items():
        if not path.strip():
            raise UsageError(f"{name} is an empty path", hint="give a file name, or - for stdout")
    to_stdout = [name for name, path in given.items() if path == "-"]
    if len(to_stdout) > 1:
        raise UsageError(f"{' and '.join(to_stdout)} both write to stdout (-)",
                         hint="send at most one of them to stdout, the others to files")
    seen: dict[str, str] = {}
    for name, path in given.items():
        if path == "-":
            continue
        key = _identity(path)
        if key in seen:
            raise UsageError(f"{seen[key]} and {name} both write {display_path(path)}",
                             hint="give each output its own file name")
        seen[key] = name
    protected = {_identity(p): p for p in inputs}
    for name, path in given.items():
        if path != "-" and _identity(path) in protected:
            raise UsageError(
                f"{name} {display_path(path)} is an input file: lpip-eval never overwrites "
                f"its inputs", hint="give the output another name")


def _identity(path: Path | str) -> str:
    """One key per file, whatever the spelling (``./a.csv``, links, ``..``)."""
    return os.path.normcase(os.path.realpath(path))


def write_all(outputs: Sequence[tuple[str, str | bytes]]) -> None:
    """Write every ``(path, data)`` or none of them (``-`` = stdout, written last).

    Each file is first written in full to a temporary file beside its target; only when all
    of them are written are they renamed into place, so a missing folder, a full disk or a
    path that is a folder leaves no new output behind (docs/design.md, "Exit codes"). A file
    that cannot be written is a DataError (exit 3) naming it and saying why.
    """
    files = [(path, data) for path, data in outputs if path != "-"]
    for path, _ in files:
        _check_target(path)
    staged: list[tuple[str, Path]] = []
    try:
        for path, data in files:
            staged.append((_staged(path, data), Path(path)))
        for tmp, target in staged:
            try:
                os.replace(tmp, target)
            except OSError as exc:
                raise _write_error(str(target), exc) from None
    finally:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
    for path, data in outputs:
        if path == "-":
            if isinstance(data, bytes):
                sys.stdout.buffer.write(data)
            else:
                sys.stdout.write(data)
            sys.stdout.flush()


def _check_target(path: str) -> None:
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.exists():
        raise DataError(f"{path}: folder '{folder}' does not exist", hint="create it first")
    if target.is_dir():
        raise DataError(f"{path}: is a folder", hint="give a file name for this output")


def _staged(path: str, data: str | bytes) -> str:
    """``data`` written in full to a new temporary file beside ``path``; its name."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        # mkstemp creates the file private (0600); give it the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
    except OSError as exc:
        os.unlink(tmp)
        raise _write_error(path, exc) from None
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _write_error(path: str, exc: OSError) -> DataError:
    reason = exc.strerror or type(exc).__name__
    return DataError(f"{path}: cannot be written ({reason})",
                     hint="check the folder exists, you may write to it and the disk has room; "
                     "nothing was written")
