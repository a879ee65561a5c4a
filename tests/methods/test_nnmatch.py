"""Abadie-Imbens nearest-neighbour matching on the NSW experimental sample (LaLonde 1986).

Data: ``causaldata``'s ``nsw_mixtape`` (test dependency; ships the file, works offline): the
Dehejia-Wahba (1999) subsample of the NSW experiment, 445 men (185 treated, 260 controls),
the same 445 observations as Imbens's ``lalonde_exper`` / ``ldw_exper.dta`` and R Matching's
``data(lalonde)``; ``test_sample_is_the_dehejia_wahba_subsample`` checks the group means
against R Matching's printed ``MatchBalance`` output. Earnings are in dollars; the references
below in thousands of dollars are multiplied by 1000.

References and how our calls correspond (``match``/``nnmatch`` options -> ``nnmatch()``):

* Imbens's Stata log of ``match`` (Abadie, Drukker, Herr & Imbens), lalonde_exper_v7_04feb2.smcl
  (emlab.berkeley.edu/users/imbens/stata7/; 3 Feb 2004), the lines visible in the stored copy:
  ``match re78 t age``: SATE 1785.191 (SE 686.7167); ``match re78 t age educ re74 re75``
  ("Weighting matrix: inverse variance", m = 1): SATE 1714.407 (740.1292). Default options
  = inverse-variance metric, ``m(1)``, homoskedastic sample variance: ``metric="ivariance",
  vce_nn=0, population=False``.
* R Matching 4.7-11, ``tests/AbadieImbens.Rout.save`` ("Replication of Guido Imbens
  lalonde_exper_04feb2"), ``Match(Y = re78/1000, Tr = treat, X, ..., Var.calc = 0,
  sample = TRUE)``, which reproduces both numbers above, and gives the rest of the log:
  ATE m = 3: 1.536303 (0.6619304); **ATT** m = 1: 1.726913 (0.8366296); ATC: 1.705509
  (0.8200959); ``Weight = 2`` (Mahalanobis): 1.592617 (0.6847298); ``BiasAdjust`` with
  Z = X: 1.630915 (0.7452336) and with Z = (married, age): 1.719687 (0.7436085);
  ``sample = FALSE`` (population variance, ``pop``): 1.714407 (0.7433846); ``Var.calc = 3``
  (``robust(3)``): 1.714407 (0.6962724). Matched pairs including ties ("Matched number of
  observations (unweighted)"): 5251, 733, 1670, 327, 406, 729.
* R Matching 4.7-9, ``tests/DehejiaWahba.Rout.save``: ``Match(Y = re78, Tr = treat, X =
  glm1$fitted, M = 1)`` (ATT on the Dehejia-Wahba propensity score, population variance):
  2153.3 (AI SE 825.4), 346 matched pairs; its ``MatchBalance`` before/after table (mean
  control after matching, "std mean diff" = 100 x SMD with the treated SD) for the continuous
  variables.
* Stata ``nnmatch`` (SSC, v1.3.1) output quoted on Statalist (thread 226460, "how to calculate
  predicted potential outcomes after nnmatch with bias correction"): ``nnmatch re78 t age educ
  black hisp married re74 re75 u74 u75, tc(att) m(1) metric(maha) bias(...same 9...)`` on
  ``ldw_exper.dta``: ATT = 1.533125 (thousands), and 1.554697 without the adjustment. This is
  the ATT with ``metric="mahalanobis"`` (the ``teffects`` default metric) and ``biasadj``.

Tolerances: 0.01 dollars on estimates and SEs given to 7 digits (the source file stores earnings
as float32, which moves the mean by about 0.003); half a unit of the last printed digit
otherwise. Here the robust variance is checked against Matching's ``Var.calc = 3`` and against a
direct implementation on a small example; ``teffects nnmatch``'s own output (its default
``vce(robust, nn(2))``, population variance) is matched in ``test_nnmatch_teffects.py``. The
older commands report the sample variance, so these calls pass ``population=False``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from causaldata import nsw_mixtape

from lpip_eval.errors import DesignError, UsageError
from lpip_eval.methods.match.balance import balance_table
from lpip_eval.methods.match.nnmatch import nnmatch, nnmatch_att
from lpip_eval.methods.match.units import UnitMatchSpec


@pytest.fixture(scope="module")
def nsw() -> pd.DataFrame:
    d = nsw_mixtape.load_pandas().data.drop(columns="data_id").astype(float)
    d["u74"] = (d["re74"] == 0).astype(float)
    d["u75"] = (d["re75"] == 0).astype(float)
    return d


X4 = ["age", "educ", "re74", "re75"]


def test_sample_is_the_dehejia_wahba_subsample(nsw: pd.DataFrame) -> None:
    assert len(nsw) == 445 and int(nsw["treat"].sum()) == 185
    means = nsw.groupby("treat").mean()
    # R Matching 4.7-9 DehejiaWahba.Rout.save, MatchBalance "Before Matching" (5 digits)
    printed = {"age": (25.816, 25.054), "educ": (10.346, 10.088), "black": (0.84324, 0.82692),
               "hisp": (0.05946, 0.10769), "marr": (0.18919, 0.15385),
               "nodegree": (0.70811, 0.83462), "re74": (2095.6, 2107.0),
               "re75": (1532.1, 1266.9), "u74": (0.70811, 0.75), "u75": (0.6, 0.68462)}
    for var, (treated, control) in printed.items():
        assert means.loc[1.0, var] == pytest.approx(treated, rel=5e-5), var
        assert means.loc[0.0, var] == pytest.approx(control, rel=5e-5), var


# (label, covariates, options, estimate in thousands, SE in thousands, matched pairs)
LOG = [
    ("match re78 t age", ["age"], {"estimand": "ate"}, 1.785191, 0.6867167, 5251),
    ("match re78 t age educ re74 re75", X4, {"estimand": "ate"}, 1.714407, 0.7401292, 733),
    ("..., m(3)", X4, {"estimand": "ate", "k": 3}, 1.536303, 0.6619304, 1670),
    ("..., tc(att)", X4, {"estimand": "att"}, 1.726913, 0.8366296, 327),
    ("..., tc(atc)", X4, {"estimand": "atc"}, 1.705509, 0.8200959, 406),
    ("..., metric(maha)", X4, {"estimand": "ate", "metric": "mahalanobis"},
     1.592617, 0.6847298, 729),
    ("..., biasadj(bias)", X4, {"estimand": "ate", "bias_adjust": True},
     1.630915, 0.7452336, 733),
    ("..., pop", X4, {"estimand": "ate", "population": True}, 1.714407, 0.7433846, 733),
    ("..., robust(3)", X4, {"estimand": "ate", "vce_nn": 3}, 1.714407, 0.6962724, 733),
]


@pytest.mark.parametrize(("label", "covs", "options", "est", "se", "pairs"), LOG,
                         ids=[row[0] for row in LOG])
def test_imbens_log(nsw: pd.DataFrame, label: str, covs: list[str], options: dict[str, object],
                    est: float, se: float, pairs: int) -> None:
    opts = {"metric": "ivariance", "vce_nn": 0, "population": False, **options}
    res = nnmatch(nsw["re78"].to_numpy(), nsw["treat"].to_numpy(), nsw[covs].to_numpy(),
                  **opts)  # type: ignore[arg-type]
    assert res.estimate == pytest.approx(1000 * est, abs=0.01)
    assert res.se == pytest.approx(1000 * se, abs=0.01)
    assert res.n_pairs == pairs


def test_bias_adjustment_on_other_variables(nsw: pd.DataFrame) -> None:
    # Matching: X = (age, educ, re74, re75), Z = (married, age), BiasAdjust, ATE.
    res = nnmatch(nsw["re78"].to_numpy(), nsw["treat"].to_numpy(), nsw[X4].to_numpy(),
                  metric="ivariance", estimand="ate", vce_nn=0, bias_adjust=True, population=False,
                  bias_vars=nsw[["marr", "age"]].to_numpy())
    assert res.estimate == pytest.approx(1719.687, abs=0.01)
    assert res.se == pytest.approx(743.6085, abs=0.01)


def test_stata_nnmatch_mahalanobis_bias_adjusted_att(nsw: pd.DataFrame) -> None:
    covs = nsw[["age", "educ", "black", "hisp", "marr", "re74", "re75", "u74", "u75"]]
    y, t = nsw["re78"].to_numpy(), nsw["treat"].to_numpy()
    adjusted = nnmatch(y, t, covs.to_numpy(), metric="mahalanobis", bias_adjust=True)
    plain = nnmatch(y, t, covs.to_numpy(), metric="mahalanobis")
    assert adjusted.estimate == pytest.approx(1533.125, abs=0.01)
    assert plain.estimate == pytest.approx(1554.697, abs=0.01)
    assert nnmatch_att(y, t, covs.to_numpy(), bias_adjust=True)[0] == adjusted.estimate


def test_propensity_score_att_and_balance(nsw: pd.DataFrame) -> None:
    import statsmodels.api as sm

    d = nsw
    f = np.column_stack([d.age, d.age**2, d.educ, d.educ**2, d.black, d.hisp, d.marr,
                         d.nodegree, d.re74, d.re74**2, d.re75, d.re75**2, d.u74, d.u75])
    t = d["treat"].to_numpy()
    ps = sm.GLM(t, sm.add_constant(f), family=sm.families.Binomial()).fit().fittedvalues
    res = nnmatch(d["re78"].to_numpy(), t, np.asarray(ps)[:, None], metric="ivariance",
                  vce_nn=0, population=True)
    assert res.estimate == pytest.approx(2153.3, abs=0.05)
    assert res.se == pytest.approx(825.4, abs=0.05)
    assert res.n_pairs == 346
    # MatchBalance after matching: mean control, and 100 x SMD (treated SD before matching).
    cols = ["age", "educ", "re74", "re75"]
    bal = balance_table(d[cols].to_numpy(), cols, t == 1, t == 0, res.weights)
    printed = {"age": (25.006, 10.655, 11.317), "educ": (10.480, 12.806, -6.6749),
               "re74": (1624.3, -0.23437, 9.644), "re75": (1297.6, 8.2363, 7.2827)}
    for row in bal["rows"]:
        mean_c, before, after = printed[row["variable"]]
        assert row["mean_comparison_after"] == pytest.approx(mean_c, rel=5e-5)
        assert 100 * row["smd_before"] == pytest.approx(before, rel=5e-5)
        assert 100 * row["smd_after"] == pytest.approx(after, rel=5e-4)
    # "var ratio (Tr/Co)" before matching (unweighted sample variances)
    vr = {r["variable"]: r["vr_before"] for r in bal["rows"]}
    assert vr == pytest.approx({"age": 1.0278, "educ": 1.5513, "re74": 0.7381,
                                "re75": 1.0763}, abs=5e-5)


# --------------------------------------------------------------------------- formulas


def direct_att(y: np.ndarray, t: np.ndarray, x: np.ndarray, k: int, h: int,
               population: bool = False) -> tuple[float, float]:
    """ATT and SE written out loop by loop (Abadie & Imbens 2006; SJ 2004 eqs. 4.12-4.16),
    one covariate, inverse-variance metric, ties within 1e-5 of the k-th squared distance."""
    sd = x.std(ddof=1)
    treated, controls = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    km = np.zeros(len(y))
    km2 = np.zeros(len(y))
    taus = []
    for i in treated:
        d = ((x[controls] - x[i]) / sd) ** 2
        dk = np.sort(d)[k - 1]
        j = controls[d <= dk + 1e-5]
        km[j] += 1 / len(j)
        km2[j] += 1 / len(j) ** 2
        taus.append(y[i] - y[j].mean())
    att = float(np.mean(taus))
    s2 = np.zeros(len(y))
    for i in range(len(y)):
        same = np.flatnonzero((t == t[i]) & (np.arange(len(y)) != i))
        d = ((x[same] - x[i]) / sd) ** 2
        dh = np.sort(d)[h - 1]
        s2[i] = np.var(np.append(y[same[d <= dh + 1e-5]], y[i]), ddof=1)
    n1 = len(treated)
    if population:
        v = (np.sum((km[controls] ** 2 - km2[controls]) * s2[controls])
             + np.sum((np.array(taus) - att) ** 2)) / n1**2
    else:
        v = (np.sum(s2[treated]) + np.sum(km[controls] ** 2 * s2[controls])) / n1**2
    return att, math.sqrt(v)


@pytest.mark.parametrize(("k", "h", "population"), [(1, 1, False), (2, 2, False),
                                                    (1, 3, True), (3, 2, True)])
def test_robust_variance_written_out(k: int, h: int, population: bool) -> None:
    rng = np.random.default_rng(k * 10 + h)
    n = 40
    x = rng.integers(0, 12, n).astype(float)  # integer values: many ties
    t = (rng.random(n) < 0.4).astype(int)
    y = 2 * x + 3 * t + rng.normal(size=n)
    res = nnmatch(y, t, x[:, None], k=k, metric="ivariance", vce_nn=h, population=population)
    est, se = direct_att(y, t, x, k, h, population)
    assert res.estimate == pytest.approx(est, rel=1e-12)
    assert res.se == pytest.approx(se, rel=1e-12)


def test_exact_matching_and_errors() -> None:
    rng = np.random.default_rng(5)
    n = 80
    x = rng.normal(size=(n, 2))
    g = np.arange(n) % 2
    t = (np.arange(n) % 4 < 2).astype(int)
    y = x[:, 0] + g * 5 + t + rng.normal(size=n)
    res = nnmatch(y, t, x, exact=g, vce_nn=0, metric="euclidean")
    # ATT with exact strata = treated-weighted average of the ATTs within each stratum (a
    # fixed metric: a fitted one would differ between the full sample and a stratum).
    parts = [nnmatch(y[g == s], t[g == s], x[g == s], vce_nn=0, metric="euclidean").estimate
             for s in (0, 1)]
    counts = [int(t[g == s].sum()) for s in (0, 1)]
    assert res.estimate == pytest.approx(np.average(parts, weights=counts), rel=1e-12)
    with pytest.raises(DesignError, match="exact-matching"):
        nnmatch(y, t, x, exact=np.where(t == 1, 0, 1), vce_nn=0)
    with pytest.raises(DesignError, match="metric"):
        nnmatch(y, t, x, metric="cosine")
    with pytest.raises(DesignError, match="does not vary"):
        nnmatch(y, t, np.column_stack([x, np.ones(n)]))


@pytest.mark.parametrize(("key", "value"), [("ci_level", 1.5), ("ci_level", 0.0), ("k", 0),
                                            ("vce_nn", -1), ("distance", "propensity")])
def test_unit_spec_checks_its_options(key: str, value: object) -> None:
    """A UnitMatchSpec made directly checks its options as MatchSpec does (usage error)."""
    with pytest.raises(UsageError, match=key):
        UnitMatchSpec(data=Path("units.csv"), outcome="y", treated_col="t", match_on=("x",),
                      **{key: value})  # type: ignore[arg-type]
