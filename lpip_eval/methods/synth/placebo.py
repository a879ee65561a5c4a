"""Placebo inference for synthetic control (see ``classic.py`` for the conventions).

:class:`Paths` aligns the pilot areas' gaps by event time and averages them; the statistic
is the post- over pre-period RMSPE of that average (ADH 2010). :func:`inference` builds the
placebo reference distribution, the rank p-value and the interval that inverts the test
under a constant additive effect (Firpo & Possebom 2018).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lpip_eval.methods.synth.fit import UnitFit, missing_allowed
from lpip_eval.results.result import Estimate, InferenceInfo

if TYPE_CHECKING:
    from lpip_eval.methods.synth.classic import SynthSpec


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


def _reference(spec: SynthSpec, fits: list[UnitFit],
               placebos: dict[int, list[UnitFit]], start_of: dict[int, int],
               ranks: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """Placebo statistics: one ratio per placebo (one pilot area), or the ratios of the
    average gap of random sets of placebos, one per pilot area (several). The sets are
    drawn over the areas in the data-derived order ``ranks`` (row -> place), not by name."""
    pilot_mspe = float(np.mean([f.pre_mspe for f in fits]))
    cutoff = spec.placebo_mspe_cutoff
    kept = {s: [f for f in fs if cutoff is None or f.pre_mspe <= cutoff * pilot_mspe]
            for s, fs in placebos.items()}
    excluded = sorted({f.target for fs in placebos.values() for f in fs} -
                      {f.target for fs in kept.values() for f in fs})
    info: dict[str, Any] = {"excluded": excluded, "mspe_cutoff": cutoff}
    if len(fits) == 1:
        (only,) = kept.values()
        info["draws"] = None
        return np.array([f.ratio for f in only]), info
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
            stats.append(Paths.of(chosen, starts, len(fits[0].gaps)).ratio)
    info["draws"] = len(stats)
    return np.array(stats), info


def inference(spec: SynthSpec, path: Paths, fits: list[UnitFit],
               placebos: dict[int, list[UnitFit]], start_of: dict[int, int],
               warnings: list[str], ranks: np.ndarray) -> tuple[Estimate, dict[str, Any]]:
    att = float(np.mean(path.post))
    if spec.inference == "none":
        warnings.append("no placebo inference was run (--inference none): the estimate has no "
                        "p-value or range")
        info = InferenceInfo("placebo", "Placebo inference was switched off (--inference "
                             "none), so there is no p-value or range.", {"run": False})
        return Estimate(att, None, math.nan, math.nan, spec.ci_level, math.nan, info), {}
    ref, details = _reference(spec, fits, placebos, start_of, ranks)
    stat = path.ratio
    tol = 1e-10 * max(1.0, abs(stat))
    n = len(ref)
    p_value = (1 + int(np.sum(ref >= stat - tol))) / (n + 1)
    low, high = _invert(path, ref, spec.ci_level, warnings)
    several = len(fits) > 1
    reason = (f"Placebo-in-space (Abadie, Diamond & Hainmueller 2010): each of the {n} "
              f"comparison areas was given the pilot's treatment in turn; p = {p_value:.3f} is "
              "the share of areas whose post/pre-period RMSPE ratio is at least the pilot's."
              if not several else
              f"Placebo-in-space for several pilot areas (Cavallo et al. 2013): the ratio of "
              f"the pilot areas' average gap is compared with {n} random sets of placebo "
              f"areas, one per pilot area; p = {p_value:.3f}.")
    details.update({"statistic": "post/pre-period RMSPE ratio", "pilot_ratio": stat,
                    "placebos": n, "rank": 1 + int(np.sum(ref >= stat - tol)),
                    "interval": "test inversion under a constant additive effect "
                                "(Firpo & Possebom 2018)"})
    if n + 1 < 1 / (1 - spec.ci_level):
        warnings.append(f"only {n} placebos: the placebo p-value cannot fall below "
                        f"{1 / (n + 1):.3f}")
    info = InferenceInfo("placebo", reason, details)
    return Estimate(att, None, low, high, spec.ci_level, p_value, info), details


def _invert(path: Paths, ref: np.ndarray, level: float, warnings: list[str]
            ) -> tuple[float, float]:
    """Constant effects c not rejected: ``count(ref >= R(c)) >= m`` where R(c) is the
    pilot's ratio with c removed from its post-period gaps; solved in closed form."""
    alpha = 1 - level
    n = len(ref)
    m = math.floor(alpha * (n + 1) - 1 + 1e-12) + 1
    if m <= 0:
        warnings.append(f"no {level:.0%} range: with {n} placebos every effect size is "
                        "consistent with the placebo distribution")
        return -math.inf, math.inf
    threshold = float(np.sort(ref)[::-1][m - 1])
    pre = float(np.mean(path.pre ** 2))
    post = path.post
    centre = float(np.mean(post))
    spread = float(np.mean((post - centre) ** 2))
    room = threshold ** 2 * pre - spread
    if not np.isfinite(room) or room < 0:
        warnings.append(f"no {level:.0%} range: no constant effect makes the pilot's gap look "
                        "like the placebos' (the gap varies too much over time)")
        return math.nan, math.nan
    half = math.sqrt(room)
    return centre - half, centre + half
