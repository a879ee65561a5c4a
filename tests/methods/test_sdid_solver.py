"""The Frank-Wolfe solver of synthetic DiD on one shared Gram matrix (issue 17, item 1).

A placebo's unit-weight problem is a submatrix of the fit's Gram matrix; solving it on the
shared matrix (no per-placebo copy) must give the per-problem solve's weights up to rounding,
and a problem's arithmetic must not depend on the rest of its batch.
"""

from __future__ import annotations

import numpy as np
import pytest

from lpip_eval.methods.synth.sdid_solver import Gram, SharedGram, _Problems, solve_simplex


def _problems(seed: int, m: int = 40, t0: int = 10, reps: int = 7, n1: int = 2
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pre = rng.normal(size=(m, t0)).cumsum(axis=1)
    pre -= pre.mean(axis=1, keepdims=True)
    full = pre @ pre.T
    full = (full + full.T) / 2
    perms = np.stack([rng.permutation(m) for _ in range(reps)])
    keep, fake = perms[:, :m - n1], perms[:, m - n1:]
    start = rng.dirichlet(np.ones(m - n1), size=reps)
    start[start < 0.5 / m] = 0.0  # sparse starts, as the fit's weights are
    start /= start.sum(axis=1, keepdims=True)
    return full, keep, fake, start


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shared_gram_gives_the_per_problem_solution(seed: int) -> None:
    full, keep, fake, start = _problems(seed)
    gram = Gram(gram=full[keep[:, :, None], keep[:, None, :]],
                ab=full[keep[:, :, None], fake[:, None, :]].mean(axis=2),
                bb=full[fake[:, :, None], fake[:, None, :]].mean(axis=(1, 2)), rows=10)
    shared = SharedGram(full=full, keep=keep, fake=fake, rows=10)
    # stopping well before the cap: within 10,000 steps of a flat optimum, rounding can
    # change which nearly tied vertex a step picks (both solutions then differ by ~1e-7)
    for zeta, min_decrease in ((0.5, 1e-4), (1e-3, 1e-6)):
        a = solve_simplex(gram, start, zeta, min_decrease)
        b = solve_simplex(shared, start, zeta, min_decrease)
        assert b.shape == a.shape
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-11)
        np.testing.assert_allclose(b.sum(axis=1), 1.0, atol=1e-12)
        assert (b >= 0).all()


@pytest.mark.parametrize("seed", [3, 4])
def test_shared_gram_problem_does_not_depend_on_its_batch(seed: int) -> None:
    full, keep, fake, start = _problems(seed, reps=6)
    shared = SharedGram(full=full, keep=keep, fake=fake, rows=10)
    batch = solve_simplex(shared, start, 0.05, 1e-9)
    for r in range(len(keep)):
        alone = SharedGram(full=full, keep=keep[r:r + 1], fake=fake[r:r + 1], rows=10)
        assert np.array_equal(solve_simplex(alone, start[r:r + 1], 0.05, 1e-9), batch[r:r + 1])


def test_a_full_step_onto_a_vertex() -> None:
    """The target is one of the columns and the ridge is zero: from the other vertex the
    exact line search moves all the way (step 1; integer data, so exactly), and the lazily
    scaled vectors restart there."""
    a = np.array([[1.0, 3.0], [2.0, -1.0], [0.0, 2.0]])
    z = np.column_stack([a, a[:, 1]])  # columns 0, 1 and the target (= column 1)
    full = z.T @ z
    shared = SharedGram(full=full, keep=np.array([[0, 1]]), fake=np.array([[2]]), rows=3)
    x = solve_simplex(shared, np.array([[1.0, 0.0]]), 0.0, 0.0)
    assert np.array_equal(x, np.array([[0.0, 1.0]]))


def test_shared_product_is_the_per_problem_sum_in_index_order() -> None:
    """A'A x is gathered one non-zero weight of every problem at a time; each problem's sum
    must still be its own rows of the Gram matrix added in index order (bit for bit), however
    many non-zero weights the other problems have."""
    rng = np.random.default_rng(5)
    full = _problems(5, m=60, reps=9)[0]
    x = rng.random((9, 60)) * (rng.random((9, 60)) < rng.random((9, 1)))
    x[0] = 0.0
    x[1, 7] = 1.0  # one weight only
    problems = _Problems(c=np.zeros((9, 60)), b2=np.zeros(9), rows=10, full=full)
    expected = np.stack([(full[np.flatnonzero(r)] * r[np.flatnonzero(r), None]).sum(axis=0)
                         for r in x])
    assert np.array_equal(problems.product(x), expected)


def test_solve_restores_numpy_buffer_size() -> None:
    full, keep, fake, start = _problems(6, reps=2)
    before = np.getbufsize()
    solve_simplex(SharedGram(full=full, keep=keep, fake=fake, rows=10), start, 0.05, 1e-6)
    assert np.getbufsize() == before
