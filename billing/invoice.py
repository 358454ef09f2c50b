"""Invoice generation as a pure function of its inputs (Kill Bill style).

`build_invoice(account, subscriptions, usage, cycle_on)` returns the same draft for the same
inputs, which makes dry runs and idempotent re-runs free. Recurring flat charges are billed in
advance for the service period [cycle_on, next cycle); usage is billed in arrears for the usage
period [previous cycle, cycle_on). Each line keeps a 9-place amount and is rounded once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from billing.money import minor_exponent, precise_product, require_decimal, to_minor
from billing.periods import (
    BillingPeriod,
    is_cycle_on,
    next_cycle_on,
    previous_cycle_on,
    prorate,
    zone,
)

SubscriptionStatus = Literal["trialing", "active", "paused", "suspended", "cancelled"]
LineKind = Literal["recurring", "usage"]

RECURRING_BILLABLE_STATUSES: frozenset[SubscriptionStatus] = frozenset({"trialing", "active"})


@dataclass(frozen=True)
class FlatCharge:
    description: str
    unit_amount: Decimal

    def __post_init__(self) -> None:
        require_decimal(self.unit_amount, "FlatCharge.unit_amount")


@dataclass(frozen=True)
class UsageCharge:
    metric_code: str
    description: str
    unit_amount: Decimal

    def __post_init__(self) -> None:
        require_decimal(self.unit_amount, "UsageCharge.unit_amount")


@dataclass(frozen=True)
class SubscriptionTerms:
    subscription_id: str
    plan_code: str
    plan_name: str
    quantity: int
    status: SubscriptionStatus
    started_on: date
    trial_end_on: date | None
    cancelled_on: date | None
    flat_charges: tuple[FlatCharge, ...]
    usage_charges: tuple[UsageCharge, ...]

    def __post_init__(self) -> None:
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int):
            raise TypeError(f"subscription {self.subscription_id}: quantity must be an int")
        if self.quantity < 0:
            raise ValueError(f"subscription {self.subscription_id}: quantity must be >= 0")


@dataclass(frozen=True)
class UsageTotal:
    subscription_id: str
    metric_code: str
    quantity: Decimal

    def __post_init__(self) -> None:
        if require_decimal(self.quantity, "UsageTotal.quantity") < 0:
            raise ValueError(
                f"usage total {self.subscription_id}/{self.metric_code}: "
                f"quantity must be >= 0, got {self.quantity}"
            )


@dataclass(frozen=True)
class AccountTerms:
    customer_id: str
    currency: str
    timezone: str
    bill_cycle_day: int

    def __post_init__(self) -> None:
        minor_exponent(self.currency)
        zone(self.timezone)
        if not 1 <= self.bill_cycle_day <= 31:
            raise ValueError(
                f"customer {self.customer_id}: bill_cycle_day must be between 1 and 31, "
                f"got {self.bill_cycle_day}"
            )


@dataclass(frozen=True)
class DraftLine:
    kind: LineKind
    description: str
    subscription_id: str
    metric_code: str | None
    quantity: Decimal
    unit_amount: Decimal
    amount: Decimal  # 9-place precise
    amount_minor: int  # `amount` rounded once to the currency's minor unit
    period_start: date
    period_end: date


@dataclass(frozen=True)
class InvoiceDraft:
    customer_id: str
    currency: str
    cycle_on: date
    service_period: BillingPeriod  # [cycle_on, next cycle): recurring fees, billed in advance
    usage_period: BillingPeriod  # [previous cycle, cycle_on): usage, billed in arrears
    lines: tuple[DraftLine, ...]
    subtotal_minor: int
    total_minor: int


def build_invoice(
    account: AccountTerms,
    subscriptions: Sequence[SubscriptionTerms],
    usage: Sequence[UsageTotal],
    cycle_on: date,
) -> InvoiceDraft:
    """The invoice draft for `account` on the bill-cycle date `cycle_on`."""
    service_period, usage_period = _periods(account, cycle_on)
    usage_by_key = _index_usage(subscriptions, usage)
    lines: list[DraftLine] = []
    for subscription in subscriptions:
        lines.extend(_recurring_lines(account.currency, subscription, service_period))
        lines.extend(_usage_lines(account.currency, subscription, usage_period, usage_by_key))
    ordered = tuple(sorted(lines, key=_line_order))
    subtotal_minor = sum(line.amount_minor for line in ordered)
    tax_minor = 0  # seam for taxes (later issue): per-line or per-invoice rounding rule
    return InvoiceDraft(
        customer_id=account.customer_id,
        currency=account.currency,
        cycle_on=cycle_on,
        service_period=service_period,
        usage_period=usage_period,
        lines=ordered,
        subtotal_minor=subtotal_minor,
        total_minor=subtotal_minor + tax_minor,
    )


def _periods(account: AccountTerms, cycle_on: date) -> tuple[BillingPeriod, BillingPeriod]:
    bcd = account.bill_cycle_day
    if not is_cycle_on(cycle_on, bcd):
        raise ValueError(
            f"customer {account.customer_id}: {cycle_on.isoformat()} is not a bill-cycle date "
            f"for bill_cycle_day {bcd}; pass the cycle date of that month"
        )
    service = BillingPeriod(cycle_on, next_cycle_on(cycle_on, bcd))
    usage = BillingPeriod(previous_cycle_on(cycle_on, bcd), cycle_on)
    return service, usage


def _index_usage(
    subscriptions: Sequence[SubscriptionTerms], usage: Sequence[UsageTotal]
) -> dict[tuple[str, str], Decimal]:
    metrics_by_subscription: dict[str, set[str]] = {}
    for subscription in subscriptions:
        if subscription.subscription_id in metrics_by_subscription:
            raise ValueError(f"subscription {subscription.subscription_id} is passed twice")
        metrics = {charge.metric_code for charge in subscription.usage_charges}
        metrics_by_subscription[subscription.subscription_id] = metrics
    usage_by_key: dict[tuple[str, str], Decimal] = {}
    for total in usage:
        key = (total.subscription_id, total.metric_code)
        _check_usage_key(metrics_by_subscription, key, key in usage_by_key)
        usage_by_key[key] = total.quantity
    return usage_by_key


def _check_usage_key(
    metrics_by_subscription: dict[str, set[str]], key: tuple[str, str], seen: bool
) -> None:
    subscription_id, metric_code = key
    if subscription_id not in metrics_by_subscription:
        raise ValueError(
            f"usage total names unknown subscription {subscription_id!r}: "
            "pass its SubscriptionTerms or drop the usage total"
        )
    if metric_code not in metrics_by_subscription[subscription_id]:
        raise ValueError(
            f"usage total names metric {metric_code!r}, which subscription {subscription_id} "
            "has no usage charge for"
        )
    if seen:
        raise ValueError(
            f"usage total for subscription {subscription_id}, metric {metric_code} is given "
            "twice: sum the usage before building the invoice"
        )


def billable_window(subscription: SubscriptionTerms, period: BillingPeriod) -> BillingPeriod | None:
    """The part of `period` for which `subscription` owes its recurring fees, if any.

    The window starts at the latest of period start, start date and trial end, and ends at the
    earliest of period end and cancellation date.
    """
    if subscription.status not in RECURRING_BILLABLE_STATUSES:
        return None
    if subscription.status == "trialing" and subscription.trial_end_on is None:
        raise ValueError(
            f"subscription {subscription.subscription_id} is trialing without a trial_end_on"
        )
    starts = [period.start, subscription.started_on]
    if subscription.trial_end_on is not None:
        starts.append(subscription.trial_end_on)
    ends = [period.end]
    if subscription.cancelled_on is not None:
        ends.append(subscription.cancelled_on)
    start, end = max(starts), min(ends)
    return BillingPeriod(start, end) if start < end else None


def _recurring_lines(
    currency: str, subscription: SubscriptionTerms, period: BillingPeriod
) -> Iterator[DraftLine]:
    window = billable_window(subscription, period)
    if window is None:
        return
    quantity = Decimal(subscription.quantity)
    for charge in subscription.flat_charges:
        full_amount = precise_product(quantity, charge.unit_amount)
        amount = prorate(full_amount, window.days, period.days)
        yield DraftLine(
            kind="recurring",
            description=charge.description,
            subscription_id=subscription.subscription_id,
            metric_code=None,
            quantity=quantity,
            unit_amount=charge.unit_amount,
            amount=amount,
            amount_minor=to_minor(amount, currency),
            period_start=window.start,
            period_end=window.end,
        )


def _usage_lines(
    currency: str,
    subscription: SubscriptionTerms,
    period: BillingPeriod,
    usage_by_key: dict[tuple[str, str], Decimal],
) -> Iterator[DraftLine]:
    for charge in subscription.usage_charges:
        quantity = usage_by_key.get((subscription.subscription_id, charge.metric_code))
        if quantity is None or quantity == 0:
            continue
        amount = precise_product(quantity, charge.unit_amount)
        yield DraftLine(
            kind="usage",
            description=charge.description,
            subscription_id=subscription.subscription_id,
            metric_code=charge.metric_code,
            quantity=quantity,
            unit_amount=charge.unit_amount,
            amount=amount,
            amount_minor=to_minor(amount, currency),
            period_start=period.start,
            period_end=period.end,
        )


def _line_order(line: DraftLine) -> tuple[str, int, str]:
    kind_rank = 0 if line.kind == "recurring" else 1
    return (line.subscription_id, kind_rank, line.metric_code or "")
