"""Subscription lifecycle changes: plan and quantity changes, pause and resume, cancel,
reactivate, coupons. One function per change, all through `apply_change`, which records the
change under its business key first: a retried activity finds the key and returns the recorded
result, so a change is applied and billed once.

Proration is day-based and only concerns recurring fees of the current service period that an
issued invoice already billed in advance: the unused part of the old terms is credited and the
remaining part of the new terms charged, as billing adjustments the next invoice carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.invoice import DraftLine, SubscriptionTerms
from billing.periods import BillingPeriod
from billing.proration import prorate_change
from models.config import ConfigSnapshot
from models.contracts import SubscriptionChangeInput, SubscriptionChangeResult
from models.repo_drafts import preview_line
from models.repo_terms import pricing_of, terms_of
from models.snapshots import current_period, subscription_options, subscription_snapshot
from models.tables import (
    BillingAdjustmentRow,
    CouponRedemptionRow,
    CustomerRow,
    InvoiceLineRow,
    InvoiceRow,
    SubscriptionChangeRow,
    SubscriptionRow,
)


class ChangeRejectedError(ValueError):
    """A change the subscription's state or the catalog does not allow; the message says why."""


@dataclass(frozen=True)
class _Context:
    session: Session
    config: ConfigSnapshot
    change: SubscriptionChangeInput
    row: SubscriptionRow
    customer: CustomerRow
    today: date
    period: BillingPeriod


def apply_change(
    session: Session, config: ConfigSnapshot, change: SubscriptionChangeInput
) -> SubscriptionChangeResult:
    row = session.get(SubscriptionRow, change.subscription_id)
    if row is None:
        raise ChangeRejectedError(f"unknown subscription {change.subscription_id!r}")
    customer = session.get(CustomerRow, row.customer_id)
    assert customer is not None
    done = session.get(SubscriptionChangeRow, change.key)
    if done is not None:
        return _recorded(session, config, row, customer, change, done)
    today = change.as_of.astimezone(ZoneInfo(customer.timezone)).date()
    ctx = _Context(session, config, change, row, customer, today, current_period(today, customer))
    effective_on, lines = _HANDLERS[change.kind](ctx)
    row.updated_at = change.as_of
    result = _result(ctx, effective_on, lines)
    _record(ctx, result)
    return result


# --- the changes -------------------------------------------------------------------------------


def _change_plan(ctx: _Context) -> tuple[date, list[DraftLine]]:
    request = ctx.change.change_plan
    assert request is not None
    version = ctx.config.catalog_on(ctx.today).version  # a plan change sells today's version
    quantity = request.quantity or ctx.row.quantity
    return _move(ctx, request.plan_code, version, quantity, request.timing)


def _change_quantity(ctx: _Context) -> tuple[date, list[DraftLine]]:
    request = ctx.change.change_quantity
    assert request is not None
    return _move(ctx, ctx.row.plan_code, ctx.row.catalog_version, request.quantity, request.timing)


def _move(
    ctx: _Context, plan_code: str, version: int, quantity: int, timing: str
) -> tuple[date, list[DraftLine]]:
    row = ctx.row
    _require_changeable(row)
    options = subscription_options(ctx.session, ctx.config, row, ctx.customer, ctx.today)
    policy = options.plans.get(plan_code)
    if policy is None:
        raise ChangeRejectedError(
            f"plan {plan_code!r} is not sold in {ctx.customer.currency} on {ctx.today}"
        )
    if (timing if timing != "policy" else policy) == "end_of_term":
        row.pending_plan_code, row.pending_catalog_version = plan_code, version
        row.pending_quantity, row.pending_change_on = quantity, ctx.period.end
        return ctx.period.end, []
    old = terms_of(ctx.config, row, ctx.customer)
    row.plan_code, row.catalog_version, row.quantity = plan_code, version, quantity
    row.pending_plan_code = row.pending_catalog_version = row.pending_quantity = None
    row.pending_change_on = None
    new = terms_of(ctx.config, row, ctx.customer)
    return ctx.today, _prorated(ctx, old, new)


def _pause(ctx: _Context) -> tuple[date, list[DraftLine]]:
    _require_changeable(ctx.row)
    old = terms_of(ctx.config, ctx.row, ctx.customer)
    ctx.row.status, ctx.row.paused_on = "paused", ctx.today
    return ctx.today, _prorated(ctx, old, None)


def _resume(ctx: _Context) -> tuple[date, list[DraftLine]]:
    row = ctx.row
    if row.status != "paused":
        raise ChangeRejectedError(f"subscription {row.id} is {row.status}, not paused")
    trialing = row.trial_end_on is not None and row.trial_end_on > ctx.today
    row.status, row.paused_on = ("trialing" if trialing else "active"), None
    return ctx.today, _charged_rest(ctx)


def _cancel(ctx: _Context) -> tuple[date, list[DraftLine]]:
    row, request = ctx.row, ctx.change.cancel
    assert request is not None
    if row.status == "cancelled" or row.cancelled_on is not None:
        raise ChangeRejectedError(f"subscription {row.id} is already cancelled")
    if request.mode == "period_end":
        row.cancelled_on = ctx.period.end  # in service until then; the workflow ends it
        return ctx.period.end, []
    old = terms_of(ctx.config, row, ctx.customer)
    row.cancelled_on, row.status = ctx.today, "cancelled"
    return ctx.today, _prorated(ctx, old, None)


def _reactivate(ctx: _Context) -> tuple[date, list[DraftLine]]:
    row = ctx.row
    if row.cancelled_on is None:
        raise ChangeRejectedError(f"subscription {row.id} has no cancellation to undo")
    was_cancelled = row.status == "cancelled"
    row.cancelled_on = None
    if not was_cancelled:  # a cancellation at period end, undone before it happened
        return ctx.today, []
    row.status = "active"
    return ctx.today, _charged_rest(ctx)


def _apply_coupon(ctx: _Context) -> tuple[date, list[DraftLine]]:
    request = ctx.change.apply_coupon
    assert request is not None
    row = ctx.row
    options = subscription_options(ctx.session, ctx.config, row, ctx.customer, ctx.today)
    if request.coupon_code not in options.coupons:
        raise ChangeRejectedError(f"unknown coupon {request.coupon_code!r}")
    if request.coupon_code in options.redeemed_coupons:
        raise ChangeRejectedError(f"coupon {request.coupon_code!r} is already applied")
    ctx.session.add(
        CouponRedemptionRow(
            subscription_id=row.id,
            coupon_code=request.coupon_code,
            catalog_version=ctx.config.catalog_on(ctx.today).version,
            redeemed_on=ctx.today,
        )
    )
    return ctx.today, []


_HANDLERS = {
    "change_plan": _change_plan,
    "change_quantity": _change_quantity,
    "pause": _pause,
    "resume": _resume,
    "cancel": _cancel,
    "reactivate": _reactivate,
    "apply_coupon": _apply_coupon,
}


def _require_changeable(row: SubscriptionRow) -> None:
    if row.status in ("cancelled", "paused", "suspended") or row.cancelled_on is not None:
        state = "cancellation pending" if row.status != "cancelled" and row.cancelled_on else None
        raise ChangeRejectedError(f"subscription {row.id} is {state or row.status}")


# --- proration -----------------------------------------------------------------------------------


def _prorated(
    ctx: _Context, old: SubscriptionTerms | None, new: SubscriptionTerms | None
) -> list[DraftLine]:
    """Credit the old terms and charge the new ones for [today, period end), but only when the
    period's invoice already billed this subscription's recurring fees in advance."""
    if not _recurring_billed(ctx):
        return []
    return prorate_change(
        old,
        new,
        ctx.period,
        ctx.today,
        ctx.customer.currency,
        bill_cycle_day=ctx.customer.bill_cycle_day,
    )


def _charged_rest(ctx: _Context) -> list[DraftLine]:
    """After a resume or reactivation: charge [today, period end) when the period's invoice
    was already issued (it billed nothing for this subscription, or credited it since)."""
    if _period_invoice(ctx) is None:
        return []
    new = terms_of(ctx.config, ctx.row, ctx.customer)
    return prorate_change(
        None,
        new,
        ctx.period,
        ctx.today,
        ctx.customer.currency,
        bill_cycle_day=ctx.customer.bill_cycle_day,
    )


def _period_invoice(ctx: _Context) -> InvoiceRow | None:
    return ctx.session.scalar(
        select(InvoiceRow).where(
            InvoiceRow.customer_id == ctx.customer.id,
            InvoiceRow.period_start == ctx.period.start,
            InvoiceRow.period_end == ctx.period.end,
        )
    )


def _recurring_billed(ctx: _Context) -> bool:
    invoice = _period_invoice(ctx)
    if invoice is None:
        return False
    line = ctx.session.scalar(
        select(InvoiceLineRow.line_no).where(
            InvoiceLineRow.invoice_id == invoice.id,
            InvoiceLineRow.subscription_id == ctx.row.id,
            InvoiceLineRow.kind == "recurring",
        )
    )
    return line is not None


# --- results -------------------------------------------------------------------------------------


def _result(ctx: _Context, effective_on: date, lines: list[DraftLine]) -> SubscriptionChangeResult:
    currency = ctx.customer.currency
    previews = [preview_line(line) for line in lines]
    for i, line in enumerate(lines):
        ctx.session.add(
            BillingAdjustmentRow(
                key=f"{ctx.change.key}:{i}",
                customer_id=ctx.customer.id,
                subscription_id=ctx.row.id,
                kind=line.kind,
                description=line.description,
                metric_code=line.metric_code,
                quantity=str(line.quantity),
                unit_amount=str(line.unit_amount),
                amount_precise=str(line.amount),
                period_start=line.period_start,
                period_end=line.period_end,
                created_at=ctx.change.as_of,
                invoice_id=None,
            )
        )
    ctx.session.flush()
    snap = subscription_snapshot(ctx.session, ctx.config, ctx.row, ctx.customer, ctx.change.as_of)
    return SubscriptionChangeResult(
        snapshot=snap,
        effective_on=effective_on,
        lines=previews,
        net_minor=sum(p.amount_minor for p in previews),
        currency=currency,
    )


def _record(ctx: _Context, result: SubscriptionChangeResult) -> None:
    ctx.session.add(
        SubscriptionChangeRow(
            key=ctx.change.key,
            subscription_id=ctx.row.id,
            kind=ctx.change.kind,
            effective_on=result.effective_on,
            detail=result.model_dump(mode="json", include={"lines", "net_minor", "currency"}),
            requested_at=ctx.change.as_of,
        )
    )
    ctx.session.flush()


def _recorded(
    session: Session,
    config: ConfigSnapshot,
    row: SubscriptionRow,
    customer: CustomerRow,
    change: SubscriptionChangeInput,
    done: SubscriptionChangeRow,
) -> SubscriptionChangeResult:
    detail = dict(done.detail)
    return SubscriptionChangeResult.model_validate(
        {
            **detail,
            "snapshot": subscription_snapshot(session, config, row, customer, change.as_of),
            "effective_on": done.effective_on,
        }
    )


def roll_period(
    session: Session, config: ConfigSnapshot, row: SubscriptionRow, today: date
) -> None:
    """At a period boundary: apply a change scheduled for the end of the term."""
    if row.pending_change_on is None or row.pending_change_on > today:
        return
    assert row.pending_plan_code is not None and row.pending_catalog_version is not None
    row.plan_code, row.catalog_version = row.pending_plan_code, row.pending_catalog_version
    row.quantity = row.pending_quantity or row.quantity
    row.pending_plan_code = row.pending_catalog_version = row.pending_quantity = None
    row.pending_change_on = None


def add_first_invoice_items(
    session: Session,
    config: ConfigSnapshot,
    row: SubscriptionRow,
    customer: CustomerRow,
    now: datetime,
) -> None:
    """One-time charges (and a paid trial) of a new subscription, owed once by the account's
    next invoice, keyed by subscription and charge so they are added once."""
    pricing = pricing_of(config, row.plan_code, row.catalog_version, customer.currency)
    period = current_period(row.started_on, customer)
    for line in pricing.first_invoice_lines(row.id, period):
        session.add(
            BillingAdjustmentRow(
                key=f"subscription:{row.id}:first-invoice:{line.charge_code}",
                customer_id=customer.id,
                subscription_id=row.id,
                kind=line.kind,
                description=line.description,
                metric_code=None,
                quantity=str(line.quantity),
                unit_amount=str(line.unit_amount),
                amount_precise=str(line.amount),
                period_start=line.period_start,
                period_end=line.period_end,
                created_at=now,
                invoice_id=None,
            )
        )
    session.flush()
