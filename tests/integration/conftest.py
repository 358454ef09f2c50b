"""Fixtures for the integration tests: unique ids (the payment stand-ins live for the whole
session and remember idempotency keys and invoices) and an activity context for heartbeats."""

from __future__ import annotations

import uuid

import pytest
from temporalio.testing import ActivityEnvironment


@pytest.fixture
def uid() -> str:
    """A short unique suffix: ids stay unique across tests sharing the session stand-ins."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def activity_env() -> ActivityEnvironment:
    """Runs activity methods that call ``activity.heartbeat`` outside a worker."""
    return ActivityEnvironment()
