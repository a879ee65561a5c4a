"""The Panel: validated area-by-period data with column roles and treatment timing.

``load_panel`` reads one file (treatment given by a column or by ``--treated``) or a pilot
file plus a comparators file, checks everything a user can get wrong, and returns a
:class:`Panel` holding plain NumPy arrays sorted by area then period. Every estimator
works from a Panel; nothing downstream re-validates user input; :func:`check_design_basics`
is what every design needs (treated and comparison areas, periods before the start). Column
checks live in :mod:`lpip_eval.data.columns`, treatment timing in :mod:`lpip_eval.data.timing`.

Every problem is one :class:`~lpip_eval.errors.LpipEvalError` line naming the file (with
two files, the one at fault), the column, area or period, and spreadsheet rows (header =
row 1), with a hint. Decisions: text in a numeric column ('..', 'n/a', '1,234') is an error,
not a silent missing value; rows with a missing outcome are left out with a warning, while
a missing covariate is kept as NaN (synthetic control averages what is there; regressions
call :meth:`Panel.complete_covariate_rows`); ``--start`` outside the data, or with no period
before it, is a design error (exit 4) while ``--start`` in another frequency than the data
is a data error (exit 3); contradictory options are usage errors (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import compress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lpip_eval.data import columns as col
from lpip_eval.data import nomis
from lpip_eval.data.boundaries import codes as boundary_codes
from lpip_eval.data.boundaries import findings
from lpip_eval.data.combine import boundary_mapping, combine_areas, lookup_mapping
from lpip_eval.data.periods import Frequency, period_label
from lpip_eval.data.read import InputFile, read_table, sha256_of
from lpip_eval.data.spec import (
    START_OPTIONS,
    PanelSpec,
    UsageError,
    check_roles,
    check_same_columns,
    infer_outcome,
    normalised,
    require_columns,
)
from lpip_eval.data.timing import (
    NEVER,
    first_treated,
    parse_period_column,
    period_index,
)
from lpip_eval.errors import DataError, DesignError, LpipEvalError, first_items
from lpip_eval.files import display_path

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["NEVER", "Panel", "PanelSpec", "UsageError", "load_panel", "panel_from_frame"]


@dataclass(frozen=True, eq=False)
class Panel:
    """Validated long-format panel for one outcome; rows sorted by area, then period.

    Per-row arrays: ``unit_idx`` (index into ``units``), ``time_idx`` (index into
    ``period_ordinals``), ``y`` (finite), optional ``covariates`` (rows x k; NaN where a
    value is missing), ``weights`` and ``cluster_idx``. Per-unit: ``first_treated`` ordinal
    (``NEVER`` for comparison areas) and ``unit_attributes`` (categorical column -> text
    per unit). ``source`` names the input file(s), for messages that must name them.
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
    unit_attributes: dict[str, np.ndarray] = field(default_factory=dict)
    aggregation: tuple[str, ...] = ()  # how rows were combined into areas (data.combine)
    microdata: bool = False  # several rows (individuals) per area and period

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
        return tuple(compress(self.units, self.is_treated_unit.tolist()))

    @property
    def comparison_units(self) -> tuple[str, ...]:
        return tuple(compress(self.units, (~self.is_treated_unit).tolist()))

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
        """A tidy DataFrame copy (area, period label, outcome, covariates, treated, ...)."""
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
        for name, values in self.unit_attributes.items():
            data.setdefault(name, values[self.unit_idx])
        return pd.DataFrame(data)

    def shape(self) -> dict[str, Any]:
        """The panel's size for a result's diagnostics: rows, areas, periods, frequency."""
        return {"n_obs": len(self.y), "n_units": self.n_units, "n_periods": self.n_periods,
                "frequency": self.frequency, "balanced": self.is_balanced}

    def with_outcome(self, y: np.ndarray, name: str | None = None) -> Panel:
        """The same panel with another outcome vector (used by invariance checks)."""
        return replace(self, y=np.asarray(y, dtype=float), outcome=name or self.outcome)

    def complete_covariate_rows(self) -> Panel:
        """The panel restricted to rows where every covariate is present (for regressions).

        Leaving rows out is said in a warning; areas or periods left without rows go too.
        Raises DesignError when what remains cannot be estimated (e.g. no treated area).
        """
        if self.covariates is None:
            return self
        complete = ~np.isnan(self.covariates).any(axis=1)
        if complete.all():
            return self
        n_left = int((~complete).sum())
        areas = [self.units[i] for i in np.unique(self.unit_idx[~complete])]
        if not complete.any():
            raise DesignError(
                f"{self.source}: every row has a missing covariate "
                f"({first_items(self.covariate_names)})",
                hint="fill in the covariates, or leave out the ones that are mostly empty",
            )
        s = n_left != 1
        panel = self._restricted(complete, (
            f"{n_left} row{'s' if s else ''} with a missing covariate {'were' if s else 'was'} "
            f"left out of the regression (areas {first_items(areas)})"),
            lost="have no row with every covariate")
        check_design_basics(panel, self.source,
                            after="after leaving out rows with a missing covariate, ")
        return panel

    def _restricted(self, rows: np.ndarray, warning: str, *, lost: str) -> Panel:
        """The panel on a subset of its rows, with a warning; areas and periods left without
        rows are dropped (areas with a second warning, '... {lost} and were left out')."""
        unit_has = np.bincount(self.unit_idx[rows], minlength=self.n_units) > 0
        period_has = np.bincount(self.time_idx[rows], minlength=self.n_periods) > 0
        warnings = [*self.warnings, warning]
        unit_idx, units = self.unit_idx[rows], self.units
        if not unit_has.all():
            gone = [u for u, h in zip(self.units, unit_has, strict=True) if not h]
            warnings.append(f"areas {first_items(gone)} {lost} and were left out")
            unit_idx = (np.cumsum(unit_has) - 1)[unit_idx]
            units = tuple(u for u, h in zip(self.units, unit_has, strict=True) if h)
        time_idx = self.time_idx[rows]
        if not period_has.all():
            time_idx = (np.cumsum(period_has) - 1)[time_idx]

        def take(values: np.ndarray | None) -> np.ndarray | None:
            return None if values is None else values[rows]

        return replace(
            self, units=units, period_ordinals=self.period_ordinals[period_has],
            unit_idx=unit_idx, time_idx=time_idx, y=self.y[rows],
            first_treated=self.first_treated[unit_has], covariates=take(self.covariates),
            weights=take(self.weights), cluster_idx=take(self.cluster_idx),
            warnings=tuple(warnings),
            unit_names={u: self.unit_names[u] for u in units if u in self.unit_names},
            unit_attributes={k: v[unit_has] for k, v in self.unit_attributes.items()},
        )


# --------------------------------------------------------------------------- loading


def load_panel(spec: PanelSpec, *, planned: bool = False) -> Panel:
    """Read the file(s) named in ``spec`` and build a validated :class:`Panel`.

    ``planned``: the start is a planned one (``lpip-eval plan``, ``[plan]``), so it may lie
    after the last period of the data; every estimating command leaves it False and refuses
    such a start (there is nothing to estimate from).
    """
    try:
        return _load_panel(spec, planned=planned)
    except LpipEvalError as exc:
        raise col.one_line(exc) from None


def _load_panel(spec: PanelSpec, *, planned: bool = False) -> Panel:
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
        check_same_columns(main, comp, source, comp_source)
        for frame, name in ((main, source), (comp, comp_source)):
            require_columns(frame, (spec.area_col,), name)
        pilot_areas = set(col.distinct_text(main[spec.area_col])[1].tolist()) - {""}
        comp_codes, comp_ids = col.distinct_text(comp[spec.area_col])
        shared = np.array([a in pilot_areas for a in comp_ids], dtype=bool)
        if shared.any():
            overlap = sorted(comp_ids[shared].tolist())
            _, where = col.Rows(((comp_source, len(comp)),)).locate(shared[comp_codes])
            raise DataError(
                f"{comp_source}: area{'s' if len(overlap) > 1 else ''} {first_items(overlap)} "
                f"({where}) {'are' if len(overlap) > 1 else 'is'} also in the pilot file {source}",
                hint="an area is either a pilot area or a comparison area: remove it from one file",
            )
        main = pd.concat([main, comp], ignore_index=True)
        parts.append((comp_source, len(comp)))
        source = f"{source} + {comp_source}"
    return _panel_from_frame(main, spec, source=source, sources=tuple(sources),
                             option=option, pilot_areas=pilot_areas, row_sources=tuple(parts),
                             planned=planned)


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
        raise col.one_line(exc) from None


def _panel_from_frame(
    frame: pd.DataFrame,
    spec: PanelSpec,
    *,
    source: str,
    sources: tuple[InputFile, ...],
    option: str | None,
    pilot_areas: set[str] | None,
    row_sources: tuple[tuple[str, int], ...] | None,
    planned: bool = False,
) -> Panel:
    option = option or spec.treatment_option()
    frame = normalised(frame, source)
    rows = col.Rows(row_sources if row_sources and sum(n for _, n in row_sources) == len(frame)
                    else ((source, len(frame)),))
    check_roles(spec, spec.outcome)
    outcome = spec.outcome or infer_outcome(frame, spec, source)
    check_roles(spec, outcome)
    extra = [c for c in (spec.treated_col, spec.treatment_col, spec.first_treated_col,
                         spec.weights_col, spec.cluster_col) if c]
    require_columns(frame, [spec.area_col, spec.period_col, outcome, *extra, *spec.covariates,
                            *spec.categoricals], source)
    n_rows = len(frame)
    frame, notices = nomis.prepare(frame, spec, outcome, source)
    if len(frame) != n_rows:  # one measure of a Nomis file kept: its rows renumbered
        frame = frame.reset_index(drop=True)
        rows = col.Rows(((source, len(frame)),))
    if spec.area_lookup is not None or spec.harmonise_boundaries:
        panel = _combined_panel(frame, spec, outcome, rows, source, sources, option,
                                pilot_areas or set(), planned)
        return replace(panel, warnings=(*notices, *panel.warnings))

    area_codes, ids = col.distinct_text(frame[spec.area_col])
    col.check_not_empty(area_codes, ids, f"column '{spec.area_col}' is empty", rows,
                        hint="every row needs an area identifier")
    col.check_gss_codes(area_codes, ids, spec.area_col, rows)
    parsed = parse_period_column(frame[spec.period_col], spec.period_col, rows, source,
                                 spec.period_type)
    areas = col.Areas(*col.sorted_codes(area_codes, ids))
    period_values, time_idx = period_index(parsed)
    n_periods = len(period_values)

    def cell(pos: int) -> str:
        period = period_label(int(period_values[time_idx[pos]]), parsed.frequency)
        return f"area '{areas.units[areas.idx[pos]]}' in {period}"

    y = col.numeric_column(frame, outcome, rows, role="outcome", describe=cell)
    order = col.row_order(
        areas.idx * n_periods + time_idx, len(areas.units) * n_periods, rows,
        repeats=spec.microdata,
        describe=lambda pos: (
            f"area '{areas.units[areas.idx[pos]]}' has more than one row for {spec.period_col} "
            f"{period_label(int(period_values[time_idx[pos]]), parsed.frequency)}"))
    first = first_treated(frame, spec, option, areas, parsed, rows, source, pilot_areas or set())

    covariates = None
    if spec.covariates:
        covariates = np.column_stack(
            [col.numeric_column(frame, c, rows, role="covariate", describe=cell)
             for c in spec.covariates])
    weights = _weights(frame, spec.weights_col, rows, cell) if spec.weights_col else None
    clusters = col.cluster_codes(frame, spec.cluster_col, rows) if spec.cluster_col else None
    attributes = col.unit_attributes(frame, spec.categoricals, areas, rows)

    def sort(values: np.ndarray) -> np.ndarray:
        return values if order is None else values[order]

    full = Panel(
        outcome=outcome, unit_col=spec.area_col, time_col=spec.period_col,
        frequency=parsed.frequency, units=areas.units, period_ordinals=period_values,
        unit_idx=sort(areas.idx), time_idx=sort(time_idx), y=sort(y), first_treated=first,
        covariate_names=tuple(spec.covariates),
        covariates=None if covariates is None else sort(covariates),
        weights=None if weights is None else sort(weights),
        cluster_idx=None if clusters is None else sort(clusters), cluster_col=spec.cluster_col,
        sources=sources, unit_names=col.area_names(frame, spec.area_col, areas), source=source,
        unit_attributes=attributes, microdata=spec.microdata,
    )
    # Rows with a missing outcome are left out, and said so; missing covariates stay NaN.
    keep = np.isfinite(full.y)
    if not keep.any():
        raise DataError(f"{source}: outcome column '{outcome}' is empty in every row",
                        hint="check --outcome names the column that holds the outcome")
    panel = full
    if not keep.all():
        n_left = int((~keep).sum())
        dropped = [full.units[i] for i in np.unique(full.unit_idx[~keep])]
        panel = full._restricted(keep, (
            f"{n_left} {'row' if n_left == 1 else 'rows'} with a missing {outcome} "
            f"{'was' if n_left == 1 else 'were'} left out (areas {first_items(dropped)})"),
            lost=f"have no {outcome} values")
    check_design_basics(panel, source,
                        start_option=f"--start {spec.start}" if option in START_OPTIONS else None,
                        column=spec.treatment_col or spec.first_treated_col, planned=planned)
    panel = _with_boundary_findings(panel)
    return replace(panel, warnings=(*notices, *panel.warnings)) if notices else panel


def boundary_findings(panel: Panel) -> list[str]:
    """One sentence per merged district whose former codes are in the panel, naming them
    with the periods each code has data for (``data.boundaries.findings``)."""
    known = boundary_codes().intersection(panel.units)  # only those codes can have findings
    if not known:
        return []
    labels = panel.period_labels
    spans = {}
    for i, u in enumerate(panel.units):
        if u in known:
            periods = panel.time_idx[panel.unit_idx == i]
            spans[u] = (labels[int(periods.min())], labels[int(periods.max())])
    return findings(spans)


def _with_boundary_findings(panel: Panel) -> Panel:
    """The panel with a warning per merged district whose former codes are in the data."""
    found = boundary_findings(panel)
    return replace(panel, warnings=(*panel.warnings, *found)) if found else panel


def _combined_panel(frame: pd.DataFrame, spec: PanelSpec, outcome: str, rows: col.Rows,
                    source: str, sources: tuple[InputFile, ...], option: str,
                    pilot_areas: set[str], planned: bool) -> Panel:
    """The panel of ``frame`` with its rows combined by the area lookup, then the boundary
    changes (``data.combine``); treated and pilot areas are mapped the same way."""
    if spec.area_lookup is not None:
        mapping = lookup_mapping(spec.area_lookup, spec.area_col, spec.lookup_weight_col)
        sources = (*sources, _input_file(spec.area_lookup, len(mapping.target)))
        rest = replace(spec, area_lookup=None)
    else:
        mapping, rest = boundary_mapping(), replace(spec, harmonise_boundaries=False)
    combined = combine_areas(frame, spec, outcome, rows, source, mapping)
    pilots = {mapping.target.get(a, a) for a in pilot_areas}
    others = {mapping.target.get(a, a) for a in mapping.target if a not in pilot_areas}
    if pilot_areas and pilots & others:
        both = sorted(pilots & others)
        raise DataError(f"{source}: area {first_items(both)} is made of pilot and comparison "
                        f"areas ({mapping.what})",
                        hint="an evaluated area is either a pilot area or a comparison area")
    rest = replace(rest, outcome=outcome, period_type=combined.period_type,
                   treated=tuple(mapping.target.get(t.strip(), t) for t in spec.treated))
    panel = _panel_from_frame(combined.frame, rest, source=source, sources=sources,
                              option=option, pilot_areas=pilots, row_sources=None,
                              planned=planned)
    return replace(panel, warnings=(*combined.warnings, *panel.warnings),
                   aggregation=(*combined.notes, *panel.aggregation))


def _weights(frame: pd.DataFrame, column: str, rows: col.Rows,
             cell: Callable[[int], str]) -> np.ndarray:
    """Analytic weights: positive numbers in every row."""
    weights = col.numeric_column(frame, column, rows, role="weights", describe=cell)
    bad = ~np.isfinite(weights) | (weights <= 0)
    if bad.any():
        file, where = rows.locate(bad)
        first = weights[bad][0]
        found = "empty" if np.isnan(first) else f"{first:g}"
        raise DataError(
            f"{file}: weights column '{column}' must be positive, found {found} in {where}",
            hint="analytic weights (e.g. population) must be positive numbers in every row",
        )
    return weights


def check_design_basics(panel: Panel, source: str, *, start_option: str | None = None,
                        column: str | None = None, after: str = "",
                        planned: bool = False) -> None:
    """Checks every design needs: some treated and some comparison areas, timing in range.

    ``start_option`` ('--start 2021Q3') when one start was given for all treated areas,
    ``column`` the timing column otherwise; ``after`` prefixes messages about a panel that
    lost rows ('after leaving out ..., '); ``planned`` allows starts after the data's end.
    """
    treated = panel.is_treated_unit
    where = f"{source}: {after}"
    if not treated.any():
        raise DesignError(
            f"{where}no treated area has {panel.outcome} data",
            hint="check the treated areas (--treated, --comparators or the treatment column)",
        )
    if treated.all():
        raise DesignError(
            f"{where}every area is treated ({first_items(panel.units)}), so there are no "
            "comparison areas",
            hint="add comparison areas (e.g. --comparators FILE)",
        )
    first_period, last_period = int(panel.period_ordinals[0]), int(panel.period_ordinals[-1])
    span = f"the data runs from {panel.label(first_period)} to {panel.label(last_period)}"
    starts = panel.first_treated[treated]
    if not planned and (starts > last_period).all():
        what = start_option or f"the earliest start ({panel.label(int(starts.min()))})"
        raise DesignError(
            f"{where}{what} is after the last period with {panel.outcome} data "
            f"({panel.label(last_period)})",
            hint=f"there must be periods from the start on; {span}",
        )
    early = starts <= first_period
    if early.any():
        names = [u for u, e in zip(panel.treated_units, early, strict=True) if e]
        if start_option:
            when = "before" if starts.min() < first_period else "at"
            message = (f"{where}{start_option} is {when} the first period with "
                       f"{panel.outcome} data ({panel.label(first_period)}), so there is no "
                       "period before the start")
        else:
            named = f" (column '{column}')" if column else ""
            message = (f"{where}treated area {first_items(names)} starts at "
                       f"{panel.label(int(starts[early].min()))}{named}, not after "
                       f"the first period ({panel.label(first_period)}), so it has no "
                       "period before its start")
        raise DesignError(message, hint=f"DiD needs periods before the start; {span}")
    # Each treated area needs outcome data before its own start: rows are sorted by area
    # then period, so an area's first row holds its first period.
    n_rows = np.bincount(panel.unit_idx, minlength=panel.n_units)
    first_row = np.cumsum(n_rows) - n_rows
    has_pre = panel.time_idx[first_row] < panel.start_position
    lacking = np.flatnonzero(treated & ~has_pre)
    if len(lacking):
        raise DesignError(
            f"{where}treated area {first_items([panel.units[i] for i in lacking])} has no "
            f"{panel.outcome} data before its start "
            f"({panel.label(int(panel.first_treated[lacking[0]]))})",
            hint="DiD compares each area with its own periods before the start: fill in the "
            "earlier values or drop the area",
        )
