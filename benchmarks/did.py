"""Benchmark: two-way fixed effects DiD with area-clustered SEs, lpip-eval against its peers.

Run by hand (it is a report, not a test; it always exits 0)::

    python benchmarks/did.py            # 30,000 areas x 40 quarters = 1.2M rows
    python benchmarks/did.py --quick    # 3,000 areas (120,000 rows)
    python benchmarks/did.py --profile  # also cProfile lpip-eval's fit and -X importtime the CLI

What it does (see benchmarks/README.md for what each number means):

1. Builds a seeded balanced panel in memory (areas "A00001".., quarters "2015Q1".."2024Q4",
   1 in 15 areas treated from 2021Q3; y = area FE + period FE + 1.5 * D + noise) and writes
   it once to a Parquet file in a temporary folder.
2. Runs each tool in its own fresh subprocess (``--worker TOOL``): imports, reads the Parquet
   file, records the process RSS (the baseline), then fits twice from the in-memory DataFrame.
   The table reports the second ("warm") call; the first ("cold") call is shown too. Peak RSS
   is the kernel's high-water mark (VmHWM) over both calls, reset just before the first one
   through /proc/self/clear_refs, so file reading and imports are not in it.
3. Times ``lpip-eval --help`` (best of 5) and ``lpip-eval did`` on the bundled example
   (best of 3, twfe and event-study), and lists which heavy packages ``--help`` imports.
4. Prints PASS/FAIL for each target of the issue and one SUMMARY line.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "west_of_england"
SEED = 20240101
N_PERIODS = 40
FIRST_YEAR = 2015
START_INDEX = 26  # 2015Q1 + 26 quarters = 2021Q3, as in the bundled example
EFFECT = 1.5
TREATED_SHARE = 15  # 1 area in 15 is treated: 2,000 of 30,000
TOOLS = ("lpip-eval", "pyfixest", "linearmodels", "diff-diff")
HEAVY = ("pandas", "statsmodels", "matplotlib", "scipy", "numpy", "pyarrow")

# Targets from the issue.
COEF_TOL = 1e-8
SE_RTOL = 1e-6
SPEEDUP = 3.0
PEAK_MB = 600.0
HELP_S = 0.3
DID_S = 2.0


# --------------------------------------------------------------------------- data


def make_panel(n_areas: int, seed: int = SEED) -> Any:
    """The benchmark panel as a pandas DataFrame (one row per area and quarter).

    Columns: ``area`` ("A00001"..), ``period`` ("2015Q1"..), ``t`` (quarter index 0..39),
    ``y``, ``D`` (1 in treated area-quarters), ``treated`` (1 for treated areas in every
    quarter) and ``post`` (1 from 2021Q3). ``t``, ``treated`` and ``post`` exist for the
    peers that need them (linearmodels wants a numeric time index; diff-diff's TWFE takes
    an ever-treated and a post indicator); lpip-eval reads ``area``, ``period``, ``y``, ``D``.
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n_treated = max(n_areas // TREATED_SHARE, 1)
    areas = np.array([f"A{i:05d}" for i in range(1, n_areas + 1)])
    periods = np.array([f"{FIRST_YEAR + q // 4}Q{q % 4 + 1}" for q in range(N_PERIODS)])
    treated = np.zeros(n_areas, dtype=bool)
    treated[rng.choice(n_areas, n_treated, replace=False)] = True
    unit = np.repeat(np.arange(n_areas), N_PERIODS)
    t = np.tile(np.arange(N_PERIODS), n_areas)
    post = (t >= START_INDEX).astype(np.int64)
    d = (treated[unit] & (t >= START_INDEX)).astype(np.int64)
    area_fe = rng.normal(0.0, 2.0, n_areas)
    period_fe = np.cumsum(rng.normal(0.05, 0.3, N_PERIODS))
    y = area_fe[unit] + period_fe[t] + EFFECT * d + rng.normal(0.0, 1.0, n_areas * N_PERIODS)
    return pd.DataFrame({
        "area": areas[unit], "period": periods[t], "t": t, "y": y, "D": d,
        "treated": treated[unit].astype(np.int64), "post": post,
    })


# --------------------------------------------------------------------------- memory


def _status_mb(field: str) -> float | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else None


def rss_mb() -> float | None:
    """Current resident set size of this process (MB)."""
    return _status_mb("VmRSS")


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_mb() -> float:
    """Peak RSS since the last reset (VmHWM), else since the process started (ru_maxrss)."""
    hwm = _status_mb("VmHWM")
    if hwm is not None:
        return hwm
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- the fits


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def _setup_lpip(df: Any) -> tuple[Callable[[], dict[str, Any]], str]:
    from lpip_eval.data.panel import PanelSpec, panel_from_frame
    from lpip_eval.methods.did import DidSpec, estimate_did

    spec = PanelSpec(data=Path("benchmark.parquet"), outcome="y", treatment_col="D")
    did_spec = DidSpec(design="twfe", inference="cluster")

    def fit() -> dict[str, Any]:
        t0 = time.perf_counter()
        panel = panel_from_frame(df, spec)
        t1 = time.perf_counter()
        result = estimate_did(panel, did_spec)
        t2 = time.perf_counter()
        return {"coef": result.estimate.att, "se": result.estimate.se,
                "parts": {"panel_s": t1 - t0, "estimate_s": t2 - t1}}

    return fit, _version("lpip-eval")


def _setup_pyfixest(df: Any) -> tuple[Callable[[], dict[str, Any]], str]:
    import pyfixest as pf

    def fit() -> dict[str, Any]:
        model = pf.feols("y ~ D | area + period", data=df, vcov={"CRV1": "area"})
        return {"coef": float(model.coef()["D"]), "se": float(model.se()["D"])}

    return fit, _version("pyfixest")


def _setup_linearmodels(df: Any) -> tuple[Callable[[], dict[str, Any]], str]:
    from linearmodels.panel import PanelOLS

    def fit() -> dict[str, Any]:
        # linearmodels needs a numeric or date time index: it gets the integer column t.
        data = df.set_index(["area", "t"])
        model = PanelOLS(data["y"], data[["D"]], entity_effects=True, time_effects=True)
        res = model.fit(cov_type="clustered", cluster_entity=True)
        return {"coef": float(res.params["D"]), "se": float(res.std_errors["D"])}

    return fit, _version("linearmodels")


def _setup_diff_diff(df: Any) -> tuple[Callable[[], dict[str, Any]], str]:
    import warnings

    from diff_diff import TwoWayFixedEffects

    def fit() -> dict[str, Any]:
        # diff-diff's static TWFE: y ~ treated x post + area FE + *post* FE, clustered by
        # area (its default for TWFE). With one common start on a balanced panel the
        # coefficient equals the area + period FE one; the SE does not (other residuals).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = TwoWayFixedEffects(cluster="area").fit(
                df, outcome="y", treatment="treated", post="post", unit="area")
        return {"coef": float(res.att), "se": float(res.se)}

    return fit, _version("diff-diff")


SETUPS: dict[str, Callable[[Any], tuple[Callable[[], dict[str, Any]], str]]] = {
    "lpip-eval": _setup_lpip,
    "pyfixest": _setup_pyfixest,
    "linearmodels": _setup_linearmodels,
    "diff-diff": _setup_diff_diff,
}


def worker(tool: str, parquet: Path, out: Path, profile: bool, repeat: int = 1) -> None:
    """Child process: import, read, baseline, cold call, warm call; write JSON to ``out``."""
    report: dict[str, Any] = {"tool": tool, "ok": False}
    try:
        t0 = time.perf_counter()
        import numpy  # noqa: F401
        import pandas as pd

        fit, version = SETUPS[tool](None)  # imports the tool; the closure is rebuilt below
        report["version"] = version
        report["import_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        df = pd.read_parquet(parquet)
        report["read_s"] = time.perf_counter() - t0
        report["rows"] = len(df)
        fit, _ = SETUPS[tool](df)
        gc.collect()
        report["baseline_mb"] = rss_mb()
        report["peak_reset"] = reset_peak()
        t0 = time.perf_counter()
        cold = fit()
        report["cold_s"] = time.perf_counter() - t0
        report["cold_parts"] = cold.get("parts")
        del cold
        gc.collect()
        warm: dict[str, Any] = {}
        report["warm_all_s"] = []
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            warm = fit()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            if not report["warm_all_s"] or wall < min(report["warm_all_s"]):
                report["warm_cpu_s"] = cpu
            report["warm_all_s"].append(wall)
            gc.collect()
        report["warm_s"] = min(report["warm_all_s"])
        report["peak_mb"] = peak_mb()
        report.update(coef=warm["coef"], se=warm["se"], warm_parts=warm.get("parts"), ok=True)
        if profile:
            report["profile"] = _profile(fit)
    except Exception as exc:  # a peer that fails is reported, not fatal
        report["error"] = f"{type(exc).__name__}: {exc}"
        report["traceback"] = traceback.format_exc(limit=4)
    out.write_text(json.dumps(report))


def _profile(fit: Callable[[], dict[str, Any]]) -> str:
    """cProfile of one more call: top 15 by cumulative and by own time."""
    prof = cProfile.Profile()
    prof.enable()
    fit()
    prof.disable()
    text = io.StringIO()
    stats = pstats.Stats(prof, stream=text)
    stats.strip_dirs()
    for key in ("cumulative", "tottime"):
        text.write(f"--- sorted by {key}\n")
        stats.sort_stats(key).print_stats(15)
    return re.sub(r"\n{3,}", "\n\n", text.getvalue())


def run_tool(tool: str, parquet: Path, tmp: Path, *, profile: bool, timeout: float,
             repeat: int) -> dict[str, Any]:
    out = tmp / f"{tool}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", tool, "--parquet",
           str(parquet), "--out", str(out), "--repeat", str(repeat)]
    cmd += ["--profile"] if profile else []
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"tool": tool, "ok": False, "error": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - t0
    if not out.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"tool": tool, "ok": False,
                "error": f"worker exited {proc.returncode}: {' | '.join(tail)}"}
    report: dict[str, Any] = json.loads(out.read_text())
    report["process_wall_s"] = wall
    return report


# --------------------------------------------------------------------------- the CLI


def _lpip_command() -> list[str]:
    script = Path(sys.executable).parent / "lpip-eval"
    if script.exists():
        return [str(script)]
    found = shutil.which("lpip-eval")
    return [found] if found else [sys.executable, "-m", "lpip_eval"]


def best_of(cmd: list[str], runs: int, env: dict[str, str] | None = None
            ) -> tuple[float, int, str]:
    """Best wall time of ``runs`` subprocess runs; the last exit code and stderr tail."""
    best = float("inf")
    code, err = 0, ""
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False,
                              env=env)
        best = min(best, time.perf_counter() - t0)
        code, err = proc.returncode, proc.stderr.strip()
    return best, code, err


HELP_SNIPPET = (
    "import sys\n"
    "sys.argv = ['lpip-eval'] + {args!r}\n"
    "from lpip_eval.cli.commands import main\n"
    "try:\n    main()\nexcept SystemExit:\n    pass\n"
)


def import_report(args: list[str]) -> dict[str, Any]:
    """``python -X importtime`` on the CLI run in-process with ``args``.

    Returns which HEAVY packages got imported, and the self time summed per top-level
    package (microseconds), largest first.
    """
    code = HELP_SNIPPET.format(args=args)
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True,
                          text=True, cwd=ROOT, check=False)
    per_root: dict[str, int] = {}
    outermost: list[tuple[str, int]] = []
    total = 0
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not match:
            continue
        self_us, cumulative, name = int(match.group(1)), int(match.group(2)), match.group(4)
        root = name.split(".")[0]
        per_root[root] = per_root.get(root, 0) + self_us
        total += self_us
        if len(match.group(3)) == 1:
            outermost.append((name, cumulative))
    return {"imported": [h for h in HEAVY if h in per_root],
            "per_root": sorted(per_root.items(), key=lambda kv: -kv[1]),
            "outermost": sorted(outermost, key=lambda kv: -kv[1]), "total_us": total}


PROFILE_SNIPPET = (
    "import cProfile, pstats, sys\n"
    "sys.argv = ['lpip-eval'] + {args!r}\n"
    "prof = cProfile.Profile()\n"
    "prof.enable()\n"
    "from lpip_eval.cli.commands import main\n"
    "try:\n    main()\nexcept SystemExit:\n    pass\n"
    "prof.disable()\n"
    "stats = pstats.Stats(prof, stream=sys.stderr).sort_stats('cumulative')\n"
    "stats.print_stats(8)\n"
    "stats.print_stats('lpip_eval/', {top})\n"
)


def cli_profile(args: list[str], top: int = 15) -> str:
    """cProfile of the CLI run in-process with ``args`` (imports included).

    Two views, by cumulative time: the top 8 entries overall, then the top ``top`` entries
    that are lpip-eval's own functions (paths shortened).
    """
    code = PROFILE_SNIPPET.format(args=args, top=top)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          check=False)
    text = re.sub(r"\S*/(site-packages|lpip_eval)/", r"\1/", proc.stderr)
    text = re.sub(r"(?m)^\s*(Ordered by|List reduced).*\n", "", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def cli_benchmarks(profile: bool) -> dict[str, Any]:
    lpip = _lpip_command()
    example = [str(EXAMPLE / "pilot.csv"), "--comparators", str(EXAMPLE / "comparators.csv"),
               "--outcome", "employment_rate", "--start", "2021Q3"]
    out: dict[str, Any] = {"command": lpip}
    out["help"] = best_of([*lpip, "--help"], 5)
    out["help_imports"] = import_report(["--help"])
    out["did"] = best_of([*lpip, "did", *example], 3)
    out["did_es"] = best_of([*lpip, "did", *example, "--design", "event-study"], 3)
    # Diagnostic, not a target: the randomization loop does many small matrix products, which
    # a multi-threaded OpenBLAS slows down badly when the cores are busy.
    one_thread = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    out["did_es_1t"] = best_of([*lpip, "did", *example, "--design", "event-study"], 3,
                               env=one_thread)
    if profile:
        out["did_imports"] = import_report(["did", *example, "--quiet"])
        out["did_profile"] = cli_profile(["did", *example, "--quiet"])
        out["did_es_profile"] = cli_profile(["did", *example, "--design", "event-study",
                                             "--quiet"])
    return out


# --------------------------------------------------------------------------- report


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(results: list[dict[str, Any]]) -> None:
    ref = next((r for r in results if r["tool"] == "pyfixest" and r["ok"]), None)
    lpip = next((r for r in results if r["tool"] == "lpip-eval" and r["ok"]), None)
    head = (f"{'tool':<13}{'version':>9}{'warm s':>9}{'cpu s':>8}{'cold s':>9}{'peak MB':>9}"
            f"{'dMB':>8}"
            f"{'coef':>20}{'SE':>13}{'|coef-pf|':>11}{'SE/pf':>13}{'t/lpip':>8}")
    print(head)
    print("-" * len(head))
    for r in results:
        if not r["ok"]:
            print(f"{r['tool']:<13} FAILED or not installed: {r.get('error', '?')}")
            continue
        dcoef = abs(r["coef"] - ref["coef"]) if ref else None
        se_ratio = r["se"] / ref["se"] if ref else None
        speed = r["warm_s"] / lpip["warm_s"] if lpip else None
        delta = r["peak_mb"] - r["baseline_mb"] if r.get("baseline_mb") else None
        print(f"{r['tool']:<13}{r.get('version', '?'):>9}{r['warm_s']:>9.3f}"
              f"{r['warm_cpu_s']:>8.3f}{r['cold_s']:>9.3f}{r['peak_mb']:>9.0f}"
              f"{_fmt(delta, '.0f'):>8}{r['coef']:>20.14f}{r['se']:>13.9f}"
              f"{_fmt(dcoef, '.1e'):>11}{_fmt(se_ratio, '.9f'):>13}{_fmt(speed, '.2f'):>8}")
    for r in results:
        if r["ok"]:
            note = "" if r.get("peak_reset") else " (peak reset unavailable: peak is ru_maxrss)"
            print(f"  {r['tool']}: imports {r['import_s']:.2f} s, Parquet read "
                  f"{r['read_s']:.2f} s, RSS after imports + read {r['baseline_mb']:.0f} MB{note}")
    if lpip:
        for label in ("cold_parts", "warm_parts"):
            parts = lpip.get(label) or {}
            print(f"  lpip-eval {label.split('_')[0]} call: panel_from_frame "
                  f"{parts.get('panel_s', 0):.3f} s + estimate_did "
                  f"{parts.get('estimate_s', 0):.3f} s")


def check(targets: list[tuple[str, bool | None, str]], name: str, ok: bool | None,
          detail: str) -> None:
    targets.append((name, ok, detail))
    word = "PASS" if ok else ("FAIL" if ok is not None else "N/A ")
    print(f"{word}  {name}: {detail}")


def evaluate(results: list[dict[str, Any]], cli: dict[str, Any] | None) -> list[Any]:
    ref = next((r for r in results if r["tool"] == "pyfixest" and r["ok"]), None)
    lpip = next((r for r in results if r["tool"] == "lpip-eval" and r["ok"]), None)
    peers = [r for r in results if r["tool"] != "lpip-eval" and r["ok"]]
    targets: list[tuple[str, bool | None, str]] = []
    if lpip and ref:
        d = abs(lpip["coef"] - ref["coef"])
        check(targets, "coefficient = pyfixest (1e-8)", d <= COEF_TOL, f"|diff| = {d:.2e}")
        rel = abs(lpip["se"] / ref["se"] - 1)
        check(targets, "SE = pyfixest (1e-6 relative)", rel <= SE_RTOL, f"rel diff = {rel:.2e}")
    else:
        check(targets, "coefficient/SE = pyfixest", None, "lpip-eval or pyfixest did not run")
    if lpip and peers:
        fastest = min(peers, key=lambda r: r["warm_s"])
        ratio = fastest["warm_s"] / lpip["warm_s"]
        check(targets, f">= {SPEEDUP:.0f}x faster than the fastest peer", ratio >= SPEEDUP,
              f"{fastest['tool']} {fastest['warm_s']:.3f} s / lpip-eval {lpip['warm_s']:.3f} s "
              f"= {ratio:.2f}x (warm calls; panel build + estimate for lpip-eval)")
    else:
        check(targets, "speed", None, "no peer ran")
    if lpip:
        check(targets, f"peak memory < {PEAK_MB:.0f} MB", lpip["peak_mb"] < PEAK_MB,
              f"whole-process peak RSS during the fits {lpip['peak_mb']:.0f} MB "
              f"(baseline {lpip['baseline_mb']:.0f} MB, increment "
              f"{lpip['peak_mb'] - lpip['baseline_mb']:.0f} MB)")
    if cli:
        s, code, _ = cli["help"]
        check(targets, f"`lpip-eval --help` < {HELP_S} s", code == 0 and s < HELP_S,
              f"best of 5 {s:.3f} s (exit {code})")
        heavy = [h for h in ("pandas", "statsmodels", "matplotlib")
                 if h in cli["help_imports"]["imported"]]
        check(targets, "--help imports no pandas/statsmodels/matplotlib", not heavy,
              f"imported: {', '.join(cli['help_imports']['imported']) or 'none of ' + str(HEAVY)}")
        for key, label in (("did", "twfe"), ("did_es", "event-study")):
            s, code, err = cli[key]
            check(targets, f"`lpip-eval did` example ({label}) < {DID_S} s",
                  code == 0 and s < DID_S,
                  f"best of 3 {s:.3f} s (exit {code})" + (f": {err[-200:]}" if code else ""))
    return targets


def print_imports(title: str, rep: dict[str, Any], top: int = 12,
                  outermost: bool = False) -> None:
    print(f"{title}: {rep['total_us'] / 1e3:.0f} ms of imports; self time per package:")
    for name, us in rep["per_root"][:top]:
        print(f"  {us / 1e3:8.1f} ms  {name}")
    if outermost:
        print("  outermost imports by cumulative time (what pulled the packages in):")
        for name, us in rep["outermost"][:top]:
            print(f"  {us / 1e3:8.1f} ms  {name}")


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3,000 areas instead of 30,000")
    parser.add_argument("--areas", type=int, help="number of areas (overrides --quick)")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset")
    parser.add_argument("--skip-cli", action="store_true", help="skip the CLI timings")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile lpip-eval's fit; -X importtime `lpip-eval did`")
    parser.add_argument("--repeat", type=int, default=1,
                        help="warm calls after the cold one; 'warm s' is the best (default 1: "
                        "the second call)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per tool")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--parquet", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.parquet, args.out, args.profile, max(args.repeat, 1))
        return

    n_areas = args.areas or (3_000 if args.quick else 30_000)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    print(f"benchmarks/did.py: TWFE DiD, area + period FE, CR1 clustered by area; "
          f"{n_areas:,} areas x {N_PERIODS} quarters = {n_areas * N_PERIODS:,} rows, "
          f"{max(n_areas // TREATED_SHARE, 1):,} treated from 2021Q3, seed {SEED}")
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', '(unset)')}")
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"WARNING: load average {load:.2f} before the run: other processes share the "
              f"{os.cpu_count()} cores, so wall times are inflated ('cpu s' is less affected)")
    with tempfile.TemporaryDirectory(prefix="lpip-bench-") as tmp_name:
        tmp = Path(tmp_name)
        t0 = time.perf_counter()
        df = make_panel(n_areas)
        parquet = tmp / "panel.parquet"
        df.to_parquet(parquet, index=False)
        print(f"data: generated and written to Parquet in {time.perf_counter() - t0:.1f} s "
              f"({parquet.stat().st_size / 2**20:.1f} MB on disk, "
              f"{df.memory_usage(deep=True).sum() / 2**20:.0f} MB in memory)")
        del df
        results = []
        for tool in tools:
            print(f"running {tool} ...", flush=True)
            results.append(run_tool(tool, parquet, tmp,
                                    profile=args.profile and tool == "lpip-eval",
                                    timeout=args.timeout, repeat=max(args.repeat, 1)))
    print()
    warm = "second call" if args.repeat <= 1 else f"best of {args.repeat} calls after the first"
    print(f"Fit from an in-memory DataFrame, each tool in a fresh process. 'warm s' = {warm}, "
          "'cpu s' = CPU time of that call (all threads), 'cold s' = first call (pyfixest "
          "JIT-compiles on it). 'peak MB' = whole-process "
          "peak RSS during all the calls; 'dMB' = that minus RSS after imports + Parquet read. "
          "'SE/pf' = SE / pyfixest SE, 't/lpip' = warm seconds / lpip-eval warm seconds.")
    print()
    print_table(results)
    if any(r["tool"] == "diff-diff" and r["ok"] for r in results):
        print("  note: diff-diff's TwoWayFixedEffects absorbs area and *post* (2-level) effects, "
              "not period effects: same coefficient here (one common start, balanced), other SE.")
    cli = None
    if not args.skip_cli:
        print()
        cli = cli_benchmarks(args.profile)
        print(f"CLI ({' '.join(cli['command'])}):")
        print(f"  --help                best of 5: {cli['help'][0]:.3f} s")
        print(f"  did example (twfe)    best of 3: {cli['did'][0]:.3f} s")
        print(f"  did example (es)      best of 3: {cli['did_es'][0]:.3f} s")
        print(f"  did example (es) with OPENBLAS_NUM_THREADS=1 (diagnostic): "
              f"{cli['did_es_1t'][0]:.3f} s")
        print_imports("  --help", cli["help_imports"], top=8)
    print()
    targets = evaluate(results, cli)
    if args.profile:
        lpip = next((r for r in results if r["tool"] == "lpip-eval" and r.get("profile")), None)
        if lpip:
            print("\ncProfile of one lpip-eval fit (panel_from_frame + estimate_did):")
            print(lpip["profile"])
        if cli and "did_imports" in cli:
            print_imports("\n-X importtime of `lpip-eval did` on the example (twfe)",
                          cli["did_imports"], top=15, outermost=True)
            print("\ncProfile of `lpip-eval did` on the example (twfe), in-process, imports "
                  "included:")
            print(cli["did_profile"])
            print("\ncProfile of `lpip-eval did --design event-study` on the example:")
            print(cli["did_es_profile"])
    passed = sum(1 for _, ok, _ in targets if ok)
    failed = [name for name, ok, _ in targets if ok is False]
    print(f"\nSUMMARY: {passed}/{len(targets)} targets passed"
          + (f"; FAILED: {'; '.join(failed)}" if failed else ""))


if __name__ == "__main__":
    main()
