"""Usage events are idempotent by transaction id: a replay is a duplicate, never counted twice;
the same id with other content is a conflict and leaves the stored event as it was. The same
rules hold for one event (`record_usage`), across batches and within a batch."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from activities.deps import Deps
from activities.subscriptions import SubscriptionActivities
from billing.metrics import MetricSpec
from models.accounts import AccountError, UsageEventCreate, record_usage
from models.db import Database
from models.tables import CustomerRow, SubscriptionRow, UsageEventRow
from models.usage_aggregate import aggregate_usage
from models.usage_ingest import IngestPolicy, IngestResult, UsageIngestor
from models.usage_settle import settle_usage
from tests.factories import make_customer, make_subscription

pytestmark = pytest.mark.db

AT = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 10, 10, 0, 5, tzinfo=UTC)


@pytest.fixture
def subscription_id(deps: Deps, uid: str) -> str:
    make_customer(deps.db, f"{uid}-u")
    make_subscription(SubscriptionActivities(deps), f"{uid}-s", f"{uid}-u")
    return f"{uid}-s"


def event(sub: str, tx: str = "tx-1", **changes: object) -> UsageEventCreate:
    fields: dict[str, object] = {
        "transaction_id": tx,
        "subscription_id": sub,
        "metric_code": "api_calls",
        "occurred_at": AT,
        "quantity": Decimal("42.5"),
        "properties": {"region": "us-east-1"},
    }
    return UsageEventCreate.model_validate(fields | changes)


def record(db: Database, data: UsageEventCreate, now: datetime = NOW) -> str:
    with db.transaction() as session:
        return record_usage(session, data, now)


def stored(db: Database) -> list[tuple]:
    settle_usage(db)
    with db.transaction() as session:
        return [
            (r.transaction_id, r.customer_id, r.subscription_id, r.metric_code, r.occurred_at,
             Decimal(str(r.quantity)), r.properties, r.received_at)
            for r in session.scalars(select(UsageEventRow).order_by(UsageEventRow.id))
        ]  # fmt: skip


def test_same_transaction_id_twice_is_a_duplicate_and_stored_once(
    deps: Deps, subscription_id: str, uid: str
) -> None:
    assert record(deps.db, event(subscription_id)) == "accepted"
    # the same event, sent again later and written with another UTC offset
    replay = event(subscription_id, occurred_at=AT.astimezone(timezone(timedelta(hours=-5))))
    assert record(deps.db, replay, NOW + timedelta(minutes=1)) == "duplicate"

    assert stored(deps.db) == [
        ("tx-1", f"{uid}-u", subscription_id, "api_calls", AT, Decimal("42.5"),
         {"region": "us-east-1"}, NOW),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "change",
    [
        {"quantity": Decimal("43")},
        {"metric_code": "storage_gb"},
        {"occurred_at": AT + timedelta(seconds=1)},
    ],
    ids=["quantity", "metric", "occurred_at"],
)
def test_same_transaction_id_other_content_is_a_conflict(
    deps: Deps, subscription_id: str, change: dict[str, object]
) -> None:
    assert record(deps.db, event(subscription_id)) == "accepted"
    before = stored(deps.db)

    assert record(deps.db, event(subscription_id, **change)) == "conflict"

    assert stored(deps.db) == before
    assert len(before) == 1
    assert before[0][5] == Decimal("42.5")


def test_distinct_transaction_ids_are_both_stored(deps: Deps, subscription_id: str) -> None:
    assert record(deps.db, event(subscription_id, "tx-1")) == "accepted"
    assert record(deps.db, event(subscription_id, "tx-2")) == "accepted"
    assert [row[0] for row in stored(deps.db)] == ["tx-1", "tx-2"]


def test_unknown_subscription_is_an_account_error_naming_it(
    deps: Deps, subscription_id: str
) -> None:
    with pytest.raises(AccountError, match=r"unknown subscription 'sub-nope'"):
        record(deps.db, event("sub-nope"))
    assert stored(deps.db) == []


def test_naive_timestamp_is_rejected_with_a_message(subscription_id: str) -> None:
    with pytest.raises(ValidationError) as raised:
        event(subscription_id, occurred_at=datetime(2026, 11, 10, 10, 0))
    [error] = raised.value.errors()
    assert error["loc"] == ("occurred_at",)
    assert "occurred_at needs a timezone (e.g. 2026-12-01T10:00:00Z)" in error["msg"]


def test_negative_quantity_is_rejected(subscription_id: str) -> None:
    with pytest.raises(ValidationError) as raised:
        event(subscription_id, quantity=Decimal("-1"))
    assert raised.value.errors()[0]["loc"] == ("quantity",)


def test_replay_of_a_nine_decimal_quantity_is_a_duplicate(deps: Deps, subscription_id: str) -> None:
    precise = event(subscription_id, quantity=Decimal("123456789.123456789"))
    assert record(deps.db, precise) == "accepted"
    assert record(deps.db, precise) == "duplicate"
    assert stored(deps.db)[0][5] == Decimal("123456789.123456789")


def test_usage_totals_keep_nine_decimal_places(deps: Deps, subscription_id: str) -> None:
    for tx in ("tx-1", "tx-2"):
        data = event(subscription_id, tx, quantity=Decimal("100000000.000000001"))
        assert record(deps.db, data) == "accepted"
    with deps.db.transaction() as session:
        sub = session.get(SubscriptionRow, subscription_id)
        assert sub is not None
        customer = session.get(CustomerRow, sub.customer_id)
        assert customer is not None
        window = (AT - timedelta(days=1), AT + timedelta(days=1))
        totals = aggregate_usage(session, [MetricSpec("api_calls")], *window, [subscription_id])
    assert [(t.metric_code, t.quantity) for t in totals] == [
        ("api_calls", Decimal("200000000.000000002"))
    ]


# --- the same rules for batches (UsageIngestor: CLI import and POST /v1/events) -------------


def wire(sub: str, tx: str, quantity: str = "42.5", **fields: object) -> dict[str, object]:
    return {
        "transaction_id": tx,
        "subscription_id": sub,
        "metric": "api_calls",
        "timestamp": "2026-11-10T10:00:00Z",
        "quantity": quantity,
        "properties": {"region": "us-east-1"},
        **fields,
    }


@pytest.fixture
def ingestor(deps: Deps) -> UsageIngestor:
    return UsageIngestor(deps.db, IngestPolicy(frozenset({"api_calls", "storage_gb"})), lambda: NOW)


def test_within_a_batch_a_repeated_id_is_a_duplicate_or_a_conflict(
    ingestor: UsageIngestor, subscription_id: str
) -> None:
    batch = [
        wire(subscription_id, "a"),
        wire(subscription_id, "a"),  # same content: duplicate
        wire(subscription_id, "a", quantity="1"),  # other content: conflict
        wire(subscription_id, "b", properties={"region": "us-east-1"}, timestamp=AT),
        wire(subscription_id, "b", timestamp="2026-11-10T05:00:00-05:00"),  # same instant
    ]
    result = ingestor.ingest(batch)

    assert (result.accepted, result.duplicate, result.conflict, result.rejected) == (2, 2, 1, 0)
    assert [(c.index, c.transaction_id) for c in result.conflicts] == [(2, "a")]
    assert "also used by event 0 of this batch" in result.conflicts[0].reason
    assert [row[0] for row in stored(ingestor.db)] == ["a", "b"]


def test_across_batches_replays_are_duplicates_and_changes_are_conflicts(
    ingestor: UsageIngestor, subscription_id: str
) -> None:
    first = ingestor.ingest([wire(subscription_id, "a"), wire(subscription_id, "b")])
    replay = ingestor.ingest(
        [
            wire(subscription_id, "b"),
            wire(subscription_id, "a", properties={"region": "eu-west-1"}),
            wire(subscription_id, "c"),
        ]
    )
    assert (first.accepted, replay.accepted, replay.duplicate, replay.conflict) == (2, 1, 1, 1)
    [conflict] = replay.conflicts
    assert conflict.index == 1
    assert conflict.reason.startswith("transaction_id 'a' is already stored with other content")
    assert [row[0] for row in stored(ingestor.db)] == ["a", "b", "c"]
    assert stored(ingestor.db)[0][6] == {"region": "us-east-1"}


def test_a_conflict_within_a_batch_against_a_stored_id_is_reported_once_per_event(
    ingestor: UsageIngestor, subscription_id: str
) -> None:
    ingestor.ingest([wire(subscription_id, "a")])
    result = ingestor.ingest([wire(subscription_id, "a", quantity="2")] * 2)
    assert (result.conflict, result.duplicate) == (2, 0)
    assert [c.index for c in result.conflicts] == [0, 1]


def test_concurrent_batches_with_common_ids_store_each_event_once(
    deps: Deps, subscription_id: str
) -> None:
    """Two processes' worth of ingestors send overlapping batches in opposite orders at once:
    every event is stored once, and each is acknowledged as accepted by exactly one of them."""
    events = [wire(subscription_id, f"tx-{n:04d}", quantity=str(n)) for n in range(400)]
    batches = [events[:300], list(reversed(events[100:]))]
    policy = IngestPolicy(frozenset({"api_calls"}))
    ingestors = [UsageIngestor(deps.db, policy, lambda: NOW) for _ in batches]
    barrier = threading.Barrier(len(batches))

    def send(pair: tuple[UsageIngestor, list[dict[str, object]]]) -> IngestResult:
        barrier.wait()
        return pair[0].ingest(pair[1])

    with ThreadPoolExecutor(len(batches)) as pool:
        results = list(pool.map(send, zip(ingestors, batches, strict=True)))

    assert sum(r.accepted for r in results) == 400
    assert sum(r.duplicate for r in results) == 200
    assert sum(r.conflict + r.rejected for r in results) == 0
    assert len(stored(deps.db)) == 400
