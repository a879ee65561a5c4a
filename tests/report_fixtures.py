"""Hand-built result dicts (the JSON form of EffectResult), one per design, for report tests.

Numbers are made up but plausible; they are inputs to the pure report functions, not
expected outputs of an estimator.
"""

from __future__ import annotations

import copy
from typing import Any

_BASE: dict[str, Any] = {
    "schema_version": "1.0",
    "tool": {"name": "lpip-eval", "version": "0.1.0"},
    "method": "did",
    "design": "Two-way fixed effects difference-in-differences",
    "outcome": "employment_rate",
    "outcome_label": None,
    "outcome_unit": "percentage points",
    "unit_col": "area",
    "time_col": "period",
    "treated_units": ["E06000022", "E06000023"],
    "comparison_units": ["E06000001", "E06000002", "E06000003"],
    "treatment_start": "2021Q3",
    "estimate": {
        "att": 1.234, "se": None, "ci_low": 0.41, "ci_high": 2.05, "ci_level": 0.95,
        "p_value": 0.012,
        "inference": {"method": "randomization", "reason": "2 treated clusters (fewer than 10)",
                      "details": {"draws": 10, "exact": True}},
    },
    "effects_by_period": [],
    "weights": [],
    "diagnostics": {
        "n_obs": 40, "pre_periods": 6, "post_periods": 2, "frequency": "quarter",
        "group_means": [
            {"period": f"2020Q{q}", "treated": 70.0 + q, "comparison": 69.0 + q}
            for q in range(1, 5)
        ] + [
            {"period": f"2021Q{q}", "treated": 74.0 + q, "comparison": 72.0 + q}
            for q in range(1, 5)
        ],
        "unit_names": {"E06000022": "Bath and North East Somerset",
                       "E06000023": "Bristol, City of", "E06000001": "Hartlepool"},
        "pretrend_test": {"test": "differential linear pre-trend (randomization inference)",
                          "statistic": 0.01, "df": None, "p_value": 0.64, "leads": 6,
                          "rejected_at_5pct": False},
    },
    "evidence": {"level": None, "label": None, "reasons": []},
    "warnings": [],
    "provenance": {
        "inputs": [{"path": "pilot.csv", "sha256": "0" * 64, "rows": 16}],
        "command": "lpip-eval did pilot.csv --comparators comparators.csv --start 2021Q3",
        "options": {"design": "twfe", "seed": 1},
        "seed": 1,
        "packages": {"lpip-eval": "0.1.0"},
    },
}


def did_twfe() -> dict[str, Any]:
    return copy.deepcopy(_BASE)


def did_event_study() -> dict[str, Any]:
    r = copy.deepcopy(_BASE)
    r["design"] = "Event-study difference-in-differences"
    r["estimate"]["ci_low"], r["estimate"]["ci_high"] = -0.3, 2.8  # range includes zero
    r["effects_by_period"] = [
        {"period": f"t{k:+d}", "event_time": k, "att": 0.1 * k, "se": 0.2,
         "ci_low": 0.1 * k - 0.4, "ci_high": 0.1 * k + 0.4}
        for k in range(-3, 2)
    ]
    r["diagnostics"]["pretrend_test"] = {
        "test": "joint pre-trend test (randomization Wald)", "statistic": 9.1, "df": 2,
        "p_value": 0.01, "leads": 2, "rejected_at_5pct": True}
    return r


def synth() -> dict[str, Any]:
    r = copy.deepcopy(_BASE)
    r["method"] = "synth"
    r["design"] = "Synthetic control (Abadie, Diamond & Hainmueller 2010)"
    r["treated_units"] = ["E06000023"]
    r["estimate"]["att"], r["estimate"]["ci_low"], r["estimate"]["ci_high"] = -1.5, -2.5, -0.5
    r["estimate"]["inference"] = {"method": "placebo", "reason": "placebo-in-space",
                                  "details": {}}
    r["weights"] = [{"unit": "E06000001", "weight": 0.7}, {"unit": "E06000002", "weight": 0.3}]
    del r["diagnostics"]["pretrend_test"]
    r["diagnostics"]["pre_fit"] = {"mspe": 0.2, "rmspe": 0.45, "rmspe_to_sd": 0.8}
    return r


def hostile() -> dict[str, Any]:
    """Area codes and names that are HTML/Markdown injection attempts."""
    r = copy.deepcopy(_BASE)
    bad = "<script>alert(1)</script>"
    bad2 = '"><img src=x onerror=alert(1)>'
    r["treated_units"] = [bad, bad2]
    r["diagnostics"]["unit_names"] = {bad: bad2, bad2: bad}
    r["outcome"] = "y<b>"
    r["provenance"]["inputs"] = [{"path": bad2 + ".csv", "sha256": "0" * 64, "rows": 1}]
    r["warnings"] = [bad]
    return r


def match() -> dict[str, Any]:
    """Matched comparison areas: one of its two matched areas is also a synthetic donor."""
    r = copy.deepcopy(_BASE)
    r["method"] = "match"
    r["design"] = ("Matched comparison areas (1-nearest-neighbour matching) + two-way fixed "
                   "effects DiD")
    r["comparison_units"] = ["E06000001", "E06000003"]
    r["estimate"]["att"], r["estimate"]["ci_low"], r["estimate"]["ci_high"] = 1.1, 0.2, 2.0
    r["weights"] = [{"unit": "E06000001", "weight": 1.0}, {"unit": "E06000003", "weight": 1.0}]
    return r


def triangulated() -> list[dict[str, Any]]:
    """Three designs on one outcome (they disagree: synthetic control points the other way)."""
    return [did_twfe(), synth(), match()]
