"""A Temporal dev server per test with a worker on the real workflows and activities (the demo
dunning ladder, so dunning steps take seconds)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest_asyncio
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.deps import Deps
from settings import get_settings
from worker import WORKFLOWS, activities_of
from workflows.common import SEARCH_ATTRIBUTE_NAMES


@pytest_asyncio.fixture
async def dev_env(deps: Deps) -> AsyncIterator[tuple[WorkflowEnvironment, str]]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(get_settings().temporal_cli_path),
        data_converter=pydantic_data_converter,
        search_attributes=[SearchAttributeKey.for_keyword(n) for n in SEARCH_ATTRIBUTE_NAMES],
        dev_server_log_level="error",
    )
    demo_config = deps.config.model_copy(
        update={
            "entities": [
                e.model_copy(update={"dunning_ladder": "demo"}) for e in deps.config.entities
            ]
        }
    )
    fast = Deps(deps.db, demo_config, deps.gateways, deps.notifier, deps.renderer)
    with ThreadPoolExecutor(max_workers=8) as executor:
        async with Worker(
            env.client,
            task_queue="o2c-e2e",
            workflows=list(WORKFLOWS),
            activities=activities_of(fast),
            activity_executor=executor,
        ):
            yield env, "o2c-e2e"
    await env.shutdown()
