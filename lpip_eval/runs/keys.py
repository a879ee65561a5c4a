"""The keys of evaluation.toml: which tables exist, their keys, types, defaults and meaning.

Method tables take their keys from the registry's designs (``registry.method_keys``: the spec
dataclasses' fields and ``design``), so a new spec field is a new config key; ``[data]`` takes
the PanelSpec fields. What a key means and its command-line option come from the same place:
the spec fields' metadata (:func:`key_help`, :func:`cli_option`), and for the fixed tables
(top level, ``[[outcome]]``, ``[run]``, ``[output]``, ``[gates]``) the tables below. The
starter config and ``docs/config.md`` read them; nothing here imports the CLI.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path
from typing import Any, Literal

from lpip_eval.data.spec import PanelSpec
from lpip_eval.methods.power.spec import PlanSpec
from lpip_eval.methods.registry import (
    METHODS,
    field_of,
    method_defaults,
    method_keys,
    option_help,
    spec_keys,
)

DATA_RENAMED = {"data": "file"}  # PanelSpec field -> config key
DATA_EXCLUDED = ("outcome",)  # given per [[outcome]]
OUTPUT_DEFAULTS: dict[str, Any] = {"dir": "lpip-eval-output", "json": True,
                                   "report": "report.html", "eml": None,
                                   "markdown": "summary.md", "title": None}
TOP_LEVEL = ("title", "data", "outcome", "run", *METHODS, "plan", "output", "gates")
PLAN_TABLE = "plan"  # its keys: the PlanSpec fields (methods/power/spec.py)

# Keys of the fixed tables and their types (method tables come from the spec classes).
OUTCOME_KEYS: dict[str, Any] = {"column": str, "label": str, "unit": str,
                                 "scale": Literal["level", "log"]}
RUN_KEYS: dict[str, Any] = {"seed": int, "draws": int, "ci_level": float, "workers": int,
                            "backend": str, "scheduler": str}
OUTPUT_KEYS: dict[str, Any] = {"dir": str, "json": bool, "report": str | bool,
                               "eml": str | bool, "markdown": str | bool, "title": str}
GATES_KEYS: dict[str, Any] = {"fail_on": tuple[str, ...]}

# What the fixed tables' keys mean (method and [data] keys: their fields' metadata).
FIXED_HELP: dict[tuple[str, str], str] = {
    ("", "title"): "Title of the evaluation, the reports and the Markdown summary.",
    ("outcome", "column"): "Outcome column; one [[outcome]] table per outcome.",
    ("outcome", "label"): "How reports name the outcome, e.g. 'employment rate'.",
    ("outcome", "unit"): "Unit of the effect in reports, e.g. 'percentage points'.",
    ("outcome", "scale"): "level, or log when the column is a natural log (e.g. l_homicide): "
                          "reports then also give the effect as a percentage change, "
                          "100 (e^b - 1).",
    ("run", "seed"): "Random seed for every design (unless its table sets `seed`).",
    ("run", "draws"): "Resampling draws for every design that has `draws`.",
    ("run", "ci_level"): "Interval level for every design (e.g. 0.95).",
    ("run", "workers"): "Processes: evaluations run at once, and a design running alone "
                        "gets them for its placebo refits and randomization draws (local: "
                        "a process pool; dask: a local cluster of this many workers). "
                        "Changes no output.",
    ("run", "backend"): "Where the work runs: local (this machine's processes) or dask (a "
                        "Dask cluster; pip install 'lpip-eval[dask]'). Changes no output.",
    ("run", "scheduler"): "With backend = \"dask\": the address of a running Dask scheduler, "
                          "e.g. \"tcp://10.0.0.5:8786\" (default: $DASK_SCHEDULER_ADDRESS, "
                          "else a local cluster of `workers` processes).",
    ("output", "dir"): "Output folder, relative to the config file.",
    ("output", "json"): "Write one JSON result per evaluation (`<outcome>-<method>.json`).",
    ("output", "report"): "HTML report of all results (file name in `dir`; false = none).",
    ("output", "eml"): "The report as a ready-to-send e-mail (file name; false = none). A "
                       "run never sends it; `lpip-eval report RESULT.json --send-to` does "
                       "(exit 6 when delivery fails).",
    ("output", "markdown"): "Markdown summary for CI job summaries (file name; false = none).",
    ("output", "title"): "Report title (default: the top-level `title`).",
    ("gates", "fail_on"): "Gates that make the run exit 5 after writing every output: "
                          "pretrend-rejected, poor-pre-fit, evidence-below:N, "
                          "effect-crosses-zero; mde-above:X on the [plan]'s minimum "
                          "detectable effect.",
}
# Fixed-table key -> command-line option, where it is not "--" + key with dashes.
FIXED_FLAGS: dict[tuple[str, str], str] = {
    ("outcome", "column"): "--outcome",
    ("outcome", "label"): "--outcome-label",
    ("outcome", "unit"): "--outcome-unit",
    ("outcome", "scale"): "--outcome-scale",
}
# Config keys with no command-line option, and why.
NO_CLI: dict[tuple[str, str], str] = {
    ("output", "dir"): "none: each output option takes its own path",
    **{("data", DATA_RENAMED.get(f.name, f.name)): f.metadata["no_cli"]
       for f in dataclasses.fields(PanelSpec) if f.metadata.get("no_cli")},
}
TABLE_INTRO = {
    "": "Top-level keys.",
    "data": "The data and the column roles, as the PanelSpec fields (`outcome` is given per "
            "[[outcome]]). Give the treatment exactly one way: `comparators` + `start`, "
            "`treated` + `start`, `treated_col` + `start`, `treatment_col`, or "
            "`first_treated_col`.",
    "outcome": "`[[outcome]]`, one table per outcome; every design runs on every outcome.",
    "run": "Defaults for every design table that has the key and does not set it.",
    "output": "What is written and where (every file atomically, byte-identical between runs "
              "on the same inputs and seed).",
    "gates": "Gates: `lpip-eval run` exits 5 when one trips (after writing every output).",
    "plan": "Presence of `[plan]` runs `lpip-eval plan` on every outcome (the pilot and start "
            "of [data]; the start may lie after the data's end) and writes "
            "`<outcome>-plan.json` (and `<outcome>-plan.html` when `report` is on) beside the "
            "results; its keys are the fields of `PlanSpec`. `seed`, `draws` and `ci_level` "
            "default to [run]'s.",
}


def data_keys() -> dict[str, Any]:
    """``[data]`` keys (PanelSpec fields but ``outcome``; ``data`` is ``file``), paths as text."""
    keys: dict[str, Any] = {}
    for name, annotation in spec_keys(PanelSpec).items():
        if name in DATA_EXCLUDED:
            continue
        keys[DATA_RENAMED.get(name, name)] = _paths_as_text(annotation)
    return keys


def data_defaults() -> dict[str, Any]:
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
    tables[PLAN_TABLE] = spec_keys(PlanSpec)
    tables.update({"output": OUTPUT_KEYS, "gates": GATES_KEYS})
    return tables


def tables() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(table, keys -> type, keys -> default) for every table, in file order."""
    from lpip_eval.runs.config import OutcomeConfig, RunConfig

    outcome = {k: getattr(OutcomeConfig, k, None) for k in OUTCOME_KEYS}
    run = {k: getattr(RunConfig, k, None) for k in RUN_KEYS}
    keys = table_keys()
    out = [("", keys[""], {"title": None}), ("data", keys["data"], data_defaults()),
           ("outcome", OUTCOME_KEYS, outcome), ("run", RUN_KEYS, run)]
    out += [(m, keys[m], method_defaults(m)) for m in METHODS]
    out.append((PLAN_TABLE, keys[PLAN_TABLE], {f.name: f.default
                                               for f in dataclasses.fields(PlanSpec)}))
    out += [("output", OUTPUT_KEYS, OUTPUT_DEFAULTS), ("gates", GATES_KEYS, {"fail_on": ()})]
    return out


def _data_field(key: str) -> dataclasses.Field[Any] | None:
    name = {v: k for k, v in DATA_RENAMED.items()}.get(key, key)
    return field_of(PanelSpec, name)


def cli_option(table: str, key: str) -> str | None:
    """The command-line option of a config key (None if it has none): the field's ``flag``
    metadata, the fixed tables' :data:`FIXED_FLAGS`, else ``--key-with-dashes``."""
    if (table, key) in NO_CLI:
        return None
    flag: str | None = FIXED_FLAGS.get((table, key))
    if table == "data":
        f = _data_field(key)
        flag = f.metadata.get("flag") if f is not None else None
    elif table == PLAN_TABLE:
        f = field_of(PlanSpec, key)
        flag = f.metadata.get("flag") if f is not None else None
    elif table in METHODS and key != "design":
        for d in METHODS[table].designs.values():
            f = field_of(d.spec, key)
            if f is not None:
                flag = f.metadata.get("flag")
                break
    return str(flag).split("/")[0] if flag else "--" + key.replace("_", "-")


def key_help(table: str, key: str) -> str:
    """What a key means, in config words: the fixed tables' text, else the field metadata's
    ``config_help``, else its command-line help with options named as keys."""
    if (table, key) in FIXED_HELP:
        return FIXED_HELP[(table, key)]
    if table == "data":
        f = _data_field(key)
        if f is None:
            return ""
        return str(f.metadata.get("config_help") or config_words(f.metadata.get("help", "")))
    if table == PLAN_TABLE:
        f = field_of(PlanSpec, key)
        return config_words(f.metadata.get("help", "")) if f is not None else ""
    if table in METHODS:
        config = option_help(table, key, config=True)
        return config if config != option_help(table, key) else config_words(config)
    return ""


def config_words(text: str) -> str:
    """Command-line help in config terms: lists instead of comma-separated, keys instead of
    options."""
    text = re.sub(r"^Comma-separated (\w)", lambda m: m.group(1).upper(), text)
    return re.sub(r"--([a-z][a-z-]*)", lambda m: f"`{m.group(1).replace('-', '_')}`", text)


INDEX_FILE = "index.json"  # what a run wrote, in [output] dir


def file_stem(outcome: str) -> str:
    """An outcome column name as a safe file-name part (letters, digits, . _ - kept)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", outcome).strip("._") or "outcome"
