"""Benchmark: nearest-neighbour matching of pilot areas in a large candidate pool.

Run by hand (a report, not a test; it always exits 0)::

    python benchmarks/match.py                # 30,000 candidates, 50 treated, 10 variables, k = 5
    python benchmarks/match.py --repeat 5     # best of 5 warm calls
    python benchmarks/match.py --candidates 100000

What it does:

1. Draws a seeded pool: ``--candidates`` candidate rows and ``--treated`` treated rows with
   ``--variables`` correlated matching variables (a random covariance), and an exact-matching
   stratum per row (``--strata`` levels, e.g. the 9 English regions).
2. Times ``lpip_eval.methods.match.distance.match_areas`` (Mahalanobis distance, k = 5,
   exact strata) with replacement and without replacement (greedy, closest first): the first
   call ("cold") and the best of ``--repeat`` further calls ("warm"), and the peak memory the
   call allocates (``tracemalloc``, Python and NumPy allocations) and the process's peak RSS.
3. Runs scikit-learn's ``NearestNeighbors`` (brute force, Euclidean) on the same whitened
   coordinates (``MatchMetric.coordinates``: Mahalanobis distance = Euclidean distance of the
   whitened rows), stratum by stratum, and checks that every treated row gets the same k
   neighbours at the same distances as lpip-eval's matching with replacement.
4. Prints PASS/FAIL for the issue's target (under 2 s) and for identical neighbours.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lpip_eval.methods.match.distance import fit_metric, match_areas

TARGET_S = 2.0
SEED = 20240101


def make_pool(n_candidates: int, n_treated: int, n_vars: int, n_strata: int, seed: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features (n, p), treated mask, stratum codes; treated rows shifted by 0.3 SD."""
    rng = np.random.default_rng(seed)
    n = n_candidates + n_treated
    a = rng.normal(size=(n_vars, n_vars))
    cov = a @ a.T / n_vars + np.eye(n_vars)
    x = rng.multivariate_normal(np.zeros(n_vars), cov, size=n)
    treated = np.zeros(n, dtype=bool)
    treated[rng.choice(n, n_treated, replace=False)] = True
    x[treated] += 0.3
    strata = rng.integers(0, n_strata, size=n)
    return x, treated, strata


def timed(fn: Callable[[], Any], repeat: int) -> tuple[Any, float, float, float]:
    """(result, cold seconds, best warm seconds, peak traced MB of one call)."""
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t0)
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, cold, min(warm) if warm else cold, peak


def sklearn_neighbours(x: np.ndarray, treated: np.ndarray, strata: np.ndarray, k: int
                       ) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray], float] | None:
    """Per treated row: k nearest candidate rows (same stratum) by scikit-learn, and time."""
    try:
        from sklearn.neighbors import NearestNeighbors
    except ImportError:
        return None
    metric = fit_metric(x, np.ones(len(x), dtype=bool), "mahalanobis")
    z = metric.coordinates(x)
    rows: dict[int, np.ndarray] = {}
    dists: dict[int, np.ndarray] = {}
    t0 = time.perf_counter()
    for s in np.unique(strata[treated]):
        cand = np.flatnonzero(~treated & (strata == s))
        ts = np.flatnonzero(treated & (strata == s))
        nn = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(z[cand])
        d, idx = nn.kneighbors(z[ts])
        for i, r in enumerate(ts):
            rows[int(r)] = cand[idx[i]]
            dists[int(r)] = d[i]
    return rows, dists, time.perf_counter() - t0


def compare(ms: Any, rows: dict[int, np.ndarray], dists: dict[int, np.ndarray], k: int
            ) -> tuple[int, int, float]:
    """(treated rows with the same neighbour sets, rows compared, max distance difference).

    Sets are compared after dropping neighbours tied (to 1e-9) with the k-th, where the order
    of tied rows is arbitrary in either tool.
    """
    same = 0
    worst = 0.0
    for r, theirs in rows.items():
        mine = ms.pair_control[ms.pair_treated == r]
        my_d = ms.pair_distance[ms.pair_treated == r]
        worst = max(worst, float(np.max(np.abs(np.sort(my_d) - np.sort(dists[r])))))
        cut = np.sort(dists[r])[-1] - 1e-9
        keep_mine = set(mine[my_d < cut].tolist())
        keep_theirs = set(theirs[dists[r] < cut].tolist())
        same += keep_mine == keep_theirs and len(mine) == k
    return same, len(rows), worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=30_000)
    parser.add_argument("--treated", type=int, default=50)
    parser.add_argument("--variables", type=int, default=10)
    parser.add_argument("--strata", type=int, default=9)
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    x, treated, strata = make_pool(args.candidates, args.treated, args.variables,
                                   args.strata, SEED)
    print(f"pool: {args.candidates:,} candidates, {args.treated} treated, {args.variables} "
          f"variables, {args.strata} exact strata, k = {args.k}, Mahalanobis distance")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results = {}
    for replace in (True, False):
        def call(replace: bool = replace) -> Any:
            return match_areas(x, treated, k=args.k, distance="mahalanobis", replace=replace,
                               exact=strata)

        ms, cold, warm, peak = timed(call, args.repeat)
        results[replace] = ms
        label = "with replacement" if replace else "without replacement"
        print(f"lpip-eval match_areas {label:22s} cold {cold:6.3f} s   warm {warm:6.3f} s   "
              f"peak traced {peak:7.1f} MB   pairs {len(ms.pair_control)}   "
              f"unmatched {len(ms.unmatched)}")
        status = "PASS" if warm < TARGET_S else "FAIL"
        print(f"{status}: {label}: warm {warm:.3f} s < {TARGET_S} s")
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS {rss1:.0f} MB (before matching {rss0:.0f} MB)")

    peer = sklearn_neighbours(x, treated, strata, args.k)
    if peer is None:
        print("scikit-learn is not installed: pip install scikit-learn to compare neighbours")
        return
    rows, dists, seconds = peer
    same, total, worst = compare(results[True], rows, dists, args.k)
    print(f"scikit-learn NearestNeighbors (brute, whitened rows)      {seconds:6.3f} s")
    status = "PASS" if same == total and worst < 1e-8 else "FAIL"
    print(f"{status}: identical neighbours for {same} of {total} treated rows; largest "
          f"distance difference {worst:.2e}")
    used = results[False].pair_control
    print(f"{'PASS' if len(used) == len(np.unique(used)) else 'FAIL'}: without replacement, "
          "no candidate is used twice")


if __name__ == "__main__":
    main()
