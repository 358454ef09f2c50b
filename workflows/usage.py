"""UsageSettleWorkflow (id ``usage-settle``, started by the schedule ``o2c-usage-settle``): moves
the ingest journal into usage_events between bill cycles, so that a backlog never waits for
the next reader. One heartbeating activity; the payload is a count."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.contracts import SettleUsageInput, SettleUsageResult
    from workflows.common import call

SETTLE_TIMEOUT = timedelta(hours=2)
SETTLE_HEARTBEAT = timedelta(minutes=5)
USAGE_SETTLE_WORKFLOW_ID = "usage-settle"


@workflow.defn
class UsageSettleWorkflow:
    @workflow.run
    async def run(self, data: SettleUsageInput) -> SettleUsageResult:
        return await call(
            "settle_usage",
            data,
            SettleUsageResult,
            timeout=SETTLE_TIMEOUT,
            heartbeat=SETTLE_HEARTBEAT,
        )
