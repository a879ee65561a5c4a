"""Output files: atomic writes and paths as shown to users.

Writers write to a temporary file in the target folder and rename it, so a failed run leaves
no partial output behind (docs/design.md, "Exit codes").
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from lpip_eval.errors import DataError


def display_path(path: Path | str) -> str:
    """The path as shown to users and recorded in provenance (as given, POSIX separators)."""
    return Path(path).as_posix()


def write_atomic(path: str, data: str | bytes) -> None:
    """Write ``data`` to ``path`` (``-`` = stdout) via a temporary file and a rename."""
    if path == "-":
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
        else:
            sys.stdout.write(data)
        sys.stdout.flush()
        return
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.exists():
        raise DataError(f"{path}: folder '{folder}' does not exist", hint="create it first")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        # mkstemp creates the file private (0600); give it the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
