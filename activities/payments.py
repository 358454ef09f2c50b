"""Charging an invoice exactly once per attempt.

1. a pending attempt row is committed under the business key ``invoice:<id>:attempt:<n>``
   (unique), 2. the gateway is called with that key as its idempotency key, 3. the outcome is
   stored. A retry after a crash or a network error re-sends the same key, so the gateway replays
   its first answer instead of charging again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio import activity

from activities.deps import Deps, invalid
from models.contracts import ChargeInvoiceInput, PaymentOutcome, RecordExternalPaymentInput
from models.tables import InvoiceRow, PaymentAttemptRow, PaymentMethodRow
from payments.port import ChargeRequest, GatewayInvalidRequestError


def attempt_key(invoice_id: str, attempt_no: int) -> str:
    return f"invoice:{invoice_id}:attempt:{attempt_no}"


def charge_invoice(deps: Deps, invoice_id: str, attempt_no: int, now: datetime) -> PaymentOutcome:
    with deps.db.transaction() as session:
        early = _recorded_outcome(session, invoice_id, attempt_no)
        if early is not None:
            return early
        request = _pending_attempt(session, invoice_id, attempt_no, now)
    if request is None:
        return _store(deps, invoice_id, attempt_no, "declined", None, "no_payment_method", now)
    gateway = deps.gateways[request[0]]
    try:
        result = gateway.charge(request[1])
    except GatewayInvalidRequestError as exc:
        _store(deps, invoice_id, attempt_no, "error", None, "invalid_request", now, str(exc))
        raise invalid(
            f"gateway rejected the charge of {invoice_id}: {exc}", "InvalidCharge"
        ) from exc
    return _store(
        deps,
        invoice_id,
        attempt_no,
        result.status,
        result.gateway_reference,
        result.decline_code,
        now,
        result.message,
    )


def _recorded_outcome(session: Session, invoice_id: str, attempt_no: int) -> PaymentOutcome | None:
    invoice = session.get(InvoiceRow, invoice_id)
    if invoice is None:
        raise invalid(f"unknown invoice {invoice_id!r}", "UnknownInvoice")
    attempt = _attempt(session, invoice_id, attempt_no)
    if attempt is not None and attempt.status in ("succeeded", "declined"):
        return _outcome(attempt)
    if invoice.status == "paid":
        return PaymentOutcome(invoice_id=invoice_id, attempt_no=attempt_no, status="already_paid")
    if invoice.status != "open":
        return PaymentOutcome(
            invoice_id=invoice_id, attempt_no=attempt_no, status="not_collectible"
        )
    return None


def _pending_attempt(
    session: Session, invoice_id: str, attempt_no: int, now: datetime
) -> tuple[str, ChargeRequest] | None:
    invoice = session.get(InvoiceRow, invoice_id)
    assert invoice is not None
    method = session.scalar(
        select(PaymentMethodRow)
        .where(PaymentMethodRow.customer_id == invoice.customer_id, PaymentMethodRow.is_default)
        .order_by(PaymentMethodRow.created_at.desc())
        .limit(1)
    )
    if method is None:
        return None
    key = attempt_key(invoice_id, attempt_no)
    if _attempt(session, invoice_id, attempt_no) is None:
        session.add(
            PaymentAttemptRow(
                invoice_id=invoice_id,
                attempt_no=attempt_no,
                idempotency_key=key,
                gateway=method.gateway,
                amount_minor=invoice.total_minor,
                currency=invoice.currency,
                status="pending",
                created_at=now,
                message="",
            )
        )
    return method.gateway, ChargeRequest(
        idempotency_key=key,
        amount_minor=invoice.total_minor,
        currency=invoice.currency,
        customer_id=invoice.customer_id,
        payment_method_token=method.token,
        description=f"Invoice {invoice.number}",
        invoice_id=invoice_id,
    )


def _store(
    deps: Deps,
    invoice_id: str,
    attempt_no: int,
    status: str,
    reference: str | None,
    decline_code: str | None,
    now: datetime,
    message: str = "",
) -> PaymentOutcome:
    with deps.db.transaction() as session:
        invoice = session.get(InvoiceRow, invoice_id)
        assert invoice is not None
        attempt = _attempt(session, invoice_id, attempt_no)
        if attempt is None:  # no payment method: record the failed attempt all the same
            attempt = PaymentAttemptRow(
                invoice_id=invoice_id,
                attempt_no=attempt_no,
                idempotency_key=attempt_key(invoice_id, attempt_no),
                gateway="none",
                amount_minor=invoice.total_minor,
                currency=invoice.currency,
                created_at=now,
            )
            session.add(attempt)
        attempt.status = status
        attempt.gateway_reference = reference
        attempt.decline_code = decline_code
        attempt.message = message
        if status == "succeeded" and invoice.status == "open":
            invoice.status = "paid"
            invoice.paid_at = now
        session.flush()
        return _outcome(attempt)


def _attempt(session: Session, invoice_id: str, attempt_no: int) -> PaymentAttemptRow | None:
    return session.scalar(
        select(PaymentAttemptRow).where(
            PaymentAttemptRow.invoice_id == invoice_id,
            PaymentAttemptRow.attempt_no == attempt_no,
        )
    )


def _outcome(attempt: PaymentAttemptRow) -> PaymentOutcome:
    return PaymentOutcome(
        invoice_id=attempt.invoice_id,
        attempt_no=attempt.attempt_no,
        status="succeeded" if attempt.status == "succeeded" else "declined",
        decline_code=attempt.decline_code,
        message=attempt.message,
    )


class PaymentActivities:
    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    @activity.defn(name="charge_invoice")
    def charge_invoice(self, data: ChargeInvoiceInput) -> PaymentOutcome:
        return charge_invoice(self._deps, data.invoice_id, data.attempt_no, data.as_of)

    @activity.defn(name="record_external_payment")
    def record_external_payment(self, data: RecordExternalPaymentInput) -> PaymentOutcome:
        """A payment received outside the gateway flow (bank transfer, portal): idempotent by
        reference, recorded as its own attempt row."""
        key = f"invoice:{data.invoice_id}:external:{data.reference}"
        with self._deps.db.transaction() as session:
            invoice = session.get(InvoiceRow, data.invoice_id)
            if invoice is None:
                raise invalid(f"unknown invoice {data.invoice_id!r}", "UnknownInvoice")
            existing = session.scalar(
                select(PaymentAttemptRow).where(PaymentAttemptRow.idempotency_key == key)
            )
            if existing is not None:
                return _outcome(existing)
            last = session.scalar(
                select(PaymentAttemptRow.attempt_no)
                .where(PaymentAttemptRow.invoice_id == data.invoice_id)
                .order_by(PaymentAttemptRow.attempt_no.desc())
                .limit(1)
            )
            attempt = PaymentAttemptRow(
                invoice_id=invoice.id,
                attempt_no=(last or 0) + 1,
                idempotency_key=key,
                gateway="external",
                amount_minor=invoice.total_minor,
                currency=invoice.currency,
                status="succeeded",
                gateway_reference=data.reference,
                message="recorded external payment",
                created_at=data.as_of,
            )
            session.add(attempt)
            if invoice.status == "open":
                invoice.status = "paid"
                invoice.paid_at = data.as_of
            session.flush()
            return _outcome(attempt)
