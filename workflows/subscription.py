"""SubscriptionWorkflow: one per subscription (id ``subscription-<id>``).

trialing -> active (durable timer at trial end) -> cancelled, suspended and reactivated by
dunning (signal with a dedup key). Lifecycle changes are updates, each with a validator that
rejects a bad request before it touches history: change_plan, change_quantity, pause, resume,
cancel, reactivate, apply_coupon. Each runs the `change_subscription` activity with the update
id as its business key, so a retried activity applies and bills a change once; the result
carries the proration credited or charged on the next invoice.

The database row is the source of truth; the workflow keeps its snapshot, the search
attributes and the timers. At every billing-period boundary it rolls the period (applying a
change scheduled for the end of the term) and continues as new, so its history stays small.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.contracts import (
        ApplyCouponRequest,
        CancelSubscriptionInput,
        CancelSubscriptionRequest,
        ChangeKind,
        ChangePlanRequest,
        ChangeQuantityRequest,
        CreateSubscriptionInput,
        PauseRequest,
        ReactivateRequest,
        ResumeRequest,
        SubscriptionChangeInput,
        SubscriptionChangeResult,
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
        if data.reactivate:
            key = f"{data.subscription_id}:reactivate:{workflow.info().run_id}"
            change = SubscriptionChangeInput(
                subscription_id=data.subscription_id, kind="reactivate", key=key, as_of=now
            )
            result = await call("change_subscription", change, SubscriptionChangeResult)
            self._set(result.snapshot)
            data = data.model_copy(update={"reactivate": False})
        elif data.continued:
            ref = SubscriptionRefInput(subscription_id=data.subscription_id, as_of=now)
            self._set(await call("roll_subscription_period", ref, SubscriptionSnapshot))
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
        self._cancel = request
        result = await self._change("cancel", cancel=request)
        return result.snapshot

    @cancel.validator
    def validate_cancel(self, request: CancelSubscriptionRequest) -> None:
        snap = self._live()
        if self._cancel is not None or snap.cancelled_on is not None:
            raise ValueError(
                f"subscription {snap.subscription_id} is already cancelled as of "
                f"{snap.cancelled_on} (or a cancellation is in progress)"
            )

    @workflow.update
    async def change_plan(self, request: ChangePlanRequest) -> SubscriptionChangeResult:
        return await self._change("change_plan", change_plan=request)

    @change_plan.validator
    def validate_change_plan(self, request: ChangePlanRequest) -> None:
        snap = self._changeable()
        plans = snap.options.plans if snap.options else {}
        if request.plan_code not in plans:
            raise ValueError(
                f"plan {request.plan_code!r} is not sold to this subscription"
                f" (plans: {', '.join(sorted(plans)) or 'none'})"
            )
        quantity = request.quantity or snap.quantity
        same_version = snap.options is None or snap.options.catalog_version == snap.catalog_version
        if request.plan_code == snap.plan_code and quantity == snap.quantity and same_version:
            raise ValueError(
                f"subscription {snap.subscription_id} is already on plan {snap.plan_code}"
                f" v{snap.catalog_version} with quantity {snap.quantity}"
            )

    @workflow.update
    async def change_quantity(self, request: ChangeQuantityRequest) -> SubscriptionChangeResult:
        return await self._change("change_quantity", change_quantity=request)

    @change_quantity.validator
    def validate_change_quantity(self, request: ChangeQuantityRequest) -> None:
        snap = self._changeable()
        if request.quantity == snap.quantity:
            raise ValueError(f"subscription {snap.subscription_id} already has that quantity")

    @workflow.update
    async def pause(self, request: PauseRequest) -> SubscriptionChangeResult:
        return await self._change("pause")

    @pause.validator
    def validate_pause(self, request: PauseRequest) -> None:
        self._changeable()

    @workflow.update
    async def resume(self, request: ResumeRequest) -> SubscriptionChangeResult:
        return await self._change("resume")

    @resume.validator
    def validate_resume(self, request: ResumeRequest) -> None:
        snap = self._live()
        if snap.status != "paused":
            raise ValueError(f"subscription {snap.subscription_id} is {snap.status}, not paused")

    @workflow.update
    async def reactivate(self, request: ReactivateRequest) -> SubscriptionChangeResult:
        result = await self._change("reactivate")
        self._cancel = None
        return result

    @reactivate.validator
    def validate_reactivate(self, request: ReactivateRequest) -> None:
        snap = self._live()
        if snap.cancelled_on is None:
            raise ValueError(
                f"subscription {snap.subscription_id} has no cancellation to undo"
                " (a subscription suspended by dunning is reactivated by paying the invoice)"
            )

    @workflow.update
    async def apply_coupon(self, request: ApplyCouponRequest) -> SubscriptionChangeResult:
        return await self._change("apply_coupon", apply_coupon=request)

    @apply_coupon.validator
    def validate_apply_coupon(self, request: ApplyCouponRequest) -> None:
        snap = self._live()
        options = snap.options
        coupons = options.coupons if options else []
        if request.coupon_code not in coupons:
            raise ValueError(
                f"unknown coupon {request.coupon_code!r}"
                f" (coupons: {', '.join(sorted(coupons)) or 'none'})"
            )
        if options and request.coupon_code in options.redeemed_coupons:
            raise ValueError(f"coupon {request.coupon_code!r} is already applied")

    async def _change(self, kind: ChangeKind, **request: object) -> SubscriptionChangeResult:
        snap = self._current()
        update = workflow.current_update_info()
        key = f"{snap.subscription_id}:{kind}:{update.id if update else workflow.uuid4()}"
        change = SubscriptionChangeInput.model_validate(
            {
                "subscription_id": snap.subscription_id,
                "kind": kind,
                "key": key,
                "as_of": workflow.now(),
                **request,
            }
        )
        result = await call("change_subscription", change, SubscriptionChangeResult)
        self._set(result.snapshot)
        self._wake = True
        return result

    def _live(self) -> SubscriptionSnapshot:
        snap = self._snap
        if snap is None:
            raise ValueError("subscription is still being created; try again in a moment")
        if snap.status == "cancelled":
            raise ValueError(f"subscription {snap.subscription_id} is already cancelled")
        return snap

    def _changeable(self) -> SubscriptionSnapshot:
        snap = self._live()
        if snap.status == "paused":
            raise ValueError(f"subscription {snap.subscription_id} is paused: resume it first")
        if snap.status == "suspended":
            raise ValueError(
                f"subscription {snap.subscription_id} is suspended for non-payment:"
                " it is reactivated when the overdue invoice is paid"
            )
        if snap.cancelled_on is not None:
            raise ValueError(
                f"subscription {snap.subscription_id} is cancelled as of {snap.cancelled_on}:"
                " reactivate it first"
            )
        return snap

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
