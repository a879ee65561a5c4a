"""The one number formatter (lpip_eval.numbers): the output of the six formatters it replaced."""

from __future__ import annotations

import math

import pytest

from lpip_eval.numbers import decimals_for, effect_decimals, fmt_number, fmt_p, fmt_sig


@pytest.mark.parametrize(("value", "digits", "signed", "shown"), [
    (-1234.5, 2, False, "\u22121,234.50"),
    (1234.5, 3, True, "+1,234.500"),
    (-0.0004, 3, True, "\u22120.000"),
    (0.25, 2, False, "0.25"),
    (None, 2, False, "n/a"),
    (math.nan, 3, True, "n/a"),
    (math.inf, 2, False, "n/a"),
])
def test_prose_numbers(value: float | None, digits: int, signed: bool, shown: str) -> None:
    assert fmt_number(value, digits, signed=signed) == shown


@pytest.mark.parametrize(("value", "digits", "shown"), [
    (-1.23456, 4, "-1.235"),       # ASCII minus, significant figures
    (12345.678, 4, "12,346"),      # large: no scientific notation (was 1.235e+04)
    (-21305.2, 4, "-21,305"),      # was -2.131e+04
    (4621.9057, 4, "4,622"),       # validate: same style as 19,450 (was 4621.9057)
    (0.000123, 3, "0.000123"),     # small: significant digits
    (2.077e-16, 4, "< 0.000001"),  # an exact fit's RMSPE (was 2.077e-16)
    (0, 4, "0"),
    (7, 3, "7.00"),
    (None, 4, "-"),
    (math.nan, 4, "-"),
])
def test_console_numbers(value: float | None, digits: int, shown: str) -> None:
    assert fmt_number(value, digits, console=True) == shown


@pytest.mark.parametrize(("value", "shown"), [
    (0.0004, "< 0.001"), (0.001, "0.001"), (0.04567, "0.046"), (1.0, "1.000"),
    (None, "n/a"), (math.nan, "n/a"),
])
def test_p_values(value: float | None, shown: str) -> None:
    assert fmt_p(value) == shown


def test_without_separators() -> None:
    # standardised mean differences in the love plot's table: signed, no thousands separator
    assert fmt_number(1234.5678, 3, signed=True, separators=False) == "+1234.568"
    assert fmt_number(-0.05, 3, signed=True, separators=False) == "\u22120.050"


@pytest.mark.parametrize(("value", "shown"), [
    (21013.188, "21,013"), (0.0123456, "0.01235"), (-862.8916, "\u2212862.9"),
    (1.7e18, "1,700,000,000,000,000,000"), (2e-16, "< 0.000001"), (-2e-16, "> \u22120.000001"),
])
def test_significant_figures(value: float, shown: str) -> None:
    assert fmt_sig(value) == shown
    assert "e+" not in shown and "e-" not in shown


def test_decimals_follow_the_uncertainty() -> None:
    # Texas prisons: a range of +/-42,000 needs no decimals (no fractional prisoners)
    assert effect_decimals(21013.188, -21305.2, 63331.5) == 0
    # castle doctrine, log homicide: +/-0.11 gets two
    assert effect_decimals(0.0694, -0.043, 0.182) == 2
    assert effect_decimals(1.4877, 1.2019, 1.7673) == 2
    assert effect_decimals(5.0, None, None, se=None) == 2
    assert decimals_for(None) == 2 and decimals_for(1e-30) == 6


def test_p_value_phrase() -> None:
    assert fmt_p(4.29e-51, prefix=True) == "p < 0.001"  # never "p = < 0.001"
    assert fmt_p(0.176, prefix=True) == "p = 0.176"
