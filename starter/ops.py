"""SDK helpers that apps and the CLI use to start, signal, update and query o2c workflows.
Workflow ids are business keys, so starting twice is a no-op rather than a duplicate."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date, timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from models.contracts import (
    BillCycleInput,
    BillCycleTotals,
    CancelSubscriptionRequest,
    DueCyclesInput,
    DunningState,
    PaymentReceivedSignal,
    ReactivateRequest,
    SettleUsageInput,
    SubscriptionChangeResult,
    SubscriptionSnapshot,
    SubscriptionState,
    SubscriptionWorkflowInput,
)
from settings import Settings
from workflows.bill_cycle import BillCycleWorkflow, DueBillCyclesWorkflow, bill_cycle_workflow_id
from workflows.common import BILLING_STATUS, CUSTOMER_ID, SUBSCRIPTION_ID
from workflows.dunning import DunningWorkflow, dunning_workflow_id
from workflows.subscription import SubscriptionWorkflow, subscription_workflow_id
from workflows.usage import USAGE_SETTLE_WORKFLOW_ID, UsageSettleWorkflow

SCHEDULE_ID = "o2c-daily-bill-cycles"
SETTLE_SCHEDULE_ID = "o2c-usage-settle"


async def start_subscription(
    client: Client, settings: Settings, request: SubscriptionWorkflowInput
) -> WorkflowHandle[SubscriptionWorkflow, SubscriptionSnapshot]:
    return await client.start_workflow(
        SubscriptionWorkflow.run,
        request,
        id=subscription_workflow_id(request.subscription_id),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(CUSTOMER_ID, request.customer_id),
                SearchAttributePair(SUBSCRIPTION_ID, request.subscription_id),
                SearchAttributePair(BILLING_STATUS, "starting"),
            ]
        ),
    )


async def subscription_state(client: Client, subscription_id: str) -> SubscriptionState:
    handle = client.get_workflow_handle_for(
        SubscriptionWorkflow.run, subscription_workflow_id(subscription_id)
    )
    return await handle.query(SubscriptionWorkflow.state)


async def cancel_subscription(
    client: Client, subscription_id: str, request: CancelSubscriptionRequest
) -> SubscriptionSnapshot:
    handle = client.get_workflow_handle_for(
        SubscriptionWorkflow.run, subscription_workflow_id(subscription_id)
    )
    return await handle.execute_update(SubscriptionWorkflow.cancel, request)


async def update_subscription(
    client: Client, subscription_id: str, update: str, request: Any, request_id: str | None = None
) -> Any:
    """Run one of the workflow's lifecycle updates (change_plan, change_quantity, pause, resume,
    reactivate, apply_coupon). `request_id` is the caller's business key: the same id twice is
    one change (Temporal deduplicates the update, the activity its effects)."""
    handle = client.get_workflow_handle_for(
        SubscriptionWorkflow.run, subscription_workflow_id(subscription_id)
    )
    return await handle.execute_update(
        update, request, id=request_id, result_type=SubscriptionChangeResult
    )


async def reactivate_subscription(
    client: Client, settings: Settings, subscription_id: str, request_id: str | None = None
) -> SubscriptionSnapshot:
    """Undo a cancellation: through the update while the workflow runs (cancellation at
    period end), or by starting a new run that reactivates the cancelled subscription."""
    handle = client.get_workflow_handle_for(
        SubscriptionWorkflow.run, subscription_workflow_id(subscription_id)
    )
    description = await handle.describe()
    if description.status == WorkflowExecutionStatus.RUNNING:
        result: SubscriptionChangeResult = await update_subscription(
            client, subscription_id, "reactivate", ReactivateRequest(), request_id
        )
        return result.snapshot
    last: SubscriptionSnapshot = await handle.result()
    restart = SubscriptionWorkflowInput(
        subscription_id=subscription_id,
        customer_id=last.customer_id,
        plan_code=last.plan_code,
        quantity=last.quantity,
        continued=True,
        reactivate=True,
    )
    new_run = await start_subscription(client, settings, restart)
    for _ in range(100):  # the new run reactivates in its first activity
        with contextlib.suppress(WorkflowQueryFailedError):
            state = await new_run.query(SubscriptionWorkflow.state)
            if state.snapshot.status != "cancelled":
                return state.snapshot
        await asyncio.sleep(0.1)
    raise TimeoutError(f"subscription {subscription_id} was not reactivated within 10 s")


async def run_bill_cycle(
    client: Client, settings: Settings, cycle_on: date, *, wait: bool = True
) -> BillCycleTotals | None:
    try:
        handle = await client.start_workflow(
            BillCycleWorkflow.run,
            BillCycleInput(cycle_on=cycle_on, batch_size=settings.bill_cycle_batch_size),
            id=bill_cycle_workflow_id(cycle_on),
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    except WorkflowAlreadyStartedError:
        handle = client.get_workflow_handle_for(
            BillCycleWorkflow.run, bill_cycle_workflow_id(cycle_on)
        )
    return await handle.result() if wait else None


async def dunning_state(client: Client, invoice_id: str) -> DunningState:
    handle = client.get_workflow_handle_for(DunningWorkflow.run, dunning_workflow_id(invoice_id))
    return await handle.query(DunningWorkflow.state)


async def report_payment(client: Client, invoice_id: str, reference: str) -> None:
    handle = client.get_workflow_handle_for(DunningWorkflow.run, dunning_workflow_id(invoice_id))
    await handle.signal(
        DunningWorkflow.payment_received,
        PaymentReceivedSignal(dedup_key=f"payment:{reference}", reference=reference),
    )


async def install_settle_schedule(client: Client, settings: Settings) -> str:
    """Create (or leave in place) the schedule that settles the usage journal every
    `O2C_USAGE_SETTLE_INTERVAL_MIN` minutes; a run still going when the next is due is not
    doubled (overlap: skip)."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            UsageSettleWorkflow.run,
            SettleUsageInput(),
            id=USAGE_SETTLE_WORKFLOW_ID,
            task_queue=settings.task_queue,
            execution_timeout=timedelta(hours=3),
        ),
        spec=ScheduleSpec(
            intervals=[
                ScheduleIntervalSpec(every=timedelta(minutes=settings.usage_settle_interval_min))
            ]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(SETTLE_SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:
        return "exists"
    return "created"


async def install_schedule(client: Client, settings: Settings, hour_utc: int = 0) -> str:
    """Create (or leave in place) the daily schedule that starts the due bill cycles."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            DueBillCyclesWorkflow.run,
            DueCyclesInput(),
            id="due-bill-cycles",
            task_queue=settings.task_queue,
            execution_timeout=timedelta(hours=23),
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(hour=[ScheduleRange(hour_utc)], minute=[ScheduleRange(30)])
            ]
        ),
    )
    try:
        await client.create_schedule(SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:
        return "exists"
    return "created"
