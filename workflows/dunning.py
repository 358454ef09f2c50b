"""DunningWorkflow: one per unpaid invoice (id ``dunning-<invoice id>``).

Walks the ladder snapshot it was started with: each step waits (durable timer), then runs its
actions in order (retry payment, suspend/cancel subscriptions, write off, notices). A successful
retry or a ``payment_received`` signal ends the case and reactivates suspended subscriptions.
The current step is visible by query and in the ``BillingStatus`` search attribute.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from billing.dunning import DunningAction, ordered_actions
    from models.config import DunningStepConfig
    from models.contracts import (
        ChargeInvoiceInput,
        CloseDunningCaseInput,
        DunningActionInput,
        DunningActionResult,
        DunningInput,
        DunningState,
        DunningStepInput,
        OpenDunningCaseInput,
        PaymentOutcome,
        PaymentReceivedSignal,
        RecordExternalPaymentInput,
        SendNoticeInput,
        SendNoticeResult,
        SubscriptionStatusSignal,
    )
    from workflows.common import (
        BILLING_STATUS,
        CUSTOMER_ID,
        INVOICE_ID,
        LEGAL_ENTITY,
        call,
        call_void,
        upsert,
    )
    from workflows.subscription import SubscriptionWorkflow, subscription_workflow_id


def dunning_workflow_id(invoice_id: str) -> str:
    return f"dunning-{invoice_id}"


@workflow.defn
class DunningWorkflow:
    def __init__(self) -> None:
        self._invoice_id = ""
        self._status = "open"
        self._step = -1
        self._step_name: str | None = None
        self._done: list[str] = []
        self._payment: PaymentReceivedSignal | None = None
        self._seen: set[str] = set()
        self._suspended: list[str] = []

    @workflow.run
    async def run(self, data: DunningInput) -> DunningState:
        self._invoice_id = data.invoice_id
        upsert(
            INVOICE_ID.value_set(data.invoice_id),
            CUSTOMER_ID.value_set(data.customer_id),
            LEGAL_ENTITY.value_set(data.legal_entity),
            BILLING_STATUS.value_set("dunning"),
        )
        opened = OpenDunningCaseInput(
            invoice_id=data.invoice_id,
            ladder_code=data.ladder.code,
            ladder_version=data.ladder.version,
            as_of=workflow.now(),
        )
        await call_void("open_dunning_case", opened)
        attempt_no = data.first_attempt_no
        for index, step in enumerate(data.ladder.steps):
            if await self._paid_during(timedelta(seconds=step.wait_s)):
                return await self._resolve_external()
            await self._begin(index, step)
            for action in ordered_actions(step.to_core()):
                if action == DunningAction.RETRY_PAYMENT:
                    if await self._retry(attempt_no):
                        return await self._finish("resolved")
                    attempt_no += 1
                else:
                    await self._act(index, step, action)
            self._done.append(step.name)
        written_off = any(DunningAction.WRITE_OFF in s.actions for s in data.ladder.steps)
        return await self._finish("written_off" if written_off else "exhausted")

    async def _paid_during(self, wait: timedelta) -> bool:
        try:
            await workflow.wait_condition(lambda: self._payment is not None, timeout=wait)
        except TimeoutError:
            return False
        return True

    async def _begin(self, index: int, step: DunningStepConfig) -> None:
        self._step, self._step_name = index, step.name
        upsert(BILLING_STATUS.value_set(f"dunning:{step.name}"))
        begin = DunningStepInput(
            invoice_id=self._invoice_id, step_index=index, step_name=step.name, as_of=workflow.now()
        )
        await call_void("start_dunning_step", begin)

    async def _retry(self, attempt_no: int) -> bool:
        charge = ChargeInvoiceInput(
            invoice_id=self._invoice_id, attempt_no=attempt_no, as_of=workflow.now()
        )
        outcome = await call("charge_invoice", charge, PaymentOutcome)
        return outcome.status in ("succeeded", "already_paid")

    async def _act(self, index: int, step: DunningStepConfig, action: DunningAction) -> None:
        if action in (DunningAction.EMAIL_NOTICE, DunningAction.SMS_NOTICE):
            channel = "email" if action == DunningAction.EMAIL_NOTICE else "sms"
            if step.template is None:
                raise ApplicationError(f"step {step.name} has a notice but no template")
            notice = SendNoticeInput(
                idempotency_key=f"dunning:{self._invoice_id}:step:{index}:{channel}",
                invoice_id=self._invoice_id,
                template=step.template,
                channel=channel,
                context={"step_name": step.name},
                as_of=workflow.now(),
            )
            await call("send_notice", notice, SendNoticeResult)
            return
        change = DunningActionInput(
            invoice_id=self._invoice_id, action=action.value, as_of=workflow.now()
        )
        result = await call("apply_dunning_action", change, DunningActionResult)
        if action == DunningAction.SUSPEND_SUBSCRIPTIONS:
            self._suspended.extend(result.subscription_ids)
        await self._tell_subscriptions(result.subscription_ids, f"{action.value}:{index}")

    async def _tell_subscriptions(self, subscription_ids: list[str], reason: str) -> None:
        for subscription_id in subscription_ids:
            handle = workflow.get_external_workflow_handle_for(
                SubscriptionWorkflow.run, subscription_workflow_id(subscription_id)
            )
            signal = SubscriptionStatusSignal(
                dedup_key=f"dunning:{self._invoice_id}:{reason}",
                status="active",
                reason=reason,
            )
            try:
                await handle.signal(SubscriptionWorkflow.status_changed, signal)
            except Exception:
                workflow.logger.warning("subscription workflow %s not reachable", subscription_id)

    async def _resolve_external(self) -> DunningState:
        assert self._payment is not None
        record = RecordExternalPaymentInput(
            invoice_id=self._invoice_id, reference=self._payment.reference, as_of=workflow.now()
        )
        await call("record_external_payment", record, PaymentOutcome)
        return await self._finish("resolved")

    async def _finish(self, status: str) -> DunningState:
        if status == "resolved" and self._suspended:
            change = DunningActionInput(
                invoice_id=self._invoice_id, action="reactivate", as_of=workflow.now()
            )
            result = await call("apply_dunning_action", change, DunningActionResult)
            await self._tell_subscriptions(result.subscription_ids, "reactivate")
        self._status = status
        close = CloseDunningCaseInput(
            invoice_id=self._invoice_id,
            status=status,
            as_of=workflow.now(),
        )
        await call_void("close_dunning_case", close)
        upsert(BILLING_STATUS.value_set(f"dunning-{status}"))
        return self.state()

    @workflow.signal
    def payment_received(self, signal: PaymentReceivedSignal) -> None:
        if signal.dedup_key in self._seen or self._payment is not None:
            return
        self._seen.add(signal.dedup_key)
        self._payment = signal

    @workflow.query
    def state(self) -> DunningState:
        return DunningState(
            invoice_id=self._invoice_id,
            status=self._status,
            current_step=self._step,
            current_step_name=self._step_name,
            steps_done=list(self._done),
        )
