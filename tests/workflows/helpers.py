"""Helpers for workflow tests on the time-skipping server."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any

from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from models.contracts import BillCycleInput, BillCycleTotals, SubscriptionWorkflowInput
from workflows.bill_cycle import BillCycleWorkflow, bill_cycle_workflow_id
from workflows.subscription import SubscriptionWorkflow, subscription_workflow_id


async def run_cycle(env: WorkflowEnvironment, task_queue: str, day: date) -> BillCycleTotals:
    with env.auto_time_skipping_disabled():
        return await env.client.execute_workflow(
            BillCycleWorkflow.run,
            BillCycleInput(cycle_on=day, batch_size=50),
            id=f"{bill_cycle_workflow_id(day)}-{task_queue}",
            task_queue=task_queue,
        )


async def start_subscription(
    env: WorkflowEnvironment, task_queue: str, request: SubscriptionWorkflowInput
) -> WorkflowHandle[Any, Any]:
    handle = await env.client.start_workflow(
        SubscriptionWorkflow.run,
        request,
        id=subscription_workflow_id(request.subscription_id),
        task_queue=task_queue,
    )
    for _ in range(100):
        try:
            await handle.query(SubscriptionWorkflow.state)
            return handle
        except Exception:  # first workflow task not done yet
            await asyncio.sleep(0.1)
    raise AssertionError("subscription was not created")


async def sleep_until(
    env: WorkflowEnvironment, instant: datetime, step: timedelta = timedelta(hours=12)
) -> None:
    """Skip time up to ``instant`` in steps, letting the worker run what falls due."""
    while (now := await env.get_current_time()) < instant:
        await asyncio.sleep(0.1)
        await env.sleep(min(step, instant - now))


async def until_closed(
    env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any], step: timedelta, limit: int = 200
) -> None:
    """Advance skipped time in steps until the workflow has closed (the test server's long
    poll on a workflow started by another workflow does not wait for its completion)."""
    for _ in range(limit):
        description = await handle.describe()
        if description.status != WorkflowExecutionStatus.RUNNING:
            return
        await asyncio.sleep(0.1)  # let the worker run its tasks before skipping more time
        await env.sleep(step)
    history = await handle.fetch_history()
    tail = [e.event_type for e in history.events][-6:]
    raise AssertionError(f"workflow {handle.id} still running; last events {tail}")
