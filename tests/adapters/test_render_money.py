"""Money, quantities and dates exactly as Babel formats them (NBSP U+00A0, NNBSP U+202F)."""

from __future__ import annotations

from datetime import date

import pytest

from notifications.render import date_medium, language_of, money, number, period, unit_price

NBSP = "\u00a0"
NNBSP = "\u202f"


@pytest.mark.parametrize(
    ("amount_minor", "currency", "locale", "expected"),
    [
        (123456, "EUR", "fr_FR", f"1{NNBSP}234,56{NBSP}€"),
        (5, "EUR", "fr_FR", f"0,05{NBSP}€"),
        (-500, "EUR", "fr_FR", f"-5,00{NBSP}€"),
        (123456, "EUR", "en_US", "€1,234.56"),
        (1234567, "JPY", "en_US", "¥1,234,567"),
        (1234567, "JPY", "ja_JP", "￥1,234,567"),
        (1234567, "JPY", "fr_FR", f"1{NNBSP}234{NNBSP}567{NBSP}JPY"),
        (1234567, "BHD", "en_US", "BHD1,234.567"),
        (1234567, "BHD", "fr_FR", f"1{NNBSP}234,567{NBSP}BHD"),
        (1, "BHD", "en_US", "BHD0.001"),
    ],
)
def test_money_uses_the_currency_exponent_and_the_locale(
    amount_minor: int, currency: str, locale: str, expected: str
) -> None:
    assert money(amount_minor, currency, locale) == expected


@pytest.mark.parametrize(
    ("unit_amount", "currency", "locale", "expected"),
    [
        ("0.0015", "EUR", "fr_FR", f"0,0015{NBSP}€"),
        ("0.001500000", "EUR", "fr_FR", f"0,0015{NBSP}€"),
        ("100", "EUR", "fr_FR", f"100,00{NBSP}€"),
        ("12.5", "JPY", "en_US", "¥12.5"),
        ("3", "BHD", "en_US", "BHD3.000"),
    ],
)
def test_unit_price_keeps_sub_minor_digits(
    unit_amount: str, currency: str, locale: str, expected: str
) -> None:
    assert unit_price(unit_amount, currency, locale) == expected


def test_quantities_and_dates_follow_the_locale() -> None:
    assert number("12500.50", "fr_FR") == f"12{NNBSP}500,5"
    assert number("1000", "en_US") == "1,000"
    assert date_medium(date(2025, 3, 5), "fr_FR") == "5 mars 2025"
    assert date_medium(date(2025, 3, 5), "en_US") == "Mar 5, 2025"


def test_half_open_period_is_shown_up_to_its_last_day() -> None:
    assert period(date(2025, 3, 1), date(2025, 4, 1), "fr_FR") == "1\u201331 mars 2025"
    assert period(date(2025, 3, 1), date(2025, 4, 1), "en_US") == "Mar 1\u2009\u2013\u200931, 2025"
    assert period(date(2025, 3, 1), date(2025, 3, 2), "en_US") == "Mar 1, 2025"


@pytest.mark.parametrize(
    ("locale", "language"), [("fr_FR", "fr"), ("fr-CA", "fr"), ("en", "en"), ("de_DE", "de")]
)
def test_language_of_locale(locale: str, language: str) -> None:
    assert language_of(locale) == language
