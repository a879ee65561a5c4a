"""EffectResult(s) -> one plain dict for the report templates (pure; snapshot-tested).

Here the report's own parts are composed: the headline (its sentences come from
:mod:`lpip_eval.report.words`), what was compared, the effect over time, the parallel-trends
check (DiD and matched DiD), the caveats, the strength of evidence and where the numbers
came from. The other checks, their verdicts and the charts
of synthetic control and matching arrive ready-made in a result's ``diagnostics`` (written
by ``methods/synth/output.py``, ``synth/sdid.py``, ``match/balance.py``, ``match/areas.py``,
``match/units.py``) and are passed through. Templates only lay it out; charts are described
as data (title, alt text, values) and drawn by ``charts.py``. Works from the JSON form of a
result, so ``lpip-eval report RESULT.json`` gives the same report as the estimating command.

When several designs estimate the same outcome, ``triangulation`` lays them side by side (see
``lpip_eval.report.triangulation``) and the top strength-of-evidence rating is the combined one for
the main result's outcome: it takes the designs' agreement into account. ``gates`` lists the
``--fail-on`` gates that tripped; the caller passes them (they are not part of a result).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lpip_eval.methods.registry import rate_evidence
from lpip_eval.numbers import fmt_number, fmt_p
from lpip_eval.report.checks import assumption_checks, is_cross_section
from lpip_eval.report.cohorts import bacon_block, cohort_rows, start_text, waves_span
from lpip_eval.report.sensitivity import sensitivity_charts
from lpip_eval.report.words import (
    METHOD_NAMES,
    chart_label,
    decimals,
    headline,
    is_log,
    outcome_words,
    percent,
    sentence_case,
    subject,
)


def build_context(results: list[dict[str, Any]], *, title: str | None = None,
                  gates: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The template context for one or more results (the first is the main one).

    ``gates``: the gates that tripped, each ``{gate, message}`` with ``message`` a sentence
    for the reader (``gates.gate_sentence``); they are shown in a box at the top.
    """
    main = results[0]
    label, unit = outcome_words(main)
    sections = [_result_section(r) for r in results]
    triangulation = _triangulation(results)
    combined = next((t for t in triangulation if t["outcome"] == main["outcome"]), None)
    evidence = _evidence(main, combined, [r for r in results if r["outcome"] == main["outcome"]])
    head = headline(main)
    report_title = title or f"What the pilot did to the {label}"
    return {
        "lang": "en-GB",
        "title": report_title,
        "subject": subject(main),
        "headline": head,
        "agreement": _agreement_note(combined),
        "evidence": evidence,
        "gates": [{"gate": str(g["gate"]), "message": str(g["message"])} for g in gates or ()],
        "triangulation": triangulation,
        "sections": sections,
        "main": sections[0],
        "caveats": _caveats(main),
        "provenance": _provenance(main),
        "tool": main.get("tool", {}),
        "outcome_label": label,
        "outcome_unit": unit,
    }


def _agreement_note(combined: dict[str, Any] | None) -> str | None:
    """The designs' agreement under the headline; when they agree on direction but not on
    whether the effect is clear, also which found what (``basis.why_they_differ``)."""
    if combined is None:
        return None
    statement = str(combined["agreement"]["statement"])
    why = combined.get("why")
    return f"{statement} {why}" if why and combined["agreement"]["status"] != "disagree" \
        else statement


def _evidence(main: dict[str, Any], combined: dict[str, Any] | None,
              group: list[dict[str, Any]]) -> dict[str, Any]:
    """The top rating: the combined one of the main outcome's designs when there are several
    (it takes their agreement into account; its reasons are followed by those of the design
    whose level it took), else the main result's own."""

    def own(result: dict[str, Any]) -> dict[str, Any]:
        rating = result.get("evidence") or {}
        return rating if rating.get("level") else rate_evidence(result)

    if combined is None:
        rating = own(main)
        return {"level": rating["level"], "label": rating["label"],
                "reasons": list(rating.get("reasons") or []), "scope": None}
    rating = combined["evidence"]
    levels = [row["evidence_level"] for row in combined["rows"]]
    basis = group[levels.index(rating["level"])]  # rows follow the results' order
    return {"level": rating["level"], "label": rating["label"],
            "reasons": [*rating["reasons"], *own(basis).get("reasons", [])],
            "scope": (f"Combined rating of the {len(group)} designs that estimate the "
                      f"{combined['outcome_label']}.")}


def _triangulation(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The outcomes estimated by two or more designs, each with a table for the reader (the
    forest chart's numbers plus p-value and evidence) and the donor/matched area list."""
    from lpip_eval.report.triangulation import row_decimals, triangulate

    out = []
    for entry in triangulate(results)["outcomes"]:
        group = [r for r in results if r["outcome"] == entry["outcome"]]
        levels = {r["ci_level"] for r in entry["rows"]}
        same_level = len(levels) == 1 and isinstance(next(iter(levels)), float)
        d = row_decimals(entry["rows"])  # as the forest plot's numbers
        table = [{
            "design": row["label"],
            "effect": fmt_number(row["att"], d, signed=True),
            "range": (f"{fmt_number(row['ci_low'], d)} to {fmt_number(row['ci_high'], d)}"
                      + ("" if same_level or not isinstance(row["ci_level"], float)
                         else f" ({row['ci_level']:.0%})")),
            "p_value": fmt_p(row["p_value"]),
            "evidence": f"{row['evidence_level']} of 5",
        } for row in entry["rows"]]
        overlap = entry["overlap"]
        if overlap is not None:
            overlap = {**overlap, "areas": _overlap_areas(overlap, group)}
        unit = entry["outcome_unit"]
        out.append({**entry, "overlap": overlap, "table": table,
                    "range_heading": (f"{next(iter(levels)):.0%} range" if same_level
                                      else "Range"),
                    "table_caption": (f"Effect on the {entry['outcome_label']}"
                                      + (f" ({unit})" if unit else "") + " by design, with "
                                      "each design's strength of evidence")})
    return out


def _overlap_areas(overlap: dict[str, Any], results: list[dict[str, Any]]
                   ) -> list[dict[str, Any]]:
    """Every synthetic-control donor and matched area: name, code, donor weight, matched;
    donors by weight (largest first), then the matched areas that are not donors."""
    synth = next(r for r in results if r["method"] == "synth" and r.get("weights"))
    weights = {w["unit"]: w["weight"] for w in synth["weights"]}
    names: dict[str, str] = {}
    for result in results:
        names.update((result.get("diagnostics") or {}).get("unit_names", {}))
    donors = sorted(overlap["synth_donors"], key=lambda u: (-weights[u], u))
    matched = set(overlap["matched"])
    others = [u for u in overlap["matched"] if u not in set(donors)]
    return [{"code": u, "name": names.get(u, ""),
             "weight": fmt_number(weights[u], 3) if u in set(donors) else "",
             "matched": u in matched} for u in [*donors, *others]]


def _area(code: str, names: dict[str, str]) -> dict[str, str]:
    return {"code": code, "name": names.get(code, "")}


def _result_section(result: dict[str, Any]) -> dict[str, Any]:
    est = result["estimate"]
    diag = result.get("diagnostics", {})
    names = diag.get("unit_names", {})
    weights = {w["unit"]: w["weight"] for w in result.get("weights", [])}
    label, unit = outcome_words(result)
    level = f"{est['ci_level']:.0%}"
    cross_section = is_cross_section(result)
    d = decimals(result)
    nouns = ({"treated": "treated unit", "comparison": "matched untreated unit"}
             if cross_section else {"treated": "pilot area", "comparison": "comparison area"})
    table = [
        {"item": "Estimated effect", "value": fmt_number(est["att"], d, signed=True)},
        {"item": f"{level} range", "value": f"{fmt_number(est['ci_low'], d)} to "
                                             f"{fmt_number(est['ci_high'], d)}"},
        {"item": "Standard error", "value": fmt_number(est["se"], d)},
        {"item": "p-value", "value": fmt_p(est["p_value"])},
        {"item": "Inference", "value": est["inference"]["method"]},
        {"item": nouns["treated"].capitalize() + "s", "value": str(len(result["treated_units"]))},
        {"item": nouns["comparison"].capitalize() + "s",
         "value": str(len(result["comparison_units"]))},
        *([] if cross_section else
          [{"item": "Start", "value": _start_value(result)}]),
    ]
    return {
        "method": result["method"],
        "method_name": "matched comparison of units" if cross_section else
        METHOD_NAMES.get(result["method"], result["method"]),
        "design": result["design"],
        "outcome": result["outcome"],
        "outcome_label": label,
        "unit": unit,
        "headline": headline(result),
        "estimate": {
            "att": fmt_number(est["att"], d, signed=True),
            "ci_low": fmt_number(est["ci_low"], d),
            "ci_high": fmt_number(est["ci_high"], d),
            "ci_level": level,
            "p_value": fmt_p(est["p_value"]),
            "se": fmt_number(est["se"], d),
            "inference": est["inference"]["method"],
            "inference_reason": est["inference"]["reason"],
            "percent": (f"about {percent(est['att'])}" if is_log(result)
                        and est["att"] is not None else ""),
        },
        "table": table,
        "treated": [_area(u, names) for u in result["treated_units"]],
        "comparison": [dict(_area(u, names), weight=fmt_number(weights[u], 3) if u in weights
                            else "") for u in result["comparison_units"]],
        "has_weights": bool(weights),
        **_listed_areas(result["comparison_units"], names, weights),
        "has_codes": any(names.get(u) and names[u] != u
                         for u in [*result["treated_units"], *result["comparison_units"]]),
        "nouns": nouns,
        "list_units": not cross_section,
        "data_combined": list(diag.get("data_combined") or []),
        "units_note": "Unit ids are not listed in the report (with person-level data they may "
                      "identify people); the JSON result (--json) lists the treated units and "
                      "the matched untreated units with their weights." if cross_section else "",
        "periods": _periods(diag, result),
        "effects_by_period": [
            {"period": e["period"], "event_time": e["event_time"],
             "att": fmt_number(e["att"], d, signed=True),
             "range": f"{fmt_number(e['ci_low'], d)} to {fmt_number(e['ci_high'], d)}"}
            for e in result.get("effects_by_period", [])
        ],
        "checks": assumption_checks(result),
        "charts": _charts(result),
        "warnings": list(result.get("warnings", [])),
    }


MAX_LISTED = 20
"""Comparison areas listed in a report before the list collapses (issue 13: 50 states made a
1,600 px wall, 30,000 areas a 1.3 MB HTML); the JSON result keeps the full list."""


def _listed_areas(units: Sequence[str], names: dict[str, str],
                  weights: dict[str, float]) -> dict[str, Any]:
    """The comparison areas a reader sees: all up to :data:`MAX_LISTED`; beyond that the
    areas with weight (largest first), else the first ones, plus how many are left out."""
    chosen = list(units)
    if len(chosen) > MAX_LISTED:
        weighted = sorted((u for u in chosen if weights.get(u, 0.0) > 0),
                          key=lambda u: (-weights[u], u))
        chosen = weighted[:MAX_LISTED] if weighted else chosen[:MAX_LISTED]
    listed = [dict(_area(u, names), weight=fmt_number(weights[u], 3) if u in weights else "")
              for u in chosen]
    return {"comparison_listed": listed, "comparison_more": len(units) - len(listed)}


def _periods(diag: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    means = diag.get("group_means", [])
    waves = start_text(result)  # staggered starts: a sentence and a cohort table instead
    return {
        "first": means[0]["period"] if means else None,
        "last": means[-1]["period"] if means else None,
        "start": None if waves else result.get("treatment_start"),
        "pre": diag.get("pre_periods"),
        "post": diag.get("post_periods"),
        "frequency": diag.get("frequency"),
        **({"waves": waves, "cohorts": cohort_rows(result)} if waves else {}),
        "bacon": bacon_block(result),
    }


def _start_value(result: dict[str, Any]) -> str:
    """The start for the details table: the period, or for staggered starts the waves
    ("between 2014 and 2019 in 5 waves"), not just the first wave's period."""
    span = waves_span(result)
    return sentence_case(span) if span else str(result.get("treatment_start"))


def _caveats(result: dict[str, Any]) -> list[str]:
    diag = result.get("diagnostics", {})
    caveats = []
    n_treated = len(result["treated_units"])
    if n_treated < 10:
        caveats.append(f"Few pilot areas ({n_treated}): the estimate describes these places; "
                       "it may not carry over to others.")
    caveats.append("Spillovers: if the pilot also changed things in comparison areas (for "
                   "example through commuting or firms relocating), the comparison is "
                   "contaminated and the estimate is biased; neighbouring areas deserve a "
                   "second look.")
    pre = diag.get("pre_periods")
    if pre is not None and pre < 4:
        caveats.append(f"Short pre-period ({pre} periods): pre-trends are hard to judge.")
    if diag.get("n_obs") is not None and diag["n_obs"] < 100:
        caveats.append("Small numbers: with few observations the range is wide.")
    return caveats


def _charts(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Chart specifications: id, title, alt text and the numbers (also shown as a table)."""
    diag = result.get("diagnostics", {})
    label, unit = outcome_words(result)
    d = decimals(result)
    charts = []
    means = diag.get("group_means", [])
    if means:
        charts.append({
            "id": "paths",
            "kind": "paths",
            "title": f"{sentence_case(label)}: pilot areas and comparison areas",
            "ylabel": sentence_case(label) + (f" ({unit})" if unit else ""),
            "alt": (f"Line chart of the average {label} by period from {means[0]['period']} to "
                    f"{means[-1]['period']} for the pilot areas and the comparison areas; "
                    + (f"the pilots start {span}, the line marking the first."
                       if (span := waves_span(result)) else
                       f"the pilot starts at {result.get('treatment_start')}.")),
            "columns": ["Period", "Pilot areas", "Comparison areas"],
            "rows": [[m["period"], fmt_number(m["treated"], d), fmt_number(m["comparison"], d)]
                     for m in means],
            "series": {"x": [m["period"] for m in means],
                       "pilot": [m["treated"] for m in means],
                       "comparison": [m["comparison"] for m in means],
                       "start": result.get("treatment_start")},
        })
    effects = result.get("effects_by_period", [])
    band = diag.get("event_study_band") or {}
    uniform = str(band.get("kind", "")).startswith("uniform")
    if effects:
        level = f"{(result.get('estimate') or {}).get('ci_level') or 0.95:.0%}"
        charts.append({
            "id": "effects",
            "kind": "effects",
            "title": f"Estimated effect on the {label} by period relative to the start",
            "ylabel": f"Effect on {label}" + (f" ({unit})" if unit else ""),
            "alt": (f"Chart of the estimated effect for each period from "
                    f"{effects[0]['event_time']} to {effects[-1]['event_time']} periods "
                    "relative to the start"
                    + ((f", with a {level} band that holds for all periods at once"
                        if uniform else ", with intervals")
                       if any(e["ci_low"] is not None for e in effects) else "")
                    + "; periods before 0 show pre-trends."),
            "columns": ["Periods from start", "Effect",
                        f"{level} band, all periods at once" if uniform else "Range"],
            "rows": [[str(e["event_time"]), fmt_number(e["att"], d, signed=True),
                      f"{fmt_number(e['ci_low'], d)} to {fmt_number(e['ci_high'], d)}"]
                     for e in effects],
            "series": {"x": [e["event_time"] for e in effects],
                       "att": [e["att"] for e in effects],
                       "low": [e["ci_low"] for e in effects],
                       "high": [e["ci_high"] for e in effects]},
        })
        if uniform:  # multiplier bootstrap: a simultaneous band, named as such in the legend
            charts[-1]["range_label"] = f"Estimate and {level} band for all periods at once"
    charts.extend(sensitivity_charts(result, label, unit))
    charts.extend(_shorten(chart_label(chart, result)) for chart in diag.get("charts", []))
    return charts


def _shorten(chart: dict[str, Any]) -> dict[str, Any]:
    """The placebo areas' table cut to its first :data:`MAX_LISTED` rows, the ones that
    matter most as the design orders them (largest ratio), with ``rows_more`` saying how many
    the JSON result still holds; tables by period are kept whole, and weight tables too (the
    weight chart takes its names from their rows) (issue 13: a 30,000-area run wrote a 1.3
    MB HTML)."""
    rows = chart.get("rows") or []
    if chart.get("kind") != "placebo" or len(rows) <= MAX_LISTED:
        return chart
    return {**chart, "rows": rows[:MAX_LISTED], "rows_more": len(rows) - MAX_LISTED}


def _provenance(result: dict[str, Any]) -> dict[str, Any]:
    prov = result.get("provenance") or {}
    return {
        "inputs": prov.get("inputs", []),
        "command": prov.get("command", ""),
        "options": sorted((str(k), _show(v)) for k, v in (prov.get("options") or {}).items()
                          if v not in (None, [], "")),
        "seed": prov.get("seed"),
        "packages": sorted((prov.get("packages") or {}).items()),
        "schema_version": result.get("schema_version"),
    }


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
