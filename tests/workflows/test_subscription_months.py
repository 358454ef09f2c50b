"""Three billing months of a subscription on the time-skipping server: trial -> active by a
durable timer, continue-as-new at each period, a bill cycle per month, exact invoices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from activities.deps import Deps
from billing.money import to_minor
from billing.periods import cycle_on, local_start_utc, next_cycle_on, previous_cycle_on
from models.accounts import UsageEventCreate, record_usage
from models.contracts import SubscriptionWorkflowInput
from models.tables import InvoiceLineRow, InvoiceRow
from tests.factories import make_customer
from tests.workflows.helpers import run_cycle, sleep_until, start_subscription
from workflows.subscription import SubscriptionWorkflow

pytestmark = [pytest.mark.db, pytest.mark.slow]


async def test_three_billing_months(
    time_env: WorkflowEnvironment, worker: object, deps: Deps, task_queue: str
) -> None:
    now = await time_env.get_current_time()
    bcd = min(now.astimezone(UTC).day, 28)
    c0 = cycle_on(now.year, now.month, bcd)
    if c0 > now.date():
        c0 = previous_cycle_on(c0, bcd)
    make_customer(deps.db, "months", timezone="UTC", bill_cycle_day=bcd)
    handle = await start_subscription(
        time_env,
        task_queue,
        SubscriptionWorkflowInput(
            subscription_id="months-1",
            customer_id="months",
            plan_code="starter-monthly",
            started_on=c0,
        ),
    )
    cycles = [c0]
    for _ in range(3):
        cycles.append(next_cycle_on(cycles[-1], bcd))
    # usage in each of the first two periods: 1000 api calls each, 4 GB once
    with deps.db.transaction() as session:
        for k in range(2):
            at = datetime.combine(cycles[k], datetime.min.time(), UTC) + timedelta(days=3)
            record_usage(
                session,
                UsageEventCreate(
                    transaction_id=f"m-{k}",
                    subscription_id="months-1",
                    metric_code="api_calls",
                    occurred_at=at,
                    quantity=Decimal(1000),
                ),
                at,  # received as it happens (events ahead of the clock are refused)
            )

    await run_cycle(time_env, task_queue, c0)  # prorated first period after the trial
    state = await handle.query(SubscriptionWorkflow.state)
    assert state.snapshot.status == "trialing"

    for k in (1, 2):
        await sleep_until(time_env, local_start_utc(cycles[k], "UTC") + timedelta(hours=1))
        await run_cycle(time_env, task_queue, cycles[k])

    state = await handle.query(SubscriptionWorkflow.state)
    assert state.snapshot.status == "active"
    assert state.periods_completed == 2
    assert state.snapshot.period_start_on == cycles[2]

    with deps.db.transaction() as session:
        invoices = session.scalars(select(InvoiceRow).order_by(InvoiceRow.period_start)).all()
        assert [i.period_start for i in invoices] == cycles[:3]
        assert [i.number for i in invoices] == ["US-000001", "US-000002", "US-000003"]
        assert all(i.status == "paid" for i in invoices)
        days0 = (cycles[1] - cycles[0]).days
        billable0 = (cycles[1] - (c0 + timedelta(days=14))).days
        first_flat = to_minor(Decimal("49.00") * billable0 / days0, "USD")
        usage = to_minor(Decimal(1000) * Decimal("0.0020"), "USD")
        assert [i.total_minor for i in invoices] == [first_flat, 4900 + usage, 4900 + usage]
        kinds = session.scalars(
            select(InvoiceLineRow.kind)
            .where(InvoiceLineRow.invoice_id == invoices[1].id)
            .order_by(InvoiceLineRow.line_no)
        ).all()
        assert kinds == ["recurring", "usage"]
