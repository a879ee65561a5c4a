"""The contract every registered method and design meets (issue 9; architecture review §5).

Modelled on scikit-learn's ``parametrize_with_checks``: each ``test_*`` check below is applied to
every (method, design) the registry lists (:func:`_designs`), in each inference variant the
design offers and on each simulated data fixture it accepts:

* ``test_json``: the result's JSON is valid against the published schema, holds no NaN or
  infinity, and survives a round trip through its text;
* ``test_same_seed``: the same seed gives byte-identical JSON in a fresh run, and with two
  workers where the design has a ``workers`` option;
* ``test_shuffled_rows``: shuffling the input rows changes nothing (byte-identical JSON);
* ``test_renamed``: a bijective renaming of the areas (keeping their sort order, reversing
  it, random whole numbers) renames them consistently and changes no number;
* ``test_added_constant``: adding a constant to the outcome changes no number;
* ``test_scaled``: multiplying the outcome by c multiplies effects, standard errors and
  intervals by c (|c| for SEs, the interval's ends swap when c < 0) and keeps p-values and
  weights;
* ``test_not_mutated``: the panel passed in is the same, array for array, afterwards;
* ``test_bad_input``: bad input raises an ``LpipEvalError`` subclass (one-line message, exit
  code), never a raw exception; inputs that may legitimately run must then give valid JSON.

Sampled inference (randomization, wild bootstrap, placebo sets) must tie its draws to a
data-derived order of the areas, so the invariances hold for it too. Expected values are the
base run's own numbers transformed by the invariance, so the tolerance is numerical: 1e-7
relative to the quantity or the interval width (p-values and weights: absolute).

Unit-level matching (``match`` design ``nnmatch``) reads one row per unit, not a panel: it runs
on a simulated cross-section of its own (a CSV file named by a ``PanelSpec``, as the registry's
unit-level designs load it), with the unit ids as the "areas", in its one inference variant.
One bad input does not apply to it: "start after the last period" (a cross-section has no
periods). Options go through the registry (``registry.estimate``) for every design, so an
unknown key, a value of the wrong type or out of range (a negative seed included) is a
usage error everywhere.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from schema_check import assert_finite, assert_valid
from simulate import simulate_panel, to_panel

from lpip_eval.data.spec import PanelSpec
from lpip_eval.errors import LpipEvalError
from lpip_eval.methods import registry
from lpip_eval.methods.linear.inference import INFERENCE_METHODS
from lpip_eval.results.result import EffectResult

SEED = 11
DRAWS = 99
RTOL = 1e-7


# --------------------------------------------------------------------------- the registry


@dataclasses.dataclass(frozen=True)
class Design:
    """One design of a registered method, as the contract sees it."""

    method: str
    design: str
    spec: type  # the spec dataclass: its fields say which options apply
    data: str = "areas"  # "areas" (a panel) or "units" (one row per unit)
    staggered: bool = False  # accepts pilots starting at different times

    @property
    def options(self) -> frozenset[str]:
        return frozenset(registry.spec_keys(self.spec))


def _designs() -> Iterator[Design]:
    """Every (method, design) of the registry's ``Method`` records, with its spec class; a
    design that ``loads`` units (one row per unit) runs on the unit-level fixture."""
    for m, name, spec in registry.iter_designs():
        loads = m.designs[name].loads
        yield Design(m.name, name, spec, data="units" if loads == "units" else "areas",
                     staggered=m.designs[name].staggered)


@dataclasses.dataclass(frozen=True)
class Case:
    """A design in one inference variant on one data fixture."""

    design: Design
    variant: tuple[tuple[str, Any], ...]
    fixture: str

    @property
    def id(self) -> str:
        variant = "-".join(str(v) for _, v in self.variant)
        return "-".join(p for p in (self.design.method, self.design.design, variant,
                                    self.fixture) if p)

    def options(self, **extra: Any) -> dict[str, Any]:
        d = self.design
        base: dict[str, Any] = {"design": d.design, "draws": DRAWS, "seed": SEED}
        if d.data == "units":
            base = {"design": d.design, "match_on": ("x1", "x2"), "bias_adjust": True}
        return {**base, **dict(self.variant), **extra}


def _variants(design: Design) -> list[tuple[tuple[str, Any], ...]]:
    """The inference variants of a design: each method of the linear-design inference for
    area specs with a free-text ``inference`` option (both bootstrap weights where selectable);
    unit-level matching has its own standard error only."""
    hints = registry.spec_keys(design.spec)
    if hints.get("inference") is not str or design.data == "units":
        return [()]
    out: list[tuple[tuple[str, Any], ...]] = []
    record = registry.METHODS[design.method].designs[design.design]
    field = registry.field_of(design.spec, "inference")
    methods = record.inference or (field.metadata["choices"] if field else INFERENCE_METHODS)
    for method in methods:
        if method == "wild-bootstrap" and "bootstrap_weights" in hints:
            out += [(("inference", method), ("bootstrap_weights", w))
                    for w in ("rademacher", "webb")]
        else:
            out.append((("inference", method),))
    return out


def _cases() -> list[Case]:
    out = []
    for design in _designs():
        fixtures = ["units"] if design.data == "units" else ["common", "small"]
        if design.method == "did":  # sampled randomization draws (too slow for match's
            fixtures.append("many")  # placebo pilot sets: ~0.5 s a run)
        if design.staggered:
            fixtures.append("staggered")
        out += [Case(design, variant, fixture)
                for fixture in fixtures for variant in _variants(design)]
    return out


CASES = [pytest.param(case, id=case.id) for case in _cases()]
DESIGN_CASES = [pytest.param(case, id=case.id) for case in _cases()
                if case.fixture in ("common", "units") and case.variant == _variants(
                    case.design)[0]]


# --------------------------------------------------------------------------- data


@cache
def _fixture(name: str) -> pd.DataFrame:
    """Simulated data. "common": 2 pilots of 16 areas, one start (randomization inference
    enumerates C(16, 2) = 120 assignments, the wild bootstrap samples 99 of 2^16 sign
    vectors, synthetic control samples placebo sets); "small": 2 of 6 (sign vectors
    enumerated too: 64); "many": 3 of 34 (randomization inference samples 99 of
    C(34, 3) = 5,984 assignments, beyond the enumeration limit of 5,000); "staggered": 4 of
    20 with two starts (timings permuted); "units": 60 people, 20 treated, two matching
    variables."""
    if name == "many":
        return simulate_panel(n_units=34, n_periods=8, n_treated=3, start=5, effect=1.0,
                              seed=4)
    if name == "common":
        return simulate_panel(n_units=16, n_periods=10, n_treated=2, start=6, effect=1.0,
                              seed=3)
    if name == "small":
        return simulate_panel(n_units=6, n_periods=10, n_treated=2, start=6, effect=1.0,
                              seed=6)
    if name == "staggered":
        return simulate_panel(n_units=20, n_treated=4, start=[5, 5, 8, 8], effect=1.0, seed=5)
    rng = np.random.default_rng(9)
    n = 60
    x = rng.normal(size=(n, 2))
    treated = (np.arange(n) < 20).astype(np.int64)
    x[treated == 1, 0] += 0.5
    return pd.DataFrame({"id": [f"U{i:02d}" for i in range(n)], "treated": treated,
                         "x1": x[:, 0], "x2": x[:, 1],
                         "y": 1 + x[:, 0] + 0.5 * x[:, 1] + 2 * treated + rng.normal(size=n)})


def _unit_col(case: Case) -> str:
    return "id" if case.design.data == "units" else "area"


def _pilots(case: Case, frame: pd.DataFrame) -> pd.Series:
    return frame["treated"] == 1 if case.design.data == "units" else frame["first_treated"] > 0


@pytest.fixture(scope="module", autouse=True)
def _unit_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A folder for the unit-level files (unit-level matching reads a file)."""
    _DIRS["units"] = tmp_path_factory.mktemp("units")
    yield


_DIRS: dict[str, Path] = {}


def _load(case: Case, frame: pd.DataFrame, options: dict[str, Any]) -> Any:
    """What the estimator takes: a Panel, or a PanelSpec naming a CSV file of units."""
    if case.design.data == "areas":
        return to_panel(frame)
    text = frame.to_csv(index=False)
    path = _DIRS["units"] / hashlib.sha256(text.encode()).hexdigest()[:16] / "units.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return PanelSpec(data=path, area_col="id", treated_col="treated", outcome="y")


def _estimate(case: Case, data: Any, options: dict[str, Any]) -> EffectResult:
    return registry.estimate(case.design.method, data, options)  # type: ignore[no-any-return]


def _run(case: Case, frame: pd.DataFrame | None = None, **extra: Any) -> EffectResult:
    frame = _fixture(case.fixture) if frame is None else frame
    options = case.options(**extra)
    return _estimate(case, _load(case, frame, options), options)


@cache
def _base(case: Case) -> EffectResult:
    return _run(case)


# --------------------------------------------------------------------------- known failures

# Checks a design fails today (scikit-learn's ``_xfail_checks``): strict, so a fix makes them
# fail until the entry is removed. Test id -> why.
KNOWN_FAILURES: dict[str, str] = {}  # none today


@pytest.fixture(autouse=True)
def _known_failure(request: pytest.FixtureRequest) -> None:
    reason = KNOWN_FAILURES.get(request.node.name)
    if reason is not None:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


# --------------------------------------------------------------------------- numbers

Numbers = dict[str, float | None]


def _numbers(result: EffectResult, name: Callable[[str], str] = str) -> Numbers:
    """Every estimated number: headline, per-period effects, pre-trend p-value, weights
    (keyed by the area's name after ``name``)."""
    est = result.estimate
    out: Numbers = {"att": est.att, "se": est.se, "ci_low": est.ci_low,
                    "ci_high": est.ci_high, "p_value": est.p_value}
    for e in result.effects_by_period:
        for key in ("att", "se", "ci_low", "ci_high"):
            out[f"{e.period}.{key}"] = getattr(e, key)
    pre = result.diagnostics.get("pretrend_test")
    if pre is not None:
        out["pretrend.p_value"] = pre["p_value"]
    for unit, weight in result.weights:
        out[f"{name(unit)}.weight"] = weight
    return out


def _scaled(numbers: Numbers, c: float) -> Numbers:
    """What ``numbers`` become when the outcome is multiplied by c."""
    out: Numbers = {}
    for key, value in numbers.items():
        field = key.rsplit(".", 1)[-1]
        if value is None or field in ("p_value", "weight"):
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
    low, high = expected["ci_low"], expected["ci_high"]
    width = abs(high - low) if low is not None and high is not None and \
        math.isfinite(high - low) else 0.0
    bad = []
    for key, want in expected.items():
        got = actual[key]
        if want is None or got is None or not (math.isfinite(want) and math.isfinite(got)):
            if not (got == want or (got is not None and want is not None
                                    and math.isnan(got) and math.isnan(want))):
                bad.append((key, got, want))
            continue
        absolute = key.endswith(("p_value", "weight"))
        scale = 1.0 if absolute else max(abs(want), width, 1e-300)
        if abs(got - want) > rtol * scale:
            bad.append((key, got, want))
    assert not bad, bad


# --------------------------------------------------------------------------- checks


@pytest.mark.parametrize("case", CASES)
def test_json(case: Case) -> None:
    result = _base(case)
    document = result.to_dict()
    assert_valid(document)
    assert_finite(document)
    text = result.to_json()
    assert json.loads(text) == document and text.endswith("\n")
    assert document["method"] == case.design.method
    assert set(document["treated_units"]).isdisjoint(document["comparison_units"])
    est = document["estimate"]
    assert 0 <= est["p_value"] <= 1
    if est["ci_low"] is not None and est["ci_high"] is not None:
        assert est["ci_low"] <= est["att"] <= est["ci_high"]
    for key in ("se", "ci_low", "ci_high"):  # a number that cannot be had is null, and says so
        if est[key] is None:
            assert any(w.startswith(f"estimate.{key} is null") for w in document["warnings"])
    for name, value in case.variant:
        if name == "inference" and value != "auto":
            assert est["inference"]["method"] == value


@pytest.mark.parametrize("case", CASES)
def test_same_seed(case: Case) -> None:
    first = _base(case).to_json().encode("utf-8")
    assert _run(case).to_json().encode("utf-8") == first  # a fresh run
    if "workers" in case.design.options and case.fixture == "common":
        assert _run(case, workers=2).to_json().encode("utf-8") == first


@pytest.mark.parametrize("case", CASES)
def test_shuffled_rows(case: Case) -> None:
    shuffled = _fixture(case.fixture).sample(frac=1.0, random_state=3)
    result, base = _run(case, shuffled), _base(case)
    if case.design.data == "areas":
        assert result.to_json() == base.to_json()
        return
    # Unit-level results list the units in the order of the file's rows.
    for field in ("treated_units", "comparison_units"):
        assert sorted(getattr(result, field)) == sorted(getattr(base, field)), field
    _assert_close(_numbers(result), _numbers(base))


def _renamings(names: list[str]) -> dict[str, Callable[[str], object]]:
    """Three bijections: keeping the sort order, reversing it, and random whole numbers."""
    n = len(names)
    reverse = {a: f"area {n - i:02d}" for i, a in enumerate(sorted(names))}
    numbers = dict(zip(sorted(names), np.random.default_rng(1).permutation(n) + 1,
                       strict=True))
    return {"same order": lambda a: f"LA-{a}", "reversed": reverse.__getitem__,
            "shuffled integers": lambda a: int(numbers[a])}


@pytest.mark.parametrize("renaming", ["same order", "reversed", "shuffled integers"])
@pytest.mark.parametrize("case", CASES)
def test_renamed(case: Case, renaming: str) -> None:
    frame, col = _fixture(case.fixture), _unit_col(case)
    rename = _renamings(sorted(frame[col].unique()))[renaming]
    result = _run(case, frame.assign(**{col: frame[col].map(rename)}))
    base = _base(case)

    def new(a: str) -> str:
        return str(rename(a))

    for field in ("treated_units", "comparison_units"):
        assert sorted(getattr(result, field)) == sorted(map(new, getattr(base, field))), field
    if renaming == "same order":
        assert _numbers(result) == _numbers(base, new)  # not even rounding may differ
    else:
        _assert_close(_numbers(result), _numbers(base, new))


@pytest.mark.parametrize("case", CASES)
def test_added_constant(case: Case) -> None:
    frame = _fixture(case.fixture)
    shifted = _run(case, frame.assign(y=frame["y"] + 1000.0))
    _assert_close(_numbers(shifted), _numbers(_base(case)))


@pytest.mark.parametrize("c", [10.0, -0.5])
@pytest.mark.parametrize("case", CASES)
def test_scaled(case: Case, c: float) -> None:
    frame = _fixture(case.fixture)
    scaled = _run(case, frame.assign(y=frame["y"] * c))
    _assert_close(_numbers(scaled), _scaled(_numbers(_base(case)), c))


def _same(a: Any, b: Any) -> bool:
    """Deep equality of panel contents: arrays by dtype and value (NaN equal to NaN)."""
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and \
            bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, pd.DataFrame | pd.Series):
        return type(a) is type(b) and a.equals(b)
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(
            _same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k])
                                                                    for k in a)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return bool(a == b)


@pytest.mark.parametrize("case", CASES)
def test_not_mutated(case: Case) -> None:
    options = case.options()
    data = _load(case, _fixture(case.fixture), options)
    before = copy.deepcopy(data)
    _estimate(case, data, options)
    assert _same(data, before)


# Bad inputs: name -> (frame, options) -> (frame, options). MUST raise an LpipEvalError;
# MAY_RUN inputs are edge cases a method may estimate, but then with valid JSON.
BadInput = Callable[[Case, pd.DataFrame], tuple[pd.DataFrame, dict[str, Any]]]


def _pilot_outcome_missing(case: Case, f: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    return f.assign(y=f["y"].where(~_pilots(case, f))), {}


def _no_comparison(case: Case, f: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    if case.design.data == "units":
        return f.assign(treated=1), {}
    start = int(f.loc[f["first_treated"] > 0, "first_treated"].min())
    return f.assign(first_treated=start), {}


def _start_after_last(case: Case, f: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    return f.assign(first_treated=f["first_treated"].where(
        f["first_treated"] == 0, int(f["period"].max()) + 5)), {}


def _one_comparison(case: Case, f: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    col = _unit_col(case)
    keep = set(f.loc[_pilots(case, f), col]) | {f.loc[~_pilots(case, f), col].iloc[0]}
    return f[f[col].isin(keep)], {}


def _options(**options: Any) -> BadInput:
    return lambda case, f: (f, options)


MUST_RAISE: dict[str, BadInput] = {
    "pilot outcome all missing": _pilot_outcome_missing,
    "no comparison areas": _no_comparison,
    "start after the last period": _start_after_last,
    "unknown design": _options(design="no-such-design"),
    "unknown option": _options(no_such_option=1),
    "ci_level out of range": _options(ci_level=1.5),
    "ci_level as text": _options(ci_level="0.95"),
    "negative seed": _options(seed=-1),
}
MAY_RUN: dict[str, BadInput] = {
    "one comparison area": _one_comparison,
    "constant outcome": lambda case, f: (f.assign(y=1.0), {}),
}
NOT_FOR_UNITS = {"start after the last period"}  # a cross-section has no periods
BAD_CASES = [pytest.param(case, name, id=f"{case.id}-{name}") for case in
             (p.values[0] for p in DESIGN_CASES) for name in [*MUST_RAISE, *MAY_RUN]
             if not (case.design.data == "units" and name in NOT_FOR_UNITS)]


@pytest.mark.parametrize(("case", "bad"), BAD_CASES)
def test_bad_input(case: Case, bad: str) -> None:
    frame, extra = {**MUST_RAISE, **MAY_RUN}[bad](case, _fixture(case.fixture))
    try:
        result = _run(case, frame, **extra)
    except LpipEvalError as exc:
        assert exc.message and "\n" not in exc.message
        return
    assert bad in MAY_RUN, f"{bad}: no error raised"
    assert_valid(result.to_dict())


def test_fixtures_cover_exact_and_sampled_draws() -> None:
    """The fixtures exercise both enumerated and sampled draws (see ``_fixture``)."""
    did = next(d for d in _designs() if d.method == "did" and d.design == "twfe")

    def details(fixture: str, *variant: tuple[str, Any]) -> dict[str, Any]:
        return _base(Case(did, tuple(variant), fixture)).estimate.inference.details

    ri, rademacher = ("inference", "randomization"), ("bootstrap_weights", "rademacher")
    wild = ("inference", "wild-bootstrap")
    assert details("common", ri)["exact"] is True
    assert details("many", ri)["exact"] is False
    assert details("staggered", ri)["exact"] is False
    assert details("common", wild, rademacher)["enumerated"] is False
    assert details("small", wild, rademacher)["enumerated"] is True
    assert details("small", wild, ("bootstrap_weights", "webb"))["enumerated"] is False


def test_every_registered_design_is_checked() -> None:
    ids = {(c.design.method, c.design.design) for c in _cases()}
    assert {"did", "synth", "match"} <= {m for m, _ in ids}
    assert {("did", "2x2"), ("did", "twfe"), ("did", "event-study"), ("synth", "classic"),
            ("synth", "sdid"), ("match", "twfe"), ("match", "2x2"),
            ("match", "nnmatch")} <= ids
