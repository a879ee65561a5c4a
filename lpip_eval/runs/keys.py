"""The keys of evaluation.toml: which tables exist, their keys and types, and defaults.

Method tables take their keys from the registry's designs (``registry.method_keys``: the spec
dataclasses' fields and ``design``), so a new spec field is a new config key; ``[data]`` takes
the PanelSpec fields.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path
from typing import Any

from lpip_eval.methods.registry import METHODS, method_keys, spec_keys

DATA_RENAMED = {"data": "file"}  # PanelSpec field -> config key
DATA_EXCLUDED = ("outcome",)  # given per [[outcome]]
OUTPUT_DEFAULTS: dict[str, Any] = {"dir": "lpip-eval-output", "json": True,
                                   "report": "report.html", "eml": None,
                                   "markdown": "summary.md", "title": None}
TOP_LEVEL = ("title", "data", "outcome", "run", *METHODS, "output", "gates")

# Keys of the fixed tables and their types (method tables come from the spec classes).
OUTCOME_KEYS: dict[str, Any] = {"column": str, "label": str, "unit": str}
RUN_KEYS: dict[str, Any] = {"seed": int, "draws": int, "ci_level": float, "workers": int}
OUTPUT_KEYS: dict[str, Any] = {"dir": str, "json": bool, "report": str | bool,
                               "eml": str | bool, "markdown": str | bool, "title": str}
GATES_KEYS: dict[str, Any] = {"fail_on": tuple[str, ...]}


def data_keys() -> dict[str, Any]:
    """``[data]`` keys (PanelSpec fields but ``outcome``; ``data`` is ``file``), paths as text."""
    from lpip_eval.data.panel import PanelSpec

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
    for method in METHODS:
        tables[method] = method_keys(method)
    tables.update({"output": OUTPUT_KEYS, "gates": GATES_KEYS})
    return tables


def file_stem(outcome: str) -> str:
    """An outcome column name as a safe file-name part (letters, digits, . _ - kept)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", outcome).strip("._") or "outcome"
