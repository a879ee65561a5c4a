"""The package's layout is its pipeline (docs/design.md, "Layout"; issue 9), checked by
reading the source with ``ast``:

- imports point inward along ``cli -> runs -> report -> methods -> results -> data ->
  (errors, files, parallel, numbers)``: a module imports only its own folder or folders to
  its right (``TYPE_CHECKING`` and function-level imports count too);
- no import cycle between folders;
- no module imports a ``_private`` name of another module of the package;
- at most 8 top-level modules, none over 600 lines;
- only ``cli/`` prints (no ``print()``, no Rich) outside it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lpip_eval"
STAGES = ("cli", "runs", "report", "methods", "results", "data")
BASE = len(STAGES)  # the top-level modules: errors, files, parallel, numbers
MAX_TOP_LEVEL_MODULES = 8
MAX_LINES = 600

# Upward imports tolerated while they are being removed. It is empty and must stay so: the
# last one (runs/starter -> cli/commands) went in 9789be2. A listed import that is gone
# fails the test, so the list can only shrink.
KNOWN_UPWARD_IMPORTS: set[tuple[str, str]] = set()


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _stage(module: str) -> int:
    """Position of a module's folder in the pipeline; ``__main__`` is the CLI's."""
    parts = module.split(".")
    if parts[1:] == ["__main__"]:
        return 0
    return STAGES.index(parts[1]) if len(parts) > 1 and parts[1] in STAGES else BASE


def _imports(module: str) -> Iterator[tuple[ast.stmt, str, list[str]]]:
    """(node, imported module, names) for every package import, anywhere in ``module``."""
    path = MODULES[module]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("lpip_eval."):
                    yield node, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{module}:{node.lineno}: relative import"
            if not node.module.startswith("lpip_eval"):
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if sub in MODULES:  # from lpip_eval.methods import did
                    yield node, sub, []
                else:
                    yield node, node.module, [alias.name]


def _edges() -> set[tuple[str, str]]:
    return {(module, target) for module in MODULES if module != "lpip_eval"
            for _, target, _ in _imports(module) if target != "lpip_eval"}


def _folder(module: str) -> str:
    """The folder of a module; the top-level modules count as one, ``__main__`` as the CLI."""
    parts = module.split(".")
    if parts[1:] == ["__main__"]:
        return "cli"
    return parts[1] if len(parts) > 2 else "(top level)"


def test_imports_point_inward_along_the_pipeline() -> None:
    upward = {(module, target) for module, target in _edges()
              if _stage(target) < _stage(module)}
    assert upward - KNOWN_UPWARD_IMPORTS == set()
    # a fixed import must leave the known list, so that the list only shrinks
    assert upward >= KNOWN_UPWARD_IMPORTS, KNOWN_UPWARD_IMPORTS - upward


def test_no_import_cycle_between_folders() -> None:
    graph: dict[str, set[str]] = {}
    for module, target in _edges():
        if (module, target) not in KNOWN_UPWARD_IMPORTS and _folder(module) != _folder(target):
            graph.setdefault(_folder(module), set()).add(_folder(target))

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(graph.get(node, ()))
        return False

    cycles = sorted((a, b) for a in graph for b in graph[a] if reaches(b, a))
    assert cycles == []


def test_no_private_name_crosses_modules() -> None:
    """``from lpip_eval.x import _name`` and ``module._name`` on an imported package module
    both reach into another module's internals; make the name public or keep it home."""
    crossings = []
    for module in MODULES:
        tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
        aliases = {}
        for node, target, names in _imports(module):
            crossings += [f"{module}:{node.lineno} {target}.{name}" for name in names
                          if name.startswith("_") and not name.startswith("__")]
            if not names and isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if f"{node.module}.{alias.name}" == target:
                        aliases[alias.asname or alias.name] = target
            elif not names:
                aliases.update({a.asname: a.name for a in node.names if a.asname})
        crossings += [f"{module}:{node.lineno} {aliases[node.value.id]}.{node.attr}"
                      for node in ast.walk(tree)
                      if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                      and node.value.id in aliases and node.attr.startswith("_")
                      and not node.attr.startswith("__")]
    assert crossings == []


def test_module_count_and_size() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py")
                 if p.name not in ("__init__.py", "__main__.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top
    long = {module: n for module, path in MODULES.items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_scan_sees_what_it_checks() -> None:
    """The checks above pass vacuously if the scan finds nothing: it must see the known
    edges of the pipeline."""
    edges = _edges()
    assert ("lpip_eval.report.charts", "lpip_eval.report.chart_style") in edges
    assert ("lpip_eval.methods.match.areas", "lpip_eval.methods.did") in edges
    assert _stage("lpip_eval.cli.commands") < _stage("lpip_eval.data.panel") \
        < _stage("lpip_eval.numbers")


def test_the_pipeline_seams_are_typed() -> None:
    """The estimators and the functions around them return ``EffectResult``, not ``Any``,
    and the package ships ``py.typed`` (PEP 561) so that users' type checkers see it."""
    import importlib
    import inspect
    import tomllib

    seams = {"lpip_eval.methods.registry": ["estimate", "with_evidence"],
             "lpip_eval.methods.did": ["estimate_did"],
             "lpip_eval.methods.match.areas": ["estimate_match"],
             "lpip_eval.methods.synth.classic": ["estimate_synth"],
             "lpip_eval.methods.synth.sdid": ["estimate_sdid"],
             "lpip_eval.methods.match.units": ["estimate_units", "estimate_unit_match"]}
    returns = {f"{name}.{function}": inspect.signature(
        getattr(importlib.import_module(name), function)).return_annotation
        for name, functions in seams.items() for function in functions}
    assert {k: v for k, v in returns.items() if v != "EffectResult"} == {}
    assert (PACKAGE / "py.typed").is_file()
    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["lpip_eval"]


def test_only_the_cli_prints() -> None:
    """The library returns values and takes callbacks; the terminal is ``cli/console.py``."""
    printing = []
    for module, path in MODULES.items():
        if _folder(module) == "cli":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        printing += [f"{module}:{node.lineno} print()" for node in ast.walk(tree)
                     if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                     and node.func.id == "print"]
        printing += [f"{module}:{node.lineno} imports rich" for node in ast.walk(tree)
                     if isinstance(node, ast.Import | ast.ImportFrom)
                     and any((getattr(node, "module", None) or a.name).split(".")[0] == "rich"
                             for a in node.names)]
    assert printing == []
