"""Benchmark: did randomization inference with few treated areas, balanced vs gappy panels.

Run by hand (a report, not a test; always exits 0)::

    python benchmarks/ri.py                    # 10,000 areas x 40 periods, 5 treated, 999 draws
    python benchmarks/ri.py --areas 30000      # the LSOA-scale case of issue 17
    python benchmarks/ri.py --profile          # cProfile of the gappy fit (top 15)

Prints, in one process and one run, the seconds for the balanced panel and for the same panel
with a seeded 5% of rows dropped, and their ratio (issue 17's goal: gappy <= 2x balanced).
The machine is shared: the 1-minute load average is printed so runs can be compared.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import time
from pathlib import Path

import numpy as np
import pandas as pd

N_PERIODS = 40
START = 26


def make_panel(n_areas: int, n_treated: int, missing: float, seed: int = 17) -> pd.DataFrame:
    """Seeded panel: y = area FE + period FE + 1.5 D + noise; ``missing`` share of rows dropped."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_areas), N_PERIODS)
    t = np.tile(np.arange(N_PERIODS), n_areas)
    treated = np.zeros(n_areas, dtype=bool)
    treated[rng.choice(n_areas, n_treated, replace=False)] = True
    d = (treated[unit] & (t >= START)).astype(np.int64)
    y = (rng.normal(0, 2, n_areas)[unit] + np.cumsum(rng.normal(0.05, 0.3, N_PERIODS))[t]
         + 1.5 * d + rng.normal(0, 1, len(unit)))
    periods = np.array([f"{2015 + q // 4}Q{q % 4 + 1}" for q in range(N_PERIODS)])
    df = pd.DataFrame({"area": np.char.add("A", unit.astype(str).astype("U6")),
                       "period": periods[t], "y": y, "D": d})
    if missing > 0:
        keep = rng.random(len(df)) >= missing
        df = df[keep].reset_index(drop=True)
    return df


def run(df: pd.DataFrame, draws: int) -> tuple[float, float, float]:
    """Seconds for panel building + estimate; returns (seconds, estimate, p-value)."""
    from lpip_eval.data.panel import PanelSpec, panel_from_frame
    from lpip_eval.methods.did import DidSpec, estimate_did

    t0 = time.perf_counter()
    panel = panel_from_frame(df, PanelSpec(data=Path("bench.csv"), outcome="y",
                                           treatment_col="D"))
    result = estimate_did(panel, DidSpec(design="twfe", inference="randomization",
                                         draws=draws, seed=1))
    return time.perf_counter() - t0, result.estimate.att, float(result.estimate.p_value or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, default=10_000)
    parser.add_argument("--treated", type=int, default=5)
    parser.add_argument("--draws", type=int, default=999)
    parser.add_argument("--missing", type=float, default=0.05)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    print(f"load average (1 min) at start: {os.getloadavg()[0]:.2f}")
    balanced = make_panel(args.areas, args.treated, 0.0)
    gappy = make_panel(args.areas, args.treated, args.missing)
    run(make_panel(200, 5, 0.0), 19)  # imports and first-call costs out of the timings
    tb, att_b, p_b = run(balanced, args.draws)
    print(f"balanced   {args.areas} x {N_PERIODS}: {tb:7.2f} s  att={att_b:.4f} p={p_b:.4f}")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
    tg, att_g, p_g = run(gappy, args.draws)
    if args.profile:
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(15)
        print(out.getvalue())
    print(f"{args.missing:.0%} missing {args.areas} x {N_PERIODS}: {tg:7.2f} s  "
          f"att={att_g:.4f} p={p_g:.4f}")
    print(f"ratio gappy / balanced: {tg / tb:.1f}x (goal <= 2x)")
    print(f"load average (1 min) at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
