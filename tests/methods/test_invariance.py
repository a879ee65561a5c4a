"""DiD invariances on special panels; the general ones are in ``test_contract.py``.

The shared contract (``tests/methods/test_contract.py``) checks, for every design and every
inference method of DiD (and of every other method), that adding a constant to the outcome,
multiplying it by c, shuffling the rows or renaming the areas changes nothing that should not
change. Two DiD-specific panels are checked here:

* gaps and analytic weights, which take the alternating-projections path of the within
  transform: adding a constant changes no estimate beyond rounding;
* a whole-number outcome over few periods, whose many tied areas stress the data-derived
  order of the areas (``linear.unit_order.canonical_unit_order``) that sampled draws are tied to.

Tolerance: 1e-7 relative to the size of the quantity (or of the interval width, for
quantities near zero). Bisection in the interval inversion stops at 1e-9.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from simulate import simulate_panel, to_panel

from lpip_eval.methods.did import DidSpec, estimate_did

DRAWS = 199
SEED = 7
RTOL = 1e-7

Numbers = dict[str, float | None]


def _spec(design: str, inference: str, weights: str | None, draws: int = DRAWS) -> DidSpec:
    return DidSpec(design=design, inference=inference, draws=draws, seed=SEED,
                   bootstrap_weights=weights)


def _numbers(result: object) -> Numbers:
    """Every estimated number of a result: headline, per-period effects, pre-trend p-value."""
    est = result.estimate  # type: ignore[attr-defined]
    out: Numbers = {"att": est.att, "se": est.se, "ci_low": est.ci_low,
                    "ci_high": est.ci_high, "p_value": est.p_value}
    for e in result.effects_by_period:  # type: ignore[attr-defined]
        for key in ("att", "se", "ci_low", "ci_high"):
            out[f"{e.period}.{key}"] = getattr(e, key)
    pre = result.diagnostics.get("pretrend_test")  # type: ignore[attr-defined]
    if pre is not None:
        out["pretrend.p_value"] = pre["p_value"]
    return out


def _assert_close(actual: Numbers, expected: Numbers, *, rtol: float = RTOL) -> None:
    assert actual.keys() == expected.keys()
    width = abs((expected["ci_high"] or 0.0) - (expected["ci_low"] or 0.0))
    bad = []
    for key, want in expected.items():
        got = actual[key]
        if want is None or got is None or not (math.isfinite(want) and math.isfinite(got)):
            if got != want:
                bad.append((key, got, want))
            continue
        scale = width if not key.endswith("p_value") else 1.0
        if abs(got - want) > rtol * max(abs(want), scale, 1e-300):
            bad.append((key, got, want))
    assert not bad, bad


@pytest.mark.parametrize("inference", ["cluster", "wild-bootstrap", "randomization"])
@pytest.mark.parametrize("design", ["twfe", "event-study"])
def test_constant_on_unbalanced_weighted_panel_changes_nothing(design: str,
                                                               inference: str) -> None:
    """Gaps and analytic weights take the alternating-projections path of the within
    transform. An outcome level 1,000 times its noise is ordinary (e.g. population or
    employment counts); the estimates must not depend on it beyond rounding."""
    # 2 treated of 20 areas: RI enumerates C(20, 2) = 190 assignments (each one a projection).
    frame = simulate_panel(n_units=20, n_treated=2, effect=1.0, seed=4)
    rng = np.random.default_rng(0)
    frame = frame.drop(index=rng.choice(len(frame), 15, replace=False))
    weight = dict(zip(sorted(frame["area"].unique()), rng.uniform(1, 5, 20), strict=True))
    frame = frame.assign(pop=frame["area"].map(weight))
    spec = _spec(design, inference, None, draws=99)
    base = estimate_did(to_panel(frame, weights_col="pop"), spec)
    shifted = estimate_did(to_panel(frame.assign(y=frame["y"] + 1000.0), weights_col="pop"),
                           spec)
    _assert_close(_numbers(shifted), _numbers(base))


def _reversed(areas: list[str]) -> dict[str, str]:
    """A renaming that reverses the areas' sort order."""
    n = len(areas)
    return {a: f"area {n - i:02d}" for i, a in enumerate(sorted(areas))}


@pytest.mark.parametrize("inference", ["randomization", "wild-bootstrap"])
@pytest.mark.parametrize("design", ["2x2", "twfe"])
def test_renaming_areas_with_whole_number_outcome(design: str, inference: str) -> None:
    """Counts (whole numbers) over few periods make many areas' outcome spreads equal, so any
    data-derived order of the areas has ties; sampled inference (C(40, 4) = 91,390
    assignments, 2^40 sign vectors) must still not depend on the areas' names."""
    frame = simulate_panel(n_units=40, n_periods=4, n_treated=4, start=2, effect=1.0, seed=8)
    frame = frame.assign(y=frame["y"].round())
    rename = _reversed(sorted(frame["area"].unique()))
    spec = _spec(design, inference, None, draws=999)
    base = estimate_did(to_panel(frame), spec)
    renamed = estimate_did(to_panel(frame.assign(area=frame["area"].map(rename))), spec)
    _assert_close(_numbers(renamed), _numbers(base))
