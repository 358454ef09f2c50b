"""One-time charges and instalment plans (N monthly instalments of a device or service).

The k-th instalment is due `k - 1` months after `first_due_on` (month ends clamped from the
anchor); an invoice bills the instalments due in its service period. Every instalment but the
last is the total divided by the count, rounded down to the minor unit; the last absorbs the
remainder, so the instalments sum exactly to the total (in minor units).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing.money import amount_of_minor, minor_exponent, minor_of, mul_precise
from billing.periods import BillingPeriod, add_months
from billing.pricing._checks import (
    collect,
    decimal_problem,
    int_problem,
    raise_if_invalid,
    text_problem,
)
from billing.pricing.lines import ExtraLine


@dataclass(frozen=True)
class OneTimeCharge:
    description: str
    amount: Decimal  # per unit
    quantity: Decimal = Decimal(1)
    code: str = "one_time"

    def __post_init__(self) -> None:
        raise_if_invalid("one-time charge", self.validate())

    def validate(self) -> list[str]:
        return collect(
            text_problem(self.description, "description"),
            decimal_problem(self.amount, "amount"),
            decimal_problem(self.quantity, "quantity"),
            text_problem(self.code, "code"),
        )


def one_time_line(charge: OneTimeCharge, subscription_id: str, charged_on: date) -> ExtraLine:
    """The invoice line of a one-time charge made on `charged_on` (pass it in `extra_lines`)."""
    return ExtraLine(
        kind="one_time",
        description=charge.description,
        subscription_id=subscription_id,
        metric_code=None,
        quantity=charge.quantity,
        unit_amount=charge.amount,
        amount=mul_precise(charge.quantity, charge.amount),
        period_start=charged_on,
        period_end=charged_on,
        charge_code=charge.code,
    )


@dataclass(frozen=True)
class Installments:
    total_amount: Decimal
    count: int

    def __post_init__(self) -> None:
        raise_if_invalid("instalments", self.validate())

    def validate(self) -> list[str]:
        return collect(
            decimal_problem(self.total_amount, "total_amount"),
            int_problem(self.count, "count", minimum=1),
        )


def installment_amount(plan: Installments, number: int, currency: str) -> Decimal:
    """The amount of instalment `number` (1-based) in `currency`; the last absorbs rounding."""
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= plan.count:
        raise ValueError(f"instalment number must be 1..{plan.count}, got {number!r}")
    exponent = minor_exponent(currency)
    total_minor = minor_of(plan.total_amount, exponent)
    base_minor = total_minor // plan.count
    if number < plan.count:
        return amount_of_minor(base_minor, exponent)
    return amount_of_minor(total_minor - base_minor * (plan.count - 1), exponent)


@dataclass(frozen=True)
class InstallmentPlan:
    description: str
    installments: Installments
    first_due_on: date
    code: str = "installment"

    def __post_init__(self) -> None:
        raise_if_invalid("instalment plan", self.validate())

    def validate(self) -> list[str]:
        return collect(
            text_problem(self.description, "description"), text_problem(self.code, "code")
        )

    def due_on(self, number: int) -> date:
        return add_months(self.first_due_on, number - 1)

    def numbers_due_in(self, period: BillingPeriod) -> list[int]:
        """Instalment numbers whose due date lies in `period`."""
        return [
            number
            for number in range(1, self.installments.count + 1)
            if period.contains(self.due_on(number))
        ]
