"""Matching for unit-level data (people, firms): the ATT of ``teffects nnmatch``, as a result.

For a pilot whose data are one row per participant or non-participant rather than areas by
period (``lpip-eval match DATA --design nnmatch``): each treated unit is matched, with
replacement, to its ``k`` nearest untreated units on the ``match_on`` variables (ties kept),
and the ATT is the mean difference in the outcome, optionally bias-adjusted, with the
Abadie-Imbens standard error of the population ATT. The estimator is
:func:`lpip_eval.methods.match.nnmatch.nnmatch`, which equals Stata 18's ``teffects nnmatch ...,
atet`` (Abadie & Imbens 2006, 2011; see its docstring and
``tests/methods/test_nnmatch_teffects.py``).

This module reads and checks the file through :func:`lpip_eval.data.units.load_units` (one
line per problem, naming the file, column and rows), runs the estimator, and packs an
:class:`~lpip_eval.results.result.EffectResult` with the balance table (cobalt/MatchIt
definitions for the ATT: SMD over the treated group's SD), the matched units and their
weights, and the checks the report shows. It is a cross-sectional
comparison (no before-and-after), so the evidence rating is at most level 2.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lpip_eval.data.units import UnitData, load_units
from lpip_eval.errors import DesignError, UsageError
from lpip_eval.methods.match.balance import balance_table, love_plot
from lpip_eval.methods.match.nnmatch import nnmatch
from lpip_eval.methods.registry import option_setting, with_evidence
from lpip_eval.methods.specs import Checked, MatchSpec, ci_level_option, option
from lpip_eval.results.result import EffectResult, Estimate, InferenceInfo, add_provenance

UNIT_DISTANCES = {"mahalanobis": "Mahalanobis distance", "ivariance": "inverse-variance distance",
                  "euclidean": "Euclidean distance"}


@dataclass(frozen=True)
class UnitMatchSpec(Checked):
    """What to match: columns of a one-row-per-unit file and the estimator's options.

    The options are checked as :class:`~lpip_eval.methods.specs.MatchSpec`'s are (OptionError,
    exit 2), also when the spec is made directly rather than from a MatchSpec.
    """

    data: Path
    outcome: str
    treated_col: str
    match_on: tuple[str, ...]
    id_col: str | None = None  # None: units are named by their spreadsheet row
    exact: tuple[str, ...] = ()
    bias_adjust: bool = False
    distance: str = option("mahalanobis", choices=tuple(UNIT_DISTANCES))
    k: int = option(1, low=1)
    vce_nn: int = option(2, low=0)
    ci_level: float = ci_level_option()


def spec_from_options(data: Path, id_col: str, treated_col: str, outcome: str,
                      options: dict[str, Any], *, where: str) -> UnitMatchSpec:
    """A UnitMatchSpec from ``[match]`` config options (MatchSpec keys, checked by the
    registry: area-only keys with design nnmatch are usage errors naming ``where``)."""
    from lpip_eval.methods.registry import build_options

    spec = build_options("match", {**options, "design": "nnmatch"}, where=where)
    return unit_spec(data, id_col, treated_col, outcome, spec)


def unit_spec(data: Path, id_col: str, treated_col: str, outcome: str,
              spec: MatchSpec) -> UnitMatchSpec:
    """The unit-level spec: the file's columns and a MatchSpec's nnmatch options."""
    return UnitMatchSpec(
        data=data, outcome=outcome, treated_col=treated_col, match_on=spec.match_on,
        id_col=id_col, exact=spec.exact, bias_adjust=spec.bias_adjust,
        distance=spec.distance, k=spec.k, vce_nn=spec.vce_nn, ci_level=spec.ci_level)


def estimate_units(panel_spec: Any, spec: MatchSpec, progress: Any = None, *,
                   command: str = "") -> EffectResult:
    """The registry's ``match --design nnmatch`` estimator: ``panel_spec`` names the file
    (``data``), the id (``area_col``), ``treated_col`` and ``outcome``."""
    if not (panel_spec.treated_col and panel_spec.outcome):
        raise UsageError("design nnmatch needs the treated column (1 = treated, 0 = not) and "
                         "the outcome", hint="give --treated-col and --outcome")
    return run_unit_match(unit_spec(panel_spec.data, panel_spec.area_col,
                                    panel_spec.treated_col, panel_spec.outcome, spec),
                          command=command)


def run_unit_match(spec: UnitMatchSpec, *, command: str, outcome_label: str | None = None,
                   outcome_unit: str | None = None,
                   outcome_scale: str | None = None) -> EffectResult:
    """Read, check and estimate; the result carries its provenance and the outcome's label
    and unit (``results.result.add_provenance``; CLI and config runs)."""
    units = load_units(spec.data, outcome=spec.outcome, treated_col=spec.treated_col,
                       match_on=spec.match_on, id_col=spec.id_col, exact=spec.exact)
    result = estimate_unit_match(spec, units)
    options = {**asdict(spec), "data": str(spec.data), "id_col": units.id_col,
               "design": "nnmatch"}
    return add_provenance(result, [units.source], options, command=command, seed=None,
                          outcome_label=outcome_label, outcome_unit=outcome_unit,
                          outcome_scale=outcome_scale)


def estimate_unit_match(spec: UnitMatchSpec, units: UnitData) -> EffectResult:
    """The ATT of the treated units with its Abadie-Imbens interval, as an EffectResult."""
    from scipy import stats

    _check_design(spec, units)
    res = nnmatch(units.y, units.treated, units.x, k=spec.k, metric=spec.distance,
                  estimand="att", bias_adjust=spec.bias_adjust, vce_nn=spec.vce_nn,
                  population=True, exact=units.exact)
    z = float(stats.norm.ppf(0.5 + spec.ci_level / 2))
    p_value = float(2 * stats.norm.sf(abs(res.estimate / res.se))) if res.se > 0 else math.nan
    controls = ~units.treated
    used = controls & (res.weights > 0)
    balance = balance_table(units.x, list(spec.match_on), units.treated, controls,
                            np.where(units.treated | used, res.weights, 0.0))
    ids = units.ids
    weights = tuple((ids[i], float(res.weights[i])) for i in np.flatnonzero(used))
    reason = ("Abadie-Imbens (2006) standard error of the population ATT, as Stata's teffects "
              f"nnmatch computes it: each unit's outcome variance from it and its {spec.vce_nn} "
              "nearest units of its own group; normal interval"
              if spec.vce_nn else
              "Abadie-Imbens (2006) standard error of the population ATT with one outcome "
              "variance for all units (teffects vce(iid)); normal interval")
    estimate = Estimate(
        att=res.estimate, se=res.se, ci_low=res.estimate - z * res.se,
        ci_high=res.estimate + z * res.se, ci_level=spec.ci_level, p_value=p_value,
        inference=InferenceInfo(method="abadie-imbens", reason=reason, details={
            "variance": "population ATT", "vce_nn": spec.vce_nn,
            "distribution": "normal"}),
    )
    result = EffectResult(
        method="match", design=design_name(spec), outcome=spec.outcome,
        unit_col=units.id_col, time_col="",
        treated_units=tuple(ids[i] for i in np.flatnonzero(units.treated)),
        comparison_units=tuple(ids[i] for i in np.flatnonzero(used)),
        treatment_start=None, estimate=estimate, weights=weights,
        diagnostics=_diagnostics(spec, units, res, balance),
    )
    return with_evidence(result)


def design_name(spec: UnitMatchSpec) -> str:
    """E.g. 'Matched units (1-nearest-neighbour matching on Mahalanobis distance ...)'."""
    adjusted = ", bias-adjusted" if spec.bias_adjust else ""
    return (f"Matched units ({spec.k}-nearest-neighbour matching on "
            f"{UNIT_DISTANCES[spec.distance]} with replacement{adjusted}): ATT as Stata's "
            "teffects nnmatch")


def _check_design(spec: UnitMatchSpec, units: UnitData) -> None:
    n1 = int(units.treated.sum())
    n0 = len(units.treated) - n1
    file = units.source.path
    if n1 == 0 or n0 == 0:
        raise DesignError(f"{file}: column '{spec.treated_col}' marks "
                          f"{'no' if n1 == 0 else 'every'} unit as treated",
                          hint="matching needs treated (1) and untreated (0) units")
    if spec.k > n0:
        raise DesignError(f"{file}: k = {spec.k} matches but only {n0} untreated units",
                          hint=f"use a smaller {option_setting('k')}")
    if spec.vce_nn >= min(n0, n1):
        raise DesignError(f"{file}: {option_setting('vce_nn', spec.vce_nn)} needs more than "
                          f"{spec.vce_nn} units "
                          f"in each group ({n1} treated, {n0} untreated)",
                          hint=f"use a smaller {option_setting('vce_nn')} (0 = one variance for "
                               "all units)")
    flat = [c for c, col in zip(spec.match_on, units.x.T, strict=True) if np.ptp(col) == 0]
    if flat:
        raise DesignError(f"{file}: matching variable '{flat[0]}' has the same value for "
                          "every unit", hint=f"leave it out of {option_setting('match_on')}")
    if units.exact is not None:
        codes = units.exact
        lonely = units.treated & ~np.isin(codes, codes[~units.treated])
        if lonely.any():
            first = units.ids[int(np.argmax(lonely))]
            raise DesignError(f"{file}: {int(lonely.sum())} treated unit(s), e.g. {first}, "
                              f"have no untreated unit with the same "
                              f"{', '.join(spec.exact)}", hint="drop those units from the file, "
                              "or match exactly on fewer columns")


def _diagnostics(spec: UnitMatchSpec, units: UnitData, res: Any,
                 balance: dict[str, Any]) -> dict[str, Any]:
    worst = balance["max_abs_smd_after"]
    ok = worst is not None and worst < 0.25
    return {
        "n_obs": len(units.y),
        "n_treated": int(units.treated.sum()),
        "n_controls": int((~units.treated).sum()),
        "estimand": "att",
        "matching": {
            "method": "nearest neighbour, with replacement, ties kept (teffects nnmatch)",
            "distance": spec.distance, "k": spec.k, "exact": list(spec.exact),
            "variables": list(spec.match_on), "bias_adjusted": spec.bias_adjust,
            "bias_adjustment": "within-group least squares on the matching variables, "
                               "weighted by use as a match (Abadie & Imbens 2011)"
            if spec.bias_adjust else None,
            "covariance": "full sample, divisor n - 1" if spec.distance == "mahalanobis"
            else None,
            "matched_pairs_with_ties": res.n_pairs,
            "weights": "treated units 1; an untreated unit the sum over the treated units it "
                       "serves of 1 / (that unit's number of matches)",
        },
        "balance": balance,
        "checks": [
            {"assumption": "Comparable groups: matched untreated units looked like the "
                           "treated units on the matching variables.",
             "check": "Standardised mean differences after matching (treated SD as "
                      "denominator; |SMD| < 0.1 good, < 0.25 acceptable).",
             "result": "n/a" if worst is None else f"largest |SMD| {worst:.3f}",
             "ok": ok if worst is not None else None,
             "verdict": "The matched groups are balanced on the matching variables." if ok
             else "The matched groups still differ; treat the estimate with caution."},
            {"assumption": "No hidden differences: once matched on these variables, treated "
                           "and untreated units would have had the same outcomes on average.",
             "check": "Not testable from these data (no before-and-after).",
             "result": "n/a", "ok": None,
             "verdict": "The estimate is only as good as the matching variables: a "
                        "difference they miss would bias it."},
        ],
        "charts": [love_plot(balance)],
    }
