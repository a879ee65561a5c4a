"""Classic synthetic control (Abadie & Gardeazabal 2003; Abadie, Diamond & Hainmueller 2010,
2015) with placebo inference.

The pilot's outcome without the pilot is estimated by a weighted average of comparison
areas ("donors"), with weights W >= 0 summing to 1 chosen so that the weighted donors match
the pilot's *predictors* before the start; the predictors' importance V is chosen so that
the weighted donors also track the pilot's outcome over a fitting window (default: every
pre-period). The effect in each period is the gap ``pilot - synthetic``; the headline is the
mean gap over the post-periods. The weights are solved in ``weights.py``.

Predictors (``Predictor`` / ``parse_predictor``): a column's mean over a window
(``lnincome:1980-1988``), or its value in one period (``cigsale:1975``); missing values are
skipped in means, as R's Synth does. Default: the outcome's value in every period of the
fitting window plus the mean of each covariate over the pre-period (with all outcome lags
the fit is the best pre-period fit possible, and V is settled exactly).

Inference (``inference="placebo"``): placebo-in-space (ADH 2010, sec. 2.4): every donor in
turn plays the pilot, with the pilot areas left out of its donor pool, and the ratio of
post- to pre-period root mean squared gap (RMSPE) is compared; ``p = rank / (J + 1)``, the
share of the J placebos plus the pilot whose ratio is at least the pilot's. Placebos whose
pre-period MSPE exceeds ``placebo_mspe_cutoff`` times the pilot's can be left out (ADH 2010,
figs. 5-7). The interval inverts the test under a constant additive effect c (Firpo &
Possebom 2018): subtracting c from the pilot's post-period outcomes changes only the pilot's
ratio (the placebos never use the pilot), so the set of c not rejected is an exact interval
``mean gap +- sqrt((r * pre_RMSPE)^2 - var(post gaps))`` where r is the relevant placebo
ratio. With several pilot areas fitted one by one, the statistic is the ratio of their
average gap, and its reference distribution averages the gaps of randomly drawn sets of
placebos of the same size (Cavallo, Galiani, Noy & Pantano 2013).

Also: placebo-in-time (a fake start halfway through the pre-period), leave-one-out over the
donors with weight, penalised synthetic control (Abadie & L'Hour 2021), donor pre-selection
by pre-period outcome distance, several pilot areas fitted one by one or as their average.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from lpip_eval.data.panel import Panel
from lpip_eval.data.periods import FREQUENCIES, parse_period_value
from lpip_eval.errors import DataError, DesignError, first_items
from lpip_eval.methods.linear.unit_order import canonical_unit_order
from lpip_eval.methods.registry import option_name, option_setting, with_evidence
from lpip_eval.methods.specs import Predictor, SynthSpec
from lpip_eval.methods.synth import fit as sw_fit
from lpip_eval.methods.synth import placebo as si
from lpip_eval.methods.synth.agreement import NullTest, agreement, agreement_check
from lpip_eval.results.result import EffectResult

DONORS_PER_PERIOD_WARNING = 3  # warn when donors exceed this many times the fit periods
LOO_MAX = 20
_SPLIT = re.compile(r"\s*(?:\.\.|\bto\b|–)\s*")
_YEARS = re.compile(r"(\d{4})\s*-\s*(\d{4})")  # 1990-1991: a range (an FY where data are FYs)


def _is_period(text: str) -> bool:
    for frequency in FREQUENCIES:
        try:
            parse_period_value(text, frequency, option="")
            return True
        except DataError:
            continue
    return False


def parse_window(text: str, *, option: str | None = None, hint: str | None = None
                 ) -> tuple[str, str]:
    """A period or a range of periods as (first, last) labels: ``1975``, ``1970-1988``,
    ``2015Q1-2016Q4``, ``2019-01..2019-12``, ``2019-07-2020-06``, ``3-8`` (checked against
    the data's frequency later: ``1990-1991`` is one financial year where the data are
    financial years, else a two-year range). Raises DataError for text that is not a period
    or a range (naming ``option``, by default the fitting window in the caller's words)."""
    window = text.strip()
    pieces = [p for p in _SPLIT.split(window) if p]
    if len(pieces) == 2 and all(_is_period(p) for p in pieces):
        return pieces[0], pieces[1]
    if _is_period(window):
        return window, window
    splits = [(window[:i], window[i + 1:]) for i, ch in enumerate(window) if ch == "-"]
    found = [(a, b) for a, b in splits if _is_period(a) and _is_period(b)]
    if not found:
        name = option or option_name("fit_periods")
        raise DataError(f"{name}: {window!r} is not a period or a range of periods",
                        hint=hint or f"e.g. {option_setting('fit_periods', '1970-1988')}")
    return found[len(found) // 2]


def parse_predictor(text: str, *, outcome: str) -> Predictor:
    """``COLUMN[:PERIODS][:mean|value]``, e.g. ``lnincome:1980-1988:mean``, ``cigsale:1975``,
    ``beer:1984-1988``, ``retprice``; ``outcome`` names the outcome in hints."""
    name = option_name("predictors")
    hint = (f"write {option_setting('predictors', 'COLUMN[:PERIODS][:mean|value]')}, e.g. "
            f"{option_setting('predictors', f'{outcome}:1988')} (the value in one period) or "
            f"{option_setting('predictors', f'{outcome}:1980-1988')} (the mean)")
    parts = [p.strip() for p in text.strip().split(":")]
    op: str | None = None
    if len(parts) > 1 and parts[-1].lower() in ("mean", "value"):
        op = parts.pop().lower()
    if not parts[0] or len(parts) > 2:
        raise DataError(f"{name}: {text!r} is not COLUMN[:PERIODS][:mean|value]", hint=hint)
    column = parts[0]
    if len(parts) == 1:
        if op == "value":
            raise DataError(f"{name}: {text!r}: 'value' needs one period", hint=hint)
        return Predictor(column, None, "mean")
    first, last = parse_window(parts[1], option=f"{name} {text}", hint=hint)
    if op == "value" and first != last:
        raise DataError(f"{name}: {text!r}: 'value' needs one period, not a range",
                        hint=f"use {option_setting('predictors', f'{column}:{first}-{last}:mean')}"
                             " for the mean over a range")
    return Predictor(column, (first, last), "value" if first == last and op != "mean"
                     else "mean")


# --------------------------------------------------------------------------- data


@dataclass
class WideData:
    """Wide arrays (units x periods) of the outcome and covariates, plus the pilot rows."""

    panel: Panel
    y: np.ndarray
    covariates: dict[str, np.ndarray]
    names: list[str]
    warnings: list[str]
    ranks: np.ndarray  # each row's place in a data-derived order (seeds, placebo sets)


def _wide(panel: Panel) -> WideData:
    shape = (panel.n_units, panel.n_periods)
    y = np.full(shape, np.nan)
    y[panel.unit_idx, panel.time_idx] = panel.y
    covs: dict[str, np.ndarray] = {}
    for j, name in enumerate(panel.covariate_names):
        arr = np.full(shape, np.nan)
        if panel.covariates is not None:
            arr[panel.unit_idx, panel.time_idx] = panel.covariates[:, j]
        covs[name] = arr
    order = canonical_unit_order(panel.unit_idx, panel.y, panel.n_units,
                                 time_idx=panel.time_idx)
    ranks = np.empty(panel.n_units, dtype=np.int64)
    ranks[order] = np.arange(panel.n_units)
    return WideData(panel, y, covs, list(panel.units), [], ranks)


def _add_average(data: WideData, rows: np.ndarray) -> int:
    """Append the average of ``rows`` as a pseudo-area (``--aggregate``); returns its row."""
    with sw_fit.missing_allowed():
        data.y = np.vstack([data.y, np.nanmean(data.y[rows], axis=0)])
        for name, arr in data.covariates.items():
            data.covariates[name] = np.vstack([arr, np.nanmean(arr[rows], axis=0)])
    data.names.append("average of the pilot areas")
    data.ranks = np.append(data.ranks, len(data.ranks))
    return len(data.names) - 1


def _period_index(panel: Panel, label: str, option: str) -> int:
    ordinal = parse_period_value(label, panel.frequency, option=option)
    pos = int(np.searchsorted(panel.period_ordinals, ordinal))
    if pos >= panel.n_periods or panel.period_ordinals[pos] != ordinal:
        raise DataError(f"{option} {label}: the data has no period {label}",
                        hint=f"periods run from {panel.period_labels[0]} to "
                             f"{panel.period_labels[-1]}")
    return pos


def _window(panel: Panel, periods: tuple[str, str], option: str) -> np.ndarray:
    years = _YEARS.fullmatch(periods[0])
    if years and periods[0] == periods[1] and panel.frequency != "financial-year":
        periods = (years[1], years[2])  # 1990-1991 on annual data: both years (issue 14)
    try:
        first = _period_index(panel, periods[0], option)
        last = _period_index(panel, periods[1], option)
    except DataError:
        if periods[0] == periods[1]:
            raise
        joined = f"{periods[0]}-{periods[1]}"  # e.g. a financial year 2019-20
        first = last = _period_index(panel, joined, option)
    if last < first:
        raise DataError(f"{option}: {periods[0]} is after {periods[1]}",
                        hint="give the earlier period first")
    return np.arange(first, last + 1)


def _predictors(data: WideData, spec: SynthSpec, start: int, fit: np.ndarray,
                window: np.ndarray | None, *, strict: bool
                ) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Raw predictor matrix (k x units), labels, and lag positions, for a start position.

    ``window`` (cv halves, in-time placebo) restricts every predictor's periods; predictors
    left without periods raise (``strict``) or are dropped.
    """
    panel = data.panel
    pre = np.arange(start)
    preds = list(spec.predictors)
    if not preds:
        preds = [Predictor(panel.outcome, (panel.period_labels[t],) * 2, "value") for t in fit]
        preds += [Predictor(c, None, "mean") for c in panel.covariate_names]
    rows, labels, lags = [], [], []
    for pred in preds:
        if pred.column == panel.outcome:
            source = data.y
        elif pred.column in data.covariates:
            source = data.covariates[pred.column]
        else:
            raise DataError(f"{option_name('predictors')} {pred.column}: the column is neither "
                            f"the outcome ({panel.outcome}) nor a covariate",
                            hint=f"add it with {option_setting('covariates', pred.column)}")
        idx = pre if pred.periods is None else _window(panel, pred.periods,
                                                       option_name("predictors"))
        if pred.periods is not None and idx.max() >= start:
            raise DesignError(f"{option_name('predictors')} {pred.label}: it uses periods from "
                              "the start "
                              f"({panel.period_labels[start]}) on",
                              hint="predictors must be measured before the start")
        if window is not None:
            idx = np.intersect1d(idx, window) if pred.periods is not None else window
        if not len(idx):
            if strict and window is not None:
                raise DesignError(f"{option_name('predictors')} {pred.label} has no periods in "
                                  "the window "
                                  f"{panel.period_labels[window[0]]}-"
                                  f"{panel.period_labels[window[-1]]}",
                                  hint=f"with {option_setting('v', 'cv')} use predictors "
                                       "averaged over windows "
                                       "that cover both halves of the pre-period")
            continue
        with sw_fit.missing_allowed():  # an area with no value is NaN, checked later
            values = np.nanmean(source[:, idx], axis=1)
        rows.append(values)
        labels.append(pred.label)
        single = pred.column == panel.outcome and len(idx) == 1 and pred.op == "value"
        lags.append(int(idx[0]) if single and int(idx[0]) in set(fit.tolist()) else -1)
    return np.array(rows).reshape(len(rows), -1), labels, np.array(lags, dtype=np.int64)


# --------------------------------------------------------------------------- problems


@dataclass
class BuiltProblem:
    """The fitting problem of the pilots that start at period position ``start``: the
    predictors and windows, the donor pool (rows of complete data) and the period labels."""

    problem: sw_fit.SynthProblem
    pool: np.ndarray
    labels: list[str]
    start: int


def _build(data: WideData, spec: SynthSpec, start: int, candidates: np.ndarray,
           targets: list[int], *, fake: int | None = None) -> BuiltProblem:
    """The problem for pilots starting at position ``start`` (or an in-time placebo at
    ``fake``): windows, predictors, and the donors with complete data."""
    panel, labels = data.panel, data.panel.period_labels
    pre = np.arange(start)
    fit = pre if spec.fit_periods is None else _window(panel, spec.fit_periods,
                                                        option_name("fit_periods"))
    if fit.max() >= start:
        window = "-".join(spec.fit_periods or ())
        raise DesignError(f"{option_setting('fit_periods', window)} reaches the start "
                          f"({labels[start]})", hint="the fitting window must end before it")
    cv = spec.v == "cv" and fake is None
    if fake is not None:
        fit = fit[fit < fake] if (fit < fake).sum() >= 2 else np.arange(fake)
        x, names, lags = _predictors(data, spec, start, fit, np.arange(fake), strict=False)
        if not names:
            x, names, lags = _predictors(data, SynthSpec(), start, fit, None, strict=False)
    x_train = None
    if fake is None and cv:
        if not spec.predictors:
            raise DesignError(f"{option_setting('v', 'cv')} needs predictors measured over "
                              "windows", hint="e.g. " + option_setting(
                                  "predictors", f"{panel.outcome}:mean") + " and "
                              + option_setting("predictors", "COVARIATE:mean"))
        if len(fit) < 4:
            raise DesignError(f"{option_setting('v', 'cv')} needs at least 4 pre-periods in "
                              "the fitting window", hint=f"use {option_setting('v', 'optimize')}")
        half = len(fit) // 2
        x_train = _predictors(data, spec, start, fit, fit[:half], strict=True)[0]
        x, names, lags = _predictors(data, spec, start, fit, fit[half:], strict=True)
    elif fake is None:
        x, names, lags = _predictors(data, spec, start, fit, None, strict=True)
    if len(fit) < 2:
        raise DesignError(f"only {len(fit)} pre-period to fit the synthetic control on",
                          hint="synthetic control needs several periods before the start")
    for t in targets:
        missing = [labels[i] for i in fit if not np.isfinite(data.y[t, i])]
        bad = [n for n, value in zip(names, x[:, t], strict=True) if not np.isfinite(value)]
        if missing or bad:
            what = (f"no {panel.outcome} in {first_items(missing)}" if missing else
                    f"no data for predictor {first_items(bad)}")
            raise DesignError(f"pilot area {data.names[t]!r} has {what}",
                              hint="synthetic control needs the pilot's values in every "
                                   "fitting period and for every predictor")
    ok = np.isfinite(data.y[candidates]).all(axis=1) & np.isfinite(x[:, candidates]).all(axis=0)
    if not ok.all() and fake is None:
        left = first_items([data.names[c] for c in candidates[~ok]])
        data.warnings.append(f"comparison areas {left} were left out of the donor pool: they "
                             "miss outcome values or predictor data")
    pool = candidates[ok]
    if len(pool) < 2:
        raise DesignError(f"only {len(pool)} comparison areas have complete data",
                          hint="synthetic control needs at least 2 comparison areas with the "
                               "outcome in every period and every predictor")
    if isinstance(spec.v, tuple) and fake is None and len(spec.v) != len(names):
        raise DesignError(f"{option_name('v')} gives {len(spec.v)} weights for {len(names)} "
                          "predictors",
                          hint=f"the predictors are {', '.join(names)}")
    v_mode = spec.v
    if cv or (fake is not None and (isinstance(spec.v, tuple) or spec.v == "cv")):
        v_mode = "optimize"
    problem = sw_fit.SynthProblem(
        y=data.y, x=x, x_train=x_train,
        fit=fit,
        valid=fit[len(fit) // 2:] if cv else None,
        pre=np.arange(fake if fake is not None else start),
        post=np.arange(fake, start) if fake is not None else np.arange(start, data.y.shape[1]),
        lags=lags, v=v_mode, penalty=spec.penalty or 0.0, nearest=spec.donors_nearest,
        seed=spec.seed, ranks=data.ranks)
    return BuiltProblem(problem, pool, names, start)


# --------------------------------------------------------------------------- estimate


def estimate_synth(panel: Panel, spec: SynthSpec, *,
                   progress: Callable[[int, int], None] | None = None) -> EffectResult:
    """Synthetic control estimate with placebo inference (see the module docstring).

    ``progress(done, total)`` is called as the refits (placebos, in-time placebos,
    leave-one-out) complete.
    """
    from lpip_eval.methods.synth import output as out

    data = _wide(panel)
    treated = np.flatnonzero(panel.is_treated_unit)
    candidates = np.flatnonzero(~panel.is_treated_unit)
    start_of = dict(zip(treated.tolist(), panel.start_position[treated].tolist(), strict=True))
    if spec.aggregate and len(set(start_of.values())) > 1:
        raise DesignError(f"{option_name('aggregate')} needs one common start, but the pilot "
                          "areas start at different times",
                          hint=f"drop {option_name('aggregate')} to fit each area")
    if spec.aggregate and len(treated) > 1:
        row = _add_average(data, treated)
        start_of = {row: start_of[int(treated[0])]}
    targets = list(start_of)
    built: dict[int, BuiltProblem] = {}
    for s in sorted(set(start_of.values())):
        built[s] = _build(data, spec, s, candidates, [t for t in targets if start_of[t] == s])
    order = sorted(built)
    problems = [built[s].problem for s in order]
    fits = [sw_fit.fit_unit(built[start_of[t]].problem, t, built[start_of[t]].pool)
            for t in targets]

    tasks: list[tuple[int, int, np.ndarray]] = []
    kinds: list[tuple[str, int]] = []
    if spec.inference in ("auto", "placebo"):
        for i, s in enumerate(order):
            tasks += [(i, int(j), built[s].pool) for j in built[s].pool]
            kinds += [("space", s)] * len(built[s].pool)
    if spec.placebo_in_time:
        for t in targets[:10]:
            s = start_of[t]
            if s >= 4:
                fake = _build(data, spec, s, built[s].pool, [t], fake=s // 2)
                problems.append(fake.problem)
                tasks.append((len(problems) - 1, t, fake.pool))
                kinds.append(("time", t))
    if spec.leave_one_out and len(targets) <= 10:
        for fit in fits:
            b = built[start_of[fit.target]]
            heavy = np.argsort(-fit.w, kind="stable")[:LOO_MAX]
            for j in heavy[fit.w[heavy] > 1e-6]:
                donor = int(fit.donors[j])
                tasks.append((order.index(b.start), fit.target, b.pool[b.pool != donor]))
                kinds.append(("loo", donor))
    refits = sw_fit.map_fits(partial(sw_fit.run_task, tuple(problems)), tasks,
                             max(1, spec.workers), progress)
    placebos = {s: [f for f, k in zip(refits, kinds, strict=True) if k == ("space", s)]
                for s in order}
    in_time = {k[1]: f for f, k in zip(refits, kinds, strict=True) if k[0] == "time"}
    loo = [(k[1], f) for f, k in zip(refits, kinds, strict=True) if k[0] == "loo"]

    warnings = list(dict.fromkeys([*panel.warnings, *data.warnings]))
    n_fit = len(problems[0].fit)
    n_donors = len(built[order[0]].pool)
    if (n_donors > DONORS_PER_PERIOD_WARNING * n_fit and spec.penalty is None
            and spec.donors_nearest is None):
        warnings.append(f"{n_donors} comparison areas for {n_fit} pre-periods: with many more "
                        "donors than periods the synthetic control can fit noise; consider "
                        "--donors-nearest K or --penalty")
    path = si.Paths.of(fits, start_of, panel.n_periods)
    with sw_fit.missing_allowed():
        scale = float(np.nanstd(data.y[:panel.n_units, :min(order)], ddof=1))
    if spec.inference == "conformal":
        estimate, by_period, inf_diag = _conformal(spec, data, treated, built, start_of, path,
                                                   warnings)
    else:
        estimate, inf_diag = si.inference(spec, path, fits, placebos, start_of, warnings,
                                          data.ranks, scale if np.isfinite(scale) else 0.0)
        by_period = None
    agree = _agreement(spec, data, treated, built, start_of, path, fits, placebos, scale,
                       estimate)
    if spec.inference == "conformal":
        inf_diag = {}  # its details are in estimate.inference; no placebo block
    if inf_diag:
        inf_diag["excluded"] = [data.names[i] for i in inf_diag["excluded"]]
        inf_diag["exact_fit"]["placebos"] = [data.names[i]
                                             for i in inf_diag["exact_fit"]["placebos"]]
    warnings = list(dict.fromkeys(warnings))
    diagnostics = out.diagnostics(panel, data, built, fits, path, inf_diag,
                                  {"space": placebos, "time": in_time, "loo": loo}, start_of,
                                  scale, warnings)
    if agree is not None:
        diagnostics["inference_agreement"] = agree
        diagnostics["checks"].append(agreement_check(agree))
    result = EffectResult(
        method="synth", design=out.design_name(spec, len(targets), len(treated)),
        outcome=panel.outcome, unit_col=panel.unit_col, time_col=panel.time_col,
        treated_units=panel.treated_units,
        comparison_units=tuple(data.names[c] for c in built[order[0]].pool),
        treatment_start=panel.label(int(panel.first_treated[treated].min())),
        estimate=estimate,
        effects_by_period=out.period_effects(panel, path, len(order) == 1, by_period),
        weights=out.weights(data, fits),
        diagnostics=diagnostics,
        warnings=tuple(dict.fromkeys(warnings)),
    )
    return with_evidence(result)


def _agreement(spec: SynthSpec, data: WideData, treated: np.ndarray,
               built: dict[int, BuiltProblem], start_of: dict[int, int], path: si.Paths,
               fits: list[Any], placebos: dict[int, list[Any]], scale: float,
               estimate: Any) -> dict[str, Any] | None:
    """Placebo ranks and conformal inference on the same estimate (``agreement.py``): one
    pilot area and a balanced outcome only (with several, the placebo test is on the average
    of one fit per area and conformal on one fit to their average: different estimates, so
    their p-values are not compared); None otherwise or with ``--inference none``."""
    if spec.inference == "none" or len(built) > 1 or len(treated) > 1:
        return None
    (start,) = built
    y1 = data.y[int(treated[0])]
    y0 = data.y[built[start].pool]
    if not (np.isfinite(y1).all() and np.isfinite(y0).all()):
        return None
    if spec.inference == "conformal":
        conformal_p = float(estimate.p_value)
        placebo, _ = si.inference(spec, path, fits, placebos, start_of, [], data.ranks,
                                  scale if np.isfinite(scale) else 0.0)
    else:
        from lpip_eval.methods.synth.conformal import p_of_no_effect

        placebo, conformal_p = estimate, p_of_no_effect(y1, y0, start)
    n_placebos = int(placebo.inference.details.get("placebos", 0))
    if n_placebos == 0:  # conformal asked: no placebo refits were run
        return None
    return agreement([NullTest("placebo-in-space ranks", float(placebo.p_value),
                           1 / (n_placebos + 1)),
                      NullTest("conformal inference", conformal_p, 1 / len(y1))], spec.ci_level)


def _conformal(spec: SynthSpec, data: WideData, treated: np.ndarray, built: dict[int, BuiltProblem],
               start_of: dict[int, int], path: si.Paths, warnings: list[str]
               ) -> tuple[Any, list[Any], dict[str, Any]]:
    """``--inference conformal`` (``conformal.py``) on the pilot (or the pilot areas'
    average) against the donor pool; needs one common start."""
    from lpip_eval.methods.synth.conformal import estimate_of

    if len(built) > 1:
        raise DesignError("--inference conformal needs one common start, but the pilot areas "
                          "start at different times", hint="use --inference placebo")
    (start,) = built
    y1 = np.nanmean(data.y[treated], axis=0) if len(treated) > 1 else data.y[int(treated[0])]
    y0 = data.y[built[start].pool]
    return estimate_of(y1, y0, start, att=float(np.mean(path.post)), level=spec.ci_level,
                       warnings=warnings)
