"""Sun & Abraham (2021) interaction-weighted event study.

Reference: mpdta (``tests/reference/mpdta.csv``), lemp, never-treated control cohort,
reference period -1. The event-time effects 0..3 equal R did 2.x ``aggte(type = "dynamic")``
of Callaway & Sant'Anna without covariates (-0.019932, -0.050957, -0.137259, -0.100811;
issue 11, 6 digits published: to 1e-6), and the headline, weighting each cohort-by-event-time
effect by its share of treated observations, equals CS's simple aggregation
-0.0399512751551763 (to 1e-6).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from simulate import simulate_panel, to_panel

from lpip_eval.data.panel import NEVER, PanelSpec, load_panel
from lpip_eval.methods import registry
from lpip_eval.methods.sun_abraham import fit_sun_abraham

MPDTA = Path(__file__).parents[1] / "reference" / "mpdta.csv"


def test_mpdta_matches_callaway_santanna() -> None:
    panel = load_panel(PanelSpec(data=MPDTA, area_col="countyreal", period_col="year",
                                 outcome="lemp", first_treated_col="first.treat"))
    result = registry.estimate("did", panel, {"design": "sun-abraham", "inference": "cluster"})
    assert result.estimate.att == pytest.approx(-0.039951275155, abs=1e-6)
    post = {e.event_time: e.att for e in result.effects_by_period
            if e.event_time is not None and e.event_time >= 0}
    expected = {0: -0.019932, 1: -0.050957, 2: -0.137259, 3: -0.100811}
    assert post.keys() == expected.keys()
    for k, want in expected.items():
        assert post[k] == pytest.approx(want, abs=1e-6), k
    assert [e.event_time for e in result.effects_by_period] == [-4, -3, -2, 0, 1, 2, 3]
    assert result.diagnostics["pretrend_test"]["leads"] == 3


def test_matches_dense_cohort_regression() -> None:
    """Each event time's effect is the cohort-share average of the dummy regression's
    cohort x event-time coefficients (dense least squares, unbalanced panel)."""
    frame = simulate_panel(n_units=16, n_periods=7, n_treated=6, start=[2, 2, 3, 4, 4, 4],
                           effect=lambda k: 1.0 + 0.5 * k, seed=8)
    frame = frame.drop(index=np.random.default_rng(1).choice(len(frame), 9, replace=False))
    panel = to_panel(frame)
    fit, _ = fit_sun_abraham(panel)
    pos = np.searchsorted(panel.period_ordinals, panel.first_treated)
    ever = panel.first_treated != NEVER
    rel = panel.time_idx - np.where(ever, pos, 0)[panel.unit_idx]
    cohort = panel.first_treated[panel.unit_idx]
    row_ever = ever[panel.unit_idx]
    cells = sorted({(int(g), int(e)) for g, e, t in zip(cohort, rel, row_ever, strict=True)
                    if t and e != -1})
    d = np.column_stack([(cohort == g) & (rel == e) & row_ever for g, e in cells])
    z = np.hstack([d, np.eye(panel.n_units)[panel.unit_idx],
                   np.eye(panel.n_periods)[panel.time_idx][:, 1:]])
    coef = np.linalg.lstsq(z, panel.y, rcond=None)[0][:len(cells)]
    counts = d.sum(axis=0)
    for j, e in enumerate(fit.event_times):
        on = np.array([c[1] == e for c in cells])
        assert fit.theta[1 + j] == pytest.approx(
            np.sum(coef[on] * counts[on]) / counts[on].sum(), rel=1e-9, abs=1e-12)
    post = np.array([c[1] >= 0 for c in cells])
    assert fit.theta[0] == pytest.approx(np.sum(coef[post] * counts[post]) / counts[post].sum(),
                                         rel=1e-9)


def test_last_treated_control_and_known_effects() -> None:
    """Every area treated: the last cohort is the control; noise-free effects recovered."""
    frame = simulate_panel(n_units=10, n_periods=8, n_treated=9,
                           start=[2, 2, 2, 4, 4, 4, 6, 6, 6], effect=lambda k: 2.0 + k,
                           noise_sd=0.0, seed=2)
    panel = to_panel(frame)  # the loader wants a comparison area: treat it last, in place
    first = np.where(panel.is_treated_unit, panel.first_treated, panel.period_ordinals[6])
    panel = replace(panel, first_treated=first)
    result = registry.estimate("did", panel, {"design": "sun-abraham", "inference": "cluster"})
    assert any("last-treated cohort" in w for w in result.warnings)
    for e in result.effects_by_period:
        assert e.event_time is not None
        assert e.att == pytest.approx(2.0 + e.event_time if e.event_time >= 0 else 0.0,
                                      abs=1e-9)
