"""``did --design callaway-santanna``: Callaway & Sant'Anna (2021) as an EffectResult.

Headline: the simple aggregation (post-treatment ATT(g,t) weighted by cohort size);
``effects_by_period``: the dynamic (event-time) aggregation; ``diagnostics.group_time``
every ATT(g,t) and ``diagnostics.aggregations`` all four aggregations. Inference: see
:mod:`lpip_eval.methods.staggered.inference`; the pre-trend check is the Wald test of R
``did``'s ``att_gt`` on the pre-treatment ATT(g,t) (randomization: its permutation analogue).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lpip_eval.data.panel import Panel
from lpip_eval.errors import DesignError
from lpip_eval.methods.linear import inference as inf
from lpip_eval.methods.registry import with_evidence
from lpip_eval.methods.sensitivity import honest
from lpip_eval.methods.specs import DidSpec
from lpip_eval.methods.staggered import inference as sinf
from lpip_eval.methods.staggered.aggregate import Aggregation, aggregate_all, dynamic, simple
from lpip_eval.methods.staggered.base import Base, influence_base
from lpip_eval.methods.staggered.bootstrap import analytic_se, multiplier_bootstrap
from lpip_eval.methods.staggered.cohorts import Wide, cohort_table, wide_panel
from lpip_eval.methods.staggered.group_time import GroupTime, group_time
from lpip_eval.methods.staggered.report_data import diagnostics_of, panel_means
from lpip_eval.results.result import EffectResult, Estimate, InferenceInfo, PeriodEffect

DESIGN = "Callaway & Sant'Anna (2021) staggered difference-in-differences"


def estimate_cs(panel: Panel, spec: DidSpec, progress: Any = None,
                choice_note: dict[str, Any] | None = None) -> EffectResult:
    """Estimate ``panel`` with Callaway & Sant'Anna; ``choice_note`` (from ``--design
    auto``) goes into ``diagnostics.design_choice``."""
    try:
        return _estimate(panel, spec, choice_note)
    except DesignError as exc:
        source = panel.source
        if source and not exc.message.startswith(source):
            raise DesignError(f"{source}: {exc.message}", hint=exc.hint) from None
        raise


@dataclass(frozen=True)
class Table:
    """Every estimate as one column: names, values, and influence functions ``base @ coef``
    (n x p base columns, p x m coefficients; see ``staggered.base``)."""

    names: list[tuple[str, int | None]]
    att: np.ndarray
    base: Base
    coef: np.ndarray

    def index(self, kind: str, key: int | None = None) -> int:
        return self.names.index((kind, key))


def _table(aggs: dict[str, Aggregation], gt: GroupTime, base: Base) -> Table:
    names: list[tuple[str, int | None]] = []
    values: list[float] = []
    cols: list[np.ndarray] = []
    for kind in ("simple", "dynamic", "group", "calendar"):
        agg = aggs[kind]
        for j, key in enumerate(agg.keys):
            names.append((kind, int(key)))
            values.append(float(agg.att[j]))
            cols.append(agg.coef[:, j])
        names.append((kind, None))
        values.append(agg.overall)
        cols.append(agg.overall_coef)
    cells = len(gt.att)
    names += [("gt", j) for j in range(cells)]  # the ATT(g,t) are the first base columns
    values += [float(v) for v in gt.att]
    coef = np.hstack([np.column_stack(cols), np.eye(base.p)[:, :cells]])
    return Table(names, np.array(values), base, coef)


def _statistic(control: str, base_period: str, estimation: str, pre: np.ndarray
               ) -> Any:
    def stat(wide: Wide) -> np.ndarray:
        gt = group_time(wide, control=control, base_period=base_period,
                        estimation=estimation, influence=False)
        return np.concatenate([[simple(wide, gt).overall], dynamic(wide, gt).att,
                               gt.att[pre]])
    return stat


def _checks(wide: Wide, spec: DidSpec) -> None:
    if not len(wide.groups):
        raise DesignError("no area starts treatment within the data's periods",
                          hint="check the first-treated column and the periods")
    if spec.control_group == "never" and not np.any(wide.cohort == wide.n_periods):
        raise DesignError("there are no never-treated comparison areas",
                          hint="use --control-group not-yet")


def _estimate(panel: Panel, spec: DidSpec, choice_note: dict[str, Any] | None) -> EffectResult:
    if panel.covariates is not None:
        panel = panel.complete_covariate_rows()
    warnings = list(panel.warnings)
    wide = wide_panel(panel, warnings)
    _checks(wide, spec)
    gt = group_time(wide, control=spec.control_group, base_period=spec.base_period,
                    estimation=spec.estimation)
    if not np.isfinite(gt.att[gt.post]).any():
        raise DesignError("no cohort has comparison areas after its start",
                          hint="use --control-group never, or add never-treated areas")
    if np.isnan(gt.att).any():
        warnings.append(f"{int(np.isnan(gt.att).sum())} ATT(g,t) cells have no comparison "
                        "areas (every area is treated by then) and are left out")
    aggs = aggregate_all(wide, gt)
    table = _table(aggs, gt, influence_base(wide, gt))
    choice = sinf.choose(spec.inference, wide)
    level, z = spec.ci_level, _z(spec.ci_level)
    root = table.base.root(wide)  # F'F = S'S, the clustered Gram: every analytic (co)variance
    se = analytic_se(root, table.coef, wide.n)
    scale = _scale(wide)
    details: dict[str, Any] = {"clusters": int(wide.clusters.max()) + 1,
                               "treated_clusters": sinf.treated_clusters(wide)}
    band: dict[str, Any] = {"kind": "pointwise", "critical_value": z}
    dyn = [table.index("dynamic", int(e)) for e in aggs["dynamic"].keys]
    pre = np.flatnonzero(~gt.post & (gt.time != gt.base) & np.isfinite(gt.att))
    rand: dict[int, tuple[float | None, float | None, float]] = {}
    pretest: dict[str, Any] | None = None
    if choice.method == "multiplier-bootstrap":
        kind = spec.bootstrap_weights or "rademacher"
        boot = multiplier_bootstrap(wide, table.base, table.coef, draws=spec.draws,
                                    seed=spec.seed, kind=kind)
        se = boot.se()
        crit = boot.critical_value(np.array(dyn), level, floor=inf.ZERO_SE * scale)
        band = {"kind": "uniform (simultaneous over event times)", "critical_value": crit}
        details.update({"draws": spec.draws, "weights": kind, "seed": spec.seed})
    elif choice.method == "randomization":
        stat = _statistic(spec.control_group, spec.base_period, spec.estimation, pre)
        on_y, on_d, plan = sinf.permutation_stats(wide, stat, draws=spec.draws, seed=spec.seed)
        observed = np.concatenate([[table.att[table.index("simple")]], table.att[dyn],
                                   gt.att[pre]])
        for j, col in enumerate([table.index("simple"), *dyn]):
            p = inf.randomization_pvalue(float(observed[j]), on_y[:, j], plan)
            key = table.names[col][1]
            if key is not None and key < 0:
                rand[col] = (None, None, p)
                continue
            lo, hi = inf.randomization_interval(float(observed[j]), on_y[:, j], on_d[:, j],
                                                plan, level, float(se[col]))
            rand[col] = (lo, hi, p)
        if len(pre):
            stat_obs, p = inf.randomization_wald(observed[1 + len(dyn):],
                                                 on_y[:, 1 + len(dyn):], plan)
            pretest = _pretest_dict(stat_obs, None, p, len(pre), "randomization")
        details.update({"draws": plan.draws, "exact": plan.exact, "seed": spec.seed,
                        "assignments": "start periods reassigned across areas"})
        if inf.count_assignments(wide.cohort) < inf.MIN_RI_ASSIGNMENTS:
            warnings.append("fewer than 20 possible assignments: the randomization p-value "
                            "cannot fall below 0.05")
    if pretest is None and len(pre):
        pretest = _wald(gt.att[pre], root[:, pre].T @ root[:, pre] / wide.n**2)
    if choice.method == "cluster" and details["treated_clusters"] < sinf.FEW_TREATED:
        warnings.append(f"only {details['treated_clusters']} treated areas: influence-function "
                        "standard errors are likely too small; consider --inference "
                        "randomization")
    intervals = _intervals(table, se, z, scale, rand, band, dyn)
    head = intervals[table.index("simple")]
    estimate = Estimate(att=float(table.att[table.index("simple")]), se=head[0],
                        ci_low=_num(head[1]), ci_high=_num(head[2]), ci_level=level,
                        p_value=head[3],
                        inference=InferenceInfo(choice.method, choice.reason, details))
    diag = diagnostics_of(panel, wide, gt, aggs, table.names, table.att, intervals, spec)
    diag.update(panel_means(panel))
    diag["cohorts"] = cohort_table(wide)
    diag["event_study_band"] = band
    inf.record_pretrend(diag, warnings, pretest)
    if choice_note:
        diag["design_choice"] = choice_note
    _sensitivity(wide, table, root, aggs["dynamic"].keys, dyn, spec, diag, warnings)
    starts = [wide.labels[int(g)] for g in wide.groups]
    is_treated = wide.cohort < wide.n_periods
    treated = tuple(map(panel.units.__getitem__, wide.units[is_treated].tolist()))
    comparison = tuple(map(panel.units.__getitem__, wide.units[~is_treated].tolist()))
    effects = tuple(
        PeriodEffect(period=f"t{int(e):+d}", event_time=int(e),
                     att=float(table.att[col]), se=intervals[col][0],
                     ci_low=intervals[col][1], ci_high=intervals[col][2])
        for e, col in zip(aggs["dynamic"].keys, dyn, strict=True))
    return with_evidence(EffectResult(
        method="did", design=DESIGN, outcome=panel.outcome, unit_col=panel.unit_col,
        time_col=panel.time_col, treated_units=treated, comparison_units=comparison,
        treatment_start=starts[0], estimate=estimate, effects_by_period=effects,
        diagnostics=diag, warnings=tuple(dict.fromkeys(warnings))))


def _sensitivity(wide: Wide, table: Table, root: np.ndarray, keys: Any, dyn: list[int],
                 spec: DidSpec, diag: dict[str, Any], warnings: list[str]) -> None:
    """HonestDiD on the dynamic aggregation with its clustered influence-function
    covariance; as R HonestDiD's ``honest_did`` for ``aggte``, only with a universal base
    period (varying-base pre-period estimates are not event-study coefficients)."""
    request = honest.request_of(spec)
    asked = [m for m in request.methods if m != "none"]
    if spec.base_period != "universal":
        if asked:
            warnings.append("sensitivity analysis skipped: Callaway-Sant'Anna needs "
                            "--base-period universal for it (as R HonestDiD)")
        return
    scores = root @ table.coef[:, dyn]
    vcov = scores.T @ scores / wide.n**2
    rows, notes = honest.analyse([int(e) for e in keys], table.att[dyn], vcov, request,
                                 int(np.sum(wide.cohort < wide.n_periods)))
    if rows:
        diag["sensitivity"] = rows
    warnings.extend(notes)


Interval = tuple[float | None, float | None, float | None, float]  # se, low, high, p


def _intervals(table: Table, se: np.ndarray, z: float, scale: float,
               rand: dict[int, tuple[float | None, float | None, float]],
               band: dict[str, Any], dyn: list[int]) -> list[Interval]:
    """(se, ci_low, ci_high, p) per estimate; NaN where the standard error is zero."""
    from scipy import special

    out: list[Interval] = []
    crit = band["critical_value"]
    dyn_set = set(dyn)
    for col, att in enumerate(table.att):
        s = float(se[col])
        if col in rand:
            lo, hi, p = rand[col]
            out.append((None, lo, hi, p))
            continue
        if not math.isfinite(att) or not math.isfinite(s) or s <= inf.ZERO_SE * scale:
            zero = math.isfinite(att) and att == 0.0 and s == 0.0
            out.append((0.0 if zero else None, 0.0 if zero else math.nan,
                        0.0 if zero else math.nan, math.nan))
            continue
        q = crit if col in dyn_set and math.isfinite(crit) else z
        p = float(2 * special.ndtr(-abs(att / s)))
        out.append((s, float(att - q * s), float(att + q * s), p))
    return out


def _num(value: float | None) -> float:
    return math.nan if value is None else value


def _z(level: float) -> float:
    from scipy import special

    return float(special.ndtri(0.5 + level / 2))


def _scale(wide: Wide) -> float:
    """The size of an influence-function SE the data's noise would give (for zero tests)."""
    dev = wide.y - wide.y.mean(axis=1, keepdims=True)
    return float(np.sqrt(np.mean(dev**2)) / math.sqrt(wide.n))


def _pretest_dict(stat: float, df: int | None, p: float, cells: int, how: str
                  ) -> dict[str, Any]:
    return {"test": f"joint test of the pre-treatment ATT(g,t) ({how})", "statistic": stat,
            "df": df, "p_value": p, "leads": cells, "rejected_at_5pct": bool(p < 0.05)}


def _wald(att: np.ndarray, vcov: np.ndarray) -> dict[str, Any] | None:
    """Wald test that every pre-treatment ATT(g,t) is zero, with the influence-function
    covariance ``vcov`` (R ``did``'s ``att_gt`` pre-test)."""
    from scipy import special

    scale = float(np.max(np.abs(np.diag(vcov)))) if len(vcov) else 0.0
    if scale <= 0:
        return None
    rank = int(np.linalg.matrix_rank(vcov, tol=1e-10 * scale))
    stat = float(att @ np.linalg.pinv(vcov, rcond=1e-10) @ att)
    p = float(special.chdtrc(rank, stat))
    return _pretest_dict(stat, rank, p, len(att), "Wald, influence-function covariance")
