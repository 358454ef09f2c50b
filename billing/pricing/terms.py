"""The inputs and outputs of invoice assembly: account and subscription terms, usage totals,
draft lines and the invoice draft (re-exported by `billing.invoice`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from billing.money import minor_exponent, require_decimal
from billing.periods import MONTHLY, BillingPeriod, Schedule, zone
from billing.pricing.charge import Charge
from billing.pricing.commitment import Commitment
from billing.pricing.coupons import CouponRedemption
from billing.pricing.lines import LineKind
from billing.pricing.one_time import InstallmentPlan
from billing.pricing.per_unit import PerUnit
from billing.pricing.phases import Phase, phases_problems
from billing.pricing.recurring import RecurringFee

SubscriptionStatus = Literal["trialing", "active", "paused", "suspended", "cancelled"]

RECURRING_BILLABLE_STATUSES: frozenset[SubscriptionStatus] = frozenset({"trialing", "active"})


@dataclass(frozen=True)
class FlatCharge:
    """A recurring fee per seat (times the subscription's quantity), billed in advance."""

    description: str
    unit_amount: Decimal
    code: str | None = None  # for coupons; defaults to the description

    def __post_init__(self) -> None:
        require_decimal(self.unit_amount, "FlatCharge.unit_amount")

    def as_charge(self) -> Charge:
        fee = RecurringFee(self.unit_amount, "advance", per_seat=True)
        return Charge(self.code or self.description, self.description, fee)


@dataclass(frozen=True)
class UsageCharge:
    """A per-unit usage price (the simplest usage charge)."""

    metric_code: str
    description: str
    unit_amount: Decimal
    code: str | None = None  # for coupons; defaults to the metric code

    def __post_init__(self) -> None:
        require_decimal(self.unit_amount, "UsageCharge.unit_amount")

    def as_charge(self) -> Charge:
        model = PerUnit(self.unit_amount)
        return Charge(self.code or self.metric_code, self.description, model, self.metric_code)


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
    charges: tuple[Charge, ...] = ()  # any model; priced after flat_charges and usage_charges
    schedule: Schedule = MONTHLY
    pauses: tuple[BillingPeriod, ...] = ()  # no recurring fee for these days
    coupons: tuple[CouponRedemption, ...] = ()
    phases: tuple[Phase, ...] = ()
    installment_plans: tuple[InstallmentPlan, ...] = ()
    commitment: Commitment | None = None
    all_charges: tuple[Charge, ...] = field(init=False, repr=False, compare=False)
    has_recurring: bool = field(init=False, repr=False, compare=False)
    has_arrears: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int):
            raise TypeError(f"subscription {self.subscription_id}: quantity must be an int")
        if self.quantity < 0:
            raise ValueError(f"subscription {self.subscription_id}: quantity must be >= 0")
        problems = phases_problems(self.phases)
        if problems:
            raise ValueError(f"subscription {self.subscription_id}: " + "; ".join(problems))
        legacy = [c.as_charge() for c in self.flat_charges]
        legacy.extend(c.as_charge() for c in self.usage_charges)
        object.__setattr__(self, "all_charges", (*legacy, *self.charges))
        fees = [c.model for c in self._every_charge() if isinstance(c.model, RecurringFee)]
        object.__setattr__(self, "has_recurring", bool(fees))
        object.__setattr__(self, "has_arrears", any(fee.timing == "arrears" for fee in fees))

    def _every_charge(self) -> list[Charge]:
        charges = list(self.all_charges)
        for phase in self.phases:
            charges.extend(phase.charges or ())
        return charges

    def metric_codes(self) -> set[str]:
        """Metrics any of the subscription's charges (of any phase) prices."""
        return {c.metric_code for c in self._every_charge() if c.metric_code is not None}


@dataclass(frozen=True)
class UsageTotal:
    subscription_id: str
    metric_code: str
    quantity: Decimal
    group: str | None = None  # the group_by property's value; one line per value
    transactions: tuple[Decimal, ...] | None = None  # each amount, for percentage charges
    count: int | None = None  # number of events, for percentage charges without min/max

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
    charge_code: str | None = None  # the charge it prices (or discounts)


@dataclass(frozen=True)
class InvoiceDraft:
    customer_id: str
    currency: str
    cycle_on: date
    service_period: BillingPeriod  # [cycle_on, next cycle): recurring fees, billed in advance
    usage_period: BillingPeriod  # [previous cycle, cycle_on): usage, billed in arrears
    lines: tuple[DraftLine, ...]
    subtotal_minor: int  # every line but prepaid credits (after discounts and true-ups)
    total_minor: int  # sum of all lines: subtotal + tax - credits applied
    discount_minor: int = 0  # sum of the discount lines, as a positive number
    credits_applied_minor: int = 0
    credit_balance_remaining_minor: int = 0


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
    start = max(period.start, subscription.started_on)
    if subscription.trial_end_on is not None:
        start = max(start, subscription.trial_end_on)
    end = period.end
    if subscription.cancelled_on is not None:
        end = min(end, subscription.cancelled_on)
    return BillingPeriod(start, end) if start < end else None


UsageIndex = dict[tuple[str, str], list[UsageTotal]]
