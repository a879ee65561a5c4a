"""Synthetic control results: effects by period, weights, diagnostics, checks and charts.

Diagnostics feed the JSON, the evidence rating (``pre_fit.rmspe_to_sd``: pre-period RMSPE
over the sample SD of the pilot's pre-period outcome, as for ``--design sdid``) and the
report (``checks``: assumption, check, result, ok, verdict; ``charts``: chart specs of kinds
"paths", "gap", "placebo" and "weights").
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from lpip_eval.data.panel import Panel
from lpip_eval.methods.synth.fit import UnitFit, missing_allowed
from lpip_eval.methods.synth.placebo import NEAR_EXACT, RMSPE_FLOOR, Paths
from lpip_eval.methods.synth.weights import solve_simplex_qp, standardise
from lpip_eval.numbers import fmt_number, fmt_sig
from lpip_eval.results.evidence import POOR_FIT_RATIO
from lpip_eval.results.result import PeriodEffect

if TYPE_CHECKING:
    from lpip_eval.methods.synth.classic import BuiltProblem, SynthSpec, WideData


def design_name(spec: SynthSpec, n_targets: int, n_treated: int) -> str:
    name = ("Synthetic control (Abadie, Diamond & Hainmueller 2010)" if not spec.penalty else
            f"Penalised synthetic control (Abadie & L'Hour 2021, lambda {spec.penalty:g})")
    if n_treated > 1:
        name += (", the pilot areas' average fitted as one area" if n_targets == 1 else
                 f", {n_targets} pilot areas fitted one by one and averaged")
    return name


def period_effects(panel: Panel, path: Paths, common: bool,
                   sets: list[Any] | None = None) -> tuple[PeriodEffect, ...]:
    """The (average) gap in every period; event time 0 is the first treated period.
    ``sets``: per post-period conformal sets (ends NaN when unbounded: null)."""
    mean = path.mean
    labels = panel.period_labels
    out = []
    for col, gap in enumerate(mean):
        k = col - path.offset
        if not np.isfinite(gap):
            continue
        label = labels[col] if common else f"t{k:+d}"
        cs = sets[k] if sets is not None and 0 <= k < len(sets) else None
        low = cs.low if cs is not None and math.isfinite(cs.low) else None
        high = cs.high if cs is not None and math.isfinite(cs.high) else None
        out.append(PeriodEffect(period=label, event_time=k, att=float(gap), se=None,
                                ci_low=low, ci_high=high))
    return tuple(out)


def weights(data: WideData, fits: list[UnitFit]) -> tuple[tuple[str, float], ...]:
    """Donor weights of the (average) synthetic control, largest first; zeros left out."""
    total: dict[str, float] = {}
    for fit in fits:
        for j, w in zip(fit.donors, fit.w, strict=True):
            name = data.names[int(j)]
            total[name] = total.get(name, 0.0) + float(w) / len(fits)
    rounded = [(u, round(w, 10)) for u, w in total.items()]
    return tuple(sorted(((u, w) for u, w in rounded if w > 0), key=lambda x: (-x[1], x[0])))


def _balance(data: WideData, built: BuiltProblem, fit: UnitFit) -> list[dict[str, Any]]:
    x = built.problem.x
    return [{"predictor": name, "pilot": float(x[i, fit.target]),
             "synthetic": float(x[i, fit.donors] @ fit.w),
             "donor_mean": float(np.mean(x[i, built.pool]))}
            for i, name in enumerate(built.labels)]


def _ratio(fit: UnitFit, floor: float) -> float | None:
    """The post/pre RMSPE ratio, or None when the pre-period fit is exact (undefined)."""
    return fit.ratio if math.sqrt(fit.pre_mspe) >= floor else None


HULL_DISTANCE = 0.5  # RMS distance (predictor SDs) from the donors' convex hull: outside
HULL_V = 0.1  # a predictor beyond every donor's value matters when it carries this much of V


def hull(built: BuiltProblem, fit: UnitFit) -> dict[str, Any]:
    """Whether the pilot lies in the donors' convex hull on the standardised predictors
    (Abadie, Diamond & Hainmueller 2010, sec. 2.3; Abadie 2021, sec. 3.2: outside it no
    weights can reproduce the pilot and the gap is biased): the RMS distance to the nearest
    convex combination, and the predictors on which the pilot is beyond every donor."""
    x = built.problem.x
    donors = fit.donors
    xs, _ = standardise(x[:, np.append(donors, fit.target)])
    z = xs[:, -1][:, None] - xs[:, :-1]
    w = solve_simplex_qp(z).w
    distance = float(np.sqrt(np.mean((z @ w) ** 2)))
    beyond: list[dict[str, Any]] = []
    for i, name in enumerate(built.labels):
        side = ("above" if xs[i, -1] > xs[i, :-1].max() + 1e-12 else
                "below" if xs[i, -1] < xs[i, :-1].min() - 1e-12 else None)
        if side:
            beyond.append({"predictor": name, "side": side, "v": float(fit.v[i])})
    outside = distance > HULL_DISTANCE or any(float(fit.v[i]) >= HULL_V for i, name
                                              in enumerate(built.labels)
                                              if name in {b["predictor"] for b in beyond})
    return {"distance_sd": distance, "beyond_range": beyond, "outside": outside}


def _area(data: WideData, built: BuiltProblem, fit: UnitFit, floor: float) -> dict[str, Any]:
    pre = built.problem.pre
    spread = float(np.nanstd(data.y[fit.target, pre], ddof=1)) if len(pre) > 1 else math.nan
    rmspe = math.sqrt(fit.pre_mspe)
    order = np.argsort(-fit.w, kind="stable")
    return {
        "unit": data.names[fit.target],
        "att": float(np.nanmean(fit.gaps[built.problem.post])),
        "pre_fit": {"mspe": fit.pre_mspe, "rmspe": rmspe,
                    "rmspe_to_sd": rmspe / spread if spread > 0 else None,
                    "fit_mspe": float(np.mean(fit.gaps[built.problem.fit] ** 2))},
        "post_pre_ratio": _ratio(fit, floor),
        "weights": [{"unit": data.names[int(fit.donors[j])], "weight": float(fit.w[j])}
                    for j in order if fit.w[j] > 1e-6],
        "v": [{"predictor": n, "weight": float(v)}
              for n, v in zip(built.labels, fit.v, strict=True)],
        "v_search": fit.search,
        "predictor_balance": _balance(data, built, fit),
        "donors_used": len(fit.donors),
        "hull": hull(built, fit),
    }


def diagnostics(panel: Panel, data: WideData, built: dict[int, BuiltProblem], fits: list[UnitFit],
                path: Paths, inference: dict[str, Any],
                refits: dict[str, Any], start_of: dict[int, int], scale: float,
                warnings: list[str]) -> dict[str, Any]:
    """The ``diagnostics`` block (see the module docstring). ``refits``: "space" (start ->
    placebo fits), "time" (target -> in-time placebo fit), "loo" ([(donor, fit)]);
    ``scale``: the outcome's SD across areas and pre-periods (exact-fit floors); overfitting
    and hull warnings are appended to ``warnings``."""
    labels = panel.period_labels
    first = built[min(built)]
    floor = RMSPE_FLOOR * scale
    areas = [_area(data, built[start_of[f.target]], f, floor) for f in fits]
    main = areas[0]
    mspe = float(np.mean(path.pre ** 2))
    rmspe = math.sqrt(mspe)
    sds = [a["pre_fit"]["rmspe"] / a["pre_fit"]["rmspe_to_sd"] for a in areas
           if a["pre_fit"]["rmspe_to_sd"]]
    spread = float(np.mean(sds)) if sds else math.nan
    common = len(built) == 1
    start = min(built)
    att = float(np.mean(path.post))
    diag: dict[str, Any] = {
        **panel.shape(),
        "pre_periods": int(start),
        "post_periods": int(panel.n_periods - start),
        "fit_periods": [labels[int(first.problem.fit[0])], labels[int(first.problem.fit[-1])]],
        "donors": len(first.pool),
        "predictors": list(first.labels),
        "mode": "single" if len(panel.treated_units) == 1 else
                "aggregate" if len(fits) == 1 else "separate",
        "pre_fit": {"mspe": mspe, "rmspe": rmspe,
                    "rmspe_to_sd": rmspe / spread if spread > 0 else None,
                    "fit_mspe": main["pre_fit"]["fit_mspe"] if len(fits) == 1 else None,
                    **_overfit(rmspe, fits, scale, len(first.problem.fit), len(first.pool),
                               warnings)},
        "predictor_balance": main["predictor_balance"],
        "hull": _hull_summary(areas, warnings),
        "v": main["v"],
        "v_search": main["v_search"],
        "placebo": _placebo_block(data, inference, refits["time"], refits["loo"], labels),
        "unit_names": dict(sorted(panel.unit_names.items())),
    }
    if len(fits) > 1:
        diag["areas"] = areas
    if common:
        with missing_allowed():
            pilot = np.nanmean(np.vstack([data.y[f.target] for f in fits]), axis=0)
            comparison = np.nanmean(data.y[first.pool], axis=0)
        synthetic = pilot - path.mean
        diag["group_means"] = [{"period": labels[t], "treated": float(pilot[t]),
                                "comparison": float(comparison[t])}
                               for t in range(panel.n_periods)]
        diag["paths"] = [{"period": labels[t], "pilot": float(pilot[t]),
                          "synthetic": float(synthetic[t])} for t in range(panel.n_periods)]
    diag["checks"] = _checks(diag, areas, inference, refits["time"], refits["loo"], fits, att)
    diag["charts"] = _charts(panel, data, diag, path, fits, refits["space"].get(start, []), common,
                             labels[start], floor)
    return diag


def _hull_summary(areas: list[dict[str, Any]], warnings: list[str]) -> dict[str, Any]:
    """The worst area's hull check, with a warning and a suggestion when outside."""
    worst = max(areas, key=lambda a: (a["hull"]["outside"], a["hull"]["distance_sd"]))
    block = {"unit": worst["unit"], **worst["hull"]}
    if block["outside"]:
        sides = "; ".join(f"{b['predictor']} {b['side']} every comparison area"
                          for b in block["beyond_range"][:3])
        warnings.append(
            f"{worst['unit']} lies outside the range the comparison areas can be mixed to "
            f"reach (distance {block['distance_sd']:.2f} predictor SDs"
            f"{'; ' + sides if sides else ''}): no weights can reproduce it, so the gap mixes "
            "the effect with the difference; use an outcome per resident or an index "
            "(e.g. a rate) that puts the pilot among the comparison areas, or --design sdid, "
            "which allows a constant difference in level")
    return block


def _overfit(rmspe: float, fits: list[UnitFit], scale: float, n_fit: int, n_donors: int,
             warnings: list[str]) -> dict[str, Any]:
    """Exact (RMSPE below ``RMSPE_FLOOR`` x the outcome's SD across areas) and near-exact
    (below ``NEAR_EXACT`` x) pre-period fits: with about as many donors as periods the
    weights can reproduce any pre-period path, so such a fit is overfitting (Abadie 2021,
    sec. 7: a good fit is informative only over many pre-periods), not a passed check."""
    worst = min([rmspe, *(math.sqrt(f.pre_mspe) for f in fits)])
    exact = worst < RMSPE_FLOOR * scale
    overfit = worst < NEAR_EXACT * scale
    if overfit:
        warnings.append(
            f"the synthetic comparison reproduces the pilot's {n_fit} pre-period values "
            f"{'exactly' if exact else 'almost exactly'} with {n_donors} comparison areas: "
            "with so few periods an exact fit says nothing about how well it would have "
            "tracked the pilot (overfitting); look for more pre-periods, or read this "
            "estimate alongside `lpip-eval did` on the same data")
    return {"exact": exact, "overfit": overfit, "fit_periods": n_fit, "donors": n_donors,
            "outcome_sd_across_areas": scale}


def _charts(panel: Panel, data: WideData, diag: dict[str, Any], path: Paths, fits: list[UnitFit],
            placebos: list[UnitFit], common: bool, start: str, floor: float
            ) -> list[dict[str, Any]]:
    """Pilot vs synthetic, the gap, the placebo gaps and the donor weights."""
    label = panel.outcome.replace("_", " ")
    charts: list[dict[str, Any]] = []
    x = list(panel.period_labels) if common else [f"t{k - path.offset:+d}"
                                                    for k in range(path.gaps.shape[1])]
    gap = [float(g) for g in path.mean]
    if common:
        paths = diag["paths"]
        charts.append({
            "id": "synth_paths", "kind": "paths", "title": f"{label}: pilot vs synthetic",
            "alt": (f"Line chart of {label} from {x[0]} to {x[-1]} for the pilot and its "
                    f"synthetic comparison; the pilot starts at {start}."),
            "columns": ["Period", "Pilot", "Synthetic control"],
            "rows": [[r["period"], fmt_number(r["pilot"]), fmt_number(r["synthetic"])]
                     for r in paths],
            "series": {"x": x, "pilot": [r["pilot"] for r in paths],
                       "comparison": [r["synthetic"] for r in paths], "start": start},
        })
    charts.append({
        "id": "synth_gap", "kind": "gap", "title": f"Gap in {label}: pilot minus synthetic",
        "alt": (f"Line chart of the gap between the pilot and its synthetic comparison from "
                f"{x[0]} to {x[-1]}; before the start it shows the fit, after it the effect."),
        "columns": ["Period", "Gap"],
        "rows": [[p, fmt_number(g, 3)] for p, g in zip(x, gap, strict=True)],
        "series": {"x": x, "gap": gap, "start": start if common else "t+0"},
    })
    if placebos and common:
        names = [data.names[f.target] for f in placebos]
        charts.append({
            "id": "synth_placebo", "kind": "placebo",
            "title": f"Gap in {label}: pilot and placebo areas",
            "alt": (f"Line chart of the gap for the pilot (highlighted) and for each of the "
                    f"{len(placebos)} comparison areas re-fitted as if it had the pilot."),
            "columns": ["Area", "Pre-period RMSPE", "Post/pre RMSPE ratio"],
            "rows": [[n, fmt_number(math.sqrt(f.pre_mspe), 3),
                      "undefined (exact pre-period fit)" if _ratio(f, floor) is None else
                      fmt_number(f.ratio, 2)]
                     for n, f in sorted(zip(names, placebos, strict=True),
                                        key=lambda nf: (_ratio(nf[1], floor) is None,
                                                        -nf[1].ratio))],
            "series": {"x": x, "pilot": gap, "placebos": [[float(g) for g in f.gaps]
                                                          for f in placebos],
                       "units": names, "start": start},
        })
    shown = [(u, w) for u, w in weights(data, fits) if w > 1e-6]
    charts.append({
        "id": "synth_weights", "kind": "weights", "title": "Weights of the comparison areas",
        "alt": "Bar chart of the weight of each comparison area in the synthetic control, "
               "largest first.",
        "columns": ["Comparison area", "Weight"],
        "rows": [[data.panel.unit_names.get(u, u), fmt_number(w, 3)] for u, w in shown],
        "series": {"units": [u for u, _ in shown], "weights": [w for _, w in shown],
                   "names": [data.panel.unit_names.get(u, u) for u, _ in shown]},
    })
    return charts


def _placebo_block(data: WideData, inference: dict[str, Any], in_time: dict[int, UnitFit],
                   loo: list[tuple[int, UnitFit]], labels: tuple[str, ...]) -> dict[str, Any]:
    return {
        "in_space": inference or None,
        "in_time": [{"unit": data.names[t], "fake_start": labels[f.start],
                     "gap_after_fake_start": f.att,
                     "post_pre_ratio": f.ratio if f.pre_mspe > 0 else None,
                     "pre_rmspe": math.sqrt(f.pre_mspe)} for t, f in in_time.items()],
        "leave_one_out": [{"unit": data.names[f.target], "left_out": data.names[donor],
                           "att": f.att, "pre_rmspe": math.sqrt(f.pre_mspe)}
                          for donor, f in loo],
    }


def _checks(diag: dict[str, Any], areas: list[dict[str, Any]], inference: dict[str, Any],
            in_time: dict[int, UnitFit], loo: list[tuple[int, UnitFit]],
            fits: list[UnitFit], att: float) -> list[dict[str, Any]]:
    """Each assumption with the check behind it and a verdict a policymaker can read."""
    fit = diag["pre_fit"]
    ratio = fit["rmspe_to_sd"]
    ok_fit = ratio is not None and ratio <= POOR_FIT_RATIO and not fit["overfit"]
    verdict = ("The synthetic comparison tracked the pilot closely before the start."
               if ok_fit else "The synthetic comparison did not track the pilot well before "
               "the start; treat the estimate with caution.")
    if fit["overfit"]:
        verdict = (f"Overfitting: the synthetic comparison reproduces the pilot's "
                   f"{fit['fit_periods']} pre-period values "
                   f"{'exactly' if fit['exact'] else 'almost exactly'} using "
                   f"{fit['donors']} comparison areas, which any mix of that many areas can "
                   "do; the fit does not show that it would have tracked the pilot later.")
    checks = [{
        "assumption": "Without the pilot, the pilot area would have followed its synthetic "
                      "comparison (a weighted mix of comparison areas).",
        "check": "Pre-period fit: root mean squared gap before the start, relative to the "
                 "spread of the pilot's outcome then.",
        "result": f"typical gap {fmt_sig(fit['rmspe'], 3)}" + (f" ({ratio:.2f} of the spread)"
                                                             if ratio is not None else ""),
        "ok": ok_fit,
        "verdict": verdict,
    }]
    outside = [b["predictor"] for a in areas for b in a["predictor_balance"]
               if abs(b["synthetic"] - b["pilot"]) > 0.1 * (abs(b["pilot"]) + 1e-12)]
    checks.append({
        "assumption": "The comparison areas can be mixed to resemble the pilot on the "
                      "characteristics that predict the outcome.",
        "check": "Predictor balance: pilot against its synthetic comparison.",
        "result": f"{len(outside)} predictor{'s' if len(outside) != 1 else ''} off by more than "
                  "10%" if outside else "every predictor within 10%",
        "ok": not outside,
        "verdict": "The synthetic comparison resembles the pilot." if not outside else
        f"The synthetic comparison differs from the pilot on {', '.join(outside[:3])}"
        f"{' and more' if len(outside) > 3 else ''}.",
    })
    hull_block = diag["hull"]
    checks.append({
        "assumption": "The pilot lies within the range the comparison areas can be mixed to "
                      "reach (the convex hull of their predictors).",
        "check": "Distance from the pilot's predictors to the nearest weighted mix of "
                 "comparison areas, in standard deviations.",
        "result": f"{hull_block['distance_sd']:.2f} SDs" + (
            f"; beyond every comparison area on {len(hull_block['beyond_range'])} "
            "predictor(s)" if hull_block["beyond_range"] else ""),
        "ok": not hull_block["outside"],
        "verdict": "The pilot is within reach of the comparison areas." if not
        hull_block["outside"] else "The pilot lies outside what the comparison areas can "
        "reproduce: the gap may reflect that difference, not the pilot.",
    })
    if in_time:
        fakes = [f.att for f in in_time.values()]
        worst = max(fakes, key=abs)
        ok = all(abs(g) <= 0.5 * abs(att) for g in fakes) if att else None
        checks.append({
            "assumption": "The gap opens when the pilot starts, not before.",
            "check": "In-time placebo: the method re-run as if the pilot had started halfway "
                     "through the pre-period.",
            "result": (f"gap after the fake start {fmt_sig(worst, 3)} "
                       f"(real effect {fmt_sig(att, 3)})"),
            "ok": ok,
            "verdict": "No comparable gap appears at the fake start." if ok else
            "A gap appears at the fake start too: the estimate may reflect something other "
            "than the pilot.",
        })
    if loo:
        # Each refit drops one donor from one pilot's fit; the headline is the pilots'
        # average, so that refit moves it by the change in that pilot's effect / n pilots.
        own = {f.target: f.att for f in fits}
        effects = [att + (f.att - own.get(f.target, f.att)) / len(fits) for _, f in loo]
        same = all(np.sign(e) == np.sign(att) for e in effects)
        n_donors = len({donor for donor, _ in loo})
        checks.append({
            "assumption": "The result does not hinge on one comparison area.",
            "check": f"Leave-one-out: re-fitted without each of the {n_donors} comparison "
                     f"areas with weight ({len(loo)} refits).",
            "result": (f"effects from {fmt_sig(min(effects), 3)} "
                       f"to {fmt_sig(max(effects), 3)}"),
            "ok": bool(same),
            "verdict": "Dropping any one comparison area leaves the direction of the effect "
                       "unchanged." if same else "Dropping one comparison area changes the "
                       "direction of the effect: the result is fragile.",
        })
    if inference:
        checks.append({
            "assumption": "The pilot's gap after the start is unusual compared with areas that "
                          "had no pilot.",
            "check": "Placebo areas: the method re-run with each comparison area treated as "
                     "if it had had the pilot, and the areas ranked by "
                     + ("how much larger their gap is after the start than before it."
                        if str(inference["statistic"]).startswith("post/pre") else
                        "the size of their gap after the start."),
            "result": f"rank {inference['rank']} of {inference['placebos'] + 1}",
            "ok": None,
            "verdict": "This is the basis of the p-value and range above.",
        })
    return checks
