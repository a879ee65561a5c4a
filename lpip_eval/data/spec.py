"""Column roles: which column plays which role (:class:`PanelSpec`), and checks on names.

A column plays one role; the treatment is given one way; every named column exists (with a
'did you mean' hint when it does not); a comparators file has the pilot file's columns.
Contradictory options are :class:`UsageError` (exit 2), missing columns DataError (exit 3).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lpip_eval.errors import DataError, UsageError, closest, first_items
from lpip_eval.files import display_path

if TYPE_CHECKING:
    import pandas as pd

START_OPTIONS = ("--comparators", "--treated", "--treated-col")


def role(default: Any = dataclasses.MISSING, help: str = "", *, flag: str | None = None,
         config_help: str | None = None, no_cli: str | None = None,
         repeat: bool = False) -> Any:
    """A PanelSpec field with its documentation (the command-line help, the starter config and
    ``docs/config.md`` read it): ``flag`` where the option is not ``--key-with-dashes``,
    ``config_help`` where config files word it differently, ``no_cli`` why it has no option,
    ``repeat`` for a list given by repeating the option (else comma-separated)."""
    return dataclasses.field(default=default, metadata={
        "help": help, "flag": flag, "config_help": config_help, "no_cli": no_cli,
        "repeat": repeat})


@dataclass(frozen=True)
class PanelSpec:
    """Where the data is and which column plays which role (docs/design.md, "Input data").

    ``categoricals`` are text columns describing areas (region, urban/rural): each must be
    filled in and the same in every row of an area; they become ``Panel.unit_attributes``.
    """

    # role() returns a dataclasses.field (ruff cannot see that for Path-typed fields)
    data: Path = role(  # noqa: RUF009
        help="Data file (CSV, Parquet or Excel), long format: one row per area and period.",
        flag="DATA", config_help="Data file (CSV, Parquet or Excel), relative to the config "
        "file; with `comparators`, the pilot areas' file.")
    comparators: Path | None = role(  # noqa: RUF009
        None, "File of comparison areas (same columns); every area in DATA is then a pilot "
        "area. Needs --start.", config_help="File of comparison areas (same columns), relative "
        "to the config file; every area in `file` is then a pilot area. Needs `start`.")
    area_col: str = role("area", "Area identifier column.")
    period_col: str = role("period", "Period column (2019, 2019Q3, 2019-07, 2019/20, ISO "
                           "dates, or period numbers 1, 2, 3).")
    period_type: str | None = role(None, "How to read the periods: year, quarter, month, date, "
                                   "fy (financial year) or index (period numbers 1, 2, ...); "
                                   "default inferred (whole numbers 1800-2200 are years).")
    outcome: str | None = role(None, "Outcome column (needed unless the data has one numeric "
                               "non-role column).")
    treated: tuple[str, ...] = role((), "A treated area (repeatable). Needs --start.",
                                    config_help="Pilot area codes, as in the area column. "
                                    "Needs `start`.", repeat=True)
    start: str | None = role(None, "First treated period, e.g. 2021Q3.")
    treated_col: str | None = role(None, "Column that is 1 for treated areas in every period. "
                                   "Needs --start.")
    treatment_col: str | None = role(None, "Column that is 1 in treated area-periods (start per "
                                     "area).")
    first_treated_col: str | None = role(None, "Column with each area's first treated period; "
                                         "empty or 0 = never treated.")
    covariates: tuple[str, ...] = role((), "Comma-separated covariate columns (twfe, "
                                       "event-study).")
    weights_col: str | None = role(None, "Analytic weights column (e.g. population).")
    cluster_col: str | None = role(None, "Cluster column for cluster-robust inference "
                                   "(default: the area).")
    measure: str | None = role(None, "Nomis downloads: the MEASURES_NAME to use when the file "
                               "holds several (e.g. Variable).")
    microdata: bool = role(
        False, "Several rows per area and period (individuals, e.g. survey respondents): "
        "the TWFE regression runs on individuals with area-level inference; other designs "
        "use area-period means.")
    harmonise_boundaries: bool = role(
        False, "Combine former local authority district codes (the 2019-2023 mergers, "
        "followed transitively) into their successor in every period; needs --combine.")
    area_lookup: Path | None = role(  # noqa: RUF009
        None, "CSV mapping fine areas (LSOA, MSOA, ward) to the areas evaluated: a column "
        "named as --area-col and one column of target areas; needs --combine.",
        config_help="CSV mapping fine areas to the areas evaluated, relative to the config "
        "file: a column named as `area_col` and one column of target areas; needs `combine`.")
    combine: str | None = role(None, "How rows combined into one area add up: sum (counts), "
                               "mean (rates, weighted by --lookup-weight-col) or equal-mean.")
    lookup_weight_col: str | None = role(None, "Weights for --combine mean (e.g. population): "
                                         "a column of the area lookup or of the data.")
    categoricals: tuple[str, ...] = role(
        (), config_help="Text columns describing areas (region, urban/rural): each is the same "
        "in every row of an area.", no_cli="none: on the command line `match --exact` loads "
        "its columns")

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
        needs_start = option in START_OPTIONS
        if needs_start and self.start is None:
            raise UsageError(f"{option} needs --start PERIOD", hint="e.g. --start 2021Q3")
        if not needs_start and self.start is not None:
            raise UsageError(f"--start is not used with {option}",
                             hint=f"{option} gives the timing; drop --start")
        return option


def normalised(frame: pd.DataFrame, source: str) -> pd.DataFrame:
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


def check_roles(spec: PanelSpec, outcome: str | None) -> None:
    """Each column plays one role; two options naming the same column is a usage error."""
    given = [("--area-col", spec.area_col), ("--period-col", spec.period_col),
             ("--outcome", outcome), ("--treated-col", spec.treated_col),
             ("--treatment-col", spec.treatment_col),
             ("--first-treated-col", spec.first_treated_col),
             ("--weights-col", spec.weights_col),
             *(("--covariates", c) for c in spec.covariates),
             *(("--categoricals", c) for c in spec.categoricals)]
    seen: dict[str, str] = {}
    for option, column in given:
        if column is None:
            continue
        if column in seen:
            raise UsageError(f"column '{column}' is given as both {seen[column]} and {option}",
                             hint="each column plays one role")
        seen[column] = option


def require_columns(frame: pd.DataFrame, columns: Iterable[str], source: str) -> None:
    """Raise DataError for the first column the frame lacks, with a 'did you mean' hint."""
    present = [str(c) for c in frame.columns]
    for column in columns:
        if column not in present:
            if len(present) == 1 and any(d in present[0] for d in ";\t|, "):
                sep = "spaces" if " " in present[0] and "," not in present[0] else "a delimiter"
                raise DataError(
                    f"{source}: found one column '{present[0][:60]}', not '{column}': the values "
                    f"seem to be separated by {sep}",
                    hint="save the file as CSV (comma-separated), or with ; tab or | between "
                    "values",
                )
            raise DataError(f"{source}: no column '{column}'",
                            hint=closest(column, present, "columns are", limit=12))


def check_same_columns(main: pd.DataFrame, comp: pd.DataFrame, source: str,
                       comp_source: str) -> None:
    """The comparators file must have the pilot file's columns (renames are pointed out)."""
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


def infer_outcome(frame: pd.DataFrame, spec: PanelSpec, source: str) -> str:
    """The one numeric column without a role, else a UsageError asking for --outcome."""
    import pandas as pd

    roles = {spec.area_col, spec.period_col, spec.treated_col, spec.treatment_col,
             spec.first_treated_col, spec.weights_col, spec.cluster_col, *spec.covariates,
             *spec.categoricals}
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
