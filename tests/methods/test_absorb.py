"""The within-transformations of ``methods/linear/absorb.py`` agree with each other and pyhdfe.

The exact normal-equations path (gaps, weights) is checked against alternating projections
(forced with ``max_exact_levels=0``) and, unweighted, against pyhdfe's Somaini-Wolak
algorithm; both on many columns at once and on a panel that falls apart into two
disconnected blocks (two redundant effects instead of one).
"""

from __future__ import annotations

import numpy as np
import pytest

from lpip_eval.methods.linear.absorb import Absorber


def _panel(disconnected: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    units, times = 60, 9
    u = np.repeat(np.arange(units), times)
    t = np.tile(np.arange(times), units)
    keep = rng.random(len(u)) >= 0.15
    if disconnected:  # areas 0-9 seen only in periods 0-3, the others only in 4-8
        keep &= np.where(u < 10, t < 4, t >= 4)
    u, t = u[keep], t[keep]
    x = rng.normal(size=(len(u), 6)) + 3.0 * u[:, None] / units + t[:, None] ** 2
    return u, t, x


@pytest.mark.parametrize("disconnected", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_exact_path_equals_alternating_projections(weighted: bool, disconnected: bool) -> None:
    """Residuals of 6 columns at once and of one column alone, tolerance 1e-9."""
    u, t, x = _panel(disconnected)
    w = np.random.default_rng(1).uniform(0.5, 3.0, len(u)) if weighted else None
    exact = Absorber(u, t, w, n_units=60, n_times=9)
    alternating = Absorber(u, t, w, n_units=60, n_times=9, max_exact_levels=0)
    assert (exact.method, alternating.method) == ("exact", "alternating")
    expected = alternating.residualize(x)
    np.testing.assert_allclose(exact.residualize(x), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(exact.residualize(x[:, 2]), expected[:, 2], rtol=0, atol=1e-9)
    # the residuals are orthogonal to both sets of dummies in the weighted metric
    resid = exact.residualize(x)
    ww = np.ones(len(u)) if w is None else w
    for codes in (u, t):
        sums = np.stack([np.bincount(codes, ww * resid[:, j]) for j in range(x.shape[1])])
        assert np.abs(sums).max() < 1e-9


def test_exact_path_equals_pyhdfe() -> None:
    """pyhdfe 0.2 ``residualize_method="sw"`` (Somaini & Wolak 2016), unweighted, tol 1e-9."""
    import pyhdfe  # test dependency (pyproject [test]); a missing peer fails, not skips

    u, t, x = _panel(False)
    algorithm = pyhdfe.create(np.column_stack([u, t]), drop_singletons=False,
                              compute_degrees=False, residualize_method="sw")
    ours = Absorber(u, t, None, n_units=60, n_times=9).residualize(x)
    np.testing.assert_allclose(ours, algorithm.residualize(x), rtol=0, atol=1e-9)


def test_path_choice() -> None:
    """Balanced closed form, exact normal equations, or alternating projections."""
    u, t, _ = _panel(False)
    assert Absorber(u, t, None, n_units=60, n_times=9).method == "exact"
    assert Absorber(u, t, None, n_units=60, n_times=9, max_exact_levels=8).method == "alternating"
    assert Absorber(u, None, None, n_units=60).method == "alternating"
    assert Absorber(None, None, None).method == "none"
    bu, bt = np.repeat(np.arange(4), 3), np.tile(np.arange(3), 4)
    assert Absorber(bu, bt, None, balanced_sorted=True).method == "balanced"
