"""Temporal payloads: one *Input model per workflow/activity call, small (ids, dates, counts)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.config import DunningLadderConfig


class Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- subscriptions ---------------------------------------------------------------------------

SubscriptionStatus = Literal["trialing", "active", "paused", "suspended", "cancelled"]


class SubscriptionWorkflowInput(Contract):
    subscription_id: str
    customer_id: str
    plan_code: str
    quantity: int = Field(1, ge=1)
    started_on: date | None = None  # None: today in the account's timezone
    continued: bool = False  # set on continue-as-new: the row already exists
    periods_completed: int = 0
    seen_signal_keys: list[str] = Field(default_factory=list)  # dedup carried over runs
    reactivate: bool = False  # a new run that reactivates a cancelled subscription


class SubscriptionSnapshot(Contract):
    subscription_id: str
    customer_id: str
    legal_entity: str
    plan_code: str
    quantity: int
    status: SubscriptionStatus
    started_on: date
    trial_end_on: date | None
    trial_end_at: datetime | None  # instant the trial ends in the account's timezone
    period_start_on: date
    period_end_on: date
    period_end_at: datetime  # instant the current billing period ends
    cancelled_on: date | None
    catalog_version: int = 1  # the catalog version the subscription was sold on
    paused_on: date | None = None
    pending_plan_code: str | None = None  # a plan change scheduled for the end of the term
    pending_quantity: int | None = None
    pending_change_on: date | None = None
    options: SubscriptionOptions | None = None  # what update validators may accept


class SubscriptionOptions(Contract):
    """Plans and coupons the subscription may move to, read by the activity that takes the
    snapshot, so that update validators reject unknown codes before they touch history."""

    catalog_version: int  # the catalog version in force today (0: none)
    plans: dict[str, Literal["immediate", "end_of_term"]]  # plan code -> change policy
    coupons: list[str]
    redeemed_coupons: list[str] = Field(default_factory=list)


class ChangePlanRequest(Contract):
    plan_code: str = Field(min_length=1, max_length=64)
    quantity: int | None = Field(None, ge=1)
    timing: Literal["policy", "immediate", "end_of_term"] = "policy"  # policy: the plan's own


class ChangeQuantityRequest(Contract):
    quantity: int = Field(ge=1)
    timing: Literal["policy", "immediate", "end_of_term"] = "policy"


class PauseRequest(Contract):
    reason: str = Field("customer request", max_length=200)


class ResumeRequest(Contract):
    reason: str = Field("customer request", max_length=200)


class ReactivateRequest(Contract):
    reason: str = Field("customer request", max_length=200)


class ApplyCouponRequest(Contract):
    coupon_code: str = Field(min_length=1, max_length=64)


ChangeKind = Literal[
    "change_plan", "change_quantity", "pause", "resume", "cancel", "reactivate", "apply_coupon"
]


class SubscriptionChangeInput(Contract):
    """One lifecycle change; `key` is its business key (the update id), so a retried activity
    applies and bills it once."""

    subscription_id: str
    kind: ChangeKind
    key: str
    as_of: datetime
    change_plan: ChangePlanRequest | None = None
    change_quantity: ChangeQuantityRequest | None = None
    apply_coupon: ApplyCouponRequest | None = None
    cancel: CancelSubscriptionRequest | None = None


class PreviewLine(Contract):
    kind: str
    description: str
    quantity: str  # exact decimal strings
    unit_amount: str
    amount: str
    amount_minor: int
    period_start: date
    period_end: date


class InvoicePreview(Contract):
    """The next invoice of an account as it would be issued (a dry run: nothing written)."""

    customer_id: str
    currency: str
    cycle_on: date
    service_period_start: date
    service_period_end: date
    usage_period_start: date
    usage_period_end: date
    lines: list[PreviewLine]
    subtotal_minor: int
    discount_minor: int
    credits_applied_minor: int
    total_minor: int


class SubscriptionChangeResult(Contract):
    snapshot: SubscriptionSnapshot
    effective_on: date
    lines: list[PreviewLine]  # proration credited/charged on the next invoice
    net_minor: int
    currency: str


class CancelSubscriptionRequest(Contract):
    mode: Literal["immediate", "period_end"] = "immediate"
    reason: str = Field("customer request", max_length=200)


class SubscriptionStatusSignal(Contract):
    dedup_key: str
    status: SubscriptionStatus
    reason: str


class CreateSubscriptionInput(Contract):
    request: SubscriptionWorkflowInput
    as_of: datetime


class SubscriptionRefInput(Contract):
    subscription_id: str
    as_of: datetime


class CancelSubscriptionInput(Contract):
    subscription_id: str
    mode: Literal["immediate", "period_end"]
    as_of: datetime


class SubscriptionState(Contract):
    snapshot: SubscriptionSnapshot
    periods_completed: int
    cancel_requested: CancelSubscriptionRequest | None = None


# --- bill cycle --------------------------------------------------------------------------------


class BillCycleInput(Contract):
    cycle_on: date
    batch_size: int = Field(200, ge=1, le=5000)
    after_customer_id: str | None = None  # keyset cursor carried over continue-as-new
    totals: BillCycleTotals | None = None


class BillCycleTotals(Contract):
    accounts_seen: int = 0
    invoices: int = 0
    invoices_created: int = 0
    amount_invoiced_minor_by_currency: dict[str, int] = Field(default_factory=dict)
    payments_succeeded: int = 0
    payments_failed: int = 0
    parked: int = 0
    dunning_started: int = 0

    def plus(self, other: BillCycleTotals) -> BillCycleTotals:
        amounts = dict(self.amount_invoiced_minor_by_currency)
        for currency, amount in other.amount_invoiced_minor_by_currency.items():
            amounts[currency] = amounts.get(currency, 0) + amount
        return BillCycleTotals(
            accounts_seen=self.accounts_seen + other.accounts_seen,
            invoices=self.invoices + other.invoices,
            invoices_created=self.invoices_created + other.invoices_created,
            amount_invoiced_minor_by_currency=amounts,
            payments_succeeded=self.payments_succeeded + other.payments_succeeded,
            payments_failed=self.payments_failed + other.payments_failed,
            parked=self.parked + other.parked,
            dunning_started=self.dunning_started + other.dunning_started,
        )


class DueAccountsInput(Contract):
    cycle_on: date
    as_of: datetime  # only accounts whose local cycle day has started by this instant
    after_customer_id: str | None
    limit: int


class DueAccountsResult(Contract):
    customer_ids: list[str]  # due accounts of this page (may be fewer than the page size)
    next_cursor: str | None  # None: no accounts left to scan


class InvoiceBatchInput(Contract):
    bill_cycle_key: str
    cycle_on: date
    customer_ids: list[str]
    as_of: datetime


class InvoiceBatchResult(Contract):
    invoice_ids: list[str]  # invoices of this batch (new or already there)
    totals: BillCycleTotals


class CollectBatchInput(Contract):
    invoice_ids: list[str]
    as_of: datetime


class FailedPayment(Contract):
    invoice_id: str
    customer_id: str
    legal_entity: str


class CollectBatchResult(Contract):
    totals: BillCycleTotals
    failed: list[FailedPayment]  # declined at first attempt and no dunning case yet


class DueCyclesInput(Contract):
    as_of: datetime | None = None  # None: the workflow's current time


# --- usage ---------------------------------------------------------------------------------------


class SettleUsageInput(Contract):
    transaction_events: int = Field(default=1_000_000, ge=1)  # events per database transaction


class SettleUsageResult(Contract):
    settled_events: int = 0


# --- payments and dunning ------------------------------------------------------------------------


class ChargeInvoiceInput(Contract):
    invoice_id: str
    attempt_no: int = Field(ge=1)
    as_of: datetime


class PaymentOutcome(Contract):
    invoice_id: str
    attempt_no: int
    status: Literal["succeeded", "declined", "already_paid", "not_collectible"]
    decline_code: str | None = None
    message: str = ""


class DunningInput(Contract):
    invoice_id: str
    customer_id: str
    legal_entity: str
    ladder: DunningLadderConfig
    first_attempt_no: int = 2  # attempt 1 was the bill cycle's charge


class OpenDunningCaseInput(Contract):
    as_of: datetime
    invoice_id: str
    ladder_code: str
    ladder_version: int


class DunningStepInput(Contract):
    as_of: datetime
    invoice_id: str
    step_index: int
    step_name: str


class DunningActionInput(Contract):
    as_of: datetime
    invoice_id: str
    action: Literal["suspend_subscriptions", "cancel_subscriptions", "write_off", "reactivate"]


class DunningActionResult(Contract):
    subscription_ids: list[str]


class CloseDunningCaseInput(Contract):
    as_of: datetime
    invoice_id: str
    status: Literal["resolved", "exhausted", "written_off"]


class PaymentReceivedSignal(Contract):
    dedup_key: str
    reference: str


class RecordExternalPaymentInput(Contract):
    as_of: datetime
    invoice_id: str
    reference: str


class DunningState(Contract):
    invoice_id: str
    status: Literal["open", "resolved", "exhausted", "written_off"]
    current_step: int  # -1 before the first step
    current_step_name: str | None
    steps_done: list[str]


# --- notices -------------------------------------------------------------------------------------


class SendNoticeInput(Contract):
    as_of: datetime
    idempotency_key: str
    invoice_id: str
    template: str
    channel: Literal["email", "sms"]
    context: dict[str, str] = Field(default_factory=dict)


class SendNoticeResult(Contract):
    status: Literal["sent", "already_sent", "skipped"]
    detail: str = ""


BillCycleInput.model_rebuild()
SubscriptionSnapshot.model_rebuild()
