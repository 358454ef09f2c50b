"""Proration on change: upgrade, downgrade, quantity change and cancellation mid-period.

Day-based: a change on `change_on` inside the period [start, end) that was billed in advance
leaves `end - change_on` unused days. With the plan's policy "immediate", the old terms get a
credit line for those days and the new terms a charge line for the same days, each
`fee x quantity x remaining days / period days` at 9 places (kind "proration", negative for the
credit). With "end_of_term", nothing is prorated: the change takes effect at the period end and
the next invoice bills the new terms. A cancellation is a change to no terms (credit only); a
new subscription mid-period is a change from no terms. Fees billed in arrears are not prorated:
they are billed at the period end from the terms then in effect.

Two entry points:
- `prorate_change(old_terms, new_terms, period, change_on, currency)` prorates whole
  subscription terms exactly as the invoice billed them (seats, phases, pauses, trial and
  cancellation dates), against the subscription's own period holding `change_on`; it returns
  rounded `DraftLine`s for an immediate change (the caller applies the plan's policy);
- `prorate_fees(...)` prorates plain fees with an explicit policy and returns `ExtraLine`s.
Either way the lines are stored at change time and passed to `build_invoice` (`extra_lines`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from billing.money import PRECISE_CONTEXT, minor_exponent, mul_precise, precise
from billing.periods import BillingPeriod, Schedule
from billing.pricing._checks import collect, decimal_problem, raise_if_invalid, text_problem
from billing.pricing.lines import ExtraLine
from billing.pricing.recurring import RecurringFee
from billing.pricing.recurring_lines import LinePricer, window_lines
from billing.pricing.terms import DraftLine, SubscriptionTerms, billable_window

ChangePolicy = Literal["immediate", "end_of_term"]


@dataclass(frozen=True)
class ProratedFee:
    """A recurring fee billed in advance: `unit_amount` per full period, times `quantity`."""

    code: str
    description: str
    unit_amount: Decimal
    quantity: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        raise_if_invalid(f"prorated fee {self.code!r}", self.validate())

    def validate(self) -> list[str]:
        return collect(
            text_problem(self.code, "code"),
            text_problem(self.description, "description"),
            decimal_problem(self.unit_amount, "unit_amount"),
            decimal_problem(self.quantity, "quantity"),
        )

    def full_amount(self) -> Decimal:
        return mul_precise(self.unit_amount, self.quantity)


@dataclass(frozen=True)
class ProrationResult:
    effective_on: date  # when the new terms start
    lines: tuple[ExtraLine, ...]  # credit for the old terms, charge for the new


def prorated_amount(full_amount: Decimal, part: BillingPeriod, period: BillingPeriod) -> Decimal:
    """`full_amount x part days / period days` at 9 places."""
    scaled = PRECISE_CONTEXT.multiply(full_amount, part.days)
    return precise(PRECISE_CONTEXT.divide(scaled, period.days))


def prorate_fees(
    *,
    subscription_id: str,
    period: BillingPeriod,
    change_on: date,
    old_fees: Sequence[ProratedFee],
    new_fees: Sequence[ProratedFee],
    policy: ChangePolicy,
) -> ProrationResult:
    """Draft proration lines for changing from `old_fees` to `new_fees` on `change_on`."""
    if policy not in ("immediate", "end_of_term"):
        raise ValueError(f"change policy {policy!r} is unknown: use 'immediate' or 'end_of_term'")
    if not period.start <= change_on <= period.end:
        raise ValueError(
            f"change date {change_on.isoformat()} is outside the billed period "
            f"[{period.start.isoformat()}, {period.end.isoformat()}): pass the period holding it"
        )
    if policy == "end_of_term" or change_on == period.end:
        return ProrationResult(period.end, ())
    remaining = BillingPeriod(change_on, period.end)
    lines = [_line(subscription_id, fee, remaining, period, credit=True) for fee in old_fees]
    lines.extend(_line(subscription_id, fee, remaining, period, credit=False) for fee in new_fees)
    return ProrationResult(change_on, tuple(line for line in lines if line.amount != 0))


def _line(
    subscription_id: str,
    fee: ProratedFee,
    remaining: BillingPeriod,
    period: BillingPeriod,
    *,
    credit: bool,
) -> ExtraLine:
    amount = prorated_amount(fee.full_amount(), remaining, period)
    days = f"{remaining.days} of {period.days} days"
    description = (
        f"Unused time on {fee.description} ({days})"
        if credit
        else f"Remaining time on {fee.description} ({days})"
    )
    return ExtraLine(
        kind="proration",
        description=description,
        subscription_id=subscription_id,
        metric_code=None,
        quantity=fee.quantity,
        unit_amount=-fee.unit_amount if credit else fee.unit_amount,
        amount=-amount if credit else amount,
        period_start=remaining.start,
        period_end=remaining.end,
        charge_code=fee.code,
    )


def advance_fees(terms: SubscriptionTerms) -> tuple[ProratedFee, ...]:
    """The fees of `terms` billed in advance, as prorated fees (seats applied)."""
    fees: list[ProratedFee] = []
    for charge in terms.all_charges:
        fee = charge.model
        if isinstance(fee, RecurringFee) and fee.timing == "advance":
            quantity = Decimal(terms.quantity) if fee.per_seat else Decimal(1)
            fees.append(ProratedFee(charge.code, charge.description, fee.amount, quantity))
    return tuple(fees)


def period_on(terms: SubscriptionTerms, account_bill_cycle_day: int, day: date) -> BillingPeriod:
    """The subscription's recurring period (per its schedule) that holds `day`."""
    return terms.schedule.grid(terms.started_on, account_bill_cycle_day).period_containing(day)


def prorate_change(
    old_terms: SubscriptionTerms | None,
    new_terms: SubscriptionTerms | None,
    period: BillingPeriod,
    change_on: date,
    currency: str,
    *,
    bill_cycle_day: int | None = None,
) -> list[DraftLine]:
    """Immediate change on `change_on`: a credit line for each advance fee the old terms owe
    for [change_on, period end) and a charge line for each the new terms owe (kind
    "proration", rounded once). None means no terms (a new start, or a cancellation/pause).

    `period` is the account's billing period holding `change_on`; a subscription with its own
    schedule is prorated against its own period holding `change_on` (`bill_cycle_day`, the
    account's, places calendar periods; it defaults to the day `period` starts on).
    """
    if not period.start <= change_on <= period.end:
        raise ValueError(
            f"change date {change_on.isoformat()} is outside the period "
            f"[{period.start.isoformat()}, {period.end.isoformat()}): pass the period holding it"
        )
    pricer = LinePricer(currency, minor_exponent(currency))
    bcd = bill_cycle_day or period.start.day
    lines = [*_remaining(pricer, old_terms, period, change_on, bcd, credit=True)]
    lines.extend(_remaining(pricer, new_terms, period, change_on, bcd, credit=False))
    return lines


def _remaining(
    pricer: LinePricer,
    terms: SubscriptionTerms | None,
    account_period: BillingPeriod,
    change_on: date,
    bill_cycle_day: int,
    *,
    credit: bool,
) -> list[DraftLine]:
    if terms is None:
        return []
    period = account_period
    if terms.schedule != Schedule():
        period = terms.schedule.grid(terms.started_on, bill_cycle_day).period_containing(change_on)
    if change_on >= period.end:
        return []
    window = billable_window(terms, period)
    if window is None or window.end <= change_on:
        return []
    remaining = BillingPeriod(max(window.start, change_on), window.end)
    lines = window_lines(pricer, terms, "advance", period, remaining)
    return [_as_proration(pricer, line, credit=credit) for line in lines if line.amount != 0]


def _as_proration(pricer: LinePricer, line: DraftLine, *, credit: bool) -> DraftLine:
    days = f"{(line.period_end - line.period_start).days} days"
    if credit:
        description = f"Unused time on {line.description} ({days})"
        amount, unit_amount = -line.amount, -line.unit_amount
    else:
        description = f"Remaining time on {line.description} ({days})"
        amount, unit_amount = line.amount, line.unit_amount
    return pricer.line(
        "proration",
        description,
        line.subscription_id,
        None,
        line.quantity,
        unit_amount,
        amount,
        BillingPeriod(line.period_start, line.period_end),
        line.charge_code,
    )
