"""Subscription activities: create (idempotent by subscription id), snapshot, trial end, period
roll, lifecycle changes (`change_subscription`) and the period-end cancellation."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session
from temporalio import activity

from activities.deps import Deps, invalid, local_date
from models.config import UnknownConfigError
from models.contracts import (
    CancelSubscriptionInput,
    CreateSubscriptionInput,
    SubscriptionChangeInput,
    SubscriptionChangeResult,
    SubscriptionRefInput,
    SubscriptionSnapshot,
)
from models.repo_lifecycle import (
    ChangeRejectedError,
    add_first_invoice_items,
    apply_change,
    roll_period,
)
from models.snapshots import current_period, subscription_snapshot
from models.tables import CustomerRow, SubscriptionRow


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
                row = self._new_subscription(customer, data, started_on)
                session.add(row)
                session.flush()
                add_first_invoice_items(session, self._deps.config, row, customer, data.as_of)
            elif row.customer_id != customer.id or row.plan_code != req.plan_code:
                raise invalid(
                    f"subscription {row.id} already exists for customer {row.customer_id} "
                    f"on plan {row.plan_code}",
                    "SubscriptionConflict",
                )
            return self._snapshot(session, row, customer, data.as_of)

    @activity.defn(name="subscription_snapshot")
    def subscription_snapshot(self, data: SubscriptionRefInput) -> SubscriptionSnapshot:
        with self._deps.db.transaction() as session:
            row = _subscription(session, data.subscription_id)
            return self._snapshot(session, row, _customer(session, row.customer_id), data.as_of)

    @activity.defn(name="roll_subscription_period")
    def roll_subscription_period(self, data: SubscriptionRefInput) -> SubscriptionSnapshot:
        with self._deps.db.transaction() as session:
            row = _subscription(session, data.subscription_id)
            customer = _customer(session, row.customer_id)
            roll_period(session, self._deps.config, row, local_date(data.as_of, customer.timezone))
            return self._snapshot(session, row, customer, data.as_of)

    @activity.defn(name="end_trial")
    def end_trial(self, data: SubscriptionRefInput) -> SubscriptionSnapshot:
        with self._deps.db.transaction() as session:
            row = _subscription(session, data.subscription_id)
            if row.status == "trialing":
                row.status = "active"
                row.updated_at = data.as_of
            return self._snapshot(session, row, _customer(session, row.customer_id), data.as_of)

    @activity.defn(name="change_subscription")
    def change_subscription(self, data: SubscriptionChangeInput) -> SubscriptionChangeResult:
        try:
            with self._deps.db.transaction() as session:
                return apply_change(session, self._deps.config, data)
        except ChangeRejectedError as exc:
            raise invalid(str(exc), "ChangeRejected") from exc

    @activity.defn(name="cancel_subscription")
    def cancel_subscription(self, data: CancelSubscriptionInput) -> SubscriptionSnapshot:
        """Ends a subscription whose cancellation date has come (cancel at period end)."""
        with self._deps.db.transaction() as session:
            row = _subscription(session, data.subscription_id)
            customer = _customer(session, row.customer_id)
            if row.status != "cancelled":
                today = local_date(data.as_of, customer.timezone)
                if data.mode == "immediate":
                    row.cancelled_on, row.status = row.cancelled_on or today, "cancelled"
                else:
                    row.cancelled_on = current_period(today, customer).end
                row.updated_at = data.as_of
            return self._snapshot(session, row, customer, data.as_of)

    def _snapshot(
        self, session: Session, row: SubscriptionRow, customer: CustomerRow, as_of: datetime
    ) -> SubscriptionSnapshot:
        return subscription_snapshot(session, self._deps.config, row, customer, as_of)

    def _new_subscription(
        self, customer: CustomerRow, data: CreateSubscriptionInput, started_on: date
    ) -> SubscriptionRow:
        req = data.request
        try:
            catalog = self._deps.config.catalog_on(started_on)
            plan = catalog.plan(req.plan_code)
        except UnknownConfigError as exc:
            raise invalid(f"{exc} (subscription starting {started_on})", "UnknownPlan") from exc
        if customer.currency not in plan.currencies:
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
            catalog_version=catalog.version,
            quantity=req.quantity,
            status="trialing" if in_trial else "active",
            started_on=started_on,
            trial_end_on=trial_end_on,
            cancelled_on=None,
            updated_at=data.as_of,
        )


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
