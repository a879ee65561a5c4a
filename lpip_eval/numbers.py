"""Numbers as readers see them: the one place that turns a float into text.

Every layer formats through here (methods write table cells and check results, results write
evidence and gate reasons, the report and the CLI write prose and tables), so it sits at the
bottom of the pipeline next to ``errors.py`` and imports nothing from the package.

Two styles:

- *prose* (the default), for reports, tables in reports and messages: fixed decimals,
  thousands separators, a real minus sign (U+2212, which screen readers say as "minus" and
  which does not break a line), ``n/a`` when missing or not finite;
- *console*, for the terminal's result tables: plain ASCII, no separators, the general format
  for very large or very small magnitudes so columns stay narrow, ``-`` when missing.
"""

from __future__ import annotations

import math

MINUS = "\u2212"
"""The minus sign of prose numbers (typographic, not the ASCII hyphen)."""

P_FLOOR = 0.001
"""p-values below this are written ``< 0.001``: more digits would claim false precision."""


def fmt_number(value: float | None, digits: int = 2, *, signed: bool = False,
               separators: bool = True, console: bool = False) -> str:
    """``value`` with ``digits`` decimals, e.g. ``fmt_number(-1234.5) == '−1,234.50'``.

    ``signed`` writes a ``+`` before positive values (effects, gaps); ``separators=False``
    leaves out the thousands separators (standardised differences). ``console`` selects the
    terminal style described in the module docstring, where ``digits`` is also the number of
    significant digits used when a magnitude is at least 1e4 or below 1e-3.
    """
    if console:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "-"
        size = abs(value)
        if size >= 1e4 or 0 < size < 1e-3:
            return f"{value:+.{digits}g}" if signed else f"{value:.{digits}g}"
        return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    if value is None or not math.isfinite(value):
        return "n/a"
    spec = f"{'+' if signed else ''}{',' if separators else ''}.{digits}f"
    return format(value, spec).replace("-", MINUS)


def fmt_p(value: float | None) -> str:
    """A p-value with three decimals, ``< 0.001`` below that, ``n/a`` when missing."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"< {P_FLOOR}" if value < P_FLOOR else f"{value:.3f}"
