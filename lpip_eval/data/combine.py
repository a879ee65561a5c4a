"""Combining rows into the areas being evaluated: boundary changes and area lookups.

``--harmonise-boundaries`` maps former district codes to their successor
(:mod:`lpip_eval.data.boundaries`); ``--area-lookup FILE`` maps fine areas (LSOA, MSOA,
ward) to the evaluated areas. Either way the rows of one target area and period are combined
by ``--combine``: ``sum`` for counts, ``mean`` for rates (weighted by
``--lookup-weight-col``, a column of the lookup or of the data) or ``equal-mean`` (every
part counts the same, asked for explicitly). The outcome and covariates follow the rule;
analytic weights (``--weights-col``) add up; treatment and categorical columns must agree
within a target area and period. A target period missing a part that the area has in other
periods gets no value (and a warning naming it), so a sum never silently shrinks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from lpip_eval.data import columns as col
from lpip_eval.data.periods import period_label, period_type_of
from lpip_eval.data.timing import parse_period_column
from lpip_eval.errors import DataError, UsageError, closest, first_items

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from lpip_eval.data.spec import PanelSpec

RULES = ("sum", "mean", "equal-mean")


@dataclass
class Mapping:
    """Where each area code goes: ``target`` (code -> evaluated area; unlisted codes stay),
    ``parts`` (code -> the finest pieces it covers, for completeness and double counting),
    ``weights`` (fine code -> weight, from a lookup's weight column), ``names``."""

    what: str  # 'boundary changes' or 'area lookup lookup.csv'
    target: dict[str, str]
    parts: dict[str, frozenset[str]] = field(default_factory=dict)
    weights: dict[str, float] | None = None
    names: dict[str, str] = field(default_factory=dict)
    strict: bool = False  # every code must be listed (a lookup), not only those that move


@dataclass(frozen=True)
class Combined:
    """The combined frame (one row per target area and period), and what was done."""

    frame: pd.DataFrame
    period_type: str
    notes: tuple[str, ...]
    warnings: tuple[str, ...]


def boundary_mapping() -> Mapping:
    """Former district codes -> the code of their area today (``data.boundaries``)."""
    from lpip_eval.data import boundaries

    target = {c.old_code: boundaries.final_code(c.old_code) for c in boundaries.changes()}
    parts = {c: boundaries.leaves(c) for c in {*target, *target.values()}}
    return Mapping("boundary changes 2019-2023", target, parts, None, boundaries.names())


def lookup_mapping(path: Path, area_col: str, weight_col: str | None) -> Mapping:
    """An area lookup file: the column named ``area_col`` (fine codes), one column of target
    areas and optionally ``weight_col``; unmapped codes stay, a code mapped twice is an
    error naming it."""
    from lpip_eval.data.read import read_table
    from lpip_eval.files import display_path

    where = display_path(path)
    table = read_table(path, text_columns=tuple(str(c) for c in (area_col,)))
    columns = [str(c) for c in table.columns]
    if area_col not in columns:
        raise DataError(f"{where}: no column '{area_col}' (the fine areas, named as "
                        "--area-col)", hint=closest(area_col, columns, "columns are"))
    import pandas as pd

    others = [c for c in columns if c not in (area_col, weight_col)
              and not pd.api.types.is_numeric_dtype(table[c].dtype)]
    if len(others) != 1:
        raise DataError(f"{where}: expected one text column of target areas besides "
                        f"'{area_col}', found {len(others)} ({first_items(others)})",
                        hint="keep two columns (fine area, target area) and optionally the "
                        "--lookup-weight-col column")
    fine_codes, fine = col.distinct_text(table[area_col])
    to = col.area_strings(table[others[0]]).to_numpy(dtype=object)
    counts = np.bincount(fine_codes, minlength=len(fine))
    rows = col.Rows(((where, len(table)),))
    if (counts > 1).any():
        twice = [str(fine[k]) for k in np.flatnonzero(counts > 1)]
        _, at = rows.locate(np.isin(fine_codes, np.flatnonzero(counts > 1)))
        raise DataError(f"{where}: area {first_items(twice)} is mapped more than once ({at})",
                        hint="each fine area belongs to one target area")
    blank = (fine[fine_codes] == "") | (to == "")
    if blank.any():
        _, at = rows.locate(blank)
        raise DataError(f"{where}: empty area code ({at})", hint="fill in both codes")
    weights = None
    if weight_col and weight_col in columns:
        w = col.numeric_column(table, weight_col, rows, role="lookup weights")
        if not (np.isfinite(w) & (w > 0)).all():
            _, at = rows.locate(~(np.isfinite(w) & (w > 0)))
            raise DataError(f"{where}: lookup weights column '{weight_col}' must be positive "
                            f"({at})", hint="weights such as population are positive")
        weights = {str(fine[c]): float(v) for c, v in zip(fine_codes, w, strict=True)}
    target = {str(fine[c]): str(t) for c, t in zip(fine_codes, to, strict=True)}
    return Mapping(f"area lookup {where}", target, {}, weights, {}, strict=True)


def _rule(spec: PanelSpec, mapping: Mapping, n_combined: int) -> str | None:
    rule = spec.combine
    if rule is not None and rule not in RULES:
        raise UsageError(f"--combine {rule!r} is not a rule",
                         hint="use --combine sum (counts), mean (rates, with "
                         "--lookup-weight-col) or equal-mean")
    if rule is None and n_combined:
        raise UsageError(
            f"{mapping.what}: {n_combined} rows are combined into other areas, but --combine "
            "is not given",
            hint="give --combine sum for counts, or --combine mean --lookup-weight-col COL "
            "(e.g. population) for rates")
    if rule == "mean" and not spec.lookup_weight_col and mapping.weights is None:
        raise UsageError("--combine mean needs --lookup-weight-col COL (e.g. population)",
                         hint="or give --combine equal-mean to count every part the same")
    if rule != "mean" and spec.lookup_weight_col:
        raise UsageError(f"--lookup-weight-col is used with --combine mean, not {rule}",
                         hint="drop --lookup-weight-col, or use --combine mean")
    return rule


def combine_areas(frame: pd.DataFrame, spec: PanelSpec, outcome: str, rows: col.Rows,
                  source: str, mapping: Mapping) -> Combined:
    """Rows of ``frame`` combined into ``mapping``'s target areas (``frame`` unchanged)."""
    import pandas as pd

    codes, ids = col.distinct_text(frame[spec.area_col])
    parsed = parse_period_column(frame[spec.period_col], spec.period_col, rows, source,
                                 spec.period_type)
    periods, time_idx = np.unique(parsed.ordinals, return_inverse=True)
    if mapping.strict:
        unmapped = [str(a) for a in ids if a not in mapping.target]
        if unmapped:
            file, where = rows.locate(np.isin(codes, [k for k, a in enumerate(ids)
                                                      if a not in mapping.target]))
            raise DataError(f"{file}: area {first_items(unmapped)} ({where}) is not in the "
                            f"{mapping.what}", hint="add every area of the data to the lookup "
                            "(an area evaluated as it is maps to itself)")
    targets = np.array([mapping.target.get(a, a) for a in ids], dtype=object)
    target_names, target_idx = np.unique(targets[codes].astype(str), return_inverse=True)
    group = target_idx * len(periods) + time_idx
    n_groups = len(target_names) * len(periods)
    sizes = np.bincount(group, minlength=n_groups)
    rule = _rule(spec, mapping, int((sizes[sizes > 1] - 1).sum()))

    def label(g: int) -> str:
        return (f"area '{target_names[g // len(periods)]}' in "
                f"{period_label(int(periods[g % len(periods)]), parsed.frequency)}")

    warnings: list[str] = []
    incomplete = _check_parts(ids, codes, group, len(periods), target_names, mapping, label,
                              warnings)
    weight = _row_weights(frame, spec, rule, ids, codes, rows, mapping)
    present = np.bincount(group, minlength=n_groups) > 0
    out: dict[str, object] = {
        spec.area_col: target_names[np.flatnonzero(present) // len(periods)],
        spec.period_col: [period_label(int(periods[g % len(periods)]), parsed.frequency)
                          for g in np.flatnonzero(present)]}
    for name, role in ((outcome, "outcome"), *((c, "covariate") for c in spec.covariates)):
        values = col.numeric_column(frame, name, rows, role=role)
        combined = _combine(values, weight, group, n_groups, rule)
        combined[incomplete] = np.nan
        out[name] = combined[present]
    if spec.weights_col:
        values = col.numeric_column(frame, spec.weights_col, rows, role="weights")
        out[spec.weights_col] = _combine(values, None, group, n_groups, "sum")[present]
    kept = [c for c in (spec.treated_col, spec.treatment_col, spec.first_treated_col,
                        spec.cluster_col, *spec.categoricals) if c]
    for name in kept:
        out[name] = _agreed(frame, name, group, n_groups, rows, label)[present]
    name_col = next((c for c in col.NAME_COLUMNS if c in frame.columns), None)
    if name_col and name_col != spec.area_col:
        first = _agreed(frame, name_col, group, n_groups, rows, label, strict=False)[present]
        out[name_col] = [mapping.names.get(str(t), f) for t, f in
                         zip(out[spec.area_col], first, strict=True)]  # type: ignore[call-overload]
    n_moved = int(sum(mapping.target.get(a, a) != a for a in ids))
    how = {"sum": "summed", "mean": "weighted mean by "
           f"{spec.lookup_weight_col or 'the lookup weights'}",
           "equal-mean": "mean with equal weights", None: "relabelled"}[rule]
    notes = (f"{mapping.what}: {len(frame)} rows of {len(ids)} areas became "
             f"{int(present.sum())} rows of {len(target_names)} areas ({n_moved} area codes "
             f"mapped; {outcome} {how})",)
    return Combined(pd.DataFrame(out), period_type_of(parsed.frequency), notes,
                    tuple(warnings))


def _check_parts(ids: np.ndarray, codes: np.ndarray, group: np.ndarray, n_periods: int,
                 target_names: np.ndarray, mapping: Mapping, label: Callable[[int], str],
                 warnings: list[str]) -> np.ndarray:
    """Per group: True where a part the area has in other periods is missing (a warning
    names them); a part covered twice in one period (a code and its predecessor, or a
    repeated row) is a DataError naming both."""
    parts = [sorted(mapping.parts.get(a, frozenset({a}))) for a in ids]
    vocabulary = {p: k for k, p in enumerate(sorted({p for ps in parts for p in ps}))}
    n_groups = len(target_names) * n_periods
    pairs: dict[tuple[int, int], str] = {}
    covered: dict[int, set[int]] = {}
    for g, c in zip(group.tolist(), codes.tolist(), strict=True):
        for p in parts[c]:
            k = vocabulary[p]
            if (g, k) in pairs:
                other = pairs[(g, k)]
                both = other if other == ids[c] else f"{other} and {ids[c]}"
                raise DataError(
                    f"{label(g)} is covered twice: {both} both include {p}",
                    hint="each part may appear once per period: remove the repeated row, or "
                    "the former code's row where the successor has one")
            pairs[(g, k)] = str(ids[c])
            covered.setdefault(g, set()).add(k)
    per_area: dict[int, set[int]] = {}
    for g, ks in covered.items():
        per_area.setdefault(g // n_periods, set()).update(ks)
    incomplete = np.zeros(n_groups, dtype=bool)
    short: list[str] = []
    names = {k: p for p, k in vocabulary.items()}
    for g, ks in sorted(covered.items()):
        missing = per_area[g // n_periods] - ks
        if missing:
            incomplete[g] = True
            short.append(f"{label(g)} lacks {first_items(sorted(names[k] for k in missing), 3)}")
    if short:
        warnings.append(f"{mapping.what}: {len(short)} area-period"
                        f"{'s' if len(short) > 1 else ''} without all their parts got no "
                        f"value ({first_items(short, 3)})")
    return incomplete


def _row_weights(frame: pd.DataFrame, spec: PanelSpec, rule: str | None, ids: np.ndarray,
                 codes: np.ndarray, rows: col.Rows, mapping: Mapping) -> np.ndarray | None:
    """Each row's weight for --combine mean: the lookup's weight of its code, else the
    data's --lookup-weight-col (positive numbers)."""
    if rule != "mean":
        return None
    if mapping.weights is not None:
        return np.array([mapping.weights[a] for a in ids], dtype=float)[codes]
    column = spec.lookup_weight_col or ""
    if column not in frame.columns:
        raise DataError(f"{rows.file}: no column '{column}' (--lookup-weight-col)",
                        hint=closest(column, [str(c) for c in frame.columns],
                                         "columns are", limit=12))
    weights = col.numeric_column(frame, column, rows, role="lookup weights")
    bad = ~np.isfinite(weights) | (weights <= 0)
    if bad.any():
        file, where = rows.locate(bad)
        raise DataError(f"{file}: lookup weights column '{column}' must be positive in every "
                        f"row ({where})", hint="weights such as population are positive")
    return weights


def _combine(values: np.ndarray, weight: np.ndarray | None, group: np.ndarray,
             n_groups: int, rule: str | None) -> np.ndarray:
    """Per group: sum, weighted or plain mean; NaN where any part is missing."""
    gaps = np.bincount(group, weights=np.isnan(values).astype(float), minlength=n_groups)
    filled = np.nan_to_num(values)
    if rule in ("sum", None):
        out: np.ndarray = np.bincount(group, weights=filled, minlength=n_groups).astype(float)
    else:
        w = np.ones_like(values) if weight is None else weight
        total = np.bincount(group, weights=w, minlength=n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.bincount(group, weights=w * filled, minlength=n_groups) / total
    out[gaps > 0] = np.nan
    return out


def _agreed(frame: pd.DataFrame, column: str, group: np.ndarray, n_groups: int,
            rows: col.Rows, label: Callable[[int], str], *, strict: bool = True) -> np.ndarray:
    """A column's text per group; with ``strict`` its rows must agree (DataError)."""
    codes, texts = col.distinct_text(frame[column])
    first = np.full(n_groups, -1, dtype=np.int64)
    order = np.arange(len(codes))[::-1]
    first[group[order]] = codes[order]  # the last write wins: the first row of each group
    if strict:
        differs = codes != first[group]
        if differs.any():
            file, where = rows.locate(differs)
            g = int(group[np.argmax(differs)])
            raise DataError(
                f"{file}: column '{column}' differs between the rows combined into {label(g)} "
                f"({where})", hint="rows combined into one area must agree on treatment and "
                "categorical columns")
    out = np.empty(n_groups, dtype=object)
    out[:] = ""
    has = first >= 0
    out[has] = texts[first[has]]
    return out
