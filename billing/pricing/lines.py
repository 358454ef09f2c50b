"""Line kinds and already-priced lines handed to the invoice builder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from billing.pricing._checks import collect, decimal_problem, raise_if_invalid, text_problem

LineKind = Literal[
    "recurring",
    "usage",
    "one_time",
    "installment",
    "proration",
    "discount",
    "commitment",
    "credit",
    "adjustment",
]
EXTRA_KINDS = frozenset(
    {"one_time", "installment", "proration", "usage", "adjustment", "recurring"}
)


@dataclass(frozen=True)
class ExtraLine:
    """An item priced before the invoice (one-time charge, proration stored at change time,
    late-usage adjustment, rated usage rollup); the builder rounds it once like any line.
    `amount` is the 9-place precise amount (negative for credits)."""

    kind: LineKind
    description: str
    subscription_id: str  # "" for an account-level item
    metric_code: str | None
    quantity: Decimal
    unit_amount: Decimal
    amount: Decimal
    period_start: date
    period_end: date
    charge_code: str | None = None

    def __post_init__(self) -> None:
        raise_if_invalid(f"extra line {self.description!r}", self.validate())

    def validate(self) -> list[str]:
        problems = collect(
            text_problem(self.description, "description"),
            decimal_problem(self.quantity, "quantity", minimum=None),
            decimal_problem(self.unit_amount, "unit_amount", minimum=None),
            decimal_problem(self.amount, "amount", minimum=None),
        )
        if self.kind not in EXTRA_KINDS:
            problems.append(
                f"kind {self.kind!r} cannot be passed in: use one of {sorted(EXTRA_KINDS)}"
            )
        if self.period_start > self.period_end:
            problems.append(
                f"period_start {self.period_start} is after period_end {self.period_end}"
            )
        return problems
