"""docs/design.md's layout names every module of the package, and only modules that exist.

The layout section is how a newcomer finds things (docs/design.md, "Layout"); a module added
without its line, or a line left behind by a move, makes it lie. Like sqlite-utils' test that
fails when a command lacks docs, this fails until the document is updated.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENTRY = re.compile(r"^( {2,6})([A-Za-z_][A-Za-z0-9_]*(?:\.py|/))(?:\s|$)")


def documented() -> set[str]:
    """Module and folder paths under ``lpip_eval/`` listed in the layout's code block."""
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    section = text.split("\n## Layout\n", 1)[1]
    block = section.split("```\n", 2)[1]
    lines = block.splitlines()
    assert lines[0] == "lpip_eval/", "the layout block starts with lpip_eval/"
    paths: set[str] = set()
    folders: list[str] = []  # folder at each depth (indent 2 -> depth 0)
    for line in lines[1:]:
        if line and not line.startswith(" "):  # templates/, docs/ ...: outside the package
            break
        match = ENTRY.match(line)
        if match is None:
            continue  # a description continued on the next line
        depth = len(match.group(1)) // 2 - 1
        del folders[depth:]
        path = "/".join([*folders, match.group(2)])
        paths.add(path)
        if path.endswith("/"):
            folders.append(match.group(2).rstrip("/"))
    return paths


def actual() -> set[str]:
    """Every module (package ``__init__`` files aside) and folder of ``lpip_eval/``."""
    package = ROOT / "lpip_eval"
    paths = set()
    for path in package.rglob("*"):
        rel = path.relative_to(package)
        if "__pycache__" in rel.parts:
            continue
        if path.is_dir():
            paths.add(f"{rel.as_posix()}/")
        elif path.suffix == ".py" and (path.name != "__init__.py" or len(rel.parts) == 1):
            paths.add(rel.as_posix())
    return paths


def test_layout_parser_reads_nested_entries() -> None:
    paths = documented()
    assert {"errors.py", "methods/", "methods/linear/", "methods/linear/inference.py",
            "report/charts.py"} <= paths


def test_layout_lists_every_module() -> None:
    missing = sorted(actual() - documented())
    assert not missing, (f"docs/design.md, 'Layout' does not list {missing}: add one line per "
                         "module saying its one job")


def test_layout_lists_only_existing_modules() -> None:
    stale = sorted(documented() - actual())
    assert not stale, f"docs/design.md, 'Layout' lists {stale}, which do not exist"
