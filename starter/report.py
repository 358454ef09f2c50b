"""Human summary of a billing run: invoices, payments, dunning steps, notices."""

from __future__ import annotations

from datetime import date, datetime

from babel.numbers import format_currency
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from billing.money import from_minor
from models.db import Database
from models.tables import (
    CustomerRow,
    DunningCaseRow,
    DunningStepRunRow,
    InvoiceLineRow,
    InvoiceRow,
    NotificationRow,
    PaymentAttemptRow,
    SubscriptionRow,
)
from settings import Settings


def money(amount_minor: int, currency: str) -> str:
    return format_currency(from_minor(amount_minor, currency), currency, locale="en_US")


def print_summary(
    console: Console, db: Database, settings: Settings, cycle_on: date, started: datetime
) -> None:
    with db.transaction() as s:
        invoices = Table(title=f"Invoices of the bill cycle {cycle_on}")
        for col in ("number", "customer", "period", "lines", "total", "status"):
            invoices.add_column(col)
        for inv in s.scalars(select(InvoiceRow).order_by(InvoiceRow.number)):
            n_lines = s.scalar(
                select(func.count())
                .select_from(InvoiceLineRow)
                .where(InvoiceLineRow.invoice_id == inv.id)
            )
            invoices.add_row(
                inv.number, inv.customer_id, f"{inv.period_start} → {inv.period_end}",
                str(n_lines), money(inv.total_minor, inv.currency), inv.status,
            )  # fmt: skip
        console.print(invoices)

        payments = Table(title="Payment attempts")
        for col in ("invoice", "attempt", "gateway", "idempotency key", "amount", "status", "code"):
            payments.add_column(col)
        for p in s.scalars(
            select(PaymentAttemptRow).order_by(
                PaymentAttemptRow.invoice_id, PaymentAttemptRow.attempt_no
            )
        ):
            payments.add_row(
                p.invoice_id, str(p.attempt_no), p.gateway, p.idempotency_key,
                money(p.amount_minor, p.currency), p.status, p.decline_code or "",
            )  # fmt: skip
        console.print(payments)

        dunning = Table(title="Dunning cases")
        for col in ("invoice", "ladder", "status", "steps run (actions)"):
            dunning.add_column(col)
        for case in s.scalars(select(DunningCaseRow).order_by(DunningCaseRow.invoice_id)):
            steps = s.scalars(
                select(DunningStepRunRow)
                .where(DunningStepRunRow.invoice_id == case.invoice_id)
                .order_by(DunningStepRunRow.step_index)
            ).all()
            walk = "; ".join(f"{st.step_name} ({', '.join(st.actions) or '-'})" for st in steps)
            dunning.add_row(
                case.invoice_id, f"{case.ladder_code} v{case.ladder_version}", case.status, walk
            )
        console.print(dunning)

        subs = Table(title="Subscriptions")
        for col in ("subscription", "customer", "plan", "status", "trial ends", "cancelled on"):
            subs.add_column(col)
        for sub in s.scalars(select(SubscriptionRow).order_by(SubscriptionRow.id)):
            subs.add_row(
                sub.id, sub.customer_id, sub.plan_code, sub.status,
                str(sub.trial_end_on or ""), str(sub.cancelled_on or ""),
            )  # fmt: skip
        console.print(subs)

        notices = s.scalars(select(NotificationRow).order_by(NotificationRow.id)).all()
        by_template: dict[str, int] = {}
        for n in notices:
            key = f"{n.template}/{n.channel}/{n.status}"
            by_template[key] = by_template.get(key, 0) + 1
        customers = s.scalar(select(CustomerRow.id).limit(1))
    console.print(
        f"Notices: {len(notices)} " + ", ".join(f"{k}={v}" for k, v in sorted(by_template.items()))
    )
    console.print(f"Notices are in {settings.outbox_dir} (email as .json + .html, SMS as .json)")
    console.print(f"Database: {settings.effective_database_url}")
    console.print(
        f"Temporal UI: http://127.0.0.1:{settings.temporal_ui_port} — search e.g. "
        'CustomerId="globex" or BillingStatus="dunning-written_off"'
    )
    elapsed = (datetime.now(started.tzinfo) - started).total_seconds()
    console.print(f"demo finished in {elapsed:.1f} s" + ("" if customers else " (no customers)"))
