"""Numbers as readers see them: the one place that turns a float into text.

Every layer formats through here (methods write table cells and check results, results write
evidence and gate reasons, the report and the CLI write prose and tables), so it sits at the
bottom of the pipeline next to ``errors.py`` and imports nothing from the package.

Two styles:

- *prose* (the default), for reports, tables in reports and messages: fixed decimals,
  thousands separators, a real minus sign (U+2212, which screen readers say as "minus" and
  which does not break a line), ``n/a`` when missing or not finite;
- *console*, for the terminal's result tables: plain ASCII minus, thousands separators, ``-``
  when missing; ``digits`` is a number of *significant* figures (at most that many decimals),
  so 21013.19 prints as ``21,013`` and 0.000123 as ``0.0001``, never in scientific notation
  (``2.1e+04`` is not a number a policymaker reads; issue 13).

How many decimals an estimate deserves follows from its own uncertainty
(:func:`decimals_for`): a range of +/-42,000 needs none, a range of +/-0.11 needs two. Every
output (terminal, HTML, e-mail, Markdown) takes the same decimals for the same result, so the
headline and the big box agree.
"""

from __future__ import annotations

import math

MINUS = "\u2212"
"""The minus sign of prose numbers (typographic, not the ASCII hyphen)."""

P_FLOOR = 0.001
"""p-values below this are written ``< 0.001``: more digits would claim false precision."""

MAX_DECIMALS = 6
"""No report number shows more decimals than this; smaller magnitudes read ``< 0.000001``."""


def decimals_for(spread: float | None, sig: int = 2) -> int:
    """Decimals that show ``spread`` (a range's half-width, a standard error, a scale) to
    ``sig`` significant figures, between 0 and :data:`MAX_DECIMALS`.

    ``decimals_for(42_000) == 0``, ``decimals_for(0.11) == 2``, ``decimals_for(0.11, 3) == 3``;
    a missing, zero or non-finite spread gives 2 (the prose default).
    """
    if spread is None or not math.isfinite(spread) or spread == 0:
        return 2
    return max(0, min(MAX_DECIMALS, sig - 1 - math.floor(math.log10(abs(spread)))))


def effect_decimals(att: float | None, low: float | None, high: float | None,
                    se: float | None = None) -> int:
    """Decimals for an estimate and its range: two significant figures of the range's
    half-width (else of the standard error, else three of the estimate itself), the usual
    rule for reporting an uncertain quantity (e.g. Taylor 1997, ch. 2)."""
    half = (high - low) / 2 if low is not None and high is not None else None
    for spread, sig in ((half, 2), (se, 2), (att, 3)):
        if spread is not None and math.isfinite(spread) and spread != 0:
            return decimals_for(spread, sig)
    return 2


def fmt_number(value: float | None, digits: int = 2, *, signed: bool = False,
               separators: bool = True, console: bool = False) -> str:
    """``value`` with ``digits`` decimals, e.g. ``fmt_number(-1234.5) == '−1,234.50'``.

    ``signed`` writes a ``+`` before positive values (effects, gaps); ``separators=False``
    leaves out the thousands separators (standardised differences). ``console`` selects the
    terminal style described in the module docstring, where ``digits`` is the number of
    significant figures.
    """
    if console:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "-"
        return fmt_sig(value, digits, signed=signed).replace(MINUS, "-")
    if value is None or not math.isfinite(value):
        return "n/a"
    spec = f"{'+' if signed else ''}{',' if separators else ''}.{digits}f"
    return format(value, spec).replace("-", MINUS)


def fmt_sig(value: float | None, sig: int = 4, *, signed: bool = False,
            max_decimals: int = MAX_DECIMALS) -> str:
    """``value`` to ``sig`` significant figures in fixed notation (prose style), never more
    than ``max_decimals`` decimals: ``fmt_sig(21013.188) == '21,013'``,
    ``fmt_sig(0.0123456) == '0.01235'``, ``fmt_sig(2e-16) == '< 0.000001'``."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if value == 0:
        return "0"
    floor = 10.0 ** -max_decimals
    if abs(value) < floor / 2:
        tiny = f"{floor:.{max_decimals}f}"
        return f"< {tiny}" if value > 0 else f"> {MINUS}{tiny}"
    decimals = max(0, min(max_decimals, sig - 1 - math.floor(math.log10(abs(value)))))
    return fmt_number(value, decimals, signed=signed)


def fmt_p(value: float | None, *, prefix: bool = False) -> str:
    """A p-value with three decimals, ``< 0.001`` below that, ``n/a`` when missing.

    ``prefix`` writes it as a phrase: ``p = 0.176`` or ``p < 0.001`` (never ``p = < 0.001``).
    """
    if value is None or not math.isfinite(value):
        return "p n/a" if prefix else "n/a"
    text = f"< {P_FLOOR}" if value < P_FLOOR else f"{value:.3f}"
    if not prefix:
        return text
    return f"p {text}" if text.startswith("<") else f"p = {text}"
