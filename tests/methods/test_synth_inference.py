"""Synthetic-control inference on real data (issue 12): exact fits, scale, hull, ratings.

Data: ``causaldata`` 0.1.5 (installed, read offline): ``organ_donations`` (Kessler & Roth
2012 via The Effect, 27 states, quarterly 2010Q4-2012Q1, California from 2011Q3), ``castle``
(Cheng & Hoekstra 2013, the 4 states starting in 2008 against the 29 never treated) and
``texas`` (Mixtape: Texas prison expansion, 1993). Numbers checked are behaviours, not
values: every range finite and within a few outcome SDs, an exact fit flagged as overfitting
and not rated level 3 (new-user trial, sec. 2c-2d: ranges of +-9e11 and +-2e12 before).
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import causaldata  # test dependency (pyproject [test]); a missing peer fails
import numpy as np
import pandas as pd
import pytest

from lpip_eval.data.panel import Panel, PanelSpec, panel_from_frame
from lpip_eval.methods.synth.classic import SynthSpec, estimate_synth
from lpip_eval.results.result import EffectResult

QUICK = {"placebo_in_time": False, "leave_one_out": False}


def _panel(frame: pd.DataFrame, **spec: object) -> Panel:
    return panel_from_frame(frame, PanelSpec(data=Path("data.csv"), **spec))  # type: ignore[arg-type]


@cache
def organ_panel() -> Panel:
    frame = causaldata.organ_donations.load_pandas().data
    return _panel(frame, area_col="State", period_col="Quarter", outcome="Rate",
                  treated=("California",), start="2011Q3")


@cache
def castle_panel() -> Panel:
    frame = causaldata.castle.load_pandas().data
    first = frame[frame["post"] > 0].groupby("sid")["year"].min()
    cohort = sorted(int(s) for s in first[first == 2008].index)
    keep = frame[~frame["sid"].isin(first.index) | frame["sid"].isin(cohort)]
    return _panel(keep[["sid", "year", "l_homicide"]], area_col="sid", period_col="year",
                  outcome="l_homicide", treated=tuple(str(s) for s in cohort), start="2008")


@cache
def texas_frame() -> pd.DataFrame:
    return causaldata.texas.load_pandas().data


def _outcome_sd(panel: Panel) -> float:
    return float(np.std(panel.y, ddof=1))


def _assert_range_on_scale(result: EffectResult, panel: Panel) -> None:
    est = result.estimate
    low, high = est.ci_low, est.ci_high
    if math.isnan(low) or math.isnan(high):  # no range: then say why
        assert est.inference.details.get("range_note")
        return
    assert math.isfinite(low) and math.isfinite(high)
    assert low <= est.att <= high
    assert high - low < 20 * _outcome_sd(panel)


def test_organ_donations_exact_fit_is_overfitting_and_ranked_on_post_rmspe() -> None:
    panel = organ_panel()
    result = estimate_synth(panel, SynthSpec(**QUICK))  # type: ignore[arg-type]
    details = result.estimate.inference.details
    assert details["statistic"] == "post-period RMSPE"
    assert details["exact_fit"]["pilot"] and len(details["exact_fit"]["placebos"]) >= 10
    assert details["pilot_ratio"] is None
    _assert_range_on_scale(result, panel)
    assert 1 / 27 <= result.estimate.p_value <= 1
    fit = result.diagnostics["pre_fit"]
    assert fit["exact"] and fit["overfit"]
    check = result.diagnostics["checks"][0]
    assert check["ok"] is False and "Overfitting" in check["verdict"]
    assert result.evidence["level"] == 2
    assert any("overfitting" in r for r in result.evidence["reasons"])
    table = next(c for c in result.diagnostics["charts"] if c["kind"] == "placebo")
    assert all("e+" not in str(row[2]) and len(str(row[2])) < 40 for row in table["rows"])


def test_organ_donations_nearest_donors_range_is_finite() -> None:
    panel = organ_panel()
    result = estimate_synth(panel, SynthSpec(donors_nearest=5, **QUICK))  # type: ignore[arg-type]
    _assert_range_on_scale(result, panel)


def test_castle_2008_aggregate_range_on_the_outcome_scale() -> None:
    panel = castle_panel()
    result = estimate_synth(panel, SynthSpec(aggregate=True, **QUICK))  # type: ignore[arg-type]
    details = result.estimate.inference.details
    assert details["exact_fit"]["placebos"]  # area 48 fits exactly (trial: ratio 6.8e13)
    assert details["statistic"] == "post-period RMSPE"
    _assert_range_on_scale(result, panel)


@pytest.mark.parametrize("options", [
    {},
    {"predictors": ("bmprison:1988", "bmprison:1990", "bmprison:1991", "bmprison:1992",
                    "alcohol:1990", "aidscapita:1990", "income", "ur", "poverty")},
])
def test_texas_classic_ranges_finite(options: dict[str, object]) -> None:
    from lpip_eval.methods.synth.designs import parse_classic

    covariates = ("alcohol", "aidscapita", "income", "ur", "poverty") if options else ()
    panel = _panel(texas_frame(), area_col="state", period_col="year", outcome="bmprison",
                   treated=("Texas",), start="1993", covariates=covariates)
    spec = SynthSpec(**parse_classic({**options, **QUICK}, where=None, outcome="bmprison"))
    result = estimate_synth(panel, spec)
    assert result.estimate.inference.details["statistic"] == "post/pre-period RMSPE ratio"
    _assert_range_on_scale(result, panel)
    # conformal inference on the same estimate cannot go below 1/16 (T = 16 years), so it
    # cannot answer at 5%: named, left out of the comparison, no cap from it (issue 12)
    agree = result.diagnostics["inference_agreement"]
    conformal = next(t for t in agree["tests"] if t["test"] == "conformal inference")
    assert conformal["smallest_p"] == pytest.approx(1 / 16)
    assert conformal["verdict"] == "cannot reject" and agree["agree"] is None
    if not options:  # trial: p = 0.176 under a placebo chart with Texas as the outlier
        from lpip_eval.report.words import headline

        details = result.estimate.inference.details
        assert details["post_rank"] == 1 and result.estimate.p_value > 0.05
        text = headline(result.to_dict())
        assert "cannot be told apart from zero" in text
        assert "largest of all 51 areas, as the placebo chart shows" in text


def test_pilot_outside_the_hull_is_flagged_and_capped() -> None:
    rng = np.random.default_rng(3)
    rows = []
    for i in range(12):
        level = 100.0 if i == 0 else rng.uniform(10, 50)
        for t in range(10):
            rows.append({"area": f"A{i:02d}", "period": 2001 + t,
                         "y": level + t + rng.normal(0, 1)})
    panel = _panel(pd.DataFrame(rows), area_col="area", period_col="period", outcome="y",
                   treated=("A00",), start="2007")
    result = estimate_synth(panel, SynthSpec(**QUICK))  # type: ignore[arg-type]
    hull = result.diagnostics["hull"]
    assert hull["outside"] and hull["beyond_range"][0]["side"] == "above"
    assert any("outside the range" in w and "per resident" in w for w in result.warnings)
    assert result.evidence["level"] == 2


def test_exactly_fitting_simulated_design_is_finite_and_warns() -> None:
    rng = np.random.default_rng(7)
    rows = [{"area": f"A{i:02d}", "period": 2001 + t, "y": float(rng.normal(0, 1))}
            for i in range(20) for t in range(5)]
    panel = _panel(pd.DataFrame(rows), area_col="area", period_col="period", outcome="y",
                   treated=("A00",), start="2004")
    result = estimate_synth(panel, SynthSpec(**QUICK))  # type: ignore[arg-type]
    assert result.diagnostics["pre_fit"]["overfit"]
    assert any("overfitting" in w for w in result.warnings)
    _assert_range_on_scale(result, panel)
    assert result.to_json()  # serialisable, no inf or nan left


def test_placebo_p_values_roughly_uniform_under_the_null() -> None:
    # 30 seeded null panels (11 areas, 10 periods, no effect): the pilot is exchangeable with
    # its donors, so the rank p-value is uniform on {1/11, ..., 1}: mean 0.545. Tolerance:
    # 3 SEs of the mean of 30 draws (sd 0.29 / sqrt(30) = 0.053), i.e. +-0.16.
    ps = []
    for seed in range(30):
        rng = np.random.default_rng(100 + seed)
        common = rng.normal(0, 1, 10).cumsum()
        rows = [{"area": f"A{i:02d}", "period": 2001 + t,
                 "y": common[t] * rng.uniform(0.5, 1.5) + rng.normal(0, 1)}
                for i in range(11) for t in range(10)]
        panel = _panel(pd.DataFrame(rows), area_col="area", period_col="period", outcome="y",
                       treated=("A00",), start="2008")
        ps.append(estimate_synth(panel, SynthSpec(v="equal", **QUICK)).estimate.p_value)  # type: ignore[arg-type]
    assert abs(float(np.mean(ps)) - 6 / 11) < 0.16
    assert 0.0 <= float(np.mean(np.array(ps) <= 0.2)) <= 0.4


@pytest.mark.parametrize("inference", ["auto", "conformal"])
def test_texas_sdid_pilot_unlike_donors_is_flagged(inference: str) -> None:
    from lpip_eval.methods.specs import SdidSpec
    from lpip_eval.methods.synth.sdid import estimate_sdid

    panel = _panel(texas_frame(), area_col="state", period_col="year", outcome="bmprison",
                   treated=("Texas",), start="1993")
    result = estimate_sdid(panel, SdidSpec(inference=inference, placebo_reps=50))  # type: ignore[arg-type]
    exch = result.diagnostics["exchangeable"]
    assert exch["ok"] is False and "per resident" in exch["suggestion"]
    est = result.estimate
    assert est.p_value >= 1 / 51  # trial: 4.29e-51 from the placebo SE
    assert est.inference.method == ("placebo" if inference == "auto" else "conformal")
    if inference == "auto":
        assert "standard error was not used" in est.inference.reason
        _assert_range_on_scale(result, panel)
    assert result.evidence["level"] == 2
