"""Castle-doctrine laws (Cheng & Hoekstra 2013), from ``causaldata`` 0.1.5's ``castle`` (test
dependency; ships the file, works offline): 50 states 2000-2010, 21 adopt between 2006 and
2010 (5 waves), ``post`` is 0/1. The staggered data set of the new-user trial
(``/work/shared/reviews/new-user-trial.md``, section 2b)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from lpip_eval.data.panel import Panel, PanelSpec, load_panel
from lpip_eval.methods import registry
from lpip_eval.results.result import EffectResult


@cache
def castle_csv() -> Path:
    """The castle data as a CSV in a temporary folder (written once per session)."""
    import tempfile

    from causaldata import castle

    folder = Path(tempfile.mkdtemp(prefix="castle"))
    path = folder / "castle.csv"
    castle.load_pandas().data[["sid", "year", "l_homicide", "post"]].to_csv(path, index=False)
    return path


@cache
def castle_panel() -> Panel:
    return load_panel(PanelSpec(data=castle_csv(), area_col="sid", period_col="year",
                                outcome="l_homicide", treatment_col="post"))


@cache
def castle_result(design: str, **options: Any) -> EffectResult:
    """``lpip-eval did castle.csv --design DESIGN`` (cluster inference)."""
    opts = {"design": design, "inference": "cluster", **options}
    return registry.estimate("did", castle_panel(), opts)
