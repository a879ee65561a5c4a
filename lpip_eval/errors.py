"""Errors a user can cause, and the process exit codes they map to.

Library code raises these; only the CLI turns them into an ``Error:`` line and an exit code
(docs/design.md, "Exit codes").
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

EXIT_OK = 0
EXIT_BUG = 1
EXIT_USAGE = 2
EXIT_DATA = 3
EXIT_DESIGN = 4
EXIT_GATE = 5
EXIT_DELIVERY = 6


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

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled whatever a subclass's ``__init__`` takes (an error raised in a worker
        process, ``parallel.map_items``, reaches the caller as it was)."""
        return _restore, (type(self), self.args, self.__dict__)


def _restore(cls: type[LpipEvalError], args: tuple[object, ...],
             state: dict[str, object]) -> LpipEvalError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


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


class DeliveryError(LpipEvalError):
    """The report could not be e-mailed (connection, TLS, login or the server refused it):
    exit 6. Every file output was written before sending."""

    exit_code = EXIT_DELIVERY


LINE_BREAKS = "\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines splits on


def has_line_break(text: str) -> bool:
    """Whether ``text`` spans more than one line (CR, LF or another line separator)."""
    return any(ch in text for ch in LINE_BREAKS)


def one_line(value: str, what: str) -> str:
    """``value`` unchanged, or a UsageError (exit 2) naming ``what`` when it holds a line
    break: such values become e-mail headers (RFC 5322 2.2) and single report lines."""
    if has_line_break(value):
        raise UsageError(f"{what} {value!r} contains a line break",
                         hint="give it on one line")
    return value


def first_items(items: object, limit: int = 5) -> str:
    """Format the first few offending items for a message: ``'a', 'b', 'c' and 4 more``."""
    seq = list(items)  # type: ignore[call-overload]
    shown = ", ".join(repr(x) if isinstance(x, str) else str(x) for x in seq[:limit])
    rest = len(seq) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown


def nearest(name: str, valid: Sequence[str]) -> str | None:
    """The name in ``valid`` a user most likely meant by ``name``, or None: the same name in
    another case, else the first longer name it starts, else difflib's closest match (ratio
    at least 0.5; Python's ``difflib.get_close_matches``)."""
    lower = name.lower().strip()
    same = [v for v in valid if v.lower().strip() == lower]
    same = same or [v for v in valid if lower and v.lower().startswith(lower)][:1]
    same = same or difflib.get_close_matches(name, list(valid), n=1, cutoff=0.5)
    return same[0] if same else None


def closest(name: str, valid: Sequence[str], what: str = "valid", *,
            limit: int | None = None) -> str:
    """A hint: "did you mean 'x'?" for the :func:`nearest` of ``valid``, else ``what`` and the
    valid names: all of them sorted (``limit`` None, for keys and option values), or the first
    ``limit`` in their order, quoted (for names from the user's data: columns, areas)."""
    match = nearest(name, valid)
    if match is not None:
        return f"did you mean '{match}'?"
    if limit is None:
        return f"{what}: {', '.join(sorted(valid))}"
    return f"{what}: {first_items(valid, limit)}"
