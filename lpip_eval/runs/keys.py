"""The keys of evaluation.toml: which tables exist, their keys and types, and defaults.

Method tables take their keys from the methods' spec dataclasses (``registry.spec_keys``), so
a new spec field is a new config key; ``[data]`` takes the PanelSpec fields.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import typing
from pathlib import Path
from typing import Any, Literal

# Method -> design -> "module:SpecClass". A method with several designs gets a `design` key
# choosing among them (the first is the default); otherwise the spec's own fields are used.
METHOD_SPECS: dict[str, dict[str, str]] = {
    "did": {"": "lpip_eval.methods.did:DidSpec"},
    "synth": {"classic": "lpip_eval.methods.synth.classic:SynthSpec",
              "sdid": "lpip_eval.methods.synth.sdid:SdidSpec"},
    "match": {"": "lpip_eval.methods.match.areas:MatchSpec"},
}
# Design options naming columns that must be loaded into the panel in a [data] role, as the
# CLI does (``match --match-on`` columns are covariates, ``--exact`` columns categoricals).
PANEL_COLUMNS: dict[tuple[str, str], str] = {("match", "match_on"): "covariates",
                                             ("match", "exact"): "categoricals"}
DATA_RENAMED = {"data": "file"}  # PanelSpec field -> config key
DATA_EXCLUDED = ("outcome",)  # given per [[outcome]]
OUTPUT_DEFAULTS: dict[str, Any] = {"dir": "lpip-eval-output", "json": True,
                                   "report": "report.html", "eml": None,
                                   "markdown": "summary.md", "title": None}
TOP_LEVEL = ("title", "data", "outcome", "run", *METHOD_SPECS, "output", "gates")

# Keys of the fixed tables and their types (method tables come from the spec classes).
OUTCOME_KEYS: dict[str, Any] = {"column": str, "label": str, "unit": str}
RUN_KEYS: dict[str, Any] = {"seed": int, "draws": int, "ci_level": float, "workers": int}
OUTPUT_KEYS: dict[str, Any] = {"dir": str, "json": bool, "report": str | bool,
                               "eml": str | bool, "markdown": str | bool, "title": str}
GATES_KEYS: dict[str, Any] = {"fail_on": tuple[str, ...]}


def spec_class(method: str, design: str = "") -> type:
    """The spec dataclass of ``method`` (and ``design``, for methods with several)."""
    module, name = METHOD_SPECS[method][design].split(":")
    cls: type = getattr(importlib.import_module(module), name)
    return cls


def method_keys(method: str, design: str | None = None) -> dict[str, Any]:
    """Config keys of a design table and their types: the spec fields (of every design, or
    of ``design`` only), plus ``design`` when the method has several spec classes."""
    from lpip_eval.methods.registry import spec_keys

    designs = METHOD_SPECS[method]
    keys: dict[str, Any] = {}
    if "" not in designs:
        keys["design"] = Literal[tuple(designs)]
    for name in designs:
        if design is None or name == design:
            for key, annotation in spec_keys(spec_class(method, name)).items():
                keys.setdefault(key, annotation)
    return keys


def method_defaults(method: str) -> dict[str, Any]:
    """Default value of every key of a design table (first design wins on shared keys)."""
    defaults: dict[str, Any] = {}
    designs = METHOD_SPECS[method]
    if "" not in designs:
        defaults["design"] = next(iter(designs))
    for name in designs:
        for f in dataclasses.fields(spec_class(method, name)):
            if f.default is not dataclasses.MISSING:
                defaults.setdefault(f.name, f.default)
            elif f.default_factory is not dataclasses.MISSING:
                defaults.setdefault(f.name, f.default_factory())
    return defaults


def data_keys() -> dict[str, Any]:
    """``[data]`` keys (PanelSpec fields but ``outcome``; ``data`` is ``file``), paths as text."""
    from lpip_eval.data.panel import PanelSpec
    from lpip_eval.methods.registry import spec_keys

    keys: dict[str, Any] = {}
    for name, annotation in spec_keys(PanelSpec).items():
        if name in DATA_EXCLUDED:
            continue
        keys[DATA_RENAMED.get(name, name)] = _paths_as_text(annotation)
    return keys


def data_defaults() -> dict[str, Any]:
    from lpip_eval.data.panel import PanelSpec

    return {DATA_RENAMED.get(f.name, f.name): f.default for f in dataclasses.fields(PanelSpec)
            if f.name not in DATA_EXCLUDED and f.default is not dataclasses.MISSING}


def _paths_as_text(annotation: Any) -> Any:
    if annotation is Path:
        return str
    args = typing.get_args(annotation)
    if Path in args:
        return str | None if type(None) in args else str
    return annotation


def table_keys() -> dict[str, dict[str, Any]]:
    """Every table's keys and types (method tables: the union over their designs)."""
    tables: dict[str, dict[str, Any]] = {"": {"title": str}, "data": data_keys(),
                                         "outcome": OUTCOME_KEYS, "run": RUN_KEYS}
    for method in METHOD_SPECS:
        tables[method] = method_keys(method)
    tables.update({"output": OUTPUT_KEYS, "gates": GATES_KEYS})
    return tables


def file_stem(outcome: str) -> str:
    """An outcome column name as a safe file-name part (letters, digits, . _ - kept)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", outcome).strip("._") or "outcome"
