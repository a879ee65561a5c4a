"""The planning report's trade-off charts (chart kind "tradeoff") and its e-mail (`plan
--eml`, the single report's MIME builder), issue 15 items 3 and 4."""

from __future__ import annotations

import copy
import json
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lpip_eval.cli.commands import app
from lpip_eval.report.charts import CHART_KINDS, draw_chart, render_chart
from lpip_eval.report.charts_plan import draw_tradeoff
from lpip_eval.report.plan import plan_context, render_plan_outputs

WHAT_IF = ["plan", "--n-areas", "40", "--n-treated", "4", "--n-pre", "12", "--n-post", "8",
           "--sd", "1.2", "--rho", "0.7", "--expected-effect", "1.5"]


@pytest.fixture(scope="module")
def plan() -> dict[str, Any]:
    out = CliRunner().invoke(app, [*WHAT_IF, "--json", "-"])
    assert out.exit_code == 0, out.output
    return dict(json.loads(out.stdout))


def test_one_tradeoff_chart_per_size_that_varies(plan: dict[str, Any]) -> None:
    charts = plan_context(plan)["charts"]
    assert [c["id"] for c in charts] == ["tradeoff-pilot_areas", "tradeoff-post_periods",
                                         "tradeoff-comparison_areas"]
    assert CHART_KINDS["tradeoff"] is draw_tradeoff
    by_vary = {c["id"]: c for c in charts}
    pilots = by_vary["tradeoff-pilot_areas"]["series"]
    rows = [r for r in plan["curve"] if r["vary"] == "pilot_areas"]
    assert pilots["x"] == [r["n_treated"] for r in rows]
    assert pilots["mde"] == [r["mde"] for r in rows]
    assert pilots["planned"] == 4 and pilots["expected"] == 1.5
    comparisons = by_vary["tradeoff-comparison_areas"]["series"]
    assert comparisons["planned"] == 36 and 36 in comparisons["x"]
    assert "as planned, 36" in by_vary["tradeoff-comparison_areas"]["alt"]


def test_tradeoff_chart_draws_the_plan_and_is_deterministic(plan: dict[str, Any]) -> None:
    spec = plan_context(plan)["charts"][0]
    canvas = draw_chart(spec)
    ax = canvas.figure.axes[0]
    lines = ax.get_lines()
    # the curve, the planned point (one diamond at x = 4) and the hoped-for effect
    assert len(lines) == 3
    curve, mark, hoped = lines
    assert list(curve.get_xdata()) == spec["series"]["x"]
    assert list(mark.get_xdata()) == [4] and mark.get_marker() == "D"
    assert list(hoped.get_ydata()) == [1.5, 1.5]
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "MDE (formula)", "As planned", "Effect hoped for"]
    png = render_chart(spec)
    assert png.startswith(b"\x89PNG") and render_chart(copy.deepcopy(spec)) == png


def test_tradeoff_chart_tolerates_missing_values() -> None:
    spec = {"id": "t", "kind": "tradeoff", "series": {"x": [1, 2, None], "mde": [None,
                                                                                float("nan"),
                                                                                1.0]}}
    assert render_chart(spec).startswith(b"\x89PNG")
    assert render_chart({"id": "t", "kind": "tradeoff"}).startswith(b"\x89PNG")


def test_html_report_embeds_the_charts(plan: dict[str, Any]) -> None:
    [(path, html)] = render_plan_outputs(plan, html="p.html", eml=None, markdown=None)
    assert path == "p.html" and isinstance(html, str)
    assert html.count('src="data:image/png;base64,') == 3
    assert "Figure 3. Minimum detectable effect by the number of comparison areas" in html


def test_eml_is_a_draft_with_the_charts_inline(plan: dict[str, Any], tmp_path: Path) -> None:
    target = tmp_path / "plan.eml"
    out = CliRunner().invoke(app, [*WHAT_IF, "--eml", str(target), "--quiet"])
    assert out.exit_code == 0, out.output
    data = target.read_bytes()
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert message["X-Unsent"] == "1"
    assert str(message["Subject"]).startswith("Planning: could the pilot's effect be "
                                              "detected?: With 4 pilot areas")
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert "would detect an effect" in text.get_content()
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 3
    body = html.get_content()
    for image in images:
        assert f"cid:{image['Content-ID'].strip('<>')}" in body
    again = CliRunner().invoke(app, [*WHAT_IF, "--eml", str(target), "--quiet"])
    assert again.exit_code == 0 and target.read_bytes() == data  # byte-identical
