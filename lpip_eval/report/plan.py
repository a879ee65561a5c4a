"""The planning report of ``lpip-eval plan``: HTML and Markdown, from the plan's JSON.

Input is the dict of :meth:`lpip_eval.results.plan.PlanResult.to_dict` (the JSON of
``results/schema/plan.schema.json``). :func:`plan_context` turns it into the context of the
``plan.*.j2`` templates (``kind = "plan"`` makes :mod:`lpip_eval.report.render` pick them;
the HTML reuses ``report.css.j2``, the e-mail ``email.css.j2`` and the single report's MIME
builder, :func:`lpip_eval.report.email.build_message`), with one trade-off chart per size
that varies (chart kind ``"tradeoff"``, :mod:`lpip_eval.report.charts_plan`). Nothing here
prints.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from lpip_eval.numbers import fmt_number
from lpip_eval.report.context import METHOD_NAMES

VARY_NAMES = {"pilot_areas": "Pilot areas", "post_periods": "Periods after the start",
              "comparison_areas": "Comparison areas"}
WAVE_DESIGN_NAMES = {"callaway-santanna": "Callaway & Sant'Anna", "imputation": "imputation",
                     "sun-abraham": "Sun & Abraham"}
VARY_X = {"pilot_areas": ("n_treated", "pilot areas"),
          "post_periods": ("n_post", "periods after the start"),
          "comparison_areas": ("n_comparison", "comparison areas")}


def _mde_text(value: float | None, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "no effect (the test can never reject)"
    return f"{fmt_number(value, 2, signed=True)}{unit}"


def _unit(plan: Mapping[str, Any]) -> str:
    return f" {plan['outcome_unit']}" if plan.get("outcome_unit") else ""


def plan_headline(plan: Mapping[str, Any]) -> str:
    """One sentence: the MDE the plan leads with, at what power and level, and how found."""
    a = plan["assumptions"]
    unit = _unit(plan)
    label = plan.get("outcome_label") or (str(plan["outcome"]).replace("_", " ")
                                          if plan.get("outcome") else "outcome")
    method = METHOD_NAMES.get(plan["method"], plan["method"])
    source = ("design-based simulation of the real procedure"
              if plan["mde_source"] == "simulated" else "Burlig-Preonas-Woerman formula")
    waves = plan.get("waves")
    if waves:
        design = WAVE_DESIGN_NAMES.get(plan["design"], plan["design"])
        not_yet = " (and the not-yet-treated)" if a.get("control_group") == "not-yet" else ""
        text = (f"Rolled out in {len(waves)} waves ({waves[0]['start']} to "
                f"{waves[-1]['start']}, {a['n_treated']} pilot areas) with {a['n_comparison']} "
                f"never-treated{not_yet} comparison areas and {a['n_post']} periods after the last "
                f"wave starts, a {design} evaluation would detect an average effect on the "
                f"{label} of {_mde_text(plan['mde'], unit)} or more with {plan['power']:.0%} "
                f"power at the {1 - plan['ci_level']:.0%} level ({source}")
    else:
        text = (f"With {a['n_treated']} pilot area{'' if a['n_treated'] == 1 else 's'}, "
                f"{a['n_comparison']} comparison areas and {a['n_post']} periods after the "
                f"start, a {method} evaluation would detect an effect on the {label} of "
                f"{_mde_text(plan['mde'], unit)} or more with {plan['power']:.0%} power at the "
                f"{1 - plan['ci_level']:.0%} level ({source}")
    if plan["mde_source"] == "simulated" and plan.get("mde_analytic") is not None:
        text += f"; the formula gives {_mde_text(plan['mde_analytic'], unit)}"
    return text + ")."


def verdict(plan: Mapping[str, Any]) -> str:
    """The hoped-for effect in words: detectable, or not, with what power."""
    effect = plan.get("expected_effect")
    if effect is None:
        return ""
    powers = plan.get("power_at_expected") or {}
    power = powers.get("simulated", powers.get("analytic"))
    if power is None:
        power = powers.get("analytic")
    if power is None:
        return ""
    words = ("likely to be detected" if power >= plan["power"] else
             "could be missed" if power >= 0.5 else "more likely missed than detected")
    return (f"An effect of {fmt_number(effect, 2, signed=True)} has a {power:.0%} chance of "
            f"being detected: it {'is' if power >= plan['power'] else ''} {words}.").replace(
        "it  ", "it ")


def waves_sentence(plan: Mapping[str, Any]) -> str:
    """The waves in words: what each could detect on its own (empty for a single start)."""
    waves = plan.get("waves")
    if not waves:
        return ""
    unit = _unit(plan)
    parts = []
    for w in waves:
        value = w["mde_simulated"] if w.get("mde_simulated") is not None else w["mde_analytic"]
        parts.append(f"the {w['start']} wave ({w['n_areas']} area{'' if w['n_areas'] == 1 else 's'}"
                     f", {w['n_post']} periods) {_mde_text(value, unit)}")
    source = ("simulated" if any(w.get("mde_simulated") is not None for w in waves)
              else "formula")
    return (f"Each wave on its own could detect ({source}): {'; '.join(parts)}. The average "
            "weighs each wave by its pilot areas times its periods after the start.")


def wave_rows(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The per-wave table of the report."""
    return [{"start": w["start"], "areas": w["n_areas"],
             "comparisons": fmt_number(w["n_comparison"], 1) if w.get("n_comparison") is not None
             and w["n_comparison"] != int(w["n_comparison"]) else
             str(int(w.get("n_comparison") or 0)),
             "post": w.get("n_post"), "weight": f"{w.get('weight', 0):.0%}",
             "mde_analytic": _mde_text(w["mde_analytic"], ""),
             "mde_simulated": ("not simulated" if w.get("mde_simulated") is None and
                               not plan.get("simulation") else
                               "n/a" if w.get("mde_simulated") is None else
                               _mde_text(w["mde_simulated"], ""))}
            for w in plan.get("waves") or []]


def _curve_rows(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"vary": VARY_NAMES[r["vary"]], "pilots": r["n_treated"],
             "comparisons": r["n_areas"] - r["n_treated"], "post": r["n_post"],
             "mde": fmt_number(r["mde"], 3)} for r in plan["curve"]]


def tradeoff_charts(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One ``"tradeoff"`` chart spec per size the curve varies (in the curve's order)."""
    a = plan["assumptions"]
    label = plan.get("outcome_label") or plan.get("outcome") or "outcome"
    unit = plan.get("outcome_unit")
    planned = {"n_treated": a["n_treated"], "n_post": a["n_post"],
               "n_comparison": a["n_comparison"]}
    charts = []
    for vary in dict.fromkeys(r["vary"] for r in plan["curve"]):
        rows = [r for r in plan["curve"] if r["vary"] == vary]
        column, words = VARY_X[vary]
        xs = [r["n_areas"] - r["n_treated"] if column == "n_comparison" else r[column]
              for r in rows]
        mdes = [r["mde"] for r in rows]
        shown = [(x, m) for x, m in zip(xs, mdes, strict=True) if m is not None]
        alt = (f"Line chart of the minimum detectable effect on the {label} (formula) "
               f"against the number of {words}, from {shown[0][0]} to {shown[-1][0]}: "
               f"{_mde_text(shown[0][1], '')} to {_mde_text(shown[-1][1], '')}; as planned, "
               f"{planned[column]}." if shown else f"No minimum detectable effect by {words}.")
        charts.append({
            "id": f"tradeoff-{vary}", "key": f"tradeoff-{vary}", "kind": "tradeoff",
            "title": f"Minimum detectable effect by the number of {words}",
            "alt": alt, "xlabel": words[:1].upper() + words[1:],
            "ylabel": "Minimum detectable effect" + (f" ({unit})" if unit else ""),
            "series": {"x": xs, "mde": mdes, "planned": planned[column],
                       "expected": (abs(plan["expected_effect"]) if plan.get(
                           "expected_effect") is not None else None)},
        })
    return charts


def render_plan_charts(context: Mapping[str, Any]) -> dict[str, bytes]:
    """PNG bytes of the context's trade-off charts, keyed by their ``key``."""
    from lpip_eval.report.charts import render_chart

    return {c["key"]: render_chart(c) for c in context.get("charts", [])}


def plan_context(plan: Mapping[str, Any], *, title: str | None = None,
                 gates: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The context of the ``plan.*.j2`` templates."""
    a = plan["assumptions"]
    sim = plan.get("simulation")
    waves = plan.get("waves")
    facts = [
        ("Design", f"{METHOD_NAMES.get(plan['method'], plan['method'])}, {plan['design']}"),
        ("Areas", f"{a['n_treated']} pilot, {a['n_comparison']} comparison"),
        ("Periods", f"{a['n_pre']} before the start, {a['n_post']} after" if not waves else
         f"{a['n_pre']} before the first wave ({a['history'][0]} to {a['history'][1]}: the "
         f"history used), {a['n_post']} after the last wave's start (to "
         f"{a['evaluation_end']})"),
        ("Test", f"two-sided at {1 - plan['ci_level']:.0%}, power {plan['power']:.0%}"),
        ("MDE, formula", _mde_text(plan.get("mde_analytic"), "")),
        ("MDE, simulated", _mde_text(plan.get("mde_simulated"), "") if sim else
         "not simulated"),
        ("Outcome variation", f"sigma² {fmt_number(a['sigma2'], 4)}, psi_B "
         f"{fmt_number(a['psi_b'], 4)}, psi_A {fmt_number(a['psi_a'], 4)}, psi_X "
         f"{fmt_number(a['psi_x'], 4)}"),
        ("Covariances", a["covariance_estimator"]),
    ]
    if waves:
        facts[4:6] = [("MDE of the average, formula", _mde_text(plan.get("mde_analytic"), "")),
                      ("MDE of the average, simulated",
                       _mde_text(plan.get("mde_simulated"), "") if sim else "not simulated"),
                      ("Averaging the waves", a["aggregation"]),
                      ("Pre-period compared", a["pre_period_compared"])]
    if sim:
        facts.append(("Simulation", f"{sim['pilots']} placebo pilots, fake starts "
                      f"{sim['fake_starts'][0]} to {sim['fake_starts'][-1]}, "
                      f"{sim['inference']} inference; smallest possible p-value "
                      f"{fmt_number(sim['smallest_p'], 4) if sim['smallest_p'] else 'none'}; "
                      f"false positives at no effect {sim['false_positive_rate']:.1%}"))
    title = title or "Planning: could the pilot's effect be detected?"
    headline = plan_headline(plan)
    return {"kind": "plan", "lang": "en-GB", "title": title, "headline": headline,
            "subject": f"{title}: {headline}", "verdict": verdict(plan), "facts": facts,
            "curve": _curve_rows(plan), "charts": tradeoff_charts(plan),
            "waves": wave_rows(plan), "waves_sentence": waves_sentence(plan),
            "warnings": list(plan["warnings"]),
            "gates": [dict(g) for g in gates], "tool": plan["tool"],
            "command": plan.get("command") or ""}


def render_plan_outputs(plan: Mapping[str, Any], *, html: str | None, eml: str | None,
                        markdown: str | None, title: str | None = None,
                        gates: Sequence[Mapping[str, Any]] = ()) -> list[tuple[str, str | bytes]]:
    """The planning report's HTML, e-mail (an unsent draft, as ``--eml`` of results) and
    Markdown as ``(path, content)``, rendered in memory."""
    if not (html or eml or markdown):
        return []
    from lpip_eval.report.render import render_html, render_markdown

    context = plan_context(plan, title=title, gates=gates)
    charts = render_plan_charts(context) if (html or eml) else {}
    out: list[tuple[str, str | bytes]] = []
    if html:
        out.append((html, render_html(context, charts)))
    if eml:
        from lpip_eval.report.email import build_message, message_bytes

        out.append((eml, message_bytes(build_message(context, charts, sender=None, to=[],
                                                      draft=True))))
    if markdown:
        out.append((markdown, render_markdown(context)))
    return out
