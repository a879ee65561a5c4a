"""The evaluation methods: one :class:`Method` record each, and options -> spec conversion.

A method is a name, a title for reports, and its designs; a design is a spec class (the
options, with help text and checks, in :mod:`lpip_eval.methods.specs`) and an estimator
``module:function`` taking ``(panel, spec, progress=None)`` and returning an EffectResult.
The CLI's method options, the config tables and keys, ``docs/config.md``, the starter file,
the schema's method enum (:func:`result_schema`), the evidence rule and the report's method
names all follow from :data:`METHODS`.
Adding a design (e.g. ``did --design callaway-santanna``) is its estimator module, its spec
class and one :class:`Design` entry here.

:func:`build_spec` turns a plain options mapping (from command-line options or a TOML table)
into a design's frozen spec, naming unknown keys (with the closest valid one), wrong types
(with the expected type) and values out of range as :class:`~lpip_eval.errors.UsageError`
(exit 2), in the caller's words: ``where`` is text ("evaluation.toml [did]") or a function
naming one key (a config key with its line, or a command-line flag).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from lpip_eval.errors import DataError, UsageError, closest
from lpip_eval.methods import specs
from lpip_eval.parallel import local_workers
from lpip_eval.results import evidence
from lpip_eval.results.result import check_finite

if TYPE_CHECKING:
    from lpip_eval.data.spec import PanelSpec
    from lpip_eval.results.result import EffectResult

S = TypeVar("S")
Where = str | Callable[[str], str]  # text naming the source, or a function naming one key


@dataclass(frozen=True)
class Design:
    """One design of a method: its options (spec class) and its estimator.

    ``estimator`` is ``"module:function"`` (imported on first use, so the CLI starts fast),
    called as ``function(data, spec, progress=None)``; ``loads`` says what ``data`` is: the
    area-by-period ``Panel`` or, for unit-level designs, the ``PanelSpec`` naming the file.
    ``parse``, if given, is ``"module:function"`` turning text options (from the command
    line or a config file) into the spec's types before the spec is built.
    """

    spec: type
    estimator: str
    loads: Literal["panel", "units"] = "panel"
    parse: str | None = None
    renamed: Mapping[str, str] = field(default_factory=dict)  # option -> spec key
    inference: tuple[str, ...] = ()  # the inference methods it runs (empty: every choice)
    staggered: bool = False  # accepts pilots that start at different times


@dataclass(frozen=True)
class Method:
    """One method: ``name`` (command, config table, JSON ``method``), ``title`` (reports),
    ``designs`` (the first is the default), ``evidence``: its strength-of-evidence rule
    (:mod:`lpip_eval.results.evidence`), and ``columns``: spec keys whose values are
    columns to load into a panel role (``match_on`` -> covariates, ...). ``design_help``
    documents the ``design`` option where no spec has a ``design`` field (its config-file
    wording in ``design_config_help`` if different); ``unused_roles``: PanelSpec fields the
    method never reads (its command offers no option for them)."""

    name: str
    title: str
    designs: Mapping[str, Design]
    evidence: evidence.Rule
    columns: Mapping[str, str] = field(default_factory=dict)
    summary: str = ""
    design_help: str = ""
    design_config_help: str | None = None
    unused_roles: tuple[str, ...] = ()

    @property
    def default_design(self) -> str:
        return next(iter(self.designs))

    def spec_class(self, design: str | None = None) -> type:
        return self.designs[design or self.default_design].spec

    def panel_columns(self, spec: Any) -> dict[str, tuple[str, ...]]:
        """Columns the design needs loaded, by PanelSpec role: ``{"covariates": (...)}``."""
        out: dict[str, tuple[str, ...]] = {}
        for key, role in self.columns.items():
            values = getattr(spec, key, None) if not isinstance(spec, Mapping) \
                else spec.get(key)
            if isinstance(values, str):
                values = (values,)
            names = [_column_of(v) for v in values or ()]
            if names:
                out[role] = tuple(dict.fromkeys((*out.get(role, ()), *names)))
        return out

    def load_spec(self, panel_spec: PanelSpec, spec: Any) -> PanelSpec:
        """``panel_spec`` with the columns ``spec`` (a spec or its options) names added to
        their roles (:meth:`panel_columns`); the outcome itself is never added. The one rule
        for what a design loads, for the command line and config files alike."""
        extra: dict[str, tuple[str, ...]] = {}
        for role, columns in self.panel_columns(spec).items():
            wanted = [c for c in columns if c != panel_spec.outcome]
            if wanted:
                extra[role] = tuple(dict.fromkeys((*getattr(panel_spec, role), *wanted)))
        return dataclasses.replace(panel_spec, **extra) if extra else panel_spec  # type: ignore[arg-type]

    def estimate(self, data: Any, spec: Any, progress: Any = None) -> EffectResult:
        """Run the design ``spec`` belongs to on ``data`` (see :class:`Design`)."""
        design = self.designs[design_of(self, spec)]
        result: EffectResult = _load(design.estimator)(data, spec, progress=progress)
        return result


def _column_of(value: Any) -> str:
    if isinstance(value, str):  # a predictor as text: COLUMN[:PERIODS][:mean|value]
        return value.split(":")[0].strip()
    return str(getattr(value, "column", value))


_DID = Design(specs.DidSpec, "lpip_eval.methods.did:estimate_did",
              inference=specs.INFERENCE_NAMES)
# twfe and the event study run on staggered starts too (the naive estimators, with a warning)
_TWFE = dataclasses.replace(_DID, staggered=True)
_CS = Design(specs.DidSpec, "lpip_eval.methods.staggered.estimator:estimate_cs",
             inference=("auto", "cluster", "multiplier-bootstrap", "randomization"),
             staggered=True)
_AUTO = Design(specs.DidSpec, "lpip_eval.methods.staggered.auto:estimate_auto",
               staggered=True)
_MATCH = Design(specs.MatchSpec, "lpip_eval.methods.match.areas:estimate_match")
METHODS: dict[str, Method] = {m.name: m for m in (
    Method("did", "difference-in-differences",
           {"auto": _AUTO, "twfe": _TWFE, "2x2": _DID, "event-study": _TWFE,
            "callaway-santanna": _CS,
            "imputation": Design(specs.StaggeredSpec,
                                 "lpip_eval.methods.imputation:estimate_imputation",
                                 staggered=True),
            "sun-abraham": Design(specs.StaggeredSpec,
                                  "lpip_eval.methods.sun_abraham:estimate_sun_abraham",
                                  staggered=True)},
           evidence.did_rule,
           summary="Difference-in-differences: 2x2, two-way fixed effects, event study, or for "
           "staggered starts Callaway & Sant'Anna, imputation or Sun & Abraham (auto picks)."),
    Method("synth", "synthetic control",
           {"classic": Design(specs.SynthSpec, "lpip_eval.methods.synth.classic:estimate_synth",
                              parse="lpip_eval.methods.synth.designs:parse_classic"),
            "sdid": Design(specs.SdidSpec, "lpip_eval.methods.synth.sdid:estimate_sdid",
                           renamed={"draws": "placebo_reps"})},
           evidence.synth_rule,
           columns={"predictors": "covariates"}, unused_roles=("weights_col", "cluster_col"),
           design_help="classic (Abadie, Diamond & Hainmueller) or sdid (synthetic DiD).",
           design_config_help="classic (synthetic control) or sdid (synthetic difference-in-"
           "differences).",
           summary="Synthetic control for one or a few pilot areas, with placebo inference."),
    Method("match", "matched comparison areas",
           {"twfe": _MATCH, "2x2": _MATCH,
            "nnmatch": Design(specs.MatchSpec,
                              "lpip_eval.methods.match.units:estimate_units", loads="units")},
           evidence.match_rule,
           columns={"match_on": "covariates", "exact": "categoricals"},
           unused_roles=("covariates",),
           summary="Matched comparison areas: choose similar areas, check balance, then DiD "
           "on them."),
)}


def method(name: str) -> Method:
    """The method called ``name``; a UsageError (exit 2) naming the closest one otherwise."""
    if name not in METHODS:
        raise UsageError(f"unknown method '{name}'", hint=closest(name, list(METHODS)))
    return METHODS[name]


def iter_designs() -> Iterator[tuple[Method, str, type]]:
    """Every (method, design name, spec class), for tests that cover every design."""
    for m in METHODS.values():
        for name, design in m.designs.items():
            yield m, name, design.spec


def method_titles() -> dict[str, str]:
    """Method name -> title for reports ("did" -> "difference-in-differences")."""
    return {m.name: m.title for m in METHODS.values()}


def rate_evidence(result: Mapping[str, Any]) -> dict[str, Any]:
    """``{level, label, reasons}`` for a result dict (saved JSON too), by the evidence rule of
    its method's record."""
    m = METHODS.get(str(result.get("method")))
    return evidence.rate(dict(result), m.evidence if m is not None else None)


def with_evidence(result: EffectResult) -> EffectResult:
    """``result`` with its ``evidence`` block rated by its method's rule; every estimator
    returns through this."""
    m = METHODS.get(result.method)
    return evidence.with_evidence(result, m.evidence if m is not None else None)


def result_schema() -> dict[str, Any]:
    """The published JSON Schema of a result (``results/schema/result.schema.json``) with the
    ``method`` enum filled in from :data:`METHODS`, so a new method needs no schema edit."""
    from lpip_eval.results.result import load_schema

    schema = load_schema()
    schema["properties"]["method"]["enum"] = list(METHODS)
    return schema


def design_of(m: Method, spec: Any) -> str:
    """The design name a spec belongs to (its ``design`` field, else its class)."""
    name = getattr(spec, "design", None)
    if name in m.designs:
        return str(name)
    for design_name, design in m.designs.items():
        if isinstance(spec, design.spec):
            return design_name
    raise UsageError(f"{type(spec).__name__} is not a spec of method '{m.name}'")


def spec_class(method_name: str, design: str | None = None) -> type:
    """The spec dataclass of ``method_name``'s ``design`` (default: its first)."""
    return METHODS[method_name].spec_class(design)


def method_keys(method_name: str, design: str | None = None) -> dict[str, Any]:
    """Config keys of a design table and their types: ``design`` (one of the design names),
    then the spec fields (of every design, or of ``design`` only)."""
    m = METHODS[method_name]
    keys: dict[str, Any] = {"design": Literal[tuple(m.designs)]}
    for name, d in m.designs.items():
        if design is None or name == design:
            for key, annotation in spec_keys(d.spec).items():
                keys.setdefault(key, annotation)
    return keys


def method_defaults(method_name: str) -> dict[str, Any]:
    """Default value of every key of a design table (first design wins on shared keys)."""
    m = METHODS[method_name]
    defaults: dict[str, Any] = {"design": m.default_design}
    for d in m.designs.values():
        for f in dataclasses.fields(d.spec):
            if f.default is not dataclasses.MISSING:
                defaults.setdefault(f.name, f.default)
            elif f.default_factory is not dataclasses.MISSING:
                defaults.setdefault(f.name, f.default_factory())
    return defaults


def field_of(spec_cls: type, key: str) -> dataclasses.Field[Any] | None:
    """The dataclass field ``key`` of ``spec_cls`` (None if it has none)."""
    return next((f for f in dataclasses.fields(spec_cls) if f.name == key), None)


def flag_of(spec_cls: type, key: str) -> str:
    """The command-line option of a spec field: its ``flag`` metadata or ``--key-with-dashes``
    (for a ``--x/--no-x`` pair, ``--x``)."""
    f = field_of(spec_cls, key)
    flag = f.metadata.get("flag") if f is not None else None
    return str(flag).split("/")[0] if flag else "--" + key.replace("_", "-")


def option_field(method_name: str, key: str) -> dataclasses.Field[Any] | None:
    """The spec field behind option ``key`` of a method (first design having it)."""
    for d in METHODS[method_name].designs.values():
        f = field_of(d.spec, key)
        if f is not None:
            return f
    return None


def option_help(method_name: str, key: str, *, config: bool = False) -> str:
    """Help text of a method's option ``key`` from its spec field's metadata (``config``:
    the config-file wording where it has one)."""
    m = METHODS[method_name]
    f = option_field(method_name, key)
    if f is None:
        if key == "design":
            return (m.design_config_help if config else None) or m.design_help
        return ""
    text = f.metadata.get("config_help") if config else None
    return str(text or f.metadata.get("help") or "")


def place(where: Where, key: str) -> str:
    """``where`` naming ``key``: "evaluation.toml [did] 'draws'" or "--draws"."""
    return where(key) if callable(where) else f"{where} '{key}'"


# How the caller names options, for the messages of the estimators the registry runs: set by
# build_options and estimate from their ``where``; unset (a library call), the flag.
_NAMING: ContextVar[Where | None] = ContextVar("lpip_eval_option_naming", default=None)


@contextmanager
def naming(where: Where) -> Iterator[None]:
    """Messages raised inside name options as ``where`` does (see :func:`option_name`)."""
    token = _NAMING.set(where)
    try:
        yield
    finally:
        _NAMING.reset(token)


def option_name(key: str) -> str:
    """Option ``key`` (a spec field) in the caller's words: ``--draws`` on the command line,
    ``evaluation.toml [did] 'draws'`` in a config run; the flag in a library call."""
    where = _NAMING.get()
    if where is not None:
        return place(where, key)
    for m in METHODS.values():
        for d in m.designs.values():
            if field_of(d.spec, key) is not None:
                return flag_of(d.spec, key)
    return "--" + key.replace("_", "-")


def option_setting(key: str, value: Any = None) -> str:
    """Option ``key`` (set to ``value``) in the caller's words, for hints: ``--design twfe``
    on the command line (and in library calls), ``design = "twfe"`` in a config file."""
    name = option_name(key)
    if name.startswith("-"):
        return name if value is None else f"{name} {value}"
    if value is None:
        return f"'{key}'"
    if _is_list_option(key):
        value = [value]
    shown = json.dumps(value) if isinstance(value, bool | str | list) else repr(value)
    return f"{key} = {shown}"


def _is_list_option(key: str) -> bool:
    """Whether spec field ``key`` (of any design) is a list (a TOML array in a config)."""
    for m in METHODS.values():
        for d in m.designs.values():
            annotation = spec_keys(d.spec).get(key)
            if annotation is not None:
                return typing.get_origin(annotation) is tuple
    return False


def build_options(method_name: str, options: Mapping[str, Any], *, where: Where,
                  outcome: str | None = None) -> Any:
    """The spec for ``options`` of ``method_name`` (``design`` chooses among its designs):
    text options parsed, keys renamed to the design's, checked by :func:`build_spec`."""
    with naming(where):
        return _build_options(method_name, options, where=where, outcome=outcome)


def _build_options(method_name: str, options: Mapping[str, Any], *, where: Where,
                   outcome: str | None) -> Any:
    m = method(method_name)
    options = dict(options)
    design_name = options.pop("design", None) or m.default_design
    if design_name not in m.designs:
        raise UsageError(f"{place(where, 'design')}: unknown design '{design_name}'",
                         hint=f"use one of {', '.join(m.designs)}")
    design = m.designs[design_name]
    if field_of(design.spec, "design") is not None:
        options["design"] = design_name
    options = {design.renamed.get(k, k): v for k, v in options.items()}
    own = spec_keys(design.spec)
    for key in options:
        others = [n for n, d in m.designs.items() if key not in own and key in spec_keys(d.spec)]
        if others:
            raise UsageError(f"{place(where, key)}: not used with design '{design_name}'",
                             hint=f"it belongs to design {', '.join(others)}; leave it out")
    if design.parse:
        try:
            options = _load(design.parse)(options, where=where, outcome=outcome)
        except DataError as exc:
            raise UsageError(exc.message, hint=exc.hint) from None
    return build_spec(design.spec, options, where=where)


def estimate(method_name: str, panel: Any, options: Mapping[str, Any], *,
             where: Where = "options", progress: Any = None) -> EffectResult:
    """Run ``method_name`` on ``panel`` with ``options`` (keys = spec fields, ``design``).

    ``progress(done, total)``, if given, is called by methods with long refit loops. How the
    data's rows were combined into the panel (area lookup, boundary changes, cell means of
    microdata) goes to ``diagnostics.data_combined`` for the reports. A ``workers`` option
    above the CPU count is capped (``parallel.local_workers``); being an
    execution setting, like the backend (``parallel.use_backend``), it changes nothing in the
    result, not even its warnings (the CLI notes the cap on stderr).
    """
    m = method(method_name)
    options = dict(options)
    if isinstance(options.get("workers"), int) and not isinstance(options["workers"], bool):
        options["workers"] = local_workers(options["workers"])
    spec = build_options(method_name, options, where=where,
                         outcome=getattr(panel, "outcome", None))
    design = getattr(spec, "design", None)
    on_rows = method_name == "did" and (design == "twfe" or (
        design == "auto" and getattr(panel, "common_start", None) is not None))
    if getattr(panel, "microdata", False) and not on_rows:  # TWFE alone runs on individuals
        from lpip_eval.data.microdata import cell_means

        panel = cell_means(panel, used_by=f"{m.title} ({getattr(spec, 'design', '')})")
    with naming(where):
        result = m.estimate(panel, spec, progress)
    if getattr(panel, "aggregation", ()):  # rows combined: lookups, boundaries, cell means
        notes = list(dict.fromkeys([*result.diagnostics.get("data_combined", []),
                                    *panel.aggregation]))
        result = dataclasses.replace(result, diagnostics={**result.diagnostics,
                                                          "data_combined": notes})
    return check_finite(result)


def _load(target: str) -> Any:
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def spec_keys(spec_class: type) -> dict[str, Any]:
    """The option names of a spec dataclass and their type annotations."""
    hints = typing.get_type_hints(spec_class)
    return {f.name: hints[f.name] for f in dataclasses.fields(spec_class)}


def build_spec(spec_class: type[S], options: Mapping[str, Any], *, where: Where) -> S:
    """``spec_class(**options)`` after checking every key, value type and value.

    ``where`` names the source in messages (see :func:`place`); every mistake is a
    UsageError (exit 2).
    """
    keys = spec_keys(spec_class)
    values: dict[str, Any] = {}
    for key, value in options.items():
        if key not in keys:
            shown = where("") if callable(where) else where
            raise UsageError(f"{shown.rstrip(' :')}: unknown option '{key}'",
                             hint=closest(key, list(keys)))
        try:
            values[key] = coerce(value, keys[key], where=place(where, key))
        except DataError as exc:
            raise UsageError(exc.message, hint=exc.hint) from None
    try:
        return spec_class(**values)
    except specs.OptionError as exc:
        raise UsageError(f"{place(where, exc.key)}: {exc.detail}", hint=exc.hint) from None


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
