"""The hub digest as a report: HTML, e-mail and Markdown, with a forest plot per group.

Input is the digest dict of :func:`lpip_eval.runs.digest.build_digest` (the JSON of
``results/schema/digest.schema.json``). :func:`digest_context` turns it into the context of
the ``digest.*.j2`` templates (``kind = "digest"`` makes :mod:`lpip_eval.report.render` pick
them); the rendering, the e-mail builder, the chart style and the atomic writes are the
single reports' own. The forest plot (chart kind ``"digest-forest"``, drawn in
``charts_design.py``) shows each pooled
place sorted by its estimate, a filled marker for evidence level 3 or more and a hollow one
below, the pooled diamond and the prediction interval for a new area.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lpip_eval.numbers import fmt_number, fmt_p
from lpip_eval.report.context import METHOD_NAMES

POOLING_NAMES = {"reml": "random effects, REML", "dl": "random effects, DerSimonian-Laird",
                 "pm": "random effects, Paule-Mandel", "fixed": "fixed (common) effect"}


def _unit(group: dict[str, Any]) -> str:
    return f" {group['unit']}" if group.get("unit") else ""


def _range(low: float | None, high: float | None, digits: int = 2) -> str:
    return f"{fmt_number(low, digits)} to {fmt_number(high, digits)}"


def group_headline(group: dict[str, Any]) -> str:
    """One sentence a civil servant can quote: the pooled effect, and what to expect in a new
    area."""
    label, unit = group["outcome_label"], _unit(group)
    pooled = group.get("pooled")
    if pooled is None:
        n = len([r for r in group["results"] if r["role"] == "pooled"])
        return (f"The {label}: {n} place{'' if n == 1 else 's'} with a usable result, so "
                "nothing was pooled.")
    method = POOLING_NAMES[pooled["pooling"]] + (", Hartung-Knapp" if pooled[
        "hartung_knapp"] else "")
    text = (f"Across {group['k']} places, the pooled effect on the {label} is "
            f"{fmt_number(pooled['estimate'], signed=True)}{unit} "
            f"({pooled['ci_level']:.0%} range {_range(pooled['ci_low'], pooled['ci_high'])}; "
            f"{method}).")
    pred = group.get("prediction")
    if pred:
        text += (f" In a new area, expect between {fmt_number(pred['low'], signed=True)} and "
                 f"{fmt_number(pred['high'], signed=True)}{unit}.")
    return text


def heterogeneity_text(group: dict[str, Any]) -> str:
    """How much the effect varies from place to place, in words and numbers."""
    het = group.get("heterogeneity")
    if not het:
        return ""
    i2 = het["i2"]
    words = ("little of the spread between places goes beyond chance" if i2 < 25 else
             "some of the spread between places is real difference" if i2 < 50 else
             "much of the spread between places is real difference, not chance" if i2 < 75
             else "most of the spread between places is real difference, not chance")
    return (f"I² = {fmt_number(i2, 0)}%: {words} (tau² = {fmt_number(het['tau2'], 4)}, "
            f"H² = {fmt_number(het['h2'], 2)}, Q = {fmt_number(het['q'], 2)} on "
            f"{het['q_df']} d.f., p {_p(het['q_p'])}).")


def _p(value: float | None) -> str:
    text = fmt_p(value)
    return text if text.startswith("<") else f"= {text}"


def _verdict(row: dict[str, Any]) -> str:
    low, high = row["ci_low"], row["ci_high"]
    if low is None or high is None:
        return "no range"
    if low > 0:
        return "rose (range above zero)"
    if high < 0:
        return "fell (range below zero)"
    return "no clear effect (range includes zero)"


def _design(row: dict[str, Any]) -> str:
    if row["method"] is None:
        return "effect given"
    return str(row["design"] or METHOD_NAMES.get(row["method"], row["method"]))


def _row(row: dict[str, Any]) -> dict[str, Any]:
    prov = row["provenance"]
    return {
        "place": row["place"], "design": _design(row),
        "effect": fmt_number(row["estimate"], 3, signed=True),
        "range": _range(row["ci_low"], row["ci_high"], 3),
        "se": fmt_number(row["se"], 3),
        "se_note": "" if row["se_source"] in ("reported", None) else row["se_source"],
        "evidence": "n/a" if row["evidence_level"] is None else str(row["evidence_level"]),
        "weight": "" if row["weight"] is None else f"{row['weight']:.1f}%",
        "verdict": _verdict(row), "reason": row["reason"] or "",
        "file": prov["file"], "sha256": prov["sha256"], "command": prov["command"] or "",
    }


def _chart(group: dict[str, Any], index: int) -> dict[str, Any]:
    pooled_rows = sorted((r for r in group["results"] if r["role"] == "pooled"),
                         key=lambda r: (r["estimate"], r["place"]))
    label, unit = group["outcome_label"], group.get("unit")
    pooled, pred = group.get("pooled") or {}, group.get("prediction") or {}
    return {
        "id": "forest", "kind": "digest-forest",
        "title": f"Effect on the {label} in each place, and pooled",
        "xlabel": f"Effect on {label}" + (f" ({unit})" if unit else ""),
        "alt": (f"Forest plot of the effect on the {label} in {len(pooled_rows)} places, "
                "sorted by estimate, each with its range, then the pooled estimate as a "
                "diamond and the range to expect in a new area, against a line at zero."),
        "series": {
            "labels": [r["place"] for r in pooled_rows],
            "att": [r["estimate"] for r in pooled_rows],
            "low": [r["ci_low"] for r in pooled_rows],
            "high": [r["ci_high"] for r in pooled_rows],
            "evidence": [r["evidence_level"] for r in pooled_rows],
            "pooled": [pooled.get("estimate"), pooled.get("ci_low"), pooled.get("ci_high")],
            "prediction": [pred.get("low"), pred.get("high")],
        },
        "key": f"g{index}-forest",
    }


def digest_context(digest: dict[str, Any], *, title: str | None = None) -> dict[str, Any]:
    """The context of the ``digest.*.j2`` templates."""
    groups = []
    for index, group in enumerate(digest["groups"]):
        rows = group["results"]
        groups.append({
            "label": group["outcome_label"], "unit": group.get("unit") or "",
            "k": group["k"], "headline": group_headline(group),
            "heterogeneity": heterogeneity_text(group), "warnings": group["warnings"],
            "pooled": group.get("pooled") is not None,
            "chart": _chart(group, index) if group.get("pooled") else None,
            "places": [_row(r) for r in rows if r["role"] == "pooled"],
            "alternatives": [_row(r) for r in rows if r["role"] == "alternative"],
            "left_out": [_row(r) for r in rows if r["role"] == "left out"],
        })
    title = title or "What works where: the hub digest"
    headline = groups[0]["headline"] if len(groups) == 1 else (
        f"{len(groups)} outcomes, each pooled only over places that measured it.")
    options = digest["options"]
    method = POOLING_NAMES[options["pooling"]] + (
        ", Hartung-Knapp intervals (t with k - 1 d.f.)" if options["hartung_knapp"] else "")
    return {
        "kind": "digest", "lang": "en-GB", "title": title, "subject": f"{title}: {headline}",
        "headline": headline, "groups": groups, "tool": digest["tool"],
        "command": digest.get("command") or "",
        "method": (f"Pooling: {method}. One result per place (several designs on the same "
                   "pilot are one study); results are pooled only when they measure the same "
                   "outcome in the same unit. The prediction interval is the range to expect "
                   "in a new area (metafor's predict: normal quantile, or t with k - 1 d.f. "
                   "under Hartung-Knapp)."),
    }


def render_digest_charts(context: dict[str, Any]) -> dict[str, bytes]:
    """PNG bytes of every group's forest plot, keyed ``g<index>-forest``."""
    from lpip_eval.report.charts import render_chart

    return {g["chart"]["key"]: render_chart(g["chart"]) for g in context["groups"]
            if g["chart"]}


def render_digest_reports(digest: dict[str, Any], *, html: str | None, eml: str | None,
                          markdown: str | None, title: str | None = None
                          ) -> list[tuple[str, str | bytes]]:
    """Every requested output as ``(path, content)``, rendered in memory (the caller writes
    them all or none with :func:`lpip_eval.files.write_all`)."""
    from lpip_eval.report.render import render_html, render_markdown

    context = digest_context(digest, title=title)
    charts = render_digest_charts(context) if (html or eml) else {}
    outputs: list[tuple[str, str | bytes]] = []
    if html:
        outputs.append((html, render_html(context, charts)))
    if eml:
        from lpip_eval.report.email import build_message, message_bytes

        outputs.append((eml, message_bytes(build_message(context, charts, sender=None, to=[],
                                                         draft=True))))
    if markdown:
        outputs.append((markdown, render_markdown(context)))
    return outputs


def send_digest(digest: dict[str, Any], *, title: str | None, sender: Any, to: Sequence[Any],
                **smtp: Any) -> None:
    """E-mail the digest over SMTP, as ``report --send-to`` does (``smtp``: the keyword
    arguments of :func:`lpip_eval.report.email.send_message`)."""
    from lpip_eval.report.email import build_message, send_message

    context = digest_context(digest, title=title)
    message = build_message(context, render_digest_charts(context), sender=sender, to=to)
    send_message(message, **smtp)


def lines_for_terminal(digest: dict[str, Any]) -> Sequence[str]:
    """The headline and heterogeneity sentence of each group, for the terminal."""
    out = []
    for group in digest["groups"]:
        out.append(group_headline(group))
        if group.get("heterogeneity"):
            out.append("  " + heterogeneity_text(group))
        out.extend(f"  Note: {w}" for w in group["warnings"])
    return out
