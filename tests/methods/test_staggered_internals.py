"""The fast paths of the Callaway & Sant'Anna pipeline against the direct computations they
replace: cohort-sum ATT(g,t) and the per-cohort influence functions against the per-cell 2x2
estimator, coefficient-based standard errors against the materialised influence functions,
the per-cohort and block-sparse bootstraps against the dense product, cluster sums against
``np.add.at``, and the tie-resolving sort against ``np.lexsort``. Tolerances are
floating-point only (1e-9 relative or tighter)."""

from __future__ import annotations

import numpy as np
import pytest

from lpip_eval.methods.linear.unit_order import (
    canonical_unit_order,
    canonical_wide_order,
    lexsort_by_leading_keys,
)
from lpip_eval.methods.staggered import bootstrap as boot
from lpip_eval.methods.staggered.aggregate import aggregate_all
from lpip_eval.methods.staggered.base import (
    CohortBase,
    DenseBase,
    cluster_sums,
    influence_base,
    sparse_runs,
)
from lpip_eval.methods.staggered.cohorts import Wide
from lpip_eval.methods.staggered.group_time import _two_by_two_cell, group_time


def _wide(n: int = 60, n_t: int = 7, seed: int = 0, clusters: np.ndarray | None = None,
          weights: np.ndarray | None = None, level: float = 100.0) -> Wide:
    rng = np.random.default_rng(seed)
    cohort = rng.choice([2, 3, 5, n_t], size=n)
    y = level + rng.normal(size=(n, 1)) * level / 10 + rng.normal(size=(n, n_t))
    y += np.where(np.arange(n_t)[None, :] >= cohort[:, None], 0.7, 0.0)
    return Wide(y=y, x=None, cohort=cohort,
                weights=np.ones(n) if weights is None else weights,
                clusters=np.arange(n) if clusters is None else clusters,
                units=np.arange(n), labels=tuple(str(2000 + t) for t in range(n_t)))


@pytest.mark.parametrize("control", ["never", "not-yet"])
@pytest.mark.parametrize("base_period", ["varying", "universal"])
def test_cohort_sums_equal_the_two_by_two_estimator(control: str, base_period: str) -> None:
    wide = _wide()
    fast = group_time(wide, control=control, base_period=base_period, estimation="dr")
    base = influence_base(wide, fast)
    assert fast.inf is None and isinstance(base, CohortBase)
    fast_inf = base.dense(wide)
    n_t = wide.n_periods
    codes = np.arange(n_t + 1)
    for j in np.flatnonzero(np.isfinite(fast.att) & (fast.time != fast.base)):
        g, t, b = int(fast.group[j]), int(fast.time[j]), int(fast.base[j])
        comp = (codes == n_t) if control == "never" else (codes > max(t, b)) & (codes != g)
        inf = np.zeros((wide.n, len(fast.att)))
        att = _two_by_two_cell(wide, np.array([g, t, b]), comp[wide.cohort], "reg", inf,
                               int(j))
        assert fast.att[j] == pytest.approx(att, rel=1e-10, abs=1e-12)
        np.testing.assert_allclose(fast_inf[:, j], inf[:, j], rtol=1e-9, atol=1e-9)


def test_coefficient_standard_errors_equal_the_materialised_ones() -> None:
    clusters = np.repeat(np.arange(20), 3)
    for wide in (_wide(), _wide(clusters=clusters), _wide(level=1e6)):
        gt = group_time(wide, control="not-yet", base_period="varying", estimation="dr")
        aggs = aggregate_all(wide, gt)
        base = influence_base(wide, gt)
        coef = np.column_stack([aggs["simple"].overall_coef, aggs["dynamic"].coef,
                                aggs["group"].overall_coef, aggs["calendar"].coef])
        psi = base.dense(wide) @ coef
        sums = np.zeros((int(wide.clusters.max()) + 1, psi.shape[1]))
        np.add.at(sums, wide.clusters, psi)
        direct = np.sqrt(np.sum(sums**2, axis=0)) / wide.n
        np.testing.assert_allclose(boot.analytic_se(base.root(wide), coef, wide.n), direct,
                                   rtol=1e-9)
        dense = DenseBase(base.dense(wide))
        np.testing.assert_allclose(base.cluster_sums(wide), dense.cluster_sums(wide),
                                   rtol=1e-9, atol=1e-9 * np.abs(sums).max())


def test_membership_coefficients_carry_the_estimated_weights() -> None:
    """The simple aggregation's influence function, rebuilt by hand from R ``did``'s
    ``wif`` (weights pg / sum(pg) estimated from cohort shares), equals ``base @ coef``."""
    wide = _wide(seed=3)
    gt = group_time(wide, control="never", base_period="varying", estimation="dr")
    base = influence_base(wide, gt).dense(wide)
    gt_inf = base[:, :len(gt.att)]
    keep = gt.post & np.isfinite(gt.att)
    groups = gt.group[keep]
    pg = np.array([np.mean(wide.cohort == g) for g in groups])
    member = (wide.cohort[:, None] == groups[None, :]) - pg
    wif = member / pg.sum() - member.sum(axis=1)[:, None] * (pg / pg.sum()**2)[None, :]
    by_hand = gt_inf[:, keep] @ (pg / pg.sum()) + wif @ gt.att[keep]
    simple = aggregate_all(wide, gt)["simple"]
    np.testing.assert_allclose(base @ simple.overall_coef, by_hand, rtol=1e-10, atol=1e-12)


def test_cluster_sums_equal_add_at() -> None:
    rng = np.random.default_rng(1)
    inf = rng.normal(size=(60, 4))
    for clusters in (rng.permutation(60), rng.integers(0, 9, 60)):
        _, codes = np.unique(clusters, return_inverse=True)
        wide = _wide(clusters=codes)
        expected = np.zeros((int(codes.max()) + 1, 4))
        np.add.at(expected, codes, inf)
        np.testing.assert_allclose(cluster_sums(wide, inf), expected, rtol=1e-12)


@pytest.mark.parametrize("kind", ["rademacher", "mammen"])
def test_block_sparse_draws_equal_the_dense_product(kind: str) -> None:
    rng = np.random.default_rng(2)
    sums = rng.normal(size=(50, 6))
    sums[:20, 3:] = 0.0  # columns that vanish on a run of rows, as an ATT(g,t) does
    sums[35:, :2] = 0.0
    stream = np.random.SeedSequence(5)
    sparse = boot._chunk_draws((30, stream), blocks=sparse_runs(sums, rows=16),
                               total=sums.sum(axis=0), kind=kind, n=50, clusters=50)
    low, high, is_low = boot._two_points(50, 30, kind, np.random.default_rng(stream))
    dense = np.where(is_low.astype(bool), low, high) @ sums / 50
    np.testing.assert_allclose(sparse, dense, rtol=1e-12, atol=1e-14)


def test_default_weights_are_rademacher_as_r_did() -> None:
    """R ``did``'s ``mboot`` draws through ``BMisc::multiplier_bootstrap``: weights +-1 with
    probability 1/2 each (Rademacher)."""
    low, high, is_low = boot._two_points(10_000, 20, "rademacher", np.random.default_rng(0))
    assert (low, high) == (-1.0, 1.0)
    assert set(np.unique(is_low).tolist()) == {0, 1}
    assert abs(is_low.mean() - 0.5) < 0.005  # 200,000 fair bits: sd 0.0011
    root5 = np.sqrt(5.0)
    low, high, is_low = boot._two_points(10_000, 20, "mammen", np.random.default_rng(0))
    assert low == pytest.approx((1 - root5) / 2) and high == pytest.approx((1 + root5) / 2)
    assert abs(is_low.mean() - (root5 + 1) / (2 * root5)) < 0.005


def test_lexsort_by_leading_keys_is_lexsort() -> None:
    rng = np.random.default_rng(4)
    for _ in range(500):
        n, k = int(rng.integers(0, 30)), int(rng.integers(1, 6))
        keys = [rng.integers(0, int(rng.integers(1, 4)), n).astype(float) for _ in range(k)]
        for key in keys:  # NaNs too: lexsort puts them last, together
            key[rng.random(n) < 0.2] = np.nan
        leading = int(rng.integers(1, 4))
        np.testing.assert_array_equal(lexsort_by_leading_keys(keys, leading),
                                      np.lexsort(keys))


def test_wide_order_equals_row_order() -> None:
    rng = np.random.default_rng(5)
    y = np.round(rng.normal(size=(200, 6)), 1)
    y[7] = y[3] + 5.0  # a tie up to a level shift
    group = rng.integers(0, 3, 200)
    rows = canonical_unit_order(np.repeat(np.arange(200), 6), y.ravel(), 200, group=group,
                                time_idx=np.tile(np.arange(6), 200))
    np.testing.assert_array_equal(canonical_wide_order(y, group), rows)


@pytest.mark.parametrize("by_area", [True, False])
def test_cohort_base_draws_equal_the_dense_base(by_area: bool) -> None:
    """The per-cohort bootstrap ([Z_c, 1] @ A_c, run by cohort in the draw order) gives the
    draws of the dense n x p base for the same seed."""
    wide = _wide(n=90, seed=6, clusters=None if by_area else np.repeat(np.arange(30), 3))
    gt = group_time(wide, control="not-yet", base_period="varying", estimation="dr")
    base = influence_base(wide, gt)
    assert isinstance(base, CohortBase)
    coef = aggregate_all(wide, gt)["dynamic"].coef
    fast = boot.multiplier_bootstrap(wide, base, coef, draws=250, seed=9)
    dense = boot.multiplier_bootstrap(wide, DenseBase(base.dense(wide)), coef, draws=250,
                                      seed=9)
    np.testing.assert_allclose(fast.draws, dense.draws, rtol=1e-9,
                               atol=1e-9 * np.abs(dense.draws).max())


def test_a_zero_variance_comes_out_zero_not_its_square_root() -> None:
    """With one cluster every influence function sums to zero within it, so every clustered
    SE is 0. A Gram quadratic form gave ~1e-8 (the square root of rounding), above the
    zero-SE guard, and an interval of +-2e-8 with p = 0; the square-root form gives 0 to
    rounding."""
    for weights in (None, np.linspace(0.5, 1.5, 60)):
        wide = _wide(clusters=np.zeros(60, dtype=np.int64), weights=weights)
        gt = group_time(wide, control="never", base_period="varying", estimation="dr")
        aggs = aggregate_all(wide, gt)
        base = influence_base(wide, gt)
        coef = np.column_stack([aggs["simple"].overall_coef, aggs["dynamic"].coef])
        scale = np.abs(base.dense(wide) @ coef).max()
        assert np.all(boot.analytic_se(base.root(wide), coef, wide.n) <= 1e-13 * scale)


def test_table_builds_no_identity_matrix_per_cell() -> None:
    """144 ATT(g,t) cells: one p x p identity row view per cell kept 144 identities (28 MB
    here, 4.4 GB at 841 cells) alive while the table was built."""
    import tracemalloc

    from lpip_eval.methods.staggered.estimator import _table

    rng = np.random.default_rng(8)
    n, n_t = 130, 13
    wide = Wide(y=rng.normal(size=(n, n_t)), x=None, cohort=np.arange(n) % n_t,
                weights=np.ones(n), clusters=np.arange(n), units=np.arange(n),
                labels=tuple(str(t) for t in range(n_t)))
    wide = wide.with_cohort(np.where(wide.cohort == 0, n_t, wide.cohort))
    gt = group_time(wide, control="never", base_period="varying", estimation="dr")
    aggs, base = aggregate_all(wide, gt), influence_base(wide, gt)
    assert len(gt.att) == 144
    tracemalloc.start()
    table = _table(aggs, gt, base)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert table.coef.shape == (base.p, len(table.names))
    assert peak < 5_000_000, peak


def test_uniform_band_leaves_out_estimates_without_variance() -> None:
    """An event time whose bootstrap SE is rounding noise (~1e-17) made max |draw| / se
    ~1e15 and the band +-4e15 (R did drops such columns); with a floor it is left out."""
    rng = np.random.default_rng(3)
    draws = rng.normal(size=(999, 3))
    draws[:, 1] *= 1e-17  # an estimate with no variance: its draws are rounding noise...
    draws[:100, 1] = 1e-3  # ...with spikes far above its tiny interquartile range
    band = boot.BootDraws(draws, "rademacher")
    assert band.critical_value(np.arange(3), 0.95) > 1e10  # the old behaviour
    crit = band.critical_value(np.arange(3), 0.95, floor=1e-10)
    assert 1.9 < crit < 3.0
