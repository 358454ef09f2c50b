"""Shared building blocks of the config models: located rule errors, scalar types (codes,
currencies, countries, timezones, amounts as strings, durations) and the strict base model."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable
from decimal import Decimal
from functools import cache
from typing import Annotated, Any

from babel import Locale
from babel.numbers import list_currencies
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
)
from pydantic_core import PydanticCustomError

from billing.dunning import DunningAction

Loc = tuple[str | int, ...]
Issue = tuple[Loc, str]

CONFIG_RULES = "config_rules"
AMOUNT_NOT_STRING = "amount_not_string"
NOTICE_TEMPLATES = ("dunning_reminder", "dunning_suspended", "dunning_final_notice")
LAST_STEP_ONLY = (DunningAction.WRITE_OFF,)  # as billing.dunning.validate_ladder
NOTICE_ACTIONS = (DunningAction.EMAIL_NOTICE, DunningAction.SMS_NOTICE)

_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_AMOUNT_RE = re.compile(r"^-?\d+(\.\d+)?$")
_DURATION_RE = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_MAX_AMOUNT_PLACES = 9
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "ZZ"}


# --- errors raised by snapshot look-ups ---------------------------------------------------------


class UnknownConfigError(KeyError):
    """A look-up in a ConfigSnapshot found nothing; the message says what exists."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownPlanError(UnknownConfigError):
    pass


class UnknownLadderError(UnknownConfigError):
    pass


class UnknownEntityError(UnknownConfigError):
    pass


class NoCatalogError(UnknownConfigError):
    pass


def rules_error(issues: Iterable[Issue]) -> PydanticCustomError:
    """One pydantic error carrying several located rule violations."""
    found = tuple(issues)
    summary = "; ".join(f"{_dotted(loc)}: {msg}" if loc else msg for loc, msg in found)
    return PydanticCustomError(CONFIG_RULES, "{summary}", {"summary": summary, "issues": found})


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _duplicates(codes: Iterable[tuple[Loc, str]], what: str, base: Loc = ()) -> list[Issue]:
    seen: dict[str, Loc] = {}
    issues: list[Issue] = []
    for loc, code in codes:
        first = seen.get(code)
        if first is not None:
            issues.append(
                (
                    loc,
                    f"duplicate {what} {code!r} (first declared at {_dotted((*base, *first))})",
                )
            )
        else:
            seen[code] = loc
    return issues


# --- scalar types -------------------------------------------------------------------------------


def _check_code(value: str) -> str:
    if not _CODE_RE.match(value):
        raise PydanticCustomError(
            "code_format",
            "'{value}' is not a valid code: use lowercase letters, digits, '-' and '_'"
            " (e.g. 'starter-monthly')",
            {"value": value},
        )
    return value


@cache
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


@cache
def _countries() -> frozenset[str]:
    codes = [str(code) for code in Locale("en").territories]
    return frozenset(c for c in codes if len(c) == 2 and c.isalpha() and c not in _NOT_COUNTRIES)


def _check_currency(value: str) -> str:
    if value not in _currencies():
        raise PydanticCustomError(
            "currency",
            "unknown currency '{value}': use an ISO 4217 code such as 'USD'",
            {"value": value},
        )
    return value


def _check_country(value: str) -> str:
    if value not in _countries():
        raise PydanticCustomError(
            "country",
            "unknown country '{value}': use an ISO 3166 alpha-2 code such as 'US'",
            {"value": value},
        )
    return value


def _check_timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError(
            "timezone",
            "unknown timezone '{value}': use an IANA name such as 'America/New_York'",
            {"value": value},
        ) from None
    return value


def _parse_amount(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | Decimal):
        kind = type(value).__name__
        raise PydanticCustomError(
            AMOUNT_NOT_STRING,
            'amount must be a quoted decimal string, got {kind} {value} (write "{suggestion}")',
            {"kind": kind, "value": value, "suggestion": str(value)},
        )
    text = format(value, "f") if isinstance(value, Decimal) else value
    if not _AMOUNT_RE.match(text):
        raise PydanticCustomError(
            "amount_format",
            "amount must be a decimal string like '49.00', got '{value}'",
            {"value": text},
        )
    amount = Decimal(text)
    if amount < 0:
        raise PydanticCustomError(
            "amount_negative", "amount must be >= 0, got '{value}'", {"value": text}
        )
    places = -int(amount.as_tuple().exponent)
    if places > _MAX_AMOUNT_PLACES:
        raise PydanticCustomError(
            "amount_precision",
            "amount has {places} decimal places, at most 9 are allowed, got '{value}'",
            {"places": places, "value": text},
        )
    return amount


def parse_duration(text: str) -> int:
    """'3d' -> 259200: an integer and a unit among s, m, h, d, converted to seconds."""
    match = _DURATION_RE.match(text)
    if not match:
        raise ValueError(text)
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _check_duration(value: str) -> str:
    try:
        parse_duration(value)
    except ValueError:
        raise PydanticCustomError(
            "duration",
            "'{value}' is not a duration: write an integer and a unit s, m, h or d"
            " (e.g. '3d', '12h')",
            {"value": value},
        ) from None
    return value


Code = Annotated[str, AfterValidator(_check_code)]
CurrencyCode = Annotated[str, AfterValidator(_check_currency)]
Amount = Annotated[
    Decimal,
    BeforeValidator(_parse_amount),
    PlainSerializer(lambda amount: format(amount, "f"), return_type=str, when_used="json"),
]
Duration = Annotated[str, AfterValidator(_check_duration)]
Text = Annotated[str, Field(min_length=1)]
Prices = Annotated[dict[CurrencyCode, Amount], Field(min_length=1)]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _listing(codes: Iterable[str]) -> str:
    return ", ".join(sorted(codes)) or "none"


ConfigBase = _Config


# --- added for the pricing models (catalog) -----------------------------------------------------

_COUPON_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,39}$")


def _parse_quantity(value: Any) -> Decimal:
    """A quantity (tier bound, free units): an integer or a quoted decimal string, >= 0."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, bool) or not isinstance(value, str | Decimal):
        raise PydanticCustomError(
            "quantity_type",
            'quantity must be an integer or a quoted decimal string such as "12.5"',
        )
    try:
        return _parse_amount(value)
    except PydanticCustomError as exc:
        raise PydanticCustomError(
            exc.type, exc.message().replace("amount", "quantity", 1).replace("'49.00'", "'12.5'")
        ) from None


def _check_coupon_code(value: str) -> str:
    if not _COUPON_CODE_RE.match(value):
        raise PydanticCustomError(
            "code_format",
            "'{value}' is not a valid coupon code: use 1-40 upper-case letters, digits, '-' and"
            " '_' (e.g. 'WELCOME10')",
            {"value": value},
        )
    return value


Quantity = Annotated[
    Decimal,
    BeforeValidator(_parse_quantity),
    PlainSerializer(lambda amount: format(amount, "f"), return_type=str, when_used="json"),
]
CouponCode = Annotated[str, AfterValidator(_check_coupon_code)]
