"""A preview is a dry run of the code that bills: for any usage and any mid-period change, the
previewed invoice equals the invoice the bill cycle later issues, and previewing writes nothing.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from temporalio.testing import ActivityEnvironment

from activities.deps import Deps
from activities.subscriptions import SubscriptionActivities
from models.accounts import UsageEventCreate, record_usage
from models.contracts import ChangePlanRequest, SubscriptionChangeInput
from models.repo_drafts import preview_next_invoice
from models.tables import CustomerRow, InvoiceLineRow, InvoiceRow
from tests.factories import bill_account, make_customer, make_subscription

pytestmark = pytest.mark.db

DEC_1 = datetime(2026, 12, 1, 12, tzinfo=UTC)
DEC_31 = datetime(2026, 12, 31, 12, tzinfo=UTC)
_ids = itertools.count()

quantities = st.decimals(min_value=0, max_value=10**7, places=3, allow_nan=False)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    api_calls=st.lists(quantities, max_size=4),
    storage=st.lists(quantities, max_size=2),
    plan=st.sampled_from(["starter-monthly", "growth-monthly", "enterprise-monthly"]),
    change_day=st.one_of(st.none(), st.integers(min_value=2, max_value=30)),
)
def test_preview_equals_the_invoice_later_issued(
    deps: Deps,
    api_calls: list[Decimal],
    storage: list[Decimal],
    plan: str,
    change_day: int | None,
) -> None:
    n = next(_ids)
    customer_id, sub_id = f"cust{n}", f"cust{n}-1"
    subs = SubscriptionActivities(deps)
    make_customer(deps.db, customer_id, timezone="Europe/Paris", bill_cycle_day=1)
    make_subscription(
        subs, sub_id, customer_id, plan="growth-monthly", started_on=date(2026, 11, 1)
    )
    bill_account(deps, customer_id, date(2026, 12, 1), DEC_1)
    events = [("api_calls", q) for q in api_calls] + [("storage_gb", q) for q in storage]
    with deps.db.transaction() as session:
        for i, (metric, quantity) in enumerate(events):
            event = UsageEventCreate(
                transaction_id=f"{sub_id}-{i}",
                subscription_id=sub_id,
                metric_code=metric,
                occurred_at=DEC_1 + timedelta(days=i % 28, hours=1),
                quantity=quantity,
            )
            assert record_usage(session, event, DEC_31) == "accepted"
    if change_day is not None and plan != "growth-monthly":
        change = SubscriptionChangeInput(
            subscription_id=sub_id,
            kind="change_plan",
            key=f"{sub_id}:change",
            as_of=datetime(2026, 12, change_day, 12, tzinfo=UTC),
            change_plan=ChangePlanRequest(plan_code=plan, timing="immediate"),
        )
        ActivityEnvironment().run(subs.change_subscription, change)

    with deps.db.transaction() as session:
        customer = session.get(CustomerRow, customer_id)
        assert customer is not None
        preview = preview_next_invoice(session, deps.config, customer, date(2026, 12, 31), DEC_31)
        invoices_before = session.scalar(select(func.count()).select_from(InvoiceRow))
    assert preview.cycle_on == date(2027, 1, 1)
    invoice = bill_account(
        deps, customer_id, date(2027, 1, 1), datetime(2027, 1, 1, 12, tzinfo=UTC)
    )
    with deps.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(InvoiceRow)) == invoices_before + 1
        stored = session.scalars(
            select(InvoiceLineRow)
            .where(InvoiceLineRow.invoice_id == invoice.id)
            .order_by(InvoiceLineRow.line_no)
        ).all()
        billed = [(r.kind, r.description, r.amount_precise, r.amount_minor) for r in stored]
    previewed = [(p.kind, p.description, p.amount, p.amount_minor) for p in preview.lines]
    assert previewed == billed
    assert preview.total_minor == invoice.total_minor
    assert preview.total_minor == sum(p.amount_minor for p in preview.lines)
