"""Errors a user can cause, and the process exit codes they map to.

Library code raises these; only the CLI turns them into an ``Error:`` line and an exit code
(docs/design.md, "Exit codes").
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_BUG = 1
EXIT_USAGE = 2
EXIT_DATA = 3
EXIT_DESIGN = 4
EXIT_GATE = 5


class LpipEvalError(Exception):
    """A problem with the user's input, reported as one line plus an optional hint.

    ``message`` names the file, column, area or period concerned; ``hint`` says what to do.
    """

    exit_code: int = EXIT_DATA

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} (hint: {self.hint})"
        return self.message


class UsageError(LpipEvalError):
    """Options that contradict each other or are missing: exit 2, like Click's usage errors."""

    exit_code = EXIT_USAGE


class DataError(LpipEvalError):
    """The input data cannot be used as given (file, column, type, duplicate, missing): exit 3."""

    exit_code = EXIT_DATA


class DesignError(LpipEvalError):
    """The data is valid but the design cannot be estimated on it: exit 4."""

    exit_code = EXIT_DESIGN


class GateError(LpipEvalError):
    """A gate the user asked for with ``--fail-on`` tripped: exit 5."""

    exit_code = EXIT_GATE


def first_items(items: object, limit: int = 5) -> str:
    """Format the first few offending items for a message: ``'a', 'b', 'c' and 4 more``."""
    seq = list(items)  # type: ignore[call-overload]
    shown = ", ".join(repr(x) if isinstance(x, str) else str(x) for x in seq[:limit])
    rest = len(seq) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown


def closest(name: str, valid: list[str], what: str = "valid") -> str:
    """A hint: "did you mean 'x'?" for the closest of ``valid``, else the valid names."""
    import difflib

    match = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    if match:
        return f"did you mean '{match[0]}'?"
    return f"{what}: {', '.join(sorted(valid))}"
