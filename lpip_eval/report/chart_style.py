"""The look every chart shares: size, colours, matplotlib style, and the drawing helpers of
the chart kinds (``charts.py`` for outcome paths and event-study effects, ``charts_design.py``
for the comparison designs).

Decisions, for e-mail readers (see ``charts.py``): 560 x 340 px at 100 dpi; colours that pass
WCAG contrast on white and are told apart by colour-blind readers; lines and markers that also
differ in style; numbers on the axes with thousands separators and a real minus sign, never
matplotlib's offset text. matplotlib is imported lazily (only inside functions).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from lpip_eval.numbers import fmt_number

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.ticker import Formatter
    from matplotlib.typing import RcKeyType

WIDTH_PX, HEIGHT_PX, DPI = 560, 340, 100
PLOT_WIDTH_PX = WIDTH_PX - 75  # less the y-axis label and tick labels
PALETTE_COLOURS = 64  # colours in the PNG palette (the style's, and anti-aliased edges)

# Contrast against white (WCAG 2.x relative luminance): PILOT 10.3:1, COMPARISON 5.5:1,
# REFERENCE 7.0:1, TEXT 15.9:1. Blue/orange stays distinct under deuter-/protanopia.
PILOT_COLOUR = "#0B3C8C"
COMPARISON_COLOUR = "#B04A00"
REFERENCE_COLOUR = "#595959"
TEXT_COLOUR = "#222222"
GRID_COLOUR = "#E3E3E3"  # decorative only; carries no information
# Placebo gaps (charts_design): the lightest grey that still passes 4.5:1 on white.
PLACEBO_COLOUR = "#767676"
KEY_COLOURS = ("#FFFFFF", TEXT_COLOUR, PILOT_COLOUR, COMPARISON_COLOUR, REFERENCE_COLOUR,
               PLACEBO_COLOUR, GRID_COLOUR)
"""The colours kept exact in the PNG palette (``charts._encode_png``)."""

STYLE: dict[RcKeyType, Any] = {
    "font.family": "DejaVu Sans",  # ships with matplotlib: the same glyphs everywhere
    "font.size": 9.5,
    "axes.labelsize": 9.5,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "text.color": TEXT_COLOUR,
    "axes.labelcolor": TEXT_COLOUR,
    "axes.edgecolor": REFERENCE_COLOUR,
    "xtick.color": REFERENCE_COLOUR,
    "ytick.color": REFERENCE_COLOUR,
    "xtick.labelcolor": TEXT_COLOUR,
    "ytick.labelcolor": TEXT_COLOUR,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": GRID_COLOUR,
    "grid.linewidth": 0.8,
    "axes.axisbelow": True,
    "axes.unicode_minus": True,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "path.simplify": False,
    "svg.hashsalt": "lpip-eval",
}

DrawFunction = Callable[["Figure", "Axes", dict[str, Any]], None]
"""A chart kind: draws one chart specification on a figure's axes."""


def floats(values: Sequence[Any] | None, n: int) -> list[float]:
    """Values as floats, None/non-numbers/non-finite as NaN, padded or cut to length n."""
    out: list[float] = []
    for value in list(values or [])[:n]:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        out.append(number if math.isfinite(number) else math.nan)
    return out + [math.nan] * (n - len(out))


def _isolated(values: list[float]) -> list[int]:
    """Indices of finite values whose neighbours are missing (a line cannot show them)."""
    def ok(i: int) -> bool:
        return 0 <= i < len(values) and not math.isnan(values[i])
    return [i for i in range(len(values)) if ok(i) and not ok(i - 1) and not ok(i + 1)]


def plot_line(ax: Axes, ys: list[float], marker: str = "o", **style: Any) -> None:
    """A line over periods 0..n-1 with gaps at NaN; a value isolated between gaps (which a
    line cannot show) is drawn as a marker."""
    xs = list(range(len(ys)))
    ax.plot(xs, ys, **style)
    alone = _isolated(ys)
    if alone:
        ax.plot([xs[i] for i in alone], [ys[i] for i in alone], linestyle="none",
                marker=marker, markersize=5, color=style.get("color"),
                zorder=style.get("zorder"))


def ylabel(spec: dict[str, Any], default: str) -> str:
    """The y-axis label: ``ylabel`` if given, else the title's part before a colon."""
    if spec.get("ylabel"):
        return str(spec["ylabel"])
    title = str(spec.get("title") or "")
    if ":" in title:
        head = title.split(":", 1)[0].strip()
        return head[:1].upper() + head[1:]
    match = re.search(r"effect on (?:the )?(.+?) by period", title)
    if match:
        return f"Effect on {match.group(1)}"
    return default


_QUARTER = re.compile(r"^\d{4}\s*-?\s*Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^\d{4}-(\d{1,2})$")
_STEPS = {4: (1, 2, 4, 8, 12, 20, 40, 80), 12: (1, 2, 3, 6, 12, 24, 36, 60, 120),
          1: (1, 2, 5, 10, 20, 50, 100, 200, 500)}


def _max_labels(labels: Sequence[str]) -> int:
    """How many horizontal x labels fit side by side with a readable gap between them."""
    chars = max((len(str(label)) for label in labels), default=1)
    char_px = 0.64 * STYLE["xtick.labelsize"] * DPI / 72  # DejaVu Sans digit advance
    return max(2, int(PLOT_WIDTH_PX // (chars * char_px + 16)))


def label_positions(labels: Sequence[str], max_labels: int | None = None) -> list[int]:
    """Which period labels to show: every k-th, k a calendar-friendly step (every 4th or
    8th quarter starting at a Q1, every 3rd/6th/12th month, ...), as many as fit."""
    n = len(labels)
    max_labels = max_labels or _max_labels(labels)
    if n <= max_labels:
        return list(range(n))
    subs: list[int] = []
    cycle = 1
    for pattern, length in ((_QUARTER, 4), (_MONTH, 12)):
        found = [pattern.match(str(label).strip()) for label in labels]
        if all(found):
            subs = [int(m.group(1)) for m in found if m]
            cycle = length
            break
    steps = _STEPS[cycle] + tuple(500 * 2 ** k for k in range(1, 40))
    step = next(s for s in steps if math.ceil(n / s) <= max_labels)
    anchor = 0
    if subs:
        period = min(step, cycle)
        anchor = next((i for i in range(min(step, n)) if (subs[i] - 1) % period == 0), 0)
    return list(range(anchor, n, step))


def tick_texts(values: Sequence[float]) -> list[str]:
    """Tick text with thousands separators, a real minus sign and as few decimals as the
    tick spacing needs (no '1e9' offset text that readers miss)."""
    finite = sorted(v for v in values if math.isfinite(v))
    spacing = min((b - a for a, b in itertools.pairwise(finite) if b != a), default=1.0)
    decimals = max(0, min(6, -math.floor(math.log10(spacing))))
    while decimals < 6 and any(abs(v - round(v, decimals)) > 1e-3 * spacing for v in finite):
        decimals += 1  # a step of 2.5 or 0.25 needs one decimal more than its magnitude
    texts = []
    for value in values:
        texts.append(fmt_number(0.0 if round(value, decimals) == 0 else value, decimals))
        # (a tick that rounds to zero is written without a minus sign)
    return texts


def number_formatter() -> Formatter:
    """A matplotlib formatter that writes all of an axis' ticks with :func:`tick_texts`."""
    from matplotlib.ticker import Formatter

    class _Numbers(Formatter):
        def format_ticks(self, values: Any) -> list[str]:
            return tick_texts(list(values))

        def __call__(self, x: float, pos: int | None = None) -> str:
            return tick_texts([x])[0]

    return _Numbers()


LEGEND_ROW_CHARS = 60  # longer entries together than this do not fit one row of a chart


def legend_above(ax: Axes, ncols: int, **handles: Any) -> None:
    """The legend above the plot, where it never hides data: in one row, or one entry per
    row when the entries' text would run past the figure's edge (and squeeze the plot)."""
    labels = handles.get("labels") or ax.get_legend_handles_labels()[1]
    if sum(len(str(text)) for text in labels) > LEGEND_ROW_CHARS:
        ncols = 1
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=ncols, frameon=False,
              borderaxespad=0.3, handlelength=2.8, columnspacing=1.6, **handles)


def start_marker(ax: Axes, x: float, linestyle: str) -> None:
    """A vertical line where the pilot starts, labelled at the top; call after the data is
    drawn: the y range grows by a band at the top so the label never covers data."""
    ax.autoscale_view()
    bottom, top = ax.get_ylim()
    ax.set_ylim(bottom, top + 0.1 * (top - bottom))
    ax.axvline(x, color=REFERENCE_COLOUR, linestyle=linestyle, linewidth=1.2, zorder=1)
    ax.annotate("Pilot starts", xy=(x, 1.0), xycoords=("data", "axes fraction"),
                xytext=(4, -2), textcoords="offset points", ha="left", va="top",
                fontsize=8.5, color=TEXT_COLOUR)


def _normalise_period(value: Any) -> str:
    return re.sub(r"[\s\-_/]", "", str(value)).upper()


def period_axis(ax: Axes, labels: list[str], start: Any) -> None:
    """Period labels on the x axis (thinned, minor ticks at every period) and a dotted line
    before the ``start`` period if it is one of the labels; call after the data is drawn."""
    n = len(labels)
    if n:
        ax.set_xlim(-0.5 if n > 1 else -1.0, n - 0.5 if n > 1 else 1.0)
    shown = label_positions(labels)
    ax.set_xticks(shown, [labels[i] for i in shown])
    if 1 < n <= 80:
        ax.set_xticks(range(n), minor=True)
    ax.tick_params(axis="x", which="minor", length=2)
    if start is not None:
        wanted = _normalise_period(start)
        index = next((i for i, x in enumerate(labels) if _normalise_period(x) == wanted), None)
        if index is not None:
            start_marker(ax, index - 0.5, linestyle=":")
