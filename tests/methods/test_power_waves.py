"""Planning a roll-out in waves (issue 15, item 5): per-wave and overall analytic MDEs on
hand cases, the design-based MDE against the real staggered procedure on fresh roll-outs."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lpip_eval.data.panel import Panel, PanelSpec, load_panel
from lpip_eval.errors import LpipEvalError
from lpip_eval.methods.power import analytic
from lpip_eval.methods.power import simulate_waves as sw
from lpip_eval.methods.power import waves as wv
from lpip_eval.methods.power.plan import PlanOptions, plan_from_panel
from lpip_eval.methods.registry import estimate

GAMMA = analytic.ar1_autocovariance(1.0, 0.9, 40)  # AR(1), rho 0.9, sigma^2 1
# Hand-derived a' Sigma a (test_power.py derives the first): m = r = 3 -> 0.357847;
# m = 5, r = 1: 1 + (5 + 2(4p + 3p^2 + 2p^3 + p^4))/25 - (2/5)(p + ... + p^5) = 0.377292.
BRACKET_33, BRACKET_51 = 0.357847, 0.377292


def panel_of(starts: dict[str, int], n_never: int, periods: int = 10, seed: int = 0,
             rho: float = 0.5) -> Panel:
    """An index-period panel: areas named by wave, AR(1) noise plus area and period effects,
    column ``first`` the planned start (empty for the never-treated; starts may lie after the
    data's end, so it is loaded as planning loads data: ``planned=True``)."""
    rng = np.random.default_rng(seed)
    first = [s for s, n in starts.items() for _ in range(n)] + [""] * n_never
    n = len(first)
    e = np.zeros((n, periods))
    e[:, 0] = rng.normal(size=n)
    for k in range(1, periods):
        e[:, k] = rho * e[:, k - 1] + math.sqrt(1 - rho ** 2) * rng.normal(size=n)
    y = e + rng.normal(0, 3, size=(n, 1)) + np.linspace(0, 2, periods)[None, :]
    frame = pd.DataFrame({"area": np.repeat([f"a{i:03d}" for i in range(n)], periods),
                          "period": np.tile(np.arange(1, periods + 1), n),
                          "y": y.ravel(), "first": np.repeat(first, periods)})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.csv"
        frame.to_csv(path, index=False)
        spec = PanelSpec(data=path, outcome="y", first_treated_col="first",
                         period_type="index")
        return load_panel(spec, planned=True)


def test_schedule_sizes_by_hand() -> None:
    panel = panel_of({"4": 50, "6": 50}, 50)
    cs = wv.schedule(panel, 1, "callaway-santanna")
    # the evaluation ends 1 period after the last start (period 6): wave 4 has 3 periods
    assert [(w.label, w.n_areas, w.n_pre, w.n_post, w.n_comparison, w.m) for w in cs] == [
        ("4", 50, 3, 3, 50.0, 1), ("6", 50, 5, 1, 50.0, 1)]
    imp = wv.schedule(panel, 1, "imputation")
    assert [w.m for w in imp] == [3, 5]  # every period before the start
    # not-yet: wave 4's cells 4 and 5 also compare with wave 6's 50 areas: 50 + 50 * 2/3
    nyt = wv.schedule(panel, 1, "callaway-santanna", "not-yet")
    assert nyt[0].n_comparison == pytest.approx(50 + 100 / 3)
    assert nyt[1].n_comparison == 50.0


def test_per_wave_mde_is_the_single_start_formula() -> None:
    panel = panel_of({"4": 50, "6": 50}, 50)
    first, second = wv.schedule(panel, 1, "imputation")
    # wave 4: 50 treated, 50 never-treated, m = r = 3: the hand value of test_power.py
    assert wv.wave_mde(GAMMA, first, alpha=0.05, power=0.8) == pytest.approx(0.338487,
                                                                            abs=1e-6)
    assert wv.wave_mde(GAMMA, second, alpha=0.05, power=0.8) == pytest.approx(
        analytic.mde(GAMMA, n_areas=100, n_treated=50, m=5, r=1, alpha=0.05, power=0.8))
    cs = wv.schedule(panel, 1, "callaway-santanna")[0]
    assert wv.wave_mde(GAMMA, cs, alpha=0.05, power=0.8) == pytest.approx(
        analytic.mde(GAMMA, n_areas=100, n_treated=50, m=1, r=3, alpha=0.05, power=0.8))


def test_overall_mde_weighted_by_area_periods_hand_case() -> None:
    """w = (50*3, 50*1)/200 = (0.75, 0.25); Var = sum w^2 bracket (1/50 + 1/50);
    MDE = (t_.975 + t_.8 with 150 d.f.) sqrt(Var)."""
    panel = panel_of({"4": 50, "6": 50}, 50)
    waves = wv.schedule(panel, 1, "imputation")
    assert wv.weights(waves).tolist() == [0.75, 0.25]
    var = 0.75 ** 2 * BRACKET_33 * 0.04 + 0.25 ** 2 * BRACKET_51 * 0.04
    crit = stats.t.ppf(0.975, 150) + stats.t.ppf(0.8, 150)
    got = wv.overall_mde(GAMMA, waves, n_areas=150, alpha=0.05, power=0.8)
    assert got == pytest.approx(crit * math.sqrt(var), rel=1e-5)
    assert got == pytest.approx(0.267445, abs=1e-5)  # t_.975 + t_.8 = 2.819929


def test_shift_equivariance_of_the_staggered_intervals() -> None:
    """The shortcut of simulate_waves: an effect injected in every wave's post periods moves
    the headline and each wave's interval by exactly that much (influence-function
    inference; sampled randomization draws depend on the outcome through the canonical area
    order, so there the shift holds in distribution, which the power test checks)."""
    panel = panel_of({"30": 3, "32": 3}, 14, periods=20, seed=3)
    pre = wv.history(panel)
    rollout = sw.Rollout((8, 10), (np.array([0, 5, 9]), np.array([2, 11, 17])))
    options = {"design": "callaway-santanna", "inference": "cluster"}
    base, shifted = (estimate("did", sw.rollout_panel(pre, rollout, 4, d), options)
                     for d in (0.0, 2.5))
    assert base.estimate.inference.method == "cluster"
    assert shifted.estimate.ci_low == pytest.approx(base.estimate.ci_low + 2.5, abs=1e-8)
    assert shifted.estimate.ci_high == pytest.approx(base.estimate.ci_high + 2.5, abs=1e-8)
    before, after = (sw.wave_bounds([r], 2) for r in (base, shifted))
    assert before is not None and after is not None
    for (lo0, hi0), (lo1, hi1) in zip(before, after, strict=True):
        assert lo1[0] == pytest.approx(lo0[0] + 2.5) and hi1[0] == pytest.approx(hi0[0] + 2.5)


def test_design_based_power_at_the_simulated_mde() -> None:
    """Seeded: the MDE from 150 placebo roll-outs, then the real procedure (CS, cluster
    inference: 20 treated areas, 60 clusters) on 150 fresh roll-outs with that effect
    injected in each wave's post periods rejects at the target 80% within 0.12: the binomial
    SD of each rate is 0.033, the difference of two 0.046, plus the optimism of choosing the
    MDE on the same roll-outs that estimate its power (seeds 5, 7, 9, 13 gave 0.72, 0.73,
    0.80, 0.85); half the MDE gives about 0.3, so a wrong MDE fails."""
    panel = panel_of({"25": 10, "27": 10}, 40, periods=24, seed=11)
    pre = wv.history(panel)
    options = {"design": "callaway-santanna", "seed": 1}
    common = {"offsets": [0, 2], "sizes": [10, 10], "post": 3}
    sim = sw.simulate_waves(pre, "did", options, **common, pilots=150, seed=5, alpha=0.05,
                            power=0.8)
    assert sim["inference"] == "cluster" and math.isfinite(sim["mde"])
    assert sim["wave_mdes"] is not None and all(m > sim["mde"] for m in sim["wave_mdes"])
    rate = sw.check_wave_power(pre, "did", options, **common, pilots=150, seed=6,
                               effect=sim["mde"])
    assert abs(rate - 0.8) <= 0.12, (rate, sim["mde"])
    assert sim["false_positive_rate"] <= 0.15


def test_plan_from_panel_dispatches_waves_and_refuses_synth() -> None:
    panel = panel_of({"25": 4, "27": 4}, 30, periods=24, seed=2)
    plan = plan_from_panel(panel, PlanOptions(method="did", design="auto", post_periods=3,
                                              pilots=6, estimator_options={"draws": 19}))
    assert plan.design == "callaway-santanna" and plan.start == "25"
    assert [w["start"] for w in plan.waves] == ["25", "27"]
    assert plan.mde == plan.mde_simulated and plan.mde_simulated is not None
    assert all(w["mde_simulated"] is not None for w in plan.waves)
    assert plan.assumptions["history"] == ["1", "24"]
    for method, design in (("synth", "classic"), ("did", "twfe")):
        with pytest.raises(LpipEvalError) as info:
            plan_from_panel(panel, PlanOptions(method=method, design=design, pilots=0))
        assert info.value.exit_code == 2 and "waves" in info.value.message


def test_control_group_not_yet_reaches_the_plan_and_only_waves_take_it() -> None:
    from lpip_eval.methods.power.spec import PlanSpec, plan_options

    panel = panel_of({"25": 4, "27": 4}, 30, periods=24, seed=2)
    options = plan_options(PlanSpec(control_group="not-yet", post_periods=3, pilots=0))
    plan = plan_from_panel(panel, options)
    # wave 25's 5 periods (25..29) compare with wave 27's 4 areas in 2 of them
    assert [w["n_comparison"] for w in plan.waves] == [pytest.approx(30 + 4 * 2 / 5), 30.0]
    assert plan.assumptions["control_group"] == "not-yet"
    never = plan_from_panel(panel, plan_options(PlanSpec(post_periods=3, pilots=0)))
    assert plan.mde_analytic is not None and never.mde_analytic is not None
    assert plan.mde_analytic < never.mde_analytic  # more comparison areas
    for spec in (PlanSpec(control_group="sometimes"),
                 PlanSpec(method="synth", control_group="never"),
                 PlanSpec(design="imputation", control_group="not-yet")):
        with pytest.raises(LpipEvalError) as info:
            plan_options(spec)
        assert info.value.exit_code == 2 and "--control-group" in info.value.message
    single = panel_of({"25": 4}, 30, periods=24)
    with pytest.raises(LpipEvalError) as info:
        plan_from_panel(single, options)
    assert info.value.exit_code == 2 and "roll-out in waves" in info.value.message


def test_waves_inside_the_data_use_only_the_history_before_the_first_wave() -> None:
    """Starts inside the data (18 and 20 of 24 periods): the history is periods 1-17, and
    outcomes from the first start on (treated or not) change nothing."""
    panel = panel_of({"18": 5, "20": 5}, 30, periods=24, seed=4)
    options = PlanOptions(method="did", design="callaway-santanna", post_periods=2, pilots=5,
                          estimator_options={"inference": "cluster"})
    plan = plan_from_panel(panel, options)
    assert plan.assumptions["history"] == ["1", "17"]
    assert [(w["start"], w["n_pre"], w["n_post"]) for w in plan.waves] == [
        ("18", 17, 4), ("20", 19, 2)]
    late = panel.time_idx >= 17  # position of period 18
    noisy = panel.with_outcome(np.where(late, panel.y + 100 * np.sin(panel.unit_idx), panel.y))
    again = plan_from_panel(noisy, options)
    assert again.mde_analytic == plan.mde_analytic
    assert again.mde_simulated == plan.mde_simulated
