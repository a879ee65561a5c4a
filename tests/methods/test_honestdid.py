"""HonestDiD smoothness sensitivity (Rambachan & Roth 2023): the R package README's Medicaid
example.

Data: ``tests/reference/ehec_data.csv`` (source and SHA-256 in ``tests/reference/SOURCE.md``);
sample ``year < 2016`` and ``yexp2`` missing or not 2015; D = expanded in 2014; event study
with state and year effects, CR1 clustered by state, reference 2013 (lpip-eval's
``event-study``). Expected FLCIs for the first post period under Delta^SD(M), from the
HonestDiD README (issue 11): M = 0, 0.01, 0.02, 0.03 -> [0.0259, 0.0607], [0.0132, 0.0787],
[0.00286, 0.0907], [-0.00714, 0.101], to 1e-4; breakdown M in [0.022, 0.024] (about 0.0228).
Relative magnitudes (C-LF, same README): Mbar = 0.5, 1, 1.5, 2 -> [0.0241, 0.0673],
[0.0171, 0.0720], [0.00859, 0.0796], [-0.00107, 0.0883], to 1.5e-3 (grid-based, and R's
least-favourable simulation draws cannot be reproduced); breakdown Mbar in [1.9, 2.0].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lpip_eval.data.panel import PanelSpec, panel_from_frame
from lpip_eval.methods import did
from lpip_eval.methods.linear.design import cr1
from lpip_eval.methods.sensitivity.relative_magnitudes import (
    RelativeMagnitudes,
    dual_vertices,
    gamma_matrix,
    rm_constraints,
)
from lpip_eval.methods.sensitivity.smoothness import Flci, folded_normal_quantile

EHEC = Path(__file__).parents[1] / "reference" / "ehec_data.csv"


@pytest.fixture(scope="module")
def medicaid_fit() -> tuple[np.ndarray, np.ndarray]:
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
    return fit.coef, vcov


@pytest.fixture(scope="module")
def medicaid(medicaid_fit: tuple[np.ndarray, np.ndarray]) -> Flci:
    return Flci(*medicaid_fit, 5, np.array([1.0, 0.0]))


@pytest.fixture(scope="module")
def medicaid_rm(medicaid_fit: tuple[np.ndarray, np.ndarray]) -> RelativeMagnitudes:
    return RelativeMagnitudes(*medicaid_fit, 5, np.array([1.0, 0.0]))


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


@pytest.mark.parametrize(("mbar", "low", "high"), [
    (0.5, 0.0241, 0.0673), (1.0, 0.0171, 0.0720), (1.5, 0.00859, 0.0796),
    (2.0, -0.00107, 0.0883)])  # HonestDiD README, C-LF; tolerance 1.5e-3 (issue 11)
def test_medicaid_relative_magnitudes(medicaid_rm: RelativeMagnitudes, mbar: float,
                                      low: float, high: float) -> None:
    got_low, got_high = medicaid_rm.interval(mbar)
    assert got_low == pytest.approx(low, abs=1.5e-3)
    assert got_high == pytest.approx(high, abs=1.5e-3)


def test_medicaid_relative_magnitudes_breakdown(medicaid_rm: RelativeMagnitudes) -> None:
    value = medicaid_rm.breakdown()
    assert value is not None and 1.9 <= value <= 2.0  # README: about 1.96


def test_relative_magnitudes_find_a_set_beyond_r_default_grid(
        medicaid_fit: tuple[np.ndarray, np.ndarray]) -> None:
    """R's grid is [-20, 20] standard errors around zero: with the Medicaid covariance
    shrunk 30-fold in sd (t ~ 150, as a 30,000-area panel gives) it misses the set, every
    interval came back empty and the report said the conclusion rests entirely on parallel
    trends. The grid now reaches 20 SEs beyond the estimate: the Mbar = 0 set is around the
    estimate and the conclusion survives some Mbar."""
    beta, vcov = medicaid_fit
    rm = RelativeMagnitudes(beta, vcov / 900, 5, np.array([1.0, 0.0]))
    sd = float(np.sqrt(vcov[5, 5] / 900))
    low, high = rm.interval(0.0)
    assert low < beta[5] < high and high - low < 6 * sd
    assert rm.grid[0] == pytest.approx(-20 * sd) and rm.grid[-1] >= beta[5] + 20 * sd - 1e-12
    value = rm.breakdown()
    assert value is not None and value > 0.5
    r_grid = np.linspace(-20 * np.sqrt(vcov[5, 5]), 20 * np.sqrt(vcov[5, 5]), 1000)
    ours = RelativeMagnitudes(beta, vcov, 5, np.array([1.0, 0.0])).grid  # t ~ 5
    assert ours[-1] == pytest.approx(beta[5] + 20 * np.sqrt(vcov[5, 5]), rel=1e-3)
    np.testing.assert_allclose(ours[:1000], r_grid, rtol=0, atol=1e-15)  # R's points kept


def test_rm_constraints_match_r_layout() -> None:
    # R's .create_A_RM(numPrePeriods = 2, numPostPeriods = 1, Mbar = 2, s = 0), by hand:
    # columns d_-2, d_-1, d_1 (d_0 = 0 dropped); rows +-(first difference) - bound, where the
    # bound is d_0 - d_-1 for pre differences and 2 (d_0 - d_-1) for the post one; the
    # all-zero row (the s difference against itself) dropped.
    expected = np.array([[-1.0, 2.0, 0.0], [0.0, 2.0, 1.0], [1.0, 0.0, 0.0],
                         [0.0, 2.0, 0.0], [0.0, 2.0, -1.0]])
    assert np.allclose(rm_constraints(2, 1, 2.0, 0, True), expected)
    assert np.allclose(rm_constraints(2, 1, 2.0, 0, False)[1], [0.0, -2.0, 0.0])


def test_gamma_matrix_completes_l() -> None:
    assert np.allclose(gamma_matrix(np.array([0.5, 0.5])), [[0.5, 0.5], [1.0, 0.0]])
    assert np.allclose(gamma_matrix(np.array([0.0, 1.0])), [[0.0, 1.0], [1.0, 0.0]])


def test_dual_vertices_of_two_lines() -> None:
    # eta = min_d max(y1 - d, y2 + d) = (y1 + y2) / 2: one vertex, lambda = (1/2, 1/2)
    vertices = dual_vertices(np.ones(2), np.array([[1.0], [-1.0]]))
    assert np.allclose(vertices, [[0.5, 0.5]])


def test_extreme_rays_are_independent_of_scale() -> None:
    # four moments +-x1, +-x2 with one nuisance column: rays pair each moment with its
    # mirror or with an opposite-signed one; normalising by sd gives sd' lambda = 1.
    x = np.array([[1.0], [-1.0], [2.0], [-2.0]])
    sd = np.array([1.0, 2.0, 3.0, 4.0])
    vertices = dual_vertices(sd, x)
    assert np.allclose(vertices @ sd, 1.0)
    assert np.allclose(vertices @ x, 0.0)
    assert len(vertices) == 4  # supports {0,1}, {0,3}, {1,2}, {2,3}
