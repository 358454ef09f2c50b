"""UsageSettleWorkflow on the time-skipping server: the journal is settled into usage_events by
the real activity, and a second run has nothing left to move."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from activities.deps import Deps
from activities.subscriptions import SubscriptionActivities
from models.contracts import SettleUsageInput
from models.tables import UsageEventRow
from models.usage_ingest import IngestPolicy, UsageIngestor
from tests.factories import make_customer, make_subscription
from workflows.usage import UsageSettleWorkflow

pytestmark = [pytest.mark.db]


async def test_the_settle_workflow_moves_the_journal_once(
    time_env: WorkflowEnvironment, worker: object, deps: Deps, task_queue: str
) -> None:
    uid = task_queue
    make_customer(deps.db, f"{uid}-c")
    make_subscription(SubscriptionActivities(deps), f"{uid}-s", f"{uid}-c")
    now = datetime.now(UTC).replace(microsecond=0)
    stamp = now.isoformat().replace("+00:00", "Z")
    ingestor = UsageIngestor(deps.db, IngestPolicy(frozenset({"api_calls"})), clock=lambda: now)
    for batch in range(3):
        events = [
            {"transaction_id": f"{uid}-{batch}-{n}", "subscription_id": f"{uid}-s",
             "metric": "api_calls", "timestamp": stamp}
            for n in range(4)
        ]  # fmt: skip
        assert ingestor.ingest(events).accepted == 4

    runs = []
    for run in range(2):
        runs.append(
            await time_env.client.execute_workflow(
                UsageSettleWorkflow.run,
                SettleUsageInput(transaction_events=5),
                id=f"usage-settle-{task_queue}-{run}",
                task_queue=task_queue,
            )
        )

    assert [r.settled_events for r in runs] == [12, 0]
    with deps.db.engine.connect() as conn:
        stored = conn.scalar(
            select(func.count())
            .select_from(UsageEventRow)
            .where(UsageEventRow.subscription_id == f"{uid}-s")
        )
    assert stored == 12
