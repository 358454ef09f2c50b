"""Subscription activities: create (idempotent by subscription id), snapshot, trial end, cancel."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session
from temporalio import activity

from activities.deps import Deps, invalid, local_date
from billing.periods import (
    BillingPeriod,
    cycle_on,
    is_cycle_on,
    local_start_utc,
    next_cycle_on,
    previous_cycle_on,
)
from models.contracts import (
    CancelSubscriptionInput,
    CreateSubscriptionInput,
    SubscriptionRefInput,
    SubscriptionSnapshot,
)
from models.repo_config import catalog_version_on
from models.tables import CustomerRow, PlanPriceRow, PlanRow, SubscriptionRow


def current_period(day_on: date, bill_cycle_day: int) -> BillingPeriod:
    """The monthly billing period [start, end) that contains the local date."""
    this_month = cycle_on(day_on.year, day_on.month, bill_cycle_day)
    if day_on >= this_month:
        return BillingPeriod(this_month, next_cycle_on(this_month, bill_cycle_day))
    return BillingPeriod(previous_cycle_on(this_month, bill_cycle_day), this_month)


class SubscriptionActivities:
    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    @activity.defn(name="create_subscription")
    def create_subscription(self, data: CreateSubscriptionInput) -> SubscriptionSnapshot:
        req = data.request
        with self._deps.db.transaction() as session:
            customer = _customer(session, req.customer_id)
            row = session.get(SubscriptionRow, req.subscription_id)
            if row is None:
                started_on = req.started_on or local_date(data.as_of, customer.timezone)
                row = _new_subscription(session, customer, data, started_on)
                session.add(row)
            elif row.customer_id != customer.id or row.plan_code != req.plan_code:
                raise invalid(
                    f"subscription {row.id} already exists for customer {row.customer_id} "
                    f"on plan {row.plan_code}",
                    "SubscriptionConflict",
                )
            return snapshot(row, customer, data)

    @activity.defn(name="subscription_snapshot")
    def subscription_snapshot(self, data: SubscriptionRefInput) -> SubscriptionSnapshot:
        with self._deps.db.transaction() as session:
            row = _subscription(session, data.subscription_id)
            return snapshot(row, _customer(session, row.customer_id), data)

    @activity.defn(name="end_trial")
    def end_trial(self, data: SubscriptionRefInput) -> SubscriptionSnapshot:
        with self._deps.db.transaction() as session:
            row = _subscription(session, data.subscription_id)
            if row.status == "trialing":
                row.status = "active"
                row.updated_at = data.as_of
            return snapshot(row, _customer(session, row.customer_id), data)

    @activity.defn(name="cancel_subscription")
    def cancel_subscription(self, data: CancelSubscriptionInput) -> SubscriptionSnapshot:
        with self._deps.db.transaction() as session:
            row = _subscription(session, data.subscription_id)
            customer = _customer(session, row.customer_id)
            if row.status != "cancelled":
                today = local_date(data.as_of, customer.timezone)
                if data.mode == "immediate":
                    row.cancelled_on, row.status = today, "cancelled"
                else:  # in service until the period ends; the workflow cancels it then
                    row.cancelled_on = current_period(today, customer.bill_cycle_day).end
                row.updated_at = data.as_of
            return snapshot(row, customer, data)


def _customer(session: Session, customer_id: str) -> CustomerRow:
    customer = session.get(CustomerRow, customer_id)
    if customer is None:
        raise invalid(f"unknown customer {customer_id!r}", "UnknownCustomer")
    return customer


def _subscription(session: Session, subscription_id: str) -> SubscriptionRow:
    row = session.get(SubscriptionRow, subscription_id)
    if row is None:
        raise invalid(f"unknown subscription {subscription_id!r}", "UnknownSubscription")
    return row


def _new_subscription(
    session: Session, customer: CustomerRow, data: CreateSubscriptionInput, started_on: date
) -> SubscriptionRow:
    req = data.request
    version = catalog_version_on(session, started_on)
    plan = session.get(PlanRow, (req.plan_code, version)) if version is not None else None
    if plan is None or version is None:
        raise invalid(
            f"unknown plan {req.plan_code!r} in the catalog in force on {started_on}",
            "UnknownPlan",
        )
    priced = session.get(PlanPriceRow, (plan.code, version, 0, customer.currency))
    if priced is None:
        raise invalid(
            f"plan {plan.code!r} has no price in {customer.currency} (customer {customer.id})",
            "PlanNotPricedInCurrency",
        )
    trial_end_on = started_on + timedelta(days=plan.trial_days) if plan.trial_days else None
    today = local_date(data.as_of, customer.timezone)
    in_trial = trial_end_on is not None and trial_end_on > today
    return SubscriptionRow(
        id=req.subscription_id,
        customer_id=customer.id,
        plan_code=plan.code,
        catalog_version=version,
        quantity=req.quantity,
        status="trialing" if in_trial else "active",
        started_on=started_on,
        trial_end_on=trial_end_on,
        cancelled_on=None,
        updated_at=data.as_of,
    )


def snapshot(
    row: SubscriptionRow,
    customer: CustomerRow,
    data: CreateSubscriptionInput | SubscriptionRefInput | CancelSubscriptionInput,
) -> SubscriptionSnapshot:
    today = local_date(data.as_of, customer.timezone)
    period = current_period(today, customer.bill_cycle_day)
    assert is_cycle_on(period.start, customer.bill_cycle_day)
    return SubscriptionSnapshot(
        subscription_id=row.id,
        customer_id=customer.id,
        legal_entity=customer.legal_entity_code,
        plan_code=row.plan_code,
        quantity=row.quantity,
        status=row.status,
        started_on=row.started_on,
        trial_end_on=row.trial_end_on,
        trial_end_at=(
            local_start_utc(row.trial_end_on, customer.timezone) if row.trial_end_on else None
        ),
        period_start_on=period.start,
        period_end_on=period.end,
        period_end_at=local_start_utc(period.end, customer.timezone),
        cancelled_on=row.cancelled_on,
    )
