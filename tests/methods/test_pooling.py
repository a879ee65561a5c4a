"""Meta-analysis against metafor: dat.bcg (issue 16's targets) and statsmodels' stored
metafor outputs; the homogeneous case; few results.

Sources beside each number: "metafor" = the values issue 16 quotes from metafor's tests and
printed output for ``dat.bcg`` (Viechtbauer 2010, J. Stat. Softw. 36(3), section 3 and
metafor's ``tests/testthat/test_analysis_example_*``); "results_meta" = statsmodels'
``stats/tests/results/results_meta.py`` (metafor 2.x run by statsmodels' authors).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lpip_eval.methods.pooling import pool, se_from_interval

BCG = Path(__file__).resolve().parent.parent / "reference" / "bcg_trials.csv"
BCG_SHA256 = "b64aed2503ca6ccc83fa7ea3288889704fc1cf47c7ec2470b9d0cf427a599a52"
TOL = 1e-4  # on the digits metafor prints


def bcg() -> tuple[np.ndarray, np.ndarray]:
    """Log risk ratios and their standard errors (metafor ``escalc(measure="RR")``)."""
    assert hashlib.sha256(BCG.read_bytes()).hexdigest() == BCG_SHA256
    d = pd.read_csv(BCG)
    t, c = d["tpos"] + d["tneg"], d["cpos"] + d["cneg"]
    yi = np.log((d["tpos"] / t) / (d["cpos"] / c)).to_numpy()
    vi = (1 / d["tpos"] - 1 / t + 1 / d["cpos"] - 1 / c).to_numpy()
    return yi, np.sqrt(vi)


def test_bcg_dersimonian_laird() -> None:
    p = pool(*bcg(), pooling="dl")
    assert p.q == pytest.approx(152.2330, abs=TOL)  # metafor Q(df = 12)
    assert p.q_df == 12
    assert p.tau2 == pytest.approx(0.3088, abs=TOL)  # metafor
    assert p.estimate == pytest.approx(-0.7141, abs=TOL)  # metafor
    assert p.ci_low == pytest.approx(-1.0644, abs=TOL)  # metafor
    assert p.ci_high == pytest.approx(-0.3638, abs=TOL)  # metafor
    assert p.i2 == pytest.approx(92.1173, abs=1e-2)  # metafor
    assert p.h2 == pytest.approx(12.6861, abs=TOL)  # metafor
    for value, want in ((p.estimate, 0.4896), (p.ci_low, 0.3449), (p.ci_high, 0.6950)):
        assert math.exp(value) == pytest.approx(want, abs=TOL)  # metafor predict(transf=exp)


def test_bcg_reml() -> None:
    p = pool(*bcg(), pooling="reml")
    assert p.tau2 == pytest.approx(0.3132, abs=TOL)  # metafor
    assert p.estimate == pytest.approx(-0.7145, abs=TOL)  # metafor
    assert p.se == pytest.approx(0.1798, abs=TOL)  # metafor
    assert p.ci_low == pytest.approx(-1.0669, abs=TOL)  # metafor
    assert p.ci_high == pytest.approx(-0.3622, abs=TOL)  # metafor
    assert p.i2 == pytest.approx(92.2214, abs=1e-2)  # metafor (92.22 printed)


def test_bcg_paule_mandel_and_fixed() -> None:
    assert pool(*bcg(), pooling="pm").tau2 == pytest.approx(0.3181, abs=TOL)  # metafor
    fixed = pool(*bcg(), pooling="fixed")
    assert fixed.tau2 == 0.0
    assert fixed.estimate == pytest.approx(-0.4303, abs=TOL)  # metafor
    assert (fixed.ci_low, fixed.ci_high) == pytest.approx((-0.5097, -0.3509), abs=TOL)
    assert fixed.pred_low is None and fixed.pred_high is None


def _results_meta():  # type: ignore[no-untyped-def]
    import importlib  # statsmodels ships its metafor references with the package

    return importlib.import_module("statsmodels.stats.tests.results.results_meta")


def test_kacker_paule_mandel_results_meta() -> None:
    r = _results_meta().exk1_metafor  # rma(method="PM")
    p = pool(r.yi, np.sqrt(r.vi), pooling="pm")
    assert p.tau2 == pytest.approx(r.tau2, abs=1e-5)  # results_meta (statsmodels' PM tol.)
    assert p.estimate == pytest.approx(r.b, abs=1e-5)
    assert p.se == pytest.approx(r.se, abs=1e-5)
    assert (p.ci_low, p.ci_high) == pytest.approx((r.ci_lb, r.ci_ub), abs=1e-5)
    assert p.q == pytest.approx(r.QE, abs=1e-8)
    assert p.q_p == pytest.approx(r.QEp, abs=1e-10)
    assert p.i2 == pytest.approx(r.I2, abs=1e-3)
    assert p.h2 == pytest.approx(r.H2, abs=1e-4)


@pytest.mark.parametrize("name,knha", [("exk1_dl", False), ("exk1_dl_hksj", True)])
def test_kacker_dl_and_hartung_knapp_results_meta(name: str, knha: bool) -> None:
    meta = _results_meta()
    r, data = getattr(meta, name), meta.exk1_metafor
    p = pool(data.yi, np.sqrt(data.vi), pooling="dl", hartung_knapp=knha)
    assert p.tau2 == pytest.approx(r.tau2, abs=1e-10)  # results_meta
    assert p.estimate == pytest.approx(r.b, abs=1e-10)
    assert p.se == pytest.approx(r.se, abs=1e-10)
    assert (p.ci_low, p.ci_high) == pytest.approx((r.ci_lb, r.ci_ub), abs=1e-9)
    assert p.i2 == pytest.approx(r.I2, abs=1e-8)
    assert p.h2 == pytest.approx(r.H2, abs=1e-8)


def test_fixed_effect_hartung_knapp_results_meta() -> None:
    meta = _results_meta()
    r, data = meta.exk1_fe_hksj, meta.exk1_metafor
    p = pool(data.yi, np.sqrt(data.vi), pooling="fixed", hartung_knapp=True)
    assert p.se == pytest.approx(r.se, abs=1e-10)  # results_meta rma(method="FE", knha)
    assert (p.ci_low, p.ci_high) == pytest.approx((r.ci_lb, r.ci_ub), abs=1e-9)
    assert p.i2 == pytest.approx(r.I2, abs=1e-8)  # FE: I² from Q, as metafor
    assert p.h2 == pytest.approx(r.H2, abs=1e-8)


def test_prediction_interval_formula() -> None:
    """metafor predict.rma: mu ± z sqrt(SE² + tau²); t(k-1) under Hartung-Knapp."""
    from scipy import stats

    y, se = bcg()
    p = pool(y, se, pooling="reml")
    half = stats.norm.ppf(0.975) * math.sqrt(p.se**2 + p.tau2)
    assert (p.pred_low, p.pred_high) == pytest.approx((p.estimate - half, p.estimate + half))
    # regression value (computed by this code; no source at hand prints it)
    assert (p.pred_low, p.pred_high) == pytest.approx((-1.8667, 0.4376), abs=TOL)
    hk = pool(y, se, pooling="reml", hartung_knapp=True)
    half = stats.t.ppf(0.975, 12) * math.sqrt(hk.se**2 + hk.tau2)
    assert hk.pred_low == pytest.approx(hk.estimate - half)


@pytest.mark.parametrize("pooling", ["reml", "dl", "pm"])
def test_homogeneous_tau2_exactly_zero(pooling: str) -> None:
    """Q < k - 1: tau² is 0 exactly (statsmodels' DL gives -0.013 and a NaN SE here)."""
    y = [1.0, 1.01, 0.99, 1.0, 1.02, 0.98]
    se = [0.3, 0.3, 0.4, 0.5, 0.35, 0.45]
    p = pool(y, se, pooling=pooling)
    assert p.tau2 == 0.0
    assert p.i2 == 0.0 and p.h2 == 1.0
    fixed = pool(y, se, pooling="fixed")
    assert p.estimate == pytest.approx(fixed.estimate, abs=1e-15)
    assert math.isfinite(p.se) and p.se == pytest.approx(fixed.se)


def test_few_results_warn_and_one_is_refused() -> None:
    p = pool([1.0, 2.0, 1.5], [0.2, 0.3, 0.25])
    assert any("cannot be estimated well" in w for w in p.warnings)
    assert not pool(*bcg()).warnings
    with pytest.raises(ValueError, match="at least two"):
        pool([1.0], [0.2])
    with pytest.raises(ValueError, match="positive"):
        pool([1.0, 2.0], [0.2, 0.0])


def test_se_from_interval() -> None:
    assert se_from_interval(-1.96, 1.96, 0.95) == pytest.approx(1.0, abs=1e-3)
    assert se_from_interval(0.0, 2 * 1.6448536, 0.90) == pytest.approx(1.0, abs=1e-6)
