"""Late-usage adjustments (pure): a closed usage period re-priced with the events that arrived
after its invoice, against what was billed for it (its usage lines and the adjustments billed
since). Each (subscription, line) whose quantity or amount changed gives one `adjustment`
line for the difference, positive or negative, kept at 9 places (the invoice rounds it once).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from billing.periods import BillingPeriod
from billing.pricing.lines import ExtraLine
from billing.pricing.terms import DraftLine

LATE_PREFIX = "Late usage: "
_ZERO = Decimal(0)


@dataclass(frozen=True)
class BilledLine:
    """A line already billed for the period: a usage line of its invoice, or an adjustment
    (`kind` "adjustment", description with LATE_PREFIX) billed on a later invoice."""

    subscription_id: str
    description: str
    kind: str
    quantity: Decimal
    amount: Decimal


def late_usage_lines(
    repriced: Sequence[DraftLine], billed: Iterable[BilledLine], period: BillingPeriod
) -> list[ExtraLine]:
    """The adjustment lines that bring what was billed for `period` to `repriced` (the usage
    lines of the period priced again with every event now known)."""
    now = {
        (line.subscription_id, line.description): (line.quantity, line.amount, line.metric_code)
        for line in repriced
        if line.kind == "usage"
    }
    was: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
    for line in billed:
        name = line.description
        if line.kind == "adjustment":
            name = name.removeprefix(LATE_PREFIX)
        quantity, amount = was.get((line.subscription_id, name), (_ZERO, _ZERO))
        was[(line.subscription_id, name)] = (quantity + line.quantity, amount + line.amount)
    lines: list[ExtraLine] = []
    for key in sorted(set(now) | set(was)):
        quantity, amount, metric = now.get(key, (_ZERO, _ZERO, None))
        was_quantity, was_amount = was.get(key, (_ZERO, _ZERO))
        if (quantity, amount) == (was_quantity, was_amount):
            continue
        subscription_id, description = key
        lines.append(
            ExtraLine(
                kind="adjustment",
                description=f"{LATE_PREFIX}{description}",
                subscription_id=subscription_id,
                metric_code=metric,
                quantity=quantity - was_quantity,
                unit_amount=_ZERO,
                amount=amount - was_amount,
                period_start=period.start,
                period_end=period.end,
            )
        )
    return lines
