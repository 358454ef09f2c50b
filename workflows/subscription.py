"""SubscriptionWorkflow: one per subscription (id ``subscription-<id>``).

trialing -> active (durable timer at trial end) -> cancelled (update with validator), suspended
and reactivated by dunning (signal with a dedup key). The database row is the source of truth;
the workflow keeps its snapshot, the search attributes and the timers. It continues as new at
every billing-period boundary, so its history stays small for subscriptions that live for years.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.contracts import (
        CancelSubscriptionInput,
        CancelSubscriptionRequest,
        CreateSubscriptionInput,
        SubscriptionRefInput,
        SubscriptionSnapshot,
        SubscriptionState,
        SubscriptionStatusSignal,
        SubscriptionWorkflowInput,
    )
    from workflows.common import (
        BILLING_STATUS,
        CUSTOMER_ID,
        LEGAL_ENTITY,
        SUBSCRIPTION_ID,
        call,
        upsert,
    )


def subscription_workflow_id(subscription_id: str) -> str:
    return f"subscription-{subscription_id}"


@workflow.defn
class SubscriptionWorkflow:
    def __init__(self) -> None:
        self._snap: SubscriptionSnapshot | None = None
        self._periods = 0
        self._refresh = False
        self._seen: list[str] = []
        self._cancel: CancelSubscriptionRequest | None = None
        self._wake = False

    @workflow.run
    async def run(self, data: SubscriptionWorkflowInput) -> SubscriptionSnapshot:
        self._periods = data.periods_completed
        self._seen = list(data.seen_signal_keys)[-50:]
        now = workflow.now()
        if data.continued:
            ref = SubscriptionRefInput(subscription_id=data.subscription_id, as_of=now)
            self._set(await call("subscription_snapshot", ref, SubscriptionSnapshot))
        else:
            create = CreateSubscriptionInput(request=data, as_of=now)
            self._set(await call("create_subscription", create, SubscriptionSnapshot))
        while True:
            snap = self._current()
            if snap.status == "cancelled":
                await workflow.wait_condition(workflow.all_handlers_finished)
                return snap
            wake_at = snap.period_end_at
            if snap.status == "trialing" and snap.trial_end_at and snap.trial_end_at < wake_at:
                wake_at = snap.trial_end_at
            wait = wake_at - workflow.now()
            if wait > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: self._refresh or self._wake, timeout=wait)
            if self._wake:
                self._wake = False
                continue
            await self._after_wake(data)

    async def _after_wake(self, data: SubscriptionWorkflowInput) -> None:
        snap = self._current()
        ref = SubscriptionRefInput(subscription_id=snap.subscription_id, as_of=workflow.now())
        if self._refresh:
            self._refresh = False
            self._set(await call("subscription_snapshot", ref, SubscriptionSnapshot))
            return
        if snap.status == "trialing" and snap.trial_end_at and workflow.now() >= snap.trial_end_at:
            self._set(await call("end_trial", ref, SubscriptionSnapshot))
        if workflow.now() < snap.period_end_at:
            return
        if snap.cancelled_on is not None and snap.cancelled_on <= snap.period_end_on:
            end = CancelSubscriptionInput(
                subscription_id=snap.subscription_id, mode="immediate", as_of=workflow.now()
            )
            self._set(await call("cancel_subscription", end, SubscriptionSnapshot))
            return
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            data.model_copy(
                update={
                    "continued": True,
                    "periods_completed": self._periods + 1,
                    "seen_signal_keys": self._seen,
                }
            )
        )

    @workflow.update
    async def cancel(self, request: CancelSubscriptionRequest) -> SubscriptionSnapshot:
        snap = self._current()
        cancel = CancelSubscriptionInput(
            subscription_id=snap.subscription_id, mode=request.mode, as_of=workflow.now()
        )
        self._cancel = request
        self._set(await call("cancel_subscription", cancel, SubscriptionSnapshot))
        self._wake = True
        return self._current()

    @cancel.validator
    def validate_cancel(self, request: CancelSubscriptionRequest) -> None:
        snap = self._snap
        if snap is None:
            raise ValueError("subscription is still being created; try again in a moment")
        if snap.status == "cancelled":
            raise ValueError(f"subscription {snap.subscription_id} is already cancelled")
        if self._cancel is not None or snap.cancelled_on is not None:
            raise ValueError(
                f"subscription {snap.subscription_id} is already cancelled as of "
                f"{snap.cancelled_on} (or a cancellation is in progress)"
            )

    @workflow.signal
    def status_changed(self, signal: SubscriptionStatusSignal) -> None:
        if signal.dedup_key in self._seen:
            return
        self._seen.append(signal.dedup_key)
        self._refresh = True

    @workflow.query
    def state(self) -> SubscriptionState:
        return SubscriptionState(
            snapshot=self._current(), periods_completed=self._periods, cancel_requested=self._cancel
        )

    def _current(self) -> SubscriptionSnapshot:
        if self._snap is None:
            raise RuntimeError("subscription not loaded yet")
        return self._snap

    def _set(self, snap: SubscriptionSnapshot) -> None:
        self._snap = snap
        upsert(
            CUSTOMER_ID.value_set(snap.customer_id),
            SUBSCRIPTION_ID.value_set(snap.subscription_id),
            LEGAL_ENTITY.value_set(snap.legal_entity),
            BILLING_STATUS.value_set(snap.status),
        )
