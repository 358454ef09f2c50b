"""Recurring-fee and instalment lines of one subscription on one account invoice."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing.money import PRECISE_CONTEXT, minor_of, mul_precise, precise
from billing.periods import BillingPeriod, Grid, next_cycle_on
from billing.periods import cycle_on as cycle_in_month
from billing.pricing.lines import ExtraLine, LineKind
from billing.pricing.one_time import installment_amount
from billing.pricing.phases import Phase, phase_segments
from billing.pricing.recurring import RecurringFee
from billing.pricing.terms import DraftLine, SubscriptionTerms, billable_window

_ONE = Decimal(1)


@dataclass(frozen=True)
class LinePricer:
    """Rounds each line once, to the minor unit of the invoice currency."""

    currency: str
    exponent: int

    def line(
        self,
        kind: LineKind,
        description: str,
        subscription_id: str,
        metric_code: str | None,
        quantity: Decimal,
        unit_amount: Decimal,
        amount: Decimal,
        period: BillingPeriod,
        charge_code: str | None,
    ) -> DraftLine:
        return DraftLine(
            kind,
            description,
            subscription_id,
            metric_code,
            quantity,
            unit_amount,
            amount,
            minor_of(amount, self.exponent),
            period.start,
            period.end,
            charge_code,
        )

    def extra(self, item: ExtraLine) -> DraftLine:
        amount = precise(item.amount)
        return DraftLine(
            item.kind,
            item.description,
            item.subscription_id,
            item.metric_code,
            item.quantity,
            item.unit_amount,
            amount,
            minor_of(amount, self.exponent),
            item.period_start,
            item.period_end,
            item.charge_code,
        )


def first_cycle_on_or_after(day: date, bill_cycle_day: int) -> date:
    """The first account cycle date on or after `day`."""
    this_month = cycle_in_month(day.year, day.month, bill_cycle_day)
    if this_month >= day:
        return this_month
    return next_cycle_on(this_month, bill_cycle_day)


def advance_periods(
    grid: Grid, started_on: date, bill_cycle_day: int, service: BillingPeriod
) -> list[BillingPeriod]:
    """Periods billed in advance on the invoice of `service`: those starting in it, or, on the
    first invoice on or after the start date, every period from the one holding that date."""
    first = first_cycle_on_or_after(started_on, bill_cycle_day)
    if first > service.start:
        return []
    start = service.start
    if first == service.start:
        start = min(start, grid.period_containing(started_on).start)
    return grid.periods_starting_in(BillingPeriod(start, service.end))


def without_pauses(window: BillingPeriod, pauses: Sequence[BillingPeriod]) -> list[BillingPeriod]:
    parts = [window]
    for pause in pauses:
        kept: list[BillingPeriod] = []
        for part in parts:
            if pause.end <= part.start or pause.start >= part.end:
                kept.append(part)
                continue
            if part.start < pause.start:
                kept.append(BillingPeriod(part.start, pause.start))
            if pause.end < part.end:
                kept.append(BillingPeriod(pause.end, part.end))
        parts = kept
    return parts


def recurring_lines(
    pricer: LinePricer,
    terms: SubscriptionTerms,
    bill_cycle_day: int,
    service: BillingPeriod,
    usage: BillingPeriod,
) -> list[DraftLine]:
    """Recurring fees owed on this invoice: advance periods and arrears periods, day-based."""
    if not terms.has_recurring:
        return []
    grid = terms.schedule.grid(terms.started_on, bill_cycle_day)
    lines: list[DraftLine] = []
    billed = [("advance", advance_periods(grid, terms.started_on, bill_cycle_day, service))]
    if terms.has_arrears:
        billed.append(("arrears", grid.periods_ending_in(usage)))
    for timing, periods in billed:
        for period in periods:
            window = billable_window(terms, period)
            if window is not None:
                lines.extend(window_lines(pricer, terms, timing, period, window))
    return lines


def window_lines(
    pricer: LinePricer,
    terms: SubscriptionTerms,
    timing: str,
    period: BillingPeriod,
    window: BillingPeriod,
) -> list[DraftLine]:
    """The recurring lines (of `timing`) for `window`, a billable part of the grid `period`:
    paused days left out, cut at phase changes, each part prorated against the period."""
    lines: list[DraftLine] = []
    for part in without_pauses(window, terms.pauses) if terms.pauses else [window]:
        pieces = phase_segments(terms.phases, terms.schedule.interval, terms.started_on, part)
        for piece, phase in pieces:
            lines.extend(_fee_lines(pricer, terms, timing, period, piece, phase))
    return lines


def _fee_lines(
    pricer: LinePricer,
    terms: SubscriptionTerms,
    timing: str,
    period: BillingPeriod,
    piece: BillingPeriod,
    phase: Phase | None,
) -> Iterator[DraftLine]:
    factor = _ONE if phase is None else phase.price_factor
    if factor == 0:
        return
    charges = terms.all_charges if phase is None or phase.charges is None else phase.charges
    piece_days, period_days = piece.days, period.days
    for charge in charges:
        fee = charge.model
        if not isinstance(fee, RecurringFee) or fee.timing != timing:
            continue
        unit = fee.amount if factor == 1 else mul_precise(fee.amount, factor)
        quantity = Decimal(terms.quantity) if fee.per_seat else _ONE
        full = mul_precise(quantity, unit) if fee.per_seat else precise(unit)
        amount = full
        if piece_days != period_days:
            amount = precise(
                PRECISE_CONTEXT.divide(PRECISE_CONTEXT.multiply(full, piece_days), period_days)
            )
        description = (
            charge.description if phase is None else f"{charge.description} ({phase.name})"
        )
        yield pricer.line(
            "recurring",
            description,
            terms.subscription_id,
            None,
            quantity,
            unit,
            amount,
            piece,
            charge.code,
        )


def installment_lines(
    pricer: LinePricer, terms: SubscriptionTerms, service: BillingPeriod
) -> Iterator[DraftLine]:
    """The instalments due in the service period (whatever the subscription's status)."""
    for plan in terms.installment_plans:
        count = plan.installments.count
        for number in plan.numbers_due_in(service):
            amount = precise(installment_amount(plan.installments, number, pricer.currency))
            yield pricer.line(
                "installment",
                f"{plan.description} (instalment {number} of {count})",
                terms.subscription_id,
                None,
                _ONE,
                amount,
                amount,
                service,
                plan.code,
            )
