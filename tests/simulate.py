"""Simulated area-by-period panels with a known treatment effect, for statistical tests.

The data-generating process (all draws from one seeded ``numpy.random.Generator``):

    y_it = alpha_i + lambda_t + tau(t - s_i) * 1{t >= s_i} + e_it,
    alpha_i ~ N(0, unit_sd^2), lambda_t ~ N(0, time_sd^2), e_it ~ N(0, noise_sd^2) iid,

where ``s_i`` is area i's first treated period (never for comparison areas) and ``tau(k)``
the effect k periods after the start (a constant, or a function of k for dynamic effects).
Parallel trends hold exactly in expectation, so DiD estimators are unbiased for tau.

Periods are years ``first_year, first_year + 1, ...``; area ids are ``A01, A02, ...`` with
the treated areas first; ``first_treated`` holds the first treated year (0 = never), so a
panel is built with ``--first-treated-col first_treated`` whatever the timing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from lpip_eval.data.panel import Panel, PanelSpec, panel_from_frame

Effect = float | Callable[[np.ndarray], np.ndarray]


def simulate_panel(
    *,
    n_units: int = 40,
    n_periods: int = 12,
    n_treated: int = 10,
    start: int | Sequence[int] = 7,
    effect: Effect = 2.0,
    noise_sd: float = 1.0,
    unit_sd: float = 1.0,
    time_sd: float = 1.0,
    seed: int = 0,
    first_year: int = 2001,
) -> pd.DataFrame:
    """A long panel (area, period, y, first_treated) drawn from the process above.

    ``start`` is the position (0-based period index) of the first treated period: one int for
    a common start, or one int per treated area for staggered adoption. ``effect`` is the
    constant effect or a function of the event time array ``k >= 0`` (0 = first treated period).
    """
    rng = np.random.default_rng(seed)
    starts = np.full(n_treated, start) if np.ndim(start) == 0 else np.asarray(start)
    if len(starts) != n_treated:
        raise ValueError("give one start per treated area")
    width = len(str(n_units))
    areas = np.array([f"A{i + 1:0{width}d}" for i in range(n_units)])
    never = n_periods + 10**6  # a start position after the panel
    start_pos = np.concatenate([starts, np.full(n_units - n_treated, never)])

    unit = np.repeat(np.arange(n_units), n_periods)
    time = np.tile(np.arange(n_periods), n_units)
    alpha = rng.normal(0.0, unit_sd, n_units)
    lam = rng.normal(0.0, time_sd, n_periods)
    noise = rng.normal(0.0, noise_sd, n_units * n_periods)
    event_time = time - start_pos[unit]
    treated_now = event_time >= 0
    tau = np.zeros(len(unit))
    if callable(effect):
        tau[treated_now] = effect(event_time[treated_now])
    else:
        tau[treated_now] = effect
    first_treated = np.where(start_pos[unit] < never, first_year + start_pos[unit], 0)
    return pd.DataFrame({
        "area": areas[unit],
        "period": first_year + time,
        "y": alpha[unit] + lam[time] + tau + noise,
        "first_treated": first_treated.astype(np.int64),
    })


def true_effects(frame: pd.DataFrame, effect: Effect) -> np.ndarray:
    """The true effect in each treated area-period row of ``frame`` (used for the ATT)."""
    treated = (frame["first_treated"] > 0) & (frame["period"] >= frame["first_treated"])
    k = (frame["period"] - frame["first_treated"])[treated].to_numpy()
    return effect(k) if callable(effect) else np.full(len(k), float(effect))


def to_panel(frame: pd.DataFrame, *, outcome: str = "y", area_col: str = "area",
             weights_col: str | None = None) -> Panel:
    """The validated Panel of a simulated frame (treatment timing from ``first_treated``)."""
    spec = PanelSpec(data=Path("simulated.csv"), area_col=area_col, outcome=outcome,
                     first_treated_col="first_treated", weights_col=weights_col)
    return panel_from_frame(frame, spec, source="simulated")
