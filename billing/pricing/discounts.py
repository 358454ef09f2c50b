"""Capping discounts so that no line, subscription or invoice goes below zero.

A discount is computed at 9 places, capped at what remains of its base (precise and in minor
units, so the rounded net can never turn negative either), and rounded once like any line.
"""

from __future__ import annotations

from decimal import Decimal

from billing.money import ZERO_PRECISE, amount_of_minor, minor_of, precise


def cap_discount(
    discount: Decimal, net: Decimal, net_minor: int, exponent: int
) -> tuple[Decimal, int]:
    """(amount, amount_minor) of `discount` capped at the remaining `net` / `net_minor`.

    Both results are >= 0 and `amount_minor` is `amount` rounded once.
    """
    if net_minor <= 0 or net <= 0 or discount <= 0:
        return ZERO_PRECISE, 0
    amount = precise(min(discount, net))
    amount_minor = minor_of(amount, exponent)
    if amount_minor > net_minor:
        return amount_of_minor(net_minor, exponent), net_minor
    return amount, amount_minor
