"""Placebo inference for synthetic control (see ``classic.py`` for the conventions).

:class:`Paths` aligns the pilot areas' gaps by event time and averages them; the statistic
is the post- over pre-period RMSPE of that average (ADH 2010). :func:`inference` builds the
placebo reference distribution, the rank p-value and the interval that inverts the test
under a constant additive effect (Firpo & Possebom 2018).

Numerical soundness (issue 12): the ratio divides by the pre-period RMSPE, which is zero up to
rounding when a fit is exact (few pre-periods, many donors). Below ``RMSPE_FLOOR`` times the
outcome's SD across areas and pre-periods the ratio is undefined, so if the pilot or any placebo
falls below it the whole test ranks the post-period RMSPE instead (and says so); ties count
against the pilot. A range wider than ``RANGE_LIMIT`` times the outcome's spread is not on the
outcome's scale: it is reported as no range (null ends with the reason), never as a number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lpip_eval.methods.synth.fit import UnitFit, missing_allowed
from lpip_eval.numbers import fmt_p
from lpip_eval.results.result import Estimate, InferenceInfo

if TYPE_CHECKING:
    from lpip_eval.methods.synth.classic import SynthSpec

RMSPE_FLOOR = 1e-6  # pre-period RMSPE below this x the outcome's SD: an exact fit
NEAR_EXACT = 1e-3  # below this x the outcome's SD: a near-exact fit (overfitting)
RANGE_LIMIT = 10.0  # a half-width above this x the outcome's SD is not on its scale
RATIO = "post/pre-period RMSPE ratio"
POST = "post-period RMSPE"


@dataclass(frozen=True)
class Paths:
    """Gaps aligned by event time (rows: fits; columns: event times ``offset`` before ...)."""

    gaps: np.ndarray
    offset: int

    @classmethod
    def of(cls, fits: list[UnitFit], start_of: dict[int, int], n_periods: int
           ) -> Paths:
        starts = [start_of[f.target] for f in fits]
        offset = max(starts)
        width = offset + n_periods - min(starts)
        gaps = np.full((len(fits), width), np.nan)
        for i, (f, s) in enumerate(zip(fits, starts, strict=True)):
            gaps[i, offset - s:offset - s + n_periods] = f.gaps
        return cls(gaps, offset)

    @property
    def mean(self) -> np.ndarray:
        with missing_allowed():
            return np.asarray(np.nanmean(self.gaps, axis=0))

    @property
    def pre(self) -> np.ndarray:
        m = self.mean[:self.offset]
        return m[np.isfinite(m)]

    @property
    def post(self) -> np.ndarray:
        m = self.mean[self.offset:]
        return m[np.isfinite(m)]

    @property
    def ratio(self) -> float:
        pre = float(np.mean(self.pre ** 2))
        return math.sqrt(float(np.mean(self.post ** 2)) / pre) if pre > 0 else math.inf

    @property
    def pre_rmspe(self) -> float:
        return math.sqrt(float(np.mean(self.pre ** 2)))

    def statistic(self, kind: str) -> float:
        """The test statistic: ``RATIO`` (ADH 2010) or ``POST`` (post-period RMSPE)."""
        return self.ratio if kind == RATIO else math.sqrt(float(np.mean(self.post ** 2)))


def fit_statistic(fit: UnitFit, kind: str) -> float:
    """One fit's statistic (see :meth:`Paths.statistic`)."""
    return fit.ratio if kind == RATIO else math.sqrt(fit.post_mspe)


def kept_placebos(spec: SynthSpec, fits: list[UnitFit], placebos: dict[int, list[UnitFit]]
                  ) -> dict[int, list[UnitFit]]:
    """The placebos left after ``--placebo-mspe-cutoff``."""
    pilot_mspe = float(np.mean([f.pre_mspe for f in fits]))
    cutoff = spec.placebo_mspe_cutoff
    return {s: [f for f in fs if cutoff is None or f.pre_mspe <= cutoff * pilot_mspe]
            for s, fs in placebos.items()}


def _reference(spec: SynthSpec, fits: list[UnitFit],
               placebos: dict[int, list[UnitFit]], start_of: dict[int, int],
               ranks: np.ndarray, kind: str) -> tuple[np.ndarray, dict[str, Any]]:
    """Placebo statistics: one ratio per placebo (one pilot area), or the ratios of the
    average gap of random sets of placebos, one per pilot area (several). The sets are
    drawn over the areas in the data-derived order ``ranks`` (row -> place), not by name."""
    cutoff = spec.placebo_mspe_cutoff
    kept = kept_placebos(spec, fits, placebos)
    excluded = sorted({f.target for fs in placebos.values() for f in fs} -
                      {f.target for fs in kept.values() for f in fs})
    info: dict[str, Any] = {"excluded": excluded, "mspe_cutoff": cutoff}
    if len(fits) == 1:
        (only,) = kept.values()
        info["draws"] = None
        return np.array([fit_statistic(f, kind) for f in only]), info
    kept = {s: sorted(fs, key=lambda f: int(ranks[f.target])) for s, fs in kept.items()}
    fits = sorted(fits, key=lambda f: int(ranks[f.target]))
    rng = np.random.default_rng(spec.seed)
    stats = []
    for _ in range(spec.draws):
        chosen, used = [], set()
        for fit in fits:
            pool = [f for f in kept[start_of[fit.target]] if f.target not in used]
            if not pool:
                break
            pick = pool[int(rng.integers(len(pool)))]
            used.add(pick.target)
            chosen.append(pick)
        if len(chosen) == len(fits):
            starts = {f.target: start_of[fit.target] for f, fit in zip(chosen, fits, strict=True)}
            stats.append(Paths.of(chosen, starts, len(fits[0].gaps)).statistic(kind))
    info["draws"] = len(stats)
    return np.array(stats), info


def inference(spec: SynthSpec, path: Paths, fits: list[UnitFit],
              placebos: dict[int, list[UnitFit]], start_of: dict[int, int],
              warnings: list[str], ranks: np.ndarray, scale: float
              ) -> tuple[Estimate, dict[str, Any]]:
    """The placebo estimate: rank p-value and test-inversion range (see the module docstring).
    ``scale``: the outcome's SD across areas and pre-periods (floors and range limits)."""
    att = float(np.mean(path.post))
    if spec.inference == "none":
        warnings.append("no placebo inference was run (--inference none): the estimate has no "
                        "p-value or range")
        info = InferenceInfo("placebo", "Placebo inference was switched off (--inference "
                             "none), so there is no p-value or range.", {"run": False})
        return Estimate(att, None, math.nan, math.nan, spec.ci_level, math.nan, info), {}
    floor = RMSPE_FLOOR * scale
    exact_pilot = path.pre_rmspe < floor or any(math.sqrt(f.pre_mspe) < floor for f in fits)
    exact = sorted(f.target for fs in kept_placebos(spec, fits, placebos).values() for f in fs
                   if math.sqrt(f.pre_mspe) < floor)
    kind = POST if exact_pilot or exact else RATIO
    ref, details = _reference(spec, fits, placebos, start_of, ranks, kind)
    stat = path.statistic(kind)
    tol = 1e-9 * max(1.0, abs(stat))  # ties (and rounding) count against the pilot
    n = len(ref)
    rank = 1 + int(np.sum(ref >= stat - tol))
    p_value = rank / (n + 1)
    low, high, note = _invert(path, ref, spec.ci_level, kind, scale)
    if note:
        warnings.append(note)
    what = ("post/pre-period RMSPE ratio" if kind == RATIO else
            "post-period RMSPE (root mean squared gap after the start)")
    several = len(fits) > 1
    reason = (f"Placebo-in-space (Abadie, Diamond & Hainmueller 2010): each of the {n} "
              f"comparison areas was given the pilot's treatment in turn; "
              f"{fmt_p(p_value, prefix=True)} is "
              f"the share of areas whose {what} is at least the pilot's."
              if not several else
              f"Placebo-in-space for several pilot areas (Cavallo et al. 2013): the {what} of "
              f"the pilot areas' average gap is compared with {n} random sets of placebo "
              f"areas, one per pilot area; {fmt_p(p_value, prefix=True)}.")
    if kind == POST:
        who = (["the pilot"] if exact_pilot else []) + (
            [f"{len(exact)} placebo area{'s' if len(exact) != 1 else ''}"] if exact else [])
        why = (f"the pre-period fit of {' and of '.join(who)} is exact (RMSPE below 1e-6 of "
               "the outcome's SD across areas), so the post/pre "
               "RMSPE ratio is undefined (it divides by rounding noise); the test ranks the "
               "post-period RMSPE instead")
        warnings.append(why)
        reason += f" The ratio was not used: {why}."
    if kind == RATIO and len(fits) == 1:  # what the placebo chart shows, for the headline
        post_ref, _ = _reference(spec, fits, placebos, start_of, ranks, POST)
        post = path.statistic(POST)
        details["post_rank"] = 1 + int(np.sum(post_ref >= post - 1e-9 * max(1.0, abs(post))))
        (kept,) = kept_placebos(spec, fits, placebos).values()
        details["placebos_fitted_closer"] = int(sum(f.pre_mspe < fits[0].pre_mspe for f in kept))
    details.update({"statistic": kind, "pilot_statistic": stat,
                    "pilot_ratio": path.ratio if kind == RATIO else None,
                    "placebos": n, "rank": rank, "rmspe_floor": floor,
                    "exact_fit": {"pilot": exact_pilot, "placebos": exact},
                    "range_note": note,
                    "interval": "test inversion under a constant additive effect "
                                "(Firpo & Possebom 2018)"})
    if n + 1 < 1 / (1 - spec.ci_level):
        warnings.append(f"only {n} placebos: the placebo p-value cannot fall below "
                        f"{1 / (n + 1):.3f}")
    info = InferenceInfo("placebo", reason, details)
    return Estimate(att, None, low, high, spec.ci_level, p_value, info), details


def _invert(path: Paths, ref: np.ndarray, level: float, kind: str, scale: float
            ) -> tuple[float, float, str | None]:
    """Constant effects c not rejected: ``count(ref >= S(c)) >= m`` where S(c) is the
    pilot's statistic with c removed from its post-period gaps; solved in closed form
    (``S(c)^2 = (spread + (centre - c)^2) / pre`` with ``pre = 1`` for the post-period RMSPE).
    Returns (low, high, None), or NaN ends with the reason when no range on the outcome's
    scale exists."""
    alpha = 1 - level
    n = len(ref)
    m = math.floor(alpha * (n + 1) - 1 + 1e-12) + 1
    if m <= 0:
        return math.nan, math.nan, (
            f"no {level:.0%} range: with {n} placebos every effect size is consistent with "
            "the placebo distribution")
    threshold = float(np.sort(ref)[::-1][m - 1])
    pre = float(np.mean(path.pre ** 2)) if kind == RATIO else 1.0
    post = path.post
    centre = float(np.mean(post))
    spread = float(np.mean((post - centre) ** 2))
    room = threshold ** 2 * pre - spread
    if not np.isfinite(room) or room < 0:
        return math.nan, math.nan, (
            f"no {level:.0%} range: no constant effect makes the pilot's gap look like the "
            "placebos' (the gap varies too much over time)")
    half = math.sqrt(room)
    if scale > 0 and half > RANGE_LIMIT * scale:
        return math.nan, math.nan, (
            f"no informative {level:.0%} range: inverting the placebo test gives +-"
            f"{half:.3g}, more than {RANGE_LIMIT:g} times the outcome's spread across areas "
            f"({scale:.3g}), so no range is reported")
    return centre - half, centre + half, None
