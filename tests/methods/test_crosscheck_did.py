"""Cross-checks of the DiD estimators and their inference against independent code.

Each test computes the same quantity two ways and can fail:

* the balanced closed-form within transform against alternating projections;
* unbalanced panels with analytic weights, covariates and coarser clusters against pyfixest
  (coefficients and CR1 SEs) and linearmodels (coefficients);
* the 2x2 design against statsmodels OLS on the collapsed pre/post means;
* the wild cluster bootstrap against the ``wildboottest`` package, with full enumeration of
  the Rademacher weights so both are exact;
* randomization inference against a brute-force loop over every assignment.

Data: ``tests/reference/mpdta.csv`` (Callaway & Sant'Anna 2021; see reference/SOURCE.md),
with seeded simulated covariates and deletions where a check needs them. Package versions
these were written against: pyfixest 0.60.0, linearmodels 7.1, statsmodels 0.15.0,
wildboottest 0.3.2.
"""

from __future__ import annotations

import dataclasses
import itertools
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from lpip_eval.data.panel import PanelSpec, panel_from_frame
from lpip_eval.methods.did import DidSpec, estimate_did
from lpip_eval.methods.linear.absorb import Absorber, Residualizer, fit_linear
from lpip_eval.methods.linear.inference import cluster_robust
from lpip_eval.results.result import EffectResult

MPDTA = Path(__file__).resolve().parents[1] / "reference" / "mpdta.csv"


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    frame = pd.read_csv(MPDTA)
    rng = np.random.default_rng(20240607)
    # A time-varying covariate (simulated, seeded) and population weights from lpop.
    frame["x"] = rng.normal(size=len(frame)) + 0.1 * (frame["year"] - 2003)
    frame["pop"] = np.exp(frame["lpop"])
    frame["state"] = frame["countyreal"] // 1000  # FIPS state: the level treatment varies at
    frame["D"] = ((frame["first.treat"] > 0)
                  & (frame["year"] >= frame["first.treat"])).astype(float)
    frame["rel"] = np.where(frame["first.treat"] > 0, frame["year"] - frame["first.treat"], -1)
    return frame


def _spec(**options: object) -> PanelSpec:
    base: dict[str, object] = {"data": MPDTA, "area_col": "countyreal", "period_col": "year",
                               "outcome": "lemp", "first_treated_col": "first.treat"}
    base.update(options)
    return PanelSpec(**base)  # type: ignore[arg-type]


def _unbalanced(frame: pd.DataFrame, share: float = 0.08, seed: int = 11) -> pd.DataFrame:
    """Drop a seeded ~8% of the 2005-2007 rows (every treated county keeps a pre-period)."""
    rng = np.random.default_rng(seed)
    drop = (rng.random(len(frame)) < share) & (frame["year"] >= 2005)
    return frame[~drop].reset_index(drop=True)


def _small(frame: pd.DataFrame, n_treated: int, n_never: int) -> pd.DataFrame:
    """The first counties (by id) first treated in 2006 and never treated: a few clusters."""
    ids = sorted(frame.loc[frame["first.treat"] == 2006, "countyreal"].unique())[:n_treated]
    ids += sorted(frame.loc[frame["first.treat"] == 0, "countyreal"].unique())[:n_never]
    small = frame[frame["countyreal"].isin(ids)]
    return small.sort_values(["countyreal", "year"]).reset_index(drop=True)


# --------------------------------------------------------------------------- fast vs general


def test_absorber_closed_form_equals_alternating_projections(mpdta: pd.DataFrame) -> None:
    """Absorber(balanced_sorted=True) and (False) give the same fit and CR1 SEs, tol 1e-10."""
    panel = panel_from_frame(mpdta, _spec(covariates=("x",)))
    assert panel.is_balanced
    rel = panel.time_idx - panel.start_position[panel.unit_idx]
    treated = panel.is_treated_unit[panel.unit_idx]
    event = np.column_stack([(rel == k) & treated for k in (-4, -3, -2, 0, 1, 2, 3)])
    for targets in (panel.treated_now[:, None], event.astype(float)):
        fits = []
        for fast in (True, False):
            absorber = Absorber(panel.unit_idx, panel.time_idx, None, n_units=panel.n_units,
                                n_times=panel.n_periods, balanced_sorted=fast)
            assert absorber.fast is fast
            residualizer = Residualizer(absorber, panel.covariates, None)
            fit = fit_linear(panel.y, targets, residualizer, n_nested=panel.n_units - 1)
            vcov, _ = cluster_robust(fit.xt, fit.resid, panel.unit_idx,
                                     fit.n_params - fit.n_nested)
            fits.append((fit, np.sqrt(np.diag(vcov))))
        (a, se_a), (b, se_b) = fits
        np.testing.assert_allclose(a.xt, b.xt, rtol=0, atol=1e-10)
        np.testing.assert_allclose(a.resid, b.resid, rtol=0, atol=1e-10)
        np.testing.assert_allclose(a.coef, b.coef, rtol=0, atol=1e-10)
        np.testing.assert_allclose(se_a, se_b, rtol=0, atol=1e-10)
        assert a.n_params == b.n_params


def _compare_results(a: EffectResult, b: EffectResult, tol: float) -> None:
    for field in ("att", "se", "ci_low", "ci_high", "p_value"):
        assert getattr(a.estimate, field) == pytest.approx(getattr(b.estimate, field),
                                                           abs=tol), field
    assert len(a.effects_by_period) == len(b.effects_by_period)
    for ea, eb in zip(a.effects_by_period, b.effects_by_period, strict=True):
        assert ea.event_time == eb.event_time
        assert ea.att == pytest.approx(eb.att, abs=tol)
        assert ea.se == pytest.approx(eb.se, abs=tol)
    pre_a, pre_b = a.diagnostics.get("pretrend_test"), b.diagnostics.get("pretrend_test")
    assert (pre_a is None) == (pre_b is None)
    if pre_a is not None and pre_b is not None:
        assert pre_a["statistic"] == pytest.approx(pre_b["statistic"], abs=tol)
        assert pre_a["p_value"] == pytest.approx(pre_b["p_value"], abs=tol)


@pytest.mark.parametrize("design", ["twfe", "event-study", "2x2"])
def test_unit_weights_give_the_unweighted_result(mpdta: pd.DataFrame, design: str) -> None:
    """Weights of 1 force the general (weighted, normal-equations) path: same numbers.

    Tolerance 1e-8 on the estimate, SE, interval, p-value, per-period effects and pre-trends.
    """
    if design == "2x2":
        frame = mpdta[mpdta["first.treat"].isin([0, 2006])]
        spec = _spec()
    else:
        frame, spec = mpdta, _spec(covariates=("x",))
    panel = panel_from_frame(frame, spec)
    weighted = dataclasses.replace(panel, weights=np.ones(len(panel.y)))
    a = estimate_did(panel, DidSpec(design=design, inference="cluster"))
    b = estimate_did(weighted, DidSpec(design=design, inference="cluster"))
    if design != "2x2":
        assert a.diagnostics["within_transform"].startswith("exact")
        assert b.diagnostics["within_transform"].startswith("exact two-way demeaning (normal")
    _compare_results(a, b, 1e-8)


# --------------------------------------------------------------------------- vs pyfixest


CASES = {
    # name: (weights column, cluster column)
    "unweighted": (None, None),
    "weighted": ("pop", None),
    "weighted-state-clusters": ("pop", "state"),
}


def _pyfixest(formula: str, frame: pd.DataFrame, weights: str | None,
              cluster: str) -> Any:
    import pyfixest as pf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(formula, data=frame, weights=weights, vcov={"CRV1": cluster},
                        fixef_tol=1e-12)


@pytest.mark.parametrize("case", sorted(CASES))
def test_twfe_unbalanced_vs_pyfixest_and_linearmodels(mpdta: pd.DataFrame, case: str) -> None:
    """Unbalanced panel, covariate, optional analytic weights and state clusters.

    pyfixest 0.60.0: ``pf.feols("lemp ~ D + x | countyreal + year", weights=w,
    vcov={"CRV1": cluster}, fixef_tol=1e-12)``: coefficient and CR1 SE, tolerance 1e-6.
    linearmodels 7.1: ``PanelOLS(lemp, [D, x], entity_effects=True, time_effects=True,
    weights=w)``: coefficient, tolerance 1e-8 (its clustered SE uses another small-sample
    factor, so only the coefficient is compared).
    """
    from linearmodels import PanelOLS

    weights, cluster = CASES[case]
    frame = _unbalanced(mpdta)
    panel = panel_from_frame(frame, _spec(covariates=("x",), weights_col=weights,
                                          cluster_col=cluster))
    assert not panel.is_balanced
    result = estimate_did(panel, DidSpec(design="twfe", inference="cluster"))
    assert result.diagnostics["within_transform"].startswith("exact two-way demeaning (normal")
    fit = _pyfixest("lemp ~ D + x | countyreal + year", frame, weights, cluster or "countyreal")
    assert result.estimate.att == pytest.approx(fit.coef()["D"], abs=1e-6)
    assert result.estimate.se == pytest.approx(fit.se()["D"], abs=1e-6)
    expected_clusters = frame[cluster or "countyreal"].nunique()
    assert result.estimate.inference.details["df"] == expected_clusters - 1

    indexed = frame.set_index(["countyreal", "year"])
    model = PanelOLS(indexed["lemp"], indexed[["D", "x"]], entity_effects=True,
                     time_effects=True, weights=indexed[weights] if weights else None)
    assert result.estimate.att == pytest.approx(model.fit().params["D"], abs=1e-8)


@pytest.mark.parametrize("case", sorted(CASES))
def test_event_study_unbalanced_vs_pyfixest(mpdta: pd.DataFrame, case: str) -> None:
    """Event-study coefficients and CR1 SEs on the unbalanced, weighted panel, tol 1e-6.

    pyfixest 0.60.0: ``pf.feols("lemp ~ i(rel, ref=-1) + x | countyreal + year", weights=w,
    vcov={"CRV1": cluster}, fixef_tol=1e-12)`` with never-treated counties coded rel = -1.
    """
    weights, cluster = CASES[case]
    frame = _unbalanced(mpdta)
    panel = panel_from_frame(frame, _spec(covariates=("x",), weights_col=weights,
                                          cluster_col=cluster))
    result = estimate_did(panel, DidSpec(design="event-study", inference="cluster"))
    fit = _pyfixest("lemp ~ i(rel, ref=-1) + x | countyreal + year", frame, weights,
                    cluster or "countyreal")
    coefs, ses = fit.coef(), fit.se()
    effects = {e.event_time: e for e in result.effects_by_period}
    checked = 0
    for name in coefs.index:
        if not name.startswith("rel::"):
            continue
        k = int(name.split("::")[1])
        assert effects[k].att == pytest.approx(coefs[name], abs=1e-6), k
        assert effects[k].se == pytest.approx(ses[name], abs=1e-6), k
        checked += 1
    assert checked == 7


def test_twfe_unbalanced_weighted_vs_dummy_regression(mpdta: pd.DataFrame) -> None:
    """The same unbalanced weighted TWFE by exact algebra, no iteration.

    County effects are removed exactly by weighted within-county demeaning (one factor has a
    closed form), year effects by explicit dummies; numpy least squares on the sqrt(w)-scaled
    [D, x, year dummies]. By Frisch-Waugh-Lovell this is the full dummy regression, and as the
    county effects are nested in the county clusters its CR1 block is too. K = 2 + (years - 1)
    + 1 (fixest's "nested" K). Tolerance 1e-8 on the coefficient and 1e-7 relative on the SE
    (lpip_eval's alternating projections stop at a tolerance).
    """
    frame = _unbalanced(mpdta)
    panel = panel_from_frame(frame, _spec(covariates=("x",), weights_col="pop"))
    result = estimate_did(panel, DidSpec(design="twfe", inference="cluster"))
    years = pd.get_dummies(frame["year"], dtype=float).to_numpy()[:, 1:]
    x = np.column_stack([frame["D"], frame["x"], years])
    y = frame["lemp"].to_numpy()
    w = frame["pop"].to_numpy()
    codes = pd.factorize(frame["countyreal"])[0]
    g = codes.max() + 1

    def within(z: np.ndarray) -> np.ndarray:
        z2 = z.reshape(len(z), -1)
        sums = np.zeros((g, z2.shape[1]))
        np.add.at(sums, codes, z2 * w[:, None])
        return (z2 - (sums / np.bincount(codes, weights=w)[:, None])[codes]).reshape(z.shape)

    sw = np.sqrt(w)
    xw, yw = within(x) * sw[:, None], within(y) * sw
    beta, *_ = np.linalg.lstsq(xw, yw, rcond=None)
    resid = yw - xw @ beta
    scores = np.zeros((g, x.shape[1]))
    np.add.at(scores, codes, xw * resid[:, None])
    bread = np.linalg.inv(xw.T @ xw)
    n, k = len(frame), 2 + years.shape[1] + 1
    vcov = g / (g - 1) * (n - 1) / (n - k) * bread @ scores.T @ scores @ bread
    assert result.estimate.att == pytest.approx(beta[0], abs=1e-8)
    assert result.estimate.se == pytest.approx(np.sqrt(vcov[0, 0]), rel=1e-7)


# --------------------------------------------------------------------------- 2x2 vs statsmodels


def test_2x2_vs_statsmodels_on_collapsed_means(mpdta: pd.DataFrame) -> None:
    """2x2 = OLS of the area pre/post means on treated*post, clustered by area, tol 1e-8.

    statsmodels 0.15.0: ``smf.ols("lemp ~ treated*post", data=cells).fit(cov_type="cluster",
    cov_kwds={"groups": cells.countyreal}, use_t=True)`` (its default correction is
    G/(G-1)*(N-1)/(N-K), with t(G-1) p-values). Unbalanced: a seeded 10% of 2004-2006 rows
    are dropped, so the cell means average different numbers of years.
    """
    frame = mpdta[mpdta["first.treat"].isin([0, 2006])]
    rng = np.random.default_rng(3)
    frame = frame[~((rng.random(len(frame)) < 0.1) & frame["year"].between(2004, 2006))]
    panel = panel_from_frame(frame, _spec())
    assert not panel.is_balanced
    result = estimate_did(panel, DidSpec(design="2x2", inference="cluster"))
    cells = (frame.assign(post=(frame["year"] >= 2006).astype(int),
                          treated=(frame["first.treat"] > 0).astype(int))
             .groupby(["countyreal", "treated", "post"], as_index=False)["lemp"].mean())
    fit = smf.ols("lemp ~ treated*post", data=cells).fit(
        cov_type="cluster", cov_kwds={"groups": cells["countyreal"]}, use_t=True)
    est = result.estimate
    assert result.diagnostics["collapsed_rows"] == len(cells)
    assert est.att == pytest.approx(fit.params["treated:post"], abs=1e-8)
    assert est.se == pytest.approx(fit.bse["treated:post"], abs=1e-8)
    assert est.p_value == pytest.approx(fit.pvalues["treated:post"], abs=1e-8)
    low, high = fit.conf_int(alpha=0.05).loc["treated:post"]
    assert (est.ci_low, est.ci_high) == pytest.approx((low, high), abs=1e-8)


# --------------------------------------------------------------------------- wild bootstrap


def _wildboottest(x: pd.DataFrame, y: np.ndarray, clusters: np.ndarray, param: str
                  ) -> tuple[np.ndarray, float, float]:
    """wildboottest 0.3.2, WCR11 (null imposed, CR1 scores), Rademacher, 8 clusters.

    With 2^G = 256 < B = 999 it enumerates all sign vectors (``full_enumeration``). Returns
    the bootstrap t statistics, the observed t and the package's own p-value.
    """
    from wildboottest.wildboottest import WildboottestCL

    restriction = (x.columns == param).astype(float)
    boot = WildboottestCL(X=x.to_numpy(), Y=y, cluster=clusters, R=restriction, B=999,
                          seed=1, parallel=False)
    boot.get_scores(bootstrap_type="11", impose_null=True, adj=True, cluster_adj=True)
    boot.get_weights(weights_type="rademacher")
    assert boot.full_enumeration and boot.B == 256
    boot.get_numer()
    boot.get_denom()
    boot.get_tboot()
    boot.get_vcov()
    boot.get_tstat()
    boot.get_pvalue(pval_type="two-tailed")
    return np.asarray(boot.t_boot, dtype=float), float(np.ravel(boot.t_stat)[0]), \
        float(boot.pvalue)


def _p_at_least(t_boot: np.ndarray, t_obs: float) -> float:
    """Share of bootstrap |t*| >= |t| (ties, up to 1e-9 relative, count)."""
    return float(np.mean(np.abs(t_boot) >= abs(t_obs) * (1 - 1e-9)))


WILD_CASES = ["twfe", "twfe-covariate", "event-study"]


@pytest.mark.parametrize("case", WILD_CASES)
def test_wild_bootstrap_vs_wildboottest(mpdta: pd.DataFrame, case: str) -> None:
    """Restricted wild cluster bootstrap p-value and interval vs wildboottest, enumerated.

    Conventions: both use WCR (null imposed) with CR1-type bootstrap t statistics and
    Rademacher weights, and with 8 clusters both enumerate all 256 sign vectors, so both are
    exact. The small-sample factors differ (wildboottest's K counts every dummy; lpip_eval
    leaves out the county effects nested in the clusters, as fixest does) but the same factor
    scales the observed and every bootstrap t, so p-values do not depend on it. The two
    differ in how ties are counted: lpip_eval's p is the share of |t*| >= |t| (the exact
    randomization-test convention: the identity draw v = 1 and its mirror v = -1 reproduce
    |t| exactly), wildboottest's ``get_pvalue`` counts |t*| > |t| strictly. So the test
    checks lpip_eval's p against the >= share of wildboottest's bootstrap distribution (tol
    1e-12; both are multiples of 1/256), and wildboottest's reported p against lpip_eval's
    minus the ties. The interval (test inversion) is checked by running wildboottest on
    y - b0*D just inside and just outside each end: its p-value crosses 1 - level there.

    The event-study headline (mean of the post coefficients) is compared by
    reparametrising as wildboottest needs one coefficient: b0*D0 + b1*D1 =
    theta*(D0 + D1) + delta*(D0 - D1) with theta = (b0 + b1)/2.
    """
    frame = _small(mpdta, n_treated=3, n_never=5)
    covariates = ("x",) if case == "twfe-covariate" else ()
    design = "event-study" if case == "event-study" else "twfe"
    panel = panel_from_frame(frame, _spec(covariates=covariates))
    spec = DidSpec(design=design, inference="wild-bootstrap", bootstrap_weights="rademacher",
                   draws=999)
    est = estimate_did(panel, spec).estimate
    assert est.inference.method == "wild-bootstrap"
    assert est.inference.details["enumerated"] is True
    assert est.inference.details["draws"] == 256

    if design == "twfe":
        regressors = frame[["D"]].copy()
        shift = frame["D"].to_numpy()
    else:
        dummies = {k: ((frame["rel"] == k) & (frame["first.treat"] > 0)).astype(float)
                   for k in (-3, -2, 0, 1)}
        regressors = pd.DataFrame({"D": dummies[0] + dummies[1],
                                   "delta": dummies[0] - dummies[1],
                                   "lead3": dummies[-3], "lead2": dummies[-2]})
        # under theta = b0 for both post coefficients, y shifts by b0 * (D0 + D1)
        shift = regressors["D"].to_numpy()
    x = pd.concat([regressors, frame[list(covariates)],
                   pd.get_dummies(frame["countyreal"], prefix="c", dtype=float),
                   pd.get_dummies(frame["year"], prefix="y", drop_first=True, dtype=float)],
                  axis=1)
    y = frame["lemp"].to_numpy()
    clusters = frame["countyreal"].to_numpy()

    t_boot, t_obs, p_package = _wildboottest(x, y, clusters, "D")
    p_ge = _p_at_least(t_boot, t_obs)
    assert est.p_value == pytest.approx(p_ge, abs=1e-12)
    ties = int(np.sum(np.isclose(np.abs(t_boot), abs(t_obs), rtol=1e-9, atol=0)))
    assert ties >= 2
    assert p_package == pytest.approx(est.p_value - ties / 256, abs=1e-12)

    def p_at(b0: float) -> float:
        t_b, t_o, _ = _wildboottest(x, y - b0 * shift, clusters, "D")
        return _p_at_least(t_b, t_o)

    alpha = 1 - est.ci_level
    width = est.ci_high - est.ci_low
    eps = 1e-6 * width
    assert p_at(est.ci_low + eps) > alpha >= p_at(est.ci_low - eps)
    assert p_at(est.ci_high - eps) > alpha >= p_at(est.ci_high + eps)


def test_wild_bootstrap_se_is_cr1(mpdta: pd.DataFrame) -> None:
    """The wild bootstrap's reported SE is the CR1 SE (pyfixest 0.60.0, tol 1e-10).

    ``pf.feols("lemp ~ D | countyreal + year", vcov={"CRV1": "countyreal"})`` on the
    8-county sample.
    """
    frame = _small(mpdta, n_treated=3, n_never=5)
    panel = panel_from_frame(frame, _spec())
    est = estimate_did(panel, DidSpec(design="twfe", inference="wild-bootstrap",
                                      bootstrap_weights="rademacher")).estimate
    fit = _pyfixest("lemp ~ D | countyreal + year", frame, None, "countyreal")
    assert est.att == pytest.approx(fit.coef()["D"], abs=1e-10)
    assert est.se == pytest.approx(fit.se()["D"], abs=1e-10)


# --------------------------------------------------------------------------- randomization


def _twfe_coef(frame: pd.DataFrame, covariates: tuple[str, ...]
               ) -> Callable[[np.ndarray], float]:
    """Coefficient on D of statsmodels OLS with county and year dummies (and covariates)."""
    fixed = pd.concat([pd.get_dummies(frame["countyreal"], dtype=float),
                       pd.get_dummies(frame["year"], drop_first=True, dtype=float),
                       frame[list(covariates)]], axis=1).to_numpy()
    y = frame["lemp"].to_numpy()

    def coef(d: np.ndarray) -> float:
        return float(sm.OLS(y, np.column_stack([d, fixed])).fit().params[0])

    return coef


def _two_by_two_coef(frame: pd.DataFrame) -> Callable[[np.ndarray], float]:
    """Coefficient on treated:post of OLS on the county pre/post means (statsmodels)."""
    post = (frame["year"] >= 2006).to_numpy()

    def coef(d: np.ndarray) -> float:
        treated = pd.Series(d, index=frame.index).groupby(frame["countyreal"]).transform("max")
        cells = (frame.assign(post=post.astype(int), treated=treated.astype(int))
                 .groupby(["countyreal", "treated", "post"], as_index=False)["lemp"].mean())
        fit = smf.ols("lemp ~ treated*post", data=cells).fit()
        return float(fit.params["treated:post"])

    return coef


@pytest.mark.parametrize("design", ["twfe", "2x2"])
def test_randomization_vs_brute_force(mpdta: pd.DataFrame, design: str) -> None:
    """Exact randomization p-value = brute force over all C(10, 3) = 120 assignments.

    Reference: loop over every choice of 3 treated counties among 10, refit with statsmodels
    (TWFE with a covariate by dummies; 2x2 on collapsed means), p = share of assignments with
    |b| >= |b_obs| (the observed assignment included; ties up to 1e-9 relative count).
    Identical p-value (both are multiples of 1/120; tolerance 1e-12). The interval is checked
    by inverting the brute-force test at its ends (constant additive effect: y - b0*D).
    """
    frame = _small(mpdta, n_treated=3, n_never=7)
    covariates = ("x",) if design == "twfe" else ()
    panel = panel_from_frame(frame, _spec(covariates=covariates))
    est = estimate_did(panel, DidSpec(design=design, inference="randomization")).estimate
    assert est.inference.method == "randomization"
    assert est.inference.details["exact"] is True and est.inference.details["draws"] == 120

    counties = sorted(frame["countyreal"].unique())
    observed = sorted(frame.loc[frame["first.treat"] > 0, "countyreal"].unique())
    post = (frame["year"] >= 2006).to_numpy()
    assignments = [frame["countyreal"].isin(chosen).to_numpy() & post
                   for chosen in itertools.combinations(counties, 3)]
    d_obs = (frame["countyreal"].isin(observed).to_numpy() & post).astype(float)
    y = frame["lemp"].to_numpy()

    def refit(data: pd.DataFrame) -> Callable[[np.ndarray], float]:
        return _twfe_coef(data, covariates) if design == "twfe" else _two_by_two_coef(data)

    def brute_p(b0: float) -> float:
        coef = refit(frame.assign(lemp=y - b0 * d_obs))
        stat = abs(coef(d_obs))
        draws = np.array([abs(coef(d.astype(float))) for d in assignments])
        return float(np.mean(draws >= stat * (1 - 1e-9)))

    assert est.att == pytest.approx(refit(frame)(d_obs), abs=1e-10)
    assert est.p_value == pytest.approx(brute_p(0.0), abs=1e-12)
    if design == "twfe":
        alpha = 1 - est.ci_level
        eps = 1e-6 * (est.ci_high - est.ci_low)
        assert brute_p(est.ci_low + eps) > alpha >= brute_p(est.ci_low - eps)
        assert brute_p(est.ci_high - eps) > alpha >= brute_p(est.ci_high + eps)
