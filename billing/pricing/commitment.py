"""Minimum commitment: a true-up line tops the period's charges up to the minimum."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing.pricing._checks import collect, decimal_problem, raise_if_invalid


@dataclass(frozen=True)
class Commitment:
    minimum_amount: Decimal
    description: str = "Minimum commitment true-up"

    def __post_init__(self) -> None:
        raise_if_invalid("commitment", self.validate())

    def validate(self) -> list[str]:
        return collect(decimal_problem(self.minimum_amount, "minimum_amount"))


def true_up_minor(minimum_minor: int, charged_minor: int) -> int:
    """max(0, minimum - charges of the period), in minor units."""
    return max(0, minimum_minor - charged_minor)
