"""The Panel: validated area-by-period data with column roles and treatment timing.

``load_panel`` reads one file (treatment given by a column or by ``--treated``) or a pilot
file plus a comparators file, checks everything a user can get wrong, and returns a
:class:`Panel` holding plain NumPy arrays sorted by area then period. Every estimator
works from a Panel; nothing downstream re-validates user input.

Every problem is one :class:`~lpip_eval.errors.LpipEvalError` line naming the file (with
two files, the one at fault), the column, area or period, and spreadsheet rows (header =
row 1), with a hint. Decisions: text in a numeric column ('..', 'n/a', '1,234') is an error,
not a silent missing value; ``--start`` outside the data, or with no period before it, is a
design error (exit 4) while ``--start`` in another frequency than the data is a data error
(exit 3); contradictory options are usage errors (exit 2).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lpip_eval.errors import DataError, DesignError, LpipEvalError, first_items
from lpip_eval.io import InputFile, display_path, read_table, sha256_of
from lpip_eval.periods import (
    Frequency,
    ParsedPeriods,
    parse_period_value,
    parse_periods,
    period_label,
)

if TYPE_CHECKING:
    import pandas as pd

NEVER = np.iinfo(np.int64).max
GSS_PATTERN = re.compile(r"^[EKNSW]\d{8}$")
GSS_LIKE = re.compile(r"^[EKNSWeknsw]\d{6,9}$")


class UsageError(LpipEvalError):
    """Options that contradict each other or are missing: exit 2, like Click's usage errors."""

    exit_code = 2


@dataclass(frozen=True)
class PanelSpec:
    """Where the data is and which column plays which role (DESIGN.md, "Input data")."""

    data: Path
    comparators: Path | None = None
    area_col: str = "area"
    period_col: str = "period"
    outcome: str | None = None
    treated: tuple[str, ...] = ()
    start: str | None = None
    treated_col: str | None = None
    treatment_col: str | None = None
    first_treated_col: str | None = None
    covariates: tuple[str, ...] = ()
    weights_col: str | None = None
    cluster_col: str | None = None

    def treatment_option(self) -> str:
        """The single way treatment was given; raises UsageError for none or several."""
        given = [
            name
            for name, present in (
                ("--comparators", self.comparators is not None),
                ("--treated", bool(self.treated)),
                ("--treated-col", self.treated_col is not None),
                ("--treatment-col", self.treatment_col is not None),
                ("--first-treated-col", self.first_treated_col is not None),
            )
            if present
        ]
        if not given:
            raise UsageError(
                f"{display_path(self.data)}: no treatment given",
                hint="use --comparators FILE --start P, --treated AREA --start P, "
                "--treated-col COL --start P, --treatment-col COL or --first-treated-col COL",
            )
        if len(given) > 1:
            raise UsageError(
                f"treatment given twice ({' and '.join(given)})", hint="use exactly one of them"
            )
        option = given[0]
        needs_start = option in ("--comparators", "--treated", "--treated-col")
        if needs_start and self.start is None:
            raise UsageError(f"{option} needs --start PERIOD", hint="e.g. --start 2021Q3")
        if not needs_start and self.start is not None:
            raise UsageError(f"--start is not used with {option}",
                             hint=f"{option} gives the timing; drop --start")
        return option


@dataclass(frozen=True, eq=False)
class Panel:
    """Validated long-format panel for one outcome; rows sorted by area, then period.

    Per-row arrays: ``unit_idx`` (index into ``units``), ``time_idx`` (index into
    ``period_ordinals``), ``y``, optional ``covariates`` (rows x k), ``weights`` and
    ``cluster_idx``. Per-unit: ``first_treated`` ordinal (``NEVER`` for comparison areas).
    ``source`` names the input file(s), for messages that must name them.
    """

    outcome: str
    unit_col: str
    time_col: str
    frequency: Frequency
    units: tuple[str, ...]
    period_ordinals: np.ndarray
    unit_idx: np.ndarray
    time_idx: np.ndarray
    y: np.ndarray
    first_treated: np.ndarray
    covariate_names: tuple[str, ...] = ()
    covariates: np.ndarray | None = None
    weights: np.ndarray | None = None
    cluster_idx: np.ndarray | None = None
    cluster_col: str | None = None
    sources: tuple[InputFile, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)
    unit_names: dict[str, str] = field(default_factory=dict)
    source: str = ""  # the file(s) as named in messages, e.g. "pilot.csv + comparators.csv"

    @property
    def n_units(self) -> int:
        return len(self.units)

    @property
    def n_periods(self) -> int:
        return len(self.period_ordinals)

    @property
    def period_labels(self) -> tuple[str, ...]:
        return tuple(period_label(int(o), self.frequency) for o in self.period_ordinals)

    @property
    def is_treated_unit(self) -> np.ndarray:
        return self.first_treated != NEVER

    @property
    def treated_units(self) -> tuple[str, ...]:
        return tuple(u for u, t in zip(self.units, self.is_treated_unit, strict=True) if t)

    @property
    def comparison_units(self) -> tuple[str, ...]:
        return tuple(u for u, t in zip(self.units, self.is_treated_unit, strict=True) if not t)

    @property
    def start_position(self) -> np.ndarray:
        """Per unit: index of the first period at or after its start (n_periods if never)."""
        pos = np.searchsorted(self.period_ordinals, self.first_treated, side="left")
        return np.where(self.first_treated == NEVER, self.n_periods, pos)

    @property
    def treated_now(self) -> np.ndarray:
        """Per row: 1.0 where the area is treated in that period."""
        return (self.time_idx >= self.start_position[self.unit_idx]).astype(float)

    @property
    def is_balanced(self) -> bool:
        return len(self.y) == self.n_units * self.n_periods

    @property
    def common_start(self) -> int | None:
        """The treatment start ordinal shared by all treated areas, or None if staggered."""
        starts = np.unique(self.first_treated[self.is_treated_unit])
        return int(starts[0]) if len(starts) == 1 else None

    @property
    def cluster_codes(self) -> np.ndarray:
        """Per row cluster code: the user's cluster column, or the area."""
        return self.unit_idx if self.cluster_idx is None else self.cluster_idx

    def label(self, ordinal: int) -> str:
        return period_label(int(ordinal), self.frequency)

    def to_frame(self) -> pd.DataFrame:
        """A tidy DataFrame copy (area, period label, outcome, covariates, treated)."""
        import pandas as pd

        labels = np.array(self.period_labels, dtype=object)
        data: dict[str, object] = {
            self.unit_col: np.array(self.units, dtype=object)[self.unit_idx],
            self.time_col: labels[self.time_idx],
            self.outcome: self.y,
            "treated": self.treated_now,
        }
        if self.covariates is not None:
            for j, name in enumerate(self.covariate_names):
                data[name] = self.covariates[:, j]
        if self.weights is not None:
            data["weight"] = self.weights
        return pd.DataFrame(data)

    def with_outcome(self, y: np.ndarray, name: str | None = None) -> Panel:
        """The same panel with another outcome vector (used by invariance checks)."""
        from dataclasses import replace

        return replace(self, y=np.asarray(y, dtype=float), outcome=name or self.outcome)


# --------------------------------------------------------------------------- loading

_START_OPTIONS = ("--comparators", "--treated", "--treated-col")
_NEVER_SPELLINGS = ("", "0", "never")
_SUPPRESSED = re.compile(r"^(\.\.|\.|-+|–|—|:|\*|x|c|z|u|n/?a|na|n\.a\.|none|null|"
                         r"\[[a-z]\]|suppressed|missing)$", re.IGNORECASE)
_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+$")
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")
_UNITS = re.compile(r"^[-+]?[£$€]?\s*[\d.,]+\s*(%|k|m|bn)?$", re.IGNORECASE)


@dataclass(frozen=True)
class _Rows:
    """Positions in a (possibly concatenated) frame -> file name and spreadsheet rows.

    ``parts`` holds (file label, number of rows) in concatenation order; spreadsheet rows
    count the header as row 1, so position 0 of a file is row 2.
    """

    parts: tuple[tuple[str, int], ...]

    def locate(self, mask: pd.Series | np.ndarray, limit: int = 5) -> tuple[str, str]:
        """(file, 'row 5' / 'rows 5, 9 and 3 more') for the first offending file."""
        positions = np.flatnonzero(np.asarray(mask, dtype=bool))
        if not len(positions):
            return self.parts[0][0], "no rows"
        ends = np.cumsum([n for _, n in self.parts])
        part = int(np.searchsorted(ends, positions[0], side="right"))
        part = min(part, len(self.parts) - 1)
        begin = int(ends[part - 1]) if part else 0
        here = positions[(positions >= begin) & (positions < ends[part])] - begin + 2
        text = ("row " if len(here) == 1 else "rows ") + first_items(here.tolist(), limit)
        elsewhere = len(positions) - len(here)
        if elsewhere:
            text += f" (and {elsewhere} in other files)"
        return self.parts[part][0], text


def _one_line(exc: LpipEvalError) -> LpipEvalError:
    """The error with line breaks (from column names or cells) shown as \\n: one line."""
    def flat(text: str) -> str:
        return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r")

    if "\n" not in str(exc) and "\r" not in str(exc):
        return exc
    return type(exc)(flat(exc.message), flat(exc.hint) if exc.hint else None)


def load_panel(spec: PanelSpec) -> Panel:
    """Read the file(s) named in ``spec`` and build a validated :class:`Panel`."""
    try:
        return _load_panel(spec)
    except LpipEvalError as exc:
        raise _one_line(exc) from None


def _load_panel(spec: PanelSpec) -> Panel:
    import pandas as pd

    option = spec.treatment_option()
    main = read_table(spec.data, text_columns=(spec.area_col,))
    sources = [_input_file(spec.data, len(main))]
    source = display_path(spec.data)
    parts = [(source, len(main))]
    pilot_areas: set[str] = set()
    if spec.comparators is not None:
        comp_source = display_path(spec.comparators)
        comp = read_table(spec.comparators, text_columns=(spec.area_col,))
        sources.append(_input_file(spec.comparators, len(comp)))
        _check_same_columns(main, comp, source, comp_source)
        for frame, name in ((main, source), (comp, comp_source)):
            _require_columns(frame, (spec.area_col,), name)
        pilot = _area_strings(main[spec.area_col])
        comparators = _area_strings(comp[spec.area_col])
        pilot_areas = set(pilot) - {""}
        in_both = comparators.isin(pilot_areas)
        if in_both.any():
            overlap = sorted(set(comparators[in_both]))
            _, where = _Rows(((comp_source, len(comp)),)).locate(in_both)
            raise DataError(
                f"{comp_source}: area{'s' if len(overlap) > 1 else ''} {first_items(overlap)} "
                f"({where}) {'are' if len(overlap) > 1 else 'is'} also in the pilot file {source}",
                hint="an area is either a pilot area or a comparison area: remove it from one file",
            )
        main = pd.concat([main, comp], ignore_index=True)
        parts.append((comp_source, len(comp)))
        source = f"{source} + {comp_source}"
    return _panel_from_frame(main, spec, source=source, sources=tuple(sources),
                             option=option, pilot_areas=pilot_areas, row_sources=tuple(parts))


def _input_file(path: Path, rows: int) -> InputFile:
    return InputFile(path=display_path(path), sha256=sha256_of(path), rows=rows)


def panel_from_frame(
    frame: pd.DataFrame,
    spec: PanelSpec,
    *,
    source: str = "data",
    sources: tuple[InputFile, ...] = (),
    option: str | None = None,
    pilot_areas: set[str] | None = None,
    row_sources: tuple[tuple[str, int], ...] | None = None,
) -> Panel:
    """Build a Panel from an in-memory DataFrame (which is not modified).

    ``row_sources`` maps row positions back to files when ``frame`` is several files
    concatenated: (file label, rows) per file, in order. Every problem with the data is
    raised as a one-line :class:`LpipEvalError`; nothing else escapes for any DataFrame.
    """
    try:
        return _panel_from_frame(frame, spec, source=source, sources=sources, option=option,
                                 pilot_areas=pilot_areas, row_sources=row_sources)
    except LpipEvalError as exc:
        raise _one_line(exc) from None


def _panel_from_frame(
    frame: pd.DataFrame,
    spec: PanelSpec,
    *,
    source: str,
    sources: tuple[InputFile, ...],
    option: str | None,
    pilot_areas: set[str] | None,
    row_sources: tuple[tuple[str, int], ...] | None,
) -> Panel:
    option = option or spec.treatment_option()
    frame = _normalised(frame, source)
    rows = _Rows(row_sources if row_sources and sum(n for _, n in row_sources) == len(frame)
                 else ((source, len(frame)),))
    _check_roles(spec, spec.outcome)
    outcome = spec.outcome or _infer_outcome(frame, spec, source)
    _check_roles(spec, outcome)
    extra = [c for c in (spec.treated_col, spec.treatment_col, spec.first_treated_col,
                         spec.weights_col, spec.cluster_col) if c]
    _require_columns(frame, [spec.area_col, spec.period_col, outcome, *extra, *spec.covariates],
                     source)
    warnings: list[str] = []

    areas = _area_strings(frame[spec.area_col])
    empty_area = (areas == "").to_numpy()
    if empty_area.any():
        file, where = rows.locate(empty_area)
        raise DataError(
            f"{file}: column '{spec.area_col}' is empty in {where}",
            hint="every row needs an area identifier",
        )
    _check_gss_codes(areas, spec.area_col, rows)
    parsed = _parse_period_column(frame[spec.period_col], spec.period_col, rows, source)
    ordinals = parsed.ordinals

    y = _numeric_column(frame, outcome, rows, role="outcome")
    _check_duplicates(areas, ordinals, parsed.frequency, spec, rows)

    units_arr, unit_idx = np.unique(areas.to_numpy(dtype=str), return_inverse=True)
    units = tuple(str(u) for u in units_arr)
    unit_idx = unit_idx.astype(np.int64)
    first_treated = _first_treated(
        frame, spec, option, areas, ordinals, units, unit_idx, parsed, rows, source,
        pilot_areas or set(),
    )

    covariates = None
    if spec.covariates:
        covariates = np.column_stack(
            [_numeric_column(frame, c, rows, role="covariate") for c in spec.covariates]
        )
    weights = None
    if spec.weights_col:
        weights = _numeric_column(frame, spec.weights_col, rows, role="weights")
        bad = ~np.isfinite(weights) | (weights <= 0)
        if bad.any():
            file, where = rows.locate(bad)
            first = weights[bad][0]
            found = "empty" if np.isnan(first) else f"{first:g}"
            raise DataError(
                f"{file}: weights column '{spec.weights_col}' must be positive, found {found} "
                f"in {where}",
                hint="analytic weights (e.g. population) must be positive numbers in every row",
            )
    cluster_idx = None
    if spec.cluster_col:
        clusters = _area_strings(frame[spec.cluster_col])
        empty = (clusters == "").to_numpy()
        if empty.any():
            file, where = rows.locate(empty)
            raise DataError(f"{file}: cluster column '{spec.cluster_col}' is empty in {where}",
                            hint="every row needs a cluster")
        cluster_idx = _codes(clusters)

    # Rows with a missing outcome (or covariate) are left out, and said so.
    keep = np.isfinite(y)
    if not keep.any():
        raise DataError(f"{source}: outcome column '{outcome}' is empty in every row",
                        hint="check --outcome names the column that holds the outcome")
    if covariates is not None:
        keep &= np.isfinite(covariates).all(axis=1)
    if not keep.all():
        dropped_areas = sorted(set(np.array(units)[unit_idx[~keep]]))
        n_left = int((~keep).sum())
        warnings.append(
            f"{n_left} {'row' if n_left == 1 else 'rows'} with a missing {outcome}"
            f"{' or covariate' if covariates is not None else ''} "
            f"{'was' if n_left == 1 else 'were'} left out (areas {first_items(dropped_areas)})"
        )

    period_values, time_idx = np.unique(ordinals[keep], return_inverse=True)
    order = np.lexsort((time_idx, unit_idx[keep]))
    kept_units = np.unique(unit_idx[keep])
    if len(kept_units) < len(units):
        lost = [units[i] for i in np.setdiff1d(np.arange(len(units)), kept_units)]
        warnings.append(f"areas {first_items(lost)} have no {outcome} values and were left out")
    remap = np.full(len(units), -1, dtype=np.int64)
    remap[kept_units] = np.arange(len(kept_units))
    units_kept = tuple(units[i] for i in kept_units)
    names = _area_names(frame, areas, spec.area_col)

    panel = Panel(
        outcome=outcome,
        unit_col=spec.area_col,
        time_col=spec.period_col,
        frequency=parsed.frequency,
        units=units_kept,
        period_ordinals=period_values.astype(np.int64),
        unit_idx=remap[unit_idx[keep]][order],
        time_idx=time_idx[order].astype(np.int64),
        y=y[keep][order],
        first_treated=first_treated[kept_units],
        covariate_names=tuple(spec.covariates),
        covariates=None if covariates is None else covariates[keep][order],
        weights=None if weights is None else weights[keep][order],
        cluster_idx=None if cluster_idx is None else cluster_idx[keep][order],
        cluster_col=spec.cluster_col,
        sources=sources,
        warnings=tuple(warnings),
        unit_names={u: names[u] for u in units_kept if u in names},
        source=source,
    )
    _check_design_basics(panel, source, spec, option)
    return panel


# --------------------------------------------------------------------------- checks


def _codes(values: pd.Series) -> np.ndarray:
    """Sorted integer codes of text values."""
    import pandas as pd

    return np.asarray(pd.factorize(values.to_numpy(dtype=str), sort=True)[0], dtype=np.int64)


def _normalised(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """A new frame with text column names and positions as index (the caller's is untouched)."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{source}: expected a table (DataFrame), got {type(frame).__name__}",
                        hint="pass a pandas DataFrame")
    names = [str(c) for c in frame.columns]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DataError(f"{source}: column '{name}' appears more than once",
                            hint="rename or remove the duplicate columns")
        seen.add(name)
    if len(frame) == 0:
        raise DataError(f"{source}: has no data rows",
                        hint="check the file has data below its header")
    return frame.set_axis(names, axis=1).reset_index(drop=True)


def _check_roles(spec: PanelSpec, outcome: str | None) -> None:
    """Each column plays one role; two options naming the same column is a usage error."""
    given = [("--area-col", spec.area_col), ("--period-col", spec.period_col),
             ("--outcome", outcome), ("--treated-col", spec.treated_col),
             ("--treatment-col", spec.treatment_col),
             ("--first-treated-col", spec.first_treated_col),
             ("--weights-col", spec.weights_col),
             *(("--covariates", c) for c in spec.covariates)]
    seen: dict[str, str] = {}
    for option, column in given:
        if column is None:
            continue
        if column in seen:
            raise UsageError(f"column '{column}' is given as both {seen[column]} and {option}",
                             hint="each column plays one role")
        seen[column] = option


def _area_strings(values: pd.Series) -> pd.Series:
    """Ids as text ("" where missing): whole numbers lose any '.0', spaces are stripped."""
    import pandas as pd

    missing = np.asarray(values.isna(), dtype=bool)
    if pd.api.types.is_float_dtype(values.dtype):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(numbers)
        whole = finite & (np.abs(numbers) < 2.0**53)
        whole[whole] = numbers[whole] == np.round(numbers[whole])
        if (whole | ~finite)[~missing].all():  # 7.0 -> '7'; inf stays 'inf'
            text = np.where(whole, numbers, 0).astype(np.int64).astype(str).astype(object)
            text = np.where(finite, text, numbers.astype(str).astype(object))
            return pd.Series(np.where(missing, "", text), dtype=object)
    stripped = values.astype("string").str.strip().fillna("").to_numpy(dtype=object)
    return pd.Series(np.where(missing, "", stripped), dtype=object)


def _closest(name: str, options: list[str], what: str = "columns are") -> str:
    """A 'did you mean' hint: same name in other case, a longer name it starts, or difflib's."""
    lower = name.lower().strip()
    match = [o for o in options if o.lower().strip() == lower]
    match = match or [o for o in options if lower and o.lower().startswith(lower)][:1]
    match = match or difflib.get_close_matches(name, options, n=1, cutoff=0.5)
    if match:
        return f"did you mean '{match[0]}'?"
    return f"{what}: {first_items(options, 12)}"


def _require_columns(frame: pd.DataFrame, columns: object, source: str) -> None:
    present = [str(c) for c in frame.columns]
    for column in columns:  # type: ignore[attr-defined]
        if column not in present:
            if len(present) == 1 and any(d in present[0] for d in ";\t|, "):
                sep = "spaces" if " " in present[0] and "," not in present[0] else "a delimiter"
                raise DataError(
                    f"{source}: found one column '{present[0][:60]}', not '{column}': the values "
                    f"seem to be separated by {sep}",
                    hint="save the file as CSV (comma-separated), or with ; tab or | between "
                    "values",
                )
            raise DataError(f"{source}: no column '{column}'", hint=_closest(column, present))


def _check_same_columns(main: pd.DataFrame, comp: pd.DataFrame, source: str,
                        comp_source: str) -> None:
    missing = [str(c) for c in main.columns if c not in comp.columns]
    extra = [str(c) for c in comp.columns if c not in main.columns]
    if not missing and not extra:
        return
    renamed = []
    for m in list(missing):
        match = [e for e in extra if e.lower().replace(" ", "_") == m.lower().replace(" ", "_")]
        if match:
            renamed.append(f"'{match[0]}' instead of '{m}'")
            missing.remove(m)
            extra.remove(match[0])
    parts = renamed.copy()
    if missing:
        parts.append(f"no column {first_items(missing)}")
    if extra:
        parts.append(f"extra column {first_items(extra)}")
    raise DataError(
        f"{comp_source}: columns differ from the pilot file {source}: {'; '.join(parts)}",
        hint="both files need the same columns with the same names (drop or rename columns "
        "so that they match)",
    )


def _infer_outcome(frame: pd.DataFrame, spec: PanelSpec, source: str) -> str:
    import pandas as pd

    roles = {spec.area_col, spec.period_col, spec.treated_col, spec.treatment_col,
             spec.first_treated_col, spec.weights_col, spec.cluster_col, *spec.covariates}
    numeric = [c for c in frame.columns
               if c not in roles and pd.api.types.is_numeric_dtype(frame[c].dtype)
               and not pd.api.types.is_bool_dtype(frame[c].dtype)]
    if len(numeric) == 1:
        return str(numeric[0])
    hint = (f"give --outcome COL; numeric columns: {first_items(numeric, 8)}" if numeric else
            "give --outcome COL (no column holds only numbers: text such as '..' makes a "
            "column text)")
    raise UsageError(
        f"{source}: --outcome is needed ({len(numeric)} numeric columns could be the outcome)",
        hint=hint,
    )


def _text_hint(value: str, role: str) -> str:
    if _SUPPRESSED.match(value):
        return (f"{value!r} marks a missing or suppressed value: leave those cells empty "
                f"(rows with a missing {role} are left out, with a warning)")
    if _THOUSANDS.match(value):
        return "remove the thousands separators (write 1234, not 1,234)"
    if _DECIMAL_COMMA.match(value):
        return "the file uses decimal commas: save it with decimal points (76.5, not 76,5)"
    if _UNITS.match(value):
        return "remove units and symbols such as %, £ or k: the column must hold plain numbers"
    return "the column must hold only numbers; leave missing values empty"


def _numeric_column(frame: pd.DataFrame, column: str, rows: _Rows, *, role: str) -> np.ndarray:
    """A column as float64 (NaN where empty); text, dates or infinities raise DataError."""
    import pandas as pd

    values = frame[column]
    dtype = values.dtype
    what = f"{role} column '{column}'"
    if (pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype)
            or isinstance(dtype, pd.PeriodDtype)):
        raise DataError(f"{rows.parts[0][0]}: {what} holds dates, not numbers",
                        hint="check the column name")
    if pd.api.types.is_complex_dtype(dtype):
        raise DataError(f"{rows.parts[0][0]}: {what} holds complex numbers",
                        hint="use real numbers")
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
    else:
        text = values.astype("string").str.strip()
        blank = text.isna() | text.isin(["", "NA", "NaN", "nan"])
        converted = pd.to_numeric(text.mask(blank), errors="coerce")
        numbers = np.asarray(converted.to_numpy(dtype=float, na_value=np.nan), dtype=float)
        bad = (np.isnan(numbers) & ~blank.to_numpy(dtype=bool))
        if bad.any():
            first = str(text[bad].iloc[0])
            file, where = rows.locate(bad)
            n_bad = int(bad.sum())
            raise DataError(
                f"{file}: {what} has text in {n_bad} row{'s' if n_bad > 1 else ''}, e.g. "
                f"{first[:40]!r} in {where}",
                hint=_text_hint(first, role),
            )
    infinite = np.isinf(numbers)
    if infinite.any():
        file, where = rows.locate(infinite)
        raise DataError(f"{file}: {what} has infinite values in {where}",
                        hint="replace them by the true value, or leave the cells empty")
    return numbers


def _check_gss_codes(areas: pd.Series, column: str, rows: _Rows) -> None:
    """Where most ids look like ONS GSS codes (E06000023), every id must be one."""
    unique = areas.drop_duplicates()
    looks = unique.str.match(GSS_LIKE.pattern).to_numpy(dtype=bool)
    if not len(looks) or looks.mean() < 0.5:
        return
    bad = unique[~unique.str.match(GSS_PATTERN.pattern).to_numpy(dtype=bool)].tolist()
    if bad:
        file, where = rows.locate((areas == bad[0]).to_numpy())
        problem = ("lower case" if GSS_PATTERN.match(str(bad[0]).upper()) else
                   f"{len(str(bad[0])) - 1} digits" if GSS_LIKE.match(str(bad[0])) else
                   "not a GSS code")
        others = f" (also {first_items(bad[1:], 3)})" if len(bad) > 1 else ""
        raise DataError(
            f"{file}: column '{column}' holds ONS GSS codes, but {bad[0]!r} in {where} is "
            f"malformed ({problem}){others}",
            hint="a GSS code is a capital letter and 8 digits, e.g. E06000023; check for "
            "lost leading zeros or typing errors",
        )


def _parse_period_column(values: pd.Series, column: str, rows: _Rows,
                         source: str) -> ParsedPeriods:
    """Parse periods; with several files, an error names the file and its own rows."""
    try:
        return parse_periods(values, source=rows.parts[0][0] if len(rows.parts) == 1 else source,
                             column=column)
    except DataError:
        if len(rows.parts) == 1:
            raise
    found: list[tuple[str, ParsedPeriods, object]] = []
    begin = 0
    for label, n in rows.parts:
        part = values.iloc[begin:begin + n].reset_index(drop=True)
        found.append((label, parse_periods(part, source=label, column=column), part.iloc[0]))
        begin += n
    shown = "; ".join(f"{label} has {parsed.frequency} periods (row 2: {first!r})"
                      for label, parsed, first in found)
    raise DataError(f"column '{column}' differs between the files: {shown}",
                    hint="write the periods the same way in every file")


def _check_duplicates(areas: pd.Series, ordinals: np.ndarray, frequency: Frequency,
                      spec: PanelSpec, rows: _Rows) -> None:
    import pandas as pd

    key = pd.DataFrame({"a": areas.to_numpy(dtype=str), "t": ordinals})
    dup = key.duplicated(keep=False).to_numpy(dtype=bool)
    if dup.any():
        first = int(np.flatnonzero(dup)[0])
        area, period = key["a"].iloc[first], int(key["t"].iloc[first])
        same = dup & (key["a"] == area).to_numpy() & (ordinals == period)
        file, where = rows.locate(same)
        n_dup = int(dup.sum())
        more = f"; {n_dup - int(same.sum())} more duplicate rows" if n_dup > same.sum() else ""
        raise DataError(
            f"{file}: area '{area}' has more than one row for {spec.period_col} "
            f"{period_label(period, frequency)} ({where}{more})",
            hint="keep one row per area and period (remove repeated rows or aggregate first)",
        )


def _area_names(frame: pd.DataFrame, areas: pd.Series, area_col: str) -> dict[str, str]:
    """Area names from a name column, if the data has one."""
    for name_col in ("area_name", "name", "areanm", "LAD_name"):
        if name_col in frame.columns and name_col != area_col:
            names = _area_strings(frame[name_col])
            first = ~areas.duplicated()
            return {str(a): str(n) for a, n in zip(areas[first], names[first], strict=True) if n}
    return {}


def _start_ordinal(spec: PanelSpec, parsed: ParsedPeriods, source: str) -> int:
    try:
        return parse_period_value(spec.start or "", parsed.frequency, option="--start")
    except DataError as exc:
        first, last = parsed.ordinals.min(), parsed.ordinals.max()
        span = (f"the data runs from {period_label(int(first), parsed.frequency)} to "
                f"{period_label(int(last), parsed.frequency)}")
        raise DataError(f"{source}: {exc.message}", hint=f"{exc.hint}; {span}") from None


def _first_treated(
    frame: pd.DataFrame,
    spec: PanelSpec,
    option: str,
    areas: pd.Series,
    ordinals: np.ndarray,
    units: tuple[str, ...],
    unit_idx: np.ndarray,
    parsed: ParsedPeriods,
    rows: _Rows,
    source: str,
    pilot_areas: set[str],
) -> np.ndarray:
    """Per unit (sorted ``units``): the ordinal of its first treated period, NEVER if none."""
    import pandas as pd

    first = np.full(len(units), NEVER, dtype=np.int64)
    if option in _START_OPTIONS:
        start = _start_ordinal(spec, parsed, source)
        if option == "--comparators":
            treated = pilot_areas
        elif option == "--treated":
            treated = {a.strip() for a in spec.treated}
            unknown = [a for a in sorted(treated) if a not in set(units)]
            if unknown:
                raise DataError(
                    f"{source}: treated area {first_items(unknown)} is not in column "
                    f"'{spec.area_col}'",
                    hint=_closest(unknown[0], list(units), what="areas include"),
                )
        else:
            column = spec.treated_col or ""
            flag = _binary_column(frame, column, rows)
            _check_constant_within_area(flag, unit_idx, units, column, rows,
                                        hint="--treated-col marks treated areas in every "
                                        "period; for a start that differs by area use "
                                        "--treatment-col or --first-treated-col")
            treated = set(np.array(units)[np.unique(unit_idx[flag == 1])].tolist())
        first[np.isin(np.array(units, dtype=object), list(treated))] = start
        return first

    if option == "--treatment-col":
        column = spec.treatment_col or ""
        flag = _binary_column(frame, column, rows)
        on = flag == 1
        if on.any():
            starts = pd.Series(ordinals[on]).groupby(unit_idx[on]).min()
            first[starts.index.to_numpy()] = starts.to_numpy()
        # Treatment must stay on once started.
        off_again = ~on & (ordinals > first[unit_idx])
        if off_again.any():
            k = int(np.flatnonzero(off_again)[0])
            file, where = rows.locate(np.arange(len(flag)) == k)
            raise DataError(
                f"{file}: column '{column}' switches off again in area '{units[unit_idx[k]]}' "
                f"at {period_label(int(ordinals[k]), parsed.frequency)} ({where}), after "
                f"starting at {period_label(int(first[unit_idx[k]]), parsed.frequency)}",
                hint="a treatment is assumed to stay on once started: mark every period from "
                "the start on with 1",
            )
        return first

    column = spec.first_treated_col or ""
    text = _area_strings(frame[column])
    parsed_first = np.full(len(text), NEVER, dtype=np.int64)
    codes, uniques = pd.factorize(text.to_numpy(dtype=str))
    for k, value in enumerate(uniques):
        if str(value).lower() in _NEVER_SPELLINGS:
            continue
        try:
            ordinal = parse_period_value(str(value), parsed.frequency, option="x")
        except DataError:
            file, where = rows.locate(codes == k)
            raise DataError(
                f"{file}: column '{column}' has {str(value)[:40]!r} in {where}, which is not "
                f"a {_singular(parsed.frequency)} like the periods in column '{spec.period_col}'",
                hint=f"write each area's first treated period like the periods in the data "
                f"(e.g. {period_label(int(ordinals.min()), parsed.frequency)}); empty or 0 = "
                "never treated",
            ) from None
        parsed_first[codes == k] = ordinal
    _check_constant_within_area(parsed_first, unit_idx, units, column, rows,
                                hint="each area has one first treated period, the same in all "
                                "its rows (empty or 0 if never treated)",
                                shown=text.to_numpy(dtype=str))
    first[unit_idx] = parsed_first
    return first


def _singular(frequency: Frequency) -> str:
    return {"financial-year": "financial year"}.get(frequency, frequency)


def _check_constant_within_area(values: np.ndarray, unit_idx: np.ndarray, units: tuple[str, ...],
                                column: str, rows: _Rows, *, hint: str,
                                shown: np.ndarray | None = None) -> None:
    """Raise DataError naming the first area whose rows disagree in ``column``."""
    import pandas as pd

    key = pd.DataFrame({"u": unit_idx, "v": values})
    varying = key.groupby("u")["v"].nunique()
    if not (varying > 1).any():
        return
    u = int(varying.index[(varying > 1).to_numpy()][0])
    in_area = unit_idx == u
    first_pos = int(np.flatnonzero(in_area)[0])
    other = in_area & (values != values[first_pos])
    other_pos = int(np.flatnonzero(other)[0])
    display = (values if shown is None else shown).tolist()  # plain Python values for repr
    file, where_a = rows.locate(np.arange(len(values)) == first_pos)
    _, where_b = rows.locate(np.arange(len(values)) == other_pos)
    n_bad = int((varying > 1).sum())
    more = f" ({n_bad - 1} more areas too)" if n_bad > 1 else ""
    raise DataError(
        f"{file}: column '{column}' changes within area '{units[u]}': "
        f"{display[first_pos]!r} in {where_a} but {display[other_pos]!r} in {where_b}{more}",
        hint=hint,
    )


def _binary_column(frame: pd.DataFrame, column: str, rows: _Rows) -> np.ndarray:
    text = _area_strings(frame[column]).str.lower()
    mapping = {"1": 1, "0": 0, "true": 1, "false": 0, "yes": 1, "no": 0}
    mapped = text.map(mapping)
    bad = mapped.isna().to_numpy(dtype=bool)
    if bad.any():
        first = str(text[bad].iloc[0])
        file, where = rows.locate(bad)
        found = "is empty" if first == "" else f"must be 0 or 1, but has {first[:40]!r}"
        raise DataError(
            f"{file}: column '{column}' {found} in {where}",
            hint="use 1 for treated and 0 for not treated, in every row",
        )
    return mapped.to_numpy(dtype=np.int64)


def _check_design_basics(panel: Panel, source: str, spec: PanelSpec, option: str) -> None:
    """Checks every design needs: some treated and some comparison areas, timing in range."""
    treated = panel.is_treated_unit
    if not treated.any():
        raise DesignError(
            f"{source}: no treated area has {panel.outcome} data",
            hint="check the treated areas (--treated, --comparators or the treatment column)",
        )
    if treated.all():
        raise DesignError(
            f"{source}: every area is treated ({first_items(panel.units)}), so there are no "
            "comparison areas",
            hint="add comparison areas (e.g. --comparators FILE)",
        )
    first_period, last_period = int(panel.period_ordinals[0]), int(panel.period_ordinals[-1])
    span = f"the data runs from {panel.label(first_period)} to {panel.label(last_period)}"
    starts = panel.first_treated[treated]
    by_start = option in _START_OPTIONS
    if (starts > last_period).all():
        what = (f"--start {spec.start}" if by_start else
                f"the earliest start ({panel.label(int(starts.min()))})")
        raise DesignError(
            f"{source}: {what} is after the last period with {panel.outcome} data "
            f"({panel.label(last_period)})",
            hint=f"there must be periods from the start on; {span}",
        )
    early = starts <= first_period
    if early.any():
        areas = [u for u, e in zip(panel.treated_units, early, strict=True) if e]
        if by_start:
            where = "before" if starts.min() < first_period else "at"
            message = (f"{source}: --start {spec.start} is {where} the first period with "
                       f"{panel.outcome} data ({panel.label(first_period)}), so there is no "
                       "period before the start")
        else:
            column = spec.treatment_col or spec.first_treated_col
            message = (f"{source}: treated area {first_items(areas)} starts at "
                       f"{panel.label(int(starts[early].min()))} (column '{column}'), not after "
                       f"the first period ({panel.label(first_period)}), so it has no "
                       "period before its start")
        raise DesignError(message, hint=f"DiD needs periods before the start; {span}")
    # Each treated area needs outcome data before its own start.
    before = panel.period_ordinals[panel.time_idx] < panel.first_treated[panel.unit_idx]
    has_pre = np.bincount(panel.unit_idx[before], minlength=panel.n_units) > 0
    lacking = [u for u, t, h in zip(panel.units, treated, has_pre, strict=True) if t and not h]
    if lacking:
        raise DesignError(
            f"{source}: treated area {first_items(lacking)} has no {panel.outcome} data before "
            f"its start ({panel.label(int(panel.first_treated[panel.units.index(lacking[0])]))})",
            hint="DiD compares each area with its own periods before the start: fill in the "
            "earlier values or drop the area",
        )
