"""Chart specifications (from ``context.py``) -> small, deterministic PNG images for e-mail.

Each chart kind is one drawing function in :data:`CHART_KINDS`; a new kind is one function
plus one registry entry. Drawing never touches ``pyplot`` (no global figure state): a
``matplotlib.figure.Figure`` is rendered by ``FigureCanvasAgg`` inside an ``rc_context`` that
starts from matplotlib's defaults, so the user's matplotlibrc and earlier calls cannot change
the picture. The same spec gives byte-identical PNG bytes (no timestamp, no software tag; the
image is reduced to a 64-colour palette, holding the style's colours exactly, without
dithering). matplotlib and Pillow (a matplotlib dependency) are imported lazily, so importing
this module is cheap. The kinds of the comparison designs live in ``charts_design.py``.

Decisions, for e-mail readers:

- 560 x 340 px at 100 dpi: fits a 600 px e-mail column without scaling.
- No title in the image: the HTML around it carries the title and the alt text.
- Colours pass WCAG contrast (>= 4.5:1 on white) and are told apart by colour-blind readers
  (dark blue vs dark orange); lines and markers also differ in style, not only in colour.
- Missing values (None/NaN) leave gaps; a point with no neighbours is drawn as a marker.
"""

from __future__ import annotations

import io
import itertools
import math
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from lpip_eval.numbers import fmt_number

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg
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
_KEY_COLOURS = ("#FFFFFF", TEXT_COLOUR, PILOT_COLOUR, COMPARISON_COLOUR, REFERENCE_COLOUR,
                PLACEBO_COLOUR, GRID_COLOUR)

_STYLE: dict[RcKeyType, Any] = {
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


def render_chart(spec: dict[str, Any]) -> bytes:
    """One chart specification -> PNG bytes (deterministic). Unknown kind: ValueError."""
    canvas = draw_chart(spec)
    return _encode_png(bytes(canvas.buffer_rgba()), canvas.get_width_height())


def draw_chart(spec: dict[str, Any]) -> FigureCanvasAgg:
    """One chart specification drawn on a new canvas (``canvas.figure`` holds the artists,
    for inspection); :func:`render_chart` turns it into PNG bytes."""
    kind = spec.get("kind")
    draw = CHART_KINDS.get(kind) if isinstance(kind, str) else None
    if draw is None:
        known = ", ".join(sorted(CHART_KINDS))
        raise ValueError(f"unknown chart kind {kind!r} in chart {spec.get('id')!r} "
                         f"(known kinds: {known})")
    import matplotlib as mpl
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with mpl.rc_context():
        mpl.rcdefaults()  # undone when the context exits, like the update below
        mpl.rcParams.update(_STYLE)
        fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI,
                     layout="constrained")
        canvas = FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        draw(fig, ax, spec)
        canvas.draw()
    return canvas


def render_charts(context: dict[str, Any]) -> dict[str, bytes]:
    """Every chart of the report, in the order it shows them: the forest plot of each
    compared outcome (``f"tri-{index}-{chart id}"``), then every chart of every section
    (``f"{section_index}-{chart id}"``)."""
    images: dict[str, bytes] = {}
    for index, entry in enumerate(context.get("triangulation", [])):
        images[f"tri-{index}-{entry['chart']['id']}"] = render_chart(entry["chart"])
    for index, section in enumerate(context.get("sections", [])):
        for spec in section.get("charts", []):
            images[f"{index}-{spec['id']}"] = render_chart(spec)
    return images


def _encode_png(rgba: bytes, size: tuple[int, int]) -> bytes:
    """RGBA pixels -> palette PNG: no metadata chunks, no dithering, maximum compression.
    The palette holds the style's colours (so data keeps its exact colour and contrast) and
    median-cut colours for anti-aliased edges; each pixel takes its nearest palette colour
    (exact distances: Pillow's own palette lookup is approximate)."""
    import numpy as np
    from PIL import Image

    image = Image.frombuffer("RGBA", size, rgba, "raw", "RGBA", 0, 1).convert("RGB")
    edges = image.quantize(colors=PALETTE_COLOURS - len(_KEY_COLOURS),
                           method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    rgb = edges.getpalette() or []
    used = np.unique(np.asarray(edges)).tolist()  # palette entries the image uses
    palette = [int(c[i:i + 2], 16) for c in _KEY_COLOURS for i in (1, 3, 5)]
    palette += [v for index in used for v in rgb[3 * index:3 * index + 3]]
    pixels = np.asarray(image, dtype=np.int32).reshape(-1, 3)
    packed = (pixels[:, 0] << 16) | (pixels[:, 1] << 8) | pixels[:, 2]
    colours, inverse = np.unique(packed, return_inverse=True)
    channels = np.stack([colours >> 16, (colours >> 8) & 255, colours & 255], axis=1)
    entries = np.asarray(palette, dtype=np.int32).reshape(-1, 3)
    distance = ((channels[:, None, :] - entries[None, :, :]) ** 2).sum(axis=2)
    indices = distance.argmin(axis=1).astype(np.uint8)[inverse]  # ties: the style's colour
    out_image = Image.frombytes("P", size, indices.tobytes())
    out_image.putpalette(palette)
    out = io.BytesIO()
    out_image.save(out, format="PNG", optimize=True)
    return out.getvalue()


# --------------------------------------------------------------------------- helpers

def _floats(values: Sequence[Any] | None, n: int) -> list[float]:
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


def _line(ax: Axes, ys: list[float], marker: str = "o", **style: Any) -> None:
    """A line over periods 0..n-1 with gaps at NaN; a value isolated between gaps (which a
    line cannot show) is drawn as a marker."""
    xs = list(range(len(ys)))
    ax.plot(xs, ys, **style)
    alone = _isolated(ys)
    if alone:
        ax.plot([xs[i] for i in alone], [ys[i] for i in alone], linestyle="none",
                marker=marker, markersize=5, color=style.get("color"),
                zorder=style.get("zorder"))


def _ylabel(spec: dict[str, Any], default: str) -> str:
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
    char_px = 0.64 * _STYLE["xtick.labelsize"] * DPI / 72  # DejaVu Sans digit advance
    return max(2, int(PLOT_WIDTH_PX // (chars * char_px + 16)))


def _label_positions(labels: Sequence[str], max_labels: int | None = None) -> list[int]:
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


def _tick_texts(values: Sequence[float]) -> list[str]:
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


def _number_formatter() -> Formatter:
    """A matplotlib formatter that writes all of an axis' ticks with :func:`_tick_texts`."""
    from matplotlib.ticker import Formatter

    class _Numbers(Formatter):
        def format_ticks(self, values: Any) -> list[str]:
            return _tick_texts(list(values))

        def __call__(self, x: float, pos: int | None = None) -> str:
            return _tick_texts([x])[0]

    return _Numbers()


def _legend_above(ax: Axes, ncols: int, **handles: Any) -> None:
    """The legend in one row above the plot, where it never hides data."""
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=ncols, frameon=False,
              borderaxespad=0.3, handlelength=2.8, columnspacing=1.6, **handles)


def _start_marker(ax: Axes, x: float, linestyle: str) -> None:
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


def _period_axis(ax: Axes, labels: list[str], start: Any) -> None:
    """Period labels on the x axis (thinned, minor ticks at every period) and a dotted line
    before the ``start`` period if it is one of the labels; call after the data is drawn."""
    n = len(labels)
    if n:
        ax.set_xlim(-0.5 if n > 1 else -1.0, n - 0.5 if n > 1 else 1.0)
    shown = _label_positions(labels)
    ax.set_xticks(shown, [labels[i] for i in shown])
    if 1 < n <= 80:
        ax.set_xticks(range(n), minor=True)
    ax.tick_params(axis="x", which="minor", length=2)
    if start is not None:
        wanted = _normalise_period(start)
        index = next((i for i, x in enumerate(labels) if _normalise_period(x) == wanted), None)
        if index is not None:
            _start_marker(ax, index - 0.5, linestyle=":")


# --------------------------------------------------------------------------- chart kinds

def draw_paths(fig: Figure, ax: Axes, spec: dict[str, Any]) -> None:
    """Average outcome by period: pilot (solid dark blue) and comparison (dashed orange),
    with a dotted line where the pilot starts."""
    series = spec.get("series") or {}
    labels = [str(x) for x in series.get("x") or []]
    n = len(labels)
    columns = list(spec.get("columns") or [])
    names = (columns[1] if len(columns) > 1 else "Pilot areas",
             columns[2] if len(columns) > 2 else "Comparison areas")
    lines = (
        (series.get("pilot"), names[0], PILOT_COLOUR, "-", "o", 2.2, 3),
        (series.get("comparison"), names[1], COMPARISON_COLOUR, (0, (5, 2.5)), "s", 2.0, 2),
    )
    for values, name, colour, style, marker, width, z in lines:
        if values is None:
            continue
        _line(ax, _floats(values, n), marker=marker, color=colour, linestyle=style,
              linewidth=width, label=name, zorder=z)
    _period_axis(ax, labels, series.get("start"))
    ax.yaxis.set_major_formatter(_number_formatter())
    ax.set_xlabel("Period")
    ax.set_ylabel(_ylabel(spec, "Average outcome"))
    if ax.get_legend_handles_labels()[0]:
        _legend_above(ax, ncols=2)


def draw_effects(fig: Figure, ax: Axes, spec: dict[str, Any]) -> None:
    """Effect by event time with its range; 0 line; dashed line between -1 and 0; the
    reference period (-1, fixed at 0 by construction) as a hollow marker."""
    from matplotlib import ticker
    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.lines import Line2D

    series = spec.get("series") or {}
    raw_x = list(series.get("x") or [])
    n = len(raw_x)
    xs = _floats(raw_x, n)
    att, low, high = (_floats(series.get(key), n) for key in ("att", "low", "high"))
    reference = spec.get("reference", -1)
    is_ref = [x == reference for x in xs]
    ax.axhline(0.0, color=REFERENCE_COLOUR, linewidth=1.0, zorder=1)
    size = 5.5 if n <= 30 else 4.5
    bars = [i for i in range(n) if not is_ref[i] and not any(
        math.isnan(v) for v in (xs[i], low[i], high[i]))]
    if bars:
        ax.vlines([xs[i] for i in bars], [low[i] for i in bars], [high[i] for i in bars],
                  color=PILOT_COLOUR, linewidth=1.6, zorder=2)
    points = [i for i in range(n) if not is_ref[i] and not math.isnan(xs[i] + att[i])]
    handles: list[Any] = []
    names: list[str] = []
    if points or bars:
        dots = ax.plot([xs[i] for i in points], [att[i] for i in points], linestyle="none",
                       marker="o", markersize=size, color=PILOT_COLOUR, zorder=3)
        bar_key = Line2D([], [], linestyle="none", marker="|", markersize=13,
                         markeredgewidth=1.6, color=PILOT_COLOUR)
        handles.append((bar_key, dots[0]))
        names.append("Estimate and range")
    refs = [i for i in range(n) if is_ref[i]]
    if refs:
        hollow = ax.plot([xs[i] for i in refs],
                         [0.0 if math.isnan(att[i]) else att[i] for i in refs],
                         linestyle="none", marker="o", markersize=size + 0.5,
                         markerfacecolor="white", markeredgecolor=PILOT_COLOUR,
                         markeredgewidth=1.6, zorder=4)
        handles.append(hollow[0])
        names.append("Reference period (set to 0)")
    if any(x < 0 for x in xs) and any(x >= 0 for x in xs):
        _start_marker(ax, -0.5, linestyle="--")
    finite = [x for x in xs if not math.isnan(x)]
    if finite:
        ax.set_xlim(min(finite) - 0.7, max(finite) + 0.7)
    ax.xaxis.set_major_locator(ticker.MaxNLocator(nbins=12, integer=True,
                                                  steps=[1, 2, 4, 5, 10]))
    ax.xaxis.set_major_formatter(_number_formatter())
    ax.yaxis.set_major_formatter(_number_formatter())
    ax.set_xlabel("Periods from start")
    ax.set_ylabel(_ylabel(spec, "Estimated effect"))
    if handles:
        _legend_above(ax, ncols=2, handles=handles, labels=names,
                      handler_map={tuple: HandlerTuple(ndivide=1)})


CHART_KINDS: dict[str, DrawFunction] = {
    "paths": draw_paths,
    "effects": draw_effects,
}
"""Chart kind -> drawing function ``(figure, axes, spec) -> None``; the kinds of the
comparison designs ("gap", "placebo", "weights", "balance", "forest") are added by
:mod:`lpip_eval.report.charts_design`, imported below."""

from lpip_eval.report import charts_design as _design  # noqa: E402,F401  (registers kinds)
