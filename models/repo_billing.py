"""Read billing inputs (account, subscriptions with their prices, usage totals) and store
invoices. Usage is aggregated set-based in the database, never row by row in Python."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from billing.invoice import (
    AccountTerms,
    FlatCharge,
    InvoiceDraft,
    SubscriptionTerms,
    UsageCharge,
    UsageTotal,
)
from billing.periods import BillingPeriod
from models.tables import (
    CustomerRow,
    InvoiceLineRow,
    InvoiceRow,
    LegalEntityRow,
    PlanPriceRow,
    PlanRow,
    SubscriptionRow,
    UsageEventRow,
)


class MissingPriceError(LookupError):
    pass


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


def subscription_terms(session: Session, customer: CustomerRow) -> list[SubscriptionTerms]:
    subs = session.scalars(
        select(SubscriptionRow)
        .where(SubscriptionRow.customer_id == customer.id)
        .order_by(SubscriptionRow.id)
    ).all()
    return [_terms(session, sub, customer.currency) for sub in subs]


def _terms(session: Session, sub: SubscriptionRow, currency: str) -> SubscriptionTerms:
    plan = session.get(PlanRow, (sub.plan_code, sub.catalog_version))
    if plan is None:
        raise MissingPriceError(
            f"subscription {sub.id}: plan {sub.plan_code} v{sub.catalog_version} not in catalog"
        )
    prices = session.scalars(
        select(PlanPriceRow)
        .where(
            PlanPriceRow.plan_code == sub.plan_code,
            PlanPriceRow.catalog_version == sub.catalog_version,
            PlanPriceRow.currency == currency,
        )
        .order_by(PlanPriceRow.charge_index)
    ).all()
    if not prices:
        raise MissingPriceError(
            f"subscription {sub.id}: plan {sub.plan_code} v{sub.catalog_version} "
            f"has no price in {currency}"
        )
    flat = tuple(
        FlatCharge(description=p.description, unit_amount=Decimal(p.unit_amount))
        for p in prices
        if p.charge_type == "flat"
    )
    usage = tuple(
        UsageCharge(
            metric_code=p.metric_code or "",
            description=p.description,
            unit_amount=Decimal(p.unit_amount),
        )
        for p in prices
        if p.charge_type == "per_unit"
    )
    return SubscriptionTerms(
        subscription_id=sub.id,
        plan_code=sub.plan_code,
        plan_name=plan.name,
        quantity=sub.quantity,
        status=sub.status,  # type: ignore[arg-type]
        started_on=sub.started_on,
        trial_end_on=sub.trial_end_on,
        cancelled_on=sub.cancelled_on,
        flat_charges=flat,
        usage_charges=usage,
    )


def usage_totals(
    session: Session,
    subscriptions: list[SubscriptionTerms],
    start_at: datetime,
    end_at: datetime,
) -> list[UsageTotal]:
    """Sum usage per (subscription, metric) over [start_at, end_at) in one grouped query."""
    wanted = {(s.subscription_id, metric) for s in subscriptions for metric in s.metric_codes()}
    if not wanted:
        return []
    rows = session.execute(
        select(
            UsageEventRow.subscription_id,
            UsageEventRow.metric_code,
            func.sum(UsageEventRow.quantity_units),
            func.sum(UsageEventRow.quantity_nanos),
        )
        .where(
            UsageEventRow.subscription_id.in_({sub for sub, _ in wanted}),
            UsageEventRow.occurred_at >= start_at,
            UsageEventRow.occurred_at < end_at,
        )
        .group_by(UsageEventRow.subscription_id, UsageEventRow.metric_code)
    ).all()
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for subscription_id, metric_code, units, nanos in rows:
        if (subscription_id, metric_code) in wanted and units is not None:
            # exact: integer sums of units and of nanos (10^-9), joined as one Decimal
            totals[(subscription_id, metric_code)] += Decimal(units) + Decimal(nanos).scaleb(-9)
    return [
        UsageTotal(subscription_id=sub, metric_code=metric, quantity=qty)
        for (sub, metric), qty in sorted(totals.items())
    ]


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
