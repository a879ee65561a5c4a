"""Planning maths: the Burlig-Preonas-Woerman formula and the design-based simulation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lpip_eval.data.panel import PanelSpec, load_panel
from lpip_eval.methods.power import analytic, simulate
from lpip_eval.methods.power.plan import PlanOptions, plan_from_panel, pre_period

ROOT = Path(__file__).resolve().parents[2]


def test_bracket_ar1_hand_derived() -> None:
    # Derived by hand (a' Sigma a, AR(1) rho = 0.9, m = r = 3, sigma^2 = 1); pcpanel's help
    # examples print no numbers, so the Monte Carlo below checks the derivation.
    gamma = analytic.ar1_autocovariance(1.0, 0.9, 6)
    assert analytic.bracket(gamma, 3, 3) == pytest.approx(0.357847, abs=1e-6)
    assert analytic.covariances(gamma, 3, 3).bracket(3, 3) == pytest.approx(0.357847, abs=1e-6)


@pytest.mark.parametrize(("j", "expected"), [(100, 0.338487), (80, 0.379377),
                                             (160, 0.266612)])
def test_mde_hand_derived(j: int, expected: float) -> None:
    # Derived, checked by Monte Carlo: P = 0.5, 5% two-sided, 80% power, t with J d.f.
    gamma = analytic.ar1_autocovariance(1.0, 0.9, 6)
    got = analytic.mde(gamma, n_areas=j, n_treated=j // 2, m=3, r=3, alpha=0.05, power=0.8)
    assert got == pytest.approx(expected, abs=1e-6)


def test_formula_variance_by_monte_carlo() -> None:
    """Seeded: the SD of the DiD estimate over simulated AR(1) panels within 2% of the
    formula's sqrt(bracket / (P(1-P)J))."""
    rng = np.random.default_rng(7)
    j, m, r, rho, reps = 100, 3, 3, 0.9, 20000
    treated = np.arange(j) < j // 2
    t = m + r
    e = np.empty((reps, j, t))
    e[..., 0] = rng.normal(size=(reps, j))
    for k in range(1, t):
        e[..., k] = rho * e[..., k - 1] + np.sqrt(1 - rho ** 2) * rng.normal(size=(reps, j))
    change = e[..., m:].mean(axis=2) - e[..., :m].mean(axis=2)
    did = change[:, treated].mean(axis=1) - change[:, ~treated].mean(axis=1)
    formula = np.sqrt(analytic.bracket(analytic.ar1_autocovariance(1, rho, t), m, r)
                      / (0.25 * j))
    assert did.std() == pytest.approx(formula, rel=0.02)


def test_autocovariance_estimate_recovers_ar1_bracket() -> None:
    """Area and period effects removed and corrected for: the bracket of a simulated AR(1)
    panel (rho 0.7, with large area effects) within 5% of the truth (seeded)."""
    rng = np.random.default_rng(1)
    n, t, rho = 600, 20, 0.7
    e = np.zeros((n, t))
    e[:, 0] = rng.normal(size=n)
    for k in range(1, t):
        e[:, k] = rho * e[:, k - 1] + np.sqrt(1 - rho ** 2) * rng.normal(size=n)
    y = e + 3 * rng.normal(size=(n, 1)) + rng.normal(size=(1, t))
    gamma = analytic.estimate_autocovariance(y)
    truth = analytic.bracket(analytic.ar1_autocovariance(1, rho, t), 8, 4)
    assert analytic.bracket(gamma, 8, 4) == pytest.approx(truth, rel=0.05)


def _example(start: str = "2021Q3") -> object:
    ex = ROOT / "examples" / "west_of_england"
    return load_panel(PanelSpec(data=ex / "pilot.csv", comparators=ex / "comparators.csv",
                                outcome="employment_rate", start=start))


def test_design_based_power_at_simulated_mde() -> None:
    """Seeded: injecting the simulated MDE into fresh placebo pilots, the real procedure
    (DiD, randomization inference) rejects at the target 80% within simulation error."""
    panel = _example()
    options = PlanOptions(post_periods=8, pilots=200, seed=11,
                          estimator_options={"draws": 199})
    plan = plan_from_panel(panel, options)
    assert plan.mde_simulated is not None and np.isfinite(plan.mde_simulated)
    pre = pre_period(panel)
    rate = simulate.check_power(pre, "did", {"draws": 199, "seed": 99, "design": "twfe"},
                                n_treated=4, post=8, pilots=200, seed=12345,
                                effect=plan.mde_simulated)
    # binomial SE at p = 0.8 with 2 x 200 pilots: sqrt(.8 * .2 / 200) * sqrt(2) = 0.04
    assert abs(rate - 0.8) < 3 * 0.04


def test_injected_effect_shifts_interval_exactly() -> None:
    """The shortcut behind the power curve: an injected effect d moves the interval by d."""
    pre = pre_period(_example())
    draws = simulate.draw_pilots(pre, 4, 8, 2, seed=3)
    base = simulate.run_pilots(pre, "did", {"draws": 99}, draws, 8)
    moved = simulate.run_pilots(pre, "did", {"draws": 99}, draws, 8, effect=0.5)
    for a, b in zip(base, moved, strict=True):
        assert b.estimate.att == pytest.approx(a.estimate.att + 0.5, abs=1e-9)
        assert b.estimate.ci_low == pytest.approx(a.estimate.ci_low + 0.5, abs=1e-6)


def test_prop99_regression_values() -> None:
    """Regression values (recorded from this code, not external references): Prop 99, the 38
    states other than California, a fake start in 1980 (1970-1979 before, 1980-1984 after),
    5 treated; design-based over 100 seeded sampled assignments (C(38,5) = 501,942 is too
    many to enumerate), DiD with randomization inference."""
    import pandas as pd

    from lpip_eval.data.panel import panel_from_frame

    frame = pd.read_csv(ROOT / "tests" / "reference" / "prop99_smoking.csv")
    frame = frame[(frame["state"] != "California") & frame["year"].between(1970, 1984)]
    frame = frame.assign(year=frame["year"].astype(int))[["state", "year", "cigsale"]]
    panel = panel_from_frame(frame, PanelSpec(
        data=Path("prop99.csv"), area_col="state", period_col="year", outcome="cigsale",
        treated=("Alabama",), start="1980"))
    assert (panel.n_units, panel.n_periods) == (38, 15)
    y = np.zeros((38, 15))
    y[panel.unit_idx, panel.time_idx] = panel.y
    gamma = analytic.estimate_autocovariance(y[:, :10])
    formula = analytic.mde(gamma, n_areas=38, n_treated=5, m=10, r=5, alpha=0.05, power=0.8)
    rng = np.random.default_rng(1980)
    draws = [(10, np.sort(rng.choice(38, 5, replace=False))) for _ in range(100)]
    results = simulate.run_pilots(simulate.placebo_panel(panel, 0, 15, np.array([], int)),
                                  "did", {"draws": 199, "seed": 1}, draws, 5)
    low = np.array([r.estimate.ci_low for r in results])
    high = np.array([r.estimate.ci_high for r in results])
    simulated = simulate.simulated_mde(low, high, 0.8)
    assert formula == pytest.approx(REGRESSION["analytic"], rel=1e-6)
    assert simulated == pytest.approx(REGRESSION["simulated"], rel=1e-6)


REGRESSION = {"analytic": 12.246955594320063, "simulated": 17.705571245348626}  # recorded
