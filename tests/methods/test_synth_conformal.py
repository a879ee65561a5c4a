"""Conformal inference for synthetic control (Chernozhukov, Wuthrich & Zhu 2021, JASA).

Seeded simulations with a known effect (a factor model with iid noise, so the residuals are
exchangeable and the test is exact): the p-value of the true effect is roughly uniform and
the 95% set covers the true average effect at about the nominal rate; Texas prisons
(causaldata ``texas``, T = 16) has no bounded 95% set because 1/16 > 0.05, which the
result says in words with null ends.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from lpip_eval.data.panel import PanelSpec, panel_from_frame
from lpip_eval.methods.synth.classic import SynthSpec, estimate_synth
from lpip_eval.methods.synth.conformal import conformal, p_value


def _factor(seed: int, effect: float, *, donors: int = 12, t0: int = 24, t1: int = 4
            ) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_t = t0 + t1
    factor = rng.normal(0, 1, (2, n_t))
    load = rng.uniform(0.5, 1.5, (donors + 1, 2))
    y = load @ factor + rng.normal(0, 0.5, (donors + 1, n_t))
    y1 = load[1:3].mean(axis=0) @ factor + rng.normal(0, 0.5, n_t)
    y1[t0:] += effect
    return y1, y[1:]


def test_moving_block_p_value_counts_shifts() -> None:
    u = np.array([0.1, -0.2, 0.1, 0.0, 5.0])  # the last period is the largest residual
    assert p_value(u, 1) == pytest.approx(1 / 5)
    assert p_value(np.ones(6), 2) == 1.0  # ties count against the pilot


def test_null_p_values_roughly_uniform_and_sets_cover() -> None:
    # 30 seeds, T = 28: p-values of the true effect are uniform on {1/28, ..., 1} (mean
    # 0.518; 3 SEs of a mean of 30 = 0.16) and the 95% set covers it in about 95% of runs
    # (binomial(30, 0.95): at least 24 with probability > 0.99).
    ps, covered = [], 0
    for seed in range(30):
        y1, y0 = _factor(seed, 2.0)
        average, _, _ = conformal(y1, y0, 24, att=2.0, level=0.95)
        y_null = y1.copy()
        y_null[24:] -= 2.0
        null_avg, _, _ = conformal(y_null, y0, 24, att=0.0, level=0.95)
        ps.append(null_avg.p_zero)
        assert math.isfinite(average.low) and math.isfinite(average.high)
        covered += average.low <= 2.0 <= average.high
    assert abs(float(np.mean(ps)) - 0.518) < 0.16
    assert covered >= 24


def test_texas_conformal_says_no_bounded_set_in_words() -> None:
    import causaldata  # test dependency (pyproject [test]); a missing peer fails, not skips

    frame = causaldata.texas.load_pandas().data
    panel = panel_from_frame(frame, PanelSpec(data=Path("texas.csv"), area_col="state",
                                              period_col="year", outcome="bmprison",
                                              treated=("Texas",), start="1993"))
    result = estimate_synth(panel, SynthSpec(inference="conformal", placebo_in_time=False,
                                             leave_one_out=False))
    est = result.estimate
    assert est.inference.method == "conformal"
    assert math.isnan(est.ci_low) and math.isnan(est.ci_high)
    assert est.p_value == pytest.approx(1 / 16)  # the smallest possible with T = 16
    assert "1/16" in est.inference.reason and "no bounded 95% set" in est.inference.reason
    body = result.to_dict()
    assert body["estimate"]["ci_low"] is None
    assert all(e["ci_low"] is None for e in body["effects_by_period"])
