"""The invoice draft of an account for a bill-cycle date: everything the pricing core needs,
read in a few set-based queries, then `billing.invoice.build_invoice`. The bill cycle stores
the draft; previews print it. Both run this same function, so a preview equals the invoice later
issued for the same inputs.

Inputs: the subscriptions' terms from the catalog version each was sold on (with coupons and
changes scheduled for the end of the term), usage aggregated in the database over the usage
period, billing adjustments not yet invoiced (proration of lifecycle changes, one-time charges,
late-usage adjustments), and the prepaid-credit balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from billing.invoice import DraftLine, InvoiceDraft, UsageTotal, build_invoice
from billing.periods import BillingPeriod, cycle_on, next_cycle_on, previous_cycle_on, zone
from billing.pricing import ExtraLine
from models.config import ConfigSnapshot
from models.contracts import InvoicePreview, PreviewLine
from models.repo_billing import account_terms, store_invoice
from models.repo_terms import account_subscriptions
from models.repo_usage import late_usage_adjustments, usage_inputs
from models.tables import (
    BillingAdjustmentRow,
    CreditLedgerRow,
    CustomerRow,
    InvoiceRow,
    SubscriptionRow,
)


@dataclass(frozen=True)
class AccountDraft:
    draft: InvoiceDraft
    adjustment_ids: tuple[int, ...]  # billed by this draft; marked when it is stored
    credit_balance_minor: int  # the wallet before this invoice


def draft_for(
    session: Session,
    config: ConfigSnapshot,
    customer: CustomerRow,
    cycle_on: date,
    now: datetime,
) -> AccountDraft:
    """The invoice draft of the account for `cycle_on`. Rated charges rate their period's new
    events first (idempotent writes to `rated_events`); nothing else is written."""
    account = account_terms(customer)
    bcd = account.bill_cycle_day
    subscriptions = account_subscriptions(session, config, customer, cycle_on)
    usage_period = BillingPeriod(previous_cycle_on(cycle_on, bcd), cycle_on)
    inputs = usage_inputs(session, config, account, subscriptions, usage_period, now)
    late = late_usage_adjustments(session, config, account, subscriptions, usage_period.start, now)
    adjustments = _pending_adjustments(session, customer.id, next_cycle_on(cycle_on, bcd))
    balance = credit_balance_minor(session, customer.id)
    draft = build_invoice(
        account,
        [billed.terms for billed in subscriptions],
        inputs.totals,
        cycle_on,
        extra_lines=[*inputs.rated_lines, *late, *(_extra(row) for row in adjustments)],
        credit_balance_minor=balance,
    )
    return AccountDraft(draft, tuple(row.id for row in adjustments), balance)


def _pending_adjustments(
    session: Session, customer_id: str, before: date
) -> list[BillingAdjustmentRow]:
    """Adjustments not invoiced yet whose period starts before the invoice's service end."""
    return list(
        session.scalars(
            select(BillingAdjustmentRow)
            .where(
                BillingAdjustmentRow.customer_id == customer_id,
                BillingAdjustmentRow.invoice_id.is_(None),
                BillingAdjustmentRow.period_start < before,
            )
            .order_by(BillingAdjustmentRow.id)
        ).all()
    )


def _extra(row: BillingAdjustmentRow) -> ExtraLine:
    return ExtraLine(
        kind=row.kind,  # type: ignore[arg-type]
        description=row.description,
        subscription_id=row.subscription_id or "",
        metric_code=row.metric_code,
        quantity=Decimal(row.quantity),
        unit_amount=Decimal(row.unit_amount),
        amount=Decimal(row.amount_precise),
        period_start=row.period_start,
        period_end=row.period_end,
    )


def credit_balance_minor(session: Session, customer_id: str) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(CreditLedgerRow.amount_minor), 0)).where(
            CreditLedgerRow.customer_id == customer_id
        )
    )
    return int(total or 0)


def store_draft(
    session: Session,
    customer: CustomerRow,
    account_draft: AccountDraft,
    bill_cycle_key: str,
    now: datetime,
    issued_on: date,
) -> InvoiceRow:
    """Store the invoice, mark the adjustments it billed and record the prepaid credit it
    consumed, all in the caller's transaction (so an adjustment or a credit is used once)."""
    draft = account_draft.draft
    invoice = store_invoice(session, customer, draft, bill_cycle_key, now, issued_on)
    if account_draft.adjustment_ids:
        session.execute(
            update(BillingAdjustmentRow)
            .where(
                BillingAdjustmentRow.id.in_(account_draft.adjustment_ids),
                BillingAdjustmentRow.invoice_id.is_(None),
            )
            .values(invoice_id=invoice.id)
        )
    entries = (
        ("applied", -draft.credits_applied_minor, "credit-applied", "applied to invoice"),
        ("carry_forward", -min(draft.total_minor, 0), "carry-forward", "credit balance of invoice"),
    )
    for kind, amount_minor, suffix, what in entries:
        if amount_minor:
            session.add(
                CreditLedgerRow(
                    key=f"invoice:{invoice.id}:{suffix}",
                    customer_id=customer.id,
                    currency=draft.currency,
                    kind=kind,
                    amount_minor=amount_minor,
                    description=f"{what} {invoice.number}",
                    invoice_id=invoice.id,
                    created_at=now,
                )
            )
    session.flush()
    return invoice


@dataclass(frozen=True)
class UsageToDate:
    subscription_id: str
    currency: str
    period_start: date
    period_end: date
    as_of: datetime
    usage: tuple[UsageTotal, ...]
    lines: tuple[DraftLine, ...]  # the usage lines the period would bill with usage so far
    estimated_minor: int


def next_cycle_for(customer: CustomerRow, day: date) -> date:
    """The account's first bill-cycle date on or after `day`."""
    this_month = cycle_on(day.year, day.month, customer.bill_cycle_day)
    return this_month if this_month >= day else next_cycle_on(this_month, customer.bill_cycle_day)


def current_usage(
    session: Session, config: ConfigSnapshot, subscription: SubscriptionRow, now: datetime
) -> UsageToDate:
    """Usage of the subscription's open usage period up to `now`, and what it would cost:
    the usage lines of the invoice that will close the period, priced with usage so far."""
    customer = session.get(CustomerRow, subscription.customer_id)
    assert customer is not None
    account = account_terms(customer)
    today = now.astimezone(zone(customer.timezone)).date()
    closing = next_cycle_for(customer, today + timedelta(days=1))
    opened = previous_cycle_on(closing, customer.bill_cycle_day)
    billed = [
        b
        for b in account_subscriptions(session, config, customer, closing)
        if b.subscription_id == subscription.id
    ]
    period = BillingPeriod(opened, closing)
    inputs = usage_inputs(session, config, account, billed, period, now, until=now)
    usage = inputs.totals
    terms = [b.terms for b in billed]
    draft = build_invoice(account, terms, usage, closing, extra_lines=inputs.rated_lines)
    lines = tuple(line for line in draft.lines if line.kind == "usage")
    return UsageToDate(
        subscription_id=subscription.id,
        currency=customer.currency,
        period_start=opened,
        period_end=closing,
        as_of=now,
        usage=tuple(usage),
        lines=lines,
        estimated_minor=sum(line.amount_minor for line in lines),
    )


def preview_next_invoice(
    session: Session, config: ConfigSnapshot, customer: CustomerRow, on: date, now: datetime
) -> InvoicePreview:
    """The account's next invoice from `on`: the first bill-cycle date on or after it that has
    no invoice yet, drafted by the same code the bill cycle stores (nothing is written)."""
    cycle = next_cycle_for(customer, on)
    while _invoiced(session, customer.id, cycle):
        cycle = next_cycle_on(cycle, customer.bill_cycle_day)
    draft = draft_for(session, config, customer, cycle, now).draft
    return InvoicePreview(
        customer_id=customer.id,
        currency=draft.currency,
        cycle_on=cycle,
        service_period_start=draft.service_period.start,
        service_period_end=draft.service_period.end,
        usage_period_start=draft.usage_period.start,
        usage_period_end=draft.usage_period.end,
        lines=[preview_line(line) for line in draft.lines],
        subtotal_minor=draft.subtotal_minor,
        discount_minor=draft.discount_minor,
        credits_applied_minor=draft.credits_applied_minor,
        total_minor=draft.total_minor,
    )


def preview_line(line: DraftLine) -> PreviewLine:
    return PreviewLine(
        kind=line.kind,
        description=line.description,
        quantity=str(line.quantity),
        unit_amount=str(line.unit_amount),
        amount=str(line.amount),
        amount_minor=line.amount_minor,
        period_start=line.period_start,
        period_end=line.period_end,
    )


def _invoiced(session: Session, customer_id: str, cycle: date) -> bool:
    found = session.scalar(
        select(InvoiceRow.id).where(
            InvoiceRow.customer_id == customer_id, InvoiceRow.period_start == cycle
        )
    )
    return found is not None
