"""Per unit: every billable unit at the same price, after the free units of the period."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing.money import mul_precise
from billing.pricing._checks import collect, decimal_problem, raise_if_invalid


@dataclass(frozen=True)
class PerUnit:
    unit_amount: Decimal
    free_units: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        raise_if_invalid("per-unit price", self.validate())

    def validate(self) -> list[str]:
        return collect(
            decimal_problem(self.unit_amount, "unit_amount"),
            decimal_problem(self.free_units, "free_units"),
        )

    def price(self, billable: Decimal) -> Decimal:
        """Amount for `billable` units (free units already subtracted), 9 places."""
        return mul_precise(billable, self.unit_amount)
