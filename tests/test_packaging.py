"""The wheel ships every subpackage: pyproject's explicit package list must name each folder
of ``lpip_eval/`` that holds Python modules (an editable install hides a missing one; the
README's ``pip install .`` then fails with ModuleNotFoundError)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_in_the_wheel() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    folders = {".".join(p.parent.relative_to(ROOT).parts)
               for p in (ROOT / "lpip_eval").rglob("*.py") if "__pycache__" not in p.parts}
    assert folders - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
