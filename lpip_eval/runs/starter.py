"""The starter config of ``lpip-eval init``: a commented evaluation.toml for a data file.

:func:`starter_config` reads a data file, guesses the column roles (area, period, outcomes,
area categories, weights, treatment columns; a sibling file with the same columns is taken
as the comparators) and writes a commented ``evaluation.toml`` with every table and every key,
the options not needed commented out with their defaults. Values it cannot guess are
``"TODO"``. What each key means comes from ``runs.keys.key_help`` (the spec fields'
metadata), as in ``docs/config.md`` (written by ``lpip_eval.cli.reference``).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from lpip_eval.data.columns import GSS_PATTERN
from lpip_eval.data.read import CSV_SUFFIXES, read_table
from lpip_eval.files import display_path
from lpip_eval.methods.registry import METHODS, method_defaults
from lpip_eval.runs.keys import OUTPUT_DEFAULTS, key_help, table_keys

TODO = "TODO"
MAX_ACTIVE_OUTCOMES = 3
AREA_NAMES = ("area", "area_code", "areacode", "code", "lad_code", "la_code", "geography_code")
PERIOD_NAMES = ("period", "quarter", "year", "date", "month", "time", "time_period")
WEIGHT_NAMES = re.compile(r"^(pop|population|weight|weights)(_.*)?$|_(pop|population|weight)$",
                          re.IGNORECASE)
FIRST_TREATED_NAMES = ("first_treated", "first_treat", "cohort", "gname", "first_period")


def toml_value(value: Any) -> str | None:
    """``value`` as TOML text (None stays None: the key is left unset)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        parts = [toml_value(v) for v in value]
        return "[" + ", ".join(p for p in parts if p is not None) + "]"
    return json.dumps(str(value), ensure_ascii=False)


# --------------------------------------------------------------------------- starter


def starter_config(data_path: Path, config_path: Path | None = None) -> str:
    """A commented evaluation.toml for ``data_path`` (config beside it unless given)."""
    import pandas as pd

    data_path = Path(data_path)
    frame = read_table(data_path)
    folder = (config_path or data_path).parent
    rel = Path(os.path.relpath(data_path, folder)).as_posix()
    area = _guess_area(frame)
    period = _guess_period(frame, exclude={area})
    roles = {area, period}
    numeric = [c for c in frame.columns if c not in roles and pd.api.types.is_numeric_dtype(
        frame[c]) and not pd.api.types.is_bool_dtype(frame[c])]
    binary = [c for c in numeric if set(frame[c].dropna().unique()) <= {0, 1}]
    first_treated = [c for c in numeric if c.lower() in FIRST_TREATED_NAMES]
    weights = [c for c in numeric if WEIGHT_NAMES.search(c) and c not in binary]
    outcomes = [c for c in numeric if c not in (*binary, *first_treated, *weights)]
    texts = [c for c in frame.columns if c not in roles and c not in numeric]
    by_area = frame.groupby(frame[area].astype(str), sort=False)
    n_areas = by_area.ngroups
    constant = {c for c in (*binary, *texts) if (by_area[c].nunique(dropna=False) <= 1).all()}
    categoricals = [c for c in texts if c in constant and "name" not in c.lower()
                    and frame[c].nunique() < max(n_areas, 2)]
    sibling = _sibling(data_path)
    default_config = data_path.with_name("evaluation.toml")
    lines = [f"# lpip-eval evaluation of {data_path.name}, written by `lpip-eval init`.",
             "# Fill in every \"TODO\", uncomment (drop the '# ' of) the options you need; lines",
             "# starting '##' say what the option below them does. Then run:",
             f"#   lpip-eval run {display_path(config_path or default_config)}",
             "# Every key is listed in docs/config.md with its command-line equivalent.",
             "", "title = \"Pilot evaluation\"", "", "[data]",
             f"file = {toml_value(rel)}  # relative to this file",
             f"area_col = {toml_value(area)}", f"period_col = {toml_value(period)}",
             "# Treatment: exactly one of comparators + start, treated + start,",
             "# treated_col + start, treatment_col, first_treated_col."]
    lines += _treatment_lines(sibling, folder, first_treated, binary, constant)
    lines += _commented("data", ("period_type", "covariates", "weights_col", "cluster_col",
                                 "categoricals", "harmonise_boundaries", "area_lookup",
                                 "combine", "lookup_weight_col", "measure", "microdata"),
                        {"covariates": [], "weights_col": weights[0] if weights else None,
                         "categoricals": categoricals})
    lines.append("")
    for index, column in enumerate(outcomes or [TODO]):
        mark = "" if index < MAX_ACTIVE_OUTCOMES else "# "
        lines += [f"{mark}[[outcome]]", f"{mark}column = {toml_value(column)}",
                  f"{mark}label = {toml_value(column.replace('_', ' '))}",
                  f"# unit = \"{'percentage points' if 'rate' in column.lower() else TODO}\"",
                  ""]
    lines += ["[run]  # defaults for every design below", "seed = 20240101",
              *_commented("run", ("draws", "ci_level", "workers"),
                          {"draws": 999, "ci_level": 0.95, "workers": 1}), ""]
    for position, method in enumerate(METHODS):
        mark = "" if position == 0 else "# "
        lines.append(f"{mark}[{method}]  # remove this table to skip the design")
        defaults = method_defaults(method)
        if method == "match" and categoricals:
            defaults["exact"] = categoricals[:1]
        lines += _commented(method, tuple(defaults), defaults)
        lines.append("")
    lines += ["[output]", *_commented("output", tuple(OUTPUT_DEFAULTS),
                                      {**OUTPUT_DEFAULTS, "eml": "report.eml"}),
              "", "[gates]", "# fail_on = [\"pretrend-rejected\", \"evidence-below:3\"]", ""]
    return "\n".join(lines)


def _commented(table: str, keys: tuple[str, ...], values: dict[str, Any]) -> list[str]:
    """Each key as a commented-out line, below a comment saying what it is."""
    from lpip_eval.methods.registry import type_name

    types = table_keys()[table]
    out = []
    for key in keys:
        value = toml_value(values.get(key))
        about = key_help(table, key)
        kind = type_name(types[key])
        out += [f"## {about} ({kind})" if about else f"## {kind}",
                f"# {key} = {value if value is not None else '...'}"]
    return out


def _treatment_lines(sibling: Path | None, folder: Path, first_treated: list[str],
                     binary: list[str], constant: set[str]) -> list[str]:
    varying = [c for c in binary if c not in constant]
    fixed = [c for c in binary if c in constant]
    options: list[tuple[str, str | None]] = []  # (line, needs start)
    if sibling is not None:
        rel = Path(os.path.relpath(sibling, folder)).as_posix()
        options.append((f"comparators = {toml_value(rel)}", "start"))
    if first_treated:
        options.append((f"first_treated_col = {toml_value(first_treated[0])}", None))
    if varying:
        options.append((f"treatment_col = {toml_value(varying[0])}", None))
    if fixed:
        options.append((f"treated_col = {toml_value(fixed[0])}", "start"))
    options.append((f"treated = [{toml_value(TODO)}]  # pilot area codes", "start"))
    chosen, needs = options[0]
    lines = [chosen]
    if needs:
        lines.append(f"start = {toml_value(TODO)}  # first treated period, e.g. \"2021Q3\"")
    lines += [f"# {line}" for line, _ in options[1:]]
    given = {line.split(" = ")[0] for line, _ in options}
    lines += [f"# {key} = ..." for key in ("comparators", "treated_col", "treatment_col",
                                           "first_treated_col") if key not in given]
    if not needs:
        lines.append("# start = \"TODO\"  # with comparators, treated or treated_col")
    return lines


def _sibling(data_path: Path) -> Path | None:
    """Another CSV in the same folder with the same header: probably the comparators."""
    if data_path.suffix.lower() not in CSV_SUFFIXES:
        return None
    header = _header(data_path)
    found = [p for p in sorted(data_path.parent.iterdir()) if p != data_path and p.is_file()
             and p.suffix.lower() == data_path.suffix.lower() and _header(p) == header]
    found.sort(key=lambda p: not re.search(r"compar|control|donor", p.name, re.IGNORECASE))
    return found[0] if found else None


def _header(path: Path) -> str:
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as handle:
            return handle.readline().strip()
    except OSError:
        return ""


def _guess_area(frame: Any) -> str:
    columns = list(frame.columns)
    lower = {c.lower(): c for c in columns}
    for name in AREA_NAMES:
        if name in lower:
            return str(lower[name])
    for column in columns:
        values = frame[column].dropna().astype(str).head(200)
        if len(values) and values.str.match(GSS_PATTERN).mean() > 0.9:
            return str(column)
    for column in columns:
        if re.search(r"(_code|code|cd)$", column, re.IGNORECASE):
            return str(column)
    return str(columns[0])


def _guess_period(frame: Any, exclude: set[str]) -> str:
    from lpip_eval.data.periods import parse_periods
    from lpip_eval.errors import DataError

    columns = [c for c in frame.columns if c not in exclude]
    lower = {c.lower(): c for c in columns}
    for name in PERIOD_NAMES:
        if name in lower:
            return str(lower[name])
    for column in columns:
        try:
            parse_periods(frame[column].head(500), source="", column=str(column))
        except DataError:
            continue
        return str(column)
    return TODO


def write_starter(data_path: Path, config_path: Path, *, overwrite: bool = False) -> Path:
    """Write :func:`starter_config` to ``config_path``; an existing file is a DataError
    unless ``overwrite``."""
    from lpip_eval.errors import DataError
    from lpip_eval.files import check_outputs, write_atomic

    check_outputs({"--output": str(config_path)}, inputs=[data_path])
    if config_path.exists() and not overwrite:
        raise DataError(f"{display_path(config_path)}: already exists",
                        hint="choose another name, or overwrite it on purpose")
    write_atomic(str(config_path), starter_config(data_path, config_path) + "\n")
    return config_path
