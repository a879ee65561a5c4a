"""The one number formatter (lpip_eval.numbers): the output of the six formatters it replaced."""

from __future__ import annotations

import math

import pytest

from lpip_eval.numbers import fmt_number, fmt_p


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
    (-1.23456, 4, "-1.2346"),      # ASCII minus, fixed decimals
    (12345.678, 4, "1.235e+04"),   # large: significant digits, no separators
    (0.000123, 3, "0.000123"),     # small: significant digits
    (0, 4, "0.0000"),              # zero is not "small"
    (7, 3, "7.000"),               # integers pass
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
