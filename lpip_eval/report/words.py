"""The report's sentences: the words every output uses for a result, in one module.

The headline sentence (direction, size with unit and range, honest about zero), the outcome's
label and unit, the e-mail subject and the reader-facing name of each method. The HTML and
e-mail context (``report/context.py``), the designs compared (``report/triangulation.py``)
and a config run's Markdown summary (``runs/batch.py``) all take their wording from here;
numbers are formatted by :mod:`lpip_eval.numbers`. Works on result dicts (the JSON form of
an EffectResult).
"""

from __future__ import annotations

import math
import re
from typing import Any

from lpip_eval.methods.registry import method_titles
from lpip_eval.numbers import effect_decimals, fmt_number, fmt_p

METHOD_NAMES = method_titles()  # "did" -> "difference-in-differences", from the registry


def outcome_words(result: dict[str, Any]) -> tuple[str, str]:
    """(label, unit) of the outcome, e.g. ('employment rate', 'percentage points'): the
    ``--outcome-label`` if given, else :func:`readable_name` of the column."""
    label = result.get("outcome_label") or readable_name(str(result["outcome"]))
    return label, result.get("outcome_unit") or ""


_WORD = re.compile(r"[A-Za-z]{2,}|[0-9]+")
_ABBREVIATIONS = {"ln", "lg", "log", "pc", "pct", "sq"}


def readable_name(column: str) -> str:
    """A column name as words when that is safe, else as given (issue 13): ``employment_rate``
    -> "employment rate", but ``l_homicide`` stays ``l_homicide`` (a one-letter part is an
    abbreviation, e.g. for a log, that spaces would turn into "the l homicide")."""
    parts = [p for p in re.split(r"[_.]", column) if p]
    if len(parts) > 1 and all(_WORD.fullmatch(p) and p.lower() not in _ABBREVIATIONS
                              for p in parts):
        return " ".join(parts)
    return column


def sentence_case(label: str) -> str:
    """``label`` starting a sentence or title: its first letter upper-cased, the rest as given
    ("GDP per head" stays so, where ``str.capitalize`` gives "Gdp per head"); a column name
    kept as given (``l_homicide``) is not touched, as "L_homicide" is no name at all."""
    text = str(label)
    if "_" in text.split(" ", maxsplit=1)[0]:
        return text
    return text[:1].upper() + text[1:]


def chart_label(chart: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """A design's ready-made chart (``diagnostics.charts``, titled by the method with the
    column name) in the reader's words: the outcome's label in title and alt text, and a
    y-axis label with the unit, so ``--outcome-label`` reaches every chart."""
    label, unit = outcome_words(result)
    raw = str(result["outcome"])
    out = dict(chart)
    for key in ("title", "alt"):
        text = str(out.get(key) or "")
        for old in dict.fromkeys((raw.replace("_", " "), raw)):
            if old and old != label:
                text = re.sub(rf"(?<![\w]){re.escape(old)}(?![\w])", lambda _: label, text)
        out[key] = sentence_case(text) if key == "title" else text
    unit_text = f" ({unit})" if unit else ""
    if not out.get("ylabel"):
        if out.get("kind") == "paths":
            out["ylabel"] = sentence_case(label) + unit_text
        elif out.get("kind") in ("gap", "placebo"):
            out["ylabel"] = f"Gap in {label}{unit_text}"
    return out


def decimals(result: dict[str, Any]) -> int:
    """How many decimals every output shows for this result's estimate, range and per-period
    effects: three significant figures of the range (:func:`lpip_eval.numbers.effect_decimals`),
    so the headline, the big box and the tables agree."""
    est = result["estimate"]
    return effect_decimals(est["att"], est["ci_low"], est["ci_high"], est.get("se"))


LOG_UNITS = ("log points", "log", "log scale")


def is_log(result: dict[str, Any]) -> bool:
    """Whether the outcome is a natural log: ``outcome_scale == "log"`` in the result, or the
    unit says so (``--outcome-unit "log points"``)."""
    unit = str(result.get("outcome_unit") or "").strip().lower()
    return result.get("outcome_scale") == "log" or unit in LOG_UNITS


def percent(b: float | None, *, signed: bool = True) -> str:
    """A log-point effect as the percentage change it means, 100 (e^b - 1): +0.0694 ->
    '+7.2%', 0.182 -> '+20%' (two significant figures, at most one decimal)."""
    if b is None or not math.isfinite(b):
        return "n/a"
    value = 100 * math.expm1(b)
    return fmt_number(value, 1 if abs(value) < 10 else 0, signed=signed) + "%"


def headline(result: dict[str, Any]) -> str:
    """The plain-English sentence: direction, size with unit, and range; honest about zero.
    A log outcome's numbers are followed by the percentage change they mean. When the
    pre-trend test rejected parallel trends, the headline says so too: read alone (as an
    e-mail's first lines are), it must not sound surer than the rating beneath it."""
    return _effect_sentence(result) + _pretrend_caveat(result)


def _pretrend_caveat(result: dict[str, Any]) -> str:
    pre = (result.get("diagnostics") or {}).get("pretrend_test") or {}
    if not pre.get("rejected_at_5pct"):
        return ""
    test = "pre-trend test " + fmt_p(pre.get("p_value"), prefix=True)
    return (" Before it started, the pilot and comparison areas were already moving "
            f"differently ({test}), so the comparison may not show what would have happened "
            "without it.")


def _effect_sentence(result: dict[str, Any]) -> str:
    est = result["estimate"]
    label, unit = outcome_words(result)
    att, low, high = est["att"], est["ci_low"], est["ci_high"]
    level = f"{est['ci_level']:.0%}"
    unit_text = f" {unit}" if unit else ""
    d = decimals(result)
    log = is_log(result) and all(v is not None and math.isfinite(v) for v in (att, low, high))
    size = fmt_number(abs(att), d)
    rng = f"{level} range {fmt_number(low, d)} to {fmt_number(high, d)}{unit_text}"
    if log:
        if low > 0 or high < 0:
            return (f"The pilot is estimated to have {'raised' if att > 0 else 'lowered'} the "
                    f"{label} by {size}{unit_text}, about {percent(abs(att), signed=False)} "
                    f"({rng}, about {percent(low)} to {percent(high)}).")
        unit_text += f" (about {percent(att)})"
        rng += f" (about {percent(low)} to {percent(high)})"
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return (f"The pilot is estimated to have changed the {label} by {fmt_number(att, d)}"
                f"{unit_text}, but no reliable range could be computed.")
    if low <= 0 <= high:
        return (f"The pilot's effect on the {label} cannot be told apart from zero: the estimate "
                f"is {fmt_number(att, d, signed=True)}{unit_text}, but the {rng} includes no "
                "effect at all." + _largest_gap(est))
    verb = "raised" if att > 0 else "lowered"
    return f"The pilot is estimated to have {verb} the {label} by {size}{unit_text} ({rng})."


def _largest_gap(est: dict[str, Any]) -> str:
    """When the pilot's gap after the start is the largest of all areas (the placebo chart
    shows it as the outlier) but the ratio test does not reject, both facts (issue 12)."""
    details = (est.get("inference") or {}).get("details") or {}
    if details.get("post_rank") != 1 or "placebos" not in details:
        return ""
    n, closer = int(details["placebos"]), int(details.get("placebos_fitted_closer", 0))
    return (f" Its gap after the start was the largest of all {n + 1} areas, as the placebo "
            "chart shows, but the test divides each area's gap by how closely it was matched "
            f"before the start, and {closer} of the {n} comparison areas were matched more "
            "closely than the pilot.")


def subject(result: dict[str, Any]) -> str:
    """The e-mail's Subject, on one line: 'Pilot evaluation: employment rate raised by 1.23
    percentage points', or 'no clear effect on ...' when the range includes zero (a column
    name may hold a line break; labels and units were refused with one at the edge)."""
    return " ".join(_subject_words(result).splitlines())


def _subject_words(result: dict[str, Any]) -> str:
    est = result["estimate"]
    label, unit = outcome_words(result)
    low, high = est["ci_low"], est["ci_high"]
    if low is not None and high is not None and low <= 0 <= high:
        return f"Pilot evaluation: no clear effect on {label}"
    word = "raised" if est["att"] > 0 else "lowered"
    return (f"Pilot evaluation: {label} {word} by {fmt_number(abs(est['att']), decimals(result))}"
            f"{(' ' + unit) if unit else ''}")
