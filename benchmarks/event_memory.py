"""Benchmark: peak memory of an event study with clustered SEs at LSOA scale (issue 17).

Run by hand (a report, not a test; always exits 0)::

    python benchmarks/event_memory.py                # 30,000 areas x 40 quarters = 1.2M rows
    python benchmarks/event_memory.py --areas 3000   # quick

Builds the seeded panel of ``benchmarks/did.py`` (1 area in 15 treated from 2021Q3), turns
it into a Panel, then resets the kernel's peak-RSS mark (/proc/self/clear_refs) and runs
``estimate_did(design="event-study", inference="cluster")``. Prints the process peak RSS
(VmHWM, what ``/usr/bin/time -v`` reports for the whole process is at least this), the RSS
before the fit, and the fit's own increment; issue 17's goal is a process peak <= 1 GB.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from did import _status_mb, make_panel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, default=30_000)
    args = parser.parse_args()
    from lpip_eval.data.panel import PanelSpec, panel_from_frame
    from lpip_eval.methods.did import DidSpec, estimate_did

    print(f"load average (1 min): {os.getloadavg()[0]:.2f}")
    df = make_panel(args.areas)[["area", "period", "y", "D"]]
    panel = panel_from_frame(df, PanelSpec(data=Path("bench.csv"), outcome="y",
                                           treatment_col="D"))
    del df
    gc.collect()
    base = _status_mb("VmRSS") or 0.0
    Path("/proc/self/clear_refs").write_text("5")
    t0 = time.perf_counter()
    result = estimate_did(panel, DidSpec(design="event-study", inference="cluster"))
    seconds = time.perf_counter() - t0
    peak = _status_mb("VmHWM") or 0.0
    print(f"event study {args.areas} x 40, cluster SEs: {seconds:.1f} s, att "
          f"{result.estimate.att:.4f} se {result.estimate.se:.4f}")
    print(f"RSS before fit {base:.0f} MB; process peak during fit {peak:.0f} MB; "
          f"fit increment {peak - base:.0f} MB (goal: process peak <= 1024 MB)")


if __name__ == "__main__":
    main()
