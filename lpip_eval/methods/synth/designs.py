"""Options -> synthetic control run: the registry entry for ``lpip-eval synth``.

``design`` picks the estimator: ``classic`` (Abadie, Diamond & Hainmueller 2010; see
``classic.py``) or ``sdid`` (Arkhangelsky et al. 2021; see ``sdid.py``). Options given as text
on the command line or in a config file (predictors, fitting window, V weights) are parsed
here, then checked against the design's spec by ``registry.build_spec``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lpip_eval.data.panel import Panel
from lpip_eval.errors import DataError

SYNTH_DESIGNS = ("classic", "sdid")
# Options of the classic design that synthetic DiD does not use, and shared ones it renames.
_SDID_RENAMED = {"draws": "placebo_reps"}
_SDID_SHARED = {"ci_level", "seed", "workers", "draws", "estimator"}


def estimate_from_options(panel: Panel, options: dict[str, Any], *, where: str,
                          progress: Callable[[int, int], None] | None = None) -> Any:
    """Run the synthetic control ``design`` in ``options`` on ``panel``; ``progress(done,
    total)`` is called as the placebo refits finish."""
    from lpip_eval.methods.registry import build_spec

    options = dict(options)
    design = options.pop("design", "classic")
    if design not in SYNTH_DESIGNS:
        raise DataError(f"{where}: unknown design '{design}'",
                        hint=f"use one of {', '.join(SYNTH_DESIGNS)}")
    if design == "sdid":
        from lpip_eval.methods.synth.sdid import SdidSpec, estimate_sdid

        unused = sorted(k for k, v in options.items() if k not in _SDID_SHARED
                        and v not in (None, (), [], _classic_default(k)))
        if unused:
            raise DataError(f"{where}: option '{unused[0]}' is not used by design 'sdid'",
                            hint="remove it, or use design 'classic'")
        sdid_options = {_SDID_RENAMED.get(k, k): v for k, v in options.items()
                        if k in _SDID_SHARED}
        return estimate_sdid(panel, build_spec(SdidSpec, sdid_options, where=where))

    from lpip_eval.methods.synth.classic import (
        SynthSpec,
        estimate_synth,
        parse_predictor,
        parse_window,
    )

    if "predictors" in options:
        options["predictors"] = tuple(
            parse_predictor(p, outcome=panel.outcome) if isinstance(p, str) else p
            for p in (options["predictors"] or ())
        )
    window = options.get("fit_periods")
    if isinstance(window, str):
        options["fit_periods"] = parse_window(window)
    v = options.get("v")
    if isinstance(v, str) and v not in ("optimize", "equal", "regression", "cv"):
        try:
            options["v"] = tuple(float(x) for x in v.split(","))
        except ValueError:
            raise DataError(f"{where}: v '{v}' is neither a method nor numbers",
                            hint="use optimize, equal, regression, cv or weights like "
                            "0.5,0.3,0.2 (one per predictor)") from None
    return estimate_synth(panel, build_spec(SynthSpec, options, where=where), progress=progress)


def _classic_default(key: str) -> Any:
    from dataclasses import fields

    from lpip_eval.methods.synth.classic import SynthSpec

    for f in fields(SynthSpec):
        if f.name == key:
            return f.default
    return None
