"""The standard 30-day dunning ladder (3d, 5d, 7d, 15d) walked in seconds on the time-skipping
server, with the real activities, database and gateway stand-ins."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from activities.deps import Deps
from billing.periods import cycle_on, previous_cycle_on
from models.contracts import SubscriptionWorkflowInput
from models.tables import (
    DunningCaseRow,
    InvoiceRow,
    NotificationRow,
    PaymentAttemptRow,
    SubscriptionRow,
)
from tests.factories import make_customer
from tests.workflows.helpers import run_cycle, start_subscription, until_closed
from workflows.dunning import DunningWorkflow, dunning_workflow_id
from workflows.subscription import SubscriptionWorkflow

pytestmark = [pytest.mark.db, pytest.mark.slow]


async def _declined_invoice(
    env: WorkflowEnvironment, deps: Deps, task_queue: str, token: str
) -> tuple[str, str, object]:
    now = await env.get_current_time()
    bcd = min(now.day, 28)
    c0 = cycle_on(now.year, now.month, bcd)
    if c0 > now.date():
        c0 = previous_cycle_on(c0, bcd)
    customer = f"dun-{uuid.uuid4().hex[:6]}"
    make_customer(deps.db, customer, token=token, timezone="UTC", bill_cycle_day=bcd)
    sub = await start_subscription(
        env,
        task_queue,
        SubscriptionWorkflowInput(
            subscription_id=f"{customer}-1",
            customer_id=customer,
            plan_code="growth-monthly",
            started_on=c0,
        ),
    )
    totals = await run_cycle(env, task_queue, c0)
    assert (totals.payments_failed, totals.dunning_started) == (1, 1)
    with deps.db.transaction() as session:
        invoice_id = session.scalars(
            select(InvoiceRow.id).where(InvoiceRow.customer_id == customer)
        ).one()
    return invoice_id, f"{customer}-1", sub


async def test_thirty_day_ladder_ends_in_write_off(
    time_env: WorkflowEnvironment, worker: object, deps: Deps, task_queue: str
) -> None:
    invoice_id, sub_id, sub = await _declined_invoice(
        time_env, deps, task_queue, "pm_card_chargeDeclined"
    )
    started = await time_env.get_current_time()
    handle = time_env.client.get_workflow_handle_for(
        DunningWorkflow.run, dunning_workflow_id(invoice_id)
    )
    await until_closed(time_env, handle, timedelta(hours=12))
    state = await handle.query(DunningWorkflow.state)
    elapsed = await time_env.get_current_time() - started
    assert timedelta(days=30) <= elapsed < timedelta(days=31)
    assert state.status == "written_off"
    assert state.steps_done == ["reminder", "second-reminder", "suspension", "final"]
    await until_closed(time_env, sub, timedelta(minutes=1))
    assert (await sub.query(SubscriptionWorkflow.state)).snapshot.status == "cancelled"
    with deps.db.transaction() as session:
        attempts = session.scalars(
            select(PaymentAttemptRow)
            .where(PaymentAttemptRow.invoice_id == invoice_id)
            .order_by(PaymentAttemptRow.attempt_no)
        ).all()
        assert [(a.attempt_no, a.status) for a in attempts] == [
            (n, "declined") for n in (1, 2, 3, 4)
        ]
        assert [a.idempotency_key for a in attempts] == [
            f"invoice:{invoice_id}:attempt:{n}" for n in (1, 2, 3, 4)
        ]
        invoice = session.get(InvoiceRow, invoice_id)
        assert invoice is not None and invoice.status == "uncollectible"
        sub_row = session.get(SubscriptionRow, sub_id)
        assert sub_row is not None and sub_row.status == "cancelled"
        case = session.get(DunningCaseRow, invoice_id)
        assert case is not None and (case.status, case.current_step) == ("written_off", 3)
        keys = set(
            session.scalars(
                select(NotificationRow.idempotency_key).where(
                    NotificationRow.idempotency_key.like(f"dunning:{invoice_id}:%")
                )
            ).all()
        )
    assert keys == {
        f"dunning:{invoice_id}:step:0:email",
        f"dunning:{invoice_id}:step:1:email",
        f"dunning:{invoice_id}:step:1:sms",
        f"dunning:{invoice_id}:step:2:email",
        f"dunning:{invoice_id}:step:2:sms",
        f"dunning:{invoice_id}:step:3:email",
    }
