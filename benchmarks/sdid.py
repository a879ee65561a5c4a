"""Benchmark: synthetic DiD (200 placebo replications) with many donors (issue 17).

Run by hand (a report, not a test; always exits 0)::

    python benchmarks/sdid.py                 # 2,000 donors x 40 periods (synth.py's panel)
    python benchmarks/sdid.py --donors 500    # quicker
    python benchmarks/sdid.py --profile       # cProfile, top 15
    python benchmarks/sdid.py --classic       # also classic synth with placebos, same data

Times ``estimate_sdid`` on ``benchmarks/synth.py``'s seeded factor-model panel (one pilot,
30 pre-periods) and prints the estimate and SE, so a speed-up that changes numbers shows.
With ``--classic`` it then times classic synthetic control with all placebos on the same
panel (``synth.py``'s ``large-placebo`` case: each placebo on its 50 nearest donors), in the
same process and worker count, and prints the ratio (issue 17's goal: sdid <= 2x classic).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import _large_frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--donors", type=int, default=2000)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--classic", action="store_true")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    from lpip_eval.data.panel import PanelSpec, panel_from_frame
    from lpip_eval.methods.specs import SdidSpec
    from lpip_eval.methods.synth.sdid import estimate_sdid

    print(f"load average (1 min): {os.getloadavg()[0]:.2f}")
    frame = _large_frame()
    keep = sorted(frame["area"].unique())[:args.donors + 1]
    frame = frame[frame["area"].isin(keep)]
    panel = panel_from_frame(frame, PanelSpec(data=Path("large.csv"), outcome="y",
                                              treated_col="pilot", start="2020"))
    prof = cProfile.Profile() if args.profile else None
    if prof:
        prof.enable()
    t0 = time.perf_counter()
    result = estimate_sdid(panel, SdidSpec(placebo_reps=args.draws, workers=args.workers))
    seconds = time.perf_counter() - t0
    if prof:
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(15)
        print(out.getvalue())
    print(f"sdid {args.donors} donors x 40, {args.draws} placebos: {seconds:.1f} s  "
          f"att={result.estimate.att!r} se={result.estimate.se!r}")
    if args.classic:
        from lpip_eval.methods.synth.classic import SynthSpec, estimate_synth

        t0 = time.perf_counter()
        estimate_synth(panel, SynthSpec(placebo_in_time=False, leave_one_out=False,
                                        inference="placebo", donors_nearest=50,
                                        workers=args.workers))
        classic = time.perf_counter() - t0
        print(f"classic synth with placebos, same panel: {classic:.1f} s; "
              f"sdid / classic = {seconds / classic:.2f} (goal <= 2)")
    print(f"load average (1 min) at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
