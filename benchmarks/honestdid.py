"""Time HonestDiD sensitivity (Rambachan & Roth 2023) on the R package README's Medicaid
example and print both tables with the README's numbers beside them.

    python benchmarks/honestdid.py

Targets (issue 11): the relative-magnitudes grid of 4 values in under 10 s (moderndid, which
matches R, takes about 4 minutes for the README grid); the smoothness table and its breakdown
in a second or two.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from lpip_eval.data.panel import PanelSpec, panel_from_frame
from lpip_eval.methods import did
from lpip_eval.methods.linear.design import cr1
from lpip_eval.methods.sensitivity.relative_magnitudes import RelativeMagnitudes
from lpip_eval.methods.sensitivity.smoothness import Flci

EHEC = Path(__file__).parents[1] / "tests" / "reference" / "ehec_data.csv"
README_SD = {0.0: (0.0259, 0.0607), 0.01: (0.0132, 0.0787), 0.02: (0.00286, 0.0907),
             0.03: (-0.00714, 0.101)}
README_RM = {0.5: (0.0241, 0.0673), 1.0: (0.0171, 0.0720), 1.5: (0.00859, 0.0796),
             2.0: (-0.00107, 0.0883)}


def main() -> None:
    frame = pd.read_csv(EHEC)
    frame = frame[(frame.year < 2016) & (frame.yexp2.isna() | (frame.yexp2 != 2015))]
    frame = frame.assign(D=(frame.yexp2 == 2014).astype(int))
    panel = panel_from_frame(frame, PanelSpec(data=EHEC, area_col="stfips", period_col="year",
                                              outcome="dins", treated_col="D", start="2014"),
                             source="ehec")
    design, _ = did._event_study(panel, [])  # the test suite uses the same builder
    fit, _ = design.fit()
    vcov, _ = cr1(design, fit)
    l_vec = [1.0, 0.0]

    flci_rows, breakdown, table, total = _timed(
        lambda: Flci(fit.coef, vcov, 5, l_vec), README_SD)  # type: ignore[arg-type]
    print(f"smoothness (FLCI): table {table:.2f} s, with breakdown {total:.2f} s")
    for m, (low, high) in flci_rows.items():
        print(f"  M = {m:<5} [{low:.5f}, {high:.5f}]   README [{README_SD[m][0]}, "
              f"{README_SD[m][1]}]")
    print(f"  breakdown M = {breakdown:.5f}   README about 0.0228")

    rm_rows, value, table, total = _timed(
        lambda: RelativeMagnitudes(fit.coef, vcov, 5, l_vec), README_RM)  # type: ignore[arg-type]
    print(f"relative magnitudes (C-LF): 4-value grid {table:.2f} s (target < 10 s), with "
          f"breakdown {total:.2f} s")
    for m, (low, high) in rm_rows.items():
        print(f"  Mbar = {m:<4} [{low:.5f}, {high:.5f}]   README [{README_RM[m][0]}, "
              f"{README_RM[m][1]}]")
    print(f"  breakdown Mbar = {value:.3f}   README about 1.96 (in [1.9, 2.0])")


def _timed(make: Callable[[], Any], grid: dict[float, Any]
           ) -> tuple[dict[float, tuple[float, float]], Any, float, float]:
    """(intervals over ``grid``, breakdown, seconds for the table, seconds with the
    breakdown) of the sensitivity object ``make`` builds (the first call's imports
    included, as a user's run pays them)."""
    start = time.perf_counter()
    analysis = make()
    rows = {m: analysis.interval(m) for m in grid}
    table = time.perf_counter() - start
    breakdown = analysis.breakdown()
    return rows, breakdown, table, time.perf_counter() - start


if __name__ == "__main__":
    main()
