"""Package: units sold in blocks of `package_size`; a started block is billed whole."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from billing.money import PRECISE_CONTEXT, mul_precise
from billing.pricing._checks import collect, decimal_problem, int_problem, raise_if_invalid


@dataclass(frozen=True)
class Package:
    package_size: int
    package_amount: Decimal
    free_units: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        raise_if_invalid("package price", self.validate())

    def validate(self) -> list[str]:
        return collect(
            int_problem(self.package_size, "package_size", minimum=1),
            decimal_problem(self.package_amount, "package_amount"),
            decimal_problem(self.free_units, "free_units"),
        )

    def packages(self, billable: Decimal) -> Decimal:
        """How many blocks `billable` units start (101 units in blocks of 100 -> 2)."""
        ratio = PRECISE_CONTEXT.divide(billable, self.package_size)
        return ratio.to_integral_value(rounding=ROUND_CEILING, context=PRECISE_CONTEXT)

    def price(self, billable: Decimal) -> Decimal:
        return mul_precise(self.packages(billable), self.package_amount)
