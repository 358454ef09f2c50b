"""Coupons: percent or amount off, once / for N invoices / forever, on a charge or an invoice.

A coupon is stateless: whether it applies to an invoice follows from its redemption date and
the invoice's cycle date. The invoices it has reached are the account's cycle dates from the
redemption date (inclusive) to the invoice's cycle date (inclusive): `once` applies to the
first of them, `repeating` to the first `periods`, `forever` to all. A `percent` value is in
percent (Decimal('10') is 10 % off); an `amount` value is in the invoice currency, off each
invoice it applies to. `applies_to` None means the whole invoice (or, on a subscription, all of
that subscription's lines); otherwise the lines of the charge with that code.
Discounts never take a line, a subscription or an invoice below zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from billing.money import PRECISE_CONTEXT, mul_precise
from billing.periods import cycle_on
from billing.pricing._checks import (
    collect,
    decimal_problem,
    int_problem,
    raise_if_invalid,
    text_problem,
)

CouponKind = Literal["percent", "amount"]
CouponDuration = Literal["once", "repeating", "forever"]
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Coupon:
    code: str
    kind: CouponKind
    value: Decimal
    duration: CouponDuration = "once"
    periods: int | None = None  # number of invoices, for duration "repeating" only
    applies_to: str | None = None  # None: the invoice; else a charge code

    def __post_init__(self) -> None:
        raise_if_invalid(f"coupon {self.code!r}", self.validate())

    def validate(self) -> list[str]:
        problems = collect(text_problem(self.code, "code"), decimal_problem(self.value, "value"))
        if self.kind not in ("percent", "amount"):
            problems.append(f"kind {self.kind!r} is unknown: use 'percent' or 'amount'")
        elif self.kind == "percent" and not problems and not 0 < self.value <= _HUNDRED:
            problems.append(f"a percent value must be in (0, 100], got {self.value}")
        if self.duration not in ("once", "repeating", "forever"):
            problems.append(
                f"duration {self.duration!r} is unknown: use once, repeating or forever"
            )
        elif self.duration == "repeating":
            problems.extend(collect(int_problem(self.periods, "periods", minimum=1)))
        elif self.periods is not None:
            problems.append(f"periods is only for duration 'repeating', not {self.duration!r}")
        if self.applies_to is not None:
            problems.extend(collect(text_problem(self.applies_to, "applies_to")))
        return problems

    def discount(self, base: Decimal) -> Decimal:
        """The discount this coupon gives on `base` (9 places), before any cap."""
        if self.kind == "percent":
            return mul_precise(base, PRECISE_CONTEXT.divide(self.value, _HUNDRED))
        return self.value


@dataclass(frozen=True)
class CouponRedemption:
    coupon: Coupon
    redeemed_on: date


def invoices_reached(redeemed_on: date, invoice_cycle_on: date, bill_cycle_day: int) -> int:
    """How many of the account's cycle dates lie in [redeemed_on, invoice_cycle_on]."""
    if invoice_cycle_on < redeemed_on:
        return 0
    months = (invoice_cycle_on.year - redeemed_on.year) * 12
    months += invoice_cycle_on.month - redeemed_on.month
    first_counts = cycle_on(redeemed_on.year, redeemed_on.month, bill_cycle_day) >= redeemed_on
    return months + (1 if first_counts else 0)


def coupon_applies(
    redemption: CouponRedemption, invoice_cycle_on: date, bill_cycle_day: int
) -> bool:
    """Whether the coupon discounts the invoice of `invoice_cycle_on` (a cycle date)."""
    reached = invoices_reached(redemption.redeemed_on, invoice_cycle_on, bill_cycle_day)
    if reached == 0:
        return False
    coupon = redemption.coupon
    if coupon.duration == "once":
        return reached == 1
    if coupon.duration == "repeating":
        return reached <= (coupon.periods or 0)
    return True
