"""Records the histories that tests/replay replays (run on purpose, skipped otherwise):

    O2C_RECORD_HISTORIES=1 .venv/bin/pytest tests/e2e/test_record_histories.py

Run it when a workflow's code changes on purpose (behind `workflow.patched` for running
workflows): commit the new files next to the old ones, so the replay tests keep proving that
histories recorded by earlier versions still replay with the current code."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from activities.deps import Deps
from models.contracts import (
    ApplyCouponRequest,
    CancelSubscriptionRequest,
    ChangePlanRequest,
    PauseRequest,
    ResumeRequest,
    SubscriptionWorkflowInput,
)
from models.tables import InvoiceRow
from settings import PROJECT_ROOT, get_settings
from starter.ops import cancel_subscription, run_bill_cycle, update_subscription
from tests.e2e.devserver import started
from tests.factories import make_customer
from workflows.bill_cycle import BillCycleWorkflow, bill_cycle_workflow_id
from workflows.dunning import DunningWorkflow, dunning_workflow_id
from workflows.subscription import SubscriptionWorkflow, subscription_workflow_id

HISTORIES = PROJECT_ROOT / "tests" / "replay" / "histories"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.db,
    pytest.mark.skipif(
        not os.environ.get("O2C_RECORD_HISTORIES"), reason="records histories on demand only"
    ),
]


async def _save(handle: WorkflowHandle, name: str) -> None:  # type: ignore[type-arg]
    history = await handle.fetch_history()
    HISTORIES.mkdir(parents=True, exist_ok=True)
    (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")


async def test_record_histories(dev_env: tuple[WorkflowEnvironment, str], deps: Deps) -> None:
    env, queue = dev_env
    client = env.client
    today = datetime.now(UTC).date()
    make_customer(
        deps.db, "rec", timezone="UTC", bill_cycle_day=today.day if today.day <= 28 else 1
    )
    make_customer(
        deps.db, "recdecl", token="pm_card_chargeDeclined", timezone="UTC",
        bill_cycle_day=today.day,
    )  # fmt: skip
    await started(
        env,
        SubscriptionWorkflowInput(
            subscription_id="rec-1", customer_id="rec", plan_code="growth-monthly"
        ),
    )
    await update_subscription(
        client, "rec-1", "change_plan", ChangePlanRequest(plan_code="enterprise-monthly"), "r1"
    )
    await update_subscription(client, "rec-1", "pause", PauseRequest(), "r2")
    await update_subscription(client, "rec-1", "resume", ResumeRequest(), "r3")
    with pytest.raises(WorkflowUpdateFailedError):
        await update_subscription(
            client, "rec-1", "apply_coupon", ApplyCouponRequest(coupon_code="NOPE")
        )
    await cancel_subscription(client, "rec-1", CancelSubscriptionRequest())
    subscription = client.get_workflow_handle_for(
        SubscriptionWorkflow.run, subscription_workflow_id("rec-1")
    )
    await asyncio.wait_for(subscription.result(), timeout=30)
    await _save(subscription, "subscription_updates_v1")

    await started(
        env,
        SubscriptionWorkflowInput(
            subscription_id="recdecl-1", customer_id="recdecl", plan_code="growth-monthly",
            started_on=today,
        ),
    )  # fmt: skip
    settings = get_settings().model_copy(update={"task_queue": queue})
    await run_bill_cycle(client, settings, today)
    await _save(
        client.get_workflow_handle_for(BillCycleWorkflow.run, bill_cycle_workflow_id(today)),
        "bill_cycle_v1",
    )
    with deps.db.transaction() as session:
        invoice_id = session.scalars(
            select(InvoiceRow.id).where(InvoiceRow.customer_id == "recdecl")
        ).one()
    dunning = client.get_workflow_handle_for(DunningWorkflow.run, dunning_workflow_id(invoice_id))
    await asyncio.wait_for(dunning.result(), timeout=60)
    await _save(dunning, "dunning_written_off_v1")
    assert sorted(p.name for p in Path(HISTORIES).glob("*_v1.json")) == [
        "bill_cycle_v1.json",
        "dunning_written_off_v1.json",
        "subscription_updates_v1.json",
    ]
