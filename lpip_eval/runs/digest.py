"""The hub digest: many partnerships' results read, grouped, one per place, pooled.

:func:`build_digest` reads result JSON files (from ``did``, ``synth``, ``match`` or ``run``;
a folder or a ``run``'s ``index.json`` stands for the results it lists) and effects from
elsewhere (:class:`EffectsSpec`), and returns the digest as a plain dict (the JSON of
``lpip_eval/results/schema/digest.schema.json``). It never prints.

Decisions (docs/design.md, "Command line", ``digest``):

- **Groups**: results are pooled only within a group: the same values of the ``group_by``
  fields (default: ``outcome`` and ``outcome_unit``). Different groups are listed side by
  side, never averaged.
- **One result per place**: results with the same treated areas and the same input data
  (provenance SHA-256s) are one study, however many designs ran on it. The digest pools one:
  the ``prefer``-red method if the place has it, else the highest evidence level, then the
  narrowest range; the others are kept as ``alternative`` rows.
- **No standard error** (randomization or placebo inference): the interval is turned into
  ``SE = (high - low) / (2 z)``, the conversion stated on the row and in the group's
  warnings; with ``se_from_interval=False``, or no finite interval, the row is left out of
  the pooling with its reason. Nothing is dropped silently: every filtered result is listed
  with the reason.
- **Provenance and duplicates**: each row keeps its file, the file's SHA-256, the
  partnership (the ``run``'s title) and the command that produced it. The same evaluation
  given twice (the same file content, or the same place, method, design and numbers) is
  refused (DataError, exit 3).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lpip_eval.errors import DataError, UsageError, closest
from lpip_eval.files import display_path
from lpip_eval.methods.pooling import POOLING_METHODS, pool, se_from_interval

METHODS = ("did", "synth", "match")
DIGEST_SCHEMA_VERSION = "1.0"  # its own version (results/schema/digest.schema.json)
GROUP_FIELDS = ("outcome", "outcome_label", "outcome_unit", "method", "design",
                "treatment_start")
INDEX_FILE = "index.json"
POOLED_LEVEL = 0.95


@dataclass(frozen=True)
class EffectsSpec:
    """A table of effects from elsewhere: one row per place."""

    path: Path
    name_col: str
    estimate_col: str
    se_col: str | None = None
    ci_low_col: str | None = None
    ci_high_col: str | None = None
    ci_level: float = 0.95


@dataclass(frozen=True)
class DigestOptions:
    """How to filter, choose and pool (the ``digest`` command's options)."""

    pooling: str = "reml"
    hartung_knapp: bool = False
    prefer: str | None = None
    min_evidence: int | None = None
    methods: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    group_by: tuple[str, ...] = ("outcome", "outcome_unit")
    se_from_interval: bool = True
    command: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def check_options(options: DigestOptions) -> None:
    """Usage errors (exit 2) for option values."""
    if options.pooling not in POOLING_METHODS:
        raise UsageError(f"--pooling {options.pooling!r} is not a pooling method",
                         hint=closest(options.pooling, POOLING_METHODS, "use one of"))
    for name in (options.prefer, *options.methods):
        if name is not None and name not in METHODS:
            raise UsageError(f"{name!r} is not a method", hint=closest(name, METHODS, "use"))
    for name in options.group_by:
        if name not in GROUP_FIELDS:
            raise UsageError(f"--group-by {name!r} is not a field results are grouped by",
                             hint=closest(name, GROUP_FIELDS, "use one of"))
    if options.min_evidence is not None and not 1 <= options.min_evidence <= 5:
        raise UsageError("--min-evidence must be a level from 1 to 5", hint="e.g. 3")


# --- reading --------------------------------------------------------------------------------

def _read_json(path: Path) -> tuple[Any, str]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{display_path(path)}: file not found",
                        hint="give result files written with --json, a folder or an "
                        "index.json") from None
    except IsADirectoryError:
        raise DataError(f"{display_path(path)}: is a folder", hint="give a file") from None
    try:
        return json.loads(raw.decode("utf-8")), hashlib.sha256(raw).hexdigest()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{display_path(path)}: not valid JSON ({exc})",
                        hint="give a file written with --json") from None


def _validator() -> Any:
    import jsonschema

    from lpip_eval.methods.registry import result_schema

    return jsonschema.Draft202012Validator(result_schema())


def load_sources(paths: list[Path]) -> list[dict[str, Any]]:
    """Every result named by ``paths`` (files, folders, index.json) as ``{file, sha256,
    partnership, result}``, each checked against the result schema (exit 3 if not)."""
    validator = _validator()
    out: list[dict[str, Any]] = []
    for path in paths:
        if path.is_dir():
            index = path / INDEX_FILE
            if index.is_file():
                out.extend(_from_index(index, validator))
                continue
            files = sorted(p for p in path.glob("*.json") if p.name != INDEX_FILE)
            if not files:
                raise DataError(f"{display_path(path)}: no result files (*.json) in the folder",
                                hint="give the output folder of lpip-eval run, or files "
                                "written with --json")
            out.extend(_result(p, validator, None) for p in files)
            continue
        data, sha = _read_json(path)
        if isinstance(data, dict) and "evaluations" in data and "config" in data:
            out.extend(_from_index(path, validator))
        else:
            out.append(_checked(path, data, sha, validator, None))
    return out


def _from_index(index: Path, validator: Any) -> list[dict[str, Any]]:
    data, _ = _read_json(index)
    title = data.get("title") if isinstance(data, dict) else None
    entries = data.get("evaluations") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise DataError(f"{display_path(index)}: not an lpip-eval run index",
                        hint="give the index.json written by lpip-eval run")
    files = [e["file"] for e in entries if isinstance(e, dict) and e.get("file")]
    if not files:
        raise DataError(f"{display_path(index)}: lists no result files",
                        hint="run with [output] json = true")
    return [_result(index.parent / name, validator, title) for name in files]


def _result(path: Path, validator: Any, title: str | None) -> dict[str, Any]:
    data, sha = _read_json(path)
    return _checked(path, data, sha, validator, title)


def _checked(path: Path, data: Any, sha: str, validator: Any,
             title: str | None) -> dict[str, Any]:
    error = next(iter(sorted(validator.iter_errors(data), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "top level"
        raise DataError(f"{display_path(path)}: not an lpip-eval result ({where}: "
                        f"{error.message})", hint="give files written by lpip-eval --json")
    return {"file": display_path(path), "sha256": sha, "partnership": title, "result": data}


def read_effects(spec: EffectsSpec) -> list[dict[str, Any]]:
    """Rows of an effects table (see :class:`EffectsSpec`), as digest rows."""
    from scipy import stats

    from lpip_eval.data.read import read_table, sha256_of

    frame = read_table(spec.path, text_columns=(spec.name_col,))
    wanted = [spec.name_col, spec.estimate_col, spec.se_col, spec.ci_low_col, spec.ci_high_col]
    for col in (c for c in wanted if c):
        if col not in frame.columns:
            raise DataError(f"{display_path(spec.path)}: no column '{col}'",
                            hint=closest(col, list(frame.columns), "columns", limit=8))
    sha = sha256_of(spec.path)
    names = frame[spec.name_col].astype("string").fillna("").str.strip()
    repeated = sorted(set(names[names.duplicated()]))
    if repeated:
        raise DataError(f"{display_path(spec.path)}: place {repeated[0]!r} appears more than "
                        "once", hint="give one effect per place (duplicates are refused)")
    rows = []
    for i, name in enumerate(names):
        def number(col: str | None, i: int = i) -> float | None:
            if not col:
                return None
            try:
                value = float(frame[col].iloc[i])
            except (TypeError, ValueError):
                raise DataError(f"{display_path(spec.path)}: column '{col}', row {i + 2}: "
                                f"{frame[col].iloc[i]!r} is not a number",
                                hint="use plain numbers (empty = missing)") from None
            return value if math.isfinite(value) else None

        estimate, se = number(spec.estimate_col), number(spec.se_col)
        ci = (number(spec.ci_low_col), number(spec.ci_high_col), spec.ci_level)
        if ci[0] is None and ci[1] is None and estimate is not None and se is not None:
            z = float(stats.norm.ppf(0.5 + spec.ci_level / 2))  # the normal interval
            ci = (estimate - z * se, estimate + z * se, spec.ci_level)
        rows.append(_row(
            place=name or f"row {i + 2}", partnership=name or None, outcome=spec.path.stem,
            label=spec.path.stem, unit=None, method=None, design=None,
            estimate=estimate, se=se, ci=ci, evidence=None, file=display_path(spec.path),
            sha=sha, command=None,
            place_key=("effects", display_path(spec.path), name), treated=[]))
    return rows


# --- rows ---------------------------------------------------------------------------------

def _row(*, place: str, partnership: str | None, outcome: str, label: str, unit: str | None,
         method: str | None, design: str | None, estimate: float | None, se: float | None,
         ci: tuple[float | None, float | None, float], evidence: dict[str, Any] | None,
         file: str, sha: str, command: str | None, place_key: tuple[Any, ...],
         treated: list[str]) -> dict[str, Any]:
    return {"place": place, "partnership": partnership, "outcome": outcome,
            "outcome_label": label, "outcome_unit": unit, "method": method, "design": design,
            "estimate": estimate, "se": se, "se_source": "reported" if se is not None else None,
            "ci_low": ci[0], "ci_high": ci[1], "ci_level": ci[2],
            "evidence_level": (evidence or {}).get("level"),
            "evidence_label": (evidence or {}).get("label"), "treated_units": treated,
            "provenance": {"file": file, "sha256": sha, "command": command},
            "role": None, "reason": None, "weight": None, "_key": place_key}


def result_row(source: dict[str, Any]) -> dict[str, Any]:
    """One result file as a digest row."""
    r = source["result"]
    est = r["estimate"]
    prov = r.get("provenance") or {}
    treated = list(r["treated_units"])
    names = (r.get("diagnostics") or {}).get("unit_names") or {}
    shown = ", ".join(str(names.get(u, u)) for u in treated[:3])
    if len(treated) > 3:
        shown += f" and {len(treated) - 3} more"
    inputs = tuple(sorted(i.get("sha256", "") for i in prov.get("inputs") or []))
    return _row(place=source["partnership"] or shown, partnership=source["partnership"],
                outcome=r["outcome"], label=r.get("outcome_label") or r["outcome"],
                unit=r.get("outcome_unit"), method=r["method"], design=r["design"],
                estimate=_finite(est["att"]), se=_finite(est["se"]),
                ci=(_finite(est["ci_low"]), _finite(est["ci_high"]), est["ci_level"]),
                evidence=r.get("evidence"), file=source["file"], sha=source["sha256"],
                command=prov.get("command"), place_key=(tuple(sorted(treated)), inputs),
                treated=treated) | {"_result": r}


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def refuse_duplicates(rows: list[dict[str, Any]]) -> None:
    """DataError (exit 3) if one evaluation is given twice."""
    seen: dict[Any, dict[str, Any]] = {}
    for row in rows:
        same = (row["outcome"], row["method"], row["design"], row["_key"], row["estimate"],
                row["ci_low"], row["ci_high"])
        for key in (row["provenance"]["sha256"], same):
            if row["method"] is None and key != same:
                continue  # rows of one effects table share the file's hash
            first = seen.get(key)
            if first is not None:
                a, b = first["provenance"]["file"], row["provenance"]["file"]
                what = "the same file content" if key == row["provenance"]["sha256"] else (
                    "the same place, design and numbers")
                raise DataError(f"{b} repeats {a}: the same evaluation twice ({what})",
                                hint="give each evaluation once; the digest counts each "
                                "place once")
            seen[key] = row


def _filter(rows: list[dict[str, Any]], options: DigestOptions) -> list[dict[str, Any]]:
    """Mark the rows the filters leave out (role 'left out', with the reason)."""
    kept = []
    for row in rows:
        reason = None
        if options.methods and row["method"] not in options.methods:
            reason = f"method {row['method'] or 'none'} not asked for (--method)"
        elif options.outcomes and row["outcome"] not in options.outcomes:
            reason = "outcome not asked for (--outcome)"
        elif options.min_evidence is not None and (row["evidence_level"] or 0) < \
                options.min_evidence:
            reason = (f"evidence level {row['evidence_level'] or 'unknown'} is below "
                      f"--min-evidence {options.min_evidence}")
        if reason:
            row.update(role="left out", reason=reason)
        kept.append(row)
    return kept


def _choose(rows: list[dict[str, Any]], prefer: str | None) -> tuple[dict[str, Any], str]:
    """The place's one result, and why it was chosen."""
    def rank(row: dict[str, Any]) -> tuple[Any, ...]:
        width = (row["ci_high"] - row["ci_low"]) if None not in (row["ci_low"], row[
            "ci_high"]) else math.inf
        return (-(row["evidence_level"] or 0), width, row["method"] or "",
                row["provenance"]["file"])
    pool_rows = [r for r in rows if prefer and r["method"] == prefer] or rows
    best = min(pool_rows, key=rank)
    why = (f"--prefer {prefer}" if prefer and best["method"] == prefer else
           "the highest evidence level, then the narrowest range")
    return best, why


def _se(row: dict[str, Any], options: DigestOptions) -> None:
    """Fill in an SE from the interval (stated), or leave the row out with the reason."""
    if row["estimate"] is None:
        row.update(role="left out", reason="no finite estimate")
        return
    if row["se"] is not None and row["se"] > 0:
        return
    low, high, level = row["ci_low"], row["ci_high"], row["ci_level"]
    if row["se"] is not None:
        row.update(role="left out", reason="the standard error is zero")
    elif low is None or high is None or not high > low:
        row.update(role="left out", reason="no standard error and no finite interval")
    elif not options.se_from_interval:
        row.update(role="left out", reason="no standard error (--no-se-from-interval)")
    else:
        from scipy import stats

        row["se"] = se_from_interval(low, high, level)
        z = float(stats.norm.ppf(0.5 + level / 2))
        row["se_source"] = (f"from the {level:.0%} interval: (high - low) / (2 x {z:.3f}), "
                            "approximate when the interval is not symmetric")


# --- the digest ---------------------------------------------------------------------------

def build_digest(sources: list[dict[str, Any]], effects: list[dict[str, Any]],
                 options: DigestOptions) -> dict[str, Any]:
    """The digest dict (see the module docstring)."""
    from lpip_eval import __version__

    check_options(options)
    rows = [result_row(s) for s in sources] + effects
    if not rows:
        raise DataError("no results to digest", hint="give result files, a folder, an "
                        "index.json or --effects FILE")
    refuse_duplicates(rows)
    _filter(rows, options)
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        key = tuple(row.get(f) if f in row else row.get("_result", {}).get(f)
                    for f in options.group_by)
        groups.setdefault(key, []).append(row)
    out_groups = [_group(key, members, options) for key, members in
                  sorted(groups.items(), key=lambda kv: json.dumps(kv[0], default=str))]
    out_groups = [g for g in out_groups if g["results"]]
    digest: dict[str, Any] = {
        "schema_version": DIGEST_SCHEMA_VERSION,
        "tool": {"name": "lpip-eval", "version": __version__},
        "kind": "digest",
        "options": {"pooling": options.pooling, "hartung_knapp": options.hartung_knapp,
                    "prefer": options.prefer, "min_evidence": options.min_evidence,
                    "methods": list(options.methods), "outcomes": list(options.outcomes),
                    "group_by": list(options.group_by),
                    "se_from_interval": options.se_from_interval, "ci_level": POOLED_LEVEL,
                    **options.extra},
        "command": options.command,
        "groups": out_groups,
    }
    pooled = [g for g in out_groups if g["pooled"] is not None]
    if len(pooled) == 1 and len(out_groups) == 1:
        for name in ("pooled", "prediction", "heterogeneity"):
            digest[name] = pooled[0][name]
    return _clean(digest)


def _group(key: tuple[Any, ...], rows: list[dict[str, Any]],
           options: DigestOptions) -> dict[str, Any]:
    active = [r for r in rows if r["role"] is None]
    places: dict[Any, list[dict[str, Any]]] = {}
    for row in active:
        places.setdefault(row["_key"], []).append(row)
    chosen = []
    for members in places.values():
        best, why = _choose(members, options.prefer)
        for other in members:
            if other is not best:
                other.update(role="alternative", reason=(
                    f"same place as the {best['method']} result: one result per place "
                    f"(chosen by {why})"))
        _se(best, options)
        if best["role"] is None:
            best.update(role="pooled", reason=f"one result per place, chosen by {why}"
                        if len(members) > 1 else None)
            chosen.append(best)
    warnings = [f"{r['place']} ({r['method'] or 'effect'}): standard error {r['se_source']}."
                for r in chosen if r["se_source"] not in ("reported", None)]
    warnings += [f"{r['place']} ({r['method'] or 'effect'}) left out of the pooling: "
                 f"{r['reason']}." for r in rows if r["role"] == "left out"]
    first = (chosen or rows)[0]
    group: dict[str, Any] = {
        "key": dict(zip(options.group_by, key, strict=True)),
        "outcome": first["outcome"], "outcome_label": first["outcome_label"],
        "unit": first["outcome_unit"], "k": len(chosen), "pooled": None, "prediction": None,
        "heterogeneity": None, "warnings": warnings,
    }
    if len(chosen) >= 2:
        p = pool([r["estimate"] for r in chosen], [r["se"] for r in chosen],
                 pooling=options.pooling, hartung_knapp=options.hartung_knapp,
                 level=POOLED_LEVEL)
        for row, weight in zip(chosen, p.weights, strict=True):
            row["weight"] = weight
        group["pooled"] = {"estimate": p.estimate, "se": p.se, "ci_low": p.ci_low,
                           "ci_high": p.ci_high, "ci_level": p.ci_level,
                           "pooling": p.pooling, "hartung_knapp": p.hartung_knapp}
        group["prediction"] = (None if p.pred_low is None else
                               {"low": p.pred_low, "high": p.pred_high,
                                "level": p.ci_level})
        group["heterogeneity"] = {"tau2": p.tau2, "tau": math.sqrt(p.tau2), "i2": p.i2,
                                  "h2": p.h2, "q": p.q, "q_df": p.q_df, "q_p": p.q_p}
        group["warnings"] = [*p.warnings, *warnings]
    elif chosen:
        group["warnings"] = ["Only one place: nothing to pool; its result is shown alone.",
                             *warnings]
    order = {"pooled": 0, "alternative": 1, "left out": 2}
    group["results"] = [
        {k: v for k, v in r.items() if not k.startswith("_")}
        for r in sorted(rows, key=lambda r: (order[r["role"]], r["estimate"] is None,
                                             r["estimate"] or 0.0, r["place"],
                                             r["provenance"]["file"]))]
    return group


def _clean(value: Any) -> Any:
    """NaN/inf as None, tuples as lists (the JSON is finite and plain)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def digest_json(digest: dict[str, Any]) -> str:
    """Deterministic JSON text: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(digest, indent=2, sort_keys=True, ensure_ascii=False,
                      allow_nan=False) + "\n"
