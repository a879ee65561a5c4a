"""The Goodman-Bacon decomposition in the report (issue 11: TWFE on staggered data 'with a
Goodman-Bacon decomposition in diagnostics ... shown in the report'), and the pilot waves in
the e-mail. Castle doctrine (causaldata ``castle``, Cheng & Hoekstra 2013): TWFE 0.069, 2% of
its weight on later-vs-earlier comparisons (tests/methods/test_bacon.py checks the numbers
against diff-diff)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import causaldata  # test dependency (pyproject [test])

from lpip_eval.data.panel import PanelSpec, panel_from_frame
from lpip_eval.methods.did import DidSpec, estimate_did
from lpip_eval.report.context import build_context
from lpip_eval.report.email import chart_cids
from lpip_eval.report.render import render_email_html, render_markdown, render_text


@cache
def _castle_twfe() -> dict[str, Any]:
    frame = causaldata.castle.load_pandas().data
    panel = panel_from_frame(frame, PanelSpec(data=Path("castle.csv"), area_col="sid",
                                              period_col="year", outcome="l_homicide",
                                              treatment_col="post"))
    return estimate_did(panel, DidSpec(design="twfe", inference="cluster")).to_dict()


def test_the_decomposition_is_in_every_report() -> None:
    context = build_context([_castle_twfe()])
    bacon = context["main"]["periods"]["bacon"]
    assert bacon["text"].startswith("The two-way fixed effects estimate (+0.07) is a weighted "
                                    "average of 25 two-group comparisons")
    assert "2% of its weight comes from comparing later pilots" in bacon["text"]
    kinds = [r["kind"] for r in bacon["rows"]]
    assert kinds[0] == "pilot areas against areas never in the pilot"
    assert [r["weight"] for r in bacon["rows"]] == ["90%", "8%", "2%"]
    assert "| Pilot areas against areas never in the pilot | 5 | 90% | +0.08 |" in \
        render_markdown(context)
    assert "2% of the weight" in " ".join(render_text(context).split())
    email = render_email_html(context, chart_cids({}))
    assert "What the two-way fixed effects estimate averages" in email
    assert "Pilot waves" in email  # the waves table reaches the e-mail too


def test_no_decomposition_without_staggered_starts() -> None:
    result = _castle_twfe()
    result = {**result, "diagnostics": {k: v for k, v in result["diagnostics"].items()
                                        if k != "goodman_bacon"}}
    assert build_context([result])["main"]["periods"]["bacon"] is None
