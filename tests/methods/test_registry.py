"""The method registry: one record per method, and everything that derives from it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from lpip_eval.errors import EXIT_USAGE, UsageError
from lpip_eval.methods import specs
from lpip_eval.methods.registry import (
    METHODS,
    build_options,
    flag_of,
    iter_designs,
    method_keys,
    method_titles,
)
from lpip_eval.report.words import METHOD_NAMES

ROOT = Path(__file__).resolve().parents[2]


def test_schema_method_enum_is_the_registry() -> None:
    """The published file names no methods; result_schema() adds them from the registry, so a
    new Method record needs no schema edit."""
    from lpip_eval.methods.registry import result_schema

    published = json.loads((ROOT / "lpip_eval" / "results" / "schema" / "result.schema.json")
                           .read_text(encoding="utf-8"))
    assert "enum" not in published["properties"]["method"]
    assert result_schema()["properties"]["method"]["enum"] == list(METHODS)


def test_a_new_method_is_in_the_schema_and_rated_by_its_own_rule(monkeypatch) -> None:
    """Adding a Method record is enough for the schema enum and the evidence rating."""
    import dataclasses

    from lpip_eval.methods import registry

    def rule(result: dict, reasons: list[str]) -> int:
        reasons.append("regression discontinuity at the boundary: level 4.")
        return 4

    new = dataclasses.replace(registry.METHODS["did"], name="rdd", evidence=rule)
    monkeypatch.setitem(registry.METHODS, "rdd", new)
    assert "rdd" in registry.result_schema()["properties"]["method"]["enum"]
    rating = registry.rate_evidence({"method": "rdd", "design": "sharp",
                                     "treated_units": list("abcdefghijk"),
                                     "estimate": {"inference": {"method": "cluster"}}})
    assert rating["level"] == 4 and rating["reasons"][0].startswith("regression")
    unknown = registry.rate_evidence({"method": "rdd2", "treated_units": list("abcdefghijk"),
                                      "estimate": {"inference": {"method": "cluster"}}})
    assert unknown["level"] == 2 and "Unrecognised method 'rdd2'" in unknown["reasons"][0]


def test_report_names_are_the_registry_titles() -> None:
    assert method_titles() == METHOD_NAMES
    assert METHOD_NAMES["did"] == "difference-in-differences"
    assert METHOD_NAMES["match"] == "matched comparison areas"


def test_iter_designs_covers_every_design_with_a_checked_spec() -> None:
    seen = {(m.name, d) for m, d, _ in iter_designs()}
    assert {("did", "twfe"), ("did", "event-study"), ("synth", "sdid"),
            ("match", "nnmatch")} <= seen
    for m, design, spec_cls in iter_designs():
        assert dataclasses.is_dataclass(spec_cls)
        assert set(method_keys(m.name, design)) >= {f.name for f in dataclasses.fields(spec_cls)}
        for f in dataclasses.fields(spec_cls):
            assert f.metadata.get("help"), f"{spec_cls.__name__}.{f.name} has no help"


def test_one_default_seed() -> None:
    seeds = {f.default for _, _, cls in iter_designs() for f in dataclasses.fields(cls)
             if f.name == "seed"}
    assert seeds == {specs.DEFAULT_SEED}


def test_panel_columns_name_the_roles_a_design_needs() -> None:
    synth = METHODS["synth"]
    spec = build_options("synth", {"predictors": ["x:1980-1988", "y"]}, where="t")
    assert synth.panel_columns(spec) == {"covariates": ("x", "y")}
    match = METHODS["match"].panel_columns({"match_on": ("a",), "exact": ("region",)})
    assert match == {"covariates": ("a",), "categoricals": ("region",)}
    assert METHODS["did"].panel_columns(specs.DidSpec()) == {}


@pytest.mark.parametrize(("method", "options", "words"), [
    ("did", {"draws": -5}, "'draws': must be at least 19, got -5"),
    ("did", {"draws": 1}, "'draws': must be at least 19, got 1"),
    ("did", {"draws": 200_000_000}, "'draws': must be at most 100000"),
    ("did", {"seed": -1}, "'seed': must be at least 0, got -1"),
    ("did", {"ci_level": 1.5}, "'ci_level': 1.5 is not between 0 and 1"),
    ("did", {"design": "tfwe"}, "unknown design 'tfwe'"),
    ("did", {"inference": "bootstrap"}, "'inference': cannot be 'bootstrap'"),
    ("did", {"draws": "many"}, "'draws': expected integer"),
    ("did", {"drawz": 99}, "unknown option 'drawz'"),
    ("synth", {"predictors": ["x:eighties"]}, "is not a period"),
    ("synth", {"design": "sdid", "draws": 5}, "'placebo_reps': must be at least 19"),
    ("match", {"design": "nnmatch", "caliper": 0.5}, "'caliper': is not used with design"),
    ("match", {"distance": "euclidean"}, "only used with design \"nnmatch\""),
])
def test_bad_options_are_usage_errors(method: str, options: dict[str, object],
                                      words: str) -> None:
    with pytest.raises(UsageError) as info:
        build_options(method, options, where="evaluation.toml [x]")
    assert info.value.exit_code == EXIT_USAGE
    assert words in str(info.value)


def test_messages_name_the_callers_words() -> None:
    with pytest.raises(UsageError, match=r"^--draws: must be at least 19"):
        build_options("did", {"draws": 3}, where=lambda key: flag_of(specs.DidSpec, key))
    with pytest.raises(UsageError, match=r"^--outcome-level: expected true/false"):
        build_options("match", {"use_outcome_level": 3},
                      where=lambda key: flag_of(specs.MatchSpec, key))
