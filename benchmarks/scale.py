"""Benchmark: cost curves against the number of areas, and a hub's batch on 1 process vs Dask.

Run by hand (a report, not a test; always exits 0)::

    python benchmarks/scale.py                  # 1,000 / 10,000 / 33,755 areas, 300 evaluations
    python benchmarks/scale.py --quick          # 1,000 / 10,000 areas, 30 evaluations
    python benchmarks/scale.py --cases did,batch --areas 1000,33755 --timeout 900

Every case is one whole ``lpip-eval`` process (``python -m lpip_eval ...``), timed from start
to exit, with its peak memory from ``os.wait4`` (the child's ``ru_maxrss``; with Dask, the
largest process of the tree the command waited for). Cases (issue 17, item 3):

- ``did``: randomization inference, 999 draws, 5 treated areas, 40 periods, balanced.
- ``did-gappy``: the same with a seeded 5% of rows missing (no closed form: the draws are
  refitted in chunks).
- ``synth``: classic synthetic control of 1 treated area with a placebo refit of every
  comparison area; at more than ``--synth-full`` areas every fit keeps only the
  ``--synth-donors`` nearest donors (``--donors-nearest``), as the output says.
- ``synth-dask``: the same on a 2-worker local Dask cluster (not in the default cases; its
  JSON is compared with ``synth``'s when both ran).
- ``batch``: a ``run`` of N evaluations (outcomes x did, synth, match) on a small panel
  (40 areas x 20 quarters), on 1 local process and on a 2-worker local Dask cluster (the
  cluster's start-up included); the outputs of the two are compared byte for byte.

A case over ``--timeout`` seconds is stopped and reported as such. The data are seeded and
written once to a temporary folder; 33,755 is the number of LSOAs in England (2021).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ri import make_panel  # the seeded panel of benchmarks/ri.py

ROOT = Path(__file__).resolve().parents[1]
LSOAS = 33_755
DESIGNS = ("did", "synth", "match")


@dataclass
class Timing:
    case: str
    size: str
    seconds: float | None
    peak_mb: float | None
    note: str = ""


def measure(cmd: list[str], cwd: Path, timeout: float) -> tuple[float | None, float | None, str]:
    """(seconds, peak MB, note) of ``cmd`` run as a child process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - start > timeout:
            os.killpg(proc.pid, 9)
            os.wait4(proc.pid, 0)
            return None, None, f"stopped after {timeout:.0f} s"
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    note = "" if code in (0, 5) else f"exit {code}: {err.splitlines()[-1] if err else ''}"
    return seconds, usage.ru_maxrss / 1024, note


def lpip(*args: str) -> list[str]:
    return [sys.executable, "-m", "lpip_eval", *args]


def did_case(folder: Path, areas: int, gappy: bool, timeout: float) -> Timing:
    data = folder / f"did-{areas}-{'gappy' if gappy else 'balanced'}.csv"
    if not data.exists():
        make_panel(areas, 5, 0.05 if gappy else 0.0).to_csv(data, index=False)
    seconds, peak, note = measure(lpip(
        "did", data.name, "--outcome", "y", "--treatment-col", "D", "--design", "twfe",
        "--inference", "randomization", "--draws", "999", "--json", "out.json", "-q"),
        folder, timeout)
    return Timing("did-gappy" if gappy else "did", f"{areas:,}", seconds, peak, note)


def synth_case(folder: Path, areas: int, full_up_to: int, nearest: int,
               timeout: float, dask: bool = False) -> Timing:
    data = folder / f"synth-{areas}.csv"
    if not data.exists():
        make_panel(areas, 1, 0.0).to_csv(data, index=False)
    extra: list[str] = []
    notes = [f"all {areas - 1:,} donors"]
    if areas > full_up_to:
        extra = ["--donors-nearest", str(nearest)]
        notes = [f"{nearest} nearest donors per fit (--donors-nearest)"]
    if dask:
        extra += ["--backend", "dask", "--workers", "2"]
    out = folder / f"synth-{areas}{'-dask' if dask else ''}.json"
    seconds, peak, err = measure(lpip(
        "synth", data.name, "--outcome", "y", "--treatment-col", "D", "--no-leave-one-out",
        "--no-placebo-in-time", *extra, "--json", "out.json", "-q"), folder, timeout)
    if (folder / "out.json").exists():
        (folder / "out.json").rename(out)
    local = folder / f"synth-{areas}.json"
    if dask and out.exists() and local.exists():
        same = out.read_bytes() == local.read_bytes()
        notes.append("JSON byte-identical to 1 process" if same else "JSON DIFFERS")
    return Timing("synth, Dask 2 workers" if dask else "synth", f"{areas:,}", seconds, peak,
                  "; ".join(filter(None, [*notes, err])))


def batch_config(folder: Path, evaluations: int) -> Path:
    """A config of ``evaluations`` (outcomes x did, synth, match) on 40 areas x 20 quarters."""
    outcomes = max(1, evaluations // len(DESIGNS))
    rng = np.random.default_rng(5)
    areas, periods = 40, 20
    unit = np.repeat(np.arange(areas), periods)
    t = np.tile(np.arange(periods), areas)
    frame = {"area": np.char.add("A", unit.astype(str)),
             "period": [f"{2019 + q // 4}Q{q % 4 + 1}" for q in t],
             "treated": (unit < 4).astype(int)}
    for k in range(outcomes):
        frame[f"y{k}"] = (rng.normal(0, 2, areas)[unit] + rng.normal(0, 0.3, periods)[t]
                          + 1.0 * ((unit < 4) & (t >= 12)) + rng.normal(0, 1, len(unit)))
    pd.DataFrame(frame).to_csv(folder / "hub.csv", index=False)
    lines = ['title = "Hub batch"', "", "[data]", 'file = "hub.csv"', 'treated_col = "treated"',
             'start = "2022Q1"', ""]
    for k in range(outcomes):
        lines += ["[[outcome]]", f'column = "y{k}"', ""]
    lines += ["[run]", "seed = 1", "draws = 199", "", "[did]", 'design = "twfe"', "",
              "[synth]", 'design = "classic"', "leave_one_out = false",
              "placebo_in_time = false", "", "[match]", 'design = "twfe"', "",
              "[output]", "report = false", ""]
    path = folder / "hub.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def batch_cases(folder: Path, evaluations: int, timeout: float) -> list[Timing]:
    config = batch_config(folder, evaluations)
    n = len(DESIGNS) * max(1, evaluations // len(DESIGNS))
    out: list[Timing] = []
    outputs: list[Path] = []
    for label, extra in (("1 process", ["--workers", "1"]),
                         ("local pool, 2 processes", ["--workers", "2"]),
                         ("Dask LocalCluster, 2 workers", ["--backend", "dask", "--workers",
                                                           "2"])):
        target = folder / "lpip-eval-output"
        seconds, peak, note = measure(lpip("run", config.name, "-q", *extra), folder, timeout)
        kept = folder / f"out-{len(outputs)}"
        if target.exists():
            target.rename(kept)
        outputs.append(kept)
        out.append(Timing(f"batch: {label}", f"{n} evaluations", seconds, peak, note))
    for timing, other in zip(out[1:], outputs[1:], strict=True):
        if other.exists() and outputs[0].exists():
            names = sorted(p.name for p in outputs[0].iterdir())
            same = filecmp.cmpfiles(outputs[0], other, names, shallow=False)[0] == names
            timing.note = "; ".join(filter(None, [timing.note, "outputs byte-identical to 1 "
                                                  "process" if same else "OUTPUTS DIFFER"]))
    return out


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.system()} "
            f"{platform.machine()}, nproc {os.cpu_count()}, {model}, Python "
            f"{platform.python_version()}, load average (1 min) at start "
            f"{os.getloadavg()[0]:.2f}")


def table(rows: list[Timing]) -> str:
    lines = ["| case | size | seconds | peak MB | note |", "| --- | --- | --- | --- | --- |"]
    for r in rows:
        secs = f"{r.seconds:.1f}" if r.seconds is not None else "-"
        peak = f"{r.peak_mb:.0f}" if r.peak_mb is not None else "-"
        lines.append(f"| {r.case} | {r.size} | {secs} | {peak} | {r.note} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="1,000 and 10,000 areas, a batch of 30 evaluations")
    parser.add_argument("--areas", help="comma-separated area counts (default 1000,10000,33755)")
    parser.add_argument("--cases", default="did,did-gappy,synth,batch")
    parser.add_argument("--evaluations", type=int, help="batch size (default 300; quick 30)")
    parser.add_argument("--synth-full", type=int, default=1_000,
                        help="largest area count fitted with every donor")
    parser.add_argument("--synth-donors", type=int, default=100,
                        help="nearest donors per fit above --synth-full")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per case")
    args = parser.parse_args()
    sizes = ([int(a) for a in args.areas.split(",")] if args.areas else
             [1_000, 10_000] if args.quick else [1_000, 10_000, LSOAS])
    evaluations = args.evaluations or (30 if args.quick else 300)
    cases = args.cases.split(",")
    print(f"Machine: {machine()}", flush=True)
    rows: list[Timing] = []
    with tempfile.TemporaryDirectory(prefix="lpip-scale-") as tmp:
        folder = Path(tmp)
        for case in cases:
            if case == "batch":
                found = batch_cases(folder, evaluations, args.timeout)
            else:
                found = []
                for areas in sizes:
                    if case in ("did", "did-gappy"):
                        found.append(did_case(folder, areas, case == "did-gappy",
                                              args.timeout))
                    elif case in ("synth", "synth-dask"):
                        found.append(synth_case(folder, areas, args.synth_full,
                                                args.synth_donors, args.timeout,
                                                dask=case == "synth-dask"))
            for timing in found:
                print(table([timing]).splitlines()[-1], flush=True)
            rows += found
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
