"""Chart specifications (from ``context.py``) -> small, deterministic PNG images for e-mail.

Each chart kind is one drawing function in :data:`CHART_KINDS`; a new kind is one function
plus one registry entry. Drawing never touches ``pyplot`` (no global figure state): a
``matplotlib.figure.Figure`` is rendered by ``FigureCanvasAgg`` inside an ``rc_context`` that
starts from matplotlib's defaults, so the user's matplotlibrc and earlier calls cannot change
the picture. The same spec gives byte-identical PNG bytes (no timestamp, no software tag; the
image is reduced to a 64-colour palette, holding the style's colours exactly, without
dithering). matplotlib and Pillow (a matplotlib dependency) are imported lazily, so importing
this module is cheap. The kinds of the comparison designs live in ``charts_design.py``; the
size, colours, style and drawing helpers all kinds share in ``chart_style.py``.

Decisions, for e-mail readers:

- 560 x 340 px at 100 dpi: fits a 600 px e-mail column without scaling.
- No title in the image: the HTML around it carries the title and the alt text.
- Colours pass WCAG contrast (>= 4.5:1 on white) and are told apart by colour-blind readers
  (dark blue vs dark orange); lines and markers also differ in style, not only in colour.
- Missing values (None/NaN) leave gaps; a point with no neighbours is drawn as a marker.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any

from lpip_eval.report.chart_style import (
    COMPARISON_COLOUR,
    DPI,
    HEIGHT_PX,
    KEY_COLOURS,
    PALETTE_COLOURS,
    PILOT_COLOUR,
    REFERENCE_COLOUR,
    STYLE,
    WIDTH_PX,
    DrawFunction,
    floats,
    legend_above,
    number_formatter,
    period_axis,
    plot_line,
    start_marker,
    ylabel,
)
from lpip_eval.report.charts_design import DESIGN_KINDS, set_ylabel
from lpip_eval.report.charts_plan import PLAN_KINDS
from lpip_eval.report.sensitivity import SENSITIVITY_KINDS

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure


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
        mpl.rcParams.update(STYLE)
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
    edges = image.quantize(colors=PALETTE_COLOURS - len(KEY_COLOURS),
                           method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    rgb = edges.getpalette() or []
    used = np.unique(np.asarray(edges)).tolist()  # palette entries the image uses
    palette = [int(c[i:i + 2], 16) for c in KEY_COLOURS for i in (1, 3, 5)]
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
        plot_line(ax, floats(values, n), marker=marker, color=colour, linestyle=style,
                  linewidth=width, label=name, zorder=z)
    period_axis(ax, labels, series.get("start"))
    ax.yaxis.set_major_formatter(number_formatter())
    ax.set_xlabel("Period")
    set_ylabel(ax, ylabel(spec, "Average outcome"))
    if ax.get_legend_handles_labels()[0]:
        legend_above(ax, ncols=2)


def reference_points(xs: list[float], att: list[float], reference: float) -> list[bool]:
    """Which points are the reference period, drawn hollow as "set to 0": the period at
    ``reference`` only when its effect really is 0 (or missing), as in an event study. A
    synthetic control's or matched comparison's gap at -1 is an estimate (+1,867 for Texas),
    drawn like the others, not labelled as fixed at 0 (issue 13)."""
    finite = [abs(a) for a in att if not math.isnan(a)]
    tol = 1e-9 * max(finite, default=1.0)
    return [x == reference and (math.isnan(a) or abs(a) <= tol) for x, a in zip(xs, att,
                                                                               strict=True)]


def draw_effects(fig: Figure, ax: Axes, spec: dict[str, Any]) -> None:
    """Effect by event time with its range; 0 line; dashed line between -1 and 0; the
    reference period (-1, fixed at 0 by construction) as a hollow marker."""
    from matplotlib import ticker
    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.lines import Line2D

    series = spec.get("series") or {}
    raw_x = list(series.get("x") or [])
    n = len(raw_x)
    xs = floats(raw_x, n)
    att, low, high = (floats(series.get(key), n) for key in ("att", "low", "high"))
    is_ref = reference_points(xs, att, spec.get("reference", -1))
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
        # the legend promises a range only where one is drawn (issue 13)
        handles.append((bar_key, dots[0]) if bars else dots[0])
        names.append((spec.get("range_label") or "Estimate and range") if bars else "Estimate")
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
        start_marker(ax, -0.5, linestyle="--")
    finite = [x for x in xs if not math.isnan(x)]
    if finite:
        ax.set_xlim(min(finite) - 0.7, max(finite) + 0.7)
    ax.xaxis.set_major_locator(ticker.MaxNLocator(nbins=12, integer=True,
                                                  steps=[1, 2, 4, 5, 10]))
    ax.xaxis.set_major_formatter(number_formatter())
    ax.yaxis.set_major_formatter(number_formatter())
    ax.set_xlabel("Periods from start")
    set_ylabel(ax, ylabel(spec, "Estimated effect"))
    if handles:
        legend_above(ax, ncols=2, handles=handles, labels=names,
                     handler_map={tuple: HandlerTuple(ndivide=1)})


CHART_KINDS: dict[str, DrawFunction] = {
    "paths": draw_paths,
    "effects": draw_effects,
    **DESIGN_KINDS,
    **PLAN_KINDS,
    **SENSITIVITY_KINDS,
}
"""Chart kind -> drawing function ``(figure, axes, spec) -> None``: the two kinds above and
the comparison designs' kinds ("gap", "placebo", "weights", "balance", "forest") of
:data:`lpip_eval.report.charts_design.DESIGN_KINDS`, the planning report's "tradeoff"
(:data:`lpip_eval.report.charts_plan.PLAN_KINDS`) and "sensitivity" (HonestDiD intervals
against M) of :mod:`lpip_eval.report.sensitivity`."""
