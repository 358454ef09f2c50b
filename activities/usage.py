"""Usage activities: settle the ingest journal into usage_events (`models/usage_settle.py`)."""

from __future__ import annotations

from temporalio import activity

from activities.deps import Deps
from models.contracts import SettleUsageInput, SettleUsageResult
from models.usage_settle import settle_usage


class UsageActivities:
    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    @activity.defn(name="settle_usage")
    def settle_usage(self, data: SettleUsageInput) -> SettleUsageResult:
        """Settle the whole journal in bounded transactions, heartbeating after each."""
        moved = settle_usage(
            self._deps.db,
            on_progress=lambda settled: activity.heartbeat(settled),
            transaction_events=data.transaction_events,
        )
        return SettleUsageResult(settled_events=moved)
