"""`o2c subscription preview` and `o2c usage current` print, as JSON, what the code that bills
would invoice, and write nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from activities.deps import Deps
from activities.subscriptions import SubscriptionActivities
from models.tables import InvoiceRow, RatedEventRow
from tests.factories import make_customer, make_subscription
from tests.integration.conftest import o2c

pytestmark = pytest.mark.db


def test_preview_prints_the_next_invoice_and_writes_nothing(cli_env: Path, deps: Deps) -> None:
    subs = SubscriptionActivities(deps)
    make_customer(deps.db, "acme", timezone="UTC", bill_cycle_day=1)
    make_subscription(
        subs, "acme-1", "acme", started_on=date(2026, 12, 1),
        as_of=datetime(2026, 12, 1, tzinfo=UTC),
    )  # fmt: skip
    result = o2c("subscription", "preview", "acme-1", "--on", "2027-01-01")
    assert result.exit_code == 0, result.output
    preview = json.loads(result.stdout)
    assert preview["cycle_on"] == "2027-01-01"
    assert [(line["kind"], line["amount_minor"]) for line in preview["lines"]] == [
        ("recurring", 19900)
    ]
    assert preview["total_minor"] == 19900
    with deps.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(InvoiceRow)) == 0
        assert session.scalar(select(func.count()).select_from(RatedEventRow)) == 0

    current = o2c("usage", "current", "acme-1")
    assert current.exit_code == 0, current.output
    usage = json.loads(current.stdout)
    assert (usage["subscription_id"], usage["estimated_minor"]) == ("acme-1", 0)
