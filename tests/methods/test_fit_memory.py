"""The event-study fit keeps one copy of its lead/lag columns (issue 17: 2.5 GB at 30,000 areas).

Checked structurally rather than by timing or RSS: the residualised targets reuse the
built array's memory, in-place residuals equal the copying ones, and a clustered event study
with many treated areas draws no randomization assignments (a draws x areas array).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lpip_eval.methods.linear.absorb import Absorber


@pytest.mark.parametrize("kind", ["balanced", "exact", "alternating"])
def test_in_place_residuals_equal_copies(kind: str) -> None:
    rng = np.random.default_rng(2)
    u = np.repeat(np.arange(20), 6)
    t = np.tile(np.arange(6), 20)
    if kind != "balanced":
        keep = rng.random(len(u)) >= 0.1
        u, t = u[keep], t[keep]
    absorber = Absorber(u, t, None, n_units=20, n_times=6, balanced_sorted=kind == "balanced",
                        max_exact_levels=0 if kind == "alternating" else 1000)
    assert absorber.method == kind
    z = rng.normal(size=(len(u), 3))
    expected = absorber.residualize(z)
    work = z.copy()
    out = absorber.residualize(work, overwrite=True)
    assert np.shares_memory(out, work)
    np.testing.assert_array_equal(out, expected)


def _event_panel(n_areas: int):  # type: ignore[no-untyped-def]
    from lpip_eval.data.panel import PanelSpec, panel_from_frame

    rng = np.random.default_rng(4)
    u = np.repeat(np.arange(n_areas), 8)
    t = np.tile(np.arange(8), n_areas)
    d = ((u % 3 == 0) & (t >= 5)).astype(int)
    frame = pd.DataFrame({"area": [f"A{i:03d}" for i in u],
                          "period": [f"{2015 + q // 4}Q{q % 4 + 1}" for q in t],
                          "y": rng.normal(size=len(u)) + d, "D": d})
    return panel_from_frame(frame, PanelSpec(data="x.csv", outcome="y", treatment_col="D"))


def test_event_study_fit_residualises_its_targets_in_place() -> None:
    from lpip_eval.methods.did import _event_study

    design, _ = _event_study(_event_panel(60), [])
    built: list[np.ndarray] = []
    original = design.build

    def spy(first: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        targets, nuisance = original(first)
        built.append(targets)
        return targets, nuisance

    object.__setattr__(design, "build", spy)
    fit, _ = design.fit()
    assert np.shares_memory(fit.xt, built[-1])


def test_clustered_event_study_draws_no_assignments(monkeypatch: pytest.MonkeyPatch) -> None:
    from lpip_eval.methods.did import DidSpec, estimate_did
    from lpip_eval.methods.linear import inference as inf

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("assignments drawn although no randomization draw is used")

    monkeypatch.setattr(inf, "assignments", refuse)
    result = estimate_did(_event_panel(60), DidSpec(design="event-study", inference="cluster"))
    assert result.estimate.se is not None and result.estimate.se > 0
