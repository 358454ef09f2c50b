"""Money: ISO 4217 exponents, rounding once with ROUND_HALF_UP, and the Money type."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.money import (
    CurrencyMismatchError,
    Money,
    UnknownCurrencyError,
    from_minor,
    minor_exponent,
    quantize_precise,
    to_minor,
)

D = Decimal


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [
        ("USD", 2),
        ("EUR", 2),
        ("JPY", 0),
        ("CLP", 0),
        ("KRW", 0),
        ("BHD", 3),
        ("KWD", 3),
        ("IQD", 3),  # CLDR says 0, ISO 4217 says 3
        ("HUF", 2),  # CLDR says 0, ISO 4217 says 2
        ("IDR", 2),  # CLDR says 0, ISO 4217 says 2
        ("CLF", 4),
        ("UYW", 4),
    ],
)
def test_minor_exponent_follows_iso_4217(currency: str, exponent: int) -> None:
    assert minor_exponent(currency) == exponent


@pytest.mark.parametrize("currency", ["ABC", "usd", "", "US", "XAU", "XXX"])
def test_unknown_or_unbillable_currency_is_refused_with_a_clear_message(currency: str) -> None:
    with pytest.raises(UnknownCurrencyError, match="ISO 4217"):
        minor_exponent(currency)


def test_unknown_currency_error_is_a_value_error() -> None:
    assert issubclass(UnknownCurrencyError, ValueError)


@pytest.mark.parametrize(
    ("amount", "currency", "amount_minor"),
    [
        (D("1.005"), "USD", 101),
        (D("1.004999999"), "USD", 100),
        (D("-1.005"), "USD", -101),  # HALF_UP rounds half away from zero
        (D("0"), "USD", 0),
        (D("0.5"), "JPY", 1),
        (D("1234.499999999"), "JPY", 1234),
        (D("999.5"), "CLP", 1000),
        (D("1.0005"), "BHD", 1001),
        (D("2.3455"), "KWD", 2346),
        (D("0.00005"), "CLF", 1),
        (D("0.000049999"), "CLF", 0),
        (D("12.3456"), "CLF", 123456),
        (D("1.005"), "HUF", 101),
        (D("123"), "USD", 12300),
    ],
)
def test_to_minor_rounds_half_up_once(amount: Decimal, currency: str, amount_minor: int) -> None:
    assert to_minor(amount, currency) == amount_minor


@pytest.mark.parametrize(
    ("amount_minor", "currency", "amount"),
    [
        (12345, "USD", D("123.45")),
        (-1, "USD", D("-0.01")),
        (5, "JPY", D("5")),
        (1001, "BHD", D("1.001")),
        (123456, "CLF", D("12.3456")),
    ],
)
def test_from_minor(amount_minor: int, currency: str, amount: Decimal) -> None:
    result = from_minor(amount_minor, currency)
    assert result == amount
    assert result.as_tuple().exponent == -minor_exponent(currency)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (D("0.0000000005"), D("0.000000001")),
        (D("-0.0000000005"), D("-0.000000001")),
        (D("1.23456789049"), D("1.234567890")),
        (D(1) / D(3), D("0.333333333")),
        (D("12345678901234567890.1234567895"), D("12345678901234567890.123456790")),
    ],
)
def test_quantize_precise_keeps_nine_places(amount: Decimal, expected: Decimal) -> None:
    result = quantize_precise(amount)
    assert result == expected
    assert result.as_tuple().exponent == -9


@pytest.mark.parametrize(
    "call",
    [
        lambda: to_minor(1.0, "USD"),  # type: ignore[arg-type]
        lambda: quantize_precise(0.1),  # type: ignore[arg-type]
        lambda: from_minor(1.0, "USD"),  # type: ignore[arg-type]
        lambda: Money(1.5, "USD"),  # type: ignore[arg-type]
        lambda: Money(D("1"), "USD") * 1.5,  # type: ignore[operator]
        lambda: Money(D("1"), "USD") * Money(D("2"), "USD"),  # type: ignore[operator]
        lambda: Money(D("1"), "USD") + D("1"),  # type: ignore[operator]
    ],
)
def test_floats_and_nonsense_are_refused_with_type_error(call: object) -> None:
    with pytest.raises(TypeError):
        call()  # type: ignore[operator]


def test_non_finite_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        Money(D("NaN"), "USD")


def test_money_arithmetic_within_one_currency() -> None:
    ten = Money(D("10.00"), "USD")
    assert ten + Money(D("0.005"), "USD") == Money(D("10.005"), "USD")
    assert ten - Money(D("2.5"), "USD") == Money(D("7.5"), "USD")
    assert ten * D("0.333") == Money(D("3.33"), "USD")
    assert 3 * ten == Money(D("30"), "USD")
    assert (ten * D("0.1234567891")).amount == D("1.234567891")
    assert -ten == Money(D("-10"), "USD")
    assert Money(D("10.005"), "USD").to_minor() == 1001
    assert Money.from_minor(1001, "BHD") == Money(D("1.001"), "BHD")
    assert Money(1, "JPY").amount == D(1)  # type: ignore[arg-type]


def test_money_comparison_within_one_currency() -> None:
    small, large = Money(D("1"), "EUR"), Money(D("2"), "EUR")
    assert small < large <= large
    assert large > small >= small
    assert Money(D("1.0"), "EUR") == Money(D("1.00"), "EUR")
    assert Money(D("1"), "EUR") != Money(D("1"), "USD")


@pytest.mark.parametrize(
    "call",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a >= b,
    ],
)
def test_mixed_currencies_are_refused(call: object) -> None:
    with pytest.raises(CurrencyMismatchError, match="USD and EUR"):
        call(Money(D("1"), "USD"), Money(D("1"), "EUR"))  # type: ignore[operator]


def test_money_refuses_unknown_currency() -> None:
    with pytest.raises(UnknownCurrencyError):
        Money(D("1"), "usd")


@given(
    amount_minor=st.integers(min_value=-(10**15), max_value=10**15),
    currency=st.sampled_from(["JPY", "USD", "BHD", "CLF", "KWD", "EUR"]),
)
def test_to_minor_inverts_from_minor(amount_minor: int, currency: str) -> None:
    assert to_minor(from_minor(amount_minor, currency), currency) == amount_minor


@given(
    amount=st.decimals(min_value=-(10**9), max_value=10**9, places=9, allow_nan=False),
    currency=st.sampled_from(["JPY", "USD", "BHD", "CLF"]),
)
def test_to_minor_is_within_half_a_minor_unit(amount: Decimal, currency: str) -> None:
    error = from_minor(to_minor(amount, currency), currency) - amount
    assert abs(error) <= D(1).scaleb(-minor_exponent(currency)) / 2
