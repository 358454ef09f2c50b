"""Set-based aggregation in SQL equals the pure reference (billing.metrics.aggregate) for every
aggregation, with filters and grouping, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert

import models.usage_aggregate as usage_aggregate
from billing.invoice import UsageTotal
from billing.metrics import MeteredEvent, MetricSpec, aggregate
from models.db import Database
from models.tables import UsageEventRow
from models.usage_aggregate import aggregate_metric, aggregate_usage, current_usage

pytestmark = pytest.mark.db

START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)
D = Decimal


def ev(
    tx: str, at: datetime, qty: str = "1", sub: str = "s1", metric: str = "m", **props: object
) -> MeteredEvent:
    return MeteredEvent(tx, sub, metric, at, D(qty), props)  # type: ignore[arg-type]


def store(db: Database, events: Sequence[MeteredEvent]) -> None:
    rows = [
        {
            "transaction_id": e.transaction_id,
            "customer_id": f"cus-{e.subscription_id}",
            "subscription_id": e.subscription_id,
            "metric_code": e.metric_code,
            "occurred_at": e.occurred_at,
            "quantity_units": int(e.quantity),
            "quantity_nanos": int((e.quantity % 1).scaleb(9)),
            "properties": dict(e.properties),
            "received_at": START,
        }
        for e in events
    ]
    with db.transaction() as session:
        session.execute(insert(UsageEventRow.__table__), rows)


def random_events(seed: int, count: int) -> list[MeteredEvent]:
    rng = random.Random(seed)
    events = []
    for i in range(count):
        quantity = D(rng.randint(0, 40)) + D(rng.choice([0, 1, 500_000_000, 999_999_999])).scaleb(
            -9
        )
        at = START + timedelta(seconds=rng.randint(-5 * 86400, 35 * 86400))
        at = at.replace(microsecond=rng.choice([0, 250_000]))
        props = {
            "region": rng.choice(["eu", "us", "ap"]),
            "user": rng.choice(["u1", "u2", "u3", 7, "7"]),
            "bytes": rng.randint(0, 5_000_000),
        }
        if rng.random() < 0.1:
            del props["region"]
        sub, metric = rng.choice(["s1", "s2", "s3", "s4"]), rng.choice(["m", "other"])
        events.append(ev(f"tx-{i:05d}", at, str(quantity), sub, metric, **props))
    events.append(ev("tie-b", START + timedelta(days=3), "5", "s1", "m", region="eu"))
    events.append(ev("tie-a", START + timedelta(days=3), "9", "s1", "m", region="eu"))
    return events


SPECS = [
    MetricSpec("m"),
    MetricSpec("m", "count"),
    MetricSpec("m", "max"),
    MetricSpec("m", "unique_count", field="user"),
    MetricSpec("m", "latest"),
    MetricSpec("m", "time_weighted_sum", time_unit_s=3600),
    MetricSpec("m", group_by="region"),
    MetricSpec("m", "count", filters=(("region", ("eu", "ap")),), group_by="user"),
    MetricSpec("m", "sum", field="bytes", filters=(("user", ("u1", "7")),)),
    MetricSpec("m", "max", field="bytes", group_by="region"),
    MetricSpec("m", "latest", group_by="region"),
    MetricSpec("m", "unique_count", field="region", group_by="user"),
    MetricSpec("m", "time_weighted_sum", group_by="region", filters=(("user", ("u2", "7")),)),
    MetricSpec("m", "time_weighted_sum", field="bytes", time_unit_s=86400),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.aggregation}-{s.group_by}-{s.field}")
def test_sql_equals_the_reference(db: Database, spec: MetricSpec) -> None:
    events = random_events(7, 400)
    store(db, events)
    expected = aggregate(spec, events, START, END)
    assert expected, "the case must not be empty"
    with db.transaction() as session:
        assert aggregate_metric(session, spec, START, END) == expected
        some = {"s1", "s3"}
        subset = [t for t in expected if t.subscription_id in some]
        assert aggregate_metric(session, spec, START, END, some) == subset


def test_exact_small_cases(db: Database) -> None:
    store(
        db,
        [
            ev("a", START + timedelta(hours=1), "2.5", region="eu", user="u1"),
            ev("b", START + timedelta(hours=2), "1.000000001", region="us", user="u2"),
            ev("c", START + timedelta(hours=3), "7", region="eu", user="u1"),
            ev("d", START - timedelta(hours=1), "100", region="eu", user="u9"),
            ev("e", END, "100", region="eu", user="u9"),
        ],
    )
    specs = [
        MetricSpec("m"),
        MetricSpec("m", "count"),
        MetricSpec("m", "max"),
        MetricSpec("m", "unique_count", field="user"),
        MetricSpec("m", "latest"),
    ]
    with db.transaction() as session:
        totals = aggregate_usage(session, specs, START, END, ["s1"])
    assert [t.quantity for t in totals] == [D("10.500000001"), 3, 7, 2, 7]
    with db.transaction() as session:
        grouped = aggregate_metric(session, MetricSpec("m", group_by="region"), START, END)
    assert grouped == [
        UsageTotal("s1", "m", D("9.5"), "eu"),
        UsageTotal("s1", "m", D("1.000000001"), "us"),
    ]


def test_latest_ties_are_broken_by_the_greatest_transaction_id(db: Database) -> None:
    at = START + timedelta(days=2)
    store(db, [ev("tx-2", at, "5"), ev("tx-9", at, "3"), ev("tx-1", at, "8")])
    with db.transaction() as session:
        total = aggregate_metric(session, MetricSpec("m", "latest"), START, END)
    assert total == [UsageTotal("s1", "m", D(3))]


def test_time_weighted_sum_with_carry_in_and_period_end(db: Database) -> None:
    h = lambda hours: START + timedelta(hours=hours)  # noqa: E731
    store(
        db,
        [
            ev("old", h(-48), "99"),
            ev("in", h(-5), "10"),
            ev("up", h(12), "30"),
            ev("off", h(24), "0"),
            ev("last", h(29 * 24), "5"),
            ev("other", h(1), "1000", sub="s2", metric="x"),
        ],
    )
    spec = MetricSpec("m", "time_weighted_sum", time_unit_s=3600)
    with db.transaction() as session:
        # 10 GB x 12 h + 30 GB x 12 h + 0 + 5 GB x 24 h = 600 GB-hours
        assert aggregate_metric(session, spec, START, END) == [UsageTotal("s1", "m", D(600))]
        # the open period to date: 10 x 12 + 30 x 6 = 300
        assert current_usage(session, "s1", [spec], START, h(18)) == [UsageTotal("s1", "m", D(300))]


def test_current_usage_counts_to_now_only(db: Database) -> None:
    store(db, [ev("a", START + timedelta(days=1), "4"), ev("b", START + timedelta(days=3), "6")])
    with db.transaction() as session:
        to_date = current_usage(session, "s1", [MetricSpec("m")], START, START + timedelta(days=2))
        unknown = current_usage(session, "nobody", [MetricSpec("m")], START, END)
    assert to_date == [UsageTotal("s1", "m", D(4))]
    assert unknown == []


def test_many_subscriptions_are_queried_in_chunks(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = random_events(11, 200)
    store(db, events)
    monkeypatch.setattr(usage_aggregate, "SUBSCRIPTION_CHUNK", 1)
    spec = MetricSpec("m", group_by="region")
    with db.transaction() as session:
        chunked = aggregate_metric(session, spec, START, END, ["s1", "s2", "s3", "s4", "s9"])
    assert chunked == aggregate(spec, events, START, END)


def test_per_transaction_values_for_percentage_fees(db: Database) -> None:
    store(
        db,
        [
            ev("p2", START + timedelta(days=2), "20.50", region="eu"),
            ev("p1", START + timedelta(days=1), "100", region="eu"),
            ev("p3", START + timedelta(days=3), "7.25", region="us"),
            ev("p0", START - timedelta(days=1), "999", region="eu"),
        ],
    )
    spec = MetricSpec("m", group_by="region")
    with db.transaction() as session:
        totals = aggregate_metric(session, spec, START, END, ["s1"], per_transaction=True)
        with pytest.raises(ValueError, match="need a sum metric"):
            aggregate_metric(session, MetricSpec("m", "max"), START, END, per_transaction=True)
    assert [(t.group, t.quantity, t.transactions, t.count) for t in totals] == [
        ("eu", D("120.5"), (D(100), D("20.5")), 2),
        ("us", D("7.25"), (D("7.25"),), 1),
    ]
