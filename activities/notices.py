"""Customer notices: render (Jinja2 + Babel), record under a unique business key, send once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio import activity

from activities.deps import Deps, invalid, local_date
from models.contracts import SendNoticeInput, SendNoticeResult
from models.tables import CustomerRow, InvoiceLineRow, InvoiceRow, LegalEntityRow, NotificationRow
from notifications.contexts import NOTICE_TEMPLATES
from notifications.port import Notice
from notifications.views import InvoiceLineView, InvoiceView


def invoice_view(session: Session, invoice: InvoiceRow) -> InvoiceView:
    customer = session.get(CustomerRow, invoice.customer_id)
    entity = session.get(LegalEntityRow, invoice.legal_entity_code)
    assert customer is not None and entity is not None
    lines = session.scalars(
        select(InvoiceLineRow)
        .where(InvoiceLineRow.invoice_id == invoice.id)
        .order_by(InvoiceLineRow.line_no)
    ).all()
    return InvoiceView(
        invoice_id=invoice.id,
        number=invoice.number,
        issued_on=invoice.issued_on,
        due_on=invoice.due_on,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        currency=invoice.currency,
        customer_name=customer.name,
        customer_email=customer.email,
        legal_entity_name=entity.name,
        legal_entity_address=list(entity.address),
        lines=[
            InvoiceLineView(
                description=line.description,
                quantity=line.quantity,
                unit_amount=line.unit_amount,
                amount_minor=line.amount_minor,
                period_start=line.period_start,
                period_end=line.period_end,
            )
            for line in lines
        ],
        subtotal_minor=invoice.subtotal_minor,
        tax_minor=invoice.tax_minor,
        total_minor=invoice.total_minor,
        status=invoice.status,
    )


def send_notice(deps: Deps, data: SendNoticeInput) -> SendNoticeResult:
    prepared = _prepare(deps, data)
    if isinstance(prepared, SendNoticeResult):
        return prepared
    result = deps.notifier.send(prepared)
    with deps.db.transaction() as session:
        row = session.scalar(
            select(NotificationRow).where(NotificationRow.idempotency_key == data.idempotency_key)
        )
        assert row is not None
        row.provider = result.provider
        row.provider_message_id = result.provider_message_id
        row.status = "sent"
        row.sent_at = data.as_of
    return SendNoticeResult(status="sent", detail=result.provider_message_id)


def _prepare(deps: Deps, data: SendNoticeInput) -> Notice | SendNoticeResult:
    with deps.db.transaction() as session:
        row = session.scalar(
            select(NotificationRow).where(NotificationRow.idempotency_key == data.idempotency_key)
        )
        if row is not None and row.status in ("sent", "skipped"):
            return SendNoticeResult(status="already_sent", detail=row.status)
        invoice = session.get(InvoiceRow, data.invoice_id)
        if invoice is None:
            raise invalid(f"unknown invoice {data.invoice_id!r}", "UnknownInvoice")
        customer = session.get(CustomerRow, invoice.customer_id)
        assert customer is not None
        to = customer.email if data.channel == "email" else customer.phone
        view = invoice_view(session, invoice)
        context: dict[str, object] = {
            "customer_name": customer.name,
            "invoice": view,
            "invoice_number": invoice.number,
            "amount_minor": invoice.total_minor,
            "currency": invoice.currency,
            "decline_reason": data.context.get("decline_reason", ""),
            "step_name": data.context.get("step_name", ""),
            "days_overdue": max(
                0, (local_date(data.as_of, customer.timezone) - invoice.due_on).days
            ),
            "paid_on": local_date(data.as_of, customer.timezone),
        }
        spec = NOTICE_TEMPLATES.get(data.template)
        if spec is None:
            raise invalid(f"unknown notice template {data.template!r}", "UnknownTemplate")
        context = {k: v for k, v in context.items() if k in spec.context.model_fields}
        rendered = deps.renderer.render_notice(
            data.template, data.channel, customer.locale, context
        )
        if row is None:
            row = NotificationRow(
                idempotency_key=data.idempotency_key,
                customer_id=customer.id,
                channel=data.channel,
                template=data.template,
                to_address=to or "",
                subject=rendered.subject,
                body_text=rendered.text,
                status="pending" if to else "skipped",
                created_at=data.as_of,
            )
            session.add(row)
        if not to:
            return SendNoticeResult(status="skipped", detail=f"customer has no {data.channel}")
        html = rendered.html
        if data.template == "invoice_issued" and data.channel == "email":
            html = deps.renderer.render_invoice_html(view, customer.locale)
        return Notice(
            idempotency_key=data.idempotency_key,
            channel=data.channel,
            to=to,
            subject=rendered.subject,
            text=rendered.text,
            html=html,
            template=data.template,
            customer_id=customer.id,
        )


class NoticeActivities:
    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    @activity.defn(name="send_notice")
    def send_notice(self, data: SendNoticeInput) -> SendNoticeResult:
        return send_notice(self._deps, data)
