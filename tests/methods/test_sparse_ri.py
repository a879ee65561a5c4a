"""Randomization draws from sparse normal equations equal the dense regressions (issue 17).

``Residualizer.sparse_normal_equations`` forms each draw's ``xt'xt`` and ``xt'yt`` from the
rows where the reassigned treatment columns are non-zero; here it is checked against the
dense residualise-then-multiply route for every absorber path that has it (none, balanced,
exact with gaps and weights) with and without nuisance regressors, and a whole gappy
randomization inference against the per-draw dense statistic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lpip_eval.methods.linear.absorb import Absorber, Residualizer, least_squares


def _blocks(n: int, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for k in (1, 3):
        rows = np.sort(rng.choice(n, 25, replace=False))
        out.append((rows, rng.normal(size=(25, k))))
    return out


@pytest.mark.parametrize("kind", ["none", "balanced", "exact", "exact-weighted"])
@pytest.mark.parametrize("with_nuisance", [False, True])
def test_sparse_normal_equations_equal_dense(kind: str, with_nuisance: bool) -> None:
    rng = np.random.default_rng(3)
    units, times = 40, 8
    u = np.repeat(np.arange(units), times)
    t = np.tile(np.arange(times), units)
    if kind.startswith("exact"):
        keep = rng.random(len(u)) >= 0.1
        u, t = u[keep], t[keep]
    n = len(u)
    w = rng.uniform(0.5, 2.0, n) if kind == "exact-weighted" else None
    groups = (None, None) if kind == "none" else (u, t)
    absorber = Absorber(*groups, w, n_units=units, n_times=times,
                        balanced_sorted=kind == "balanced")
    assert absorber.method == kind.split("-", maxsplit=1)[0]
    nuisance = rng.normal(size=(n, 2)) + t[:, None] if with_nuisance else None
    resid = Residualizer(absorber, nuisance, w)
    yt = resid.apply(rng.normal(size=(n, 2)) + u[:, None])
    blocks = _blocks(n, rng)
    sparse = resid.sparse_normal_equations(blocks, yt)
    assert sparse is not None
    for (rows, vals), (gram, rhs) in zip(blocks, sparse, strict=True):
        dense = np.zeros((n, vals.shape[1]))
        dense[rows] = vals
        xt = resid.apply(dense)
        np.testing.assert_allclose(gram, xt.T @ xt, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(rhs, xt.T @ yt, rtol=1e-9, atol=1e-9)


def test_alternating_has_no_sparse_path() -> None:
    u = np.repeat(np.arange(5), 4)
    t = np.tile(np.arange(4), 5)
    absorber = Absorber(u, t, None, n_units=5, n_times=4, max_exact_levels=0)
    resid = Residualizer(absorber, None, None)
    assert resid.sparse_normal_equations([(np.arange(3), np.ones((3, 1)))],
                                         np.zeros((20, 1))) is None


def test_gappy_randomization_draws_equal_dense_statistic() -> None:
    """Every draw of a gappy TWFE randomization inference, against a dense refit."""
    from lpip_eval.data.panel import PanelSpec, panel_from_frame
    from lpip_eval.methods.did import twfe_design
    from lpip_eval.methods.linear import inference as inf
    from lpip_eval.methods.linear.design import _randomization_stats

    rng = np.random.default_rng(8)
    units, times = 30, 10
    u = np.repeat(np.arange(units), times)
    t = np.tile(np.arange(times), units)
    d = ((u < 3) & (t >= 6)).astype(int)
    frame = pd.DataFrame({"area": [f"A{i:02d}" for i in u],
                          "period": [f"{2015 + q // 4}Q{q % 4 + 1}" for q in t],
                          "y": rng.normal(size=len(u)) + u + 2.0 * d, "D": d})
    frame = frame[rng.random(len(frame)) >= 0.1].reset_index(drop=True)
    panel = panel_from_frame(frame, PanelSpec(data="x.csv", outcome="y", treatment_col="D"))
    design, _ = twfe_design(panel, [])
    assert design.absorber.method == "exact"
    _fit, resid = design.fit()
    plan = inf.assignments(design.observed, 99, 4, design.unit_order())
    stats = _randomization_stats(design, plan, resid)
    outcomes = resid.apply(np.column_stack([design.y, design.build(design.observed)[0]]))
    for draw, assignment in zip(stats, plan.rows, strict=True):
        expected = least_squares(resid.apply(design.build(assignment)[0]), outcomes)
        np.testing.assert_allclose(draw, expected, rtol=1e-9, atol=1e-10)
