"""A regression-based design and the inference it supports, shared by DiD-type methods.

A :class:`LinearDesign` says how to build the treatment regressors for any assignment of
treatment timings (so randomization inference can refit under reassignment), which
nuisance regressors and fixed effects to net out, and which linear combination of the
coefficients is the headline effect. :func:`infer` runs the chosen inference from
``inference.py`` on it; the DiD-type methods never implement inference themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from lpip_eval.errors import DesignError
from lpip_eval.methods.linear import inference as inf
from lpip_eval.methods.linear.absorb import (
    Absorber,
    LinearFit,
    Residualizer,
    fit_linear,
    least_squares,
)
from lpip_eval.results.result import InferenceInfo

# Randomization draws residualised together: at most RI_CHUNK_DRAWS draws and about
# RI_CHUNK_VALUES floats (16 MB) of treatment columns per chunk, whatever the panel size.
RI_CHUNK_DRAWS = 64
RI_CHUNK_VALUES = 2_000_000

DesignBuilder = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]


@dataclass(frozen=True)
class LinearDesign:
    """y on targets(assignment) + nuisance(assignment), net of ``absorber`` fixed effects."""

    y: np.ndarray
    build: DesignBuilder
    observed: np.ndarray  # per-unit first-treated ordinals actually observed
    absorber: Absorber
    weights: np.ndarray | None
    clusters: np.ndarray
    contrast: np.ndarray
    n_nested: int
    nuisance_varies: bool = False
    # Canonical order of areas for sampled permutations; computed only when draws are needed.
    unit_order: Callable[[], np.ndarray] | None = None
    # If targets(first) = 1{area treated} x time_factor[period] (one common start), the
    # randomization draws have a closed form on balanced, unweighted panels (see below).
    time_factor: np.ndarray | None = None
    # The targets at the rows of some areas only, for an assignment: (first-treated vector,
    # areas) -> (those areas' rows, targets there). A sampled draw that treats k areas of
    # many builds its columns on their rows alone: never-treated areas' targets are zero.
    build_at: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None

    def residualizer(self, nuisance: np.ndarray | None) -> Residualizer:
        return Residualizer(self.absorber, nuisance, self.weights)

    def fit(self) -> tuple[LinearFit, Residualizer]:
        built = self.build(self.observed)
        resid = self.residualizer(built[1])
        # fit_linear owns the only reference to the targets and residualises them in place
        # (an event study's lead/lag columns are the largest array: 1.2M x 39 = 374 MB)
        return fit_linear(self.y, built[0], resid, n_nested=self.n_nested,
                          overwrite=True), resid

    @cached_property
    def treated_rows(self) -> np.ndarray:
        """Rows with a non-zero treatment regressor under the observed assignment."""
        targets, _ = self.build(self.observed)
        return np.any(targets != 0, axis=1)

    @cached_property
    def n_clusters(self) -> int:
        return inf.cluster_codes(self.clusters)[1]


@dataclass(frozen=True)
class DesignInference:
    """Everything :func:`infer` found: headline interval, per-coefficient intervals, vcov."""

    coef: np.ndarray
    headline: float
    interval: inf.Interval
    per_coef: list[inf.Interval]
    info: InferenceInfo
    fit: LinearFit
    pre_test: dict[str, object] | None = None


def cr1(design: LinearDesign, fit: LinearFit) -> tuple[np.ndarray, int]:
    """CR1 vcov of the fitted coefficients (nested fixed effects not counted in K)."""
    return inf.cluster_robust(fit.xt, fit.resid, design.clusters, fit.n_params - fit.n_nested)


def infer(
    design: LinearDesign,
    choice: inf.InferenceChoice,
    *,
    level: float,
    draws: int,
    seed: int,
    pre_coefs: np.ndarray | None = None,
    strict: bool = True,
) -> DesignInference:
    """Fit, then compute the headline and per-coefficient intervals with ``choice``.

    ``pre_coefs`` indexes the lead coefficients of an event study for the joint pre-trend test.
    A headline standard error that is zero up to rounding (``inference.ZERO_SE``) raises
    DesignError saying why; with ``strict=False`` (diagnostics) the interval is left empty.
    """
    fit, resid = design.fit()
    coef = fit.coef
    headline = float(design.contrast @ coef)
    vcov, df = cr1(design, fit)
    p = len(coef)
    details: dict[str, object] = {}
    per_coef: list[inf.Interval]
    plan = None
    ri_stats = None
    if choice.method == "randomization" or (
            pre_coefs is not None and len(pre_coefs) and _few_treated(design)):
        # the assignments (draws x areas) are drawn only when used: at 30,000 areas they
        # are 240 MB
        order = design.unit_order() if design.unit_order is not None else None
        plan = inf.assignments(design.observed, draws, seed, order)
        ri_stats = _randomization_stats(design, plan, resid)

    if choice.method == "cluster":
        se = math.sqrt(max(float(design.contrast @ vcov @ design.contrast), 0.0))
        scales = _se_scales(fit, design.contrast)
        interval = inf.t_interval(headline, se, df, level, scales[0])
        per_coef = [inf.t_interval(float(coef[j]), math.sqrt(max(vcov[j, j], 0.0)), df, level,
                                   scales[1 + j]) for j in range(p)]
        details = {"se_type": "CR1", "df": df, "clusters": design.n_clusters,
                   "small_sample": "G/(G-1)*(N-1)/(N-K), nested fixed effects not in K"}
    elif choice.method == "wild-bootstrap":
        interval = _wild(design, fit, design.contrast, level, draws, seed, choice.weights)
        per_coef = [_wild(design, fit, np.eye(p)[j], level, draws, seed, choice.weights)
                    for j in range(p)] if p > 1 else [interval]
        details = dict(interval.details)
    elif choice.method == "randomization":
        assert plan is not None and ri_stats is not None
        interval, per_coef = _randomization_intervals(design, coef, ri_stats, plan, level)
        details = {"draws": plan.draws, "exact": plan.exact, "statistic": "estimate",
                   "seed": None if plan.exact else seed,
                   "interval": "test inversion under a constant additive effect"}
    else:
        raise ValueError(f"unknown inference {choice.method!r}")

    if strict and interval.details.get("degenerate"):
        raise _degenerate(design, fit, choice, interval)
    pre_test = None
    if pre_coefs is not None and len(pre_coefs):
        pre_test = _pretrend(coef, vcov, df, pre_coefs, ri_stats, plan, p)
    info = InferenceInfo(method=choice.method, reason=choice.reason, details=details)
    return DesignInference(coef=coef, headline=headline, interval=interval, per_coef=per_coef,
                           info=info, fit=fit, pre_test=pre_test)


def _se_scales(fit: LinearFit, contrast: np.ndarray) -> list[float]:
    """What a standard error is measured against: the SE the outcome net of fixed effects
    would give as residuals, for the contrast and then each coefficient."""
    bread = np.linalg.pinv(fit.xt.T @ fit.xt)
    yy = float(fit.yt @ fit.yt)
    return [math.sqrt(max(yy * float(c @ bread @ c), 0.0))
            for c in (contrast, *np.eye(len(contrast)))]


def _degenerate(design: LinearDesign, fit: LinearFit, choice: inf.InferenceChoice,
                interval: inf.Interval) -> DesignError:
    """Why the headline standard error is zero up to rounding, as a DesignError."""
    n_obs, n_params = len(fit.resid), fit.n_params - fit.n_nested
    if n_obs <= n_params:
        return DesignError(
            f"the regression has {n_params} parameters for {n_obs} observations, so no "
            f"variation is left over for {choice.method} inference to measure uncertainty from",
            hint="add comparison areas or periods")
    if float(fit.resid @ fit.resid) <= inf.ZERO_SE ** 2 * float(fit.yt @ fit.yt):
        return DesignError(
            "the regression fits the outcome exactly (its residuals are zero up to rounding), "
            f"so {choice.method} inference has no variation to measure uncertainty from",
            hint="check the outcome column: values computed from the area and period, or "
            "copied between areas, cannot be evaluated")
    se = interval.details.get("se")
    shown = f" ({se:.2g})" if isinstance(se, float) and math.isfinite(se) else ""
    treated = treated_cluster_count(design)
    return DesignError(
        f"the effect's standard error is zero up to rounding{shown}: with "
        f"{design.n_clusters} clusters ({treated} treated) the clustered scores cancel, so "
        f"{choice.method} inference cannot measure uncertainty",
        hint="add comparison areas: clustered inference needs several clusters besides the "
        "treated ones")


def _few_treated(design: LinearDesign) -> bool:
    return treated_cluster_count(design) < inf.FEW_TREATED


def treated_cluster_count(design: LinearDesign) -> int:
    """Number of clusters that contain a treated observation."""
    return inf.cluster_codes(design.clusters[_treated_rows(design)])[1]


def _treated_rows(design: LinearDesign) -> np.ndarray:
    return design.treated_rows


def _wild(design: LinearDesign, fit: LinearFit, contrast: np.ndarray, level: float, draws: int,
          seed: int, weights: str) -> inf.Interval:
    """Wild cluster bootstrap for contrast'beta, by reparametrising so it is one coefficient."""
    targets, nuisance = design.build(design.observed)
    p = targets.shape[1]
    q = np.vstack([contrast, _complement(contrast)]) if p > 1 else contrast.reshape(1, 1)
    z = targets @ np.linalg.inv(q)
    extra = z[:, 1:]
    nuis = extra if nuisance is None else np.hstack([nuisance, extra])
    resid = design.residualizer(nuis if nuis.shape[1] else None)
    x = resid.apply(z[:, 0])
    yt = resid.apply(design.y)
    return inf.wild_cluster_bootstrap(
        x, yt, resid.apply_scaled, design.clusters,
        n_params=fit.n_params - fit.n_nested, level=level, draws=draws, seed=seed,
        weights=weights,
    )


def _complement(c: np.ndarray) -> np.ndarray:
    """Rows spanning the orthogonal complement of ``c``."""
    _, _, vt = np.linalg.svd(c.reshape(1, -1))
    return vt[1:]


def _randomization_stats(design: LinearDesign, plan: inf.Assignments, resid: Residualizer
                         ) -> np.ndarray:
    """Per assignment: coefficients on y and on each observed treatment regressor.

    Returns (draws, p, p+1): [:, :, 0] are the coefficients for the outcome, [:, j, 1+j]
    coefficient j for outcome "observed regressor j" (used to invert the test).
    """
    targets_obs, _ = design.build(design.observed)
    outcomes = np.column_stack([design.y, targets_obs])
    fixed_outcomes = None if design.nuisance_varies else resid.apply(outcomes)
    if (design.time_factor is not None and design.absorber.fast and resid.n_nuisance == 0
            and fixed_outcomes is not None):
        return _kronecker_draws(design.time_factor, fixed_outcomes, plan, design.absorber.sizes)

    if fixed_outcomes is None:
        def statistic(assignment: np.ndarray) -> np.ndarray:
            targets, nuisance = design.build(assignment)
            r = design.residualizer(nuisance)
            return least_squares(r.apply(targets), r.apply(outcomes))[None, :, :]

        return inf.randomization_draws(statistic, plan)
    yt = fixed_outcomes

    sparse = resid.absorber.method != "alternating"
    from lpip_eval.data.panel import NEVER

    build_at = design.build_at
    by_picks = (sparse and build_at is not None and plan.picks is not None
                and plan.values[1] == NEVER)

    def batch(chunk: tuple[np.ndarray, np.ndarray | None]) -> np.ndarray:
        assignments, picks = chunk
        # Frisch-Waugh-Lovell: y's projection is fixed and a draw's treatment columns are
        # zero outside the reassigned areas' rows, so each draw's normal equations are sums
        # over those rows; a chunk's fixed effects are solved in one call.
        if not sparse:  # alternating projections: residualise the chunk's columns together
            built = [design.build(a)[0] for a in assignments]
            p = built[0].shape[1]
            xt = resid.apply(np.hstack(built))
            return np.stack([least_squares(xt[:, i * p:(i + 1) * p], yt)
                             for i in range(len(built))])
        blocks = []
        for i, a in enumerate(assignments):
            if picks is not None:  # only the picked areas' rows can be non-zero
                assert build_at is not None
                rows, targets = build_at(a, picks[i])
                nonzero = np.any(targets != 0, axis=1)
                blocks.append((rows[nonzero], targets[nonzero]))
                continue
            targets = design.build(a)[0]
            rows = np.flatnonzero(np.any(targets != 0, axis=1))
            blocks.append((rows, targets[rows]))
        normal = resid.sparse_normal_equations(blocks, yt)
        assert normal is not None
        return np.stack([_solve_normal(gram, rhs) for gram, rhs in normal])

    p = targets_obs.shape[1]
    size = RI_CHUNK_DRAWS if sparse else max(
        1, min(RI_CHUNK_DRAWS, RI_CHUNK_VALUES // max(1, len(design.y) * p)))
    chunks = ((plan.block(i, i + size),
               plan.picks[i:i + size] if by_picks and plan.picks is not None else None)
              for i in range(0, plan.draws, size))
    from lpip_eval.parallel import map_items

    return np.concatenate(map_items(batch, chunks))


def rows_of_areas(unit_idx: np.ndarray, n_units: int) -> Callable[[np.ndarray], np.ndarray]:
    """A function giving the rows (ascending) of the given areas: for ``build_at``."""
    order = np.argsort(unit_idx, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(unit_idx, minlength=n_units))])

    def rows(areas: np.ndarray) -> np.ndarray:
        return np.sort(np.concatenate([order[starts[a]:starts[a + 1]] for a in areas]
                                      or [np.zeros(0, dtype=np.int64)]))

    return rows


def _solve_normal(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Least-squares coefficients from normal equations (minimum norm when singular), as
    :func:`least_squares` would give from the columns themselves."""
    if np.linalg.cond(gram) < 1e10:
        return np.linalg.solve(gram, rhs)
    return np.linalg.lstsq(gram, rhs, rcond=None)[0]


def _kronecker_draws(time_factor: np.ndarray, yt: np.ndarray, plan: inf.Assignments,
                     sizes: list[int]) -> np.ndarray:
    """All randomization draws at once for balanced two-way designs with one common start.

    Two-way demeaning maps a_i * b_t to (a_i - mean a)(b_t - mean b), so with centred
    assignment vectors A (draws x G) and centred time factor B (T x p) every draw's
    coefficients are pinv(B) @ sum_i A_di Y_i / sum_i A_di^2: one matrix product for all
    draws instead of a regression per draw. Same numbers as the general path (tested).
    """
    from lpip_eval.data.panel import NEVER

    n_units, n_times = sizes
    b = time_factor - time_factor.mean(axis=0, keepdims=True)
    cube = yt.reshape(n_units, n_times * yt.shape[1])
    if plan.picks is not None:
        # k picked areas of G: the centred assignment is +-(1{picked} - k/G), so
        # A Y = +-(sum of the picked areas' rows - k/G * sum of all rows), |A|^2 = k - k^2/G
        k = plan.picks.shape[1]
        sign = 1.0 if plan.values[0] != NEVER else -1.0
        az = cube[plan.picks].sum(axis=1) - (k / n_units) * cube.sum(axis=0)
        az *= sign
        norm = np.full(plan.draws, k - k * k / n_units)
    else:
        a = (plan.rows != NEVER).astype(float)
        a -= a.mean(axis=1, keepdims=True)
        az = a @ cube
        norm = np.sum(a * a, axis=1)
    z = az.reshape(plan.draws, n_times, yt.shape[1])
    coef = np.einsum("kt,dtq->dkq", np.linalg.pinv(b), z)
    return coef / norm[:, None, None]


def _randomization_intervals(
    design: LinearDesign, coef: np.ndarray, stats: np.ndarray, plan: inf.Assignments,
    level: float,
) -> tuple[inf.Interval, list[inf.Interval]]:
    c = design.contrast
    on_y = stats[:, :, 0] @ c
    # Under a constant effect b0, y shifts by b0 times the sum of the regressors the
    # headline averages; the estimators are linear, so combine their coefficients.
    on_d = np.einsum("dpk,p,k->d", stats[:, :, 1:], c, _shift_weights(design))
    headline = float(c @ coef)
    spread = float(np.std(on_y)) or 1.0
    low, high = inf.randomization_interval(headline, on_y, on_d, plan, level, spread)
    interval = inf.Interval(se=None, ci_low=low, ci_high=high,
                            p_value=inf.randomization_pvalue(headline, on_y, plan))
    per = []
    for j in range(len(coef)):
        a, b = stats[:, j, 0], stats[:, j, 1 + j]
        lo, hi = inf.randomization_interval(float(coef[j]), a, b, plan, level,
                                            float(np.std(a)) or 1.0)
        per.append(inf.Interval(se=None, ci_low=lo, ci_high=hi,
                                p_value=inf.randomization_pvalue(float(coef[j]), a, plan)))
    return interval, per


def _shift_weights(design: LinearDesign) -> np.ndarray:
    """Under a constant effect b0 every post regressor shifts y by b0: weight 1 on post terms."""
    return (design.contrast != 0).astype(float)


def _pretrend(coef: np.ndarray, vcov: np.ndarray, df: int, pre: np.ndarray,
              ri_stats: np.ndarray | None, plan: inf.Assignments | None, p: int
              ) -> dict[str, object]:
    """Joint test that all lead coefficients are zero."""
    from scipy import special

    b = coef[pre]
    if ri_stats is not None and plan is not None:
        draws = ri_stats[:, pre, 0]
        stat, pval = inf.randomization_wald(b, draws, plan)
        return {"test": "joint pre-trend test (randomization, studentised sum of squared leads)",
                "statistic": stat, "df": len(pre), "p_value": pval, "leads": len(pre),
                "rejected_at_5pct": pval < 0.05}
    v = vcov[np.ix_(pre, pre)]
    wald = float(b @ np.linalg.pinv(v) @ b)
    q = len(pre)
    f_stat = wald / q
    pval = float(special.fdtrc(q, df, f_stat))
    return {"test": "joint pre-trend Wald test (CR1, F distribution)", "statistic": f_stat,
            "df": [q, df], "p_value": pval, "leads": q, "rejected_at_5pct": pval < 0.05}
