"""Percentage of each transacted amount, plus a fixed fee per transaction, within min/max.

The fee of one transaction is `amount * rate + fixed_amount`, raised to `min_amount` and
capped at `max_amount` when they are set; fees are summed at 9 places. `rate` is a fraction:
0.029 means 2.9 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from billing.money import PRECISE_CONTEXT, mul_precise, precise
from billing.pricing._checks import collect, decimal_problem, raise_if_invalid


@dataclass(frozen=True)
class Percentage:
    rate: Decimal
    fixed_amount: Decimal = Decimal(0)
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None

    def __post_init__(self) -> None:
        raise_if_invalid("percentage price", self.validate())

    def validate(self) -> list[str]:
        problems = collect(
            decimal_problem(self.rate, "rate"),
            decimal_problem(self.fixed_amount, "fixed_amount"),
            None if self.min_amount is None else decimal_problem(self.min_amount, "min_amount"),
            None if self.max_amount is None else decimal_problem(self.max_amount, "max_amount"),
        )
        if not problems and self.rate > 1:
            problems.append(f"rate {self.rate} is above 1: write 2.9 % as Decimal('0.029')")
        low, high = self.min_amount, self.max_amount
        if not problems and low is not None and high is not None and low > high:
            problems.append(f"min_amount {low} is above max_amount {high}")
        return problems

    @property
    def per_transaction_bounds(self) -> bool:
        return self.min_amount is not None or self.max_amount is not None

    def fee(self, amount: Decimal) -> Decimal:
        """The fee of one transaction of `amount`, 9 places."""
        fee = PRECISE_CONTEXT.add(mul_precise(amount, self.rate), self.fixed_amount)
        if self.min_amount is not None and fee < self.min_amount:
            fee = self.min_amount
        if self.max_amount is not None and fee > self.max_amount:
            fee = self.max_amount
        return precise(fee)


def price_transactions(model: Percentage, amounts: Sequence[Decimal]) -> Decimal:
    """Sum of the per-transaction fees of `amounts` (each >= 0), 9 places."""
    total = Decimal(0)
    for index, amount in enumerate(amounts):
        problem = decimal_problem(amount, f"transaction {index} amount")
        if problem is not None:
            raise ValueError(f"{problem}: pass transacted amounts as Decimals >= 0")
        total = PRECISE_CONTEXT.add(total, model.fee(amount))
    return precise(total)


def price_transaction_total(model: Percentage, total_amount: Decimal, count: int) -> Decimal:
    """The fees of `count` transactions summing to `total_amount`, when no min/max applies
    (then the fee is linear and the individual amounts are not needed)."""
    if model.per_transaction_bounds:
        raise ValueError(
            "a percentage price with min_amount or max_amount needs each transaction's amount: "
            "use price_transactions (UsageTotal.transactions)"
        )
    fixed = PRECISE_CONTEXT.multiply(model.fixed_amount, count)
    return precise(PRECISE_CONTEXT.add(mul_precise(total_amount, model.rate), fixed))
