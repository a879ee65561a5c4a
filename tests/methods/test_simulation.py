"""Statistical behaviour on simulated panels with a known effect (data process: simulate.py).

Every number a test compares with is the *true* parameter of the simulation (or a property
of a valid test, e.g. uniform p-values under the null), never an earlier output of lpip-eval.
Tolerances are stated next to each check; the seeds are fixed, so the tests are deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from simulate import simulate_panel, to_panel

from lpip_eval.data.panel import Panel
from lpip_eval.methods.did import DidSpec, estimate_did

EFFECT = 2.0
N_UNITS, N_PERIODS, N_TREATED, START = 40, 12, 10, 7  # start: 8th of 12 periods (5 post)
REPLICATIONS = 40


def _estimate(panel: Panel, **options: object) -> object:
    return estimate_did(panel, DidSpec(**options))  # type: ignore[arg-type]


def _binomial_band(n: int, p: float, z: float = 3.0) -> tuple[float, float]:
    """Rate band p +- z binomial standard errors (a deliberately loose acceptance region)."""
    half = z * math.sqrt(p * (1 - p) / n)
    return p - half, p + half


# --------------------------------------------------------------------------- recovery


@pytest.mark.parametrize("design", ["2x2", "twfe", "event-study"])
def test_constant_effect_recovered_within_4_se(design: str) -> None:
    """One draw: 40 areas x 12 periods, 10 treated, effect 2.0, noise sd 1."""
    frame = simulate_panel(n_units=N_UNITS, n_periods=N_PERIODS, n_treated=N_TREATED,
                           start=START, effect=EFFECT, seed=11)
    est = _estimate(to_panel(frame), design=design, inference="cluster").estimate
    assert est.se is not None and est.se > 0
    assert abs(est.att - EFFECT) < 4 * est.se
    assert est.ci_low < est.att < est.ci_high


@pytest.mark.parametrize("design", ["2x2", "twfe", "event-study"])
def test_constant_effect_unbiased_and_se_calibrated(design: str) -> None:
    """Over 40 draws the mean estimate is within 4 Monte Carlo SEs of 2.0, and the mean CR1
    standard error matches the spread of the estimates within 25% (10 treated of 40 areas is
    the regime where CR1 is expected to work)."""
    atts, ses = [], []
    for rep in range(REPLICATIONS):
        frame = simulate_panel(n_units=N_UNITS, n_periods=N_PERIODS, n_treated=N_TREATED,
                               start=START, effect=EFFECT, seed=100 + rep)
        est = _estimate(to_panel(frame), design=design, inference="cluster").estimate
        atts.append(est.att)
        ses.append(est.se)
    atts_arr = np.array(atts)
    spread = float(np.std(atts_arr, ddof=1))
    assert abs(atts_arr.mean() - EFFECT) < 4 * spread / math.sqrt(REPLICATIONS)
    assert 0.75 < float(np.mean(ses)) / spread < 1.25


def _dynamic(k: np.ndarray) -> np.ndarray:
    """Effect growing with time since the start: 0.5, 1.0, 1.5, ... at event times 0, 1, 2."""
    return 0.5 + 0.5 * np.asarray(k, dtype=float)


def test_event_study_recovers_dynamic_path() -> None:
    """Per-event-time effects match the true path (leads: 0), each within 4 of its SEs; the
    headline is the mean of the post-period effects, so it estimates the mean of the path."""
    frame = simulate_panel(n_units=N_UNITS, n_periods=N_PERIODS, n_treated=N_TREATED,
                           start=START, effect=_dynamic, seed=21)
    result = _estimate(to_panel(frame), design="event-study", inference="cluster")
    by_k = {e.event_time: e for e in result.effects_by_period}
    assert sorted(by_k) == list(range(-START, N_PERIODS - START))
    assert by_k[-1].att == 0.0  # reference period
    for k, e in by_k.items():
        truth = float(_dynamic(np.array([k]))[0]) if k >= 0 else 0.0
        if k == -1:
            continue
        assert e.se is not None and e.se > 0
        assert abs(e.att - truth) < 4 * e.se, (k, e.att, truth)
        assert e.ci_low < e.att < e.ci_high
    post = np.arange(0, N_PERIODS - START)
    truth_mean = float(_dynamic(post).mean())
    assert abs(result.estimate.att - truth_mean) < 4 * result.estimate.se
    assert result.estimate.att == pytest.approx(np.mean([by_k[k].att for k in post]), abs=1e-10)


def test_event_study_dynamic_path_unbiased_over_draws() -> None:
    """Mean of each per-event-time estimate over 40 draws: within 4 Monte Carlo SEs of truth."""
    draws: dict[int, list[float]] = {}
    for rep in range(REPLICATIONS):
        frame = simulate_panel(n_units=N_UNITS, n_periods=N_PERIODS, n_treated=N_TREATED,
                               start=START, effect=_dynamic, seed=300 + rep)
        result = _estimate(to_panel(frame), design="event-study", inference="cluster")
        for e in result.effects_by_period:
            draws.setdefault(int(e.event_time), []).append(e.att)
    for k, values in draws.items():
        if k == -1:
            continue
        truth = float(_dynamic(np.array([k]))[0]) if k >= 0 else 0.0
        arr = np.array(values)
        assert abs(arr.mean() - truth) < 4 * arr.std(ddof=1) / math.sqrt(len(arr)) + 1e-12, k


STAGGERED_STARTS = [3, 3, 3, 5, 5, 5, 7, 7, 9, 9]  # positions in 12 periods


def test_staggered_homogeneous_effect_recovered_by_twfe() -> None:
    """With a constant effect across cohorts and time TWFE is unbiased even with staggered
    starts (the Goodman-Bacon 2021 problem needs heterogeneous effects); lpip-eval still
    warns about staggered timing."""
    atts = []
    for rep in range(REPLICATIONS):
        frame = simulate_panel(n_units=N_UNITS, n_periods=N_PERIODS, n_treated=N_TREATED,
                               start=STAGGERED_STARTS, effect=EFFECT, seed=500 + rep)
        result = _estimate(to_panel(frame), design="twfe", inference="cluster")
        est = result.estimate
        assert abs(est.att - EFFECT) < 4 * est.se
        atts.append(est.att)
    assert any("different times" in w for w in result.warnings)
    arr = np.array(atts)
    assert abs(arr.mean() - EFFECT) < 4 * arr.std(ddof=1) / math.sqrt(len(arr))


def test_staggered_event_study_recovers_common_dynamic_path() -> None:
    """Event study on staggered starts with the same dynamic path in every cohort."""
    frame = simulate_panel(n_units=N_UNITS, n_periods=N_PERIODS, n_treated=N_TREATED,
                           start=STAGGERED_STARTS, effect=_dynamic, seed=77)
    result = _estimate(to_panel(frame), design="event-study", inference="cluster")
    for e in result.effects_by_period:
        if e.event_time == -1:
            continue
        truth = float(_dynamic(np.array([e.event_time]))[0]) if e.event_time >= 0 else 0.0
        assert abs(e.att - truth) < 4 * e.se, (e.event_time, e.att, truth)


# --------------------------------------------------------------------------- the null


def _null_results(n_treated: int, n_units: int, sims: int, seed0: int, **options: object
                  ) -> list[object]:
    out = []
    for s in range(sims):
        frame = simulate_panel(n_units=n_units, n_treated=n_treated, effect=0.0,
                               seed=seed0 + s)
        out.append(_estimate(to_panel(frame), design="twfe", seed=s, **options))
    return out


SIMS = 200


@pytest.mark.parametrize(
    ("n_treated", "n_units", "exact"),
    [(2, 20, True),    # C(20, 2) = 190 assignments: enumerated
     (4, 40, False)],  # C(40, 4) = 91,390 > 5,000: 99 sampled assignments
)
def test_randomization_pvalues_uniform_under_null(n_treated: int, n_units: int,
                                                  exact: bool) -> None:
    """No effect, 200 data sets: randomization p-values ~ U(0, 1).

    Kolmogorov-Smirnov against U(0, 1) must not reject at 1%, and the rejection rate at 5%
    must lie in [0.01, 0.10] (about +-3 binomial SEs of 0.05 for 200 draws: 0.015).
    """
    results = _null_results(n_treated, n_units, SIMS, 1_000, inference="randomization",
                            draws=99)
    assert {r.estimate.inference.details["exact"] for r in results} == {exact}
    p = np.array([r.estimate.p_value for r in results])
    assert ((p > 0) & (p <= 1)).all()
    assert stats.kstest(p, "uniform").pvalue > 0.01
    assert 0.01 <= float(np.mean(p <= 0.05)) <= 0.10


def test_one_treated_area_cr1_over_rejects_and_auto_uses_randomization() -> None:
    """One treated area of 20, no effect: CR1 clustered SEs reject far more than 5%
    (Conley & Taber 2011; MacKinnon & Webb 2017 report rejection rates of this size),
    which is why ``auto`` picks randomization inference and says so."""
    cr1 = _null_results(1, 20, SIMS, 2_000, inference="cluster")
    rate = float(np.mean([r.estimate.p_value <= 0.05 for r in cr1]))
    assert rate > 0.25, rate  # a valid 5% test: <= 0.05 + 3 SEs = 0.096
    assert all(any("standard errors are likely too small" in w for w in r.warnings)
               for r in cr1)

    auto = _null_results(1, 20, SIMS, 2_000, inference="auto", draws=99)
    for r in auto:
        info = r.estimate.inference
        assert info.method == "randomization"
        assert "1 treated cluster" in info.reason
        assert "anti-conservative" in info.reason
        assert "randomization" in info.reason
        assert info.details["exact"] is True
        assert info.details["draws"] == 20
    p = np.array([r.estimate.p_value for r in auto])
    # With 20 equally likely assignments p is k/20; P(p <= 0.05) = 1/20 exactly.
    assert np.allclose(p * 20, np.round(p * 20))
    low, high = _binomial_band(SIMS, 0.05)
    assert low <= float(np.mean(p <= 0.05)) <= high


def test_auto_keeps_cr1_with_many_treated_clusters() -> None:
    """10 treated of 40 areas (>= 10 treated, >= 30 clusters): auto uses CR1 and says why."""
    frame = simulate_panel(n_units=N_UNITS, n_treated=N_TREATED, seed=5)
    info = _estimate(to_panel(frame), inference="auto").estimate.inference
    assert info.method == "cluster"
    assert "10 treated" in info.reason and "40 clusters" in info.reason


# --------------------------------------------------------------------------- wild bootstrap


@pytest.mark.parametrize("weights", ["rademacher", "webb"])
@pytest.mark.parametrize("design", ["2x2", "twfe"])
def test_wild_bootstrap_close_to_cr1_with_many_clusters(design: str, weights: str) -> None:
    """40 clusters, 20 treated: bootstrap-t and CR1 t inference agree asymptotically
    (Cameron, Gelbach & Miller 2008). Tolerances for 999 draws: p-values within 0.03,
    interval ends within 10% of the CR1 interval's width."""
    for seed in range(3):
        frame = simulate_panel(n_units=40, n_treated=20, effect=0.4, seed=seed)
        panel = to_panel(frame)
        cr1 = _estimate(panel, design=design, inference="cluster").estimate
        wb = _estimate(panel, design=design, inference="wild-bootstrap",
                       bootstrap_weights=weights, draws=999, seed=7).estimate
        assert wb.inference.method == "wild-bootstrap"
        assert wb.inference.details["weights"] == weights
        assert wb.inference.details["enumerated"] is False
        assert wb.se == pytest.approx(cr1.se, rel=0.02)  # same CR1-type score, G/(G-1) only
        width = cr1.ci_high - cr1.ci_low
        assert abs(wb.p_value - cr1.p_value) <= 0.03
        assert abs(wb.ci_low - cr1.ci_low) <= 0.1 * width
        assert abs(wb.ci_high - cr1.ci_high) <= 0.1 * width
        assert wb.ci_low < wb.att < wb.ci_high


def _p_at(panel: Panel, b0: float, **options: object) -> float:
    """p-value of H0: effect = b0, by testing zero on the outcome with b0 removed."""
    shifted = panel.with_outcome(panel.y - b0 * panel.treated_now)
    return float(_estimate(shifted, **options).estimate.p_value)


def _mc_band(alpha: float, draws: int) -> float:
    """3 SEs of the difference of two independent Monte Carlo p-values near ``alpha``."""
    return 3 * math.sqrt(2 * alpha * (1 - alpha) / draws)


@pytest.mark.parametrize("level", [0.90, 0.95])
def test_wild_bootstrap_interval_inverts_the_test_at_its_level(level: float) -> None:
    """The interval is {b0 : p(b0) > 1 - level}. With 9 clusters all 2^9 = 512 Rademacher
    weight vectors are enumerated, so re-testing with the effect at an interval end removed
    must give p = 1 - level up to one step of the bootstrap distribution (2/512: the draws v
    and -v give the same |t|)."""
    panel = to_panel(simulate_panel(n_units=9, n_treated=4, effect=0.4, seed=3))
    options = {"inference": "wild-bootstrap", "bootstrap_weights": "rademacher",
               "draws": 999, "seed": 7, "ci_level": level}
    est = _estimate(panel, **options).estimate
    assert est.inference.details["enumerated"] is True
    assert est.inference.details["draws"] == 512
    assert est.ci_low < est.att < est.ci_high
    for b0 in (est.ci_low, est.ci_high):
        assert abs(_p_at(panel, b0, **options) - (1 - level)) <= 2 / 512 + 1e-12, b0


@pytest.mark.parametrize("weights", ["rademacher", "webb"])
def test_wild_bootstrap_sampled_interval_matches_its_level(weights: str) -> None:
    """Sampled weights (40 clusters): the 90% interval lies inside the 95% one, and at its
    ends a re-test gives p = 1 - level within Monte Carlo error (the re-test's draws differ,
    as they are tied to a data-derived order of the areas): 3 SEs of a difference."""
    panel = to_panel(simulate_panel(n_units=40, n_treated=20, effect=0.4, seed=3))
    ends = {}
    for level in (0.90, 0.95):
        options = {"inference": "wild-bootstrap", "bootstrap_weights": weights,
                   "draws": 999, "seed": 7, "ci_level": level}
        est = _estimate(panel, **options).estimate
        assert est.inference.details["enumerated"] is False
        assert est.ci_low < est.att < est.ci_high
        ends[level] = (est.ci_low, est.ci_high)
        for b0 in ends[level]:
            p = _p_at(panel, b0, **options)
            assert abs(p - (1 - level)) <= _mc_band(1 - level, 999), (level, b0, p)
    assert ends[0.95][0] < ends[0.90][0] < ends[0.90][1] < ends[0.95][1]


# --------------------------------------------------------------------------- RI intervals


@pytest.mark.parametrize("level", [0.90, 0.95])
def test_randomization_interval_coverage(level: float) -> None:
    """100 draws with a true effect of 2.0 and 2 treated of 20 areas: the randomization
    interval (test inversion under a constant effect, exact over 190 assignments) covers 2.0
    in about level% of draws; accepted band: level +- 3 binomial SEs, capped at 100%."""
    sims = 100
    covered = 0
    for s in range(sims):
        frame = simulate_panel(n_units=20, n_treated=2, effect=EFFECT, seed=4_000 + s)
        est = _estimate(to_panel(frame), inference="randomization", ci_level=level).estimate
        assert est.ci_low <= est.att <= est.ci_high
        covered += est.ci_low <= EFFECT <= est.ci_high
    low, high = _binomial_band(sims, level)
    assert low * sims <= covered <= min(high * sims, sims), covered


def test_randomization_interval_inverts_the_test() -> None:
    """Exact RI (2 treated of 20: 190 assignments): re-testing at an interval end gives
    p = 0.05 up to one step of the randomization distribution (1/190)."""
    panel = to_panel(simulate_panel(n_units=20, n_treated=2, effect=EFFECT, seed=9))
    est = _estimate(panel, inference="randomization").estimate
    assert est.inference.details["exact"] is True
    for b0 in (est.ci_low, est.ci_high):
        assert abs(_p_at(panel, b0, inference="randomization") - 0.05) <= 1 / 190 + 1e-12


def test_sampled_randomization_interval_inverts_the_test() -> None:
    """Sampled RI (4 treated of 40, 999 draws): at the interval ends a re-test gives p = 0.05
    within Monte Carlo error (3 SEs of a difference of two p-values)."""
    panel = to_panel(simulate_panel(n_units=40, n_treated=4, effect=EFFECT, seed=9))
    options = {"inference": "randomization", "draws": 999, "seed": 3}
    est = _estimate(panel, **options).estimate
    assert est.inference.details["exact"] is False
    for b0 in (est.ci_low, est.ci_high):
        p = _p_at(panel, b0, **options)
        assert abs(p - 0.05) <= _mc_band(0.05, 999), (b0, p)
