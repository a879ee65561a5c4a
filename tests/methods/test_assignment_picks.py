"""Sampled reassignments of one common start are stored as the picked areas (issue 17).

With 5 treated of 30,000 areas only which 5 areas are treated matters: a draw is 5 area
indices, not a 30,000-long timing vector (999 draws: 40 KB instead of 240 MB, and no
999 x 30,000 sort). Checked here: each draw reassigns exactly the observed number of
areas, without repeats, uniformly; the vectors built from the picks are the assignments;
renaming areas draws the same areas; and the balanced closed form on picks equals the one
on the dense vectors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lpip_eval.data.panel import NEVER
from lpip_eval.methods.linear import inference as inf
from lpip_eval.methods.linear.design import LinearDesign


def _first(n: int, k: int, start: int = 7, rare_never: bool = False) -> np.ndarray:
    first = np.full(n, start if rare_never else NEVER, dtype=np.int64)
    first[:k] = NEVER if rare_never else start
    return first


@pytest.mark.parametrize("rare_never", [False, True])
def test_sampled_draws_are_picks_of_the_rarer_value(rare_never: bool) -> None:
    first = _first(3000, 5, rare_never=rare_never)
    plan = inf.assignments(first, 999, 3)
    assert not plan.exact and plan.dense is None and plan.picks is not None
    assert plan.picks.shape == (999, 5) and plan.draws == 999
    assert all(len(set(row)) == 5 for row in plan.picks.tolist())
    rows = plan.rows
    assert rows.shape == (999, 3000)
    rare = NEVER if rare_never else 7
    assert ((rows == rare).sum(axis=1) == 5).all()
    assert np.array_equal(np.sort(np.unique(rows)), np.sort(np.unique(first)))
    assert np.array_equal(np.vstack(list(plan.iter_rows(size=100))), rows)
    assert np.array_equal(plan.block(10, 20), rows[10:20])
    kept = plan.subset(np.arange(999) % 2 == 0)
    assert np.array_equal(kept.rows, rows[::2])


def test_picks_are_uniform_over_areas() -> None:
    plan = inf.assignments(_first(150, 3), 30_000, 11)
    assert plan.picks is not None
    counts = np.bincount(plan.picks.ravel(), minlength=150)
    expected = 30_000 * 3 / 150
    assert np.abs(counts - expected).max() < 5 * np.sqrt(expected)  # 5 sd; a bias shows


def test_renamed_areas_draw_the_same_areas() -> None:
    rng = np.random.default_rng(2)
    first = _first(500, 3)
    order = rng.permutation(500)  # a data-derived order, as canonical_unit_order gives
    plan = inf.assignments(first, 200, 5, order)
    shuffle = rng.permutation(500)  # area i is now called shuffle[i]
    renamed_first = np.empty_like(first)
    renamed_first[shuffle] = first
    renamed = inf.assignments(renamed_first, 200, 5, shuffle[order])
    assert plan.picks is not None and renamed.picks is not None
    assert np.array_equal(np.sort(shuffle[plan.picks], axis=1), renamed.picks)


@pytest.mark.parametrize("rare_never", [False, True])
def test_kronecker_draws_on_picks_equal_dense(rare_never: bool) -> None:
    from lpip_eval.methods.linear.design import _kronecker_draws

    rng = np.random.default_rng(4)
    units, times = 60, 6
    yt = rng.normal(size=(units * times, 2))
    yt -= yt.reshape(units, times, 2).mean(axis=0).reshape(1, times, 2).repeat(
        units, axis=0).reshape(-1, 2)
    factor = (np.arange(times) >= 4).astype(float)[:, None]
    plan = inf.assignments(_first(units, 56 if rare_never else 4), 300, 9)
    assert plan.picks is not None
    dense = inf.Assignments(exact=False, observed_included=False, dense=plan.rows)
    a = _kronecker_draws(factor, yt, plan, [units, times])
    b = _kronecker_draws(factor, yt, dense, [units, times])
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_balanced_ri_through_estimate_did_uses_the_picks() -> None:
    """A whole balanced randomization inference: same p-value whether the draws are picks
    or their dense vectors (the closed form is linear in the assignment)."""
    from lpip_eval.data.panel import PanelSpec, panel_from_frame
    from lpip_eval.methods.did import twfe_design
    from lpip_eval.methods.linear.design import _randomization_stats

    rng = np.random.default_rng(6)
    units, times = 200, 8
    u = np.repeat(np.arange(units), times)
    t = np.tile(np.arange(times), units)
    d = ((u < 3) & (t >= 5)).astype(int)
    frame = pd.DataFrame({"area": [f"A{i:03d}" for i in u], "period": 2001 + t,
                          "y": rng.normal(size=len(u)) + u + 2.0 * d, "D": d})
    panel = panel_from_frame(frame, PanelSpec(data="x.csv", outcome="y", treatment_col="D"))
    design, _ = twfe_design(panel, [])
    _fit, resid = design.fit()
    plan = inf.assignments(design.observed, 99, 4, design.unit_order())
    assert plan.picks is not None
    dense = inf.Assignments(exact=False, observed_included=False, dense=plan.rows)
    np.testing.assert_allclose(_randomization_stats(design, plan, resid),
                               _randomization_stats(design, dense, resid),
                               rtol=1e-9, atol=1e-12)


def _gappy_design(seed: int) -> LinearDesign:
    from lpip_eval.data.panel import PanelSpec, panel_from_frame
    from lpip_eval.methods.did import twfe_design

    rng = np.random.default_rng(seed)
    units, times = 60, 10
    u = np.repeat(np.arange(units), times)
    t = np.tile(np.arange(times), units)
    d = ((u < 3) & (t >= 6)).astype(int)
    frame = pd.DataFrame({"area": [f"A{i:02d}" for i in u], "period": 2001 + t,
                          "y": rng.normal(size=len(u)) + u + 2.0 * d, "D": d})
    frame = frame[rng.random(len(frame)) >= 0.1].reset_index(drop=True)
    panel = panel_from_frame(frame, PanelSpec(data="x.csv", outcome="y", treatment_col="D"))
    return twfe_design(panel, [])[0]


def test_build_at_equals_build_on_the_areas_rows() -> None:
    design = _gappy_design(1)
    assert design.build_at is not None
    first = design.observed.copy()
    areas = np.array([4, 17, 33])
    first[:] = NEVER
    first[areas] = int(np.min(design.observed))  # the observed start
    rows, targets = design.build_at(first, areas)
    full = design.build(first)[0]
    assert np.array_equal(targets, full[rows])
    assert not np.any(np.delete(full, rows, axis=0))  # nothing outside those rows


def test_gappy_draws_on_picks_equal_dense() -> None:
    """The sparse (gappy) path building each draw on its picked areas' rows gives the same
    statistics as building the whole timing vector (60 areas, 3 treated: sampled)."""
    from lpip_eval.methods.linear.design import _randomization_stats

    design = _gappy_design(2)
    assert design.absorber.method == "exact"
    _fit, resid = design.fit()
    plan = inf.assignments(design.observed, 99, 4, design.unit_order())
    assert plan.picks is not None
    dense = inf.Assignments(exact=False, observed_included=False, dense=plan.rows)
    assert np.array_equal(_randomization_stats(design, plan, resid),
                          _randomization_stats(design, dense, resid))
