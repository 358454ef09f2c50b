"""BillCycleWorkflow (id ``bill-cycle-<dd>-<yyyy-mm>``) and DueBillCyclesWorkflow (the schedule's).

The bill cycle pages through the accounts due on its date (keyset pagination in the database),
and for each page runs two heartbeating batch activities: invoice (one consolidated invoice per
account, idempotent per service period) and collect (attempt 1 on the default payment method).
Every failed payment gets a DunningWorkflow with the legal entity's ladder. The payload stays
small (ids and counts); the workflow continues as new every few pages so its history stays
bounded for a million accounts. Running the same cycle again creates nothing new.
"""

from __future__ import annotations

from datetime import date, timedelta

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from models.config import DunningLadderConfig
    from models.contracts import (
        BillCycleInput,
        BillCycleTotals,
        CollectBatchInput,
        CollectBatchResult,
        DueAccountsInput,
        DueAccountsResult,
        DueCyclesInput,
        DunningInput,
        FailedPayment,
        InvoiceBatchInput,
        InvoiceBatchResult,
    )
    from workflows.common import BILLING_STATUS, call, upsert
    from workflows.dunning import DunningWorkflow, dunning_workflow_id

PAGES_PER_RUN = 20
BATCH_TIMEOUT = timedelta(minutes=30)
BATCH_HEARTBEAT = timedelta(minutes=2)


def bill_cycle_workflow_id(cycle_on: date) -> str:
    return f"bill-cycle-{cycle_on:%d}-{cycle_on:%Y-%m}"


@workflow.defn
class BillCycleWorkflow:
    def __init__(self) -> None:
        self._totals = BillCycleTotals()

    @workflow.run
    async def run(self, data: BillCycleInput) -> BillCycleTotals:
        self._totals = data.totals or BillCycleTotals()
        upsert(BILLING_STATUS.value_set("bill-cycle-running"))
        cursor = data.after_customer_id
        as_of = workflow.now()
        for _ in range(PAGES_PER_RUN):
            find = DueAccountsInput(
                cycle_on=data.cycle_on, as_of=as_of, after_customer_id=cursor, limit=data.batch_size
            )
            page = await call("find_due_accounts", find, DueAccountsResult)
            if page.customer_ids:
                await self._bill(data, page.customer_ids)
            if page.next_cursor is None:
                upsert(BILLING_STATUS.value_set("bill-cycle-done"))
                return self._totals
            cursor = page.next_cursor
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            data.model_copy(update={"after_customer_id": cursor, "totals": self._totals})
        )

    async def _bill(self, data: BillCycleInput, customer_ids: list[str]) -> None:
        batch = InvoiceBatchInput(
            bill_cycle_key=bill_cycle_workflow_id(data.cycle_on),
            cycle_on=data.cycle_on,
            customer_ids=customer_ids,
            as_of=workflow.now(),
        )
        invoiced = await call(
            "invoice_batch",
            batch,
            InvoiceBatchResult,
            timeout=BATCH_TIMEOUT,
            heartbeat=BATCH_HEARTBEAT,
        )
        self._totals = self._totals.plus(invoiced.totals)
        if not invoiced.invoice_ids:
            return
        collect = CollectBatchInput(invoice_ids=invoiced.invoice_ids, as_of=workflow.now())
        collected = await call(
            "collect_batch",
            collect,
            CollectBatchResult,
            timeout=BATCH_TIMEOUT,
            heartbeat=BATCH_HEARTBEAT,
        )
        self._totals = self._totals.plus(collected.totals)
        started = 0
        for failed in collected.failed:
            started += int(await self._start_dunning(failed))
        self._totals = self._totals.plus(BillCycleTotals(dunning_started=started))

    async def _start_dunning(self, failed: FailedPayment) -> bool:
        ladder = await call("dunning_ladder_for_entity", failed.legal_entity, DunningLadderConfig)
        try:
            await workflow.start_child_workflow(
                DunningWorkflow.run,
                DunningInput(
                    invoice_id=failed.invoice_id,
                    customer_id=failed.customer_id,
                    legal_entity=failed.legal_entity,
                    ladder=ladder,
                ),
                id=dunning_workflow_id(failed.invoice_id),
                parent_close_policy=ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            return False
        return True

    @workflow.query
    def totals(self) -> BillCycleTotals:
        return self._totals


@workflow.defn
class DueBillCyclesWorkflow:
    """Started daily by the Temporal Schedule: runs the cycles of yesterday and today (UTC), so
    every account is billed on its local cycle day whatever its timezone (UTC-12 to UTC+14)."""

    @workflow.run
    async def run(self, data: DueCyclesInput) -> list[BillCycleTotals]:
        now = data.as_of or workflow.now()
        results: list[BillCycleTotals] = []
        for day in (now.date() - timedelta(days=1), now.date()):
            handle = await workflow.start_child_workflow(
                BillCycleWorkflow.run,
                BillCycleInput(cycle_on=day),
                id=bill_cycle_workflow_id(day),
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            )
            results.append(await handle)
        return results
