"""Nearest-neighbour matching estimators of the ATT / ATE with Abadie-Imbens standard errors.

For unit-level data (people, firms), as Stata's ``teffects nnmatch`` and its predecessor
``nnmatch`` (Abadie, Drukker, Herr & Imbens 2004, *Stata Journal* 4(3)) compute them, and as
R's ``Matching::Match`` (Sekhon 2011), whose test suite replicates Imbens's own Stata log:

* **matching with replacement**: unit i is matched to the set J(i) of the ``k`` nearest units
  of the other group *and every unit tied with the k-th* (distance within ``dtolerance`` of the
  k-th, on the squared distance; 1e-5 as ``Matching``'s ``distance.tolerance``), so ``#J(i)``
  can exceed ``k``. ``K(j) = sum_i 1{j in J(i)} / #J(i)`` counts how often j is used.
* **estimate**: ``tau_i = Y_i - mean_{j in J(i)} Y_j`` for a treated i (the reverse for a
  control i); the ATT averages over treated units, the ATE over all units.
* **bias adjustment** (``biasadj``; Abadie & Imbens 2011): each matched outcome is shifted by
  ``mu_w(X_i) - mu_w(X_j)``, with ``mu_w`` the least-squares regression of Y on the
  bias-adjustment variables (and a constant) among the units of group w, weighted by ``K``
  (``nnmatch`` and ``Matching``).
* **variance of the sample ATT** (``SATT``; Abadie & Imbens 2006, eq. 4.12 of the SJ article):
  ``V = (1/N_1^2) [ sum_{treated} s_i^2 + sum_{controls} K_j^2 s_j^2 ]``; for the ATE
  ``V = (1/N^2) sum_i (1 + K_i)^2 s_i^2``. With ``population=True`` the population version
  (``PATT``): ``V = (1/N_1^2) [ sum_{controls} (K_j^2 - K'_j) s_j^2 + sum_{treated}
  (tau_i - tau)^2 ]``, ``K'_j = sum_i 1{j in J(i)} / #J(i)^2``.
* **conditional variances** ``s_i^2``: ``vce_nn = 0`` is ``vce(iid)`` (``nnmatch``'s default,
  ``Matching``'s ``Var.calc = 0``): one constant,
  ``s^2 = (1/2) * weighted mean over matched pairs of (tau_ij - tau)^2``. ``vce_nn = h > 0`` is
  the heteroskedasticity-robust ``vce(robust, nn(h))``: unit i is matched to its h nearest units
  *of its own group* (ties included) and ``s_i^2`` is the sample variance (divisor n - 1) of the
  outcomes of i and those neighbours (``nnmatch``'s ``robusth(h)``, ``Matching``'s
  ``Var.calc = h`` and ``teffects``'s ``vce(robust, nn(h))``: the unit plus h neighbours, who
  must also satisfy ``ematch``; checked against Matching's replication of Imbens's log and
  against Stata 18 ``teffects`` output).
* **which variance**: ``teffects nnmatch`` reports the population version (``population=True``,
  the default here); the older ``nnmatch`` and ``Matching`` default to the sample version.

Metrics: ``mahalanobis`` (``teffects``'s default: full-sample covariance), ``ivariance``
(``nnmatch``'s and ``Matching``'s default) and ``euclidean``. Exact matching (``exact``: integer
codes, ``teffects``'s ``ematch``) restricts every match, and the robust-variance matching, to
units with the same code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lpip_eval.errors import DesignError
from lpip_eval.methods.match.distance import (
    MatchMetric,
    fit_metric,
    squared_distances,
    within_ties,
)

METRICS = ("mahalanobis", "ivariance", "euclidean")
ESTIMANDS = ("att", "ate", "atc")


@dataclass(frozen=True)
class NNMatchResult:
    """A matching estimate with its Abadie-Imbens standard error and what produced it."""

    estimate: float
    se: float
    estimand: str
    n_obs: int
    n_treated: int
    n_controls: int
    k: int
    metric: str
    bias_adjusted: bool
    vce_nn: int
    population: bool
    n_pairs: int  # matched pairs including ties
    weights: np.ndarray  # per unit: 1 for units in the estimand's group, K(j) for matches


def nnmatch_att(y: np.ndarray, treat: np.ndarray, X: np.ndarray, *, k: int = 1,
                metric: str = "mahalanobis", bias_adjust: bool = False, vce_nn: int = 2,
                exact: np.ndarray | None = None) -> tuple[float, float]:
    """``teffects nnmatch (y X) (treat), atet``: the ATT and its Abadie-Imbens SE."""
    res = nnmatch(y, treat, X, k=k, metric=metric, estimand="att", bias_adjust=bias_adjust,
                  vce_nn=vce_nn, population=True, exact=exact)
    return res.estimate, res.se


def nnmatch(
    y: np.ndarray,
    treat: np.ndarray,
    X: np.ndarray,
    *,
    k: int = 1,
    metric: str = "mahalanobis",
    estimand: str = "att",
    bias_adjust: bool = False,
    bias_vars: np.ndarray | None = None,
    vce_nn: int = 2,
    population: bool = True,
    exact: np.ndarray | None = None,
    dtolerance: float = 1e-5,
) -> NNMatchResult:
    """Nearest-neighbour matching estimate of ``estimand`` ("att", "ate" or "atc").

    ``bias_vars`` (default: the matching variables ``X``) are used when ``bias_adjust``.
    """
    y = np.asarray(y, dtype=float).ravel()
    t = np.asarray(treat).ravel()
    x = np.asarray(X, dtype=float).reshape(len(y), -1)
    _validate(y, t, x, k, metric, estimand, vce_nn)
    t = t.astype(bool)
    if estimand == "atc":
        res = nnmatch(y, ~t, x, k=k, metric=metric, estimand="att", bias_adjust=bias_adjust,
                      bias_vars=bias_vars, vce_nn=vce_nn, population=population, exact=exact,
                      dtolerance=dtolerance)
        return NNMatchResult(**{**res.__dict__, "estimate": -res.estimate, "estimand": "atc",
                                "n_treated": res.n_controls, "n_controls": res.n_treated})
    z = _metric(x, metric).coordinates(x)
    codes = np.zeros(len(y), dtype=np.int64) if exact is None else \
        np.unique(np.asarray(exact), return_inverse=True)[1].ravel()
    targets = t if estimand == "att" else np.ones(len(y), dtype=bool)
    pi, pj = _pairs(z, t, targets, codes, k, dtolerance)
    m = np.bincount(pi, minlength=len(y)).astype(float)  # #J(i)
    w_pair = 1.0 / m[pi]
    kk = np.bincount(pj, weights=w_pair, minlength=len(y))  # K(j)
    kk2 = np.bincount(pj, weights=w_pair ** 2, minlength=len(y))  # K'(j)
    sign = np.where(t[pi], 1.0, -1.0)
    tau_pair = sign * (y[pi] - y[pj])
    if bias_adjust:
        zb = x if bias_vars is None else np.asarray(bias_vars, dtype=float).reshape(len(y), -1)
        tau_pair = tau_pair - sign * _bias_terms(y, t, zb, kk, pi, pj)
    tau_unit = np.bincount(pi, weights=w_pair * tau_pair, minlength=len(y))
    n_target = int(targets.sum())
    estimate = float(tau_unit[targets].sum() / n_target)
    if vce_nn == 0:
        s2 = np.full(len(y), 0.5 * float(np.sum(w_pair * (tau_pair - estimate) ** 2)
                                         / np.sum(w_pair)))
    else:
        s2 = _robust_variances(y, z, t, codes, vce_nn, dtolerance)
    variance = _variance(s2, kk, kk2, t, tau_unit, estimate, estimand, population) / n_target**2
    return NNMatchResult(
        estimate=estimate, se=math.sqrt(max(variance, 0.0)), estimand=estimand,
        n_obs=len(y), n_treated=int(t.sum()), n_controls=int((~t).sum()), k=k, metric=metric,
        bias_adjusted=bias_adjust, vce_nn=vce_nn, population=population, n_pairs=len(pi),
        weights=np.where(targets, 1.0, kk),
    )


def _validate(y: np.ndarray, t: np.ndarray, x: np.ndarray, k: int, metric: str,
              estimand: str, vce_nn: int) -> None:
    if metric not in METRICS:
        raise DesignError(f"unknown metric '{metric}'", hint=f"use one of {', '.join(METRICS)}")
    if estimand not in ESTIMANDS:
        raise DesignError(f"unknown estimand '{estimand}'",
                          hint=f"use one of {', '.join(ESTIMANDS)}")
    if not np.all(np.isin(t, (0, 1, True, False))):
        raise DesignError("the treatment indicator must be 0 or 1")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(x))):
        raise DesignError("the outcome and matching variables must have no missing values")
    n1 = int(np.sum(t == 1))
    n0 = len(t) - n1
    if k < 1 or k > min(n0, n1 if estimand != "att" else n0):
        raise DesignError(f"k = {k} matches is more than one group has units ({n1} treated, "
                          f"{n0} controls)", hint="use a smaller k")
    if vce_nn < 0 or vce_nn >= min(n0, n1):
        raise DesignError(f"vce_nn = {vce_nn} needs more units in each group",
                          hint="use vce_nn between 0 (iid) and the smaller group size - 1")
    flat = x.std(axis=0) == 0
    if flat.any():
        raise DesignError(f"matching variable {int(np.flatnonzero(flat)[0]) + 1} does not vary",
                          hint="drop it from the matching variables")


def _metric(x: np.ndarray, metric: str) -> MatchMetric:
    sample = np.ones(len(x), dtype=bool)
    if metric == "euclidean":
        return MatchMetric("euclidean", x.mean(axis=0), np.eye(x.shape[1]),
                           np.ones(x.shape[1]))
    return fit_metric(x, sample, metric)


def _pairs(z: np.ndarray, t: np.ndarray, targets: np.ndarray, codes: np.ndarray, k: int,
           tol: float) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) for every unit i to be matched and every j in J(i), ties included."""
    out_i, out_j = [], []
    for code in np.unique(codes[targets]):
        for group in (True, False):
            rows = np.flatnonzero(targets & (t == group) & (codes == code))
            cands = np.flatnonzero((t != group) & (codes == code))
            if not len(rows):
                continue
            if len(cands) < 1:
                raise DesignError(f"no {'control' if group else 'treated'} unit shares the "
                                  f"exact-matching values of unit {int(rows[0]) + 1}",
                                  hint="drop the exact-matching variable or the unit")
            for block, d2 in squared_distances(z[rows], z[cands]):
                r, c = within_ties(d2, k, tol)
                out_i.append(rows[block][r])
                out_j.append(cands[c])
    pi = np.concatenate(out_i)
    pj = np.concatenate(out_j)
    order = np.lexsort((pj, pi))
    return pi[order], pj[order]


def _bias_terms(y: np.ndarray, t: np.ndarray, zb: np.ndarray, kk: np.ndarray, pi: np.ndarray,
                pj: np.ndarray) -> np.ndarray:
    """``mu_w(X_i) - mu_w(X_j)`` per pair (i, j), with w the group of the match j.

    ``mu_w`` is the least-squares fit of Y on a constant and ``zb`` among the units of group w,
    each weighted by K (how often it is used as a match): ``nnmatch``'s ``biasadj`` and
    ``Matching``'s ``BiasAdjust``.
    """
    full = np.column_stack([np.ones(len(y)), zb])
    adj = np.zeros(len(pi))
    for group in (False, True):
        use = t[pj] == group
        if not use.any():
            continue
        rows = np.flatnonzero((t == group) & (kk > 0))
        sw = np.sqrt(kk[rows])
        beta = np.linalg.lstsq(full[rows] * sw[:, None], y[rows] * sw, rcond=None)[0]
        mu = full @ beta
        adj[use] = mu[pi[use]] - mu[pj[use]]
    return adj


def _robust_variances(y: np.ndarray, z: np.ndarray, t: np.ndarray, codes: np.ndarray, h: int,
                      tol: float) -> np.ndarray:
    """Per unit: sample variance of Y over the unit and its h nearest same-group units."""
    s2 = np.empty(len(y))
    for code in np.unique(codes):
        for group in (True, False):
            rows = np.flatnonzero((t == group) & (codes == code))
            if not len(rows):
                continue
            peers = rows if len(rows) > 1 else np.flatnonzero(t == group)
            for block, d2 in squared_distances(z[rows], z[peers]):
                own = rows[block]
                d2[peers[None, :] == own[:, None]] = np.inf  # a unit is not its own neighbour
                r, c = within_ties(d2, h, tol)
                ys = y[peers[c]]
                cnt = np.bincount(r, minlength=len(own)) + 1.0
                total = np.bincount(r, weights=ys, minlength=len(own)) + y[own]
                mean = total / cnt
                sq = np.bincount(r, weights=(ys - mean[r]) ** 2, minlength=len(own))
                sq += (y[own] - mean) ** 2
                s2[own] = sq / (cnt - 1)
    return s2


def _variance(s2: np.ndarray, kk: np.ndarray, kk2: np.ndarray, t: np.ndarray,
              tau_unit: np.ndarray, estimate: float, estimand: str, population: bool) -> float:
    """N_S^2 times the variance (eqs. 4.11-4.12 of the SJ article, or their population form)."""
    if estimand == "att":
        if not population:
            return float(np.sum(s2[t]) + np.sum((kk[~t] ** 2) * s2[~t]))
        return float(np.sum((kk[~t] ** 2 - kk2[~t]) * s2[~t])
                     + np.sum((tau_unit[t] - estimate) ** 2))
    if not population:
        return float(np.sum((1 + kk) ** 2 * s2))
    return float(np.sum((kk ** 2 + 2 * kk - kk2) * s2) + np.sum((tau_unit - estimate) ** 2))
