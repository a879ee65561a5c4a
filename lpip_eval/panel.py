"""The Panel: validated area-by-period data with column roles and treatment timing.

``load_panel`` reads one file (treatment given by a column or by ``--treated``) or a pilot
file plus a comparators file, checks everything a user can get wrong, and returns a
:class:`Panel` holding plain NumPy arrays sorted by area then period. Every estimator
works from a Panel; nothing downstream re-validates user input.
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
from lpip_eval.periods import Frequency, parse_period_value, parse_periods, period_label

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
            raise UsageError(f"--start is not used with {option}", hint="the column gives the timing")
        return option


@dataclass(frozen=True, eq=False)
class Panel:
    """Validated long-format panel for one outcome; rows sorted by area, then period.

    Per-row arrays: ``unit_idx`` (index into ``units``), ``time_idx`` (index into
    ``period_ordinals``), ``y``, optional ``covariates`` (rows x k), ``weights`` and
    ``cluster_idx``. Per-unit: ``first_treated`` ordinal (``NEVER`` for comparison areas).
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


def load_panel(spec: PanelSpec) -> Panel:
    """Read the file(s) named in ``spec`` and build a validated :class:`Panel`."""
    option = spec.treatment_option()
    main = read_table(spec.data, text_columns=(spec.area_col,))
    sources = [_input_file(spec.data, len(main))]
    source = display_path(spec.data)
    pilot_areas: set[str] = set()
    if spec.comparators is not None:
        comp = read_table(spec.comparators, text_columns=(spec.area_col,))
        sources.append(_input_file(spec.comparators, len(comp)))
        _check_same_columns(main, comp, spec)
        for frame, path in ((main, spec.data), (comp, spec.comparators)):
            _require_columns(frame, (spec.area_col,), display_path(path))
        pilot_areas = set(_area_strings(main[spec.area_col]))
        import pandas as pd

        overlap = sorted(pilot_areas & set(_area_strings(comp[spec.area_col])))
        if overlap:
            raise DataError(
                f"{display_path(spec.comparators)}: areas {first_items(overlap)} are also in "
                f"the pilot file {source}",
                hint="an area is either a pilot area or a comparison area",
            )
        main = pd.concat([main, comp], ignore_index=True)
        source = f"{source} + {display_path(spec.comparators)}"
    return panel_from_frame(main, spec, source=source, sources=tuple(sources),
                            option=option, pilot_areas=pilot_areas)


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
) -> Panel:
    """Build a Panel from an in-memory DataFrame (which is not modified)."""
    import pandas as pd

    option = option or spec.treatment_option()
    roles = [spec.area_col, spec.period_col]
    extra = [c for c in (spec.treated_col, spec.treatment_col, spec.first_treated_col,
                         spec.weights_col, spec.cluster_col) if c]
    outcome = spec.outcome or _infer_outcome(frame, spec, source)
    _require_columns(frame, [*roles, outcome, *extra, *spec.covariates], source)
    warnings: list[str] = []

    areas = pd.Series(_area_strings(frame[spec.area_col]), index=frame.index)
    empty_area = areas.eq("") | frame[spec.area_col].isna()
    if empty_area.any():
        raise DataError(
            f"{source}: column '{spec.area_col}' is empty in rows {_rows(empty_area)}",
            hint="every row needs an area identifier",
        )
    _check_gss_codes(areas, spec.area_col, source)
    parsed = parse_periods(frame[spec.period_col], source=source, column=spec.period_col)
    ordinals = parsed.ordinals

    y = _numeric_column(frame, outcome, source, role="outcome")
    key = pd.DataFrame({"a": areas.to_numpy(), "t": ordinals})
    dup = key.duplicated(keep=False)
    if dup.any():
        first = key[dup].iloc[0]
        raise DataError(
            f"{source}: area '{first['a']}' has more than one row for period "
            f"{period_label(int(first['t']), parsed.frequency)} (rows {_rows(dup)})",
            hint="keep one row per area and period (aggregate duplicates first)",
        )

    units_arr, unit_idx = np.unique(areas.to_numpy(dtype=object).astype(str), return_inverse=True)
    units = tuple(str(u) for u in units_arr)
    first_treated = _first_treated(
        frame, spec, option, areas, ordinals, units, unit_idx, parsed.frequency, source,
        pilot_areas or set(),
    )

    covariates = None
    if spec.covariates:
        covariates = np.column_stack(
            [_numeric_column(frame, c, source, role="covariate") for c in spec.covariates]
        )
    weights = None
    if spec.weights_col:
        weights = _numeric_column(frame, spec.weights_col, source, role="weights")
        bad = ~np.isfinite(weights) | (weights <= 0)
        if bad.any():
            raise DataError(
                f"{source}: column '{spec.weights_col}' has missing, zero or negative weights "
                f"in rows {_rows(pd.Series(bad))}",
                hint="analytic weights must be positive numbers",
            )
    cluster_idx = None
    if spec.cluster_col:
        cluster_values = frame[spec.cluster_col].astype("string").fillna("")
        cluster_idx = pd.factorize(cluster_values.to_numpy(), sort=True)[0]

    # Rows with a missing outcome (or covariate) are left out, and said so.
    keep = np.isfinite(y)
    if covariates is not None:
        keep &= np.isfinite(covariates).all(axis=1)
    if not keep.all():
        dropped_areas = sorted(set(np.array(units)[unit_idx[~keep]]))
        warnings.append(
            f"{int((~keep).sum())} rows with a missing {outcome}"
            f"{' or covariate' if covariates is not None else ''} were left out "
            f"(areas {first_items(dropped_areas)})"
        )

    period_values, time_idx = np.unique(ordinals[keep], return_inverse=True)
    order = np.lexsort((time_idx, unit_idx[keep]))
    kept_units = np.unique(unit_idx[keep])
    if len(kept_units) < len(units):
        lost = [units[i] for i in sorted(set(range(len(units))) - set(kept_units.tolist()))]
        warnings.append(f"areas {first_items(lost)} have no {outcome} values and were left out")
    remap = np.full(len(units), -1, dtype=np.int64)
    remap[kept_units] = np.arange(len(kept_units))
    units_kept = tuple(units[i] for i in kept_units)

    names: dict[str, str] = {}
    for name_col in ("area_name", "name", "areanm", "LAD_name"):
        if name_col in frame.columns and name_col != spec.area_col:
            pairs = pd.DataFrame({"a": areas, "n": frame[name_col].astype("string")})
            names = {str(a): str(n) for a, n in pairs.drop_duplicates("a").itertuples(index=False)
                     if not pd.isna(n)}
            break

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
    )
    _check_design_basics(panel, source, spec)
    return panel


# --------------------------------------------------------------------------- checks


def _area_strings(values: pd.Series) -> list[str]:
    """Area ids as text: integers lose any '.0', surrounding spaces are removed."""
    import pandas as pd

    if pd.api.types.is_float_dtype(values.dtype):
        finite = values.dropna()
        if len(finite) and (finite == finite.round()).all():
            return [("" if pd.isna(v) else str(int(v))) for v in values]
    return [("" if pd.isna(v) else str(v).strip()) for v in values]


def _rows(mask: pd.Series | np.ndarray, limit: int = 5) -> str:
    """Spreadsheet row numbers (header = row 1) of the first offending rows."""
    positions = np.flatnonzero(np.asarray(mask))
    return first_items([int(p) + 2 for p in positions], limit)


def _closest(name: str, options: list[str]) -> str:
    match = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
    if match:
        return f"did you mean '{match[0]}'?"
    return f"columns are: {first_items(options, 12)}"


def _require_columns(frame: pd.DataFrame, columns: object, source: str) -> None:
    present = [str(c) for c in frame.columns]
    for column in columns:  # type: ignore[attr-defined]
        if column not in present:
            if len(present) == 1 and any(d in present[0] for d in ";\t|, "):
                raise DataError(
                    f"{source}: found one column '{present[0][:60]}', not '{column}'",
                    hint="the file may use a delimiter other than , ; tab or |: save it as CSV",
                )
            raise DataError(f"{source}: no column '{column}'", hint=_closest(column, present))


def _check_same_columns(main: pd.DataFrame, comp: pd.DataFrame, spec: PanelSpec) -> None:
    missing = [c for c in main.columns if c not in comp.columns]
    extra = [c for c in comp.columns if c not in main.columns]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {first_items(missing)}")
        if extra:
            parts.append(f"has extra {first_items(extra)}")
        raise DataError(
            f"{display_path(spec.comparators or '')}: columns differ from the pilot file "
            f"{display_path(spec.data)}: {'; '.join(parts)}",
            hint="both files need the same columns with the same names",
        )


def _infer_outcome(frame: pd.DataFrame, spec: PanelSpec, source: str) -> str:
    import pandas as pd

    roles = {spec.area_col, spec.period_col, spec.treated_col, spec.treatment_col,
             spec.first_treated_col, spec.weights_col, spec.cluster_col, *spec.covariates}
    numeric = [c for c in frame.columns
               if c not in roles and pd.api.types.is_numeric_dtype(frame[c].dtype)]
    if len(numeric) == 1:
        return str(numeric[0])
    raise UsageError(
        f"{source}: --outcome is needed ({len(numeric)} numeric columns could be the outcome)",
        hint=f"numeric columns: {first_items(numeric, 8)}" if numeric else "no numeric column found",
    )


def _numeric_column(frame: pd.DataFrame, column: str, source: str, *, role: str) -> np.ndarray:
    import pandas as pd

    values = frame[column]
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(float).to_numpy()
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy(dtype=float, na_value=np.nan)
    converted = pd.to_numeric(values, errors="coerce")
    bad = converted.isna() & values.notna() & values.astype("string").str.strip().ne("")
    if bad.any():
        first = values[bad].iloc[0]
        raise DataError(
            f"{source}: {role} column '{column}' has text, e.g. {str(first)!r} in rows {_rows(bad)}",
            hint="leave missing values empty; remove thousands separators and units",
        )
    return converted.to_numpy(dtype=float, na_value=np.nan)


def _check_gss_codes(areas: pd.Series, column: str, source: str) -> None:
    """Where most ids look like ONS GSS codes (E06000023), every id must be one."""
    unique = areas.drop_duplicates()
    looks = unique.str.match(GSS_LIKE.pattern)
    if looks.mean() < 0.5:
        return
    bad = unique[~unique.str.match(GSS_PATTERN.pattern)]
    if len(bad):
        raise DataError(
            f"{source}: column '{column}' holds ONS GSS codes but {first_items(bad.tolist())} "
            "is not one",
            hint="a GSS code is a capital letter and 8 digits, e.g. E06000023",
        )


def _first_treated(
    frame: pd.DataFrame,
    spec: PanelSpec,
    option: str,
    areas: pd.Series,
    ordinals: np.ndarray,
    units: tuple[str, ...],
    unit_idx: np.ndarray,
    frequency: Frequency,
    source: str,
    pilot_areas: set[str],
) -> np.ndarray:
    """Per unit (sorted ``units``): the ordinal of its first treated period, NEVER if none."""
    import pandas as pd

    first = np.full(len(units), NEVER, dtype=np.int64)
    if option in ("--comparators", "--treated", "--treated-col"):
        start = parse_period_value(spec.start or "", frequency, option="--start")
        if option == "--comparators":
            treated = pilot_areas
        elif option == "--treated":
            treated = set(spec.treated)
            unknown = [a for a in spec.treated if a not in set(units)]
            if unknown:
                raise DataError(
                    f"{source}: treated area {first_items(unknown)} is not in column "
                    f"'{spec.area_col}'",
                    hint=_closest(unknown[0], list(units)).replace("columns are", "areas include"),
                )
        else:
            flag = _binary_column(frame, spec.treated_col or "", source)
            per_area = pd.DataFrame({"a": areas, "f": flag}).groupby("a", sort=True)["f"]
            varying = per_area.nunique()
            if (varying > 1).any():
                bad = varying[varying > 1].index.tolist()
                raise DataError(
                    f"{source}: column '{spec.treated_col}' changes within area "
                    f"{first_items(bad)}",
                    hint="--treated-col marks treated areas in every period; for timing use "
                    "--treatment-col",
                )
            treated = set(per_area.max()[lambda s: s == 1].index.astype(str))
        mask = np.array([u in treated for u in units])
        first[mask] = start
        return first

    if option == "--treatment-col":
        flag = _binary_column(frame, spec.treatment_col or "", source)
        on = pd.DataFrame({"u": unit_idx, "t": ordinals, "d": flag})
        starts = on[on["d"] == 1].groupby("u")["t"].min()
        first[starts.index.to_numpy()] = starts.to_numpy()
        # Treatment must stay on once started.
        later_off = on[(on["d"] == 0) & (on["t"] > first[on["u"].to_numpy()])]
        if len(later_off):
            row = later_off.iloc[0]
            raise DataError(
                f"{source}: column '{spec.treatment_col}' switches off again in area "
                f"'{units[int(row['u'])]}' at {period_label(int(row['t']), frequency)}",
                hint="treatments are assumed to stay on once started",
            )
        return first

    column = spec.first_treated_col or ""
    raw = frame[column]
    never = raw.isna() | raw.astype("string").str.strip().isin(["", "0", "0.0", "never", "Never"])
    values = raw[~never]
    parsed = np.full(len(raw), NEVER, dtype=np.int64)
    if len(values):
        if pd.api.types.is_float_dtype(values.dtype):
            values = values.astype("int64")
        text_values = values.astype("string").str.strip()
        uniq = text_values.unique()
        lookup = {}
        for v in uniq:
            try:
                lookup[v] = parse_period_value(str(v), frequency, option=f"column '{column}'")
            except DataError as exc:
                raise DataError(f"{source}: {exc.message}", hint=exc.hint) from None
        parsed[(~never).to_numpy()] = text_values.map(lookup).to_numpy(dtype=np.int64)
    per_area = pd.DataFrame({"u": unit_idx, "f": parsed}).groupby("u")["f"]
    if (per_area.nunique() > 1).any():
        bad = [units[i] for i in per_area.nunique()[lambda s: s > 1].index]
        raise DataError(
            f"{source}: column '{column}' differs between periods of area {first_items(bad)}",
            hint="each area has one first treated period (empty or 0 if never treated)",
        )
    agg = per_area.first()
    first[agg.index.to_numpy()] = agg.to_numpy()
    return first


def _binary_column(frame: pd.DataFrame, column: str, source: str) -> np.ndarray:
    import pandas as pd

    raw = frame[column]
    if pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype(int).to_numpy()
    text = raw.astype("string").str.strip().str.lower()
    mapping = {"1": 1, "0": 0, "1.0": 1, "0.0": 0, "true": 1, "false": 0, "yes": 1, "no": 0}
    mapped = text.map(mapping)
    bad = mapped.isna()
    if bad.any():
        first = raw[bad].iloc[0]
        raise DataError(
            f"{source}: column '{column}' must be 0 or 1, found {str(first)!r} in rows "
            f"{_rows(bad)}",
            hint="use 1 for treated and 0 for not treated",
        )
    return mapped.to_numpy(dtype=np.int64)


def _check_design_basics(panel: Panel, source: str, spec: PanelSpec) -> None:
    """Checks every design needs: some treated and some comparison areas, timing in range."""
    treated = panel.is_treated_unit
    if not treated.any():
        raise DesignError(
            f"{source}: no treated area has outcome data",
            hint="check --treated / the treatment column",
        )
    if treated.all():
        raise DesignError(
            f"{source}: every area is treated, so there are no comparison areas",
            hint="add comparison areas (e.g. --comparators FILE)",
        )
    first_period, last_period = panel.period_ordinals[0], panel.period_ordinals[-1]
    starts = panel.first_treated[treated]
    if (starts > last_period).all():
        raise DesignError(
            f"{source}: treatment starts at {panel.label(int(starts.min()))}, after the last "
            f"period in the data ({panel.label(int(last_period))})",
            hint="check --start: there must be periods after it",
        )
    early = [u for u, s in zip(panel.treated_units, starts, strict=True) if s <= first_period]
    if early:
        raise DesignError(
            f"{source}: treated area {first_items(early)} is treated from the first period "
            f"({panel.label(int(first_period))}), so it has no pre-period",
            hint="DiD needs outcome data before the start",
        )
    # Each treated area needs outcome data before its own start.
    before = panel.period_ordinals[panel.time_idx] < panel.first_treated[panel.unit_idx]
    has_pre = np.bincount(panel.unit_idx[before], minlength=panel.n_units) > 0
    lacking = [u for u, t, h in zip(panel.units, treated, has_pre, strict=True) if t and not h]
    if lacking:
        raise DesignError(
            f"{source}: treated area {first_items(lacking)} has no {panel.outcome} before its "
            "start",
            hint="DiD compares each area with its own pre-period",
        )
