"""Matched comparison areas: neighbour search, balance statistics and the matched DiD.

* ``match_areas`` is checked against brute-force distances written out here (Mahalanobis with
  the full-sample covariance, inverse variance), hand-worked greedy / caliper / exact / CEM
  examples, and MatchIt's ATT weights.
* Balance statistics are checked against cobalt's and MatchIt's definitions, written out from
  their documentation on a hand-computable example: cobalt FAQ ("How are standardized mean
  differences computed"): ``SMD = (mean_1w - mean_0w) / s*`` with weighted means and the same
  ``s*`` before and after weighting, ``s* = SD of the treated group`` for
  ``s.d.denom = "treated"``; MatchIt ``summary.matchit`` (``qoi``/``wvar``): variances are
  ``p(1-p)`` for binary variables and ``sum w (x - m)^2 / (1 - sum w^2)`` (weights normalised)
  otherwise; variance ratio = treated over control. (Real-data checks against R's Matching
  are in ``test_nnmatch.py``.)
* A simulated pool in which a known subset of candidates resembles the pilots: matching picks
  that subset and recovers the known effect, where DiD on all areas does not.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

from lpip_eval.data.panel import Panel, PanelSpec, load_panel, panel_from_frame
from lpip_eval.errors import DataError, DesignError, UsageError
from lpip_eval.methods.did import DidSpec, estimate_did
from lpip_eval.methods.match.areas import MatchSpec, area_features, estimate_match
from lpip_eval.methods.match.balance import balance_table, weighted_var
from lpip_eval.methods.match.distance import (
    cem_strata,
    fit_metric,
    irls_logit,
    k_nearest,
    logit_coefficients,
    match_areas,
    sturges_bins,
)
from lpip_eval.methods.match.placebo import PlaceboPilots
from lpip_eval.methods.registry import result_schema

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "west_of_england"


def with_attributes(panel: Panel, attrs: dict[str, np.ndarray]) -> Panel:
    """The panel with ``unit_attributes`` (until the loader fills it from PanelSpec)."""
    try:
        return dataclasses.replace(panel, unit_attributes=attrs)  # type: ignore[call-arg]
    except TypeError:
        out = copy.copy(panel)
        object.__setattr__(out, "unit_attributes", attrs)
        return out


@pytest.fixture(scope="module")
def example() -> Panel:
    spec = PanelSpec(data=EXAMPLE / "pilot.csv", comparators=EXAMPLE / "comparators.csv",
                     outcome="employment_rate", start="2021Q3")
    panel = load_panel(spec)
    frame = pd.concat([pd.read_csv(EXAMPLE / "pilot.csv"),
                       pd.read_csv(EXAMPLE / "comparators.csv")])
    attrs = frame.groupby("area")[["region", "urban_rural"]].first()
    return with_attributes(panel, {c: attrs.loc[list(panel.units), c].to_numpy(dtype=str)
                                   for c in attrs.columns})


# --------------------------------------------------------------------------- neighbours


def brute_mahalanobis(x: np.ndarray, i: int, j: np.ndarray) -> np.ndarray:
    s_inv = np.linalg.inv(np.cov(x, rowvar=False, ddof=1))
    d = x[j] - x[i]
    return np.sqrt(np.einsum("ij,jk,ik->i", d, s_inv, d))


def test_knn_with_replacement_equals_brute_force_mahalanobis() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 4)) @ rng.normal(size=(4, 4))
    treated = np.zeros(300, dtype=bool)
    treated[rng.choice(300, 12, replace=False)] = True
    ms = match_areas(x, treated, k=3, replace=True)
    controls = np.flatnonzero(~treated)
    for i in np.flatnonzero(treated):
        d = brute_mahalanobis(x, i, controls)
        best = controls[np.argsort(d)[:3]]
        assert list(ms.pair_control[ms.pair_treated == i]) == list(best)
        np.testing.assert_allclose(ms.pair_distance[ms.pair_treated == i],
                                   np.sort(d)[:3], rtol=1e-10)


def test_inverse_variance_distance() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(50, 3)) * np.array([1.0, 10.0, 100.0])
    treated = np.arange(50) < 5
    ms = match_areas(x, treated, k=1, replace=True, distance="ivariance")
    sd = x.std(axis=0, ddof=1)
    for i in range(5):
        d = np.sqrt((((x[5:] - x[i]) / sd) ** 2).sum(axis=1))
        assert ms.pair_control[i] == 5 + int(np.argmin(d))
        assert ms.pair_distance[i] == pytest.approx(d.min(), rel=1e-12)


def test_k_nearest_breaks_ties_by_position() -> None:
    d2 = np.array([[3.0, 1.0, 1.0, 1.0, 0.5, np.inf]])
    cols, dist = k_nearest(d2, 3)
    assert cols.tolist() == [[4, 1, 2]]
    cols, dist = k_nearest(np.array([[np.inf, 2.0]]), 2)
    assert cols.tolist() == [[1, -1]] and math.isinf(dist[0, 1])


def test_greedy_without_replacement_closest_first() -> None:
    # One variable, ivariance: candidate 10.0 is nearest to both pilots; pilot 10.2 is closer
    # to it (0.2 < 0.5) so it goes first and takes it; pilot 9.5 falls back to 9.0.
    x = np.array([[10.2], [9.5], [10.0], [9.0], [20.0]])
    treated = np.array([True, True, False, False, False])
    ms = match_areas(x, treated, k=1, distance="ivariance")
    assert dict(zip(ms.pair_treated, ms.pair_control, strict=True)) == {0: 2, 1: 3}
    with_rep = match_areas(x, treated, k=1, replace=True, distance="ivariance")
    assert with_rep.pair_control.tolist() == [2, 2]
    # k = 2 without replacement: round 1 as above, round 2 in the same order.
    ms2 = match_areas(x, treated, k=2, distance="ivariance")
    assert sorted(zip(ms2.pair_treated.tolist(), ms2.pair_control.tolist(), strict=True)) \
        == [(0, 2), (0, 4), (1, 3)]
    assert ms2.short.tolist() == [1]  # candidates ran out: pilot 9.5 got one match


def test_matchit_att_weights() -> None:
    # k = 2 with replacement: pilot 0 -> {2, 3}, pilot 1 -> {3, 4}; weights 1/2 per match;
    # control 3 serves both: 1/2 + 1/2 = 1; scaled so controls sum to 3 distinct controls.
    x = np.array([[0.0], [10.0], [1.0], [5.0], [11.0], [100.0]])
    treated = np.array([True, True, False, False, False, False])
    ms = match_areas(x, treated, k=2, replace=True, distance="ivariance")
    assert ms.pair_control[ms.pair_treated == 0].tolist() == [2, 3]
    assert ms.pair_control[ms.pair_treated == 1].tolist() == [4, 3]
    np.testing.assert_allclose(ms.weights, [1, 1, 0.75, 1.5, 0.75, 0])


def test_caliper_per_variable_and_unmatched() -> None:
    # Caliper 0.5 SD in every variable: pilot 1's only candidate within 0.5 SD of x1 is 3,
    # which is too far in x2; pilot 1 stays unmatched.
    x = np.array([[0.0, 0.0], [4.0, 0.0], [0.1, 0.1], [4.1, 3.0], [2.0, 1.0]])
    treated = np.array([True, True, False, False, False])
    sd = x.std(axis=0, ddof=1)
    ms = match_areas(x, treated, k=1, replace=True, caliper=0.5, distance="ivariance")
    assert ms.pair_control.tolist() == [2]
    assert ms.unmatched.tolist() == [1]
    assert abs(x[3, 1] - x[1, 1]) > 0.5 * sd[1] and abs(x[3, 0] - x[1, 0]) < 0.5 * sd[0]


def test_exact_strata() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 2))
    treated = np.arange(60) < 6
    strata = np.arange(60) % 3
    ms = match_areas(x, treated, k=2, replace=True, exact=strata)
    assert np.all(strata[ms.pair_control] == strata[ms.pair_treated])
    metric = fit_metric(x, np.ones(60, dtype=bool), "mahalanobis")
    z = metric.coordinates(x)
    for i in range(6):
        same = np.flatnonzero(~treated & (strata == strata[i]))
        d = np.linalg.norm(z[same] - z[i], axis=1)
        assert set(ms.pair_control[ms.pair_treated == i]) == set(same[np.argsort(d)[:2]])


def test_cem_strata_and_weights() -> None:
    # Sturges: ceiling(log2(n) + 1); 9 rows -> 5 equal-width bins of the range [0.2, 10]
    # (width 1.96): occupied bins 1 (0.2-1.9), 3 (5.0) and 5 (9.0-10.0).
    assert sturges_bins(9) == 5 and sturges_bins(1000) == 11
    x = np.array([[0.5], [1.0], [9.5], [0.2], [1.5], [1.9], [9.0], [5.0], [10.0]])
    treated = np.array([True, True, True, False, False, False, False, False, False])
    codes = cem_strata(x, np.ones(9, dtype=bool))
    assert codes.tolist() == [0, 0, 2, 0, 0, 0, 2, 1, 2]
    ms = match_areas(x, treated, cem=True)
    # Bin 1: 2 pilots, 3 controls; bin 5: 1 pilot, 2 controls; bin 3: no pilot.
    # MatchIt: control weight (n_t,s / n_c,s) * (N_c / N_t) = (2/3)(5/3) and (1/2)(5/3).
    np.testing.assert_allclose(ms.weights, [1, 1, 1, 10 / 9, 10 / 9, 10 / 9, 5 / 6, 0, 5 / 6])
    assert ms.weights[~treated].sum() == pytest.approx(5)


def test_propensity_linear_predictor() -> None:
    import statsmodels.api as sm

    rng = np.random.default_rng(4)
    x = rng.normal(size=(200, 2))
    d = (x @ [1.0, -0.5] + rng.logistic(size=200) > 1.5).astype(float)
    fit = sm.Logit(d, sm.add_constant(x)).fit(disp=0)
    coef = logit_coefficients(x, d)
    np.testing.assert_allclose(coef, fit.params, rtol=1e-8)
    np.testing.assert_allclose(irls_logit(x, d), fit.params, rtol=1e-6)
    metric = fit_metric(x, np.ones(200, dtype=bool), "propensity", d.astype(bool))
    np.testing.assert_allclose(metric.coordinates(x)[:, 0], fit.fittedvalues, rtol=1e-8)
    ms = match_areas(x, d.astype(bool), k=1, replace=True, distance="propensity")
    eta = fit.fittedvalues
    for i, c in zip(ms.pair_treated, ms.pair_control, strict=True):
        assert abs(eta[i] - eta[c]) == pytest.approx(np.abs(eta[d == 0] - eta[i]).min())


# --------------------------------------------------------------------------- balance


def test_balance_statistics_follow_cobalt_and_matchit() -> None:
    # Continuous x: pilots 1, 2, 4; candidates 0, 1, 3, 5 with matching weights 0, 2, 1, 0.
    # Binary b: pilots 1, 1, 0; candidates 0, 0, 1, 1.
    x = np.array([[1, 1], [2, 1], [4, 0], [0, 0], [1, 0], [3, 1], [5, 1]], dtype=float)
    treated = np.array([True, True, True, False, False, False, False])
    pool = ~treated
    w = np.array([1, 1, 1, 0, 2, 1, 0], dtype=float)
    bal = balance_table(x, ["x", "b"], treated, pool, w)
    row_x, row_b = bal["rows"]
    s_t = math.sqrt(7 / 3)  # treated SD before matching, divisor n - 1
    assert row_x["smd_before"] == pytest.approx((7 / 3 - 9 / 4) / s_t)
    assert row_x["smd_after"] == pytest.approx((7 / 3 - 5 / 3) / s_t)
    # After: var_T = 7/3; var_C with w = (2/3, 1/3) on (1, 3): (8/9) / (1 - 5/9) = 2.
    assert row_x["vr_after"] == pytest.approx((7 / 3) / 2)
    assert row_x["vr_before"] == pytest.approx((7 / 3) / np.var([0, 1, 3, 5], ddof=1))
    # Binary: s_T^2 = p(1-p) = 2/9; difference 2/3 - 1/2; no variance ratio.
    assert row_b["smd_before"] == pytest.approx((2 / 3 - 1 / 2) / math.sqrt(2 / 9))
    assert row_b["smd_after"] == pytest.approx((2 / 3 - 1 / 3) / math.sqrt(2 / 9))
    assert row_b["vr_after"] is None
    assert bal["max_abs_smd_after"] == pytest.approx(max(abs(row_x["smd_after"]),
                                                         abs(row_b["smd_after"])))
    assert row_x["verdict"] == "poor" and bal["thresholds"]["smd_good"] == 0.1
    assert weighted_var(np.array([1.0, 3.0]), np.array([2.0, 1.0])) == pytest.approx(2.0)


def test_balance_falls_back_to_all_areas_with_one_pilot() -> None:
    x = np.array([[1.0], [0.0], [2.0], [4.0]])
    treated = np.array([True, False, False, False])
    bal = balance_table(x, ["x"], treated, ~treated, np.array([1.0, 1.0, 0, 0]))
    assert bal["sd_denominator"].startswith("all areas")
    assert bal["rows"][0]["smd_after"] == pytest.approx(1 / np.std([1, 0, 2, 4], ddof=1))


# --------------------------------------------------------------------------- simulated pool


def simulated_pool(seed: int = 7, effect: float = 2.0) -> tuple[pd.DataFrame, set[str]]:
    """3 pilots; 2 'twins' per pilot (same level and trend); 50 others with steeper trends.

    y_it = a_i + b_i * t + lambda_t + effect * D_it + N(0, 0.1^2), years 2010-2029, pilots
    treated from 2020. Others' trends b ~ U(1.2, 2) differ from the pilots' (0.2-0.8), so DiD
    against all areas is biased while DiD against the twins is not.
    """
    rng = np.random.default_rng(seed)
    a = [60.0, 65.0, 70.0]
    b = [0.5, 0.8, 0.2]
    rows = []
    years = np.arange(2010, 2030)
    lam = rng.normal(0, 1, len(years))
    areas = []
    for i in range(3):
        areas.append((f"P{i}", a[i], b[i], 2020))
        for j in range(2):
            areas.append((f"T{i}{j}", a[i] + rng.normal(0, 0.2), b[i], 0))
    for j in range(50):
        areas.append((f"O{j:02d}", rng.uniform(40, 90), rng.uniform(1.2, 2.0), 0))
    for name, ai, bi, first in areas:
        y = ai + bi * (years - 2010) + lam + rng.normal(0, 0.1, len(years))
        y = y + effect * ((first > 0) & (years >= 2020))
        rows.append(pd.DataFrame({"area": name, "period": years, "y": y,
                                  "first_treated": first}))
    twins = {name for name, *_ in areas if name.startswith("T")}
    return pd.concat(rows, ignore_index=True), twins


def sim_panel(frame: pd.DataFrame) -> Panel:
    spec = PanelSpec(data=Path("simulated.csv"), outcome="y", first_treated_col="first_treated")
    return panel_from_frame(frame, spec, source="simulated")


def test_simulated_pool_recovers_subset_and_effect() -> None:
    frame, twins = simulated_pool()
    panel = sim_panel(frame)
    result = estimate_match(panel, MatchSpec(k=2))
    assert set(result.comparison_units) == twins
    assert result.estimate.att == pytest.approx(2.0, abs=0.15)
    assert result.estimate.ci_low < 2.0 < result.estimate.ci_high
    assert result.estimate.inference.method == "randomization"
    assert result.estimate.p_value < 0.05
    assert result.diagnostics["balance"]["max_abs_smd_after"] < 0.1
    naive = estimate_did(panel, DidSpec(inference="cluster"))
    assert abs(naive.estimate.att - 2.0) > 1.0  # all areas: biased by the steeper trends
    # With replacement and k = 1 each pilot takes its nearer twin.
    one = estimate_match(panel, MatchSpec(k=1, replace=True, inference="cluster"))
    assert set(one.comparison_units) <= twins and len(one.comparison_units) == 3


def test_renaming_and_reordering_change_nothing() -> None:
    # Placebo sets are drawn over a data-derived order of the areas (as did's randomization
    # inference), so new area codes and shuffled rows give the same matches and p-value.
    frame, _ = simulated_pool(seed=3)
    base = estimate_match(sim_panel(frame), MatchSpec(k=2, draws=199))
    renamed = frame.assign(area="Z" + frame["area"].str[::-1]).sample(frac=1, random_state=1)
    other = estimate_match(sim_panel(renamed), MatchSpec(k=2, draws=199))
    assert other.estimate.att == pytest.approx(base.estimate.att, abs=1e-10)
    assert other.estimate.p_value == base.estimate.p_value
    assert other.estimate.ci_low == pytest.approx(base.estimate.ci_low, abs=1e-9)
    assert sorted(u[1:][::-1] for u in other.comparison_units) == sorted(base.comparison_units)


def test_placebo_draws_equal_matching_each_placebo_set() -> None:
    # Small pool (2 pilots, 7 candidates): all 21 placebo sets are enumerated. Each placebo
    # estimate must equal estimate_match run on the data with those two areas as the pilots
    # (the real pilots removed): an independent path through the regression.
    frame, _ = simulated_pool(seed=11)
    keep = ["P0", "P1", "T00", "T01", "T10", "O00", "O01", "O02", "O03"]
    frame = frame[frame["area"].isin(keep)]
    panel = sim_panel(frame)
    spec = MatchSpec(k=2, replace=True)
    warnings: list[str] = []
    x, _, usable = area_features(panel, spec, int(panel.common_start or 0), warnings)
    pool = ~panel.is_treated_unit & usable
    metric = fit_metric(x, panel.is_treated_unit | pool, "mahalanobis")
    placebo = PlaceboPilots(panel, x, pool, None, metric, spec, int(panel.common_start or 0))
    plan = placebo.plan(2)
    assert plan.exact and len(plan.rows) == math.comb(7, 2)
    for row in plan.rows[:6]:
        names = [panel.units[i] for i in row]
        alt = frame[~frame["area"].isin(["P0", "P1"])].copy()
        alt["first_treated"] = np.where(alt["area"].isin(names), 2020, 0)
        direct = estimate_match(sim_panel(alt), dataclasses.replace(spec, inference="cluster"))
        assert placebo.draw(row)[0] == pytest.approx(direct.estimate.att, abs=1e-9)


# --------------------------------------------------------------------------- the example


def test_example_result_contract(example: Panel) -> None:
    result = estimate_match(example, MatchSpec())
    body = result.to_dict()
    assert body["method"] == "match"
    diag = body["diagnostics"]
    assert sum(w["weight"] for w in body["weights"]) == pytest.approx(1.0)
    assert {w["unit"] for w in body["weights"]} == set(body["comparison_units"])
    assert len(diag["matched_pairs"]) == 4 and diag["unmatched"] == []
    assert diag["balance"]["variables"] == ["employment_rate: pre-period mean",
                                            "employment_rate: pre-period trend (per quarter)"]
    assert {"variable", "smd_before", "smd_after", "vr_before", "vr_after", "verdict"} \
        <= set(diag["balance"]["rows"][0])
    love = next(c for c in diag["charts"] if c["kind"] == "balance")
    assert set(love["series"]) >= {"variables", "smd_before", "smd_after"}
    assert diag["checks"][0]["ok"] == (diag["balance"]["max_abs_smd_after"] < 0.25)
    assert len(diag["group_means"]) == 40 and diag["pre_periods"] == 26
    assert body["evidence"]["level"] in (2, 3)
    # the pilots' pre-period mean is far above the pool's before matching, close after
    level = diag["balance"]["rows"][0]
    assert abs(level["smd_before"]) > 1 and abs(level["smd_after"]) < 0.1


def test_example_exact_region(example: Panel) -> None:
    result = estimate_match(example, MatchSpec(exact=("region",), k=2, replace=True))
    region = dict(zip(example.units, example.unit_attributes["region"], strict=True))  # type: ignore[attr-defined]
    assert {region[u] for u in result.comparison_units} == {"South West"}
    assert result.estimate.att == pytest.approx(1.5, abs=0.6)


def test_unmatched_pilots_are_named_and_left_out(example: Panel) -> None:
    result = estimate_match(example, MatchSpec(caliper=0.3, replace=True,
                                               inference="cluster"))
    unmatched = result.diagnostics["unmatched"]
    assert unmatched == ["E06000025"]  # South Gloucestershire: no candidate within 0.3 SD
    assert set(unmatched).isdisjoint(result.treated_units) and len(result.treated_units) == 3
    assert any("'E06000025'" in w and "no admissible" in w for w in result.warnings)
    with pytest.raises(DesignError, match="no pilot area could be matched"):
        estimate_match(example, MatchSpec(caliper=0.05))


@pytest.mark.parametrize("spec", [
    MatchSpec(design="2x2", k=2),
    MatchSpec(inference="wild-bootstrap", k=3, replace=True),
    MatchSpec(distance="ivariance", match_on=()),
    MatchSpec(cem=True, cem_bins=3, inference="cluster"),
    MatchSpec(distance="propensity", use_outcome_trend=False),
])
def test_example_variants(example: Panel, spec: MatchSpec) -> None:
    result = estimate_match(example, spec)
    jsonschema.validate(result.to_dict(), result_schema())
    assert 0.5 < result.estimate.att < 2.5  # true effect 1.5 in the simulated example
    assert result.estimate.ci_low <= result.estimate.att <= result.estimate.ci_high


def test_match_on_covariates(example: Panel, tmp_path: Path) -> None:
    spec = PanelSpec(data=EXAMPLE / "pilot.csv", comparators=EXAMPLE / "comparators.csv",
                     outcome="employment_rate", start="2021Q3", covariates=("claimant_rate",))
    panel = load_panel(spec)
    result = estimate_match(panel, MatchSpec(match_on=("claimant_rate",), k=2))
    assert "claimant_rate: pre-period mean" in result.diagnostics["balance"]["variables"]
    with pytest.raises(DataError, match="population"):
        estimate_match(panel, MatchSpec(match_on=("population",)))


def test_errors(example: Panel) -> None:
    with pytest.raises(DataError, match="--exact column 'county'"):
        estimate_match(example, MatchSpec(exact=("county",)))
    with pytest.raises(UsageError, match="distance"):  # a spec mistake: exit 2, when made
        estimate_match(example, MatchSpec(distance="euclid"))
    with pytest.raises(UsageError, match="'k' must be at least 1"):
        estimate_match(example, MatchSpec(k=0))
    with pytest.raises(DesignError, match="nothing to match on"):
        estimate_match(example, MatchSpec(use_outcome_level=False, use_outcome_trend=False))
    frame, _ = simulated_pool()
    frame.loc[frame["area"] == "P2", "first_treated"] = 2021
    frame.loc[(frame["area"] == "P2"), "y"] += 0.0
    with pytest.raises(DesignError, match="common start"):
        estimate_match(sim_panel(frame), MatchSpec())
