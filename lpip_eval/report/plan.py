"""The planning report of ``lpip-eval plan``: HTML and Markdown, from the plan's JSON.

Input is the dict of :meth:`lpip_eval.results.plan.PlanResult.to_dict` (the JSON of
``results/schema/plan.schema.json``). :func:`plan_context` turns it into the context of the
``plan.*.j2`` templates (``kind = "plan"`` makes :mod:`lpip_eval.report.render` pick them;
the HTML reuses ``report.css.j2``). Nothing here prints.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from lpip_eval.errors import UsageError
from lpip_eval.numbers import fmt_number
from lpip_eval.report.context import METHOD_NAMES

VARY_NAMES = {"pilot_areas": "Pilot areas", "post_periods": "Periods after the start",
              "comparison_areas": "Comparison areas"}


def _mde_text(value: float | None, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "no effect (the test can never reject)"
    return f"{fmt_number(value, 2, signed=True)}{unit}"


def plan_headline(plan: Mapping[str, Any]) -> str:
    """One sentence: the MDE the plan leads with, at what power and level, and how found."""
    a = plan["assumptions"]
    unit = f" {plan['outcome_unit']}" if plan.get("outcome_unit") else ""
    label = plan.get("outcome_label") or (str(plan["outcome"]).replace("_", " ")
                                          if plan.get("outcome") else "outcome")
    method = METHOD_NAMES.get(plan["method"], plan["method"])
    source = ("design-based simulation of the real procedure"
              if plan["mde_source"] == "simulated" else "Burlig-Preonas-Woerman formula")
    text = (f"With {a['n_treated']} pilot area{'' if a['n_treated'] == 1 else 's'}, "
            f"{a['n_comparison']} comparison areas and {a['n_post']} periods after the start, "
            f"a {method} evaluation would detect an effect on the {label} of "
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


def _curve_rows(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"vary": VARY_NAMES[r["vary"]], "pilots": r["n_treated"],
             "comparisons": r["n_areas"] - r["n_treated"], "post": r["n_post"],
             "mde": fmt_number(r["mde"], 3)} for r in plan["curve"]]


def plan_context(plan: Mapping[str, Any], *, title: str | None = None,
                 gates: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The context of the ``plan.*.j2`` templates."""
    a = plan["assumptions"]
    sim = plan.get("simulation")
    facts = [
        ("Design", f"{METHOD_NAMES.get(plan['method'], plan['method'])}, {plan['design']}"),
        ("Areas", f"{a['n_treated']} pilot, {a['n_comparison']} comparison"),
        ("Periods", f"{a['n_pre']} before the start, {a['n_post']} after"),
        ("Test", f"two-sided at {1 - plan['ci_level']:.0%}, power {plan['power']:.0%}"),
        ("MDE, formula", _mde_text(plan.get("mde_analytic"), "")),
        ("MDE, simulated", _mde_text(plan.get("mde_simulated"), "") if sim else
         "not simulated"),
        ("Outcome variation", f"sigma² {fmt_number(a['sigma2'], 4)}, psi_B "
         f"{fmt_number(a['psi_b'], 4)}, psi_A {fmt_number(a['psi_a'], 4)}, psi_X "
         f"{fmt_number(a['psi_x'], 4)}"),
        ("Covariances", a["covariance_estimator"]),
    ]
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
            "curve": _curve_rows(plan), "warnings": list(plan["warnings"]),
            "gates": [dict(g) for g in gates], "tool": plan["tool"],
            "command": plan.get("command") or ""}


def render_plan_outputs(plan: Mapping[str, Any], *, html: str | None, eml: str | None,
                        markdown: str | None, title: str | None = None,
                        gates: Sequence[Mapping[str, Any]] = ()) -> list[tuple[str, str | bytes]]:
    """The planning report's HTML and Markdown as ``(path, content)``, rendered in memory."""
    if eml:
        raise UsageError("--eml is not available for plans yet",
                         hint="write --report PLAN.html or --markdown PLAN.md")
    if not (html or markdown):
        return []
    from lpip_eval.report.render import render_html, render_markdown

    context = plan_context(plan, title=title, gates=gates)
    out: list[tuple[str, str | bytes]] = []
    if html:
        out.append((html, render_html(context, {})))
    if markdown:
        out.append((markdown, render_markdown(context)))
    return out
