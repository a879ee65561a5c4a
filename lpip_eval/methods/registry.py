"""The evaluation methods, and options -> spec conversion shared by the CLI and config files.

A method is one module in ``methods/`` with a ``estimate_from_options(panel, options)``
function, plus one entry in :data:`METHODS`; the CLI, config files, JSON, reports and the
evidence rating then work for it. :func:`build_spec` turns a plain options mapping (from
command-line options or a TOML table) into a method's frozen spec dataclass, naming unknown
keys (with the closest valid one) and wrong types (with the expected type).
"""

from __future__ import annotations

import dataclasses
import importlib
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from lpip_eval.errors import DataError, closest
from lpip_eval.parallel import local_workers, workers_notice
from lpip_eval.results.result import check_finite

METHODS: dict[str, str] = {
    "did": "lpip_eval.methods.did",
    "synth": "lpip_eval.methods.synth.designs",
    "match": "lpip_eval.methods.match.areas",
}

S = TypeVar("S")


def estimate(method: str, panel: Any, options: Mapping[str, Any], *,
             where: str = "options", progress: Any = None) -> Any:
    """Run ``method`` on ``panel`` with ``options`` (keys = spec fields); an EffectResult.

    ``progress(done, total)``, if given, is called by methods with long refit loops. A
    ``workers`` option above the CPU count is capped (``parallel.local_workers``) and the
    result says so in its warnings.
    """
    if method not in METHODS:
        raise DataError(f"unknown method '{method}'", hint=closest(method, list(METHODS)))
    module = importlib.import_module(METHODS[method])
    options = dict(options)
    notice = None
    if isinstance(options.get("workers"), int) and not isinstance(options["workers"], bool):
        notice = workers_notice(options["workers"])
        options["workers"] = local_workers(options["workers"])
    result = module.estimate_from_options(panel, options, where=where, progress=progress)
    if notice is not None:
        result = dataclasses.replace(result, warnings=(*result.warnings, notice))
    return check_finite(result)


def spec_keys(spec_class: type) -> dict[str, Any]:
    """The option names of a spec dataclass and their type annotations."""
    hints = typing.get_type_hints(spec_class)
    return {f.name: hints[f.name] for f in dataclasses.fields(spec_class)}


def build_spec(spec_class: type[S], options: Mapping[str, Any], *, where: str) -> S:
    """``spec_class(**options)`` after checking every key and value type.

    ``where`` names the source in messages, e.g. "evaluation.toml [did]".
    """
    keys = spec_keys(spec_class)
    values: dict[str, Any] = {}
    for key, value in options.items():
        if key not in keys:
            raise DataError(f"{where}: unknown option '{key}'",
                            hint=closest(key, list(keys)))
        values[key] = coerce(value, keys[key], where=f"{where} '{key}'")
    return spec_class(**values)


def type_name(annotation: Any) -> str:
    """A readable name of a type annotation: 'integer', 'list of text', 'number or none'."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in typing.get_args(annotation))
    if origin is tuple or origin is list:
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        return f"list of {type_name(args[0])}" if args else "list"
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    return {bool: "true/false", int: "integer", float: "number", str: "text",
            type(None): "none"}.get(annotation, getattr(annotation, "__name__", str(annotation)))


def coerce(value: Any, annotation: Any, *, where: str) -> Any:
    """``value`` converted to ``annotation`` (lists become tuples), or a DataError."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            try:
                return coerce(value, arg, where=where)
            except DataError:
                continue
        raise _type_error(value, annotation, where)
    if annotation is type(None):
        if value is None:
            return None
        raise _type_error(value, annotation, where)
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise _type_error(value, annotation, where)
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        item_type = args[0] if args else Any
        return tuple(coerce(v, item_type, where=where) for v in value)
    if origin is typing.Literal:
        if value in typing.get_args(annotation):
            return value
        raise _type_error(value, annotation, where)
    if annotation is Any:
        return value
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise _type_error(value, annotation, where)
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _type_error(value, annotation, where)
    if annotation is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise _type_error(value, annotation, where)
    if annotation is str:
        if isinstance(value, str):
            return value
        raise _type_error(value, annotation, where)
    return value


def _type_error(value: Any, annotation: Any, where: str) -> DataError:
    shown = repr(value) if not isinstance(value, list | dict) else type(value).__name__
    return DataError(f"{where}: expected {type_name(annotation)}, got {shown}",
                     hint="check the value's type (quotes make text, [a, b] makes a list)")
