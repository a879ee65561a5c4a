"""Imputation DiD (Borusyak, Jaravel & Spiess 2024): reference value and a dense re-derivation.

The reference: mpdta (``tests/reference/mpdta.csv``), lemp, never-treated plus not-yet-treated
observations as the untreated set, no covariates: -0.04770991827782 from diff-diff 3.13
``ImputationDiD`` (issue 11), to 1e-6. The standard errors and event-time effects are checked
against a dense, textbook computation of BJS's formulas (dummy matrices, ``numpy.linalg``
least squares, eq. 6 imputation weights, Theorem 3 variance with v^2-weighted cohort-by-event-
time means as in R ``didimputation``) to 1e-9: the fast path (sparse sums, exact two-way
solve) must give the same numbers on balanced, gappy and covariate-adjusted panels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from simulate import simulate_panel, to_panel

from lpip_eval.data.panel import NEVER, Panel, PanelSpec, load_panel, panel_from_frame
from lpip_eval.methods import registry
from lpip_eval.methods.imputation import fit_imputation

MPDTA = Path(__file__).parents[1] / "reference" / "mpdta.csv"


def _mpdta(**extra: object) -> Panel:
    return load_panel(PanelSpec(data=MPDTA, area_col="countyreal", period_col="year",
                                outcome="lemp", first_treated_col="first.treat",
                                **extra))  # type: ignore[arg-type]


def test_mpdta_matches_diff_diff() -> None:
    result = registry.estimate("did", _mpdta(), {"design": "imputation",
                                                 "inference": "cluster"})
    assert result.estimate.att == pytest.approx(-0.04770991827782, abs=1e-6)
    assert [e.event_time for e in result.effects_by_period] == [0, 1, 2, 3]
    assert result.estimate.inference.method == "cluster"
    lo, hi = result.estimate.ci_low, result.estimate.ci_high
    assert lo < result.estimate.att < hi


def _dense(panel: Panel) -> tuple[np.ndarray, np.ndarray]:
    """BJS estimates and conservative clustered SEs, written out with dense matrices."""
    n = len(panel.y)
    pos = np.searchsorted(panel.period_ordinals, panel.first_treated)
    ever = panel.first_treated != NEVER
    rel = panel.time_idx - np.where(ever, pos, panel.n_periods)[panel.unit_idx]
    treated = ever[panel.unit_idx] & (rel >= 0)
    z = np.hstack([np.eye(panel.n_units)[panel.unit_idx],
                   np.eye(panel.n_periods)[panel.time_idx][:, 1:]])
    if panel.covariates is not None:
        z = np.hstack([z, panel.covariates])
    z0, z1 = z[~treated], z[treated]
    coef = np.linalg.lstsq(z0, panel.y[~treated], rcond=None)[0]
    adj = panel.y - z @ coef
    events = np.unique(rel[treated])
    w1 = np.column_stack([np.ones(treated.sum())] + [rel[treated] == e for e in events])
    w1 = w1 / w1.sum(axis=0)
    v = np.zeros((n, w1.shape[1]))
    v[treated] = w1
    v[~treated] = -z0 @ np.linalg.pinv(z0.T @ z0) @ z1.T @ w1
    theta = w1.T @ adj[treated]
    cohort = panel.first_treated[panel.unit_idx]
    se = []
    for j in range(w1.shape[1]):
        resid = adj.copy()
        for g in np.unique(cohort[treated]):
            for e in events:
                cell = treated & (cohort == g) & (rel == e)
                if cell.any() and np.sum(v[cell, j] ** 2) > 0:
                    resid[cell] -= np.sum(v[cell, j] ** 2 * adj[cell]) / np.sum(v[cell, j] ** 2)
        scores = np.bincount(panel.unit_idx, weights=v[:, j] * resid)
        se.append(np.sqrt(np.sum(scores ** 2)))
    return theta, np.array(se)


def _staggered(seed: int = 1):  # type: ignore[no-untyped-def]
    return simulate_panel(n_units=14, n_periods=7, n_treated=6, start=[2, 2, 3, 4, 4, 5],
                          effect=lambda k: 1.0 + 0.5 * k, seed=seed)


@pytest.mark.parametrize("case", ["balanced", "gaps", "covariate"])
def test_matches_dense_formulas(case: str) -> None:
    frame = _staggered()
    rng = np.random.default_rng(2)
    if case == "gaps":
        frame = frame.drop(index=rng.choice(len(frame), 12, replace=False))
    if case == "covariate":
        frame = frame.assign(x=rng.normal(size=len(frame)))
        frame = frame.assign(y=frame["y"] + 0.7 * frame["x"])
    panel = to_panel(frame)
    if case == "covariate":
        panel = panel_from_frame(frame, PanelSpec(
            data=Path("simulated.csv"), area_col="area", outcome="y",
            first_treated_col="first_treated", covariates=("x",)), source="simulated")
    fit, _ = fit_imputation(panel)
    theta, se = _dense(panel)
    np.testing.assert_allclose(fit.theta, theta, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.vcov)), se, rtol=1e-9, atol=1e-12)


def test_recovers_known_dynamic_effects() -> None:
    """Noise-free outcome: the imputation estimates are exactly the true effects."""
    frame = simulate_panel(n_units=14, n_periods=7, n_treated=6, start=[2, 2, 3, 4, 4, 5],
                           effect=lambda k: 1.0 + 0.5 * k, noise_sd=0.0, seed=3)
    fit, _ = fit_imputation(to_panel(frame))
    np.testing.assert_allclose(fit.theta[1:], 1.0 + 0.5 * np.array(fit.event_times),
                               atol=1e-10)


def test_randomization_few_pilots() -> None:
    frame = _staggered()
    result = registry.estimate("did", to_panel(frame), {"design": "imputation", "draws": 99,
                                                          "seed": 4})
    est = result.estimate
    assert est.inference.method == "randomization"  # 6 treated areas: auto
    assert 0 < est.p_value <= 1 and est.ci_low < est.att < est.ci_high
    assert all(e.ci_low is not None and e.ci_low < e.att < e.ci_high  # type: ignore[operator]
               for e in result.effects_by_period)


def test_pretrend_test_is_ols_on_the_untreated_rows() -> None:
    """BJS Test 1 on mpdta: the lead coefficients equal statsmodels OLS of lemp on county and
    year dummies plus lead indicators over the untreated rows (to 1e-10), and the Wald F uses
    statsmodels' cluster-robust covariance rescaled to fixest's K (county dummies nested in
    the county clusters not counted), to 1e-8."""
    import statsmodels.formula.api as smf
    from scipy import special

    from lpip_eval.methods.imputation import estimate_imputation
    from lpip_eval.methods.specs import StaggeredSpec

    panel = _mpdta()
    result = estimate_imputation(panel, StaggeredSpec(inference="cluster"))
    pre = result.diagnostics["pretrend_test"]
    frame = pd.read_csv(MPDTA)
    g = frame["first.treat"]
    rel = np.where(g > 0, frame["year"] - g, 10**6)
    untreated = frame[(g == 0) | (rel < 0)].copy()
    rel_u = rel[(g == 0) | (rel < 0)]
    leads = [int(k) for k in pre["lead_coefficients"]]
    # every lead (-1..-4) adds up to each ever-treated county's own effect: the most distant
    # (-4, 2003 for the 2007 cohort) is dropped and is the reference, as fixest would
    assert leads == [-1, -2, -3]
    names = []
    for k in leads:
        name = f"lead{-k}"
        untreated[name] = (rel_u == k).astype(float)
        names.append(name)
    ols = smf.ols(f"lemp ~ {' + '.join(names)} + C(countyreal) + C(year)", data=untreated).fit(
        cov_type="cluster", cov_kwds={"groups": untreated["countyreal"]})
    assert [pre["lead_coefficients"][str(k)] for k in leads] == pytest.approx(
        [ols.params[n] for n in names], abs=1e-10)
    n, n_counties, n_years = len(untreated), untreated["countyreal"].nunique(), 5
    k_sm = 1 + len(names) + (n_counties - 1) + (n_years - 1)
    k_fixest = len(names) + n_years
    vcov = ols.cov_params().loc[names, names].to_numpy() * (n - k_sm) / (n - k_fixest)
    b = ols.params[names].to_numpy()
    f_stat = float(b @ np.linalg.solve(vcov, b)) / len(names)
    assert pre["statistic"] == pytest.approx(f_stat, rel=1e-8)
    assert pre["df"] == [len(names), n_counties - 1]
    assert pre["p_value"] == pytest.approx(special.fdtrc(len(names), n_counties - 1, f_stat),
                                           rel=1e-8)
    assert result.evidence["level"] == (2 if pre["rejected_at_5pct"] else 3)


def test_a_rejected_pre_trend_is_stored_and_warned_once() -> None:
    """linear.inference.record_pretrend, shared by every DiD design: the test goes to the
    diagnostics, and a rejection adds one warning with its p-value in words."""
    from lpip_eval.methods.linear import inference as inf

    diagnostics: dict[str, object] = {}
    warnings: list[str] = []
    inf.record_pretrend(diagnostics, warnings, {"p_value": 0.0004, "rejected_at_5pct": True})
    assert diagnostics["pretrend_test"] == {"p_value": 0.0004, "rejected_at_5pct": True}
    assert warnings == ["the pre-trend test rejects parallel pre-trends at the 5% level "
                        "(p < 0.001)"]
    inf.record_pretrend(diagnostics, warnings, {"p_value": 0.4, "rejected_at_5pct": False})
    inf.record_pretrend(diagnostics, warnings, None)
    assert len(warnings) == 1 and diagnostics["pretrend_test"]["p_value"] == 0.4  # type: ignore[index]
