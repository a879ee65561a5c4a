"""lpip-eval: what-works-here evaluation of local policy pilots.

Load a panel with :func:`load_panel`, estimate with :func:`estimate_did`, and get an
:class:`EffectResult` whose ``to_dict()`` is the documented JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "DesignError",
    "DidSpec",
    "EffectResult",
    "LpipEvalError",
    "Panel",
    "PanelSpec",
    "__version__",
    "estimate_did",
    "load_panel",
    "panel_from_frame",
]

_EXPORTS = {
    "DataError": "lpip_eval.errors",
    "DesignError": "lpip_eval.errors",
    "LpipEvalError": "lpip_eval.errors",
    "Panel": "lpip_eval.data.panel",
    "PanelSpec": "lpip_eval.data.panel",
    "load_panel": "lpip_eval.data.panel",
    "panel_from_frame": "lpip_eval.data.panel",
    "EffectResult": "lpip_eval.results.result",
    "DidSpec": "lpip_eval.methods.did",
    "estimate_did": "lpip_eval.methods.did",
}

if TYPE_CHECKING:
    from lpip_eval.data.panel import Panel, PanelSpec, load_panel, panel_from_frame
    from lpip_eval.errors import DataError, DesignError, LpipEvalError
    from lpip_eval.methods.did import DidSpec, estimate_did
    from lpip_eval.results.result import EffectResult


def __getattr__(name: str) -> Any:
    """Import on first use, so ``import lpip_eval`` (and the CLI) start instantly."""
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'lpip_eval' has no attribute {name!r}")
