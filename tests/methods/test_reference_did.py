"""Difference-in-differences estimates reproduce published results and established packages.

Data (``tests/reference/``, sources and SHA-256 in ``SOURCE.md``):

* Card & Krueger (1994), New Jersey / Pennsylvania fast-food FTE employment, as converted by
  ``tests/reference/make_card_krueger.py``;
* ``mpdta`` (Callaway & Sant'Anna 2021; R package ``did``): log teen employment in 500 US
  counties, 2003-2007, staggered minimum-wage rises.

Every reference number carries its source (paper and table, or package, version and the
exact call) and its tolerance. pyfixest numbers were computed with pyfixest 0.60.0; fixest
(R) gives the same numbers for these calls. The event-study checks call pyfixest at test time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from lpip_eval.cli.commands import app
from lpip_eval.data.panel import Panel, PanelSpec, load_panel
from lpip_eval.methods.did import DidSpec, estimate_did
from lpip_eval.results.result import EffectResult

REF = Path(__file__).resolve().parents[1] / "reference"
MPDTA = REF / "mpdta.csv"
CK_CSV = REF / "card_krueger_fte.csv"

# SHA-256 of the reference files, as recorded in tests/reference/SOURCE.md.
SHA256 = {
    "mpdta.csv": "2283bea1221a152420f98dfa20f633c5d054ea51d881115c8cd702a97bcd3167",
    "card_krueger_public.dat": "04bde0cad5540980f32ce099c6dad369e2f05494698071d8a65b3e1cbe9ca53a",
    "card_krueger_codebook.txt":
        "1d801d7bdfa77ad2138d79ead54eef830913a2bdf4861a50ee013b3474e4b52f",
    "card_krueger_fte.csv": "56fad581dc0d4f845ea6973375edcfeb39a56302e4723021efedeb84b9dbd39d",
}


def _load_converter() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_card_krueger",
                                                  REF / "make_card_krueger.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- reference files


@pytest.mark.parametrize("name", sorted(SHA256))
def test_reference_file_checksums(name: str) -> None:
    """The fixtures are the files SOURCE.md describes (and SOURCE.md lists each checksum)."""
    digest = hashlib.sha256((REF / name).read_bytes()).hexdigest()
    assert digest == SHA256[name]
    assert digest in (REF / "SOURCE.md").read_text(encoding="utf-8")


def test_card_krueger_csv_is_reproducible() -> None:
    """card_krueger_fte.csv is exactly what make_card_krueger.py makes from public.dat."""
    converter = _load_converter()
    assert converter.render(converter.convert()) == CK_CSV.read_text(encoding="ascii")


@pytest.fixture(scope="module")
def ck() -> pd.DataFrame:
    return pd.read_csv(CK_CSV)


def test_card_krueger_codebook_counts(ck: pd.DataFrame) -> None:
    """Store and interview-status counts match card_krueger_codebook.txt."""
    stores = ck.drop_duplicates("store")
    assert len(stores) == 410  # codebook: "there are 410 observations in the data set"
    # codebook, "Second Interview Status": 0 refused (1), 1 answered (399), 2 renovations (2),
    # 3 closed permanently (6), 4 highway construction (1), 5 mall fire (1)
    assert stores["status2"].value_counts().sort_index().to_dict() == {
        0: 1, 1: 399, 2: 2, 3: 6, 4: 1, 5: 1}
    balanced = stores[stores["balanced"] == 1]
    # Stores with FTE in both waves (Table 3, row 4 sample); permanently closed stores are in
    # it with FTE 0 in wave 2, temporarily closed ones (status 2, 4, 5) are not.
    assert balanced["state"].value_counts().to_dict() == {"NJ": 309, "PA": 75}
    closed = ck[(ck["status2"] == 3) & (ck["wave"] == 1)]
    assert (closed["fte"] == 0).all() and (closed["balanced"] == 1).all()
    temporary = ck[ck["status2"].isin([2, 4, 5]) & (ck["wave"] == 1)]
    assert temporary["fte"].isna().all() and (temporary["balanced"] == 0).all()


def test_card_krueger_table3_means(ck: pd.DataFrame) -> None:
    """Group means of FTE employment, Card & Krueger (1994) Table 3 (rounded to 2 dp).

    Tolerance 0.005 (the table's rounding). Rows 1-2 use all available observations.
    """
    means = ck.groupby(["state", "wave"])["fte"].mean()
    # Table 3 row 1 (FTE employment before, all available observations): PA 23.33, NJ 20.44
    assert means[("PA", 0)] == pytest.approx(23.33, abs=0.005)
    assert means[("NJ", 0)] == pytest.approx(20.44, abs=0.005)
    # Table 3 row 2 (FTE employment after, all available observations): PA 21.17, NJ 21.03
    assert means[("PA", 1)] == pytest.approx(21.17, abs=0.005)
    assert means[("NJ", 1)] == pytest.approx(21.03, abs=0.005)
    # Table 3 row 4 (change in mean FTE employment, balanced sample of stores):
    # PA -2.28 (1.25), NJ 0.47 (0.48), NJ-PA 2.75 (1.34)
    _check_changes(ck[ck["balanced"] == 1], pa=(-2.28, 1.25), nj=(0.47, 0.48),
                   diff=(2.75, 1.34))
    # Table 3 row 5 (temporarily closed stores' wave-2 FTE set to 0):
    # PA -2.28 (1.25), NJ 0.23 (0.49), NJ-PA 2.51 (1.35)
    row5 = ck.copy()
    row5.loc[row5["status2"].isin([2, 4, 5]) & (row5["wave"] == 1), "fte"] = 0.0
    _check_changes(row5, pa=(-2.28, 1.25), nj=(0.23, 0.49), diff=(2.51, 1.35))


def _check_changes(frame: pd.DataFrame, *, pa: tuple[float, float], nj: tuple[float, float],
                   diff: tuple[float, float]) -> None:
    """Mean change per state over stores with FTE in both waves, and the SEs of Table 3.

    The table's SEs are sd/sqrt(n) per state and sqrt(se_NJ^2 + se_PA^2) for the
    difference (unequal-variance two-sample SE); tolerance 0.005 (rounding).
    """
    wide = frame.pivot(index="store", columns="wave", values="fte").dropna()
    state = frame.drop_duplicates("store").set_index("store")["state"].loc[wide.index]
    change = (wide[1] - wide[0]).groupby(state)
    mean, se = change.mean(), change.std() / np.sqrt(change.count())
    for name, (ref_mean, ref_se) in (("PA", pa), ("NJ", nj)):
        assert mean[name] == pytest.approx(ref_mean, abs=0.005), name
        assert se[name] == pytest.approx(ref_se, abs=0.005), name
    assert mean["NJ"] - mean["PA"] == pytest.approx(diff[0], abs=0.005)
    assert np.hypot(se["NJ"], se["PA"]) == pytest.approx(diff[1], abs=0.005)


# --------------------------------------------------------------------------- Card & Krueger


def _ck_panel(frame: pd.DataFrame, tmp_path: Path) -> Panel:
    path = tmp_path / "card_krueger_sample.csv"
    frame.to_csv(path, index=False)
    return load_panel(PanelSpec(data=path, area_col="store", period_col="period",
                                outcome="fte", treated_col="nj", start="1992-11"))


@pytest.fixture()
def ck_balanced(ck: pd.DataFrame, tmp_path: Path) -> Panel:
    return _ck_panel(ck[ck["balanced"] == 1], tmp_path)


def test_card_krueger_balanced_panel(ck_balanced: Panel) -> None:
    assert ck_balanced.n_units == 384 and ck_balanced.is_balanced
    assert ck_balanced.frequency == "month"
    assert ck_balanced.period_labels == ("1992-02", "1992-11")
    assert len(ck_balanced.treated_units) == 309


def test_card_krueger_2x2(ck_balanced: Panel) -> None:
    """2x2 DiD on FTE, balanced sample (Card & Krueger 1994, Table 3 row 4: 2.75, SE 1.34)."""
    result = estimate_did(ck_balanced, DidSpec(design="2x2", inference="cluster"))
    est = result.estimate
    # CK1994 Table 3 row 4, column (iii) "Difference, NJ-PA": 2.75; tolerance 0.01.
    assert est.att == pytest.approx(2.75, abs=0.01)
    # pyfixest 0.60.0, on the balanced long data with post = wave:
    #   pf.feols("fte ~ nj*post", data=balanced, vcov={"CRV1": "store"})
    #   -> coef nj:post 2.7500000000000, se 1.338598215076943
    # tolerance 1e-10 (coef), 1e-6 (SE)
    assert est.att == pytest.approx(2.75, abs=1e-10)
    assert est.se == pytest.approx(1.338598215076943, abs=1e-6)
    # The fixest CR1 number 1.3377 (the two-way FE form, see the twfe test) is within
    # 1e-3 of the pooled 2x2 SE: the two differ only in K of the (N-1)/(N-K) factor.
    assert est.se == pytest.approx(1.3377, abs=1e-3)
    # The paper's SE (1.34) is the unequal-variance two-sample SE of the difference in mean
    # changes (reproduced in test_card_krueger_table3_means); CR1 by store (1.3386) agrees to
    # the two decimals printed.
    assert est.se == pytest.approx(1.34, abs=0.005)
    assert est.inference.method == "cluster"
    assert est.inference.details["df"] == 383  # G - 1 with G = 384 stores
    assert result.diagnostics["collapsed_rows"] == 768


def test_card_krueger_twfe(ck_balanced: Panel) -> None:
    """Store and wave fixed effects: same 2.75; CR1 SE as fixest with nested store FE."""
    est = estimate_did(ck_balanced, DidSpec(design="twfe", inference="cluster")).estimate
    # CK1994 Table 3 row 4: 2.75 (tolerance 0.01); exact value 2.75 (tolerance 1e-10).
    assert est.att == pytest.approx(2.75, abs=1e-10)
    # pyfixest 0.60.0 (fixest gives the same, the "1.3377"):
    #   balanced["treat_post"] = balanced.nj * balanced.wave
    #   pf.feols("fte ~ treat_post | store + wave", data=balanced, vcov={"CRV1": "store"})
    #   -> coef 2.75, se 1.3377230281804695; tolerance 1e-6
    assert est.se == pytest.approx(1.3377230281804695, abs=1e-6)
    assert est.se == pytest.approx(1.3377, abs=1e-4)


def test_card_krueger_auto_inference_is_cluster(ck_balanced: Panel) -> None:
    """309 treated stores of 384: the auto policy keeps CR1 (inference.choose_inference)."""
    est = estimate_did(ck_balanced, DidSpec(design="2x2")).estimate
    assert est.inference.method == "cluster"
    assert est.att == pytest.approx(2.75, abs=1e-10)


def test_card_krueger_temporarily_closed_as_zero(ck: pd.DataFrame, tmp_path: Path) -> None:
    """Table 3 row 5: temporarily closed stores' wave-2 FTE set to 0 -> NJ-PA 2.51.

    Card & Krueger (1994) Table 3 row 5; tolerance 0.005 (rounding of the table). The paper's
    SE (1.35) is the two-sample SE checked in test_card_krueger_table3_means; the CR1 SE is
    checked against pyfixest instead.
    """
    frame = ck.copy()
    closed = frame["status2"].isin([2, 4, 5]) & (frame["wave"] == 1)
    frame.loc[closed, "fte"] = 0.0
    complete = frame.groupby("store")["fte"].transform(lambda s: s.notna().all())
    panel = _ck_panel(frame[complete], tmp_path)
    assert panel.n_units == 388
    est = estimate_did(panel, DidSpec(design="2x2", inference="cluster")).estimate
    assert est.att == pytest.approx(2.51, abs=0.005)
    # pyfixest 0.60.0 on this 388-store sample (post = wave):
    #   pf.feols("fte ~ nj*post", data=row5, vcov={"CRV1": "store"})
    #   -> coef 2.5092119275826046, se 1.3422481846156227; tolerance 1e-6
    assert est.att == pytest.approx(2.5092119275826046, abs=1e-6)
    assert est.se == pytest.approx(1.3422481846156227, abs=1e-6)


# --------------------------------------------------------------------------- mpdta


def _mpdta_panel() -> Panel:
    return load_panel(PanelSpec(data=MPDTA, area_col="countyreal", period_col="year",
                                outcome="lemp", first_treated_col="first.treat"))


@pytest.fixture(scope="module")
def mpdta_panel() -> Panel:
    return _mpdta_panel()


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(MPDTA)


# pyfixest 0.60.0 on mpdta.csv with D = 1{first.treat > 0 and year >= first.treat}:
#   pf.feols("lemp ~ D | countyreal + year", data=mpdta, vcov={"CRV1": "countyreal"})
#   -> coef -0.03654893667406696, se 0.013265155429338888
# (fixest, R: feols(lemp ~ D | countyreal + year, mpdta, cluster = ~countyreal) gives the
# issue's -0.036549 (0.013265)). Tolerance 1e-6 on both.
MPDTA_TWFE_COEF = -0.03654893667406696
MPDTA_TWFE_SE = 0.013265155429338888


def test_mpdta_twfe(mpdta_panel: Panel) -> None:
    assert mpdta_panel.n_units == 500 and mpdta_panel.is_balanced
    est = estimate_did(mpdta_panel, DidSpec(design="twfe", inference="cluster")).estimate
    assert est.att == pytest.approx(MPDTA_TWFE_COEF, abs=1e-6)
    assert est.se == pytest.approx(MPDTA_TWFE_SE, abs=1e-6)
    assert est.att == pytest.approx(-0.036549, abs=1e-6)  # the fixest number
    assert est.se == pytest.approx(0.013265, abs=1e-6)
    # t(G-1) p-value from the same SE (fixest convention, G = 500 counties)
    p = 2 * stats.t.sf(abs(MPDTA_TWFE_COEF / MPDTA_TWFE_SE), 499)
    assert est.p_value == pytest.approx(p, rel=1e-6)


def test_mpdta_twfe_cli() -> None:
    """The same numbers through the command line and its JSON."""
    runner = CliRunner()
    out = runner.invoke(app, [
        "did", str(MPDTA), "--area-col", "countyreal", "--period-col", "year",
        "--outcome", "lemp", "--first-treated-col", "first.treat", "--design", "twfe",
        "--inference", "cluster", "--json", "-",
    ])
    assert out.exit_code == 0, out.output
    body = json.loads(out.stdout)
    assert body["estimate"]["att"] == pytest.approx(MPDTA_TWFE_COEF, abs=1e-6)
    assert body["estimate"]["se"] == pytest.approx(MPDTA_TWFE_SE, abs=1e-6)
    assert body["estimate"]["inference"]["method"] == "cluster"


def _pyfixest_event_study(frame: pd.DataFrame) -> Any:
    """pyfixest event study with never-treated in the reference category (no dummies)."""
    import pyfixest as pf

    data = frame.copy()
    treated = data["first.treat"] > 0
    # never-treated counties are coded -1 = the reference, so they get no dummies
    data["rel"] = np.where(treated, data["year"] - data["first.treat"], -1)
    return pf.feols("lemp ~ i(rel, ref=-1) | countyreal + year", data=data,
                    vcov={"CRV1": "countyreal"})


@pytest.fixture(scope="module")
def mpdta_event_study(mpdta_panel: Panel) -> EffectResult:
    return estimate_did(mpdta_panel, DidSpec(design="event-study", inference="cluster"))


@pytest.fixture(scope="module")
def pyfixest_event_study(mpdta: pd.DataFrame) -> Any:
    return _pyfixest_event_study(mpdta)


def _event_time(name: str) -> int:
    """pyfixest names i() dummies 'rel::-4'; return -4."""
    return int(name.split("::")[1])


def test_mpdta_event_study_vs_pyfixest(mpdta_event_study: EffectResult,
                                       pyfixest_event_study: Any) -> None:
    """Relative-time coefficients and CR1 SEs equal pyfixest's, tolerance 1e-6.

    pyfixest 0.60.0 call: ``pf.feols("lemp ~ i(rel, ref=-1) | countyreal + year",
    vcov={"CRV1": "countyreal"})`` with rel = year - first.treat for treated counties and
    -1 (the reference) for never-treated ones.
    """
    fit = pyfixest_event_study
    coefs = {_event_time(k): v for k, v in fit.coef().items()}
    ses = {_event_time(k): v for k, v in fit.se().items()}
    assert sorted(coefs) == [-4, -3, -2, 0, 1, 2, 3]
    effects = {e.event_time: e for e in mpdta_event_study.effects_by_period}
    assert sorted(effects) == [-4, -3, -2, -1, 0, 1, 2, 3]
    assert effects[-1].att == 0.0
    for k, coef in coefs.items():
        assert effects[k].att == pytest.approx(coef, abs=1e-6), k
        assert effects[k].se == pytest.approx(ses[k], abs=1e-6), k
    # Spot values (pyfixest 0.60.0, same call), so a pyfixest change cannot move the target:
    assert effects[2].att == pytest.approx(-0.13179485775431815, abs=1e-6)
    assert effects[2].se == pytest.approx(0.028837407390067668, abs=1e-6)
    assert effects[-4].att == pytest.approx(0.0035493269194323755, abs=1e-6)
    assert effects[-4].se == pytest.approx(0.022828581446277193, abs=1e-6)


def test_mpdta_event_study_headline(mpdta_event_study: EffectResult,
                                    pyfixest_event_study: Any) -> None:
    """Headline = mean of the post-period coefficients; SE from pyfixest's vcov, tol 1e-6."""
    fit = pyfixest_event_study
    names = list(fit.coef().index)
    contrast = np.array([1.0 if _event_time(n) >= 0 else 0.0 for n in names])
    contrast /= contrast.sum()
    att = float(contrast @ fit.coef().to_numpy())
    se = float(np.sqrt(contrast @ fit._vcov @ contrast))
    est = mpdta_event_study.estimate
    assert est.att == pytest.approx(att, abs=1e-6)
    assert est.se == pytest.approx(se, abs=1e-6)


def test_mpdta_pretrend_wald_vs_pyfixest(mpdta_event_study: EffectResult,
                                         pyfixest_event_study: Any) -> None:
    """Joint test of the leads (-4, -3, -2) = 0: F statistic and p-value, tolerance 1e-6.

    pyfixest 0.60.0: ``fit.wald_test(R=R, distribution="chi2")`` with R selecting the three
    leads. For an R that is not the identity pyfixest reports the chi2 form, but it stores the
    Wald statistic W (``fit._wald_statistic``) and the denominator df G-1 (``fit._dfd``);
    the F test is F = W / 3 on (3, G-1) degrees of freedom, the convention of lpip_eval (and of
    ``fixest::wald``).
    """
    fit = pyfixest_event_study
    names = list(fit.coef().index)
    leads = [j for j, n in enumerate(names) if _event_time(n) < -1]
    restriction = np.zeros((len(leads), len(names)))
    restriction[np.arange(len(leads)), leads] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chi2 = fit.wald_test(R=restriction, distribution="chi2")
    wald = float(fit._wald_statistic)
    assert float(chi2["statistic"]) == pytest.approx(wald)
    dfd = int(fit._dfd)
    assert dfd == 499
    f_stat = wald / len(leads)
    p_value = float(stats.f.sf(f_stat, len(leads), dfd))
    test = mpdta_event_study.diagnostics["pretrend_test"]
    assert test["leads"] == 3
    assert test["df"] == [3, 499]
    assert test["statistic"] == pytest.approx(f_stat, abs=1e-6)
    assert test["p_value"] == pytest.approx(p_value, abs=1e-6)
    # values (pyfixest 0.60.0, same call): F = 1.6315656114882653, p = 0.18112710253433134
    assert test["statistic"] == pytest.approx(1.6315656114882653, abs=1e-6)
    assert test["p_value"] == pytest.approx(0.18112710253433134, abs=1e-6)
    assert test["rejected_at_5pct"] is False
