"""Invariances every estimate must have, for every DiD design and every inference method.

* adding a constant to the outcome changes no estimate, SE, interval or p-value (area fixed
  effects absorb it; the 2x2 differences it away);
* multiplying the outcome by c multiplies effects, SEs and intervals by c (|c| for SEs;
  the interval's ends swap when c < 0) and leaves p-values unchanged;
* shuffling the rows of the input, or renaming the areas, changes nothing: the same seed
  gives the same numbers. Sampled inference (randomization with sampled assignments, the
  wild bootstrap with sampled weights) ties its draws to a data-derived order of the areas
  (``inference.canonical_unit_order``), so this holds for it as well, not only for the exact
  methods.

Expected values are the base run's own numbers transformed by the invariance, so any
tolerance is numerical: 1e-7 relative to the size of the quantity (or of the interval width,
for quantities near zero). Bisection in the interval inversion stops at 1e-9.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import numpy as np
import pandas as pd
import pytest
from simulate import simulate_panel, to_panel

from lpip_eval.methods.did import DidSpec, estimate_did

DRAWS = 199
SEED = 7
RTOL = 1e-7

# name -> (frame, designs). "common": 3 treated of 20 (RI enumerates C(20,3) = 1,140
# assignments, the wild bootstrap samples from 2^20 weight vectors); "staggered": two start
# dates (RI samples permutations of the timings); "small": 2 treated of 7 areas (RI
# enumerates 21 assignments, Rademacher weights are enumerated: 2^7 = 128 <= 199 draws).
FRAMES: dict[str, tuple[pd.DataFrame, tuple[str, ...]]] = {
    "common": (simulate_panel(n_units=20, n_treated=3, effect=1.0, seed=4),
               ("2x2", "twfe", "event-study")),
    "staggered": (simulate_panel(n_units=20, n_treated=4, start=[5, 5, 8, 8], effect=1.0,
                                 seed=5),
                  ("twfe", "event-study")),
    "small": (simulate_panel(n_units=7, n_treated=2, effect=1.0, seed=6),
              ("2x2", "twfe", "event-study")),
}
INFERENCE = [("auto", None), ("cluster", None), ("wild-bootstrap", "rademacher"),
             ("wild-bootstrap", "webb"), ("randomization", None)]
CASES = [
    pytest.param(name, design, inference, weights,
                 id=f"{name}-{design}-{inference}{'-' + weights if weights else ''}")
    for name, (_, designs) in FRAMES.items()
    for design in designs
    for inference, weights in INFERENCE
]

Numbers = dict[str, float | None]


def _spec(design: str, inference: str, weights: str | None, draws: int = DRAWS) -> DidSpec:
    return DidSpec(design=design, inference=inference, draws=draws, seed=SEED,
                   bootstrap_weights=weights)


def _run(frame: pd.DataFrame, design: str, inference: str, weights: str | None,
         **panel_options: object) -> object:
    return estimate_did(to_panel(frame, **panel_options),  # type: ignore[arg-type]
                        _spec(design, inference, weights))


@cache
def _base(name: str, design: str, inference: str, weights: str | None) -> object:
    return _run(FRAMES[name][0], design, inference, weights)


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


def _scaled(numbers: Numbers, c: float) -> Numbers:
    """What ``numbers`` become when the outcome is multiplied by c."""
    out: Numbers = {}
    for key, value in numbers.items():
        field = key.rsplit(".", 1)[-1]
        if value is None or field == "p_value":
            out[key] = value
        elif field == "se":
            out[key] = abs(c) * value
        elif field in ("ci_low", "ci_high") and c < 0:
            other = key[: -len(field)] + ("ci_high" if field == "ci_low" else "ci_low")
            out[key] = c * numbers[other]  # type: ignore[operator]
        else:
            out[key] = c * value
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


def test_cases_cover_exact_and_sampled_inference() -> None:
    """The panels above exercise both enumerated and sampled draws (see FRAMES)."""
    def details(name: str, inference: str, weights: str | None = None) -> dict[str, object]:
        return _base(name, "twfe", inference, weights).estimate.inference.details

    assert details("common", "randomization")["exact"] is True
    assert details("staggered", "randomization")["exact"] is False
    assert details("small", "randomization")["exact"] is True
    assert details("common", "wild-bootstrap", "rademacher")["enumerated"] is False
    assert details("small", "wild-bootstrap", "rademacher")["enumerated"] is True
    assert details("small", "wild-bootstrap", "webb")["enumerated"] is False
    assert _base("small", "twfe", "auto", None).estimate.inference.method == "randomization"


# --------------------------------------------------------------------------- outcome


@pytest.mark.parametrize(("name", "design", "inference", "weights"), CASES)
def test_adding_a_constant_changes_nothing(name: str, design: str, inference: str,
                                           weights: str | None) -> None:
    frame = FRAMES[name][0]
    base = _numbers(_base(name, design, inference, weights))
    shifted = _run(frame.assign(y=frame["y"] + 1000.0), design, inference, weights)
    _assert_close(_numbers(shifted), base)


@pytest.mark.parametrize("c", [10.0, -0.5])
@pytest.mark.parametrize(("name", "design", "inference", "weights"), CASES)
def test_scaling_the_outcome_scales_effects_and_keeps_p(name: str, design: str,
                                                       inference: str, weights: str | None,
                                                       c: float) -> None:
    frame = FRAMES[name][0]
    base = _numbers(_base(name, design, inference, weights))
    scaled = _run(frame.assign(y=frame["y"] * c), design, inference, weights)
    _assert_close(_numbers(scaled), _scaled(base, c))


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


# --------------------------------------------------------------------------- rows and names


@pytest.mark.parametrize(("name", "design", "inference", "weights"), CASES)
def test_shuffling_rows_changes_nothing(name: str, design: str, inference: str,
                                        weights: str | None) -> None:
    frame = FRAMES[name][0]
    shuffled = frame.sample(frac=1.0, random_state=3)
    result = _run(shuffled, design, inference, weights)
    assert result.to_json() == _base(name, design, inference, weights).to_json()


def _renamings(areas: list[str]) -> dict[str, Callable[[str], object]]:
    """Three renamings: keeping the sort order, reversing it, and random whole numbers."""
    n = len(areas)
    reverse = {a: f"area {n - i:02d}" for i, a in enumerate(sorted(areas))}
    numbers = dict(zip(sorted(areas), np.random.default_rng(1).permutation(n) + 1,
                       strict=True))
    return {
        "same order": lambda a: f"LA-{a}",
        "reversed": reverse.__getitem__,
        "shuffled integers": lambda a: int(numbers[a]),
    }


@pytest.mark.parametrize("renaming", ["same order", "reversed", "shuffled integers"])
@pytest.mark.parametrize(("name", "design", "inference", "weights"), CASES)
def test_renaming_areas_changes_nothing(name: str, design: str, inference: str,
                                        weights: str | None, renaming: str) -> None:
    frame = FRAMES[name][0]
    rename = _renamings(sorted(frame["area"].unique()))[renaming]
    renamed = frame.assign(area=frame["area"].map(rename))
    base = _base(name, design, inference, weights)
    result = _run(renamed, design, inference, weights)
    assert len(result.treated_units) == len(base.treated_units)
    assert sorted(result.treated_units) == sorted(str(rename(a)) for a in base.treated_units)
    if renaming == "same order":
        assert _numbers(result) == _numbers(base)  # nothing can differ, not even rounding
    else:
        _assert_close(_numbers(result), _numbers(base))


@pytest.mark.parametrize("inference", ["randomization", "wild-bootstrap"])
@pytest.mark.parametrize("design", ["2x2", "twfe"])
def test_renaming_areas_with_whole_number_outcome(design: str, inference: str) -> None:
    """Counts (whole numbers) over few periods make many areas' outcome spreads equal, so any
    data-derived order of the areas has ties; sampled inference (C(40, 4) = 91,390
    assignments, 2^40 sign vectors) must still not depend on the areas' names."""
    frame = simulate_panel(n_units=40, n_periods=4, n_treated=4, start=2, effect=1.0, seed=8)
    frame = frame.assign(y=frame["y"].round())
    rename = _renamings(sorted(frame["area"].unique()))["reversed"]
    spec = _spec(design, inference, None, draws=999)
    base = estimate_did(to_panel(frame), spec)
    renamed = estimate_did(to_panel(frame.assign(area=frame["area"].map(rename))), spec)
    _assert_close(_numbers(renamed), _numbers(base))
