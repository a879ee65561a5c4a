"""Reports on staggered starts (issue 11; the castle-doctrine case of the new-user trial,
``/work/shared/reviews/new-user-trial.md`` 2b): the start sentence names the waves, a cohort
table lists start, areas and periods before/after, and the parallel-trends row says why it
was not tested (per cohort, not "too few periods" when there are 6+)."""

from __future__ import annotations

from typing import Any

import pytest
from castle_data import castle_result
from report_fixtures import did_twfe

from lpip_eval.report import render
from lpip_eval.report.cohorts import untested_reason
from lpip_eval.report.context import build_context

DESIGNS = ("twfe", "callaway-santanna", "sun-abraham", "imputation")
# castle, causaldata 0.1.5: 2000-2010, adoptions 2006:1, 2007:13, 2008:4, 2009:2, 2010:1
WAVES = [("2006", 1, 6, 5), ("2007", 13, 7, 4), ("2008", 4, 8, 3), ("2009", 2, 9, 2),
         ("2010", 1, 10, 1)]


def _context(design: str) -> dict[str, Any]:
    return build_context([castle_result(design).to_dict()])


@pytest.mark.parametrize("design", DESIGNS)
def test_castle_start_text_and_cohort_table(design: str) -> None:
    periods = _context(design)["main"]["periods"]
    assert periods["waves"] == "The pilots started between 2006 and 2010 in 5 waves."
    assert periods["start"] is None  # no "the pilot started in 2006"
    rows = [(c["start"], c["areas"], c["before"], c["after"]) for c in periods["cohorts"]]
    assert rows == WAVES


def test_untested_row_gives_the_real_reason() -> None:
    checks = _context("twfe")["main"]["checks"]
    row = next(c for c in checks if c["assumption"].startswith("Parallel trends"))
    assert "too few periods" not in row["check"]
    assert "Callaway & Sant'Anna" in row["check"] and "--" not in row["check"]


def test_imputation_runs_its_own_pre_trend_test() -> None:
    """BJS's lead test on the untreated observations: the imputation design is no longer
    'untested' (and capped at level 2 for it) on castle's 6+ pre-periods."""
    checks = _context("imputation")["main"]["checks"]
    row = next(c for c in checks if c["assumption"].startswith("Parallel trends"))
    assert row["check"].startswith("BJS (2024) pre-trend test")
    assert row["status"] in ("Passed", "Concern")


def test_too_few_periods_is_computed_per_cohort() -> None:
    result = did_twfe()
    del result["diagnostics"]["pretrend_test"]
    result["design"] = "Callaway & Sant'Anna (2021) staggered difference-in-differences"
    result["diagnostics"]["cohorts"] = [
        {"start": "2020Q2", "areas": 1, "periods_before": 1, "periods_after": 7},
        {"start": "2021Q1", "areas": 1, "periods_before": 4, "periods_after": 4},
        {"start": "never", "areas": 3, "periods_before": 8, "periods_after": 0}]
    assert untested_reason(result) == ("Not testable here (too few periods before the "
                                       "start: 2020Q2 (1)).")


def test_rendered_reports_show_the_waves() -> None:
    context = _context("callaway-santanna")
    html = render.render_html(context, {})
    assert "The pilots started between 2006 and 2010 in 5 waves." in html
    assert "The pilot started in" not in html
    assert "<caption>Pilot waves</caption>" in html
    markdown = render.render_markdown(context)
    assert "| 2007 | 13 | 7 | 4 |" in markdown
    text = render.render_text(context)
    assert "2007: 13 areas, 7 periods before, 4 from the start on" in text
    assert "2010: 1 area, 10 periods before" in text  # not "1 areas"


@pytest.mark.parametrize("design", DESIGNS)
def test_details_and_chart_text_give_every_wave_not_the_first(design: str) -> None:
    """Castle doctrine starts 2006-2010: the details table said "Start: 2006" and the paths
    chart's alt text "the pilot starts at 2006", as if every pilot had."""
    main = _context(design)["main"]
    details = {row["item"]: row["value"] for row in main["table"]}
    assert details["Start"] == "Between 2006 and 2010 in 5 waves"
    if design == "callaway-santanna":  # the design whose result carries the group means
        paths = next(c for c in main["charts"] if c["id"] == "paths")
        assert "the pilots start between 2006 and 2010 in 5 waves" in paths["alt"]
        assert "the pilot starts at" not in paths["alt"]


def test_common_start_keeps_its_sentence() -> None:
    periods = build_context([did_twfe()])["main"]["periods"]
    assert "waves" not in periods and "cohorts" not in periods
    assert periods["start"] == "2021Q3"


def test_a_uniform_band_is_named_as_such() -> None:
    """Issue 11: the event-study chart with its uniform band. With the multiplier bootstrap the
    intervals hold for all event times at once (diagnostics.event_study_band); the legend,
    the alt text and the numbers' column say so, instead of 'range'."""
    from report_fixtures import did_event_study

    from lpip_eval.report.context import build_context

    result = did_event_study()
    plain = next(c for c in build_context([result])["main"]["charts"] if c["id"] == "effects")
    assert "range_label" not in plain and plain["columns"][-1] == "Range"
    result["diagnostics"]["event_study_band"] = {"kind": "uniform (simultaneous over event "
                                                 "times)", "critical_value": 2.56}
    chart = next(c for c in build_context([result])["main"]["charts"] if c["id"] == "effects")
    assert chart["range_label"] == "Estimate and 95% band for all periods at once"
    assert chart["columns"][-1] == "95% band, all periods at once"
    assert "band that holds for all periods at once" in chart["alt"]


def test_relative_magnitude_ranges_cut_by_the_search_say_so() -> None:
    """Castle doctrine, Callaway & Sant'Anna with a universal base: from Mbar = 0.5 the C-LF
    set reaches the end of R HonestDiD's grid (+-20 standard errors of the target) and is
    cut there. The row is flagged and the report says "or wider" instead of printing the
    grid's ends as if they were the range."""
    result = castle_result("callaway-santanna", base_period="universal",
                           sensitivity=("relative-magnitudes",))
    entry = next(e for e in result.diagnostics["sensitivity"]
                 if e["method"] == "relative-magnitudes")
    low_end, high_end = entry["search_range"]
    flags = {row["m"]: row["reaches_search_limit"] for row in entry["rows"]}
    assert flags[0.0] is False and flags[2.0] is True
    cut = next(r for r in entry["rows"] if r["m"] == 2.0)
    assert cut["ci_low"] == pytest.approx(low_end) or cut["ci_high"] == pytest.approx(high_end)
    chart = next(c for c in build_context([result.to_dict()])["main"]["charts"]
                 if c["id"] == "sensitivity-relative-magnitudes")
    cells = {row[0]: row[1] for row in chart["rows"]}
    assert cells["2.00"].endswith("or wider") and not cells["0.00"].endswith("or wider")
    assert "at least that wide" in chart["alt"]
    assert chart["series"]["open"][0] is False and chart["series"]["open"][-1] is True
