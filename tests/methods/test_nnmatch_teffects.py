"""Abadie-Imbens matching against Stata 18 ``teffects nnmatch``, digit for digit.

Data: ``tests/reference/nsw_dw_simulated.csv`` (185 treated, 2,490 controls; simulated, see
``tests/reference/SOURCE.md`` for where it and the Stata output come from). Matching variables
throughout, ``$X`` = ``age education black hispanic married nodegree re74 re75``; outcome
``re78``. Each row of ``TEFFECTS`` is one Stata command, ``teffects nnmatch (re78 $X) (treat),
OPTIONS``, with Stata's ``_b[r1vs0.treat]`` and ``_se[r1vs0.treat]`` as printed (12 decimals).

What these rows pin (the rest of ``teffects``'s conventions were already pinned by the Imbens
log and Matching in ``test_nnmatch.py``):

* ``teffects`` reports the variance of the **population** ATT/ATE (``population=True``); the
  sample-ATT variance of the older ``nnmatch`` gives 1137.53, not 1165.58, for the first row;
* ``vce(robust, nn(h))`` uses the unit **and** its h nearest same-group units (``vce_nn=h``),
  and with ``ematch()`` those neighbours must share the exact-matching values too;
* the default metric is Mahalanobis on the full-sample covariance, ``euclidean`` is on the raw
  scale, ties at the k-th distance are all kept, and ``biasadj()`` regresses within each group
  weighted by how often a unit is used as a match.

Tolerance: relative 1e-10 (both sides compute in double precision on the same numbers; the
largest difference seen is 6e-13, in the bias-adjusted rows).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lpip_eval.methods.match.nnmatch import nnmatch

DATA = Path(__file__).resolve().parents[1] / "reference" / "nsw_dw_simulated.csv"
X = ["age", "education", "black", "hispanic", "married", "nodegree", "re74", "re75"]
RTOL = 1e-10

# Stata options -> (nnmatch keyword arguments, _b, _se). Column lists are resolved below.
TEFFECTS: dict[str, tuple[dict[str, Any], float, float]] = {
    "atet": ({}, 367.727172023548, 1165.576724477436),
    "(ate, the default)": ({"estimand": "ate"}, -8048.540150511234, 1145.460906301221),
    "atet biasadj($X)": ({"bias_adjust": True}, 568.373267898747, 1160.307963109378),
    "atet metric(ivariance) nn(3)": ({"metric": "ivariance", "k": 3},
                                     -359.892578304576, 1175.831351008482),
    "atet metric(euclidean)": ({"metric": "euclidean"}, 189.596500603699, 1287.388173524406),
    "atet vce(iid)": ({"vce_nn": 0}, 367.727172023548, 1610.429926881280),
    "atet vce(robust, nn(4))": ({"vce_nn": 4}, 367.727172023548, 1306.385305024590),
    "atet ematch(black) biasadj(age re74)": (
        {"exact": "black", "bias_adjust": True, "bias_vars": ["age", "re74"]},
        1968.905259373524, 1206.497325950330),
    "ate biasadj(age education re74 re75) nn(2)": (
        {"estimand": "ate", "k": 2, "bias_adjust": True,
         "bias_vars": ["age", "education", "re74", "re75"]},
        6841.535166148521, 866.319641242936),
}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(DATA)


def _fit(data: pd.DataFrame, options: dict[str, Any], **extra: Any) -> Any:
    kwargs = {**options, **extra}
    if "exact" in kwargs:
        kwargs["exact"] = data[kwargs["exact"]].to_numpy()
    if "bias_vars" in kwargs:
        kwargs["bias_vars"] = data[kwargs["bias_vars"]].to_numpy(float)
    return nnmatch(data["re78"].to_numpy(), data["treat"].to_numpy(),
                   data[X].to_numpy(float), **kwargs)


def test_fixture_is_the_generated_sample(data: pd.DataFrame) -> None:
    assert data.shape == (2675, 10)
    assert int(data["treat"].sum()) == 185
    assert not data.isna().any().any()


@pytest.mark.parametrize("stata", sorted(TEFFECTS))
def test_equals_teffects_nnmatch(data: pd.DataFrame, stata: str) -> None:
    options, b, se = TEFFECTS[stata]
    res = _fit(data, options)
    assert res.estimate == pytest.approx(b, rel=RTOL)
    assert res.se == pytest.approx(se, rel=RTOL)


def test_sample_variance_is_not_what_teffects_reports(data: pd.DataFrame) -> None:
    # The same fit with the sample-ATT variance of the older nnmatch: a different number, so
    # the population=True default is what makes the SEs agree.
    options, b, se = TEFFECTS["atet"]
    sample = _fit(data, options, population=False)
    assert sample.estimate == pytest.approx(b, rel=RTOL)
    assert abs(sample.se - se) > 10


def test_row_order_does_not_change_the_result(data: pd.DataFrame) -> None:
    shuffled = data.sample(frac=1.0, random_state=3).reset_index(drop=True)
    options, b, se = TEFFECTS["atet ematch(black) biasadj(age re74)"]
    res = _fit(shuffled, options)
    assert res.estimate == pytest.approx(b, rel=RTOL)
    assert res.se == pytest.approx(se, rel=RTOL)


def test_weights_sum_to_the_matched_sample(data: pd.DataFrame) -> None:
    # ATT: every treated unit weighs 1; the control weights K(j) sum to the number of treated
    # units (each treated unit spreads a total weight of 1 over its matches).
    res = _fit(data, TEFFECTS["atet"][0])
    t = data["treat"].to_numpy() == 1
    assert np.all(res.weights[t] == 1.0)
    assert res.weights[~t].sum() == pytest.approx(185.0, rel=1e-12)
