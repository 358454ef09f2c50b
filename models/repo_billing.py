"""Account terms, invoice storage with gapless numbers per legal entity, and the look-ups of
the bill cycle (due accounts, an existing invoice). The inputs of an invoice are read by
`models.repo_drafts`."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from billing.invoice import AccountTerms, InvoiceDraft
from billing.periods import BillingPeriod
from models.tables import (
    CustomerRow,
    InvoiceLineRow,
    InvoiceRow,
    LegalEntityRow,
)


def invoice_id_for(customer_id: str, period: BillingPeriod) -> str:
    """Business key of the periodic invoice: one per account per service period."""
    return f"inv-{customer_id}-{period.start.isoformat()}"


def account_terms(customer: CustomerRow) -> AccountTerms:
    return AccountTerms(
        customer_id=customer.id,
        currency=customer.currency,
        timezone=customer.timezone,
        bill_cycle_day=customer.bill_cycle_day,
    )


def allocate_invoice_number(session: Session, entity_code: str) -> tuple[int, str]:
    """Next gapless number of the legal entity, taken inside the invoice's own transaction:
    a rollback returns the number, so the sequence has no holes."""
    seq = session.execute(
        update(LegalEntityRow)
        .where(LegalEntityRow.code == entity_code)
        .values(next_invoice_number=LegalEntityRow.next_invoice_number + 1)
        .returning(LegalEntityRow.next_invoice_number, LegalEntityRow.invoice_prefix)
    ).one()
    number = seq[0] - 1
    return number, f"{seq[1]}{number:06d}"


def store_invoice(
    session: Session,
    customer: CustomerRow,
    draft: InvoiceDraft,
    bill_cycle_key: str,
    now: datetime,
    issued_on: date,
) -> InvoiceRow:
    entity = session.get(LegalEntityRow, customer.legal_entity_code)
    assert entity is not None
    sequence_no, number = allocate_invoice_number(session, entity.code)
    invoice = InvoiceRow(
        id=invoice_id_for(customer.id, draft.service_period),
        number=number,
        sequence_no=sequence_no,
        customer_id=customer.id,
        legal_entity_code=entity.code,
        currency=draft.currency,
        period_start=draft.service_period.start,
        period_end=draft.service_period.end,
        usage_period_start=draft.usage_period.start,
        usage_period_end=draft.usage_period.end,
        subtotal_minor=draft.subtotal_minor,
        tax_minor=0,
        total_minor=draft.total_minor,
        status="open" if draft.total_minor > 0 else "paid",
        issued_on=issued_on,
        due_on=issued_on + timedelta(days=entity.payment_terms_days),
        bill_cycle_key=bill_cycle_key,
        created_at=now,
        paid_at=None if draft.total_minor > 0 else now,
    )
    session.add(invoice)
    session.flush()
    for line_no, line in enumerate(draft.lines, start=1):
        session.add(
            InvoiceLineRow(
                invoice_id=invoice.id,
                line_no=line_no,
                kind=line.kind,
                description=line.description,
                subscription_id=line.subscription_id,
                metric_code=line.metric_code,
                quantity=str(line.quantity),
                unit_amount=str(line.unit_amount),
                amount_precise=str(line.amount),
                amount_minor=line.amount_minor,
                period_start=line.period_start,
                period_end=line.period_end,
            )
        )
    session.flush()
    return invoice


def due_customer_ids(
    session: Session, bill_cycle_days: list[int], after_id: str | None, limit: int
) -> list[CustomerRow]:
    stmt = select(CustomerRow).where(CustomerRow.bill_cycle_day.in_(bill_cycle_days))
    if after_id is not None:
        stmt = stmt.where(CustomerRow.id > after_id)
    return list(session.scalars(stmt.order_by(CustomerRow.id).limit(limit)).all())


def existing_invoice(
    session: Session, customer_id: str, period: BillingPeriod
) -> InvoiceRow | None:
    return session.scalar(
        select(InvoiceRow).where(
            and_(
                InvoiceRow.customer_id == customer_id,
                InvoiceRow.period_start == period.start,
                InvoiceRow.period_end == period.end,
            )
        )
    )
