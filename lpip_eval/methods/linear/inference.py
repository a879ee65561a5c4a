"""Inference for regression designs: cluster-robust, wild cluster bootstrap, randomization.

Used by ``did`` (through :func:`lpip_eval.methods.linear.design.infer`) and by area matching,
whose placebo re-matching (``methods/match/placebo.py``) reuses the assignments and p-value
here. Synthetic control and synthetic DiD have their own placebo inference
(``methods/synth/placebo.py``, ``methods/synth/sdid.py``); unit-level matching uses the
Abadie-Imbens standard error (``methods/match/nnmatch.py``).

* :func:`cluster_robust` — CR1 sandwich variance, clustered by area (or ``--cluster-col``),
  with the Stata / fixest small-sample factor ``G/(G-1) * (N-1)/(N-K)``, where K counts the
  estimated parameters *except* fixed effects nested within the clusters (fixest's
  ``ssc(adj=TRUE, fixef.K="nested", cluster.adj=TRUE)``, Stata's ``reghdfe``). Intervals and
  p-values use Student's t with G-1 degrees of freedom, as fixest and Stata do.
* :func:`wild_cluster_bootstrap` — the restricted wild cluster bootstrap (WCR) of Cameron,
  Gelbach & Miller (2008) with the null imposed, Rademacher or Webb (2014) six-point weights,
  symmetric bootstrap-t p-value, and the interval found by inverting the test
  (as in Roodman, MacKinnon, Nielsen & Webb 2019, ``boottest``).
* :func:`randomization_draws` / :func:`randomization_pvalue` / :func:`randomization_interval`
  — randomization (permutation) inference that reassigns the treatment timing across areas
  (Fisher 1935; for one or a few treated areas, Conley & Taber 2011, MacKinnon & Webb 2020).
  Exact enumeration when the assignments are few, seeded sampling otherwise; the interval
  inverts the test under a constant additive effect.
* :func:`choose_inference` — the ``--inference auto`` policy.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from lpip_eval.methods.linear.unit_order import canonical_unit_order

FEW_TREATED = 10
FEW_CLUSTERS = 30
MIN_RI_ASSIGNMENTS = 20
EXACT_LIMIT = 5_000
INFERENCE_METHODS = ("auto", "cluster", "wild-bootstrap", "randomization")
# A standard error below sqrt(machine epsilon) times its scale (the SE the outcome net of
# fixed effects would give as residuals) is rounding noise, not uncertainty: the fit is
# exact, or the cluster scores cancel (two clusters, one treated). Such an interval is
# marked ``degenerate`` instead of being computed from noise (issue 10, item 7).
ZERO_SE = math.sqrt(float(np.finfo(float).eps))


@dataclass(frozen=True)
class InferenceChoice:
    """Which inference runs, and the sentence saying why."""

    method: str
    reason: str
    weights: str = "rademacher"


@dataclass(frozen=True)
class Interval:
    """An estimate's uncertainty: standard error (if any), interval and p-value."""

    se: float | None
    ci_low: float
    ci_high: float
    p_value: float
    details: dict[str, object] = field(default_factory=dict)


def choose_inference(
    requested: str, *, n_treated_clusters: int, n_clusters: int, n_assignments: int
) -> InferenceChoice:
    """The ``--inference auto`` policy, or the user's named method with a stated reason.

    With fewer than 10 treated clusters conventional clustered SEs are badly
    anti-conservative (Conley & Taber 2011; MacKinnon & Webb 2017), so ``auto`` uses
    randomization inference when there are enough distinct assignments (at least 20, so a
    p-value below 0.05 is possible), else the wild cluster bootstrap with Webb weights.
    With many treated but fewer than 30 clusters in all, the wild cluster bootstrap.
    """
    if requested != "auto":
        return InferenceChoice(requested, f"requested with --inference {requested}",
                               "webb" if n_clusters < 12 else "rademacher")
    if n_treated_clusters < FEW_TREATED:
        few = (f"{n_treated_clusters} treated cluster{'s' if n_treated_clusters != 1 else ''} "
               f"(fewer than {FEW_TREATED}): clustered standard errors would be badly "
               "anti-conservative")
        if n_assignments >= MIN_RI_ASSIGNMENTS:
            return InferenceChoice("randomization", f"{few}, so randomization inference over "
                                   f"{n_clusters} areas was used")
        return InferenceChoice("wild-bootstrap", f"{few} and too few areas for randomization "
                               "inference, so the wild cluster bootstrap (Webb weights) was used",
                               "webb")
    if n_clusters < FEW_CLUSTERS:
        return InferenceChoice("wild-bootstrap", f"{n_clusters} clusters (fewer than "
                               f"{FEW_CLUSTERS}), so the wild cluster bootstrap was used",
                               "webb" if n_clusters < 12 else "rademacher")
    return InferenceChoice("cluster", f"{n_treated_clusters} treated and {n_clusters} clusters "
                           "in all: cluster-robust (CR1) standard errors are reliable")


# --------------------------------------------------------------------------- CR1


def cluster_codes(clusters: np.ndarray) -> tuple[np.ndarray, int]:
    """Clusters renumbered 0..G-1, and G; O(N) for non-negative integer codes (no sort)."""
    if clusters.dtype.kind in "iu" and len(clusters) and clusters.min() >= 0:
        present = np.bincount(clusters) > 0
        if present.all():  # already 0..G-1 (e.g. area codes): no renumbering needed
            return clusters, len(present)
        remap = np.cumsum(present) - 1
        return remap[clusters], int(present.sum())
    codes, inverse = np.unique(clusters, return_inverse=True)
    return inverse, len(codes)


def cr1_factor(n_obs: int, n_params: int, n_clusters: int) -> float:
    """Small-sample factor G/(G-1) * (N-1)/(N-K) (Stata, fixest); NaN when N <= K (no
    residual degrees of freedom: the variance is not identified, and intervals built on it
    are :func:`degenerate`)."""
    if n_obs <= n_params:
        return math.nan
    return n_clusters / (n_clusters - 1) * (n_obs - 1) / (n_obs - n_params)


def cluster_robust(
    xt: np.ndarray, resid: np.ndarray, clusters: np.ndarray, n_params: int
) -> tuple[np.ndarray, int]:
    """CR1 variance of OLS coefficients on residualised regressors ``xt`` (n, p).

    Returns the (p, p) matrix and the degrees of freedom G-1 for t-based intervals.
    """
    inverse, n_clusters = cluster_codes(clusters)
    if n_clusters < 2:
        raise ValueError("cluster-robust variance needs at least two clusters")
    bread = np.linalg.pinv(xt.T @ xt)
    scores = np.column_stack([
        np.bincount(inverse, weights=xt[:, j] * resid, minlength=n_clusters)
        for j in range(xt.shape[1])
    ])
    meat = scores.T @ scores
    factor = cr1_factor(len(resid), n_params, n_clusters)
    return factor * bread @ meat @ bread, n_clusters - 1


def degenerate(se: float, scale: float) -> Interval:
    """No interval: the standard error ``se`` is zero up to rounding against ``scale``."""
    return Interval(se=None, ci_low=math.nan, ci_high=math.nan, p_value=math.nan,
                    details={"degenerate": True, "se": se, "scale": scale})


def t_interval(estimate: float, se: float, df: int, level: float,
               scale: float = 0.0) -> Interval:
    """Interval and two-sided p-value from Student's t with ``df`` degrees of freedom.

    ``se`` at or below ``ZERO_SE * scale`` (or not positive) gives :func:`degenerate`.
    """
    if not np.isfinite(se) or se <= ZERO_SE * scale:
        return degenerate(se, scale)
    from scipy import special  # imported here: scipy.stats would add ~1 s to start-up

    q = float(special.stdtrit(df, 0.5 + level / 2))
    p = float(2 * special.stdtr(df, -abs(estimate / se)))
    return Interval(se=float(se), ci_low=estimate - q * se, ci_high=estimate + q * se,
                    p_value=p, details={"df": df})


# --------------------------------------------------------------------------- wild bootstrap

WEBB_POINTS = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


def bootstrap_weights(n_clusters: int, draws: int, kind: str, seed: int) -> tuple[np.ndarray, bool]:
    """(draws, G) cluster weights; all 2^G sign vectors when Rademacher and 2^G <= draws."""
    if kind == "rademacher" and 2**n_clusters <= draws:
        grid = np.array(list(itertools.product((-1.0, 1.0), repeat=n_clusters)))
        return grid, True
    rng = np.random.default_rng(seed)
    if kind == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(draws, n_clusters)), False
    if kind == "webb":
        return rng.choice(WEBB_POINTS, size=(draws, n_clusters)), False
    raise ValueError(f"unknown bootstrap weights {kind!r}")


def wild_cluster_bootstrap(
    x: np.ndarray,
    yt: np.ndarray,
    annihilate: Callable[[np.ndarray], np.ndarray],
    clusters: np.ndarray,
    *,
    n_params: int,
    level: float,
    draws: int,
    seed: int,
    weights: str = "rademacher",
    chunk: int = 256,
) -> Interval:
    """Restricted wild cluster bootstrap-t for one coefficient (null imposed).

    ``x`` and ``yt`` are the regressor of interest and the outcome, both already net of fixed
    effects and other regressors (in the weighted metric); ``annihilate`` applies that same
    projection M to an (n, B) matrix. Because the restricted residuals are linear in the
    hypothesised value b0, every bootstrap statistic is too; the p-value is evaluated
    exactly for any b0 and the interval is found by bisection on p(b0) = 1 - level.
    """
    g, n_clusters = cluster_codes(clusters)
    xx = float(x @ x)
    if not xx > 0:
        return degenerate(math.nan, 0.0)
    beta = float(x @ yt) / xx
    resid = yt - x * beta
    factor = cr1_factor(len(x), n_params, n_clusters)
    score = np.bincount(g, weights=x * resid, minlength=n_clusters)
    se_hat = math.sqrt(factor * float(score @ score)) / xx
    scale = math.sqrt(float(yt @ yt) / xx)
    if not se_hat > ZERO_SE * scale:  # also NaN: t statistics would divide noise by noise
        return degenerate(se_hat, scale)

    v_canonical, exact = bootstrap_weights(n_clusters, draws, weights, seed)
    # Draws are tied to a data-derived cluster order, so renaming areas changes nothing.
    v = np.empty_like(v_canonical)
    x_key = x / max(float(np.abs(x).max()), 1e-300)
    v[:, canonical_unit_order(g, yt, n_clusters, row_key=x_key)] = v_canonical
    c_g = np.bincount(g, weights=x * yt, minlength=n_clusters)  # sum x*y per cluster
    d_g = np.bincount(g, weights=x * x, minlength=n_clusters)  # sum x^2 per cluster
    # chunks of draws through the active backend (local processes or a Dask cluster); the
    # weights are drawn above and the chunk size is fixed, so the bytes do not depend on it
    from functools import partial

    from lpip_eval.parallel import map_items

    job = partial(_wild_chunk, x=x, yt=yt, g=g, n_clusters=n_clusters, annihilate=annihilate)
    blocks = map_items(job, [v[start:start + chunk] for start in range(0, len(v), chunk)])
    a_gb = np.hstack([a for a, _ in blocks])
    b_gb = np.hstack([b for _, b in blocks])
    p_b = v @ c_g
    q_b = v @ d_g

    def pvalue(b0: float) -> float:
        shift = (p_b - b0 * q_b) / xx  # beta* - b0, per draw
        s_gb = a_gb - b0 * b_gb - np.outer(d_g, shift)
        se_b = np.sqrt(factor * np.sum(s_gb * s_gb, axis=0)) / xx
        with np.errstate(divide="ignore", invalid="ignore"):
            t_b = np.where(se_b > 0, shift / se_b, 0.0)
        t_obs = (beta - b0) / se_hat
        hits = int(np.sum(np.abs(t_b) >= abs(t_obs) - 1e-12 * max(1.0, abs(t_obs))))
        # Enumerated: the exact share. Sampled: (hits + 1) / (draws + 1), as for
        # randomization inference, so a p-value is never reported as exactly zero.
        return hits / len(t_b) if exact else (hits + 1) / (len(t_b) + 1)

    alpha = 1 - level
    low = _invert(pvalue, beta, -se_hat, alpha)
    high = _invert(pvalue, beta, se_hat, alpha)
    return Interval(
        se=se_hat, ci_low=low, ci_high=high, p_value=pvalue(0.0),
        details={"draws": len(v), "weights": weights, "enumerated": exact,
                 "clusters": n_clusters, "null_imposed": True},
    )


def _wild_chunk(v: np.ndarray, *, x: np.ndarray, yt: np.ndarray, g: np.ndarray,
                n_clusters: int, annihilate: Callable[[np.ndarray], np.ndarray]
                ) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster sums of x * M(y v) and x * M(x v) for one chunk of weight draws ``v``
    (b, G): the pieces every bootstrap statistic of :func:`wild_cluster_bootstrap` is
    linear in."""
    vb = v.T[g]  # (n, b)
    out = []
    for r in (annihilate(yt[:, None] * vb), annihilate(x[:, None] * vb)):
        block = np.zeros((n_clusters, r.shape[1]))
        np.add.at(block, g, x[:, None] * r)
        out.append(block)
    return out[0], out[1]


def _invert(pvalue: Callable[[float], float], centre: float, step: float, alpha: float) -> float:
    """Where p(b0) falls to ``alpha`` moving from ``centre`` in the direction of ``step``."""
    if step == 0 or not np.isfinite(step):
        return math.nan
    inner, outer = centre, centre + step
    for _ in range(60):
        if pvalue(outer) <= alpha:
            break
        inner, outer = outer, outer + 2 * (outer - centre)
    else:
        return math.inf if step > 0 else -math.inf
    for _ in range(80):
        mid = 0.5 * (inner + outer)
        if pvalue(mid) > alpha:
            inner = mid
        else:
            outer = mid
        if abs(outer - inner) <= 1e-9 * max(1.0, abs(step)):
            break
    return 0.5 * (inner + outer)


# --------------------------------------------------------------------------- randomization


@dataclass(frozen=True)
class Assignments:
    """Alternative treatment timings: each draw is a per-area first-treated vector.

    Stored either as those vectors (``dense``, draws x areas) or, for a sampled reassignment
    of two values (one common start), as the areas that take the rarer value in each draw
    (``picks``, draws x k, with ``values`` = [rarer value, the other]): 5 treated of 30,000
    areas are 5 numbers per draw, not 30,000. :meth:`block` and :meth:`iter_rows` build the
    vectors a few draws at a time; ``rows`` builds all of them.
    """

    exact: bool
    observed_included: bool
    dense: np.ndarray | None = None
    picks: np.ndarray | None = None
    values: np.ndarray = field(default_factory=lambda: np.zeros(2, dtype=np.int64))
    n_units: int = 0

    @property
    def draws(self) -> int:
        stored = self.dense if self.dense is not None else self.picks
        assert stored is not None
        return len(stored)

    def block(self, start: int, stop: int) -> np.ndarray:
        """The first-treated vectors of draws ``start:stop`` (draws x areas)."""
        if self.dense is not None:
            return self.dense[start:stop]
        assert self.picks is not None
        picks = self.picks[start:stop]
        rows = np.full((len(picks), self.n_units), self.values[1], dtype=self.values.dtype)
        np.put_along_axis(rows, picks, self.values[0], axis=1)
        return rows

    @property
    def rows(self) -> np.ndarray:
        """All draws' first-treated vectors (draws x areas; large for many areas)."""
        return self.block(0, self.draws)

    def iter_rows(self, size: int = 64) -> Iterator[np.ndarray]:
        """The draws' first-treated vectors one by one, built ``size`` draws at a time."""
        for start in range(0, self.draws, size):
            yield from self.block(start, start + size)

    def subset(self, keep: np.ndarray) -> Assignments:
        """The draws where ``keep`` (bool, one per draw) is true."""
        if self.dense is not None:
            return replace(self, dense=self.dense[keep])
        assert self.picks is not None
        return replace(self, picks=self.picks[keep])


def count_assignments(first_treated: np.ndarray) -> int:
    """Number of distinct reassignments of the areas' treatment timings (multinomial)."""
    _, counts = np.unique(first_treated, return_counts=True)
    log_total = math.lgamma(len(first_treated) + 1) - sum(math.lgamma(int(c) + 1)
                                                         for c in counts)
    if log_total > 40:  # beyond any enumeration or threshold: no need for the exact number
        return 10**18
    total = math.factorial(len(first_treated))
    for c in counts:
        total //= math.factorial(int(c))
    return total


def assignments(first_treated: np.ndarray, draws: int, seed: int,
                canonical_order: np.ndarray | None = None) -> Assignments:
    """Reassign timings across areas: every one if few (<= max(draws, 5000)), else a sample.

    With one common start this chooses which areas are treated; with staggered starts it
    permutes the start periods across areas. Sampled draws are over ``canonical_order`` (a
    data-derived order of the areas), so renaming areas or shuffling rows does not change
    which assignments are drawn. With two values (one common start) a sampled draw is the
    set of areas taking the rarer value: k distinct canonical positions, uniformly
    (``Generator.choice`` without replacement), kept as ``picks``; otherwise a uniform
    permutation of all areas' timings.
    """
    n_units = len(first_treated)
    total = count_assignments(first_treated)
    values, counts = np.unique(first_treated, return_counts=True)
    if total <= max(draws, EXACT_LIMIT) and len(values) == 2:
        minority = int(np.argmin(counts))
        other = values[1 - minority]
        combos = np.array(list(itertools.combinations(range(n_units), int(counts[minority]))))
        rows = np.full((len(combos), n_units), other, dtype=first_treated.dtype)
        np.put_along_axis(rows, combos, values[minority], axis=1)
        return Assignments(dense=rows, exact=True, observed_included=True)
    order = np.arange(n_units) if canonical_order is None else canonical_order
    rng = np.random.default_rng(seed)
    if len(values) == 2:
        # which areas take the rarer value: k distinct canonical positions per draw
        rare = int(np.argmin(counts))
        k = int(counts[rare])
        picks = np.stack([rng.choice(n_units, k, replace=False, shuffle=False)
                          for _ in range(draws)]) if k else np.zeros((draws, 0), np.int64)
        return Assignments(exact=False, observed_included=False,
                           picks=np.sort(order[picks], axis=1),
                           values=values[[rare, 1 - rare]],
                           n_units=n_units)
    perms = np.argsort(rng.random((draws, n_units)), axis=1)
    rows = np.empty((draws, n_units), dtype=first_treated.dtype)
    rows[:, order] = first_treated[order][perms]
    return Assignments(dense=rows, exact=False, observed_included=False)


def randomization_draws(
    statistic: Callable[[np.ndarray], np.ndarray], plan: Assignments
) -> np.ndarray:
    """Statistics (draws, k) for each alternative assignment, through ``parallel.map``."""
    from lpip_eval.parallel import map_items

    return np.vstack(map_items(statistic, plan.iter_rows()))


def randomization_pvalue(observed: float, draws: np.ndarray, plan: Assignments) -> float:
    """Two-sided p-value: share of assignments whose |statistic| reaches |observed|."""
    tol = 1e-10 * max(1.0, abs(observed))
    hits = int(np.sum(np.abs(draws) >= abs(observed) - tol))
    if plan.observed_included:
        return hits / len(draws)
    return (hits + 1) / (len(draws) + 1)


def randomization_interval(
    observed: float, on_y: np.ndarray, on_d: np.ndarray, plan: Assignments, level: float,
    scale: float,
) -> tuple[float, float]:
    """Interval by test inversion under a constant additive effect b0.

    The estimators are linear in the outcome, so for outcome y - b0*D each draw's statistic
    is ``on_y - b0 * on_d`` (``on_d`` = the estimator applied to the observed treatment
    indicator D) and the observed one is ``observed - b0``.
    """
    def pvalue(b0: float) -> float:
        return randomization_pvalue(observed - b0, on_y - b0 * on_d, plan)

    alpha = 1 - level
    step = scale if scale > 0 else max(1.0, abs(observed))
    return _invert(pvalue, observed, -step, alpha), _invert(pvalue, observed, step, alpha)


def randomization_wald(
    observed: np.ndarray, draws: np.ndarray, plan: Assignments
) -> tuple[float, float]:
    """Joint test of several coefficients under reassignment.

    Statistic: the sum of squared coefficients, each divided by its standard deviation
    across the draws. A full permutation covariance would make the statistic depend on a
    noisy estimate of a large matrix (with 20+ leads its inverse swings the p-value with the
    seed); the diagonal keeps the test exact under reassignment and stable across seeds.
    """
    sd = draws.std(axis=0)
    scale = np.where(sd > 0, sd, 1.0)
    stat_obs = float(np.sum((observed / scale) ** 2))
    stat_draws = np.sum((draws / scale) ** 2, axis=1)
    return stat_obs, randomization_pvalue(stat_obs, stat_draws, plan)


def record_pretrend(diagnostics: dict[str, Any], warnings: list[str],
                    test: dict[str, Any] | None) -> None:
    """Store a design's pre-trend test in ``diagnostics`` and warn when it rejects at 5%
    (the one wording every DiD design uses)."""
    if test is None:
        return
    from lpip_eval.numbers import fmt_p

    diagnostics["pretrend_test"] = test
    if test["rejected_at_5pct"]:
        warnings.append("the pre-trend test rejects parallel pre-trends at the 5% level "
                        f"({fmt_p(test['p_value'], prefix=True)})")
