"""Degenerate fits: a standard error that is zero up to rounding is never reported as one
(issue 10, item 7).

Data that the fixed effects fit exactly, or one pilot against one comparison area (two
clusters whose scores cancel), used to raise ZeroDivisionError in the wild bootstrap or
report se = 8e-15 with an interval of noise. Now the headline is a DesignError (exit 4)
saying why, and a degenerate pre-trend test is reported as unavailable.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lpip_eval.data.panel import PanelSpec, panel_from_frame
from lpip_eval.errors import DesignError
from lpip_eval.methods.linear import inference as inf
from lpip_eval.methods.registry import estimate


def _frame(n_areas: int, noise: float, *, noisy_pre: bool = True, seed: int = 0
           ) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(n_areas):
        for t in range(8):
            shock = noise * rng.normal() if noisy_pre or t >= 5 else 0.0
            y = 1000 + 10 * a + 0.5 * t + (2.0 if a == 0 and t >= 5 else 0.0) + shock
            rows.append((f"A{a}", str(2010 + t), y))
    return pd.DataFrame(rows, columns=["area", "period", "y"])


def _panel(frame: pd.DataFrame):  # type: ignore[no-untyped-def]
    return panel_from_frame(frame, PanelSpec(data=Path("sim.csv"), outcome="y",
                                             treated=("A0",), start="2015"), source="sim.csv")


@pytest.mark.parametrize("inference", ["wild-bootstrap", "cluster", "auto"])
@pytest.mark.parametrize("method", ["did", "match"])
def test_exact_fit_is_a_design_error(method: str, inference: str) -> None:
    options: dict[str, object] = {"inference": inference, "draws": 99}
    if method == "match":
        options["k"] = 2
    with pytest.raises(DesignError) as caught:
        estimate(method, _panel(_frame(6, noise=0.0)), options)
    assert "fits the outcome exactly" in str(caught.value), caught.value
    assert caught.value.hint


@pytest.mark.parametrize("method", ["did", "match"])
def test_one_pilot_one_comparator_is_a_design_error(method: str) -> None:
    with pytest.raises(DesignError) as caught:
        estimate(method, _panel(_frame(2, noise=1.0)), {"draws": 99})
    message = str(caught.value)
    assert "standard error is zero" in message and "2 clusters" in message, message


def test_noisy_data_still_gets_an_interval() -> None:
    result = estimate("did", _panel(_frame(6, noise=1e-3)), {"inference": "wild-bootstrap",
                                                             "draws": 99})
    est = result.estimate
    assert est.se is not None and est.se > 1e-6
    assert est.ci_low < 2.0 < est.ci_high


def test_exact_pre_period_only_leaves_the_pretrend_test_unavailable() -> None:
    result = estimate("did", _panel(_frame(6, noise=0.5, noisy_pre=False)),
                      {"inference": "wild-bootstrap", "draws": 99})
    assert math.isfinite(result.estimate.att) and result.estimate.se
    test = result.diagnostics["pretrend_test"]
    assert test["p_value"] is None or math.isnan(test["p_value"])
    assert test["rejected_at_5pct"] is False


def test_wild_bootstrap_with_zero_residuals_does_not_divide_by_zero() -> None:
    x = np.array([1.0, -1.0, 0.5, -0.5])
    interval = inf.wild_cluster_bootstrap(
        x, 3.0 * x, lambda m: m, np.array([0, 0, 1, 1]), n_params=1, level=0.95, draws=99,
        seed=1)
    assert interval.se is None and math.isnan(interval.ci_low)
    assert interval.details["degenerate"]


@pytest.mark.parametrize("inference", ["cluster", "wild-bootstrap", "auto"])
@pytest.mark.parametrize("method", ["did", "match"])
def test_as_many_parameters_as_observations_is_a_design_error(method: str,
                                                              inference: str) -> None:
    """2x2 means of one pilot and one comparison area: 4 cells for 4 parameters (N = K), so
    the CR1 factor (N-1)/(N-K) used to raise ZeroDivisionError."""
    options = {"design": "2x2", "inference": inference, "draws": 99}
    with pytest.raises(DesignError) as caught:
        estimate(method, _panel(_frame(2, noise=1.0)), options)
    assert "4 parameters for 4 observations" in str(caught.value), caught.value
    assert caught.value.hint
    assert math.isnan(inf.cr1_factor(4, 4, 2))


def test_match_randomization_with_no_placebo_is_a_design_error() -> None:
    """One pilot, one comparison area: no placebo pilot can be matched, so randomization
    inference has nothing to compare with (it printed p = 1.000 and NumPy warnings)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw NumPy RuntimeWarning either
        with pytest.raises(DesignError) as caught:
            estimate("match", _panel(_frame(2, noise=1.0)),
                     {"draws": 99, "inference": "randomization"})
    assert "no placebo to compare with" in str(caught.value), caught.value
