"""Helpers for tests on the dev server."""

from __future__ import annotations

import asyncio

from temporalio.testing import WorkflowEnvironment

from models.contracts import SubscriptionWorkflowInput
from settings import get_settings
from starter.ops import start_subscription, subscription_state


async def started(env: WorkflowEnvironment, request: SubscriptionWorkflowInput) -> None:
    settings = get_settings().model_copy(update={"task_queue": "o2c-e2e"})
    await start_subscription(env.client, settings, request)
    for _ in range(100):
        try:
            await subscription_state(env.client, request.subscription_id)
            return
        except Exception:
            await asyncio.sleep(0.1)
    raise AssertionError("subscription not created")
