"""Tiered prices: graduated (each tier prices its own units) and volume (one tier prices all).

A tier covers the units above the previous tier's `up_to` up to and including its own `up_to`
(the last tier has `up_to` None: no ceiling), so tiers have no gaps or overlaps by construction.
A tier's optional `flat_amount` is owed once when any unit falls in it (graduated) or when it
is the tier that prices the quantity (volume). Zero billable units cost nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from billing.money import PRECISE_CONTEXT, mul_precise, precise
from billing.pricing._checks import collect, decimal_problem, raise_if_invalid


@dataclass(frozen=True)
class Tier:
    up_to: Decimal | None  # inclusive ceiling of the tier; None for the last tier
    unit_amount: Decimal
    flat_amount: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        raise_if_invalid("tier", self.validate())

    def validate(self) -> list[str]:
        up_to = None if self.up_to is None else decimal_problem(self.up_to, "tier up_to")
        return collect(
            up_to,
            decimal_problem(self.unit_amount, "tier unit_amount"),
            decimal_problem(self.flat_amount, "tier flat_amount"),
        )


def tiers_problems(tiers: Sequence[Tier]) -> list[str]:
    """Problems of a tier list: empty, not ascending, or an open tier that is not the last."""
    if not isinstance(tiers, tuple) or not tiers:
        return ["tiers must be a non-empty tuple of Tier, the last with up_to None"]
    problems: list[str] = []
    previous = Decimal(0)
    for index, tier in enumerate(tiers):
        last = index == len(tiers) - 1
        if tier.up_to is None and not last:
            problems.append(
                f"tier {index + 1} has no up_to but is not the last tier: only the last tier "
                "is open-ended"
            )
        elif tier.up_to is not None and last:
            problems.append(
                f"the last tier (tier {index + 1}) must have up_to None so every quantity "
                "has a price"
            )
        elif tier.up_to is not None and tier.up_to <= previous:
            problems.append(
                f"tier {index + 1} up_to {tier.up_to} must be greater than the previous "
                f"ceiling {previous}: tiers are ascending and each starts where the previous ends"
            )
        if tier.up_to is not None:
            previous = max(previous, tier.up_to)
    return problems


@dataclass(frozen=True)
class Graduated:
    tiers: tuple[Tier, ...]
    free_units: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        raise_if_invalid("graduated price", self.validate())

    def validate(self) -> list[str]:
        return [
            *tiers_problems(self.tiers),
            *collect(decimal_problem(self.free_units, "free_units")),
        ]

    def price(self, billable: Decimal) -> Decimal:
        total = Decimal(0)
        floor = Decimal(0)
        for tier in self.tiers:
            if billable <= floor:
                break
            ceiling = billable if tier.up_to is None else min(billable, tier.up_to)
            units = PRECISE_CONTEXT.subtract(ceiling, floor)
            total = PRECISE_CONTEXT.add(total, mul_precise(units, tier.unit_amount))
            total = PRECISE_CONTEXT.add(total, tier.flat_amount)
            if tier.up_to is None:
                break
            floor = tier.up_to
        return precise(total)


@dataclass(frozen=True)
class Volume:
    tiers: tuple[Tier, ...]
    free_units: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        raise_if_invalid("volume price", self.validate())

    def validate(self) -> list[str]:
        return [
            *tiers_problems(self.tiers),
            *collect(decimal_problem(self.free_units, "free_units")),
        ]

    def tier_for(self, billable: Decimal) -> Tier:
        for tier in self.tiers:
            if tier.up_to is None or billable <= tier.up_to:
                return tier
        return self.tiers[-1]  # unreachable: the last tier is open-ended

    def price(self, billable: Decimal) -> Decimal:
        if billable <= 0:
            return precise(Decimal(0))
        tier = self.tier_for(billable)
        return precise(
            PRECISE_CONTEXT.add(mul_precise(billable, tier.unit_amount), tier.flat_amount)
        )
