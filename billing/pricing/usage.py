"""`price_usage`: the amount of a usage quantity under any quantity model, free units first."""

from __future__ import annotations

from decimal import Decimal

from billing.money import PRECISE_CONTEXT, precise
from billing.pricing._checks import decimal_problem
from billing.pricing.charge import UsageModel

_ZERO = Decimal(0)


def billable_units(quantity: Decimal, free_units: Decimal) -> Decimal:
    """`quantity` minus the free units of the period, never below zero."""
    if free_units == 0:
        return quantity
    return max(_ZERO, PRECISE_CONTEXT.subtract(quantity, free_units))


def price_usage(model: UsageModel, quantity: Decimal) -> Decimal:
    """The 9-place amount of `quantity` units (>= 0) under `model`."""
    problem = decimal_problem(quantity, "quantity")
    if problem is not None:
        raise ValueError(f"{problem}: usage quantities are Decimals >= 0")
    return price_usage_unchecked(model, quantity)


def price_usage_unchecked(model: UsageModel, quantity: Decimal) -> Decimal:
    """`price_usage` for a quantity already validated (UsageTotal checks its own)."""
    return precise(model.price(billable_units(quantity, model.free_units)))
