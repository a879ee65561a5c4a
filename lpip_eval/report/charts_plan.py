"""The planning report's chart kind: the trade-off of the minimum detectable effect.

``"tradeoff"``: the formula's MDE (Burlig, Preonas & Woerman 2020) as one size of the plan
varies (pilot areas, periods after the start, comparison areas), the others held as planned;
the planned size marked, the effect hoped for as a dashed line. :data:`PLAN_KINDS` joins the
registry :data:`lpip_eval.report.charts.CHART_KINDS`; the drawing follows the rules of
``charts.py`` (no title in the image, colours of ``chart_style.py`` told apart also by marker
and line style, NaN/None tolerated, matplotlib imported lazily).

Spec: ``{"id", "kind": "tradeoff", "title", "alt", "xlabel", "ylabel", "series": {"x": [...],
"mde": [...], "planned": x0, "expected": effect or None}}``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from lpip_eval.report.chart_style import (
    COMPARISON_COLOUR,
    PILOT_COLOUR,
    REFERENCE_COLOUR,
    DrawFunction,
    floats,
    legend_above,
    number_formatter,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def draw_tradeoff(fig: Figure, ax: Axes, spec: dict[str, Any]) -> None:
    """MDE against one size (log-2 x axis, a tick at every size), the plan as a diamond."""
    from matplotlib import ticker

    series = spec.get("series") or {}
    raw_x = floats(series.get("x"), len(series.get("x") or []))
    mde = floats(series.get("mde"), len(raw_x))
    points = sorted((x, y) for x, y in zip(raw_x, mde, strict=True)
                    if math.isfinite(x) and x > 0 and math.isfinite(y))
    handles, names = [], []
    if points:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        (line,) = ax.plot(xs, ys, color=PILOT_COLOUR, linewidth=2.0, marker="o",
                          markersize=4.5, zorder=3)
        handles.append(line)
        names.append("MDE (formula)")
        planned = series.get("planned")
        at = [(x, y) for x, y in points if x == planned]
        if at:
            (mark,) = ax.plot([at[0][0]], [at[0][1]], linestyle="none", marker="D", markersize=9,
                              color=COMPARISON_COLOUR, zorder=4)
            handles.append(mark)
            names.append("As planned")
        ax.set_xscale("log", base=2)
        ax.set_xticks(_spaced(xs, planned))
        ax.set_xticks(xs, minor=True)
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xlim(xs[0] / 1.25, xs[-1] * 1.25)
    expected = series.get("expected")
    if isinstance(expected, int | float) and math.isfinite(expected) and expected > 0:
        line = ax.axhline(float(expected), color=REFERENCE_COLOUR, linestyle="--",
                          linewidth=1.2, zorder=2)
        handles.append(line)
        names.append("Effect hoped for")
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_formatter(number_formatter())
    ax.yaxis.set_major_formatter(number_formatter())
    ax.set_xlabel(str(spec.get("xlabel") or ""))
    ax.set_ylabel(str(spec.get("ylabel") or "Minimum detectable effect"))
    if handles:
        legend_above(ax, ncols=len(handles), handles=handles, labels=names)
    else:
        ax.text(0.5, 0.5, "No trade-off to show", transform=ax.transAxes, ha="center",
                va="center")


def _spaced(xs: list[float], planned: Any, gap: float = 0.5) -> list[float]:
    """The x values to label: the planned one, then the others in order, each at least
    ``gap`` doublings from every labelled one (on a log-2 axis labels would overlap)."""
    kept = [float(planned)] if isinstance(planned, int | float) and planned in xs else []
    for x in xs:
        if all(abs(math.log2(x) - math.log2(k)) >= gap for k in kept):
            kept.append(x)
    return sorted(kept)


PLAN_KINDS: dict[str, DrawFunction] = {"tradeoff": draw_tradeoff}
"""Chart kind -> drawing function of the planning report."""
