"""Text options of the classic synthetic control design, parsed into SynthSpec's types.

Predictors, the fitting window and V weights come as text from the command line or a config
file (``lnincome:1980-1988:mean``, ``1970-1988``, ``0.5,0.3,0.2``); the registry calls
:func:`parse_classic` before it builds the spec, so a malformed one is a usage error found
before any data is read.
"""

from __future__ import annotations

from typing import Any

from lpip_eval.errors import DataError
from lpip_eval.methods.specs import V_MODES


def parse_classic(options: dict[str, Any], *, where: Any, outcome: str | None = None
                  ) -> dict[str, Any]:
    """``options`` with text ``predictors``, ``fit_periods`` and ``v`` parsed (DataError if
    malformed; the registry reports it as a usage error naming the option)."""
    from lpip_eval.methods.registry import place
    from lpip_eval.methods.synth.classic import parse_predictor, parse_window

    options = dict(options)
    if "predictors" in options:
        options["predictors"] = tuple(
            parse_predictor(p, outcome=outcome or "y") if isinstance(p, str) else p
            for p in (options["predictors"] or ()))
    window = options.get("fit_periods")
    if isinstance(window, str):
        options["fit_periods"] = parse_window(window)
    v = options.get("v")
    if isinstance(v, str) and v not in V_MODES:
        try:
            options["v"] = tuple(float(x) for x in v.split(","))
        except ValueError:
            raise DataError(f"{place(where, 'v')}: '{v}' is neither a method nor numbers",
                            hint="use optimize, equal, regression, cv or weights like "
                            "0.5,0.3,0.2 (one per predictor)") from None
    return options
