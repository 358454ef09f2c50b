"""Recurring flat fee per period, billed in advance (at the period start) or in arrears
(at its end); per seat when `per_seat` (times the subscription's quantity)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from billing.money import PRECISE_CONTEXT, precise
from billing.pricing._checks import collect, decimal_problem, raise_if_invalid

Timing = Literal["advance", "arrears"]


@dataclass(frozen=True)
class RecurringFee:
    amount: Decimal  # for one full period (per seat when per_seat)
    timing: Timing = "advance"
    per_seat: bool = False

    def __post_init__(self) -> None:
        raise_if_invalid("recurring fee", self.validate())

    def validate(self) -> list[str]:
        problems = collect(decimal_problem(self.amount, "amount"))
        if self.timing not in ("advance", "arrears"):
            problems.append(f"timing {self.timing!r} is unknown: use 'advance' or 'arrears'")
        if not isinstance(self.per_seat, bool):
            problems.append(f"per_seat must be true or false, got {self.per_seat!r}")
        return problems

    def full_amount(self, seats: int) -> Decimal:
        """The fee of one full period for `seats` seats (ignored unless per seat), 9 places."""
        if not self.per_seat:
            return precise(self.amount)
        return precise(PRECISE_CONTEXT.multiply(self.amount, seats))
