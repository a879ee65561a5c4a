"""Config text: ``lpip-eval init`` (a commented starter for a data file) and the key reference.

:func:`starter_config` reads a data file, guesses the column roles (area, period, outcomes,
area categories, weights, treatment columns; a sibling file with the same columns is taken
as the comparators) and writes a commented ``evaluation.toml`` with every table and every key,
the options not needed commented out with their defaults. Values it cannot guess are
``"TODO"``. :func:`reference_markdown` writes ``docs/config.md``: every config key, its type,
default, command-line equivalent and meaning (from the CLI's own help where there is one).
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
from lpip_eval.methods.registry import METHODS, method_defaults, method_keys
from lpip_eval.runs.keys import (
    GATES_KEYS,
    OUTCOME_KEYS,
    OUTPUT_DEFAULTS,
    OUTPUT_KEYS,
    RUN_KEYS,
    data_defaults,
    data_keys,
)

TODO = "TODO"
MAX_ACTIVE_OUTCOMES = 3
AREA_NAMES = ("area", "area_code", "areacode", "code", "lad_code", "la_code", "geography_code")
PERIOD_NAMES = ("period", "quarter", "year", "date", "month", "time", "time_period")
WEIGHT_NAMES = re.compile(r"^(pop|population|weight|weights)(_.*)?$|_(pop|population|weight)$",
                          re.IGNORECASE)
FIRST_TREATED_NAMES = ("first_treated", "first_treat", "cohort", "gname", "first_period")

# Config key -> command-line option, where it is not "--" + key with dashes.
CLI_NAMES: dict[tuple[str, str], str] = {
    ("data", "file"): "DATA",
    ("outcome", "column"): "--outcome",
    ("outcome", "label"): "--outcome-label",
    ("outcome", "unit"): "--outcome-unit",
    ("synth", "predictors"): "--predictor",
    ("synth", "placebo_reps"): "--draws",
    ("match", "use_outcome_level"): "--outcome-level",
    ("match", "use_outcome_trend"): "--outcome-trend",
    ("output", "json"): "--json",
}
# Config keys with no command-line option, and why.
NO_CLI: dict[tuple[str, str], str] = {
    ("data", "categoricals"): "none: on the command line `match --exact` loads its columns",
    ("output", "dir"): "none: each output option takes its own path",
    ("run", "workers"): "none yet",
}
HELP: dict[tuple[str, str], str] = {
    ("", "title"): "Title of the evaluation, the reports and the Markdown summary.",
    ("data", "file"): "Data file (CSV, Parquet or Excel), relative to the config file; with "
                      "`comparators`, the pilot areas' file.",
    ("data", "comparators"): "File of comparison areas (same columns), relative to the config "
                             "file; every area in `file` is then a pilot area. Needs `start`.",
    ("data", "treated"): "Pilot area codes, as in the area column. Needs `start`.",
    ("data", "categoricals"): "Text columns describing areas (region, urban/rural): each is "
                              "the same in every row of an area.",
    ("outcome", "column"): "Outcome column; one [[outcome]] table per outcome.",
    ("run", "seed"): "Random seed for every design (unless its table sets `seed`).",
    ("run", "draws"): "Resampling draws for every design that has `draws`.",
    ("run", "ci_level"): "Interval level for every design (e.g. 0.95).",
    ("run", "workers"): "Evaluations run at once (processes); a design running alone also "
                        "gets them for its own loops.",
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
                          "effect-crosses-zero.",
    ("synth", "design"): "classic (synthetic control) or sdid (synthetic difference-in-"
                         "differences).",
    ("synth", "predictors"): "Predictors, COLUMN[:PERIODS][:mean|value], e.g. "
                             "\"employment_rate:2019Q1-2021Q2\" (default: every pre-period "
                             "outcome and the covariates' means).",
    ("synth", "fit_periods"): "First and last period of the fitting window (default: every "
                              "pre-period).",
    ("synth", "v"): "Predictor weights: optimize, equal, regression, cv, or a list of numbers.",
    ("synth", "donors_nearest"): "Keep the K donors closest to the pilot before the start.",
    ("synth", "penalty"): "Penalty lambda of Abadie & L'Hour (2021).",
    ("synth", "inference"): "placebo (in-space placebo test) or none.",
    ("synth", "placebo_mspe_cutoff"): "Leave out placebos whose pre-period MSPE exceeds this "
                                      "many times the pilot's.",
    ("synth", "placebo_in_time"): "Also run a placebo with a fake start in the pre-period.",
    ("synth", "leave_one_out"): "Refit leaving out each donor with weight in turn.",
    ("synth", "aggregate"): "Fit the average of the pilot areas instead of each one.",
    ("synth", "workers"): "Processes for the placebo refits.",
    ("synth", "estimator"): "sdid, sc or did (the estimators of the synthetic DiD framework).",
    ("synth", "placebo_reps"): "Placebo replications for the synthetic DiD standard error.",
}
HELP_ANY: dict[str, str] = {  # keys shared by several design tables
    "ci_level": "Interval level.",
    "draws": "Resampling draws (bootstrap, randomization or placebo).",
    "seed": "Random seed.",
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
}


# --------------------------------------------------------------------------- CLI lookup


def _cli_commands() -> dict[str, dict[str, str]]:
    """Estimating commands of the CLI: option -> help text (imports the CLI lazily)."""
    import typer.main

    from lpip_eval.cli.commands import app

    group: Any = typer.main.get_command(app)
    out: dict[str, dict[str, str]] = {}
    for name in METHODS:
        command = group.commands.get(name)
        if command is None:
            continue
        options: dict[str, str] = {}
        for param in command.params:
            for opt in (*param.opts, *getattr(param, "secondary_opts", ())):
                options[opt if opt.startswith("-") else opt.upper()] = param.help or ""
        out[name] = options
    return out


def cli_option(table: str, key: str) -> str | None:
    """The command-line option of a config key (None if it has none)."""
    if (table, key) in NO_CLI:
        return None
    if table == "" and key == "title":
        return "--title"
    return CLI_NAMES.get((table, key), "--" + key.replace("_", "-"))


# --------------------------------------------------------------------------- reference


def _toml(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        parts = [_toml(v) for v in value]
        return "[" + ", ".join(p for p in parts if p is not None) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _tables() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(table, keys -> type, keys -> default) for every table, in file order."""
    from lpip_eval.runs.config import OutcomeConfig, RunConfig

    defaults_of = {"outcome": {k: getattr(OutcomeConfig, k, None) for k in OUTCOME_KEYS},
                   "run": {k: getattr(RunConfig, k, None) for k in RUN_KEYS}}
    tables = [("", {"title": str}, {"title": None}),
              ("data", data_keys(), data_defaults()),
              ("outcome", OUTCOME_KEYS, defaults_of["outcome"]),
              ("run", RUN_KEYS, defaults_of["run"])]
    tables += [(m, method_keys(m), method_defaults(m)) for m in METHODS]
    tables += [("output", OUTPUT_KEYS, OUTPUT_DEFAULTS), ("gates", GATES_KEYS, {"fail_on": ()})]
    return tables


def _designs_of(method: str, key: str) -> str:
    designs = METHODS[method].designs
    if key == "design" or len({d.spec for d in designs.values()}) == 1:
        return ""
    using = [d for d in designs if key in method_keys(method, d)]
    return "" if len(using) == len(designs) else f" (design {', '.join(using)})"


def reference_markdown() -> str:
    """``docs/config.md``: every key of every table with its CLI equivalent."""
    from lpip_eval.methods.registry import type_name

    cli = _cli_commands()
    lines = ["# evaluation.toml reference", "",
             "Generated by `lpip_eval.runs.starter.reference_markdown()`; a test checks that this "
             "file is current. `lpip-eval init DATA` writes a commented starter config.", "",
             "Paths are relative to the config file. Every key of the estimating commands' "
             "options has a config equivalent; the command-line column names it, and the "
             "commands that have it.", ""]
    for table, keys, defaults in _tables():
        heading = {"": "Top level", "outcome": "[[outcome]]"}.get(table, f"[{table}]")
        lines += [f"## {heading}", "", TABLE_INTRO.get(table) or _method_intro(table), "",
                  "| key | type | default | command line | meaning |",
                  "| --- | --- | --- | --- | --- |"]
        for key, annotation in keys.items():
            option = cli_option(table, key)
            where = [name for name, opts in cli.items()
                     if option in opts and (table not in METHODS or name == table)]
            meaning = key_help(table, key, cli)
            if table in METHODS:
                meaning += _designs_of(table, key)
            if option is None:
                shown = NO_CLI[(table, key)]
            elif where:
                shown = f"`{option}` ({', '.join(where)})"
            else:
                shown = f"`{option}` (not yet on the command line)"
            default = _toml(defaults.get(key))
            lines.append(f"| `{key}` | {type_name(annotation)} | "
                         f"{f'`{default}`' if default is not None else 'not set'} | {shown} | "
                         f"{meaning.replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines)


def _method_intro(method: str) -> str:
    classes = dict.fromkeys(d.spec.__name__ for d in METHODS[method].designs.values())
    names = ", ".join(f"`{name}`" for name in classes)
    return (f"Presence of `[{method}]` runs `lpip-eval {method}` on every outcome; its keys are "
            f"the fields of {names}.")


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
             f"file = {_toml(rel)}  # relative to this file",
             f"area_col = {_toml(area)}", f"period_col = {_toml(period)}",
             "# Treatment: exactly one of comparators + start, treated + start,",
             "# treated_col + start, treatment_col, first_treated_col."]
    lines += _treatment_lines(sibling, folder, first_treated, binary, constant)
    lines += _commented("data", ("covariates", "weights_col", "cluster_col", "categoricals"),
                        {"covariates": [], "weights_col": weights[0] if weights else None,
                         "categoricals": categoricals})
    lines.append("")
    for index, column in enumerate(outcomes or [TODO]):
        mark = "" if index < MAX_ACTIVE_OUTCOMES else "# "
        lines += [f"{mark}[[outcome]]", f"{mark}column = {_toml(column)}",
                  f"{mark}label = {_toml(column.replace('_', ' '))}",
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

    types = dict(_tables_index()[table])
    cli = _cli_commands()
    out = []
    for key in keys:
        value = _toml(values.get(key))
        about = key_help(table, key, cli)
        kind = type_name(types[key])
        out += [f"## {about} ({kind})" if about else f"## {kind}",
                f"# {key} = {value if value is not None else '...'}"]
    return out


def key_help(table: str, key: str, cli: dict[str, dict[str, str]]) -> str:
    """What a key means: our own text, else the help of its command-line option."""
    if (table, key) in HELP:
        return HELP[(table, key)]
    option = cli_option(table, key) or ""
    for name, options in cli.items():
        if table in METHODS and name != table:
            continue
        if options.get(option):
            return _config_words(options[option])
    return HELP_ANY.get(key, "")


def _config_words(text: str) -> str:
    """CLI help in config terms: lists instead of comma-separated, keys instead of options."""
    text = re.sub(r"^Comma-separated (\w)", lambda m: m.group(1).upper(), text)
    return re.sub(r"--([a-z][a-z-]*)", lambda m: f"`{m.group(1).replace('-', '_')}`", text)


def _tables_index() -> dict[str, dict[str, Any]]:
    return {table: keys for table, keys, _ in _tables()}


def _treatment_lines(sibling: Path | None, folder: Path, first_treated: list[str],
                     binary: list[str], constant: set[str]) -> list[str]:
    varying = [c for c in binary if c not in constant]
    fixed = [c for c in binary if c in constant]
    options: list[tuple[str, str | None]] = []  # (line, needs start)
    if sibling is not None:
        rel = Path(os.path.relpath(sibling, folder)).as_posix()
        options.append((f"comparators = {_toml(rel)}", "start"))
    if first_treated:
        options.append((f"first_treated_col = {_toml(first_treated[0])}", None))
    if varying:
        options.append((f"treatment_col = {_toml(varying[0])}", None))
    if fixed:
        options.append((f"treated_col = {_toml(fixed[0])}", "start"))
    options.append((f"treated = [{_toml(TODO)}]  # pilot area codes", "start"))
    chosen, needs = options[0]
    lines = [chosen]
    if needs:
        lines.append(f"start = {_toml(TODO)}  # first treated period, e.g. \"2021Q3\"")
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
    from lpip_eval.files import write_atomic

    if config_path.exists() and not overwrite:
        raise DataError(f"{display_path(config_path)}: already exists",
                        hint="choose another name, or overwrite it on purpose")
    write_atomic(str(config_path), starter_config(data_path, config_path) + "\n")
    return config_path
