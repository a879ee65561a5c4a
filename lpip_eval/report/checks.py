"""The checks behind a result's assumptions, each with its verdict (for the report and for
the designs-compared table).

Difference-in-differences and matched DiD get their parallel-trends check here (tested or
not, and why); the other checks arrive ready-made in ``diagnostics.checks`` (written by the
methods), and HonestDiD breakdowns are added from ``report/sensitivity.py``.
"""

from __future__ import annotations

from typing import Any

from lpip_eval.numbers import fmt_p
from lpip_eval.report.cohorts import untested_reason
from lpip_eval.report.sensitivity import sensitivity_checks
from lpip_eval.report.words import outcome_words


def is_cross_section(result: dict[str, Any]) -> bool:
    """Unit-level data with no periods (``match --design nnmatch``): ``time_col`` is empty."""
    return not result.get("time_col", "period")


def assumption_checks(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each assumption with the check behind it and a verdict sentence."""
    diag = result.get("diagnostics", {})
    checks: list[dict[str, Any]] = []
    pre = diag.get("pretrend_test")
    if result["method"] in ("did", "match") and not is_cross_section(result):
        if pre is None:
            checks.append({
                "assumption": "Parallel trends: without the pilot, pilot and comparison areas "
                              "would have changed alike.",
                "check": untested_reason(result),
                "result": "n/a", "ok": None,
                "verdict": "Untested: the rating relies on the comparison areas being similar.",
            })
        else:
            ok = not pre["rejected_at_5pct"]
            checks.append({
                "assumption": "Parallel trends: without the pilot, pilot and comparison areas "
                              "would have changed alike.",
                "check": str(pre["test"]),
                "result": fmt_p(pre['p_value'], prefix=True),
                "ok": ok,
                "verdict": "No sign that the areas were already diverging before the pilot."
                if ok else "The areas were already diverging before the pilot; treat the "
                           "estimate with caution.",
            })
    for extra in diag.get("checks", []):
        checks.append(extra)
    checks.extend(sensitivity_checks(result, outcome_words(result)[1]))
    return [{**check, **check_status(check)} for check in checks]


def check_status(check: dict[str, Any]) -> dict[str, str]:
    """The verdict's word and its style (issue 13): 'Passed', 'Concern', 'Could not be checked',
    and 'Basis of the range' for the placebo distribution that gives the p-value (not a test
    of its own, so 'Not tested' read as a failure)."""
    ok = check.get("ok")
    if ok is None and "basis of the p-value" in str(check.get("verdict", "")):
        return {"status": "Basis of the range", "status_class": "passed"}
    if ok is None:
        return {"status": "Could not be checked", "status_class": "not-tested"}
    return ({"status": "Passed", "status_class": "passed"} if ok
            else {"status": "Concern", "status_class": "failed"})
