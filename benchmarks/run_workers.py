"""Benchmark: a run of 9 heavy evaluations on 1 and 2 processes (issue 17, "scales with workers").

Run by hand (a report, not a test; always exits 0)::

    python benchmarks/run_workers.py             # 1 process, a 2-process pool, 2 Dask workers
    python benchmarks/run_workers.py --no-dask   # without the Dask cluster

``lpip-eval run`` of 3 outcomes x (did twfe, synth classic with the 100 nearest donors per
fit and every placebo, match twfe) on ``synth.py``'s seeded 2,001 areas x 40 periods (one
pilot area), draws 199. Each run is one whole process, timed start to exit; the output
folders are compared byte for byte with the 1-process run's.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import _large_frame

CONFIG = """title = "9 heavy evaluations"

[data]
file = "panel.csv"
area_col = "area"
period_col = "period"
treated_col = "pilot"
start = "2020"

[[outcome]]
column = "y"

[[outcome]]
column = "y2"

[[outcome]]
column = "y3"

[did]
design = "twfe"
draws = 199

[synth]
design = "classic"
donors_nearest = 100
draws = 199
leave_one_out = false
placebo_in_time = false

[match]
design = "twfe"
draws = 199

[output]
report = "report.html"
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="run_workers"))
    frame = _large_frame()
    frame = frame.assign(y2=frame["y"] * 1.5 + 3.0,
                         y3=frame["y"] + frame.groupby("area")["y"].transform("mean") * 0.1)
    data = frame.to_csv(index=False)
    cases = [("--workers 1", ["--workers", "1"]), ("--workers 2 (local pool)", ["--workers", "2"])]
    if not args.no_dask:
        cases.append(("--backend dask --workers 2", ["--backend", "dask", "--workers", "2"]))
    print(f"load average (1 min): {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores")
    outputs: list[Path] = []
    for k, (label, extra) in enumerate(cases):
        case = folder / f"case{k}"  # the same file names in each: the outputs can be compared
        case.mkdir()
        (case / "panel.csv").write_text(data, encoding="utf-8")
        (case / "evaluation.toml").write_text(CONFIG, encoding="utf-8")
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "lpip_eval", "run", "evaluation.toml",
                               "--quiet", *extra], cwd=case, capture_output=True, text=True,
                              check=False)
        seconds = time.perf_counter() - start
        outputs.append(case / "lpip-eval-output")
        same = ""
        if k:
            names = sorted(p.name for p in outputs[0].iterdir())
            _, mismatch, errors = filecmp.cmpfiles(outputs[0], outputs[k], names, shallow=False)
            same = ("outputs byte-identical to --workers 1" if not mismatch and not errors
                    else f"DIFFERENT: {mismatch + errors}")
        print(f"{label:<30} exit {proc.returncode}  {seconds:6.1f} s  {same}")
        if proc.returncode != 0 and proc.stderr.strip():
            print(proc.stderr.strip().splitlines()[-1])
    print(f"load average (1 min) at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
