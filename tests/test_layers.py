"""The package's layering (docs/design.md, "Layout"): imports point inward along the pipeline
``cli -> runs -> report -> methods -> results -> data -> (errors, files, parallel, numbers)``,
and only ``cli/`` prints. Every import counts: top level, inside functions and under
``TYPE_CHECKING``."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lpip_eval"
ORDER = ["cli", "runs", "report", "methods", "results", "data", "base"]
# Known upward imports still being cut elsewhere (issue 9): remove an entry when it goes.
KNOWN = {("runs/starter.py", "cli")}  # the starter reads the CLI's option help


def _stage(module: str) -> str | None:
    """'lpip_eval.report.words' -> 'report'; bottom modules -> 'base'; else None."""
    parts = module.split(".")
    if parts[0] != "lpip_eval" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in ORDER else "base"


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def _modules() -> list[tuple[str, str]]:
    """(path relative to the package, its stage) of every module inside a stage folder."""
    return [(str(p.relative_to(PACKAGE)), p.relative_to(PACKAGE).parts[0])
            for p in sorted(PACKAGE.rglob("*.py"))
            if len(p.relative_to(PACKAGE).parts) > 1 and p.relative_to(PACKAGE).parts[0] in ORDER]


def test_no_import_points_up_the_pipeline() -> None:
    upward = []
    for name, stage in _modules():
        for target in _imports(PACKAGE / name):
            to = _stage(target)
            if to is not None and ORDER.index(to) < ORDER.index(stage) \
                    and (name, to) not in KNOWN:
                upward.append(f"{name} imports {target}")
    assert upward == []


def test_bottom_modules_import_no_stage() -> None:
    for path in PACKAGE.glob("*.py"):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        stages = {_stage(t) for t in _imports(path)} - {None, "base"}
        assert stages == set(), path.name


def test_only_the_cli_prints() -> None:
    printing = []
    for name, stage in _modules():
        if stage == "cli":
            continue
        for node in ast.walk(ast.parse((PACKAGE / name).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id == "print":
                printing.append(f"{name}:{node.lineno} print()")
        if "rich" in {t.split(".")[0] for t in _imports(PACKAGE / name)}:
            printing.append(f"{name} imports rich")
    assert printing == []
