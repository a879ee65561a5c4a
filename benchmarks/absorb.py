"""Benchmark: two-way fixed-effects absorption, lpip-eval's ``Absorber`` against pyhdfe and
linearmodels' ``AbsorbingLS`` on the same data.

Run by hand (a report, not a test; it always exits 0)::

    python benchmarks/absorb.py             # 10,000 areas x 40 periods; RI case 1,000 areas
    python benchmarks/absorb.py --quick     # 2,000 areas; RI case 300 areas, 200 columns

Cases (see benchmarks/README.md, "absorb.py"):

1. balanced panel, one column;
2. the same with 5% of the rows missing at random;
3. the unbalanced panel with analytic weights;
4. randomization inference on the unbalanced panel: residualising 1 column, then 1,000
   permuted treatment columns at once (Frisch-Waugh-Lovell: the outcome's projection is
   fixed, only the treatment column changes between draws). 1,000 dense columns of 380,000
   rows would be 3 GB, so this case runs on ``--ri-areas`` areas.

For each tool: 'first s' = set-up plus the first residualisation (what one estimate pays),
'again s' = best of ``--repeat`` further residualisations with the same object (what each
further batch of columns pays), and max |diff| of the residuals against lpip-eval's.
"lpip-eval (alternating)" is the general path as it was before the exact normal-equations
path (forced with ``max_exact_levels=0``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lpip_eval.methods.linear.absorb import Absorber  # noqa: E402

SEED = 20240101
START = 26  # treatment starts in period 26 of 40, as in benchmarks/did.py
N_TREATED = 5


def make_panel(n_areas: int, n_periods: int, missing: float, seed: int = SEED
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Area codes, period codes, outcome and analytic weights (rows sorted by area, period)."""
    rng = np.random.default_rng(seed)
    u = np.repeat(np.arange(n_areas), n_periods)
    t = np.tile(np.arange(n_periods), n_areas)
    if missing:
        keep = rng.random(len(u)) >= missing
        u, t = u[keep], t[keep]
    area_fe = rng.normal(size=n_areas)
    period_fe = np.linspace(0.0, 2.0, n_periods)
    treated = np.isin(u, rng.choice(n_areas, N_TREATED, replace=False)) & (t >= START)
    y = area_fe[u] + period_fe[t] + 1.5 * treated + rng.normal(size=len(u))
    weights = rng.uniform(0.5, 2.0, n_areas)[u]
    return u, t, y, weights


def permuted_treatments(u: np.ndarray, t: np.ndarray, n_areas: int, columns: int,
                        seed: int = SEED) -> np.ndarray:
    """(n, columns) treatment indicators, each for N_TREATED areas drawn at random."""
    rng = np.random.default_rng(seed + 1)
    out = np.zeros((len(u), columns))
    post = t >= START
    for j in range(columns):
        out[:, j] = np.isin(u, rng.choice(n_areas, N_TREATED, replace=False)) & post
    return out



def ours(u: np.ndarray, t: np.ndarray, w: np.ndarray | None, n_areas: int, n_periods: int,
         balanced: bool, **kw: int) -> Callable[[np.ndarray], np.ndarray]:
    absorber = Absorber(u, t, w, n_units=n_areas, n_times=n_periods, balanced_sorted=balanced,
                        **kw)
    return absorber.residualize


def pyhdfe_tool(u: np.ndarray, t: np.ndarray, w: np.ndarray | None, method: str
                ) -> Callable[[np.ndarray], np.ndarray]:
    import pyhdfe

    options = {"tol": 1e-12} if method == "map" else None
    algorithm = pyhdfe.create(np.column_stack([u, t]), drop_singletons=False,
                              compute_degrees=False, residualize_method=method, options=options)
    weights = None if w is None else w[:, None]

    def run(z: np.ndarray) -> np.ndarray:
        return algorithm.residualize(z.reshape(len(z), -1), weights=weights)

    return run


def absorbing_ls(u: np.ndarray, t: np.ndarray, w: np.ndarray | None
                 ) -> Callable[[np.ndarray], np.ndarray]:
    """linearmodels' AbsorbingLS: y on one regressor, area and period absorbed; its
    absorbed_dependent (scaled back from the sqrt(w) metric) is the residualised column."""
    import pandas as pd
    from linearmodels.iv.absorbing import AbsorbingLS

    cats = pd.DataFrame({"area": pd.Categorical(u), "period": pd.Categorical(t)})
    x = pd.DataFrame({"x": np.random.default_rng(3).normal(size=len(u))})
    weights = None if w is None else pd.Series(w)

    def run(z: np.ndarray) -> np.ndarray:
        model = AbsorbingLS(pd.Series(z.ravel(), name="z"), x, absorb=cats, weights=weights)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit()
        out = model.absorbed_dependent.to_numpy()
        return out if w is None else out / np.sqrt(w)[:, None]

    return run


def measure(make: Callable[[], Callable[[np.ndarray], np.ndarray]], z: np.ndarray,
            repeat: int) -> tuple[float, float, np.ndarray]:
    t0 = time.perf_counter()
    run = make()
    out = run(z)
    first = time.perf_counter() - t0
    again = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        run(z)
        again = min(again, time.perf_counter() - t0)
    return first, again, np.asarray(out).reshape(len(z), -1)


def run_case(title: str, z: np.ndarray, tools: dict[str, Callable[[], Callable[[np.ndarray],
             np.ndarray]]], repeat: int) -> list[dict[str, Any]]:
    print(f"\n{title}  ({z.shape[0]:,} rows x {z.reshape(len(z), -1).shape[1]} column(s))")
    head = (f"{'tool':<28}{'first s':>10}{'again s':>10}{'first/lpip':>12}{'again/lpip':>12}"
            f"{'max |diff|':>12}")
    print(head)
    print("-" * len(head))
    rows: list[dict[str, Any]] = []
    ref: dict[str, Any] | None = None
    for name, make in tools.items():
        try:
            first, again, out = measure(make, z, repeat)
        except Exception as exc:  # a report, not a test: show it and go on
            print(f"{name:<28}FAILED: {type(exc).__name__}: {exc}"[:110])
            continue
        row = {"tool": name, "first": first, "again": again, "out": out}
        if ref is None:
            ref = row
        diff = float(np.abs(out - ref["out"]).max())
        print(f"{name:<28}{first:>10.4f}{again:>10.4f}{first / ref['first']:>12.2f}"
              f"{again / ref['again']:>12.2f}{diff:>12.1e}", flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--areas", type=int, default=10_000)
    parser.add_argument("--periods", type=int, default=40)
    parser.add_argument("--missing", type=float, default=0.05)
    parser.add_argument("--ri-areas", type=int, default=1_000)
    parser.add_argument("--columns", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.areas, args.ri_areas, args.columns = 2_000, 300, 200
    g, n_t, rep = args.areas, args.periods, args.repeat
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    print(f"benchmarks/absorb.py: area + period fixed effects; {os.cpu_count()} CPUs, "
          f"Python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
          f"load {load:.2f}")
    print("'first' = set-up + first residualisation; 'again' = best of "
          f"{rep} more with the same object; ratios > 1 mean lpip-eval is faster.")

    u, t, y, _ = make_panel(g, n_t, 0.0)
    run_case(f"1. balanced, {g:,} areas x {n_t} periods", y, {
        "lpip-eval (balanced)": lambda: ours(u, t, None, g, n_t, True),
        "lpip-eval (exact)": lambda: ours(u, t, None, g, n_t, False),
        "pyhdfe sw": lambda: pyhdfe_tool(u, t, None, "sw"),
        "pyhdfe map (tol 1e-12)": lambda: pyhdfe_tool(u, t, None, "map"),
        "linearmodels AbsorbingLS": lambda: absorbing_ls(u, t, None),
    }, rep)

    u, t, y, w = make_panel(g, n_t, args.missing)
    run_case(f"2. {args.missing:.0%} rows missing", y, {
        "lpip-eval (exact)": lambda: ours(u, t, None, g, n_t, False),
        "lpip-eval (alternating)": lambda: ours(u, t, None, g, n_t, False, max_exact_levels=0),
        "pyhdfe sw": lambda: pyhdfe_tool(u, t, None, "sw"),
        "pyhdfe map (tol 1e-12)": lambda: pyhdfe_tool(u, t, None, "map"),
        "linearmodels AbsorbingLS": lambda: absorbing_ls(u, t, None),
    }, rep)
    run_case(f"3. {args.missing:.0%} rows missing, analytic weights", y, {
        "lpip-eval (exact)": lambda: ours(u, t, w, g, n_t, False),
        "lpip-eval (alternating)": lambda: ours(u, t, w, g, n_t, False, max_exact_levels=0),
        "pyhdfe map (tol 1e-12)": lambda: pyhdfe_tool(u, t, w, "map"),
        "linearmodels AbsorbingLS": lambda: absorbing_ls(u, t, w),
    }, rep)

    ga = args.ri_areas
    u, t, y, _ = make_panel(ga, n_t, args.missing)
    cols = permuted_treatments(u, t, ga, args.columns)
    for k, reps in ((1, rep), (args.columns, 1)):
        run_case(f"4. randomization inference, {ga:,} areas, {args.missing:.0%} missing: "
                 f"{k} column(s) at once", cols[:, :k], {
                     "lpip-eval (exact)": lambda: ours(u, t, None, ga, n_t, False),
                     "lpip-eval (alternating)": lambda: ours(u, t, None, ga, n_t, False,
                                                             max_exact_levels=0),
                     "pyhdfe sw": lambda: pyhdfe_tool(u, t, None, "sw"),
                     "pyhdfe map (tol 1e-12)": lambda: pyhdfe_tool(u, t, None, "map"),
                 }, reps)
    print("\nlinearmodels' AbsorbingLS is left out of case 4: it fits a regression on every "
          "column it absorbs, and absorbs them one at a time (LSMR) or through pyhdfe.")


if __name__ == "__main__":
    main()
