"""Lifecycle updates of SubscriptionWorkflow on the dev server: each validator rejects a bad
request before it touches history, and each accepted update changes the subscription, returns
its proration and is deduplicated by its request id."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from activities.deps import Deps
from models.contracts import (
    ApplyCouponRequest,
    CancelSubscriptionRequest,
    ChangePlanRequest,
    ChangeQuantityRequest,
    PauseRequest,
    ResumeRequest,
    SubscriptionWorkflowInput,
)
from settings import get_settings
from starter.ops import (
    cancel_subscription,
    reactivate_subscription,
    subscription_state,
    update_subscription,
)
from tests.e2e.devserver import started
from tests.factories import make_customer
from workflows.subscription import SubscriptionWorkflow, subscription_workflow_id

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.db]


async def _history_updates(env: WorkflowEnvironment, subscription_id: str) -> int:
    handle = env.client.get_workflow_handle_for(
        SubscriptionWorkflow.run, subscription_workflow_id(subscription_id)
    )
    history = await handle.fetch_history()
    return sum(
        1
        for event in history.events
        if event.HasField("workflow_execution_update_accepted_event_attributes")
    )


async def test_updates_change_the_subscription_and_validators_reject_bad_requests(
    dev_env: tuple[WorkflowEnvironment, str], deps: Deps
) -> None:
    env, _ = dev_env
    client = env.client
    make_customer(deps.db, "upd", timezone="UTC", bill_cycle_day=1)
    await started(
        env,
        SubscriptionWorkflowInput(
            subscription_id="upd-1", customer_id="upd", plan_code="growth-monthly"
        ),
    )

    for update, request, reason in (
        ("change_plan", ChangePlanRequest(plan_code="nope"), "not sold"),
        ("change_plan", ChangePlanRequest(plan_code="growth-monthly"), "already on plan"),
        ("change_quantity", ChangeQuantityRequest(quantity=1), "already has"),
        ("resume", ResumeRequest(), "not paused"),
        ("apply_coupon", ApplyCouponRequest(coupon_code="NOPE"), "unknown coupon"),
        ("reactivate", PauseRequest(), "no cancellation"),
    ):
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await update_subscription(client, "upd-1", update, request)
        assert reason in str(failed.value.cause), (update, str(failed.value.cause))
    assert await _history_updates(env, "upd-1") == 0  # rejected before touching history

    result = await update_subscription(
        client,
        "upd-1",
        "change_plan",
        ChangePlanRequest(plan_code="enterprise-monthly", quantity=2),
        "req-1",
    )
    assert (result.snapshot.plan_code, result.snapshot.quantity) == ("enterprise-monthly", 2)
    again = await update_subscription(
        client,
        "upd-1",
        "change_plan",
        ChangePlanRequest(plan_code="enterprise-monthly", quantity=2),
        "req-1",
    )
    assert again == result  # same request id: one change

    paused = await update_subscription(client, "upd-1", "pause", PauseRequest(), "req-2")
    assert paused.snapshot.status == "paused"
    with pytest.raises(WorkflowUpdateFailedError, match="update"):
        await update_subscription(
            client, "upd-1", "change_quantity", ChangeQuantityRequest(quantity=5)
        )
    resumed = await update_subscription(client, "upd-1", "resume", ResumeRequest(), "req-3")
    assert resumed.snapshot.status == "active"

    snap = await cancel_subscription(client, "upd-1", CancelSubscriptionRequest())
    assert snap.status == "cancelled"
    settings = get_settings().model_copy(update={"task_queue": dev_env[1]})
    back = await reactivate_subscription(client, settings, "upd-1", "req-4")
    assert back.status == "active"
    state = await subscription_state(client, "upd-1")
    assert (state.snapshot.status, state.snapshot.cancelled_on) == ("active", None)
    assert state.snapshot.started_on == datetime.now(UTC).date()
