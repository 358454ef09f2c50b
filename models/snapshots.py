"""The subscription snapshot the SubscriptionWorkflow keeps: its row, its current period in the
account's timezone, and the options its update validators check (plans it may move to, coupons
it may redeem), read from the catalog in force today."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.periods import (
    BillingPeriod,
    cycle_on,
    local_start_utc,
    next_cycle_on,
    previous_cycle_on,
)
from models.config import ConfigSnapshot, NoCatalogError
from models.contracts import SubscriptionOptions, SubscriptionSnapshot
from models.tables import CouponRedemptionRow, CustomerRow, SubscriptionRow


def current_period(day_on: date, customer: CustomerRow) -> BillingPeriod:
    """The account's billing period [start, end) that contains the local date."""
    bill_cycle_day = customer.bill_cycle_day
    this_month = cycle_on(day_on.year, day_on.month, bill_cycle_day)
    if day_on >= this_month:
        return BillingPeriod(this_month, next_cycle_on(this_month, bill_cycle_day))
    return BillingPeriod(previous_cycle_on(this_month, bill_cycle_day), this_month)


def subscription_options(
    session: Session,
    config: ConfigSnapshot,
    row: SubscriptionRow,
    customer: CustomerRow,
    today: date,
) -> SubscriptionOptions:
    redeemed = session.scalars(
        select(CouponRedemptionRow.coupon_code).where(CouponRedemptionRow.subscription_id == row.id)
    ).all()
    try:
        catalog = config.catalog_on(today)
    except NoCatalogError:
        return SubscriptionOptions(
            catalog_version=0, plans={}, coupons=[], redeemed_coupons=sorted(redeemed)
        )
    plans = {
        plan.code: plan.change_policy
        for plan in catalog.plans
        if customer.currency in plan.currencies
    }
    return SubscriptionOptions(
        catalog_version=catalog.version,
        plans=plans,
        coupons=sorted(coupon.code for coupon in catalog.coupons),
        redeemed_coupons=sorted(redeemed),
    )


def subscription_snapshot(
    session: Session,
    config: ConfigSnapshot,
    row: SubscriptionRow,
    customer: CustomerRow,
    as_of: datetime,
) -> SubscriptionSnapshot:
    today = as_of.astimezone(ZoneInfo(customer.timezone)).date()
    period = current_period(today, customer)
    trial_end_at = (
        local_start_utc(row.trial_end_on, customer.timezone) if row.trial_end_on else None
    )
    return SubscriptionSnapshot(
        subscription_id=row.id,
        customer_id=customer.id,
        legal_entity=customer.legal_entity_code,
        plan_code=row.plan_code,
        quantity=row.quantity,
        status=row.status,
        started_on=row.started_on,
        trial_end_on=row.trial_end_on,
        trial_end_at=trial_end_at,
        period_start_on=period.start,
        period_end_on=period.end,
        period_end_at=local_start_utc(period.end, customer.timezone),
        cancelled_on=row.cancelled_on,
        catalog_version=row.catalog_version,
        paused_on=row.paused_on,
        pending_plan_code=row.pending_plan_code,
        pending_quantity=row.pending_quantity,
        pending_change_on=row.pending_change_on,
        options=subscription_options(session, config, row, customer, today),
    )
