"""Invoice generation as a pure function of its inputs (Kill Bill style).

`build_invoice(account, subscriptions, usage, cycle_on, ...)` returns the same draft for the
same inputs, which makes dry runs, previews and idempotent re-runs free: it reads no clock and
no storage. The account's invoice on the bill-cycle date `cycle_on` has a service period
[cycle_on, next cycle) and a usage period [previous cycle, cycle_on).

Recurring fees follow each subscription's `Schedule` (interval and alignment):
- in advance: a period is billed on the invoice whose service period contains its start, or,
  for the periods of a subscription that starts after that invoice, on the first invoice on or
  after the start date (so a started period is never skipped);
- in arrears: a period is billed on the first invoice on or after its end.
Only the billable part of a period is billed, day-based: from the latest of start date and
trial end to the cancellation date, minus paused days, cut at phase changes; each part is
`full fee x part days / period days`.
Usage is billed in arrears for the usage period, one line per (charge, group value), priced by
the charges of the phase in effect on the usage period's last day. Each group is priced on its
own (free units and tiers apply per group).

Order of application (each step sees the result of the previous ones):
1. price lines: recurring, instalments, usage, and the already-priced `extra_lines`;
2. charge coupons (`applies_to` a charge code): one discount line per discounted line, capped
   at what remains of that line;
3. invoice coupons (`applies_to` None): a subscription's own apply to its lines, then the
   account's (`coupons=`) to the whole invoice, capped at what remains (never below zero);
4. commitment true-up per subscription: max(0, minimum - the subscription's net lines);
5. prepaid credits: one credit line of min(balance, total), never more than the total.
Every line keeps a 9-place `amount` and is rounded once (`amount_minor`, ROUND_HALF_UP to the
ISO 4217 exponent); the invoice total is the sum of the rounded lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from billing.money import minor_exponent
from billing.periods import BillingPeriod, is_cycle_on, next_cycle_on, previous_cycle_on
from billing.pricing.assembly import InvoiceFrame, assemble
from billing.pricing.coupons import CouponRedemption
from billing.pricing.lines import ExtraLine, LineKind
from billing.pricing.recurring_lines import (
    LinePricer,
    first_cycle_on_or_after,
    installment_lines,
    recurring_lines,
)
from billing.pricing.terms import (
    RECURRING_BILLABLE_STATUSES,
    AccountTerms,
    DraftLine,
    FlatCharge,
    InvoiceDraft,
    SubscriptionStatus,
    SubscriptionTerms,
    UsageCharge,
    UsageIndex,
    UsageTotal,
    billable_window,
)
from billing.pricing.usage_lines import usage_lines

__all__ = [
    "RECURRING_BILLABLE_STATUSES",
    "AccountTerms",
    "DraftLine",
    "ExtraLine",
    "FlatCharge",
    "InvoiceDraft",
    "LineKind",
    "SubscriptionStatus",
    "SubscriptionTerms",
    "UsageCharge",
    "UsageTotal",
    "billable_window",
    "build_invoice",
    "first_cycle_on_or_after",
]


def build_invoice(
    account: AccountTerms,
    subscriptions: Sequence[SubscriptionTerms],
    usage: Sequence[UsageTotal],
    cycle_on: date,
    *,
    extra_lines: Sequence[ExtraLine] = (),
    coupons: Sequence[CouponRedemption] = (),
    credit_balance_minor: int = 0,
    periods: tuple[BillingPeriod, BillingPeriod] | None = None,
) -> InvoiceDraft:
    """The invoice draft for `account` on the bill-cycle date `cycle_on`.

    `extra_lines` are items priced beforehand (one-time charges, proration lines, late-usage
    adjustments, rated rollups); `coupons` are the account's own redemptions (on the whole
    invoice, or on a charge code of any subscription); `credit_balance_minor` is the prepaid
    wallet before this invoice (what remains is `credit_balance_remaining_minor`).
    `periods` (service, usage) replaces the account's cycle periods: a price simulation over
    arbitrary dates (`o2c price`) uses it with one period for fees and usage.
    """
    service, usage_period = periods if periods is not None else _periods(account, cycle_on)
    usage_by_key = _index_usage(subscriptions, usage)
    pricer = LinePricer(account.currency, minor_exponent(account.currency))
    bcd = account.bill_cycle_day
    priced: list[DraftLine] = []
    for terms in subscriptions:
        priced.extend(recurring_lines(pricer, terms, bcd, service, usage_period))
        priced.extend(installment_lines(pricer, terms, service))
        priced.extend(usage_lines(pricer, terms, usage_period, usage_by_key))
    priced.extend(pricer.extra(line) for line in extra_lines)
    frame = InvoiceFrame(
        account.customer_id, account.currency, bcd, cycle_on, service, usage_period
    )
    return assemble(frame, pricer, priced, subscriptions, coupons, credit_balance_minor)


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
) -> UsageIndex:
    metrics_by_subscription: dict[str, set[str]] = {}
    for subscription in subscriptions:
        if subscription.subscription_id in metrics_by_subscription:
            raise ValueError(f"subscription {subscription.subscription_id} is passed twice")
        metrics_by_subscription[subscription.subscription_id] = subscription.metric_codes()
    usage_by_key: UsageIndex = {}
    seen: set[tuple[str, str, str | None]] = set()
    for total in usage:
        key = (total.subscription_id, total.metric_code)
        full_key = (*key, total.group)
        _check_usage_key(metrics_by_subscription, key, total.group, full_key in seen)
        seen.add(full_key)
        usage_by_key.setdefault(key, []).append(total)
    for totals in usage_by_key.values():
        totals.sort(key=lambda total: (total.group is not None, total.group or ""))
    return usage_by_key


def _check_usage_key(
    metrics_by_subscription: dict[str, set[str]],
    key: tuple[str, str],
    group: str | None,
    seen: bool,
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
        group_text = "" if group is None else f", group {group!r}"
        raise ValueError(
            f"usage total for subscription {subscription_id}, metric {metric_code}{group_text} "
            "is given twice: sum the usage before building the invoice"
        )
