"""Chart kinds of the comparison designs: synthetic-control gap and placebo gaps, comparison
area weights, the balance (love) plot, the triangulation forest plot and the digest's
forest plot (places, pooled diamond, prediction interval).

Its kinds are :data:`DESIGN_KINDS`, which ``charts.py`` adds to its registry
:data:`lpip_eval.report.charts.CHART_KINDS`; they draw with the shared look of
``chart_style.py`` and follow the rules of ``charts.py``: no title in the
image, colours with >= 4.5:1 contrast on white told apart also by line style or marker shape,
NaN/None tolerated, matplotlib imported lazily. Long names (areas, variables, designs) are
shortened to a measured width and end in an ellipsis; the tables under the charts carry them
in full.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from lpip_eval.numbers import fmt_number
from lpip_eval.report.chart_style import (
    COMPARISON_COLOUR,
    PILOT_COLOUR,
    PLACEBO_COLOUR,
    REFERENCE_COLOUR,
    STYLE,
    TEXT_COLOUR,
    WIDTH_PX,
    DrawFunction,
    floats,
    legend_above,
    number_formatter,
    period_axis,
    plot_line,
    ylabel,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ELLIPSIS = "\u2026"
MAX_BARS = 16  # weights: up to 16 areas, else the 15 largest and one row for the others
MAX_BALANCE_ROWS = 20  # love plot rows that stay readable at 340 px
LABEL_PX = 175  # room for names left of bars and dots (about 30 characters)
BALANCE_LABEL_PX = 200  # variable names may take two lines

Measure = Callable[[str], float]


# --------------------------------------------------------------------------- helpers

def fit_text(text: str, max_px: float, measure: Measure, lines: int = 1) -> str:
    """``text`` wrapped at spaces onto at most ``lines`` lines no wider than ``max_px`` (as
    ``measure`` says); what does not fit is cut and the last line ends in an ellipsis."""
    words = " ".join(str(text).split()).split(" ")
    out: list[str] = []
    current = ""
    while words:
        trial = f"{current} {words[0]}" if current else words[0]
        if measure(trial) <= max_px:
            current = trial
            words.pop(0)
        elif current and len(out) < lines - 1:
            out.append(current)
            current = ""
        else:
            break
    if words:  # overflow: cut the last line (or an over-long single word) to fit "…"
        rest = " ".join([current, *words]).strip()
        keep = len(rest)
        while keep and measure(rest[:keep].rstrip(" ,;:-(") + ELLIPSIS) > max_px:
            keep -= 1
        current = rest[:keep].rstrip(" ,;:-(") + ELLIPSIS
    out.append(current)
    return "\n".join(line for line in out if line)


YLABEL_PX = 220  # the y axis' length between the legend above and the period labels below


def set_ylabel(ax: Axes, text: str) -> None:
    """The y-axis label on at most two lines that fit the axis' length, cut with an
    ellipsis beyond (issue 13: "ect on organ donor registration rate (share of DMV v" was
    clipped at both ends by the figure's edges)."""
    measure = _measure(cast("Figure", ax.figure), float(STYLE["axes.labelsize"]))
    ax.set_ylabel(_plain(fit_text(text, YLABEL_PX, measure, lines=2)))


def without_brackets(names: Sequence[str]) -> list[str]:
    """Names with their bracketed asides (citations, settings) removed, where that leaves
    them distinct and non-empty; otherwise the names unchanged."""
    short = []
    for name in names:
        text, previous = str(name), ""
        while text != previous:
            previous, text = text, re.sub(r"\s*\([^()]*\)", "", text)
        short.append(" ".join(text.replace(" ,", ",").split()))
    ok = all(short) and len(set(short)) == len(set(map(str, names)))
    return short if ok else [str(n) for n in names]


def _measure(fig: Figure, size: float) -> Measure:
    """Pixel width of one line of text at font ``size`` (points), as the canvas draws it."""
    from matplotlib.font_manager import FontProperties

    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    prop = FontProperties(family="DejaVu Sans", size=size)

    def width(text: str) -> float:
        return float(renderer.get_text_width_height_descent(text, prop, ismath=False)[0])
    return width


def _plain(text: str) -> str:
    """Text shown literally: a '$' would otherwise start matplotlib's mathtext."""
    return text.replace("$", r"\$")


def _decimals(values: Sequence[float]) -> int:
    """Decimals that show about three significant digits of the largest finite value."""
    biggest = max((abs(v) for v in values if math.isfinite(v) and v != 0), default=1.0)
    return max(0, min(4, 2 - math.floor(math.log10(biggest))))


def _rows_axis(ax: Axes, count: int, axis_px: float) -> None:
    """Rows 0..count-1 from the top, grid lines running vertically (values are read off the
    x axis, whose ticks are as many as fit side by side in about ``axis_px``)."""
    from matplotlib import ticker

    ax.set_ylim(max(count, 1) - 0.5, -0.5)
    ax.grid(False, axis="y")
    ax.grid(True, axis="x")
    ax.tick_params(axis="y", length=0)
    low, high = ax.get_xlim()
    decimals = max(0, -math.floor(math.log10((high - low) / 8 or 1.0)))
    chars = 1 + len(f"{max(abs(low), abs(high)):,.{decimals}f}")  # sign and digits
    bins = max(2, min(8, int(axis_px // (chars * 6.5 + 18))))
    ax.xaxis.set_major_locator(ticker.MaxNLocator(nbins=bins, steps=[1, 2, 5, 10]))
    ax.xaxis.set_major_formatter(number_formatter())


def _nothing(ax: Axes, what: str) -> None:
    """Say so in the plot when there is nothing to draw."""
    ax.text(0.5, 0.5, f"No {what} to show", transform=ax.transAxes, ha="center",
            va="center", color=TEXT_COLOUR, fontsize=9.5)


def _limits(values: Sequence[float], include: Sequence[float], pad: float = 0.06
            ) -> tuple[float, float]:
    finite = [v for v in [*values, *include] if math.isfinite(v)]
    low, high = min(finite), max(finite)
    span = (high - low) or max(abs(high), 1.0)
    return low - pad * span, high + pad * span


def _gap_lines(ax: Axes, spec: dict[str, Any]) -> list[str]:
    """The zero line and the x labels shared by the gap and placebo charts."""
    labels = [str(x) for x in (spec.get("series") or {}).get("x") or []]
    ax.axhline(0.0, color=REFERENCE_COLOUR, linewidth=1.0, zorder=1)
    return labels


def _finish_gap(ax: Axes, spec: dict[str, Any], labels: list[str]) -> None:
    period_axis(ax, labels, (spec.get("series") or {}).get("start"))
    ax.yaxis.set_major_formatter(number_formatter())
    ax.set_xlabel("Period")
    set_ylabel(ax, ylabel(spec, "Gap"))


# --------------------------------------------------------------------------- chart kinds

def draw_gap(fig: Figure, ax: Axes, spec: dict[str, Any]) -> None:
    """Pilot minus synthetic comparison by period (``series``: x, gap, start): the fit before
    the dotted start line, the effect after it; a solid line at 0 (no gap)."""
    labels = _gap_lines(ax, spec)
    gap = floats((spec.get("series") or {}).get("gap"), len(labels))
    plot_line(ax, gap, color=PILOT_COLOUR, linewidth=2.2, zorder=3,
              label="Pilot minus synthetic comparison")
    _finish_gap(ax, spec, labels)
    if any(not math.isnan(v) for v in gap):
        legend_above(ax, ncols=1)


def draw_placebo(fig: Figure, ax: Axes, spec: dict[str, Any]) -> None:
    """The pilot's gap (bold dark blue) over the gaps of every comparison area re-fitted as if
    it had the pilot (thin grey); ``series``: x, pilot, placebos (one list per area), start."""
    from matplotlib import patheffects
    from matplotlib.lines import Line2D

    series = spec.get("series") or {}
    labels = _gap_lines(ax, spec)
    n = len(labels)
    placebos = [floats(row, n) for row in series.get("placebos") or [] if row is not None]
    placebos = [row for row in placebos if any(not math.isnan(v) for v in row)]
    for row in placebos:  # crisp (not anti-aliased): many thin lines stay small as PNG
        plot_line(ax, row, color=PLACEBO_COLOUR, linewidth=0.8, zorder=2, antialiased=False)
    ax.axhline(0.0, color=REFERENCE_COLOUR, linewidth=1.0, zorder=3)
    halo = [patheffects.withStroke(linewidth=5.0, foreground="white")]
    plot_line(ax, floats(series.get("pilot"), n), color=PILOT_COLOUR, linewidth=2.6,
              zorder=4, path_effects=halo)
    _finish_gap(ax, spec, labels)
    handles = [Line2D([], [], color=PILOT_COLOUR, linewidth=2.6),
               Line2D([], [], color=PLACEBO_COLOUR, linewidth=0.8)][:2 if placebos else 1]
    names = ["Pilot", f"Comparison areas as placebo pilots ({len(placebos)})"]
    legend_above(ax, ncols=2, handles=handles, labels=names[:len(handles)])


def weight_bars(spec: dict[str, Any], limit: int = MAX_BARS
                ) -> list[tuple[str, float, float | None]]:
    """(name, weight, None) largest first: all areas if at most ``limit``, else the
    ``limit`` - 1 largest and ("N other areas", their summed weight, the largest of them).
    Names: ``series.names``, else the first column of ``rows`` (the producers' display
    names), else ``series.units``."""
    series = spec.get("series") or {}
    units = [str(u) for u in series.get("units") or []]
    n = len(units)
    names = series.get("names")
    rows = spec.get("rows") or []
    if isinstance(names, list) and len(names) == n:
        shown = [str(x or u) for x, u in zip(names, units, strict=True)]
    elif len(rows) == n and all(isinstance(r, list | tuple) and r for r in rows):
        shown = [str(r[0] or u) for r, u in zip(rows, units, strict=True)]
    else:
        shown = units
    values = floats(series.get("weights"), n)
    order = sorted(range(n), key=lambda i: (math.isnan(values[i]), -values[i]
                                            if not math.isnan(values[i]) else 0.0))
    bars: list[tuple[str, float, float | None]] = [(shown[i], values[i], None) for i in order]
    if n <= limit:
        return bars
    rest = [v for _, v, _ in bars[limit - 1:] if not math.isnan(v)]
    total = math.fsum(rest) if rest else math.nan
    return [*bars[:limit - 1], (f"{n - limit + 1} other areas", total,
                                max(rest) if rest else math.nan)]


def draw_weights(fig: Figure, ax: Axes, spec: dict[str, Any]) -> None:
    """Horizontal bars of the comparison areas' weights, largest on top, each with its value;
    past 16 areas the rest are summed on one last row, as text (a bar of their total would
    dwarf the others)."""
    bars = weight_bars(spec)
    measure = _measure(fig, 9)
    ys = list(range(len(bars)))
    single = [v for _, v, most in bars if most is None]
    height = 0.68 * min(1.0, len(bars) / 6)  # a few bars stay slim rather than swell
    for y, value in zip(ys, single, strict=False):
        if not math.isnan(value):
            ax.barh(y, value, height=height, color=PILOT_COLOUR, zorder=2)
    ax.axvline(0.0, color=REFERENCE_COLOUR, linewidth=1.0, zorder=3)
    if any(not math.isnan(v) for v in single):
        low, high = _limits(single, [0.0], pad=0.0)
        span = (high - low) or 1.0
        ax.set_xlim(low - (0.02 * span if low < 0 else 0.0), high + 0.16 * span)
    for y, (_, value, most) in zip(ys, bars, strict=True):
        text = fmt_number(value, 3) if most is None else (
            f"{fmt_number(value, 3)} in total, each {fmt_number(most, 3)} or less")
        ax.annotate(text, xy=(0.0 if math.isnan(value) or most is not None else
                              max(value, 0.0), y),
                    xytext=(4, 0), textcoords="offset points", va="center", ha="left",
                    fontsize=8.5, color=TEXT_COLOUR)
    _rows_axis(ax, len(bars), axis_px=WIDTH_PX - LABEL_PX - 60)
    ax.set_yticks(ys, [_plain(fit_text(name, LABEL_PX, measure)) for name, _, _ in bars])
    ax.set_xlabel("Weight")
    if not bars:
        _nothing(ax, "comparison areas")


def _balance_rows(series: dict[str, Any]) -> tuple[list[int], int]:
    """Indices of the variables drawn (all, or the worst balanced after matching when there
    are too many for the height) and how many were left out."""
    n = len(series.get("variables") or [])
    if n <= MAX_BALANCE_ROWS:
        return list(range(n)), 0
    after = floats(series.get("smd_after"), n)
    before = floats(series.get("smd_before"), n)
    key = [(-abs(a) if not math.isnan(a) else math.inf, -abs(b) if not math.isnan(b) else 0.0)
           for a, b in zip(after, before, strict=True)]
    worst = sorted(range(n), key=lambda i: key[i])[:MAX_BALANCE_ROWS - 1]
    return sorted(worst), n - len(worst)


def draw_balance(fig: Figure, ax: Axes, spec: dict[str, Any]) -> None:
    """Love plot: each variable's standardised mean difference before (hollow orange circle)
    and after matching (filled blue circle), joined by a thin line; vertical lines at 0
    (solid), +/- the 'good' threshold (dashed) and +/- the 'acceptable' one (dotted)."""
    from matplotlib.lines import Line2D

    series = spec.get("series") or {}
    names = [str(v) for v in series.get("variables") or []]
    keep, left_out = _balance_rows(series)
    before = [floats(series.get("smd_before"), len(names))[i] for i in keep]
    after = [floats(series.get("smd_after"), len(names))[i] for i in keep]
    limits = [abs(t) for t in floats(series.get("thresholds") or [0.1, 0.25], 2)]
    good, fair = (0.1 if math.isnan(limits[0]) else limits[0],
                  0.25 if math.isnan(limits[1]) else limits[1])
    ys = list(range(len(keep)))
    rows = len(keep) + (1 if left_out else 0)  # a last row says how many are left out
    ax.axvline(0.0, color=REFERENCE_COLOUR, linewidth=1.1, zorder=1)
    for x, style in ((good, "--"), (fair, ":")):
        for sign in (-1, 1):
            ax.axvline(sign * x, color=REFERENCE_COLOUR, linewidth=1.1, linestyle=style,
                       zorder=1)
    size = 7.0 if len(keep) <= 12 else 5.5
    for y, b, a in zip(ys, before, after, strict=True):
        if not (math.isnan(a) or math.isnan(b)):
            ax.plot([b, a], [y, y], color=REFERENCE_COLOUR, linewidth=0.8, zorder=2)
        if math.isnan(a) and math.isnan(b):
            ax.annotate("n/a", xy=(0.99, y), xycoords=("axes fraction", "data"), ha="right",
                        va="center", fontsize=8.5, color=TEXT_COLOUR)
    ax.plot(before, ys, linestyle="none", marker="o", markersize=size, markerfacecolor="white",
            markeredgecolor=COMPARISON_COLOUR, markeredgewidth=1.6, zorder=3)
    ax.plot(after, ys, linestyle="none", marker="o", markersize=size - 0.5,
            color=PILOT_COLOUR, zorder=4)
    ax.set_xlim(*_limits([*before, *after], [-fair - 0.05, fair + 0.05]))
    _rows_axis(ax, rows, axis_px=WIDTH_PX - BALANCE_LABEL_PX - 40)
    if not keep:
        _nothing(ax, "matching variables")
    per_row = 250 / max(rows, 4)  # pixels per row: room for a second line of text?
    measure = _measure(fig, 9)
    texts = [_plain(fit_text(names[i], BALANCE_LABEL_PX, measure, 2 if per_row >= 30 else 1))
             for i in keep]
    if left_out:
        texts.append(f"{left_out} more (see the table)")
    ax.set_yticks(range(rows), texts)
    ax.set_xlabel("Standardised mean difference, pilot minus comparison")
    legend = [
        (Line2D([], [], linestyle="none", marker="o", markersize=7, markerfacecolor="white",
                markeredgecolor=COMPARISON_COLOUR, markeredgewidth=1.6), "Before matching"),
        (Line2D([], [], linestyle="none", marker="o", markersize=6.5, color=PILOT_COLOUR),
         "After matching"),
        (Line2D([], [], color=REFERENCE_COLOUR, linewidth=1.1, linestyle="--"),
         f"\u00b1{good:g} good"),
        (Line2D([], [], color=REFERENCE_COLOUR, linewidth=1.1, linestyle=":"),
         f"\u00b1{fair:g} acceptable"),
    ]
    # Above the whole figure, not the axes: the names on the left leave the axes too narrow.
    fig.legend([h for h, _ in legend], [t for _, t in legend], loc="outside upper left",
               ncols=4, frameon=False, handlelength=1.9, columnspacing=1.0,
               handletextpad=0.4)


def draw_forest(fig: Figure, ax: Axes, spec: dict[str, Any]) -> None:
    """Forest plot: one row per design, its name above the row and its estimate and range
    at the right; the estimate a square, the range a capped line, a solid line at 0."""
    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.lines import Line2D

    series = spec.get("series") or {}
    names = [str(v) for v in series.get("labels") or []]
    n = len(names)
    att, low, high = (floats(series.get(key), n) for key in ("att", "low", "high"))
    ax.axvline(0.0, color=REFERENCE_COLOUR, linewidth=1.2, zorder=1)
    for y in range(n):
        if not (math.isnan(low[y]) or math.isnan(high[y])):
            ax.plot([low[y], high[y]], [y, y], color=PILOT_COLOUR, linewidth=2.0, zorder=2,
                    marker="|", markersize=10, markeredgewidth=2.0)
    ax.plot(att, range(n), linestyle="none", marker="s", markersize=7.5, color=PILOT_COLOUR,
            zorder=3)
    if any(math.isfinite(v) for v in [*att, *low, *high]):
        ax.set_xlim(*_limits([*att, *low, *high], [0.0], pad=0.08))
    _rows_axis(ax, n, axis_px=WIDTH_PX - 40)
    pad = max(0.0, (3 - n) / 2)  # one or two rows sit in the middle, not at the top
    ax.set_ylim(n - 0.4 + pad, -0.85 - pad)
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    if not n:
        _nothing(ax, "designs")
    size = 9.0 if n <= 6 else 8.0
    measure = _measure(fig, size)
    decimals = _decimals([*att, *low, *high])
    room = WIDTH_PX - 45 - 16
    short = without_brackets(names)
    for y in range(n):
        rng = ("no range" if math.isnan(low[y]) or math.isnan(high[y]) else
               f"{fmt_number(low[y], decimals)} to {fmt_number(high[y], decimals)}")
        value = f"{fmt_number(att[y], decimals, signed=True)} ({rng})"
        # the full name on up to two lines when the rows have room (issue 13: "Matched
        # comparison areas + two-way fixed effe..."), else without its bracketed aside
        lines = 2 if n <= 4 else 1
        name = fit_text(names[y], room - measure(value), measure, lines)
        if name.endswith(ELLIPSIS):
            name = fit_text(short[y], room - measure(value), measure, lines)
        for text, x, align in ((name, 0.0, "left"),
                               (value, 1.0, "right")):
            ax.annotate(_plain(text), xy=(x, y), xycoords=("axes fraction", "data"),
                        xytext=(0, 7), textcoords="offset points", ha=align, va="bottom",
                        fontsize=size, color=TEXT_COLOUR)
    ax.set_xlabel(str(spec.get("xlabel") or "Estimated effect"))
    if n:
        bar = Line2D([], [], color=PILOT_COLOUR, linewidth=2.0, marker="|", markersize=10,
                     markeredgewidth=2.0)
        dot = Line2D([], [], linestyle="none", marker="s", markersize=7.5, color=PILOT_COLOUR)
        zero = Line2D([], [], color=REFERENCE_COLOUR, linewidth=1.2)
        legend_above(ax, ncols=2, handles=[(bar, dot), zero],
                     labels=["Estimate and range", "No effect (0)"],
                     handler_map={tuple: HandlerTuple(ndivide=1)})


STRONG_EVIDENCE = 3  # digest forest: filled markers from this evidence level on


def draw_digest_forest(fig: Figure, ax: Axes, spec: dict[str, Any]) -> None:
    """Places sorted by estimate (squares, filled from evidence level 3), their ranges, the
    pooled diamond and the prediction interval (dashed), against a solid line at 0."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Polygon

    series = spec.get("series") or {}
    names = [str(v) for v in series.get("labels") or []]
    n = len(names)
    att, low, high = (floats(series.get(key), n) for key in ("att", "low", "high"))
    levels = list(series.get("evidence") or [None] * n)
    mu, mu_low, mu_high = floats(series.get("pooled"), 3)
    p_low, p_high = floats(series.get("prediction"), 2)
    ax.axvline(0.0, color=REFERENCE_COLOUR, linewidth=1.2, zorder=1)
    for y in range(n):
        if not (math.isnan(low[y]) or math.isnan(high[y])):
            ax.plot([low[y], high[y]], [y, y], color=PILOT_COLOUR, linewidth=1.6, zorder=2)
        strong = isinstance(levels[y], int) and levels[y] >= STRONG_EVIDENCE
        ax.plot([att[y]], [y], linestyle="none", marker="s", markersize=7,
                markeredgecolor=PILOT_COLOUR, markeredgewidth=1.6,
                markerfacecolor=PILOT_COLOUR if strong else "white", zorder=3)
    row = n + 0.6
    if not math.isnan(mu):
        ax.add_patch(Polygon([(mu_low, row), (mu, row - 0.35), (mu_high, row),
                              (mu, row + 0.35)], closed=True, color=COMPARISON_COLOUR,
                             zorder=3))
    if not (math.isnan(p_low) or math.isnan(p_high)):
        ax.plot([p_low, p_high], [row + 1, row + 1], color=COMPARISON_COLOUR, linewidth=1.6,
                linestyle=(0, (4, 2)), marker="|", markersize=9, zorder=2)
    labels = [*names, "Pooled", "New area (prediction)"]
    ax.set_yticks([*range(n), row, row + 1], [_short_label(t) for t in labels])
    ax.set_ylim(row + 1.6, -0.8)
    finite = [v for v in [*att, *low, *high, mu_low, mu_high, p_low, p_high, 0.0]
              if not math.isnan(v)]
    pad = 0.06 * (max(finite) - min(finite) or 1.0)
    ax.set_xlim(min(finite) - pad, max(finite) + pad)
    ax.grid(axis="x", visible=True)
    ax.grid(axis="y", visible=False)
    ax.tick_params(axis="y", length=0, labelcolor=TEXT_COLOUR,
                   labelsize=8.5 if n <= 12 else 7)
    ax.set_xlabel(str(spec.get("xlabel") or "Effect"))
    handles = [
        Line2D([], [], linestyle="none", marker="s", color=PILOT_COLOUR, markersize=7),
        Line2D([], [], linestyle="none", marker="s", markerfacecolor="white",
               markeredgecolor=PILOT_COLOUR, markeredgewidth=1.6, markersize=7),
        Line2D([], [], linestyle="none", marker="D", color=COMPARISON_COLOUR, markersize=7),
        Line2D([], [], color=COMPARISON_COLOUR, linestyle=(0, (4, 2)), linewidth=1.6),
    ]
    legend_above(ax, ncols=2, handles=handles,
                 labels=["Evidence level 3-5", "Level 1-2 or unknown", "Pooled",
                         "New area"])


def _short_label(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


DESIGN_KINDS: dict[str, DrawFunction] = {
    "gap": draw_gap,
    "placebo": draw_placebo,
    "weights": draw_weights,
    "balance": draw_balance,
    "forest": draw_forest,
    "digest-forest": draw_digest_forest,
}
"""The comparison designs' and the digest's chart kinds;
:data:`lpip_eval.report.charts.CHART_KINDS` holds them with the others."""
