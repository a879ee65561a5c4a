"""Rendering reports from Jinja2 templates; the templates are found by :func:`templates_dir`."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def templates_dir() -> Path:
    """The templates folder: ``lpip_eval/templates`` in a wheel, ``templates/`` in a checkout."""
    for candidate in (_PACKAGE_DIR / "templates", _PACKAGE_DIR.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("lpip-eval's templates folder is missing from the installation")
