"""The HonestDiD sensitivity in the report (issue 11, item 3): the breakdown in words and the
chart of intervals against M. Numbers: the Medicaid example's relative-magnitudes breakdown
(about 1.96, HonestDiD README) and its smoothness breakdown (about 0.0228)."""

from __future__ import annotations

from typing import Any

from lpip_eval.report.charts import draw_chart, render_chart
from lpip_eval.report.context import build_context
from lpip_eval.report.sensitivity import sensitivity_charts, sensitivity_checks

ORIGINAL = {"ci_low": 0.028510, "ci_high": 0.064384}


def _entry(method: str, breakdown: float | None, **extra: Any) -> dict[str, Any]:
    return {"method": method, "target": "first", "target_periods": [0],
            "original": dict(ORIGINAL),
            "parameter": "Mbar" if method == "relative-magnitudes" else "M",
            "rows": [{"m": 0.5, "ci_low": 0.0240, "ci_high": 0.0669},
                     {"m": 2.0, "ci_low": -0.0005, "ci_high": 0.0881}],
            "breakdown": breakdown, **extra}


def _result(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"method": "did", "diagnostics": {"sensitivity": list(entries)}, "outcome": "dins"}


def test_breakdown_in_words() -> None:
    rm, sd = sensitivity_checks(_result(_entry("relative-magnitudes", 1.9696),
                                        _entry("smoothness", 0.02284)), unit="share")
    assert "more than 1.97x the largest change" in rm["verdict"]
    assert "first period after the start" in rm["verdict"]
    assert rm["result"] == "breakdown Mbar = 1.97" and rm["ok"] is True
    assert "more than 0.0228 share per period" in sd["verdict"]
    assert sd["ok"] is True


def test_no_breakdown_and_no_conclusion() -> None:
    (none,) = sensitivity_checks(_result(_entry("relative-magnitudes", None)))
    assert "rests entirely on parallel trends" in none["verdict"] and none["ok"] is False
    wide = _entry("smoothness", None, original={"ci_low": -0.01, "ci_high": 0.05})
    (check,) = sensitivity_checks(_result(wide))
    assert "already includes zero" in check["verdict"]


def test_chart_of_intervals_against_m() -> None:
    (chart,) = sensitivity_charts(_result(_entry("relative-magnitudes", 1.9696)), "insurance",
                                  "")
    assert chart["kind"] == "sensitivity"
    assert chart["series"]["labels"] == ["usual", "0.50", "2.00"]
    assert chart["rows"][0][0] == "usual range"
    canvas = draw_chart(chart)
    ax = canvas.figure.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["usual", "0.50", "2.00"]
    assert render_chart(chart).startswith(b"\x89PNG")


def test_context_carries_the_check_and_chart() -> None:
    from report_fixtures import did_event_study

    result = did_event_study()
    result["diagnostics"]["sensitivity"] = [_entry("relative-magnitudes", 1.9696)]
    section = build_context([result])["sections"][0]
    assert any("1.97x" in c["verdict"] for c in section["checks"])
    assert any(c["kind"] == "sensitivity" for c in section["charts"])
