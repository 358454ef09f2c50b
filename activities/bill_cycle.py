"""Bill-cycle batches: find due accounts, invoice a batch, collect a batch.

Each batch is idempotent: an account already invoiced for the period gets its existing invoice
back, and an attempt already recorded is not sent again. A failing account is parked (recorded
with the reason in ``bill_cycle_accounts``) and the batch goes on.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.deps import Deps, local_date
from activities.notices import send_notice
from activities.payments import charge_invoice
from billing.periods import cycle_on, local_start_utc
from models.contracts import (
    BillCycleTotals,
    CollectBatchInput,
    CollectBatchResult,
    DueAccountsInput,
    DueAccountsResult,
    FailedPayment,
    InvoiceBatchInput,
    InvoiceBatchResult,
    SendNoticeInput,
)
from models.repo_billing import due_customer_ids, existing_invoice
from models.repo_drafts import draft_for, store_draft
from models.tables import BillCycleRunRow, CustomerRow, DunningCaseRow, InvoiceRow
from models.usage_settle import settle_pending, settle_usage


def bill_cycle_days_for(day_on: date) -> list[int]:
    """Bill-cycle days whose date in that month is ``day_on`` (31 falls on Feb 28, ...)."""
    return [bcd for bcd in range(1, 32) if cycle_on(day_on.year, day_on.month, bcd) == day_on]


class BillCycleActivities:
    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    @activity.defn(name="find_due_accounts")
    def find_due_accounts(self, data: DueAccountsInput) -> DueAccountsResult:
        with self._deps.db.transaction() as session:
            page = due_customer_ids(
                session, bill_cycle_days_for(data.cycle_on), data.after_customer_id, data.limit
            )
            due = [c.id for c in page if local_start_utc(data.cycle_on, c.timezone) <= data.as_of]
        next_cursor = page[-1].id if len(page) == data.limit else None
        return DueAccountsResult(customer_ids=due, next_cursor=next_cursor)

    @activity.defn(name="invoice_batch")
    def invoice_batch(self, data: InvoiceBatchInput) -> InvoiceBatchResult:
        totals = BillCycleTotals(accounts_seen=len(data.customer_ids))
        invoice_ids: list[str] = []
        # the usage journal first, in bounded transactions: the invoices then read settled usage
        settle_usage(
            self._deps.db, on_progress=lambda moved: activity.heartbeat(f"settled {moved}")
        )
        for index, customer_id in enumerate(data.customer_ids):
            activity.heartbeat(index)
            try:
                invoice_id, created, amount, currency = self._invoice_account(data, customer_id)
            except Exception as exc:
                self._park(data, customer_id, exc)
                totals = totals.plus(BillCycleTotals(parked=1))
                continue
            if invoice_id is None:
                continue
            invoice_ids.append(invoice_id)
            totals = totals.plus(
                BillCycleTotals(
                    invoices=1,
                    invoices_created=int(created),
                    amount_invoiced_minor_by_currency={currency: amount},
                )
            )
            self._notify_issued(invoice_id, data.as_of)
        return InvoiceBatchResult(invoice_ids=invoice_ids, totals=totals)

    def _invoice_account(
        self, data: InvoiceBatchInput, customer_id: str
    ) -> tuple[str | None, bool, int, str]:
        with self._deps.db.transaction() as session:
            settle_pending(session.connection())  # events journaled since the batch started
            customer = session.get(CustomerRow, customer_id)
            if customer is None:
                raise LookupError(f"customer {customer_id} vanished")
            account_draft = draft_for(
                session, self._deps.config, customer, data.cycle_on, data.as_of
            )
            draft = account_draft.draft
            existing = existing_invoice(session, customer.id, draft.service_period)
            if existing is not None:
                return existing.id, False, existing.total_minor, existing.currency
            outcome = "skipped" if not draft.lines else "invoiced"
            invoice = None
            if draft.lines:
                issued_on = local_date(data.as_of, customer.timezone)
                invoice = store_draft(
                    session, customer, account_draft, data.bill_cycle_key, data.as_of, issued_on
                )
            _record(session, data.bill_cycle_key, customer.id, outcome, invoice, "", data.as_of)
            if invoice is None:
                return None, False, 0, customer.currency
            return invoice.id, True, invoice.total_minor, invoice.currency

    def _park(self, data: InvoiceBatchInput, customer_id: str, exc: Exception) -> None:
        activity.logger.warning("parked account %s: %s", customer_id, exc)
        with self._deps.db.transaction() as session:
            _record(session, data.bill_cycle_key, customer_id, "parked", None, str(exc), data.as_of)

    def _notify_issued(self, invoice_id: str, as_of: datetime) -> None:
        send_notice(
            self._deps,
            SendNoticeInput(
                as_of=as_of,
                idempotency_key=f"invoice:{invoice_id}:issued:email",
                invoice_id=invoice_id,
                template="invoice_issued",
                channel="email",
            ),
        )

    @activity.defn(name="collect_batch")
    def collect_batch(self, data: CollectBatchInput) -> CollectBatchResult:
        totals = BillCycleTotals()
        failed: list[FailedPayment] = []
        for index, invoice_id in enumerate(data.invoice_ids):
            activity.heartbeat(index)
            try:
                outcome = charge_invoice(self._deps, invoice_id, 1, data.as_of)
            except ApplicationError as exc:  # rejected by the gateway: park, keep going
                if not exc.non_retryable:
                    raise
                totals = totals.plus(BillCycleTotals(parked=1))
                activity.logger.warning("parked invoice %s: %s", invoice_id, exc)
                continue
            if outcome.status in ("succeeded", "already_paid"):
                totals = totals.plus(
                    BillCycleTotals(payments_succeeded=int(outcome.status == "succeeded"))
                )
                continue
            if outcome.status != "declined":
                continue
            totals = totals.plus(BillCycleTotals(payments_failed=1))
            self._notify_failed(invoice_id, outcome.decline_code or "declined", data.as_of)
            pending = self._needs_dunning(invoice_id)
            if pending is not None:
                failed.append(pending)
        return CollectBatchResult(totals=totals, failed=failed)

    def _notify_failed(self, invoice_id: str, reason: str, as_of: datetime) -> None:
        for channel in ("email", "sms"):
            send_notice(
                self._deps,
                SendNoticeInput(
                    as_of=as_of,
                    idempotency_key=f"invoice:{invoice_id}:attempt:1:failed:{channel}",
                    invoice_id=invoice_id,
                    template="payment_failed",
                    channel=channel,
                    context={"decline_reason": reason},
                ),
            )

    def _needs_dunning(self, invoice_id: str) -> FailedPayment | None:
        with self._deps.db.transaction() as session:
            if session.get(DunningCaseRow, invoice_id) is not None:
                return None
            invoice = session.get(InvoiceRow, invoice_id)
            assert invoice is not None
            return FailedPayment(
                invoice_id=invoice.id,
                customer_id=invoice.customer_id,
                legal_entity=invoice.legal_entity_code,
            )


def _record(
    session: Session,
    key: str,
    customer_id: str,
    outcome: str,
    invoice: InvoiceRow | None,
    detail: str,
    now: datetime,
) -> None:
    row = session.get(BillCycleRunRow, (key, customer_id))
    if row is None:
        row = BillCycleRunRow(bill_cycle_key=key, customer_id=customer_id)
        session.add(row)
    row.outcome = outcome
    row.invoice_id = invoice.id if invoice is not None else None
    row.detail = detail[:2000]
    row.updated_at = now
