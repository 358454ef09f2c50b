"""Test data builders that go through the same validated write paths as the product."""

from __future__ import annotations

from datetime import UTC, date, datetime

from temporalio.testing import ActivityEnvironment

from activities.bill_cycle import BillCycleActivities
from activities.deps import Deps
from activities.subscriptions import SubscriptionActivities
from models.accounts import CustomerCreate, add_customer
from models.contracts import (
    CreateSubscriptionInput,
    InvoiceBatchInput,
    SubscriptionSnapshot,
    SubscriptionWorkflowInput,
)
from models.db import Database
from models.tables import InvoiceRow

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def make_customer(
    db: Database,
    customer_id: str,
    *,
    token: str = "pm_card_visa",
    gateway: str = "stripe",
    currency: str = "USD",
    entity: str = "o2c-us",
    timezone: str = "America/New_York",
    locale: str = "en_US",
    bill_cycle_day: int = 1,
    phone: str | None = "+15550100001",
) -> None:
    data = CustomerCreate(
        id=customer_id,
        name=f"Customer {customer_id}",
        email=f"{customer_id}@example.com",
        phone=phone,
        currency=currency,
        locale=locale,
        timezone=timezone,
        bill_cycle_day=bill_cycle_day,
        legal_entity=entity,
        gateway=gateway,  # type: ignore[arg-type]
        payment_token=token,
    )
    with db.transaction() as session:
        add_customer(session, data, NOW)


def make_subscription(
    activities: SubscriptionActivities,
    subscription_id: str,
    customer_id: str,
    plan: str = "growth-monthly",
    started_on: date = date(2026, 11, 1),
    as_of: datetime = NOW,
) -> SubscriptionSnapshot:
    request = SubscriptionWorkflowInput(
        subscription_id=subscription_id,
        customer_id=customer_id,
        plan_code=plan,
        started_on=started_on,
    )
    return activities.create_subscription(CreateSubscriptionInput(request=request, as_of=as_of))


def bill_account(deps: Deps, customer_id: str, cycle_on: date, as_of: datetime) -> InvoiceRow:
    """Run the bill-cycle invoice activity for one account; its (detached) invoice."""
    batch = InvoiceBatchInput(
        bill_cycle_key=f"bill-cycle-{cycle_on.isoformat()}",
        cycle_on=cycle_on,
        customer_ids=[customer_id],
        as_of=as_of,
    )
    result = ActivityEnvironment().run(BillCycleActivities(deps).invoice_batch, batch)
    assert result.totals.parked == 0, f"account {customer_id} parked"
    with deps.db.transaction() as session:
        invoice = session.get(InvoiceRow, result.invoice_ids[0])
        assert invoice is not None
        session.expunge(invoice)
        return invoice
