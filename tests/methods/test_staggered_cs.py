"""Callaway & Sant'Anna (``did --design callaway-santanna``) against R ``did`` on mpdta.

Reference numbers: R ``did`` 2.x, ``att_gt(yname = "lemp", tname = "year", idname =
"countyreal", gname = "first.treat", data = mpdta, bstrap = FALSE)`` then ``aggte``, as
quoted in issue 11 (never-treated, doubly robust, no covariates unless stated). Tolerances:
estimates 1e-6, SEs 1e-5, and the published digits where fewer are given.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from simulate import simulate_panel, to_panel

from lpip_eval.data.panel import Panel, PanelSpec, load_panel
from lpip_eval.errors import UsageError
from lpip_eval.methods import registry
from lpip_eval.results.result import EffectResult

MPDTA = Path(__file__).parents[1] / "reference" / "mpdta.csv"


@cache
def _mpdta(covariates: tuple[str, ...] = ()) -> Panel:
    return load_panel(PanelSpec(data=MPDTA, area_col="countyreal", period_col="year",
                                outcome="lemp", first_treated_col="first.treat",
                                covariates=covariates))


@cache
def _cs(covariates: tuple[str, ...] = (), **options: Any) -> EffectResult:
    opts = {"design": "callaway-santanna", "inference": "cluster", **options}
    return registry.estimate("did", _mpdta(covariates), opts)


def _agg(result: EffectResult, kind: str) -> dict[str, Any]:
    return result.diagnostics["aggregations"][kind]["overall"]  # type: ignore[no-any-return]


def test_simple_never_treated_matches_r() -> None:
    est = _cs().estimate
    assert est.att == pytest.approx(-0.0399512751551763, abs=1e-6)  # R did aggte simple
    assert est.se == pytest.approx(0.0120340127701854, abs=1e-5)
    assert est.inference.method == "cluster"


def test_dynamic_group_calendar_match_r() -> None:
    result = _cs()
    dyn = _agg(result, "dynamic")
    assert dyn["att"] == pytest.approx(-0.0772398215, abs=1e-6)  # aggte(type = "dynamic")
    assert dyn["se"] == pytest.approx(0.0199649891, abs=1e-5)
    group = _agg(result, "group")  # aggte(type = "group"), 6 digits published
    assert round(group["att"], 6) == -0.031018 and round(group["se"], 6) == 0.012446
    cal = _agg(result, "calendar")  # aggte(type = "calendar"): -0.0417 (0.015972)
    assert round(cal["att"], 4) == -0.0417 and round(cal["se"], 6) == 0.015972


def test_event_time_effects_and_group_time_cell() -> None:
    result = _cs()
    post = {e.event_time: e.att for e in result.effects_by_period if (e.event_time or 0) >= 0}
    # R did aggte dynamic, e = 0..3 (issue 11; equal to Sun-Abraham's), to 1e-6
    want = {0: -0.019932, 1: -0.050957, 2: -0.137259, 3: -0.100811}
    assert post == pytest.approx(want, abs=1e-6)
    cell = next(c for c in result.diagnostics["group_time"]
                if c["group"] == "2004" and c["period"] == "2004")
    assert round(cell["att"], 4) == -0.0105  # R att_gt: ATT(2004,2004) -0.0105 (0.0233)
    assert round(cell["se"], 6) == 0.023251


def test_pretrend_wald_matches_r() -> None:
    pre = _cs().diagnostics["pretrend_test"]
    # R did summary(att_gt): "P-value for pre-test of parallel trends assumption: 0.16812"
    assert round(pre["p_value"], 5) == 0.16812 and pre["df"] == 5
    assert not pre["rejected_at_5pct"]


def test_not_yet_treated_matches_r() -> None:
    est = _cs(control_group="not-yet").estimate
    assert est.att == pytest.approx(-0.0397636256, abs=1e-6)  # control_group = "notyettreated"
    assert est.se == pytest.approx(0.0120524248, abs=1e-5)


def test_covariate_outcome_regression_matches_r() -> None:
    est = _cs(("lpop",), estimation="reg").estimate
    assert est.att == pytest.approx(-0.0419686124, abs=1e-6)  # xformla = ~lpop, est_method="reg"
    assert est.se == pytest.approx(0.0114448298, abs=1e-5)


def test_estimators_agree_without_covariates() -> None:
    """With no covariates dr, ipw and reg are the same difference in means."""
    atts = {m: _cs(estimation=m).estimate.att for m in ("dr", "ipw", "reg")}
    assert atts["ipw"] == pytest.approx(atts["dr"], abs=1e-12)
    assert atts["reg"] == pytest.approx(atts["dr"], abs=1e-12)


def test_universal_base_period() -> None:
    """Post-treatment cells do not depend on the base-period rule; ATT(g, g-1) = 0."""
    uni, var = _cs(base_period="universal"), _cs()
    assert uni.estimate.att == pytest.approx(var.estimate.att, abs=1e-12)
    ref = [e for e in uni.effects_by_period if e.event_time == -1]
    assert ref and ref[0].att == 0.0
    assert next(c for c in uni.diagnostics["group_time"] if c["event_time"] == -1)["att"] == 0.0


def test_auto_picks_cs_on_staggered_and_twfe_on_common_start() -> None:
    auto = registry.estimate("did", _mpdta(), {"inference": "cluster"})
    assert auto.estimate.att == _cs().estimate.att
    assert auto.diagnostics["design_choice"]["chosen"] == "callaway-santanna"
    assert "3 different times" in auto.diagnostics["design_choice"]["reason"]
    common = to_panel(simulate_panel(n_units=30, n_treated=12, start=6, seed=2))
    twfe = registry.estimate("did", common, {"design": "twfe", "inference": "cluster"})
    picked = registry.estimate("did", common, {"inference": "cluster"})
    assert picked.estimate == twfe.estimate
    assert picked.diagnostics["design_choice"]["chosen"] == "twfe"


def test_multiplier_bootstrap_close_to_analytic_with_uniform_band() -> None:
    boot = _cs(inference="multiplier-bootstrap", draws=999, seed=1)
    analytic = _cs()
    assert boot.estimate.inference.method == "multiplier-bootstrap"
    assert boot.estimate.se == pytest.approx(analytic.estimate.se, rel=0.1)  # 999 draws
    band = boot.diagnostics["event_study_band"]
    assert band["kind"].startswith("uniform") and 2.0 < band["critical_value"] < 3.5
    for b, a in zip(boot.effects_by_period, analytic.effects_by_period, strict=True):
        assert b.ci_high - b.ci_low > a.ci_high - a.ci_low  # type: ignore[operator]


def test_auto_inference_policy() -> None:
    assert _cs(inference="auto").estimate.inference.method == "cluster"  # 191 treated, 500
    few = to_panel(simulate_panel(n_units=30, n_treated=6, start=[4, 4, 4, 7, 7, 7], seed=3))
    result = registry.estimate("did", few, {"design": "callaway-santanna", "draws": 99})
    assert result.estimate.inference.method == "randomization"
    assert result.estimate.se is None and 0 < result.estimate.p_value <= 1
    assert result.estimate.ci_low < result.estimate.att < result.estimate.ci_high  # type: ignore
    mid = to_panel(simulate_panel(n_units=25, n_treated=12, start=[4] * 6 + [7] * 6, seed=3))
    result = registry.estimate("did", mid, {"design": "callaway-santanna", "draws": 99})
    assert result.estimate.inference.method == "multiplier-bootstrap"


def test_randomization_pvalues_uniform_under_null() -> None:
    """Seeded null simulations (no effect, 6 pilots in two waves of 24 areas): the share of
    p-values at or below 0.1 and 0.5 stays within binomial tolerance (60 runs; 3.5 sd)."""
    pvalues = []
    for seed in range(60):
        frame = simulate_panel(n_units=24, n_periods=8, n_treated=6,
                               start=[3, 3, 3, 6, 6, 6], effect=0.0, seed=100 + seed)
        result = registry.estimate("did", to_panel(frame), {
            "design": "callaway-santanna", "inference": "randomization", "draws": 99,
            "seed": seed})
        pvalues.append(result.estimate.p_value)
    p = np.array(pvalues)
    for level in (0.1, 0.5):
        sd = np.sqrt(level * (1 - level) / len(p))
        assert abs(np.mean(p <= level) - level) <= 3.5 * sd, (level, np.mean(p <= level))
    assert p.min() > 0 and p.max() <= 1


def test_randomization_detects_a_large_effect() -> None:
    frame = simulate_panel(n_units=24, n_periods=8, n_treated=6, start=[3, 3, 3, 6, 6, 6],
                           effect=5.0, noise_sd=0.5, seed=7)
    result = registry.estimate("did", to_panel(frame), {
        "design": "callaway-santanna", "inference": "randomization", "draws": 199})
    assert result.estimate.p_value < 0.02
    assert result.estimate.ci_low < 5.0 < result.estimate.ci_high  # type: ignore[operator]


def test_options_belong_to_their_design() -> None:
    with pytest.raises(UsageError, match="control_group"):
        registry.estimate("did", _mpdta(), {"design": "twfe", "control_group": "not-yet"})
    with pytest.raises(UsageError, match="wild-bootstrap"):
        registry.estimate("did", _mpdta(), {"design": "callaway-santanna",
                                            "inference": "wild-bootstrap"})
    with pytest.raises(UsageError, match="multiplier-bootstrap"):
        registry.estimate("did", _mpdta(), {"design": "event-study",
                                            "inference": "multiplier-bootstrap"})
