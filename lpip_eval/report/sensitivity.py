"""HonestDiD sensitivity in the report (Rambachan & Roth 2023): a check sentence with the
breakdown value and a chart of the intervals against M (or Mbar), from the result's
``diagnostics.sensitivity`` (written by :mod:`lpip_eval.methods.sensitivity.honest`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from lpip_eval.numbers import fmt_number
from lpip_eval.report.chart_style import (
    PILOT_COLOUR,
    REFERENCE_COLOUR,
    DrawFunction,
    floats,
    legend_above,
    number_formatter,
    ylabel,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ORIGINAL_COLOUR = "#6b6b6b"


def _target(entry: dict[str, Any]) -> str:
    return ("the effect in the first period after the start" if entry.get("target") == "first"
            else "the average effect after the start")


def _excludes_zero(entry: dict[str, Any]) -> bool:
    original = entry.get("original") or {}
    low, high = original.get("ci_low"), original.get("ci_high")
    return low is not None and high is not None and (low > 0 or high < 0)


def sentence(entry: dict[str, Any], unit: str = "") -> str:
    """The breakdown value in words."""
    value = entry.get("breakdown")
    relative = entry.get("method") == "relative-magnitudes"
    target = _target(entry)
    if not _excludes_zero(entry):
        return (f"The usual range for {target} already includes zero, so there is no "
                "conclusion for differing trends to overturn.")
    if value is None:
        return (f"The range for {target} includes zero as soon as post-period trends are "
                "allowed to differ from the pre-period ones at all: the conclusion rests "
                "entirely on parallel trends.")
    if relative:
        if entry.get("breakdown_note"):
            return (f"The conclusion about {target} holds even if post-period trends differed "
                    f"by {fmt_number(value, 2)}x the largest pre-period change.")
        return (f"The conclusion about {target} holds unless post-period trends could differ "
                f"by more than {fmt_number(value, 2)}x the largest change between "
                "consecutive periods before the start.")
    units = f" {unit}" if unit else ""
    return (f"The conclusion about {target} holds unless the difference in trends could "
            f"bend by more than {fmt_number(value, 4)}{units} per period, each period, away "
            "from a straight-line continuation of the pre-period difference.")


def sensitivity_checks(result: dict[str, Any], unit: str = "") -> list[dict[str, Any]]:
    """One check per sensitivity analysis in the result."""
    checks = []
    for entry in (result.get("diagnostics") or {}).get("sensitivity", []):
        relative = entry.get("method") == "relative-magnitudes"
        value = entry.get("breakdown")
        symbol = "Mbar" if relative else "M"
        checks.append({
            "assumption": "Robustness to differing trends (HonestDiD, Rambachan & Roth 2023).",
            "check": ("relative magnitudes: post-period trend changes up to Mbar times the "
                      "largest pre-period change" if relative else
                      "smoothness: the trend difference may bend by up to M per period"),
            "result": (f"breakdown {symbol} = {fmt_number(value, 2 if relative else 4)}"
                       if value is not None else "breakdown: none"),
            # passed: the conclusion survives pre-period-sized changes (Mbar >= 1), or for
            # smoothness any bend at all (M has no scale-free threshold)
            "ok": value is not None and (value >= 1 if relative else True),
            "verdict": sentence(entry, unit),
        })
    return checks


def sensitivity_charts(result: dict[str, Any], label: str, unit: str) -> list[dict[str, Any]]:
    """A chart per sensitivity analysis: the original range, then the range at each M."""
    charts = []
    for entry in (result.get("diagnostics") or {}).get("sensitivity", []):
        relative = entry.get("method") == "relative-magnitudes"
        symbol = "Mbar" if relative else "M"
        rows = entry.get("rows", [])
        original = entry.get("original") or {}
        digits = 2 if relative else 4
        charts.append({
            "id": f"sensitivity-{entry.get('method')}",
            "kind": "sensitivity",
            "title": (f"How the range for {_target(entry)} widens as trends may differ "
                      f"({'relative magnitudes' if relative else 'smoothness'})"),
            "ylabel": f"Effect on {label}" + (f" ({unit})" if unit else ""),
            "xlabel": ("Mbar: post-period change / largest pre-period change" if relative
                       else "M: bend in the trend difference per period"
                       + (f" ({unit})" if unit else "")),
            "alt": (f"Ranges for {_target(entry)}: the usual range, then the range allowing "
                    f"{symbol} from {fmt_number(rows[0]['m'], digits) if rows else ''} to "
                    f"{fmt_number(rows[-1]['m'], digits) if rows else ''}. "
                    f"{sentence(entry, unit)}"
                    + (f" {SEARCH_LIMIT_NOTE}" if any(r.get("reaches_search_limit")
                                                      for r in rows) else "")),
            "columns": [symbol, "Range"],
            "rows": [["usual range", f"{fmt_number(original.get('ci_low'), 3)} to "
                                     f"{fmt_number(original.get('ci_high'), 3)}"]]
            + [[fmt_number(r["m"], digits), _range_text(r)] for r in rows],
            "series": {"labels": ["usual"] + [fmt_number(r["m"], digits) for r in rows],
                       "low": [original.get("ci_low")] + [r["ci_low"] for r in rows],
                       "high": [original.get("ci_high")] + [r["ci_high"] for r in rows],
                       "open": [False] + [bool(r.get("reaches_search_limit")) for r in rows],
                       "breakdown": entry.get("breakdown")},
        })
    return charts


SEARCH_LIMIT_NOTE = ("Ranges marked \"or wider\" reach the edge of the search (20 standard "
                     "errors beyond zero and beyond the estimate), so they are at least that "
                     "wide.")


def _range_text(row: dict[str, Any]) -> str:
    text = f"{fmt_number(row['ci_low'], 3)} to {fmt_number(row['ci_high'], 3)}"
    return f"{text} or wider" if row.get("reaches_search_limit") else text


def draw_sensitivity(fig: Figure, ax: Axes, spec: dict[str, Any]) -> None:
    """Ranges as vertical bars: the usual one (grey) then one per M; a line at 0."""
    from matplotlib.lines import Line2D

    series = spec.get("series") or {}
    labels = [str(v) for v in series.get("labels") or []]
    n = len(labels)
    low, high = floats(series.get("low"), n), floats(series.get("high"), n)
    ax.axhline(0.0, color=REFERENCE_COLOUR, linewidth=1.0, zorder=1)
    for i in range(n):
        if math.isnan(low[i]) or math.isnan(high[i]):
            continue
        opened = bool((series.get("open") or [False] * n)[i])
        colour = ORIGINAL_COLOUR if i == 0 else PILOT_COLOUR
        ax.plot([i, i], [low[i], high[i]], color=colour, linewidth=2.4, solid_capstyle="butt",
                linestyle=":" if opened else "-", marker="none" if opened else "_",
                markersize=10, markeredgewidth=2.0, zorder=2)
        if opened:  # cut at the search limit: arrows say the range goes on
            ax.plot([i, i], [low[i], high[i]], linestyle="none", marker="v", markersize=7,
                    color=colour, zorder=3, markevery=[0])
            ax.plot([i, i], [low[i], high[i]], linestyle="none", marker="^", markersize=7,
                    color=colour, zorder=3, markevery=[1])
    ax.set_xticks(range(n), labels)
    ax.set_xlim(-0.6, max(n, 1) - 0.4)
    ax.yaxis.set_major_formatter(number_formatter())
    ax.set_xlabel(str(spec.get("xlabel") or ""))
    ax.set_ylabel(ylabel(spec, "Estimated effect"))
    if n:
        handles = [Line2D([], [], color=ORIGINAL_COLOUR, linewidth=2.4),
                   Line2D([], [], color=PILOT_COLOUR, linewidth=2.4)]
        labels = ["Usual range", "Range allowing differing trends"]
        if any(series.get("open") or []):
            handles.append(Line2D([], [], color=PILOT_COLOUR, linewidth=2.4, linestyle=":",
                                  marker="^", markersize=7))
            labels.append("At least this wide (the edge of the search)")
        legend_above(ax, ncols=len(labels), handles=handles, labels=labels)


SENSITIVITY_KINDS: dict[str, DrawFunction] = {"sensitivity": draw_sensitivity}
