"""Synthetic difference-in-differences (Arkhangelsky, Athey, Hirshberg, Imbens & Wager 2021).

A block design: N0 comparison areas, N1 pilot areas that all start at T0 (of T periods).
Unit weights omega (on the comparison areas) make their weighted pre-period path parallel
to the pilot areas' mean path; time weights lambda (on the pre-periods) make the weighted
pre-period outcomes of the comparison areas predict their post-period mean. The effect is

    tau = (ybar_tr,post - omega' Y_co,post) - lambda' (ybar_tr,pre - omega' Y_co,pre),

i.e. the post-period gap between the pilot mean and its synthetic comparison, minus the
lambda-weighted pre-period gap. This module reproduces R's ``synthdid`` (synth-inference/
synthdid, ``synthdid_estimate``, ``sc_estimate``, ``did_estimate``, ``vcov(method =
"placebo")``) with its defaults:

* noise level sigma = sd of the first differences of the comparison areas' pre-period outcomes;
* omega: ridge ``zeta_omega = (N1 T1)^(1/4) sigma``, with an intercept; lambda: ridge
  ``zeta_lambda = 1e-6 sigma``, with an intercept;
* each weight vector solved by Frank-Wolfe with exact line search on the simplex, stopping when
  one iteration lowers the penalised loss by at most ``(1e-5 sigma)^2`` (or after 10,000
  iterations); first 100 iterations, then "sparsify" (weights at or below a quarter of the
  largest set to 0, renormalised) and solve again from there;
* ``sc``: unit weights solved with no intercept and ridge ``1e-6 sigma``, time weights 0
  (synthetic control in the same framework); ``did``: uniform unit and time weights.

Inference is the placebo standard error (Algorithm 4 of the paper; R's ``placebo_se``): in
each of ``placebo_reps`` replications N1 comparison areas, drawn at random, play the pilot
areas, the weights are solved again (started from the fitted ones, with the same tuning
constants) and the placebo effect recorded; ``se = sqrt((r - 1) / r) * sd(placebo effects)``.
The interval is ``tau +- z se`` and the p-value is from the normal distribution. The draws
come from NumPy's seeded generator over the comparison areas in a data-derived order (so
renaming areas or shuffling rows changes nothing), so the SE equals R's only up to simulation
noise; fed R's own permutations, :func:`placebo_estimates` gives R's SEs
(tests/methods/test_sdid.py).

The Frank-Wolfe iterations run on Gram matrices and are vectorised over replications, so
200 placebo refits cost about as much as a few single fits; chunks go through
``parallel.map_items``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np

from lpip_eval.data.panel import Panel
from lpip_eval.errors import DataError, DesignError
from lpip_eval.methods.linear.unit_order import canonical_unit_order
from lpip_eval.methods.registry import option_setting, with_evidence
from lpip_eval.methods.specs import SdidSpec
from lpip_eval.methods.synth.agreement import NullTest, agreement, agreement_check
from lpip_eval.methods.synth.conformal import estimate_of
from lpip_eval.methods.synth.sdid_checks import each_donor, exchangeability, rank_inference
from lpip_eval.methods.synth.sdid_solver import Gram, SharedGram, solve_simplex
from lpip_eval.numbers import fmt_number, fmt_p
from lpip_eval.parallel import active_workers, map_items
from lpip_eval.results.evidence import POOR_FIT_RATIO
from lpip_eval.results.result import EffectResult, Estimate, InferenceInfo, PeriodEffect

ESTIMATORS = {
    "sdid": "Synthetic difference-in-differences (Arkhangelsky et al. 2021)",
    "sc": "Synthetic control in the synthetic DiD framework (Arkhangelsky et al. 2021)",
    "did": "Difference-in-differences in the synthetic DiD framework (Arkhangelsky et al. 2021)",
}
CHUNK_FLOATS = 16_000_000  # memory cap of one vectorised placebo batch (128 MB)
_SUB = 16  # replications whose outcome rows (areas x periods) are copied at once


@dataclass(frozen=True)
class SdidFit:
    """One fit on an N x T matrix (comparison rows first, pre-periods first).

    ``omega`` are the unit weights, ``lam`` the time weights; the tuning constants are those
    R's ``synthdid_estimate`` stores in ``opts`` and reuses in every placebo replication.
    """

    estimator: str
    estimate: float
    omega: np.ndarray
    lam: np.ndarray
    noise_level: float
    zeta_omega: float
    zeta_lambda: float
    min_decrease: float


@dataclass(frozen=True)
class _Batch:
    """Estimates and weights for a batch of problems (first axis = replication)."""

    tau: np.ndarray  # (R,)
    omega: np.ndarray  # (R, N0)
    lam: np.ndarray  # (R, T0)


# --------------------------------------------------------------------------- public API


def estimate_sdid(panel: Panel, spec: SdidSpec, progress: Any = None) -> EffectResult:
    """Estimate the effect on ``panel`` by synthetic DiD (or SC / DiD in the same framework).

    ``progress`` is accepted for the registry's estimator signature (no long refit loop to
    report).

    Needs a balanced panel in which all pilot areas start in the same period (a block design);
    raises DesignError (exit 4) otherwise. Returns an EffectResult.
    """
    _check_spec(spec)
    y, controls, treated, t0 = _block_matrix(panel)
    n0, n1 = len(controls), len(treated)
    fit = fit_sdid(y, n0, t0, spec.estimator)
    rng = np.random.default_rng(spec.seed)
    order = _data_order(y[:n0])  # draws tied to the data, not to the areas' names
    perms = np.stack([order[rng.permutation(n0)] for _ in range(spec.placebo_reps)])
    placebo = placebo_estimates(y, n0, t0, fit, perms, workers=spec.workers)
    reps, tau = len(placebo), fit.estimate
    se = math.sqrt((reps - 1) / reps) * float(np.std(placebo, ddof=1))
    z = _normal_quantile(1 - (1 - spec.ci_level) / 2)
    p_value = 2 * _normal_sf(abs(tau) / se) if se > 0 else float(tau == 0)
    info = InferenceInfo(
        method="placebo",
        reason=(f"placebo standard error (Arkhangelsky et al. 2021, Algorithm 4): {reps} times, "
                f"{n1} of the {n0} comparison areas, drawn at random, played the pilot and the "
                "estimate was recomputed; the range and p-value use the normal distribution. "
                "It assumes the pilot areas' unexplained variation is like the comparison "
                "areas'"),
        details={"replications": reps, "seed": spec.seed, "se": "sqrt((r-1)/r) * sd(placebo)",
                 "placebo_mean": float(np.mean(placebo)), "distribution": "normal"},
    )
    estimate = Estimate(att=tau, se=se, ci_low=tau - z * se, ci_high=tau + z * se,
                        ci_level=spec.ci_level, p_value=min(1.0, p_value), inference=info)

    warnings = list(panel.warnings)
    if panel.covariates is not None:
        warnings.append("covariates are not used by synthetic DiD here (outcome paths only)")
    if panel.weights is not None:
        warnings.append("analytic weights (--weights-col) are not used by synthetic DiD")
    if n0 - n1 < 5:
        warnings.append(f"only {n0} comparison areas for {n1} pilot area(s): the placebo "
                        "standard error rests on very few placebo assignments")
    exch = exchangeability(y, n0, t0, panel.outcome)
    se_estimate = estimate
    estimate = _other_inference(spec, y, n0, t0, fit, exch, estimate, placebo, warnings)
    agree = _agreement(spec, y, n0, t0, se_estimate, estimate, placebo)
    labels = panel.period_labels
    paths = _paths(y[:n0], y[n0:].mean(axis=0), fit, t0)
    diagnostics = _diagnostics(panel, y, controls, t0, fit, paths)
    diagnostics["exchangeable"] = exch
    diagnostics["checks"][1] = _exchange_check(exch, estimate.inference.method, n0)
    if agree is not None:
        diagnostics["inference_agreement"] = agree
        diagnostics["checks"].append(agreement_check(agree))
    return with_evidence(EffectResult(
        method="synth", design=ESTIMATORS[spec.estimator], outcome=panel.outcome,
        unit_col=panel.unit_col, time_col=panel.time_col,
        treated_units=tuple(treated), comparison_units=tuple(controls),
        treatment_start=labels[t0], estimate=estimate,
        effects_by_period=_period_effects(paths, t0, labels),
        weights=tuple((u, float(w)) for u, w in zip(controls, fit.omega, strict=True)),
        diagnostics=diagnostics,
        warnings=tuple(dict.fromkeys(warnings)),
    ))


def _other_inference(spec: SdidSpec, y: np.ndarray, n0: int, t0: int, fit: SdidFit,
                     exch: dict[str, Any], estimate: Estimate, placebo: np.ndarray,
                     warnings: list[str]) -> Estimate:
    """Conformal inference when asked; placebo-in-space ranks on the sdid estimates when the
    pilot is unlike the comparison areas (``sdid_checks``) and inference is auto."""
    tau, level = fit.estimate, spec.ci_level
    if spec.inference == "conformal":
        return estimate_of(y[n0:].mean(axis=0), y[:n0], t0, att=tau, level=level,
                           warnings=warnings, intercept=True)[0]
    if exch["ok"]:
        return estimate
    why = "; ".join(exch["problems"])
    if spec.inference == "placebo":
        warnings.append(f"the pilot is unlike the comparison areas ({why}): the placebo "
                        f"standard error may be far too small; {exch['suggestion']}")
        return estimate
    n1 = y.shape[0] - n0
    if n1 == 1:
        placebo = placebo_estimates(y, n0, t0, fit, each_donor(n0, n1), workers=spec.workers)
    p, low, high, note = rank_inference(tau, placebo, level)
    if note:
        warnings.append(note)
    warnings.append(f"the pilot is unlike the comparison areas ({why}), so the placebo "
                    "standard error does not apply: placebo-in-space ranks were used instead; "
                    f"{exch['suggestion']}")
    reason = (f"Placebo-in-space ranks (Abadie, Diamond & Hainmueller 2010) on the synthetic "
              f"DiD estimates: {len(placebo)} placebo "
              f"{'areas' if n1 == 1 else 'sets of areas'} played the pilot; "
              f"{fmt_p(p, prefix=True)} is the "
              "share whose estimate is at least as large in size as the pilot's. The placebo "
              f"standard error was not used because the pilot is unlike the comparison areas "
              f"({why}).")
    details = {"statistic": "absolute sdid estimate", "placebos": len(placebo),
               "fallback_from": "placebo standard error", "range_note": note,
               "interval": "test inversion under a constant additive effect"}
    return Estimate(tau, None, low, high, level, p, InferenceInfo("placebo", reason, details))


def _agreement(spec: SdidSpec, y: np.ndarray, n0: int, t0: int, se_estimate: Estimate,
               estimate: Estimate, placebo: np.ndarray) -> dict[str, Any] | None:
    """The placebo standard error, placebo-in-space ranks of the sdid estimates (over the
    drawn placebo sets) and conformal inference on the same estimate (``agreement.py``)."""
    from lpip_eval.methods.synth.conformal import p_of_no_effect

    tau, n1 = se_estimate.att, y.shape[0] - n0
    if "fallback_from" in estimate.inference.details:  # the ranks are the reported test
        rank_p, smallest = estimate.p_value, 1 / (estimate.inference.details["placebos"] + 1)
    elif n1 == 1:  # draws repeat the n0 donors: estimate the exact rank p over the donors
        share = float(np.mean(np.abs(placebo) >= abs(tau) - 1e-9 * max(1.0, abs(tau))))
        rank_p, smallest = (1 + share * n0) / (n0 + 1), 1 / (n0 + 1)
    else:
        rank_p, smallest = rank_inference(tau, placebo, spec.ci_level)[0], 1 / (len(placebo) + 1)
    conformal_p = (estimate.p_value if spec.inference == "conformal" else
                   p_of_no_effect(y[n0:].mean(axis=0), y[:n0], t0, intercept=True))
    return agreement([NullTest("placebo standard error", se_estimate.p_value),
                      NullTest("placebo-in-space ranks", rank_p, smallest),
                      NullTest("conformal inference", conformal_p, 1 / y.shape[1])],
                     spec.ci_level)


def _exchange_check(exch: dict[str, Any], method: str, n0: int) -> dict[str, Any]:
    level, scale = exch["level_percentile"], exch["scale_percentile"]
    return {
        "assumption": "Placebo inference: the comparison areas' unexplained ups and downs are "
                      "like the pilot areas'.",
        "check": "The pilot's pre-period level and the spread of its period-to-period changes, "
                 f"against the {n0} comparison areas (5th to 95th percentile).",
        "result": f"level at the {level:.0f}th percentile" + (
            f", spread of changes at the {scale:.0f}th" if scale is not None else ""),
        "ok": exch["ok"],
        "verdict": "The pilot is like the comparison areas in level and scale." if exch["ok"]
        else f"The pilot is unlike the comparison areas ({'; '.join(exch['problems'])}); "
             f"{'rank' if method == 'placebo' else method}-based inference was used.",
    }


def fit_sdid(y: np.ndarray, n0: int, t0: int, estimator: str = "sdid") -> SdidFit:
    """Fit on an N x T matrix ``y`` whose first ``n0`` rows are the comparison areas and first
    ``t0`` columns the pre-periods: R's ``synthdid_estimate(Y, N0, T0)`` (``"sdid"``),
    ``sc_estimate`` (``"sc"``) or ``did_estimate`` (``"did"``) with their defaults."""
    y = np.asarray(y, dtype=float)
    co = y[:n0]
    noise = float(np.std(np.diff(co[:, :t0], axis=1), ddof=1))
    n1, t1 = y.shape[0] - n0, y.shape[1] - t0
    eta_omega = 1e-6 if estimator == "sc" else (n1 * t1) ** 0.25
    fit = SdidFit(estimator=estimator, estimate=math.nan, omega=np.empty(0), lam=np.empty(0),
                  noise_level=noise, zeta_omega=eta_omega * noise, zeta_lambda=1e-6 * noise,
                  min_decrease=1e-5 * noise)
    rows = np.vstack([co, y[n0:].mean(axis=0)])
    batch = _fit(rows, np.arange(n0)[None], np.array([[n0]]), t0, fit, None, None)
    return replace(fit, estimate=float(batch.tau[0]), omega=batch.omega[0], lam=batch.lam[0])


def placebo_estimates(y: np.ndarray, n0: int, t0: int, fit: SdidFit, permutations: np.ndarray,
                      *, workers: int = 1) -> np.ndarray:
    """Placebo estimates (R's ``placebo_se``): for each row ``p`` of ``permutations`` (a
    permutation of the ``n0`` comparison rows), the rows ``p[:n0 - N1]`` are the comparison
    areas and ``p[n0 - N1:]`` play the N1 pilot areas; the weights are solved again from the
    fitted ones (renormalised), with ``fit``'s tuning constants. Vectorised over replications
    in chunks (one per worker, smaller if memory needs), run through ``parallel.map_items``.
    A replication's arithmetic does not depend on the other members of its chunk
    (``sdid_solver``), so the estimates are byte-identical whatever ``workers`` is."""
    co = np.asarray(y, dtype=float)[:n0]
    n1 = len(y) - n0
    reps = len(permutations)
    per_chunk = -(-reps // active_workers(workers))
    per_rep = 8 * n0  # floats held per replication (weights, gradient, A'b, masks)
    per_chunk = max(1, min(per_chunk, CHUNK_FLOATS // per_rep))
    chunks = [permutations[i:i + per_chunk] for i in range(0, reps, per_chunk)]
    job = partial(_placebo_chunk, co=co, n1=n1, t0=t0, fit=fit)
    return np.concatenate(map_items(job, chunks, workers=workers))


def _data_order(co: np.ndarray) -> np.ndarray:
    """The rows of ``co`` (areas x periods) in an order derived from their data alone
    (``linear.unit_order``), so renaming areas or shuffling rows draws the same
    placebo areas. :func:`placebo_estimates` itself takes permutations of the rows as given:
    fed R's draws over R's (alphabetical) row order, it reproduces R's standard errors."""
    n, t = co.shape
    return canonical_unit_order(np.repeat(np.arange(n), t), co.ravel(), n,
                                time_idx=np.tile(np.arange(t), n))


# --------------------------------------------------------------------------- validation


def _check_spec(spec: SdidSpec) -> None:
    if spec.estimator not in ESTIMATORS:
        raise DesignError(f"unknown synthetic DiD estimator '{spec.estimator}'",
                          hint=f"use one of {', '.join(ESTIMATORS)}")
    if spec.placebo_reps < 2:
        raise DesignError(f"{spec.placebo_reps} placebo replications cannot give a standard "
                          "error", hint=f"use {option_setting('placebo_reps', 200)} or more")


def _block_matrix(panel: Panel) -> tuple[np.ndarray, list[str], list[str], int]:
    """N x T outcome matrix (comparison areas first), their names, and T0 (exit 4 if not a
    balanced block design)."""
    if not panel.is_balanced:
        counts = np.bincount(panel.unit_idx, minlength=panel.n_units)
        short = [u for u, c in zip(panel.units, counts, strict=True) if c < panel.n_periods]
        raise DesignError(
            f"synthetic DiD needs a balanced panel, but area {short[0]!r}"
            f"{f' and {len(short) - 1} more' if len(short) > 1 else ''} lack "
            f"{panel.outcome} in some periods",
            hint="drop those areas or periods, or use lpip-eval did (which allows gaps)",
        )
    start = panel.common_start
    if start is None:
        raise DesignError(
            "synthetic DiD needs all pilot areas to start in the same period, but their "
            "starts differ",
            hint="analyse each start cohort separately, or use lpip-eval did --design "
                 "event-study",
        )
    y = panel.y.reshape(panel.n_units, panel.n_periods)
    if not np.all(np.isfinite(y)):
        raise DataError(f"{panel.outcome} has missing or infinite values",
                        hint="drop or fill them before estimating")
    t0 = int(np.searchsorted(panel.period_ordinals, start, side="left"))
    treated = panel.is_treated_unit
    n0, n1 = int((~treated).sum()), int(treated.sum())
    if t0 < 2:
        raise DesignError(
            f"synthetic DiD needs at least 2 periods before the start ({panel.label(start)}); "
            f"the data has {t0}", hint="add earlier periods or use lpip-eval did --design 2x2")
    if t0 >= panel.n_periods:
        raise DesignError(f"no periods at or after the start ({panel.label(start)})",
                          hint="check --start")
    if n0 <= n1:
        raise DesignError(
            f"the placebo standard error needs more comparison areas than pilot areas "
            f"({n0} comparison, {n1} pilot)", hint="add comparison areas")
    order = np.concatenate([np.flatnonzero(~treated), np.flatnonzero(treated)])
    names = [panel.units[i] for i in order]
    return y[order], names[:n0], names[n0:], t0


# --------------------------------------------------------------------------- estimation


def _fit(y: np.ndarray, keep: np.ndarray, fake: np.ndarray, t0: int, opts: SdidFit,
         omega0: np.ndarray | None, lam0: np.ndarray | None) -> _Batch:
    """Weights and estimates for a batch of R problems on the outcome rows ``y`` (M, T).

    In problem r the rows ``keep[r]`` are the comparison areas and the mean of the rows
    ``fake[r]`` is the pilot path. ``omega0``/``lam0`` start Frank-Wolfe (uniform if None).
    """
    reps, n0 = keep.shape
    if opts.estimator == "did":
        omega = np.full((reps, n0), 1.0 / n0)
        lam = np.full((reps, t0), 1.0 / t0)
    else:
        # omega: rows are pre-periods, columns areas (centred over time with an intercept);
        # centring acts on each area's own path, so one Gram matrix serves every replication
        pre = y[:, :t0]
        if opts.estimator == "sdid":
            pre = pre - pre.mean(axis=1, keepdims=True)
        full = pre @ pre.T
        full = (full + full.T) / 2
        shared = SharedGram(full=full, keep=keep, fake=fake, rows=t0)
        start = np.full((reps, n0), 1.0 / n0) if omega0 is None else omega0
        omega = solve_simplex(shared, start, opts.zeta_omega, opts.min_decrease)
        if opts.estimator == "sc":
            lam = np.zeros((reps, t0))
        else:
            prod = np.concatenate([_time_gram(y[keep[i:i + _SUB]], t0)
                                   for i in range(0, reps, _SUB)])
            gram = Gram(gram=prod[:, :t0, :t0], ab=prod[:, :t0, t0], bb=prod[:, t0, t0],
                        rows=n0)
            start = np.full((reps, t0), 1.0 / t0) if lam0 is None else lam0
            lam = solve_simplex(gram, start, opts.zeta_lambda, opts.min_decrease)
    tau = np.concatenate([_tau(y, keep[i:i + _SUB], fake[i:i + _SUB], omega[i:i + _SUB],
                               lam[i:i + _SUB], t0) for i in range(0, reps, _SUB)])
    return _Batch(tau=tau, omega=omega, lam=lam)


def _time_gram(sub: np.ndarray, t0: int) -> np.ndarray:
    """Per replication, the cross-products of the comparison areas' pre-periods and post
    mean (``sub``: replications x areas x periods), centred over the areas (lambda's Gram)."""
    aug = np.concatenate([sub[:, :, :t0], sub[:, :, t0:].mean(axis=2)[:, :, None]], axis=2)
    aug -= aug.mean(axis=1, keepdims=True)
    prod = aug.transpose(0, 2, 1) @ aug
    return (prod + prod.transpose(0, 2, 1)) / 2


def _tau(y: np.ndarray, keep: np.ndarray, fake: np.ndarray, omega: np.ndarray,
         lam: np.ndarray, t0: int) -> np.ndarray:
    """The estimates of a block of replications from their weights."""
    weighted = np.einsum("rn,rnt->rt", omega, y[keep])
    gap = y[fake].mean(axis=1) - weighted
    return gap[:, t0:].mean(axis=1) - np.einsum("rt,rt->r", lam, gap[:, :t0])




# --------------------------------------------------------------------------- placebo


def _placebo_chunk(perms: np.ndarray, *, co: np.ndarray, n1: int, t0: int,
                   fit: SdidFit) -> np.ndarray:
    """Placebo estimates for one block of permutations (vectorised over the block)."""
    n_co = co.shape[0] - n1
    keep, fake = perms[:, :n_co], perms[:, n_co:]
    start = fit.omega[keep]
    sums = start.sum(axis=1, keepdims=True)  # R's sum_normalize: uniform if all zero
    start = np.where(sums > 0, start / np.where(sums > 0, sums, 1.0), 1.0 / n_co)
    lam0 = np.broadcast_to(fit.lam, (len(perms), t0)).copy()
    return _fit(co, keep, fake, t0, fit, start, lam0).tau


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class _Paths:
    pilot: np.ndarray  # (T,) mean pilot path
    synthetic: np.ndarray  # (T,) weighted comparison path, shifted by the lambda baseline
    effects: np.ndarray  # (T,) pilot - synthetic


def _paths(co: np.ndarray, tr_mean: np.ndarray, fit: SdidFit, t0: int) -> _Paths:
    """The counterfactual path the estimate implies: omega' Y_co plus the lambda-weighted
    pre-period gap (no shift for SC), so the mean post-period effect equals the estimate
    (R's ``synthdid_effect_curve``, extended to the pre-period)."""
    weighted = fit.omega @ co
    synthetic = weighted + float(fit.lam @ (tr_mean[:t0] - weighted[:t0]))
    return _Paths(pilot=tr_mean, synthetic=synthetic, effects=tr_mean - synthetic)


def _period_effects(paths: _Paths, t0: int, labels: tuple[str, ...]
                    ) -> tuple[PeriodEffect, ...]:
    """Pilot minus weighted comparison in every period; before the start these show how far
    the comparison strays (no standard errors: the placebo SE is for the average only)."""
    return tuple(
        PeriodEffect(period=labels[t], event_time=t - t0, att=float(paths.effects[t]), se=None,
                     ci_low=None, ci_high=None)
        for t in range(len(labels))
    )


def _diagnostics(panel: Panel, y: np.ndarray, controls: list[str], t0: int, fit: SdidFit,
                 paths: _Paths) -> dict[str, Any]:
    """Fit, weights, checks and charts. ``pre_fit`` measures the pilot minus its weighted,
    shifted comparison before the start; ``rmspe_to_sd`` divides its RMSPE by the sample SD
    of the pilot's pre-period outcome (the evidence rating's fit measure)."""
    labels = panel.period_labels
    n0 = len(controls)
    mspe = float(np.mean(paths.effects[:t0] ** 2))
    rmspe = math.sqrt(mspe)
    spread = float(np.std(paths.pilot[:t0], ddof=1))
    ratio = rmspe / spread if spread > 0 else None
    comparison_mean = y[:n0].mean(axis=0)
    fit_ok = ratio is not None and ratio <= POOR_FIT_RATIO
    checks = [{
        "assumption": "Parallel trends after weighting: without the pilot, the pilot areas "
                      "would have moved like the weighted comparison areas.",
        "check": "Pre-period fit of the weighted comparison (root mean squared gap before the "
                 "start, relative to the spread of the pilot outcome then).",
        "result": f"RMSPE {rmspe:.3g}" + (f" ({ratio:.2f} of the spread)" if ratio else ""),
        "ok": fit_ok,
        "verdict": "The weighted comparison tracked the pilot closely before the start."
        if fit_ok else "The weighted comparison did not track the pilot well before the "
                       "start; treat the estimate with caution.",
    }, {
        "assumption": "Placebo inference: the comparison areas' unexplained ups and downs are "
                      "like the pilot areas'.",
        "check": "Not testable with the data; the standard error comes from re-running the "
                 "method with comparison areas playing the pilot.",
        "result": f"{n0} comparison areas", "ok": None,
        "verdict": "Assumed; the range may be too narrow if the pilot areas vary unusually "
                   "much.",
    }]
    return {
        **panel.shape(),
        "pre_periods": t0,
        "post_periods": panel.n_periods - t0,
        "estimator": fit.estimator,
        "noise_level": fit.noise_level,
        "zeta_omega": fit.zeta_omega,
        "zeta_lambda": fit.zeta_lambda,
        "effective_comparison_areas": 1.0 / float(np.sum(fit.omega ** 2)),
        "time_weights": [{"period": labels[t], "weight": float(fit.lam[t])} for t in range(t0)],
        "pre_fit": {"rmspe": rmspe, "mspe": mspe, "rmspe_to_sd": ratio},
        "group_means": [{"period": labels[t], "treated": float(paths.pilot[t]),
                         "comparison": float(comparison_mean[t])} for t in range(len(labels))],
        "unit_names": dict(sorted(panel.unit_names.items())),
        "checks": checks,
        "charts": _charts(panel, labels, paths, t0, controls, fit.omega),
    }


def _charts(panel: Panel, labels: tuple[str, ...], paths: _Paths, t0: int, controls: list[str],
            omega: np.ndarray) -> list[dict[str, Any]]:
    """Pilot vs weighted comparison paths, and the comparison areas' weights."""
    outcome, start = panel.outcome, labels[t0]
    shown = [int(i) for i in np.argsort(-omega, kind="stable") if omega[i] > 0]
    names = [panel.unit_names.get(controls[i]) or controls[i] for i in shown]
    return [{
        "id": "sdid_paths",
        "kind": "paths",
        "title": f"{outcome}: pilot areas and their weighted comparison",
        "alt": (f"Line chart of {outcome} from {labels[0]} to {labels[-1]} for the pilot "
                "areas and the weighted comparison areas (shifted to the pilot's level just "
                f"before the start); the pilot starts at {start}."),
        "columns": ["Period", "Pilot areas", "Weighted comparison"],
        "rows": [[labels[t], fmt_number(paths.pilot[t]), fmt_number(paths.synthetic[t])]
                 for t in range(len(labels))],
        "series": {"x": list(labels), "pilot": [float(v) for v in paths.pilot],
                   "comparison": [float(v) for v in paths.synthetic], "start": start},
    }, {
        "id": "sdid_weights",
        "kind": "weights",
        "title": "Weights of the comparison areas",
        "alt": (f"Bar chart of the weights of the {len(shown)} comparison areas (of "
                f"{len(controls)}) with positive weight, largest first."),
        "columns": ["Comparison area", "Weight"],
        "rows": [[name, fmt_number(omega[i], 3)] for name, i in zip(names, shown, strict=True)],
        "series": {"units": [controls[i] for i in shown],
                   "weights": [float(omega[i]) for i in shown]},
    }]


def _normal_quantile(p: float) -> float:
    from scipy import special

    return float(special.ndtri(p))


def _normal_sf(x: float) -> float:
    from scipy import special

    return float(special.ndtr(-x))
