"""Benchmark: Callaway & Sant'Anna on a large staggered panel, lpip-eval against diff-diff.

30,000 areas x 10 years (2011-2020), five cohorts starting 2014-2018 (one area in eight
each) and 3,750 never-treated areas; y = area FE + year FE + effect growing with time since
the start + N(0, 1); areas are named like council codes ("A00001"), and both tools get the
same data frame. Both tools run the never-treated, doubly robust, no-covariate estimator
(R ``did``'s default) with analytic standard errors, then with 1,000 multiplier-bootstrap
draws (Rademacher weights in both, as R ``did``); the table shows seconds (best of
``--repeat`` calls after a warm-up), the ratio diff-diff / lpip-eval, and the largest
difference in the simple ATT, its analytic SE and the event-time effects. Run by hand:
``python benchmarks/staggered.py [--areas N] [--repeat R]``.
"""

from __future__ import annotations

import os

# One BLAS thread, as the lpip-eval command sets (cli/commands.py): the products here are
# small, and two threads on a busy 2-core machine made both tools slower, lpip-eval most.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lpip_eval.data.panel import PanelSpec, panel_from_frame
from lpip_eval.methods import registry


def make_panel(n_areas: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    years = np.arange(2011, 2021)
    cohorts = np.array([2014, 2015, 2016, 2017, 2018, 0])
    share = np.array([1, 1, 1, 1, 1, 3]) / 8
    first = rng.choice(cohorts, size=n_areas, p=share)
    area = np.repeat(np.arange(n_areas), len(years))
    year = np.tile(years, n_areas)
    g = first[area]
    treated = (g > 0) & (year >= g)
    effect = np.where(treated, 0.5 + 0.1 * (year - g), 0.0)
    y = (rng.normal(size=n_areas)[area] + 0.3 * (year - 2011)
         + effect + rng.normal(size=len(area)))
    return pd.DataFrame({"area": area, "year": year, "y": y, "first_treat": g})


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    out = fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--areas", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    df = make_panel(args.areas)
    frame = df.assign(area=df["area"].map(lambda a: f"A{a:05d}"))
    spec = PanelSpec(data=Path("memory"), area_col="area", period_col="year", outcome="y",
                     first_treated_col="first_treat")

    def lpip(inference: str) -> Any:
        panel = panel_from_frame(frame, spec)
        return registry.estimate("did", panel, {"design": "callaway-santanna",
                                                "inference": inference, "draws": 1000,
                                                "seed": 1})

    def peer(draws: int) -> Any:
        from diff_diff import CallawaySantAnna

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = CallawaySantAnna(n_bootstrap=draws, seed=1)
            return fit.fit(frame, outcome="y", unit="area", time="year", first_treat="first_treat",
                           aggregate="event_study")  # deprecated in 3.13 but gives the effects

    print(f"{args.areas:,} areas x 10 years, 5 cohorts; best of {args.repeat}")
    print(f"{'run':<28}{'lpip-eval s':>12}{'diff-diff s':>12}{'ratio':>8}")
    for label, inference, draws in (("analytic SEs", "cluster", 0),
                                    ("multiplier bootstrap 1000", "multiplier-bootstrap",
                                     1000)):
        t_l, ours = best(lambda i=inference: lpip(i), args.repeat)  # type: ignore[misc]
        t_p, theirs = best(lambda d=draws: peer(d), args.repeat)  # type: ignore[misc]
        print(f"{label:<28}{t_l:>12.3f}{t_p:>12.3f}{t_p / t_l:>8.1f}x")
        if inference == "cluster":
            es = theirs.event_study_effects
            diff_e = max(abs(e.att - float(es[e.event_time]["effect"]))
                         for e in ours.effects_by_period)
            print(f"  simple ATT {ours.estimate.att:.8f} vs {theirs.overall_att:.8f}; "
                  f"SE {ours.estimate.se:.8f} vs {theirs.overall_se:.8f}; "
                  f"largest event-time difference {diff_e:.2e}")
        else:
            print(f"  bootstrap SE {ours.estimate.se:.6f} vs {theirs.overall_se:.6f} "
                  "(different random draws)")


if __name__ == "__main__":
    main()
