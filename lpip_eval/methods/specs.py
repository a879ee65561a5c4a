"""The options of every design, with their help text and their checks (imports nothing heavy).

A spec is a frozen dataclass; each field is declared with :func:`option`, whose metadata
carries the help text (shown by ``lpip-eval COMMAND --help``, the starter config and
``docs/config.md``), the command-line flag where it is not ``--`` + the key with dashes, and
the allowed values or range. :class:`Checked` checks every field against that metadata when a
spec is made, so a mistake is caught once, the same way for the command line, a config file
and a library call, as an :class:`OptionError` (exit 2) naming the key; the registry's
``build_spec`` names it in the caller's words (``--draws`` or ``evaluation.toml [did]
'draws'``). Kept light so ``lpip-eval --help`` needs no NumPy.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

from lpip_eval.errors import UsageError

DEFAULT_SEED = 20240101
MIN_DRAWS = 19  # fewer cannot give p < 0.05 with the observed statistic included
MAX_DRAWS = 100_000  # memory and time: more draws move p-values by < 0.001
DID_DESIGNS = ("auto", "2x2", "twfe", "event-study", "callaway-santanna")
CS_DESIGNS = ("callaway-santanna",)  # estimated from influence functions (DidSpec)
STAGGERED_DESIGNS = ("imputation", "sun-abraham")
INFERENCE_NAMES = ("auto", "cluster", "wild-bootstrap", "randomization")
DID_INFERENCE = (*INFERENCE_NAMES, "multiplier-bootstrap")
CS_DEFAULTS = {"control_group": "never", "estimation": "dr", "base_period": "varying"}
AREA_DISTANCES = ("mahalanobis", "ivariance", "propensity")
UNIT_DISTANCES = ("mahalanobis", "ivariance", "euclidean")
V_MODES = ("optimize", "equal", "regression", "cv")
SENSITIVITY_NAMES = ("smoothness", "relative-magnitudes", "none")


class OptionError(UsageError):
    """A spec option with a value no design can take (exit 2); ``key`` is the spec field."""

    def __init__(self, key: str, message: str, hint: str | None = None) -> None:
        super().__init__(f"'{key}' {message}", hint=hint)
        self.key = key
        self.detail = message


def option(default: Any = dataclasses.MISSING, help: str = "", *, flag: str | None = None,
           choices: tuple[Any, ...] | None = None, low: float | None = None,
           high: float | None = None, open_range: bool = False, cli: bool = True,
           config_help: str | None = None, repeat: bool = False) -> Any:
    """A spec field with its documentation and limits.

    ``flag``: the command-line option when it is not ``--key-with-dashes`` (bools: the
    ``--x/--no-x`` pair); ``cli=False``: no option of its own. ``choices``, ``low``/``high``
    (inclusive, or exclusive with ``open_range``) are checked by :class:`Checked`.
    ``config_help``: wording for config files where it differs from the command line's.
    ``repeat``: a list given on the command line by repeating the option (other lists are
    comma-separated text).
    """
    metadata = {"help": help, "flag": flag, "choices": choices, "low": low, "high": high,
                "open": open_range, "cli": cli, "config_help": config_help, "repeat": repeat}
    return dataclasses.field(default=default, metadata=metadata)


def ci_level_option() -> Any:
    return option(0.95, "Interval level.", low=0.0, high=1.0, open_range=True)


def seed_option() -> Any:
    return option(DEFAULT_SEED, "Random seed.", low=0)


def draws_option(default: int = 999, **kwargs: Any) -> Any:
    kwargs.setdefault("help", "Bootstrap / randomization / placebo draws.")
    return option(default, low=MIN_DRAWS, high=MAX_DRAWS, **kwargs)


def inference_option(default: str, choices: tuple[str, ...], help: str,
                     config_help: str | None = None) -> Any:
    return option(default, help, choices=choices, config_help=config_help)


def workers_option() -> Any:
    return option(1, "Processes for placebo refits.", low=1,
                  config_help="Processes for the placebo refits.")


class Checked:
    """Mixin: every :func:`option` field is checked against its choices and range."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            check_value(f, getattr(self, f.name))


def check_value(f: dataclasses.Field[Any], value: Any) -> None:
    """OptionError unless ``value`` fits field ``f``'s choices and range."""
    meta = f.metadata
    choices = meta.get("choices")
    if choices and value is not None and value not in choices:
        raise OptionError(f.name, f"cannot be {value!r}",
                          hint=f"use one of {', '.join(map(str, choices))}")
    low, high = meta.get("low"), meta.get("high")
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise OptionError(f.name, f"must be a finite number, got {value}")
    if meta.get("open") and low is not None and high is not None:
        if not low < value < high:
            raise OptionError(f.name, f"{value} is not between {low:g} and {high:g}",
                              hint=f"e.g. {f.default}")
        return
    if low is not None and value < low:
        raise OptionError(f.name, f"must be at least {low:g}, got {value}",
                          hint=f"e.g. {f.default}" if f.default is not None else None)
    if high is not None and value > high:
        raise OptionError(f.name, f"must be at most {high:g}, got {value}",
                          hint="more draws than this change p-values by less than 0.001")


# --------------------------------------------------------------------------- did


def sensitivity_option() -> Any:
    return option((), "HonestDiD sensitivity (Rambachan & Roth 2023) of the event-study "
                  "effect: smoothness (post-period trends may bend by up to M per period "
                  "squared) or relative-magnitudes (post-period changes up to Mbar times the "
                  "largest pre-period one); repeat for both, none for neither. Default: both "
                  "with 10+ treated areas, neither with fewer.", repeat=True,
                  config_help="HonestDiD sensitivity: a list of smoothness, "
                  "relative-magnitudes (or none). Default: both with 10+ treated areas.")


def sensitivity_m_option() -> Any:
    return option((), "Comma-separated M values (outcome units) for the smoothness "
                  "sensitivity (default: 0 to 2 standard errors of the target, 5 values).",
                  config_help="M values (outcome units) for the smoothness sensitivity "
                  "(default: 0 to 2 standard errors of the target).")


def sensitivity_mbar_option() -> Any:
    return option((), "Comma-separated Mbar ratios for the relative-magnitudes sensitivity "
                  "(default 0,0.5,1,1.5,2).",
                  config_help="Mbar ratios for the relative-magnitudes sensitivity "
                  "(default [0, 0.5, 1, 1.5, 2]).")


def sensitivity_target_option() -> Any:
    return option("average", "What the sensitivity bounds: first (the first post period) or "
                  "average (of the post periods).", choices=("first", "average"))


def check_sensitivity(spec: Any, applies: bool) -> None:
    """OptionError for an unknown sensitivity name, a negative M or Mbar, or sensitivity
    options on a design without event-study coefficients."""
    for name in spec.sensitivity:
        if name not in SENSITIVITY_NAMES:
            raise OptionError("sensitivity", f"cannot be {name!r}",
                              hint=f"use one of {', '.join(SENSITIVITY_NAMES)}")
    for key in ("sensitivity_m", "sensitivity_mbar"):
        for value in getattr(spec, key):
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise OptionError(key, f"must be numbers of at least 0, got {value!r}")
    asked = [n for n in spec.sensitivity if n != "none"] or spec.sensitivity_m \
        or spec.sensitivity_mbar
    if asked and not applies:
        raise OptionError("sensitivity", f"needs event-study coefficients; design "
                          f"{spec.design!r} has none",
                          hint="use --design event-study, sun-abraham or imputation")


@dataclass(frozen=True)
class DidSpec(Checked):
    """Options of ``lpip-eval did`` that are not about the data.

    ``design="auto"`` (default) runs ``twfe`` on one common start and ``callaway-santanna``
    on staggered starts. ``control_group``, ``estimation`` and ``base_period`` are the
    options of Callaway & Sant'Anna (2021); ``multiplier-bootstrap`` inference is theirs
    too, and ``wild-bootstrap`` belongs to the regression designs.
    """

    design: str = option("auto", "auto (twfe on one common start, callaway-santanna on "
                         "staggered starts), 2x2 (pre/post means), twfe (two-way fixed "
                         "effects), event-study, callaway-santanna, imputation (Borusyak, "
                         "Jaravel & Spiess) or sun-abraham (interaction-weighted event "
                         "study).", choices=DID_DESIGNS)
    inference: str = inference_option(
        "auto", DID_INFERENCE, "auto, cluster, wild-bootstrap (regression designs), "
        "multiplier-bootstrap (callaway-santanna) or randomization. auto never uses "
        "clustered SEs with fewer than 10 treated areas.")
    ci_level: float = ci_level_option()
    draws: int = draws_option()
    seed: int = seed_option()
    bootstrap_weights: str | None = option(
        None, "rademacher or webb (wild bootstrap; default by cluster count); rademacher "
        "(default, as R did) or mammen (multiplier bootstrap).",
        choices=("rademacher", "webb", "mammen"))
    control_group: str = option("never", "callaway-santanna: comparison areas never treated, "
                                "or not yet treated (never-treated included).",
                                choices=("never", "not-yet"))
    estimation: str = option("dr", "callaway-santanna: dr (doubly robust), ipw or reg "
                             "(outcome regression); covariates at the base period.",
                             choices=("dr", "ipw", "reg"))
    base_period: str = option("varying", "callaway-santanna: varying (the period before, "
                              "for pre-periods) or universal (the period before the start).",
                              choices=("varying", "universal"))
    sensitivity: tuple[str, ...] = sensitivity_option()
    sensitivity_m: tuple[float, ...] = sensitivity_m_option()
    sensitivity_mbar: tuple[float, ...] = sensitivity_mbar_option()
    sensitivity_target: str = sensitivity_target_option()

    def __post_init__(self) -> None:
        super().__post_init__()
        check_sensitivity(self, self.design in ("auto", "event-study", *CS_DESIGNS))
        regression = self.design not in ("auto", *CS_DESIGNS)
        if regression:
            for key, default in CS_DEFAULTS.items():
                if getattr(self, key) != default:
                    raise OptionError(key, f"is not used with design \"{self.design}\"",
                                      hint="use --design callaway-santanna (or auto)")
            if self.inference == "multiplier-bootstrap":
                raise OptionError("inference", "multiplier-bootstrap is not used with design "
                                  f"\"{self.design}\"", hint="use wild-bootstrap, or "
                                  "--design callaway-santanna")
        if self.design in CS_DESIGNS and self.inference == "wild-bootstrap":
            raise OptionError("inference", "wild-bootstrap is not used with design "
                              f"\"{self.design}\"", hint="use multiplier-bootstrap")
        if self.bootstrap_weights == "mammen" and regression:
            raise OptionError("bootstrap_weights", "mammen is for the multiplier bootstrap",
                              hint="use rademacher or webb")



@dataclass(frozen=True)
class StaggeredSpec(Checked):
    """Options of the staggered-adoption designs ``did --design imputation`` and
    ``did --design sun-abraham``."""

    design: str = option("imputation", "imputation (Borusyak, Jaravel & Spiess 2024) or "
                         "sun-abraham (interaction-weighted event study).",
                         choices=STAGGERED_DESIGNS)
    inference: Literal["auto", "cluster", "randomization"] = inference_option(
        "auto", ("auto", "cluster", "randomization"), "auto, cluster or randomization "
        "(start periods reassigned across areas). auto: randomization with fewer than 10 "
        "treated areas, else cluster.")
    ci_level: float = ci_level_option()
    draws: int = draws_option()
    seed: int = seed_option()
    sensitivity: tuple[str, ...] = sensitivity_option()
    sensitivity_m: tuple[float, ...] = sensitivity_m_option()
    sensitivity_mbar: tuple[float, ...] = sensitivity_mbar_option()
    sensitivity_target: str = sensitivity_target_option()

    def __post_init__(self) -> None:
        super().__post_init__()
        check_sensitivity(self, True)


# --------------------------------------------------------------------------- match


@dataclass(frozen=True)
class MatchSpec(Checked):
    """Options of ``lpip-eval match`` that are not about the data."""

    match_on: tuple[str, ...] = option(
        (), "Comma-separated covariates to match on (pre-period means).")
    use_outcome_level: bool = option(True, "Match on the pre-period outcome level.",
                                     flag="--outcome-level/--no-outcome-level")
    use_outcome_trend: bool = option(True, "Match on the pre-period outcome trend.",
                                     flag="--outcome-trend/--no-outcome-trend")
    distance: str = option("mahalanobis", "mahalanobis, ivariance or propensity (nnmatch: "
                           "mahalanobis, ivariance or euclidean).",
                           choices=tuple(dict.fromkeys((*AREA_DISTANCES, *UNIT_DISTANCES))))
    k: int = option(1, "Comparison areas per pilot area.", low=1)
    replace: bool = option(False, "Match with or without replacement.",
                           flag="--replace/--no-replace")
    caliper: float | None = option(None, "Largest allowed difference, in standard deviations.",
                                   low=0.0, high=math.inf, open_range=True)
    exact: tuple[str, ...] = option(
        (), "Comma-separated text columns to match exactly (e.g. region).")
    cem: bool = option(False, "Coarsened exact matching.")
    cem_bins: int | None = option(None, "Bins per variable for --cem (default: Sturges' rule).",
                                  low=1)
    design: str = option("twfe", "DiD on the matched set: twfe or 2x2. nnmatch: unit-level "
                         "data (one row per person or firm, no periods): the ATT of Stata's "
                         "teffects nnmatch, matching with replacement, Abadie-Imbens standard "
                         "error; the id column is --area-col if the file has it.",
                         choices=("twfe", "2x2", "nnmatch"))
    inference: str = inference_option(
        "auto", INFERENCE_NAMES, "auto, cluster (CR1), wild-bootstrap or randomization. auto "
        "never uses clustered SEs with fewer than 10 treated areas.")
    ci_level: float = ci_level_option()
    draws: int = draws_option()
    seed: int = seed_option()
    bias_adjust: bool = option(False, "nnmatch: Abadie-Imbens bias adjustment on the matching "
                               "variables.", flag="--bias-adjust/--no-bias-adjust")
    vce_nn: int = option(2, "nnmatch: own-group neighbours behind each unit's variance "
                         "(teffects vce(robust, nn(#)); 0 = one variance for all).", low=0)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.design == "nnmatch":
            for key, unused in (("caliper", None), ("cem", False), ("cem_bins", None),
                                ("replace", False)):
                if getattr(self, key) != unused:
                    raise OptionError(key, "is not used with design \"nnmatch\"",
                                      hint="nnmatch keeps every nearest match, with "
                                      "replacement; leave out caliper and cem")
            if self.distance not in UNIT_DISTANCES:
                raise OptionError("distance", f"'{self.distance}' is not used with design "
                                  "\"nnmatch\"", hint=f"use one of {', '.join(UNIT_DISTANCES)}")
        elif self.distance not in AREA_DISTANCES:
            raise OptionError("distance", f"'{self.distance}' is only used with design "
                              "\"nnmatch\"", hint=f"use one of {', '.join(AREA_DISTANCES)}")


# --------------------------------------------------------------------------- synth


@dataclass(frozen=True)
class Predictor:
    """One predictor: ``column``'s mean over ``periods`` (first, last label; None = every
    pre-period) or, with ``op="value"``, its value in the single period ``periods[0]``."""

    column: str
    periods: tuple[str, str] | None = None
    op: Literal["mean", "value"] = "mean"

    @property
    def label(self) -> str:
        if self.periods is None:
            return f"{self.column} (mean, pre-period)"
        first, last = self.periods
        if self.op == "value" or first == last:
            return f"{self.column} ({first})"
        return f"{self.column} (mean {first}-{last})"


@dataclass(frozen=True)
class SynthSpec(Checked):
    """Options of ``lpip-eval synth`` that are not about the data.

    ``v``: "optimize" (nested search, default), "equal", "regression" (R Synth's
    regression-based V, no search), "cv" (ADH 2015: V chosen on the earlier half of the
    pre-period with the later half as validation, W from predictors measured in the later
    half) or explicit weights, one per predictor. ``penalty``: lambda of Abadie & L'Hour
    (2021) on standardised predictors. ``donors_nearest``: keep the K donors closest to the
    pilot in pre-period outcome (RMS distance over the fitting window), for every fit.
    ``inference``: "placebo" (or "auto", the same) or "none". ``draws``: random sets of
    placebos for the p-value of several pilot areas fitted one by one. ``placebo_in_time``:
    refit with a fake start halfway through the pre-period (predictors cut to the periods
    before it). ``leave_one_out``: refit without each donor with weight (at most 20). ``seed``
    seeds the V search (per fitted area) and the placebo sets; ``workers`` processes run the
    refits (results do not depend on it).
    """

    predictors: tuple[Predictor, ...] = option(
        (), "COLUMN[:PERIODS][:mean|value], e.g. lnincome:1980-1988:mean or cigsale:1975 "
        "(repeatable; default: the outcome in every fitting period).", flag="--predictor",
        repeat=True,
        config_help="Predictors, COLUMN[:PERIODS][:mean|value], e.g. "
        "\"employment_rate:2019Q1-2021Q2\" (default: every pre-period outcome and the "
        "covariates' means).")
    fit_periods: tuple[str, str] | None = option(
        None, "Periods whose outcome the weights are chosen to match, e.g. 1970-1988 (default: "
        "all before the start).", config_help="First and last period of the fitting window "
        "(default: every pre-period).")
    v: str | tuple[float, ...] = option(
        "optimize", "Predictor weights: optimize, equal, regression, cv (ADH 2015) or numbers "
        "w1,w2,... one per predictor.", config_help="Predictor weights: optimize, equal, "
        "regression, cv, or a list of numbers.")
    donors_nearest: int | None = option(
        None, "Keep only the K donors closest before the start.", low=2,
        config_help="Keep the K donors closest to the pilot before the start.")
    penalty: float | None = option(None, "Penalised SC lambda (Abadie & L'Hour 2021).", low=0.0,
                                   config_help="Penalty lambda of Abadie & L'Hour (2021).")
    inference: Literal["auto", "placebo", "conformal", "none"] = inference_option(
        "placebo", ("auto", "placebo", "conformal", "none"),
        "placebo (placebo-in-space ranks; auto = placebo), conformal (Chernozhukov, "
        "Wuthrich & Zhu 2021: permutations over time, for few or unlike donors) or none.",
        config_help="placebo (in-space placebo test), conformal (permutations over time, "
        "Chernozhukov et al. 2021) or none.")
    placebo_mspe_cutoff: float | None = option(
        None, "Leave out placebos whose pre-period MSPE exceeds this multiple of the pilot's.",
        low=0.0, high=math.inf, open_range=True, config_help="Leave out placebos whose "
        "pre-period MSPE exceeds this many times the pilot's.")
    placebo_in_time: bool = option(
        True, "Refit with a fake start in the pre-period.",
        flag="--placebo-in-time/--no-placebo-in-time",
        config_help="Also run a placebo with a fake start in the pre-period.")
    leave_one_out: bool = option(True, "Refit without each donor with weight.",
                                 flag="--leave-one-out/--no-leave-one-out",
                                 config_help="Refit leaving out each donor with weight in turn.")
    aggregate: bool = option(False, "Several pilot areas: fit their average as one area.",
                             config_help="Fit the average of the pilot areas instead of each "
                             "one.")
    ci_level: float = ci_level_option()
    draws: int = draws_option()
    seed: int = seed_option()
    workers: int = workers_option()

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.v, str) and self.v not in V_MODES:
            raise OptionError("v", f"{self.v!r} is neither a method nor weights",
                              hint=f"use one of {', '.join(V_MODES)} or one weight per "
                              "predictor")
        if isinstance(self.v, tuple) and (not self.v or min(self.v) < 0 or sum(self.v) <= 0):
            raise OptionError("v", "weights must be non-negative and not all 0",
                              hint="give one weight per predictor, e.g. 1,1,2")


SDID_ESTIMATORS = ("sdid", "sc", "did")


@dataclass(frozen=True)
class SdidSpec(Checked):
    """Options of ``lpip-eval synth --design sdid``.

    ``estimator`` is ``"sdid"`` (default), ``"sc"`` or ``"did"`` (the other two estimators of
    the synthetic DiD framework, for comparison).
    """

    estimator: str = option("sdid", "With --design sdid: sdid, or sc / did in the same "
                            "framework (Arkhangelsky et al. 2021, Table 1).",
                            choices=SDID_ESTIMATORS, config_help="sdid, sc or did (the "
                            "estimators of the synthetic DiD framework).")
    placebo_reps: int = draws_option(200, flag="--draws", config_help="Placebo replications "
                                     "for the synthetic DiD standard error.")
    inference: Literal["auto", "placebo", "conformal"] = inference_option(
        "auto", ("auto", "placebo", "conformal"),
        "auto (placebo SE, or placebo ranks when the pilot is unlike the comparison areas), "
        "placebo or conformal.", config_help="auto, placebo or conformal.")
    ci_level: float = ci_level_option()
    seed: int = seed_option()
    workers: int = workers_option()
