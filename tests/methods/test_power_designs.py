"""Planning synthetic DiD (``synth --design sdid``) and matching (``match``): wired through
``plan_options`` like did and classic synth, tested here (issue 15, item 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lpip_eval.data.panel import PanelSpec, load_panel
from lpip_eval.methods.power import simulate
from lpip_eval.methods.power.plan import plan_from_panel, pre_period
from lpip_eval.methods.power.spec import PlanSpec, plan_options

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "examples" / "west_of_england"
# the inference each real evaluation uses: sdid's placebo (Arkhangelsky et al. 2021, with
# 36 comparison areas), matching's randomization inference by re-matching placebo pilots
INFERENCE = {"synth": "placebo", "match": "randomization"}


@pytest.fixture(scope="module")
def panel() -> object:
    return load_panel(PanelSpec(data=EX / "pilot.csv", comparators=EX / "comparators.csv",
                                outcome="employment_rate", start="2021Q3"))


@pytest.mark.parametrize(("method", "design"), [("synth", "sdid"), ("match", "twfe")])
def test_injected_effect_shifts_the_interval_exactly(panel: object, method: str,
                                                     design: str) -> None:
    """The shortcut behind the design-based power curve holds for these procedures too: an
    effect d injected after the fake start moves the estimate and the interval by d."""
    options = dict(plan_options(PlanSpec(method=method, design=design, draws=19, seed=3))
                   .estimator_options, design=design)
    pre = pre_period(panel)  # type: ignore[arg-type]
    draws = simulate.draw_pilots(pre, 4, 4, 2, seed=5)
    base = simulate.run_pilots(pre, method, options, draws, 4)
    moved = simulate.run_pilots(pre, method, options, draws, 4, effect=0.5)
    for a, b in zip(base, moved, strict=True):
        assert b.estimate.att == pytest.approx(a.estimate.att + 0.5, abs=1e-6)
        assert b.estimate.ci_low == pytest.approx(a.estimate.ci_low + 0.5, abs=1e-5)
        assert b.estimate.ci_high == pytest.approx(a.estimate.ci_high + 0.5, abs=1e-5)


@pytest.mark.parametrize(("method", "design"), [("synth", "sdid"), ("match", "twfe")])
def test_plan_reports_the_methods_own_design_based_mde(panel: object, method: str,
                                                       design: str) -> None:
    spec = PlanSpec(method=method, design=design, post_periods=4, pilots=12, draws=19,
                    seed=7)
    plan = plan_from_panel(panel, plan_options(spec))  # type: ignore[arg-type]
    body = plan.to_dict()
    assert (body["method"], body["design"]) == (method, design)
    sim = body["simulation"]
    assert sim["pilots"] == 12 and len(sim["fake_starts"]) >= 1
    # the formula's MDE is the DiD benchmark; the simulated one is this method's own
    assert any("benchmark for this method" in w for w in body["warnings"])
    assert plan.mde_analytic is not None and plan.mde_analytic > 0
    assert plan.mde_simulated is not None and plan.mde_simulated > 0
    # the power curve is the rejection rate of the recorded intervals: at no effect, the
    # false positive rate; at twice the MDE (its last point), at least the target power
    curve = sim["power_curve"]
    assert curve[0] == {"effect": 0.0, "power": sim["false_positive_rate"]}
    assert curve[-1]["effect"] == pytest.approx(2 * plan.mde_simulated)
    assert sim["inference"] == INFERENCE[method]
    # 36 comparison areas: a 5% test is reachable (the floor is at most 1/20)
    assert sim["can_reach_alpha"] and sim["smallest_p"] <= 0.05
