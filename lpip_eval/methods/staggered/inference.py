"""Inference for Callaway & Sant'Anna: which method runs and why, and randomization draws.

``auto``: fewer than 10 treated areas (clusters) -> randomization inference (reassigning
the cohort vector across areas); 10 or more treated but fewer than 30 clusters -> the
multiplier bootstrap; otherwise analytic influence-function standard errors clustered by
area (R ``did`` with ``bstrap = FALSE``). All three estimators (dr, ipw, reg) are linear in
the outcome for a given assignment, so randomization intervals come from test inversion
under a constant additive effect (``linear.inference.randomization_interval``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lpip_eval.methods.linear import inference as inf
from lpip_eval.methods.staggered.cohorts import Wide

FEW_TREATED = inf.FEW_TREATED
FEW_CLUSTERS = inf.FEW_CLUSTERS


def treated_clusters(wide: Wide) -> int:
    treated = wide.cohort < wide.n_periods
    if int(wide.clusters.max()) + 1 == wide.n:  # each area its own cluster
        return int(treated.sum())
    return len(np.unique(wide.clusters[treated]))


def choose(requested: str, wide: Wide) -> inf.InferenceChoice:
    """The method that runs, with the sentence saying why."""
    if requested != "auto":
        return inf.InferenceChoice(requested, f"requested with --inference {requested}")
    n_treated = treated_clusters(wide)
    n_clusters = int(wide.clusters.max()) + 1
    if n_treated < FEW_TREATED:
        return inf.InferenceChoice(
            "randomization", f"{n_treated} treated area{'s' if n_treated != 1 else ''} (fewer "
            f"than {FEW_TREATED}): influence-function standard errors would be unreliable, so "
            f"randomization inference reassigning the start periods across {n_clusters} areas "
            "was used")
    if n_clusters < FEW_CLUSTERS:
        return inf.InferenceChoice(
            "multiplier-bootstrap", f"{n_treated} treated areas but {n_clusters} clusters "
            f"(fewer than {FEW_CLUSTERS}), so the multiplier bootstrap was used")
    return inf.InferenceChoice(
        "cluster", f"{n_treated} treated and {n_clusters} clusters in all: analytic "
        "influence-function standard errors clustered by area are reliable")


def treatment_matrix(wide: Wide) -> np.ndarray:
    """1.0 where an area is treated in a period under the observed cohorts."""
    return (np.arange(wide.n_periods)[None, :] >= wide.cohort[:, None]).astype(float)


def permutation_stats(wide: Wide, statistic: Callable[[Wide], np.ndarray], *, draws: int,
                      seed: int) -> tuple[np.ndarray, np.ndarray, inf.Assignments]:
    """Statistics under each reassignment of the cohorts, on the outcome and on the
    observed treatment indicator (for test inversion): (on_y, on_d, plan)."""
    plan = inf.assignments(wide.cohort, draws, seed, canonical_order=wide.order)
    d_wide = wide.with_y(treatment_matrix(wide))
    on_y = np.vstack([statistic(wide.with_cohort(row)) for row in plan.iter_rows()])
    on_d = np.vstack([statistic(d_wide.with_cohort(row)) for row in plan.iter_rows()])
    return on_y, on_d, plan
