"""HonestDiD smoothness sensitivity (Rambachan & Roth 2023): the R package README's Medicaid
example.

Data: ``tests/reference/ehec_data.csv`` (source and SHA-256 in ``tests/reference/SOURCE.md``);
sample ``year < 2016`` and ``yexp2`` missing or not 2015; D = expanded in 2014; event study
with state and year effects, CR1 clustered by state, reference 2013 (lpip-eval's
``event-study``). Expected FLCIs for the first post period under Delta^SD(M), from the
HonestDiD README (issue 11): M = 0, 0.01, 0.02, 0.03 -> [0.0259, 0.0607], [0.0132, 0.0787],
[0.00286, 0.0907], [-0.00714, 0.101], to 1e-4; breakdown M in [0.022, 0.024] (about 0.0228).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lpip_eval.data.panel import PanelSpec, panel_from_frame
from lpip_eval.methods import did
from lpip_eval.methods.linear.design import cr1
from lpip_eval.methods.sensitivity.smoothness import Flci, folded_normal_quantile

EHEC = Path(__file__).parents[1] / "reference" / "ehec_data.csv"


@pytest.fixture(scope="module")
def medicaid() -> Flci:
    frame = pd.read_csv(EHEC)
    frame = frame[(frame.year < 2016) & (frame.yexp2.isna() | (frame.yexp2 != 2015))]
    frame = frame.assign(D=(frame.yexp2 == 2014).astype(int))
    panel = panel_from_frame(frame, PanelSpec(data=EHEC, area_col="stfips", period_col="year",
                                              outcome="dins", treated_col="D", start="2014"),
                             source="ehec")
    design, extras = did._event_study(panel, [])
    fit, _ = design.fit()
    vcov, _ = cr1(design, fit)
    assert extras["event_times"] == [-6, -5, -4, -3, -2, 0, 1]
    assert fit.coef[5] == pytest.approx(0.046446864502, abs=1e-9)  # README betahat, 2014
    return Flci(fit.coef, vcov, 5, np.array([1.0, 0.0]))


@pytest.mark.parametrize(("m", "low", "high", "tol"), [
    (0.0, 0.0259, 0.0607, 1e-4), (0.01, 0.0132, 0.0787, 1e-4),
    (0.02, 0.00286, 0.0907, 1e-4), (0.03, -0.00714, 0.101, 1e-3)])  # 0.101: 3 digits given
def test_medicaid_smoothness_flci(medicaid: Flci, m: float, low: float, high: float,
                                  tol: float) -> None:
    got_low, got_high = medicaid.interval(m)
    assert got_low == pytest.approx(low, abs=1e-4)
    assert got_high == pytest.approx(high, abs=tol)


def test_medicaid_breakdown(medicaid: Flci) -> None:
    value = medicaid.breakdown()
    assert value is not None and 0.022 <= value <= 0.024


def test_folded_normal_quantile() -> None:
    assert folded_normal_quantile(0.0, 0.05) == pytest.approx(1.959963985, abs=1e-8)
    # large bias: the quantile is bias + z_{0.95}
    assert folded_normal_quantile(10.0, 0.05) == pytest.approx(10 + 1.644853627, abs=1e-6)
