"""Do the inference methods agree? One synthetic-control estimate, several tests of no effect.

A synthetic-control result reports one p-value (placebo-in-space ranks, the synthetic DiD
placebo standard error, or conformal inference), but each rests on its own assumption:
placebo ranks on the pilot's gap being comparable with the comparison areas' (Abadie,
Diamond & Hainmueller 2010), the placebo standard error on the pilot varying like them
(Arkhangelsky et al. 2021, sec. 5), conformal inference on the gaps being exchangeable over
time (Chernozhukov, Wuthrich & Zhu 2021). When the tests answer "is there an effect?"
differently, the answer rests on which assumption one believes, and the evidence rating says
so (issue 12, item 4).

Each test's verdict at ``alpha = 1 - ci_level``: **rejects** (p <= alpha), **does not
reject** (p > alpha), or **cannot reject** when its smallest achievable p-value is above
alpha (1/T for conformal with T periods, 1/(J+1) for J placebos): that test says nothing at
this level and is left out of the comparison. The tests **disagree** when one rejects and
another clearly does not (p > 2 alpha); p-values either side of alpha but within a factor
of two are the same answer up to noise, not a disagreement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lpip_eval.numbers import fmt_p


@dataclass(frozen=True)
class NullTest:
    """One test of no effect: its name in words, p-value and smallest achievable p-value."""

    name: str
    p_value: float
    smallest_p: float = 0.0


def verdict(test: NullTest, alpha: float) -> str:
    """'rejects', 'does not reject' or 'cannot reject' (its smallest p is above ``alpha``)."""
    if test.smallest_p > alpha:
        return "cannot reject"
    return "rejects" if test.p_value <= alpha else "does not reject"


def agreement(tests: Sequence[NullTest], ci_level: float) -> dict[str, Any] | None:
    """``{agree, summary, tests: [...]}`` for two or more tests (None for fewer): ``agree`` is
    False when one test rejects no effect and another clearly does not (module docstring),
    None when fewer than two tests can reject at this level."""
    if len(tests) < 2:
        return None
    alpha = 1 - ci_level
    rows = [{"test": t.name, "p_value": t.p_value, "smallest_p": t.smallest_p,
             "verdict": verdict(t, alpha)} for t in tests]
    informative = [t for t in tests if verdict(t, alpha) != "cannot reject"]
    rejecting = [t.name for t in informative if t.p_value <= alpha]
    clearly_not = [t.name for t in informative if t.p_value > 2 * alpha]
    agree: bool | None = None if len(informative) < 2 else not (rejecting and clearly_not)
    parts = []
    for t in tests:
        shown = f"{t.name} {fmt_p(t.p_value, prefix=True)}"
        if verdict(t, alpha) == "cannot reject":
            shown += f" (cannot go below {fmt_p(t.smallest_p)})"
        parts.append(shown)
    return {"agree": agree, "alpha": alpha, "summary": "; ".join(parts), "tests": rows,
            "rejecting": rejecting, "not_rejecting": clearly_not}


def agreement_check(block: dict[str, Any]) -> dict[str, Any]:
    """The report's check row for an :func:`agreement` block."""
    agree = block["agree"]
    if agree is None:
        verdict_text = ("Only one of the tests can reach this significance level, so they "
                        "cannot be compared.")
    elif agree:
        verdict_text = "The tests give the same answer on whether there is an effect."
    else:
        verdict_text = (f"The tests disagree: {', '.join(block['rejecting'])} "
                        f"{'reject' if len(block['rejecting']) > 1 else 'rejects'} no effect, "
                        f"{', '.join(block['not_rejecting'])} "
                        f"{'do' if len(block['not_rejecting']) > 1 else 'does'} not; the "
                        "answer depends on which assumption holds.")
    return {
        "assumption": "The conclusion does not depend on the inference method (each rests on "
                      "its own assumption).",
        "check": "Other tests of no effect on the same estimate.",
        "result": block["summary"],
        "ok": agree,
        "verdict": verdict_text,
    }
