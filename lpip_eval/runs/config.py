"""Evaluation config files (``evaluation.toml``): read, validate up front, resolve paths.

One file declares an evaluation (docs/design.md, "Command line": ``lpip-eval run``): the data and
column roles (``[data]``, the PanelSpec fields), the outcomes (``[[outcome]]``), the designs
to run (``[did]``, ``[synth]``, ``[match]``: presence means "run it"; their keys are the
method's spec fields), a plan (``[plan]``: ``lpip-eval plan`` on every outcome, keys the
``PlanSpec`` fields), defaults shared by the designs (``[run]``), the outputs (``[output]``)
and the gates (``[gates]``). Every problem is found before anything runs and reported as one
:class:`~lpip_eval.errors.DataError` naming the file, the line where it can be found, the
table and the key: unknown keys with the closest valid one, wrong types with the expected
type and values a design cannot take (usage errors, exit 2: every design's spec is built
here, through the registry); data files that do not exist (as resolved), TOML syntax errors
with the line (exit 3).

Decisions: paths are relative to the config file's folder; in ``[data]`` an integer is
accepted where text is expected (``start = 2021``, ``treated = [101]``), because periods and
area codes are often numbers; ``report``/``markdown``/``eml`` take a file name or ``false``
(``true`` = the default name); ``[run]`` values are defaults for every design table whose spec
has that key (``workers`` is handled by the batch, see :mod:`lpip_eval.runs.batch`).
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lpip_eval.errors import DataError, LpipEvalError, UsageError, closest, has_line_break
from lpip_eval.files import display_path
from lpip_eval.methods.power.spec import PlanSpec, plan_options
from lpip_eval.methods.registry import METHODS, build_options, coerce, method_keys, spec_keys
from lpip_eval.methods.specs import MAX_DRAWS, MIN_DRAWS
from lpip_eval.parallel import BACKENDS, Backend
from lpip_eval.runs.keys import (
    DATA_RENAMED,
    GATES_KEYS,
    INDEX_FILE,
    OUTCOME_KEYS,
    OUTPUT_DEFAULTS,
    OUTPUT_KEYS,
    PLAN_TABLE,
    RUN_KEYS,
    TOP_LEVEL,
    data_keys,
    file_stem,
)


@dataclass(frozen=True)
class OutcomeConfig:
    """One ``[[outcome]]``: the column, and how reports name it and its unit."""

    column: str
    label: str | None = None
    unit: str | None = None
    scale: str | None = None  # "log" or "level"; None: not said


@dataclass(frozen=True)
class RunConfig:
    """``[run]``: defaults for every design (None = the design's own default)."""

    seed: int | None = None
    draws: int | None = None
    ci_level: float | None = None
    workers: int = 1
    backend: str = "local"
    scheduler: str | None = None

    @property
    def execution(self) -> Backend:
        """Where the run's maps go (``parallel.use_backend``): an execution setting that
        changes no output."""
        return Backend(self.backend, self.workers, self.scheduler)


@dataclass(frozen=True)
class MethodConfig:
    """One design table: the method name and its options (spec fields, [run] defaults in)."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OutputConfig:
    """``[output]``: the folder (resolved) and the file names written into it (None = off)."""

    dir: Path
    json: bool = True
    report: str | None = "report.html"
    eml: str | None = None
    markdown: str | None = "summary.md"
    title: str | None = None


@dataclass(frozen=True)
class EvaluationConfig:
    """A validated evaluation: everything ``lpip-eval run`` needs, paths resolved."""

    path: Path
    title: str | None
    data: Any  # PanelSpec without an outcome
    outcomes: tuple[OutcomeConfig, ...]
    run: RunConfig
    methods: tuple[MethodConfig, ...]
    output: OutputConfig
    fail_on: tuple[str, ...] = ()
    unit_level: bool = False  # [match] design = "nnmatch": one row per unit, no periods
    plan: PlanSpec | None = None  # [plan]: plan every outcome (lpip-eval plan)

    def panel_spec(self, outcome: str, method: MethodConfig | None = None) -> Any:
        """The PanelSpec for one outcome (and design: columns its options name are added to
        the role they need, ``Method.load_spec``; the outcome itself is never added)."""
        spec = dataclasses.replace(self.data, outcome=outcome)
        if method is None:
            return spec
        return METHODS[method.name].load_spec(spec, method.options)


# --------------------------------------------------------------------------- loading


def load_config(path: Path | str, *, allow_outside: bool = False) -> EvaluationConfig:
    """Read and validate ``path``; any problem is a DataError (exit 3) naming file and key.

    A config file is trusted less than the person running it: the files it reads and the
    folder it writes must lie inside the config's folder or the working directory, unless
    ``allow_outside`` (``lpip-eval run --allow-outside``).
    """
    path = Path(path)
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{shown}: config file not found",
                        hint="check the path; `lpip-eval init DATA` writes a starter") from None
    except IsADirectoryError:
        raise DataError(f"{shown}: is a folder, not a config file",
                        hint="give the evaluation.toml file") from None
    except UnicodeDecodeError:
        raise DataError(f"{shown}: is not UTF-8 text", hint="save it as UTF-8") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{shown}: not valid TOML: {exc}",
                        hint="text values need quotes, lists are [a, b], tables are [name]"
                        ) from None
    except RecursionError:
        raise DataError(f"{shown}: nested too deeply to read",
                        hint="an evaluation file needs lists and tables a few levels deep"
                        ) from None
    roots = None if allow_outside else (path.parent, Path.cwd())
    return _Loader(path, text, roots).load(raw)


class _Loader:
    """Validation of one parsed file; ``where`` builds 'file, line N, [table] 'key'' names."""

    def __init__(self, path: Path, text: str, roots: tuple[Path, ...] | None = None) -> None:
        self.path = path
        self.shown = display_path(path)
        self.lines = text.splitlines()
        self.folder = path.parent
        self.roots = None if roots is None else tuple(r.resolve() for r in roots)

    def inside(self, table: str, key: str, target: Path) -> Path:
        """``target`` if it lies inside the config's folder or the working directory (after
        resolving ``..`` and links); else a UsageError, so that a config file can neither
        read nor write files elsewhere (``--allow-outside`` lifts the rule)."""
        if self.roots is None:
            return target
        real = target.resolve()
        if any(real.is_relative_to(root) for root in self.roots):
            return target
        raise UsageError(
            f"{self.where(table, key)}: {display_path(target)} is outside the config file's "
            f"folder ({display_path(self.folder)}) and the working directory",
            hint="move it inside, or run with --allow-outside if you trust this config file")

    # ---- names and lines

    def where(self, table: str, key: str | None = None, index: int | None = None, *,
              show_key: bool = True) -> str:
        line = self._line(table, key, index)
        place = f"{self.shown}, line {line}" if line else self.shown
        if index is not None:
            place += f", [[{table}]] #{index + 1}"
        elif table:
            place += f", [{table}]"
        return place + (f" '{key}'" if key and show_key else "")

    def _line(self, table: str, key: str | None, index: int | None) -> int | None:
        """The line where ``key`` is set in ``table`` (its header if ``key`` is None)."""
        current, count = "", -1
        for number, line in enumerate(self.lines, start=1):
            header = re.match(r"\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$", line)
            if header:
                current = header.group(2).strip("\"'")
                if current == table:
                    count += 1
                    if key is None and (index is None or index == count):
                        return number
                continue
            if key is None or current != table or (index is not None and index != count):
                continue
            if re.match(rf"\s*[\"']?{re.escape(key)}[\"']?\s*=", line):
                return number
        return None

    def unknown(self, table: str, key: str, valid: list[str], index: int | None = None
                ) -> UsageError:
        return UsageError(f"{self.where(table, key, index, show_key=False)}: unknown key '{key}'",
                         hint=closest(key, valid))

    # ---- tables

    def load(self, raw: dict[str, Any]) -> EvaluationConfig:
        for key, value in raw.items():
            if key not in TOP_LEVEL:
                is_table = isinstance(value, dict | list)
                place = self.where(key) if is_table else self.where("", key, show_key=False)
                raise UsageError(f"{place}: unknown {'table' if is_table else 'key'} '{key}'",
                                hint=closest(key, list(TOP_LEVEL)))
        title = self.values("", {"title": raw.get("title")} if "title" in raw else {},
                            {"title": str}).get("title")
        if "data" not in raw:
            raise DataError(f"{self.shown}: no [data] table",
                            hint="add [data] with file = \"your-data.csv\" and the treatment")
        match = raw.get("match")
        unit_level = isinstance(match, dict) and match.get("design") == "nnmatch"
        data = self.data(self.table(raw, "data"), unit_level=unit_level)
        outcomes = self.outcomes(raw.get("outcome"))
        run = RunConfig(**self.values("run", self.table(raw, "run"), RUN_KEYS))
        self.check_run(run)
        methods = tuple(self.method(name, self.table(raw, name), run)
                        for name in raw if name in METHODS)
        plan = self.plan(self.table(raw, PLAN_TABLE), run) if PLAN_TABLE in raw else None
        if not methods and plan is None:
            raise DataError(f"{self.shown}: no design to run",
                            hint="add at least one of the tables [did], [synth], [match], "
                            "[plan]")
        if unit_level and plan is not None:
            raise DataError(f"{self.where(PLAN_TABLE)}: [plan] needs area-by-period data, "
                            "but [match] design = \"nnmatch\" reads one row per unit",
                            hint="plan in a config file of its own")
        other = next((m.name for m in methods if m.name != "match"), None)
        if unit_level and other:
            raise DataError(f"{self.where(other)}: [{other}] needs area-by-period data, but "
                            "[match] design = \"nnmatch\" reads one row per unit",
                            hint="put unit-level matching in a config file of its own")
        output = self.output(self.table(raw, "output"), title)
        self.check_outputs(output, data, outcomes, methods, plan is not None)
        gates = self.values("gates", self.table(raw, "gates"), GATES_KEYS)
        fail_on = tuple(gates.get("fail_on", ()))
        self.check_gates(fail_on, plan is not None)
        return EvaluationConfig(path=self.path, title=title, data=data, outcomes=outcomes,
                                run=run, methods=methods, output=output, fail_on=fail_on,
                                unit_level=unit_level, plan=plan)

    def table(self, raw: dict[str, Any], name: str) -> dict[str, Any]:
        value = raw.get(name, {})
        if not isinstance(value, dict):
            raise DataError(f"{self.where('', name)}: expected a table [{name}], got "
                            f"{type(value).__name__}", hint=f"write [{name}] on its own line, "
                            "with its keys below it")
        return value

    def values(self, table: str, given: dict[str, Any], keys: dict[str, Any],
               index: int | None = None) -> dict[str, Any]:
        """``given`` checked against ``keys`` (names and types); lists become tuples."""
        out: dict[str, Any] = {}
        for key, value in given.items():
            if key not in keys:
                raise self.unknown(table, key, list(keys), index)
            try:
                out[key] = coerce(value, keys[key], where=self.where(table, key, index))
            except DataError as exc:
                raise UsageError(exc.message, hint=exc.hint) from None
        return out

    def data(self, given: dict[str, Any], *, unit_level: bool = False) -> Any:
        from lpip_eval.data.panel import PanelSpec

        keys = data_keys()
        given = {k: _numbers_as_text(v, keys.get(k)) for k, v in given.items()}
        values = self.values("data", given, keys)
        if "file" not in values:
            raise DataError(f"{self.where('data')}: no 'file'",
                            hint="add file = \"your-data.csv\" (relative to the config file)")
        for key in ("file", "comparators", "area_lookup"):
            if values.get(key) is not None:
                values[key] = self.existing_file(key, values[key])
        if unit_level:
            self.check_unit_treatment(values)
        else:
            self.check_treatment(values)
        fields = {next((f for f, k in DATA_RENAMED.items() if k == key), key): value
                  for key, value in values.items()}
        return PanelSpec(**fields)

    def existing_file(self, key: str, name: str) -> Path:
        resolved = self.inside("data", key, self.folder / name)
        if not resolved.is_file():
            state = "is a folder" if resolved.is_dir() else "not found"
            raise DataError(f"{self.where('data', key)}: {display_path(resolved)} {state}",
                            hint=f"paths are relative to the config file's folder "
                            f"({display_path(self.folder)})")
        return resolved

    def check_treatment(self, values: dict[str, Any]) -> None:
        """Exactly one way of giving treatment, with ``start`` where that way needs it."""
        ways = ("comparators", "treated", "treated_col", "treatment_col", "first_treated_col")
        given = [k for k in ways if values.get(k) not in (None, ())]
        if not given:
            raise DataError(f"{self.where('data')}: no treatment given",
                            hint="set one of: comparators + start, treated + start, "
                            "treated_col + start, treatment_col, first_treated_col")
        if len(given) > 1:
            raise DataError(f"{self.where('data', given[1])}: treatment given twice "
                            f"({' and '.join(given)})", hint="keep exactly one of them")
        needs_start = given[0] in ("comparators", "treated", "treated_col")
        if needs_start and values.get("start") is None:
            raise DataError(f"{self.where('data', given[0])}: '{given[0]}' needs 'start'",
                            hint="add start = \"2021Q3\" (the first treated period)")
        if not needs_start and values.get("start") is not None:
            raise DataError(f"{self.where('data', 'start')}: 'start' is not used with "
                            f"'{given[0]}'", hint=f"'{given[0]}' gives the timing; drop 'start'")

    def check_unit_treatment(self, values: dict[str, Any]) -> None:
        """Unit-level matching: a 0/1 ``treated_col`` and nothing about timing."""
        if values.get("treated_col") is None:
            raise DataError(f"{self.where('data')}: design \"nnmatch\" needs 'treated_col'",
                            hint="add treated_col = \"your 0/1 column\" (1 = treated)")
        extra = [k for k in ("comparators", "treated", "start", "treatment_col",
                             "first_treated_col") if values.get(k) not in (None, ())]
        if extra:
            raise DataError(f"{self.where('data', extra[0])}: '{extra[0]}' is not used with "
                            "design \"nnmatch\" (one row per unit, no periods)",
                            hint="keep file, treated_col and, optionally, area_col (the id)")

    def outcomes(self, given: Any) -> tuple[OutcomeConfig, ...]:
        if given is None:
            raise DataError(f"{self.shown}: no [[outcome]]",
                            hint="add [[outcome]] with column = \"...\" for each outcome")
        if not isinstance(given, list):
            raise DataError(f"{self.where('outcome')}: write [[outcome]] (double brackets), "
                            "one table per outcome", hint="[[outcome]] then column = \"...\"")
        seen: dict[str, str] = {}
        outcomes = []
        for index, table in enumerate(given):
            if not isinstance(table, dict):
                raise DataError(f"{self.where('outcome')}: expected [[outcome]] tables",
                                hint="[[outcome]] then column = \"...\"")
            values = self.values("outcome", table, OUTCOME_KEYS, index)
            for key in ("label", "unit"):  # the e-mail's Subject holds them: one line
                if has_line_break(values.get(key) or ""):
                    raise DataError(f"{self.where('outcome', key, index)}: {key} "
                                    f"{values[key]!r} contains a line break",
                                    hint="give it on one line")
            if "column" not in values:
                raise DataError(f"{self.where('outcome', None, index)}: no 'column'",
                                hint="add column = \"the outcome column\"")
            stem = file_stem(values["column"])
            if stem in seen:
                raise DataError(f"{self.where('outcome', 'column', index)}: outcome "
                                f"'{values['column']}' is given twice" if seen[stem] ==
                                values["column"] else f"{self.where('outcome', 'column', index)}"
                                f": outcomes '{seen[stem]}' and '{values['column']}' would "
                                "write the same files", hint="give each outcome once")
            seen[stem] = values["column"]
            outcomes.append(OutcomeConfig(**values))
        if not outcomes:
            raise DataError(f"{self.shown}: no [[outcome]]",
                            hint="add [[outcome]] with column = \"...\" for each outcome")
        return tuple(outcomes)

    def check_run(self, run: RunConfig) -> None:
        if run.ci_level is not None and not 0 < run.ci_level < 1:
            raise UsageError(f"{self.where('run', 'ci_level')}: {run.ci_level} is not between "
                             "0 and 1", hint="e.g. ci_level = 0.95")
        limits = {"draws": (MIN_DRAWS, MAX_DRAWS), "workers": (1, None), "seed": (0, None)}
        for key, (low, high) in limits.items():
            value = getattr(run, key)
            if value is not None and (value < low or (high is not None and value > high)):
                bound = f"at least {low}" if value < low else f"at most {high}"
                raise UsageError(f"{self.where('run', key)}: must be {bound}, got {value}",
                                 hint="e.g. draws = 999, workers = 2, seed = 20240101")
        if run.backend not in BACKENDS:
            raise UsageError(f"{self.where('run', 'backend')}: unknown backend "
                             f"'{run.backend}'", hint="use local or dask")
        try:
            run.execution  # noqa: B018 (checks the scheduler address)
        except UsageError as exc:
            raise UsageError(f"{self.where('run', 'scheduler')}: "
                             f"{exc.message.removeprefix('--scheduler: ')}",
                             hint=exc.hint) from None

    def method(self, name: str, given: dict[str, Any], run: RunConfig) -> MethodConfig:
        """A design table: keys and types checked, [run] defaults in, and the design's spec
        built once (through the registry), so a bad value fails here, before anything runs."""
        values = self.values(name, given, method_keys(name))
        design = values.get("design", METHODS[name].default_design)
        own = method_keys(name, design)
        for key in values:
            if key not in own:
                raise UsageError(f"{self.where(name, key)}: '{key}' is not used with "
                                 f"design = '{design}'",
                                 hint=f"keys for '{design}': {', '.join(sorted(own))}")
        for key in ("seed", "draws", "ci_level"):
            default = getattr(run, key)
            if default is not None and key in own and key not in values:
                values[key] = default
        build_options(name, values, where=lambda key: self.where(name, key))
        return MethodConfig(name=name, options=values)

    def plan(self, given: dict[str, Any], run: RunConfig) -> PlanSpec:
        """``[plan]``: keys and types checked, [run] defaults in, checked as the command
        checks its options (through :func:`plan_options`), before anything runs."""
        values = self.values(PLAN_TABLE, given, spec_keys(PlanSpec))
        for key in ("seed", "draws", "ci_level"):
            default = getattr(run, key)
            if default is not None and key not in values:
                values[key] = default
        spec = PlanSpec(**values)
        plan_options(spec, where=lambda key: self.where(PLAN_TABLE, key))
        return spec

    def output(self, given: dict[str, Any], title: str | None) -> OutputConfig:
        values = {**OUTPUT_DEFAULTS, **self.values("output", given, OUTPUT_KEYS)}
        for key in ("report", "eml", "markdown"):
            value = values[key]
            if value is True:
                values[key] = {"report": "report.html", "eml": "report.eml",
                               "markdown": "summary.md"}[key]
            elif value is None or value is False or value == "":
                values[key] = None
            elif Path(value).name != value or value in (".", ".."):
                raise DataError(f"{self.where('output', key)}: '{value}' is not a file name",
                                hint="give a plain file name; the folder is [output] dir")
        if values["title"] is None:
            values["title"] = title
        values["dir"] = self.inside("output", "dir", self.folder / values["dir"])
        return OutputConfig(**values)

    def check_outputs(self, output: OutputConfig, data: Any,
                      outcomes: tuple[OutcomeConfig, ...],
                      methods: tuple[MethodConfig, ...], plan: bool = False) -> None:
        """No two outputs of the run share a file, and none is an input (a data file or
        this config file): a UsageError naming the key, before anything runs."""
        from lpip_eval.files import check_outputs

        files = {self.where("output", key): str(output.dir / name)
                 for key in ("report", "eml", "markdown")
                 if (name := getattr(output, key)) is not None}
        files[f"{self.where('output', 'dir')}: the run's {INDEX_FILE}"] = \
            str(output.dir / INDEX_FILE)
        if output.json:
            for outcome in outcomes:
                for method in methods:
                    name = f"{file_stem(outcome.column)}-{method.name}.json"
                    files[f"{self.where('output', 'json')}: {name}"] = str(output.dir / name)
        for outcome in outcomes if plan else ():
            for on, ext in ((output.json, "json"), (output.report, "html")):
                if on:
                    name = f"{file_stem(outcome.column)}-plan.{ext}"
                    files[f"{self.where(PLAN_TABLE)}: {name}"] = str(output.dir / name)
        inputs = [p for p in (data.data, data.comparators, data.area_lookup, self.path)
                  if p is not None]
        check_outputs(files, inputs)

    def check_gates(self, names: tuple[str, ...], plan: bool = False) -> None:
        from lpip_eval.results.gates import parse_gates

        try:
            parsed = parse_gates(names)
        except LpipEvalError as exc:
            raise UsageError(f"{self.where('gates', 'fail_on')}: {exc.message}",
                             hint=exc.hint) from None
        if not plan and any(name in PLAN_GATES for name, _ in parsed):
            raise UsageError(f"{self.where('gates', 'fail_on')}: 'mde-above' looks at a "
                             "plan's minimum detectable effect, and this config has no [plan]",
                             hint="add a [plan] table, or drop the gate")


PLAN_GATES = ("mde-above",)  # gates that look at plans (the others at evaluation results)


def _numbers_as_text(value: Any, annotation: Any) -> Any:
    """Integers where [data] expects text (periods, area codes) become text."""
    text_like = annotation is not None and "text" in _type_name(annotation)
    if not text_like:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list):
        return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    return value


def _type_name(annotation: Any) -> str:
    from lpip_eval.methods.registry import type_name

    return type_name(annotation)
