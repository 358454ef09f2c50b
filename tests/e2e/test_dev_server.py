"""Updates, signals and the schedule on the Temporal dev server (the time-skipping server handles
updates poorly): cancel with its validator, an out-of-band payment ending a dunning case and
reactivating the suspended subscription, and the daily bill-cycle schedule."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from temporalio.client import ScheduleOverlapPolicy, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from activities.deps import Deps
from models.contracts import CancelSubscriptionRequest, SubscriptionWorkflowInput
from models.tables import InvoiceRow, SubscriptionRow
from settings import get_settings
from starter.ops import (
    SCHEDULE_ID,
    SETTLE_SCHEDULE_ID,
    cancel_subscription,
    dunning_state,
    install_schedule,
    install_settle_schedule,
    report_payment,
    run_bill_cycle,
    subscription_state,
)
from tests.e2e.devserver import started
from tests.factories import make_customer
from workflows.dunning import DunningWorkflow, dunning_workflow_id

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.db]


async def test_cancel_update_and_validator(
    dev_env: tuple[WorkflowEnvironment, str], deps: Deps
) -> None:
    env, _ = dev_env
    make_customer(deps.db, "cancel-me", timezone="UTC", bill_cycle_day=1)
    request = SubscriptionWorkflowInput(
        subscription_id="cancel-me-1", customer_id="cancel-me", plan_code="growth-monthly"
    )
    await started(env, request)
    at_end = CancelSubscriptionRequest(mode="period_end")
    snap = await cancel_subscription(env.client, "cancel-me-1", at_end)
    assert (snap.status, snap.cancelled_on) == ("active", snap.period_end_on)
    with pytest.raises(WorkflowUpdateFailedError, match="update"):
        await cancel_subscription(env.client, "cancel-me-1", CancelSubscriptionRequest())
    state = await subscription_state(env.client, "cancel-me-1")
    assert state.snapshot.status == "active"  # the rejected update left no trace

    make_customer(deps.db, "cancel-now", timezone="UTC", bill_cycle_day=1)
    await started(
        env,
        SubscriptionWorkflowInput(
            subscription_id="cancel-now-1", customer_id="cancel-now", plan_code="growth-monthly"
        ),
    )
    snap = await cancel_subscription(env.client, "cancel-now-1", CancelSubscriptionRequest())
    assert (snap.status, snap.cancelled_on) == ("cancelled", datetime.now(UTC).date())


async def test_payment_signal_ends_dunning_and_reactivates(
    dev_env: tuple[WorkflowEnvironment, str], deps: Deps
) -> None:
    env, queue = dev_env
    today = datetime.now(UTC).date()
    make_customer(
        deps.db, "latepayer", token="pm_card_chargeDeclined", timezone="UTC",
        bill_cycle_day=today.day,
    )  # fmt: skip
    await started(
        env,
        SubscriptionWorkflowInput(
            subscription_id="latepayer-1",
            customer_id="latepayer",
            plan_code="growth-monthly",
            started_on=today,
        ),
    )
    settings = get_settings().model_copy(update={"task_queue": queue})
    totals = await run_bill_cycle(env.client, settings, today)
    assert totals is not None and totals.dunning_started == 1
    with deps.db.transaction() as session:
        invoice_id = session.scalars(
            select(InvoiceRow.id).where(InvoiceRow.customer_id == "latepayer")
        ).one()
    for _ in range(200):  # the demo ladder suspends at its third step (about 6 s)
        if (await dunning_state(env.client, invoice_id)).current_step_name == "suspension":
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    await report_payment(env.client, invoice_id, "WIRE-42")
    await report_payment(env.client, invoice_id, "WIRE-42")  # deduplicated
    handle = env.client.get_workflow_handle_for(
        DunningWorkflow.run, dunning_workflow_id(invoice_id)
    )
    state = await asyncio.wait_for(handle.result(), timeout=60)
    assert state.status == "resolved"
    with deps.db.transaction() as session:
        invoice = session.get(InvoiceRow, invoice_id)
        assert invoice is not None and invoice.status == "paid"
        sub = session.get(SubscriptionRow, "latepayer-1")
        assert sub is not None and sub.status == "active"
    for _ in range(50):
        if (await subscription_state(env.client, "latepayer-1")).snapshot.status == "active":
            break
        await asyncio.sleep(0.1)
    assert (await subscription_state(env.client, "latepayer-1")).snapshot.status == "active"


async def test_daily_schedule_is_installed_once(dev_env: tuple[WorkflowEnvironment, str]) -> None:
    env, queue = dev_env
    settings = get_settings().model_copy(update={"task_queue": queue})
    assert await install_schedule(env.client, settings) == "created"
    assert await install_schedule(env.client, settings) == "exists"
    description = await env.client.get_schedule_handle(SCHEDULE_ID).describe()
    assert description.schedule.spec.calendars[0].minute[0].start == 30


async def test_usage_settle_schedule_is_installed_once(
    dev_env: tuple[WorkflowEnvironment, str],
) -> None:
    env, queue = dev_env
    settings = get_settings().model_copy(
        update={"task_queue": queue, "usage_settle_interval_min": 7}
    )
    assert await install_settle_schedule(env.client, settings) == "created"
    assert await install_settle_schedule(env.client, settings) == "exists"
    description = await env.client.get_schedule_handle(SETTLE_SCHEDULE_ID).describe()
    assert description.schedule.spec.intervals[0].every == timedelta(minutes=7)
    assert description.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
