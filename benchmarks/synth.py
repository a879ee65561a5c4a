"""Benchmark: classic synthetic control, lpip-eval against diff-diff and pysyncon.

Run by hand (a report, not a test; it always exits 0)::

    python benchmarks/synth.py                 # everything, peers included (about 5 minutes)
    python benchmarks/synth.py --quick         # lpip-eval only
    python benchmarks/synth.py --tools lpip-eval,diff-diff --workers 2

Cases (each run in a fresh subprocess, which reports seconds and its peak RSS):

1. ``prop99-fit``: Proposition 99 with ADH 2010's published predictors (lnincome, age15to24,
   retprice averaged 1980-1988, beer 1984-1988, cigsale 1975, 1980, 1988; MSPE minimised over
   1970-1988), one fit with the nested V search. Also prints each tool's pre-period MSPE
   (computed here from its weights) next to the published weights' 3.089.
2. ``prop99-placebo``: the fit plus placebo-in-space inference (38 refits). lpip-eval uses
   ``--workers`` processes; diff-diff's ``in_space_placebo()`` is serial. pysyncon's
   PlaceboTest takes about 20 minutes, so it runs only with ``--pysyncon-placebo``.
3. ``large-fit``: a seeded factor model with 2,000 donors x 40 periods (30 before the start),
   default predictors (the outcome in every pre-period), one fit.
4. ``large-placebo``: the same with all 2,000 placebos, each fitted on its 50 nearest donors
   (``--donors-nearest 50``).

Targets (issue 4): Prop 99 fit < 1 s and >= 8x faster than diff-diff; placebo run < 15 s on
2 cores and >= 10x faster than diff-diff; large fit < 1 s; large placebos < 60 s.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "reference" / "prop99_smoking.csv"
PREDICTORS = ("lnincome:1980-1988", "age15to24:1980-1988", "retprice:1980-1988",
              "beer:1984-1988", "cigsale:1975", "cigsale:1980", "cigsale:1988")
PUBLISHED = {"Utah": 0.334, "Nevada": 0.234, "Montana": 0.199, "Colorado": 0.164,
             "Connecticut": 0.069}  # ADH 2010, Table 2
SPECIAL = [("beer", list(range(1984, 1989)), "mean"), ("cigsale", [1975], "mean"),
           ("cigsale", [1980], "mean"), ("cigsale", [1988], "mean")]
TARGETS = {"prop99-fit": (1.0, 8.0), "prop99-placebo": (15.0, 10.0), "large-fit": (1.0, None),
           "large-placebo": (60.0, None)}
CASES = tuple(TARGETS)
TOOLS = ("lpip-eval", "diff-diff", "pysyncon")


def _frame() -> Any:
    import pandas as pd

    frame = pd.read_csv(DATA)
    frame["year"] = frame["year"].astype(int)
    return frame


def _mspe(weights: dict[str, float]) -> float:
    import numpy as np

    wide = _frame().pivot(index="year", columns="state", values="cigsale").loc[1970:1988]
    synthetic = sum(w * wide[u] for u, w in weights.items())
    return float(np.mean((wide["California"] - synthetic) ** 2))


def _large_frame() -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(20240101)
    n, t, t0 = 2000, 40, 30
    factors = np.cumsum(rng.normal(size=(t, 4)), axis=0) + 20
    mu = rng.uniform(0.5, 1.5, size=(n + 1, 4))
    mu[0] = rng.dirichlet(np.ones(5)) @ mu[1:6]
    y = mu @ factors.T + rng.normal(scale=0.5, size=(n + 1, t))
    y[0, t0:] += 2.0
    areas = [f"A{i:05d}" for i in range(n + 1)]
    return pd.DataFrame({"area": np.repeat(areas, t), "period": np.tile(1990 + np.arange(t),
                         n + 1), "y": y.ravel(), "pilot": np.repeat([1] + [0] * n, t)})


# --------------------------------------------------------------------------- workers


def _lpip(case: str, workers: int) -> dict[str, Any]:
    from lpip_eval.data.panel import PanelSpec, panel_from_frame
    from lpip_eval.methods.synth.classic import SynthSpec, estimate_synth, parse_predictor

    if case.startswith("prop99"):
        spec = PanelSpec(data=DATA, area_col="state", period_col="year", outcome="cigsale",
                         treated=("California",), start="1989",
                         covariates=("lnincome", "age15to24", "retprice", "beer"))
        frame = _frame()
        preds = tuple(parse_predictor(p, outcome="cigsale") for p in PREDICTORS)
        synth = SynthSpec(predictors=preds, placebo_in_time=False, leave_one_out=False,
                          inference="placebo" if case.endswith("placebo") else "none",
                          workers=workers)
    else:
        spec = PanelSpec(data=Path("large.csv"), outcome="y", treated_col="pilot",
                         start="2020")
        frame = _large_frame()
        synth = SynthSpec(placebo_in_time=False, leave_one_out=False,
                          inference="placebo" if case.endswith("placebo") else "none",
                          donors_nearest=50 if case.endswith("placebo") else None,
                          workers=workers)
    panel = panel_from_frame(frame, spec)
    start = time.perf_counter()
    result = estimate_synth(panel, synth)
    seconds = time.perf_counter() - start
    out = {"seconds": seconds, "att": result.estimate.att, "p_value": result.estimate.p_value,
           "weights": dict(result.weights[:8]),
           "evaluations": result.diagnostics["v_search"].get("evaluations")}
    if case.startswith("prop99"):
        out["mspe"] = _mspe(dict(result.weights))
    return out


def _diff_diff(case: str) -> dict[str, Any]:
    from diff_diff import SyntheticControl

    if case.startswith("large"):
        return {"skipped": "not run at this size"}
    frame = _frame()
    frame["treat"] = ((frame["state"] == "California") & (frame["year"] >= 1989)).astype(int)
    start = time.perf_counter()
    fit = SyntheticControl(seed=0).fit(
        frame, "cigsale", "treat", "state", "year",
        predictors=["lnincome", "age15to24", "retprice"],
        predictor_window=list(range(1980, 1989)), special_predictors=SPECIAL)
    out: dict[str, Any] = {"mspe": _mspe(dict(fit.donor_weights))}
    if case.endswith("placebo"):
        fit.in_space_placebo()
        out["p_value"] = float(fit.placebo_p_value)
    out["seconds"] = time.perf_counter() - start
    return out


def _pysyncon(case: str, placebo: bool) -> dict[str, Any]:
    from pysyncon import Dataprep, Synth
    from pysyncon.utils import PlaceboTest

    if case.startswith("large") or (case.endswith("placebo") and not placebo):
        return {"skipped": "not run (about 20 minutes; --pysyncon-placebo)" if
                case.endswith("placebo") and not case.startswith("large") else
                "not run at this size"}
    frame = _frame()
    donors = sorted(s for s in frame["state"].unique() if s != "California")
    prep = Dataprep(foo=frame, predictors=["lnincome", "age15to24", "retprice"],
                    predictors_op="mean", time_predictors_prior=range(1980, 1989),
                    special_predictors=[(v, p, o) for v, p, o in SPECIAL],
                    dependent="cigsale", unit_variable="state", time_variable="year",
                    treatment_identifier="California", controls_identifier=donors,
                    time_optimize_ssr=range(1970, 1989))
    start = time.perf_counter()
    synth = Synth()
    synth.fit(prep, optim_method="Nelder-Mead", optim_initial="equal")
    out: dict[str, Any] = {"mspe": _mspe(dict(zip(synth.W_names, synth.W, strict=True)))}
    if case.endswith("placebo"):
        PlaceboTest().fit(prep, scm=Synth(), scm_options={"optim_method": "Nelder-Mead",
                                                          "optim_initial": "equal"})
    out["seconds"] = time.perf_counter() - start
    return out


def worker(tool: str, case: str, workers: int, pysyncon_placebo: bool) -> None:
    warnings.simplefilter("ignore")
    try:
        if tool == "lpip-eval":
            out = _lpip(case, workers)
        elif tool == "diff-diff":
            out = _diff_diff(case)
        else:
            out = _pysyncon(case, pysyncon_placebo)
    except ImportError as exc:
        out = {"skipped": f"not installed ({exc.name})"}
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out["peak_mb"] = own
    out["worker_peak_mb"] = kids or None
    print(json.dumps(out, default=float))


# --------------------------------------------------------------------------- driver


def run(tool: str, case: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", tool, "--case", case,
               "--workers", str(args.workers)]
    if args.pysyncon_placebo:
        command.append("--pysyncon-placebo")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        return {"skipped": f"timed out after {args.timeout:.0f} s"}
    if done.returncode != 0:
        return {"skipped": f"failed: {done.stderr.strip().splitlines()[-1:]}"}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="lpip-eval only")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--pysyncon-placebo", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.case, args.workers, args.pysyncon_placebo)
        return
    tools = ["lpip-eval"] if args.quick else args.tools.split(",")
    print(f"synthetic control benchmark ({args.workers} workers for lpip-eval placebos)")
    print(f"{'case':<16}{'tool':<11}{'seconds':>9}{'ratio':>8}{'MSPE':>9}{'p':>8}"
          f"{'peak MB':>9}  note")
    verdicts = []
    for case in args.cases.split(","):
        results = {tool: run(tool, case, args) for tool in tools}
        ours = results.get("lpip-eval", {}).get("seconds")
        for tool, r in results.items():
            if "skipped" in r:
                print(f"{case:<16}{tool:<11}{'':>9}{'':>8}{'':>9}{'':>8}{'':>9}  "
                      f"{r['skipped']}")
                continue
            ratio = r["seconds"] / ours if ours else None
            peak = r["peak_mb"] + (r.get("worker_peak_mb") or 0)
            note = "" if tool != "lpip-eval" else f"att {r['att']:+.3f}"
            p_value = r.get("p_value")
            cells = [f"{r['seconds']:.2f}", f"{ratio:.1f}x" if ratio else "",
                     f"{r['mspe']:.3f}" if "mspe" in r else "",
                     f"{p_value:.3f}" if isinstance(p_value, float) and not math.isnan(p_value)
                     else ""]
            print(f"{case:<16}{tool:<11}{cells[0]:>9}{cells[1]:>8}{cells[2]:>9}{cells[3]:>8}"
                  f"{peak:>9.0f}  {note}")
        limit, speedup = TARGETS[case]
        if ours is not None:
            ok = ours < limit
            text = f"{case}: {ours:.2f} s < {limit:.0f} s {'PASS' if ok else 'FAIL'}"
            peer = results.get("diff-diff", {}).get("seconds")
            if speedup and peer:
                ok_ratio = peer / ours >= speedup
                text += (f"; {peer / ours:.1f}x faster than diff-diff (>= {speedup:.0f}x "
                         f"{'PASS' if ok_ratio else 'FAIL'})")
            verdicts.append(text)
    print(f"published weights' MSPE (ADH 2010 Table 2): {_mspe(PUBLISHED):.3f}")
    for text in verdicts:
        print(text)


if __name__ == "__main__":
    main()
