"""Money: Decimal amounts in one ISO 4217 currency, rounded once to the minor unit.

Amounts are `Decimal`, never `float`. Intermediate results keep 9 decimal places
(`quantize_precise`); an invoice line is rounded once to its currency's minor unit
with ROUND_HALF_UP (`to_minor`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal, localcontext
from functools import cache

from babel.numbers import get_currency_precision, list_currencies

PRECISE_PLACES = 9
_PRECISE_QUANTUM = Decimal(1).scaleb(-PRECISE_PLACES)
_ONE = Decimal(1)
_WORKING_PRECISION = 60  # significant digits for intermediate Decimal arithmetic
# One shared context for the hot paths of pricing: exact enough for any bill (60 digits),
# ROUND_HALF_UP; passed explicitly so that no thread-local context is read or changed.
PRECISE_CONTEXT = Context(prec=_WORKING_PRECISION, rounding=ROUND_HALF_UP)
ZERO_PRECISE = Decimal(0).quantize(_PRECISE_QUANTUM)

# Where CLDR (Babel) digits differ from the ISO 4217 minor unit, ISO 4217 wins:
# CLDR drops minor units that are unused in everyday cash, ISO keeps them.
_ISO_4217_OVERRIDES: dict[str, int] = {
    "AFN": 2,
    "ALL": 2,
    "COP": 2,
    "HUF": 2,
    "IDR": 2,
    "IQD": 3,
    "IRR": 2,
    "KPW": 2,
    "LAK": 2,
    "LBP": 2,
    "MGA": 2,
    "MMK": 2,
    "SLL": 2,
    "SOS": 2,
    "SYP": 2,
    "YER": 2,
}

# ISO 4217 gives these no minor unit ("N.A."): precious metals, fund units, test codes.
_NO_MINOR_UNIT = frozenset(
    {"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"}
)


class UnknownCurrencyError(ValueError):
    """A currency code that is not a billable ISO 4217 code."""


class CurrencyMismatchError(ValueError):
    """Arithmetic or comparison between amounts in different currencies."""


@cache
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


@cache
def minor_exponent(currency: str) -> int:
    """ISO 4217 minor unit exponent of `currency` (JPY 0, USD 2, BHD 3, CLF 4)."""
    if not isinstance(currency, str) or currency not in _known_currencies():
        raise UnknownCurrencyError(
            f"unknown currency code {currency!r}: use an upper-case ISO 4217 code such as 'USD'"
        )
    if currency in _NO_MINOR_UNIT:
        raise UnknownCurrencyError(
            f"currency {currency!r} has no minor unit in ISO 4217 (metal, fund or test code) "
            "and cannot be billed: use a national currency code such as 'USD'"
        )
    return _ISO_4217_OVERRIDES.get(currency, get_currency_precision(currency))


def require_decimal(value: object, name: str) -> Decimal:
    """Return `value` as a finite Decimal; ints are accepted, floats are refused."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(
            f"{name} must be a Decimal (got {type(value).__name__}): "
            "pass Decimal('1.23'), never a float"
        )
    amount = Decimal(value)
    if not amount.is_finite():
        raise ValueError(f"{name} must be a finite Decimal, got {amount}")
    return amount


def quantize_precise(amount: Decimal) -> Decimal:
    """Round to the intermediate precision of 9 decimal places, ROUND_HALF_UP."""
    amount = require_decimal(amount, "amount")
    with localcontext(prec=_WORKING_PRECISION):
        return amount.quantize(_PRECISE_QUANTUM, rounding=ROUND_HALF_UP)


def to_minor(amount: Decimal, currency: str) -> int:
    """Round `amount` once to the currency's minor unit (ROUND_HALF_UP); return minor units."""
    amount = require_decimal(amount, "amount")
    exponent = minor_exponent(currency)
    with localcontext(prec=_WORKING_PRECISION):
        scaled = amount.scaleb(exponent).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(scaled)


def from_minor(amount_minor: int, currency: str) -> Decimal:
    """The Decimal amount for `amount_minor` minor units (12345 USD cents -> 123.45)."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise TypeError(f"amount_minor must be an int, got {type(amount_minor).__name__}")
    with localcontext(prec=_WORKING_PRECISION):
        return Decimal(amount_minor).scaleb(-minor_exponent(currency))


def precise_product(left: Decimal, right: Decimal) -> Decimal:
    """`left * right` at 9-place intermediate precision."""
    with localcontext(prec=_WORKING_PRECISION):
        return quantize_precise(require_decimal(left, "left") * require_decimal(right, "right"))


def precise_ratio(amount: Decimal, numerator: int, denominator: int) -> Decimal:
    """`amount * numerator / denominator` at 9-place intermediate precision."""
    amount = require_decimal(amount, "amount")
    with localcontext(prec=_WORKING_PRECISION):
        return quantize_precise(amount * numerator / denominator)


def precise(amount: Decimal) -> Decimal:
    """`amount` quantized to 9 places (ROUND_HALF_UP) without re-validating it (hot paths).

    Callers pass Decimals they have already validated; `quantize_precise` is the checked form.
    """
    return amount.quantize(_PRECISE_QUANTUM, context=PRECISE_CONTEXT)


def mul_precise(left: Decimal, right: Decimal) -> Decimal:
    """`left * right` exactly at 60 digits, then to 9 places: the unchecked `precise_product`."""
    return PRECISE_CONTEXT.multiply(left, right).quantize(_PRECISE_QUANTUM, context=PRECISE_CONTEXT)


def div_precise(left: Decimal, right: Decimal | int) -> Decimal:
    """`left / right` at 60 digits, then to 9 places (unchecked; `right` must not be 0)."""
    return PRECISE_CONTEXT.divide(left, right).quantize(_PRECISE_QUANTUM, context=PRECISE_CONTEXT)


def minor_of(amount: Decimal, exponent: int) -> int:
    """`amount` rounded once (ROUND_HALF_UP) to minor units of a currency with `exponent`.

    The unchecked form of `to_minor` for hot paths: `exponent` comes from `minor_exponent`.
    """
    return int(amount.scaleb(exponent, PRECISE_CONTEXT).quantize(_ONE, context=PRECISE_CONTEXT))


def amount_of_minor(amount_minor: int, exponent: int) -> Decimal:
    """`amount_minor` minor units as a 9-place Decimal (the unchecked form of `from_minor`)."""
    return precise(Decimal(amount_minor).scaleb(-exponent, PRECISE_CONTEXT))


def floor_to_minor(amount: Decimal, exponent: int) -> int:
    """`amount` rounded toward zero to minor units (used to split totals into instalments)."""
    scaled = amount.scaleb(exponent, PRECISE_CONTEXT)
    return int(scaled.quantize(_ONE, rounding=ROUND_DOWN, context=PRECISE_CONTEXT))


@dataclass(frozen=True)
class Money:
    """An amount in one currency. Refuses floats, mixed currencies and Money x Money."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", require_decimal(self.amount, "Money.amount"))
        minor_exponent(self.currency)

    @classmethod
    def from_minor(cls, amount_minor: int, currency: str) -> Money:
        return cls(from_minor(amount_minor, currency), currency)

    def to_minor(self) -> int:
        return to_minor(self.amount, self.currency)

    def _same_currency(self, other: Money, operation: str) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatchError(
                f"cannot {operation} {self.currency} and {other.currency}: "
                "convert to one currency first"
            )

    def _other_money(self, other: object, operation: str) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot {operation} Money and {type(other).__name__}")
        self._same_currency(other, operation)
        return other

    def __add__(self, other: Money) -> Money:
        other = self._other_money(other, "add")
        with localcontext(prec=_WORKING_PRECISION):
            return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        other = self._other_money(other, "subtract")
        with localcontext(prec=_WORKING_PRECISION):
            return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, Money):
            raise TypeError("cannot multiply Money by Money: multiply by a Decimal quantity")
        return Money(precise_product(self.amount, require_decimal(factor, "factor")), self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._other_money(other, "compare").amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._other_money(other, "compare").amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._other_money(other, "compare").amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._other_money(other, "compare").amount
