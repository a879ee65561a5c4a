"""Real results for the report tests: the shipped example evaluated by ``estimate_did``, and
two hostile data sets whose area names / codes / file names are injection attempts.

Results carry a provenance block built the way the CLI builds it (``with_provenance``), so
every part of the report (including file names and the command) is exercised.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lpip_eval.data.panel import PanelSpec, load_panel
from lpip_eval.methods.did import DidSpec, estimate_did
from lpip_eval.results.result import with_provenance

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "west_of_england"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
PAYLOADS = (SCRIPT, IMG)
SEED = 20240101


def evaluate(spec: PanelSpec, design: str, *, draws: int = 199) -> dict[str, Any]:
    """Load, estimate (auto inference, fixed seed) and attach provenance; the JSON dict."""
    panel = load_panel(spec)
    did = DidSpec(design=design, draws=draws, seed=SEED)
    result = estimate_did(panel, did)
    words = ["lpip-eval", "did", str(spec.data)]
    if spec.comparators is not None:
        words += ["--comparators", str(spec.comparators)]
    for area in spec.treated:
        words += ["--treated", area]
    words += ["--outcome", str(spec.outcome), "--start", str(spec.start), "--design", design,
              "--draws", str(draws)]
    options = {"design": design, "inference": "auto", "ci_level": 0.95, "draws": draws,
               "seed": SEED}
    result = with_provenance(result, panel, spec, options, command=shlex.join(words),
                             seed=SEED)
    return result.to_dict()


def example_result(design: str) -> dict[str, Any]:
    """The West of England example (4 pilot, 36 comparison areas, 40 quarters)."""
    spec = PanelSpec(data=EXAMPLE / "pilot.csv", comparators=EXAMPLE / "comparators.csv",
                     outcome="employment_rate", start="2021Q3")
    return evaluate(spec, design)


def hostile_names_result(folder: Path, design: str = "event-study") -> dict[str, Any]:
    """The example with valid GSS codes but hostile area names and a hostile file name."""
    pilot = pd.read_csv(EXAMPLE / "pilot.csv", dtype={"area": str})
    names = {"E06000022": SCRIPT, "E06000023": IMG}
    pilot["area_name"] = pilot["area"].map(names).fillna(pilot["area_name"])
    comparators = pd.read_csv(EXAMPLE / "comparators.csv", dtype={"area": str})
    comparators.loc[comparators["area"] == "E06000001", "area_name"] = IMG + " & | `x` *y*"
    pilot_path = folder / f"{IMG}.csv"
    comp_path = folder / "comparators.csv"
    pilot.to_csv(pilot_path, index=False)
    comparators.to_csv(comp_path, index=False)
    spec = PanelSpec(data=pilot_path, comparators=comp_path, outcome="employment_rate",
                     start="2021Q3")
    return evaluate(spec, design)


def hostile_codes_result(folder: Path, design: str = "twfe") -> dict[str, Any]:
    """A small non-GSS panel whose area identifiers themselves are the payloads."""
    rng = np.random.default_rng(7)
    areas = [SCRIPT, IMG, "a|b", "`tick`", "# heading", "- item", "[link](http://x)",
             "C8", "C9", "C10"]
    periods = [f"{year}Q{q}" for year in range(2019, 2023) for q in range(1, 5)]
    rows = []
    for i, area in enumerate(areas):
        level = 50.0 + i
        for t, period in enumerate(periods):
            treated = area in (SCRIPT, IMG) and t >= 8
            rows.append({"area": area, "period": period,
                         "outcome": level + 0.2 * t + (1.0 if treated else 0.0)
                         + float(rng.normal(0.0, 0.3))})
    path = folder / "hostile_codes.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    spec = PanelSpec(data=path, outcome="outcome", treated=(SCRIPT, IMG), start="2021Q1")
    return evaluate(spec, design)
