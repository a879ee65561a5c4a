"""The 2x2 DiD estimators on panel data, with their influence functions.

For the outcome change ``dy`` of treated (``d = 1``) and comparison areas, covariates ``x``
(first column the intercept) and weights ``w`` (mean 1): ``reg`` is outcome regression
(Heckman, Ichimura & Todd 1997), ``ipw`` the normalised inverse-probability weighting of
Abadie (2005), ``dr`` the locally efficient doubly robust estimator of Sant'Anna & Zhao
(2020). The influence functions are those of R ``DRDID`` (``reg_did_panel``,
``std_ipw_did_panel``, ``drdid_panel``), so that ATT - att ~ mean(influence); the
propensity score is a logit, capped at 1 - 1e-6, and comparison areas with a score above
0.995 get no weight (DRDID's trimming).
"""

from __future__ import annotations

import numpy as np

from lpip_eval.errors import DesignError

TRIM = 0.995


def two_by_two(dy: np.ndarray, d: np.ndarray, x: np.ndarray, w: np.ndarray,
               estimation: str) -> tuple[float, np.ndarray]:
    """(ATT, influence function per area) of ``estimation`` ("dr", "ipw" or "reg")."""
    w = w / w.mean()
    n = len(dy)
    if estimation == "reg":
        return _reg(dy, d, x, w, n)
    ps, hessian = _logit(x, d, w)
    trim = np.where(d == 1, True, ps < TRIM)
    score = (w * (d - ps))[:, None] * x
    lin_ps = score @ hessian  # asymptotic linear representation of the logit
    w_treat = trim * w * d
    w_cont = trim * w * ps * (1 - d) / (1 - ps)
    if estimation == "ipw":
        eta_t = np.mean(w_treat * dy) / np.mean(w_treat)
        eta_c = np.mean(w_cont * dy) / np.mean(w_cont)
        inf_t = (w_treat * dy - w_treat * eta_t) / np.mean(w_treat)
        m2 = np.mean((w_cont * (dy - eta_c))[:, None] * x, axis=0)
        inf_c = (w_cont * dy - w_cont * eta_c + lin_ps @ m2) / np.mean(w_cont)
        return float(eta_t - eta_c), inf_t - inf_c
    beta, lin_ols = _ols(dy, d, x, w, n)
    resid = dy - x @ beta
    eta_t = np.mean(w_treat * resid) / np.mean(w_treat)
    eta_c = np.mean(w_cont * resid) / np.mean(w_cont)
    m1 = np.mean(w_treat[:, None] * x, axis=0)
    inf_t = (w_treat * resid - w_treat * eta_t - lin_ols @ m1) / np.mean(w_treat)
    m2 = np.mean((w_cont * (resid - eta_c))[:, None] * x, axis=0)
    m3 = np.mean(w_cont[:, None] * x, axis=0)
    inf_c = (w_cont * resid - w_cont * eta_c + lin_ps @ m2 - lin_ols @ m3) / np.mean(w_cont)
    return float(eta_t - eta_c), inf_t - inf_c


def _reg(dy: np.ndarray, d: np.ndarray, x: np.ndarray, w: np.ndarray,
         n: int) -> tuple[float, np.ndarray]:
    beta, lin_ols = _ols(dy, d, x, w, n)
    fitted = x @ beta
    w_t = w * d
    eta_t = np.mean(w_t * dy) / np.mean(w_t)
    eta_c = np.mean(w_t * fitted) / np.mean(w_t)
    inf_t = (w_t * dy - w_t * eta_t) / np.mean(w_t)
    m1 = np.mean(w_t[:, None] * x, axis=0)
    inf_c = (w_t * fitted - w_t * eta_c + lin_ols @ m1) / np.mean(w_t)
    return float(eta_t - eta_c), inf_t - inf_c


def _ols(dy: np.ndarray, d: np.ndarray, x: np.ndarray, w: np.ndarray,
         n: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares of ``dy`` on ``x`` among comparison areas, and its asymptotic
    linear representation (n x k)."""
    wc = w * (1 - d)
    xtx = (x * wc[:, None]).T @ x
    try:
        beta = np.linalg.solve(xtx, (x * wc[:, None]).T @ dy)
        inv = np.linalg.inv(xtx / n)
    except np.linalg.LinAlgError:
        raise DesignError("the outcome regression on the covariates is singular among the "
                          "comparison areas",
                          hint="leave out covariates that are constant or collinear") from None
    resid = dy - x @ beta
    return beta, ((wc * resid)[:, None] * x) @ inv


def _logit(x: np.ndarray, d: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fitted propensity scores (capped at 1 - 1e-6) and n times the logit's covariance."""
    n = len(d)
    if x.shape[1] == 1:  # intercept only: the weighted share treated, no iterations
        p = float(np.sum(w * d) / np.sum(w))
        ps = np.full(n, min(p, 1 - 1e-6))
        return ps, np.array([[n / np.sum(w * p * (1 - p))]])
    beta = np.zeros(x.shape[1])
    for _ in range(100):
        eta = np.clip(x @ beta, -700, 700)
        ps = 1 / (1 + np.exp(-eta))
        info = (x * (w * ps * (1 - ps))[:, None]).T @ x
        try:
            step = np.linalg.solve(info, x.T @ (w * (d - ps)))
        except np.linalg.LinAlgError:
            raise DesignError("the propensity-score logit on the covariates is singular",
                              hint="leave out covariates that are constant or collinear, "
                              "or use --estimation reg") from None
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10 * (1 + np.max(np.abs(beta))):
            break
    ps = np.minimum(1 / (1 + np.exp(-np.clip(x @ beta, -700, 700))), 1 - 1e-6)
    info = (x * (w * ps * (1 - ps))[:, None]).T @ x
    return ps, np.linalg.inv(info) * n
