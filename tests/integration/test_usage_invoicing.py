"""Usage on invoices, end to end through the bill-cycle activity: metrics declared in the
catalog (aggregation, filters, grouping into separate lines), telco-rated events rolled up per
destination and band (zero-value calls included), and late events billed as adjustments on the
next invoice, never dropped."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from activities.deps import Deps
from activities.subscriptions import SubscriptionActivities
from models.accounts import UsageEventCreate, record_usage
from models.config_metrics import MetricConfig
from models.repo_drafts import current_usage
from models.tables import InvoiceLineRow, SubscriptionRow
from models.usage_ingest import IngestPolicy, UsageIngestor, metric_codes_of
from tests.factories import bill_account, make_customer, make_subscription

pytestmark = pytest.mark.db


def _event(
    deps: Deps,
    tx: str,
    sub: str,
    metric: str,
    quantity: str,
    at: datetime,
    received_at: datetime | None = None,
    **properties: str,
) -> str:
    event = UsageEventCreate(
        transaction_id=tx, subscription_id=sub, metric_code=metric, occurred_at=at,
        quantity=Decimal(quantity), properties=properties,
    )  # fmt: skip
    with deps.db.transaction() as session:
        return record_usage(session, event, received_at or at)


def _lines(deps: Deps, invoice_id: str) -> dict[str, tuple[str, int]]:
    with deps.db.transaction() as session:
        rows = session.scalars(
            select(InvoiceLineRow).where(InvoiceLineRow.invoice_id == invoice_id)
        ).all()
        return {row.description: (row.quantity, row.amount_minor) for row in rows}


def test_telco_events_are_rated_and_rolled_up_per_destination_and_band(deps: Deps) -> None:
    subs = SubscriptionActivities(deps)
    jan_1 = datetime(2027, 1, 1, 12, tzinfo=UTC)
    make_customer(
        deps.db, "mobi", currency="EUR", entity="o2c-eu", timezone="Europe/Paris", bill_cycle_day=1
    )
    make_subscription(
        subs, "mobi-1", "mobi", plan="mobile-monthly", started_on=date(2027, 1, 1), as_of=jan_1
    )
    bill_account(deps, "mobi", date(2027, 1, 1), jan_1)
    tue_10h = datetime(2027, 1, 5, 9, tzinfo=UTC)  # 10:00 in Paris: peak
    _event(deps, "c1", "mobi-1", "voice_seconds", "95", tue_10h, destination="+33612345678")
    _event(deps, "c2", "mobi-1", "voice_seconds", "120", tue_10h, destination="33800123456")
    _event(deps, "s1", "mobi-1", "sms_messages", "1", tue_10h, destination="447700900123")
    _event(deps, "d1", "mobi-1", "data_bytes", "2500000", tue_10h)

    february = bill_account(deps, "mobi", date(2027, 2, 1), datetime(2027, 2, 1, 12, tzinfo=UTC))
    lines = _lines(deps, february.id)
    # 95 s at 30/6 bills 96 s: 96/60 x 0.06 + 0.015 setup = 0.111
    assert lines["Voice — France mobile (peak)"] == ("96", 11)
    assert lines["Voice — France toll-free (peak)"] == ("120", 0)  # zero-value, still counted
    assert lines["SMS — United Kingdom mobile (peak)"] == ("1", 10)
    assert lines["Data (peak)"] == ("2500000", 3)  # 2.5 MB x 0.01 = 0.025
    assert lines["Line rental"][1] == 999
    assert february.total_minor == 999 + 11 + 0 + 10 + 3


def test_a_grouped_and_filtered_metric_bills_one_line_per_group(deps: Deps) -> None:
    catalog = deps.config.catalogs[0]
    api_calls = MetricConfig(
        code="api_calls",
        name="API calls",
        aggregation="sum",
        unit="call",
        filters={"status": ["ok"]},
        group_by="region",
    )
    metrics = [api_calls if m.code == "api_calls" else m for m in catalog.metrics]
    config = deps.config.model_copy(
        update={
            "catalogs": [catalog.model_copy(update={"metrics": metrics}), *deps.config.catalogs[1:]]
        }
    )
    grouped = Deps(deps.db, config, deps.gateways, deps.notifier, deps.renderer)
    subs = SubscriptionActivities(grouped)
    dec_1 = datetime(2026, 12, 1, 12, tzinfo=UTC)
    make_customer(grouped.db, "geo", timezone="UTC", bill_cycle_day=1)
    make_subscription(subs, "geo-1", "geo", started_on=date(2026, 12, 1), as_of=dec_1)
    at = datetime(2026, 12, 10, tzinfo=UTC)
    _event(grouped, "g1", "geo-1", "api_calls", "1000", at, region="eu-west", status="ok")
    _event(grouped, "g2", "geo-1", "api_calls", "3000", at, region="us-east", status="ok")
    _event(grouped, "g3", "geo-1", "api_calls", "500", at, region="eu-west", status="ok")
    _event(grouped, "g4", "geo-1", "api_calls", "9999", at, region="eu-west", status="error")

    with grouped.db.transaction() as session:
        row = session.get(SubscriptionRow, "geo-1")
        assert row is not None
        to_date = current_usage(session, config, row, datetime(2026, 12, 20, tzinfo=UTC))
    assert {(u.group, u.quantity) for u in to_date.usage} == {
        ("eu-west", Decimal(1500)),
        ("us-east", Decimal(3000)),
    }
    assert to_date.estimated_minor == 225 + 450  # 1500 and 3000 calls at 0.0015

    january = bill_account(grouped, "geo", date(2027, 1, 1), datetime(2027, 1, 1, 12, tzinfo=UTC))
    lines = _lines(grouped, january.id)
    assert lines["API calls — eu-west"] == ("1500", 225)
    assert lines["API calls — us-east"] == ("3000", 450)


def test_late_events_become_an_adjustment_on_the_next_invoice(deps: Deps) -> None:
    subs = SubscriptionActivities(deps)
    dec_1 = datetime(2026, 12, 1, 12, tzinfo=UTC)
    jan_1 = datetime(2027, 1, 1, 12, tzinfo=UTC)
    make_customer(deps.db, "late", timezone="UTC", bill_cycle_day=1)
    make_subscription(subs, "late-1", "late", started_on=date(2026, 12, 1), as_of=dec_1)
    bill_account(deps, "late", date(2026, 12, 1), dec_1)
    dec_20 = datetime(2026, 12, 20, tzinfo=UTC)
    _event(deps, "on-time", "late-1", "api_calls", "10000", dec_20)
    january = bill_account(deps, "late", date(2027, 1, 1), jan_1)
    assert _lines(deps, january.id)["API calls"] == ("10000", 1500)

    # accepted within the 3-day late window, after December's usage was invoiced
    received = datetime(2027, 1, 2, 9, tzinfo=UTC)
    assert _event(deps, "late-1-a", "late-1", "api_calls", "2000", dec_20, received) == "accepted"
    february = bill_account(deps, "late", date(2027, 2, 1), datetime(2027, 2, 1, 12, tzinfo=UTC))
    lines = _lines(deps, february.id)
    assert lines["Late usage: API calls"] == ("2000", 300)
    assert february.total_minor == 19900 + 300

    march = bill_account(deps, "late", date(2027, 3, 1), datetime(2027, 3, 1, 12, tzinfo=UTC))
    assert "Late usage: API calls" not in _lines(deps, march.id)  # billed once


_runs = itertools.count()


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    quantities=st.lists(st.integers(0, 10**6), min_size=1, max_size=40),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_batches_in_random_order_give_identical_invoices(
    deps: Deps, quantities: list[int], seed: int
) -> None:
    """The same events sent whole, or split into random batches in random order (with some
    sent twice), give the same invoice lines."""
    ingestor = UsageIngestor(deps.db, IngestPolicy(metric_codes_of(deps.config)))
    dec_1 = datetime(2026, 12, 1, 12, tzinfo=UTC)
    now = datetime(2026, 12, 31, tzinfo=UTC)
    rng = random.Random(seed)
    invoices = []
    for split in (False, True):
        run = next(_runs)
        customer, sub = f"rnd{run}", f"rnd{run}-1"
        make_customer(deps.db, customer, timezone="UTC", bill_cycle_day=1)
        make_subscription(
            SubscriptionActivities(deps), sub, customer, started_on=date(2026, 12, 1), as_of=dec_1
        )
        events = [
            {"transaction_id": f"{sub}-{i}", "subscription_id": sub,
             "metric": "api_calls" if i % 3 else "storage_gb",
             "timestamp": f"2026-12-{1 + i % 28:02d}T10:00:00Z", "quantity": f"{q}.{i:03d}"}
            for i, q in enumerate(quantities)
        ]  # fmt: skip
        batches = [events]
        if split:
            shuffled = events + rng.sample(events, k=min(3, len(events)))  # a few resent
            rng.shuffle(shuffled)
            cuts = sorted(rng.sample(range(len(shuffled) + 1), k=3))
            batches = [shuffled[a:b] for a, b in itertools.pairwise([0, *cuts, len(shuffled)])]
        for batch in batches:
            ingestor.ingest(batch, now)
        invoice = bill_account(deps, customer, date(2027, 1, 1), datetime(2027, 1, 1, tzinfo=UTC))
        invoices.append((invoice.total_minor, sorted(_lines(deps, invoice.id).items())))
    assert invoices[0] == invoices[1]
