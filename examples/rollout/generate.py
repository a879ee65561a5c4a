"""Write ``rollout.csv``: the West of England example's SIMULATED history (2015Q1-2024Q4, 40
areas) with a planned roll-out in three waves in column ``planned_start``.

The made-up plan: Bristol and South Gloucestershire start in 2025Q3, Bath and North East
Somerset and North Somerset in 2026Q1, and four South West authorities in 2026Q3; the other
32 areas are never treated (``planned_start`` empty). Run from a clone:
``python examples/rollout/generate.py``. Standard library and pandas only; deterministic.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "west_of_england"
WAVES = {"2025Q3": ("E06000023", "E06000025"), "2026Q1": ("E06000022", "E06000024"),
         "2026Q3": ("E06000026", "E06000027", "E06000052", "E06000054")}


def main(target: Path = HERE / "rollout.csv") -> None:
    frame = pd.concat([pd.read_csv(SOURCE / name, dtype={"area": str})
                       for name in ("pilot.csv", "comparators.csv")], ignore_index=True)
    start = {area: wave for wave, areas in WAVES.items() for area in areas}
    missing = sorted(set(start) - set(frame["area"]))
    if missing:
        raise SystemExit(f"areas not in the example: {missing}")
    out = frame[["area", "area_name", "period", "employment_rate"]].copy()
    out["planned_start"] = out["area"].map(start).fillna("")
    out.to_csv(target, index=False, lineterminator="\n")


if __name__ == "__main__":
    main()
