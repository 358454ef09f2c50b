"""The usage write path: per-event validation by index (valid events of a batch are stored),
customer-id resolution, the accepted window, late events, exact quantities, failed writes,
and idempotence of whole imports (same file twice; random batches in random order)."""

from __future__ import annotations

import gzip
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, text

from activities.deps import Deps
from activities.subscriptions import SubscriptionActivities
from billing.metrics import MetricSpec
from models.accounts import AccountError, UsageEventCreate, record_usage
from models.config import ConfigSnapshot
from models.db import Database, alembic_config, make_engine
from models.tables import (
    CustomerRow,
    InvoiceRow,
    UsageEventBatchRow,
    UsageEventKeyRow,
    UsageEventRow,
)
from models.usage_aggregate import aggregate_usage
from models.usage_ingest import (
    IngestPolicy,
    IngestResult,
    UsageIngestor,
    ingest_batch,
    metric_codes_of,
)
from models.usage_settle import pending_events, settle_usage
from starter.usage_import import import_file
from tests.factories import make_customer, make_subscription

pytestmark = pytest.mark.db

# Customers are in America/New_York with bill-cycle day 1: the November period ends
# 2026-12-01T05:00Z and, with the default 3-day late window, closes 2026-12-04T05:00Z.
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
AT = "2026-11-20T10:00:00Z"


@pytest.fixture
def sub(deps: Deps, uid: str) -> str:
    make_customer(deps.db, f"{uid}-c")
    make_subscription(SubscriptionActivities(deps), f"{uid}-s", f"{uid}-c")
    return f"{uid}-s"


@pytest.fixture
def policy(config: ConfigSnapshot) -> IngestPolicy:
    return IngestPolicy(metric_codes_of(config))


@pytest.fixture
def ingestor(deps: Deps, policy: IngestPolicy) -> UsageIngestor:
    return UsageIngestor(deps.db, policy, clock=lambda: NOW)


def ev(sub: str, tx: str = "tx-1", **fields: object) -> dict[str, object]:
    event: dict[str, object] = {
        "transaction_id": tx,
        "subscription_id": sub,
        "metric": "api_calls",
        "timestamp": AT,
        "quantity": "3",
    }
    event.update(fields)
    return {k: v for k, v in event.items() if v is not None}


def stored(db: Database) -> list[tuple[object, ...]]:
    settle_usage(db)
    with db.transaction() as session:
        rows = session.scalars(select(UsageEventRow).order_by(UsageEventRow.transaction_id))
        return [
            (r.transaction_id, r.customer_id, r.subscription_id, r.metric_code, r.occurred_at,
             r.quantity, r.properties)
            for r in rows
        ]  # fmt: skip


BAD_EVENTS = [
    ({"metric": "nope"}, "unknown metric 'nope' (declared metrics: api_calls"),
    ({"subscription_id": "sub-missing"}, "unknown subscription 'sub-missing'"),
    ({"colour": "red"}, "unknown field(s) colour (allowed: transaction_id"),
    ({"transaction_id": None}, "transaction_id is required"),
    ({"metric": None}, "metric is required"),
    ({"metric": 7}, "metric must be a string, got a number"),
    ({"transaction_id": "x" * 256}, "transaction_id must have 1 to 255 characters, got 256"),
    ({"transaction_id": 12}, "transaction_id must be a string, got a number"),
    ({"timestamp": "yesterday"}, "timestamp 'yesterday' is not an ISO 8601 instant"),
    ({"timestamp": "2026-11-20T10:00:00"}, "has no UTC offset: add one"),
    ({"timestamp": 1_764_000_000_000}, "send seconds, not milliseconds"),
    ({"timestamp": None}, "timestamp is required"),
    ({"quantity": "-1"}, "quantity must be >= 0, got -1"),
    ({"quantity": "1.0000000001"}, "quantity has more than 9 decimal places"),
    ({"quantity": "ten"}, "quantity 'ten' is not a decimal number"),
    ({"quantity": True}, "quantity must be a decimal string or a number"),
    ({"quantity": 1234567890.1234567}, "send it as a string"),
    ({"quantity": "1e15"}, "quantity must be below 10^15"),
    ({"properties": {"a": [1]}}, "property 'a' must be a string, integer, decimal number or"),
    ({"properties": {"a": None}}, "property 'a' must be a string, integer"),
    ({"properties": [1]}, "properties must be a JSON object, got a list"),
    ({"subscription_id": None}, "subscription_id or customer_id is required"),
]


@pytest.mark.parametrize(("change", "reason"), BAD_EVENTS, ids=[r for _, r in BAD_EVENTS])
def test_a_bad_event_is_reported_by_index_and_the_valid_ones_are_stored(
    ingestor: UsageIngestor, sub: str, change: dict[str, object], reason: str
) -> None:
    batch = [ev(sub, "ok-0"), {**ev(sub, "bad"), **change}, ev(sub, "ok-2")]
    batch[1] = {k: v for k, v in batch[1].items() if v is not None}

    result = ingestor.ingest(batch)

    assert (result.accepted, result.rejected, result.duplicate, result.conflict) == (2, 1, 0, 0)
    [error] = result.errors
    assert error.index == 1
    assert reason in error.reason
    assert [row[0] for row in stored(ingestor.db)] == ["ok-0", "ok-2"]


def test_an_event_that_is_not_an_object_is_rejected(ingestor: UsageIngestor, sub: str) -> None:
    result = ingestor.ingest(["tx-1", ev(sub, "tx-2")])
    assert result.accepted == 1
    assert [(e.index, e.reason[:25]) for e in result.errors] == [(0, "an event must be a JSON o")]


VALID_SHAPES = [
    ({"quantity": None}, Decimal(1)),
    ({"quantity": 7}, Decimal(7)),
    ({"quantity": 2.5}, Decimal("2.5")),
    ({"quantity": "0.000000001"}, Decimal("0.000000001")),
    ({"quantity": "12345678901234.123456789"}, Decimal("12345678901234.123456789")),
    ({"quantity": "1E+3"}, Decimal(1000)),
    ({"timestamp": "2026-11-20T05:00:00-05:00"}, Decimal(3)),
    ({"timestamp": "2026-11-20 10:00:00.000000+00:00"}, Decimal(3)),
    ({"timestamp": 1_795_168_800}, Decimal(3)),
    ({"timestamp": "1795168800"}, Decimal(3)),
]


@pytest.mark.parametrize(
    ("change", "quantity"), VALID_SHAPES, ids=[str(c) for c, _ in VALID_SHAPES]
)
def test_accepted_shapes_store_the_same_instant_and_an_exact_quantity(
    ingestor: UsageIngestor, sub: str, change: dict[str, object], quantity: Decimal
) -> None:
    result = ingestor.ingest([{k: v for k, v in {**ev(sub), **change}.items() if v is not None}])
    assert result.accepted == 1, result.errors
    [row] = stored(ingestor.db)
    assert row[4] == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert row[5] == quantity


def test_properties_are_stored_as_given(ingestor: UsageIngestor, sub: str) -> None:
    props = {"region": "eu-west-1", "status": 200, "ok": True, "ratio": 0.25}
    assert ingestor.ingest([ev(sub, properties=props)]).accepted == 1
    assert stored(ingestor.db)[0][6] == props


def test_exact_quantities_sum_exactly_in_the_database(
    ingestor: UsageIngestor, sub: str, deps: Deps
) -> None:
    batch = [ev(sub, f"tx-{n}", quantity="12345678901234.123456789") for n in range(3)]
    batch.append(ev(sub, "tx-small", quantity="0.000000001"))
    assert ingestor.ingest(batch).accepted == 4
    with deps.db.transaction() as session:
        customer = session.get(CustomerRow, sub.replace("-s", "-c"))
        assert customer is not None
        start = datetime(2026, 11, 1, tzinfo=UTC)
        end = start + timedelta(days=30)
        totals = aggregate_usage(session, [MetricSpec("api_calls")], start, end, [sub])
    assert [(t.metric_code, t.quantity) for t in totals] == [
        ("api_calls", Decimal("37037036703702.370370368"))
    ]


# --- customer id resolution --------------------------------------------------------------------


def test_customer_id_resolves_to_its_only_open_subscription(
    ingestor: UsageIngestor, sub: str, uid: str
) -> None:
    result = ingestor.ingest([ev(None, "tx-c", customer_id=f"{uid}-c")])  # type: ignore[arg-type]
    assert result.accepted == 1, result.errors
    assert stored(ingestor.db)[0][1:3] == (f"{uid}-c", sub)


def test_customer_with_two_subscriptions_must_name_one(
    ingestor: UsageIngestor, deps: Deps, sub: str, uid: str
) -> None:
    make_subscription(SubscriptionActivities(deps), f"{uid}-s2", f"{uid}-c")
    result = ingestor.ingest([ev(None, "tx-c", customer_id=f"{uid}-c")])  # type: ignore[arg-type]
    assert [e.reason for e in result.errors] == [
        f"customer '{uid}-c' has 2 subscriptions ({uid}-s, {uid}-s2): send subscription_id"
        " to say which one"
    ]


def test_unknown_customer_and_mismatched_pair_are_rejected(
    ingestor: UsageIngestor, sub: str, uid: str
) -> None:
    result = ingestor.ingest(
        [
            ev(None, "tx-1", customer_id="ghost"),  # type: ignore[arg-type]
            ev(sub, "tx-2", customer_id="ghost"),
        ]
    )
    assert [(e.index, e.reason) for e in result.errors] == [
        (0, "unknown customer 'ghost'"),
        (1, f"subscription '{sub}' belongs to customer '{uid}-c', not 'ghost'"),
    ]


# --- the accepted window and late events --------------------------------------------------------

WINDOW = [
    # (now, event timestamp, accepted?) — New York bill cycle on the 1st, 3-day late window
    # New York is still on daylight time at midnight of 2026-11-01 (UTC-4)
    ("2026-12-04T04:59:59Z", "2026-11-01T04:00:00Z", True),  # first instant of November, local
    ("2026-12-04T04:59:59Z", "2026-11-01T03:59:59Z", False),  # still October in New York
    ("2026-12-04T05:00:00Z", "2026-11-30T23:00:00Z", False),  # November closed 3 days after
    ("2026-12-04T05:00:00Z", "2026-12-01T05:00:00Z", True),  # December is open
    ("2026-12-04T05:00:00Z", "2026-12-04T05:05:00Z", True),  # 300 s ahead is tolerated
    ("2026-12-04T05:00:00Z", "2026-12-04T05:05:01Z", False),  # one second more is not
]


@pytest.mark.parametrize(("now", "at", "accepted"), WINDOW)
def test_accepted_window(
    deps: Deps, policy: IngestPolicy, sub: str, now: str, at: str, accepted: bool
) -> None:
    ingestor = UsageIngestor(deps.db, policy)
    result = ingestor.ingest([ev(sub, timestamp=at)], datetime.fromisoformat(now))
    assert result.accepted == int(accepted)
    if not accepted:
        assert "outside the accepted window" in result.errors[0].reason or (
            "is in the future" in result.errors[0].reason
        )


def test_the_late_window_comes_from_the_policy(
    deps: Deps, config: ConfigSnapshot, sub: str
) -> None:
    policy = IngestPolicy(metric_codes_of(config), late_window=timedelta(days=10))
    now = datetime(2026, 12, 10, tzinfo=UTC)
    assert UsageIngestor(deps.db, policy).ingest([ev(sub)], now).accepted == 1


def invoice_usage_period(db: Database, customer_id: str, start: date, end: date) -> None:
    with db.transaction() as session:
        session.add(
            InvoiceRow(
                id=f"inv-{customer_id}-{end}", number=f"T-{customer_id}", sequence_no=1,
                customer_id=customer_id, legal_entity_code="o2c-us", currency="USD",
                period_start=end, period_end=date(2027, 1, 1), usage_period_start=start,
                usage_period_end=end, subtotal_minor=0, tax_minor=0, total_minor=0,
                status="paid", issued_on=end, due_on=end, bill_cycle_key="test",
                created_at=NOW, paid_at=NOW,
            )
        )  # fmt: skip


def test_events_of_an_invoiced_period_are_stored_and_counted_late(
    deps: Deps, policy: IngestPolicy, sub: str, uid: str
) -> None:
    invoice_usage_period(deps.db, f"{uid}-c", date(2026, 11, 1), date(2026, 12, 1))
    ingestor = UsageIngestor(deps.db, policy, clock=lambda: NOW)
    batch = [
        ev(sub, "nov", timestamp="2026-11-30T23:00:00Z"),  # still November in New York
        ev(sub, "dec", timestamp="2026-12-01T06:00:00Z"),  # December: not invoiced
    ]
    result = ingestor.ingest(batch)
    assert (result.accepted, result.late) == (2, 1)
    again = ingestor.ingest(batch)
    assert (again.accepted, again.duplicate, again.late) == (0, 2, 0)


def test_record_usage_is_the_same_path(deps: Deps, sub: str) -> None:
    event = UsageEventCreate(
        transaction_id="one", subscription_id=sub, metric_code="api_calls",
        occurred_at=datetime(2026, 11, 20, 10, tzinfo=UTC), quantity=Decimal("0.5"),
    )  # fmt: skip
    with deps.db.transaction() as session:
        assert record_usage(session, event, NOW) == "accepted"
    with deps.db.transaction() as session, pytest.raises(AccountError, match="accepted window"):
        record_usage(
            session, event.model_copy(update={"transaction_id": "two"}), NOW + timedelta(days=30)
        )
    with deps.db.transaction() as session, pytest.raises(AccountError, match="unknown metric"):
        record_usage(session, event.model_copy(update={"metric_code": "nope"}), NOW)


# --- failed writes, retries and idempotent imports -------------------------------------------


def _failing_trigger(db: Database, table: str) -> None:
    """Inserts into `table` fail ('disk full'): of usage_events, the row of transaction 'x'."""
    condition = "NEW.transaction_id = 'x'" if table == "usage_events" else "TRUE"
    with db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(
                f"CREATE TRIGGER boom BEFORE INSERT ON {table} WHEN {condition}"
                " BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
            return
        conn.exec_driver_sql(
            "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF {condition} THEN RAISE EXCEPTION 'disk full'; END IF;"
            " RETURN NEW; END $$"
        )
        conn.exec_driver_sql(
            f"CREATE TRIGGER boom BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION boom()"
        )


def _drop_trigger(db: Database, table: str) -> None:
    with db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER boom")
        else:
            conn.exec_driver_sql(f"DROP TRIGGER boom ON {table}")
            conn.exec_driver_sql("DROP FUNCTION boom()")


def test_a_failed_write_leaves_no_key_behind_and_the_retry_is_accepted(
    ingestor: UsageIngestor, sub: str
) -> None:
    _failing_trigger(ingestor.db, "usage_event_batches")
    try:
        with pytest.raises(Exception, match="disk full"):
            ingestor.ingest([ev(sub, "ok"), ev(sub, "x")])
    finally:
        _drop_trigger(ingestor.db, "usage_event_batches")
    with ingestor.db.transaction() as session:
        assert session.scalars(select(UsageEventKeyRow)).all() == []

    result = ingestor.ingest([ev(sub, "ok"), ev(sub, "x")])
    assert (result.accepted, result.duplicate) == (2, 0)


def test_a_failed_settle_keeps_the_batch_journaled_and_settles_it_later(
    ingestor: UsageIngestor, sub: str
) -> None:
    assert ingestor.ingest([ev(sub, "ok"), ev(sub, "x")]).accepted == 2
    _failing_trigger(ingestor.db, "usage_events")
    try:
        with pytest.raises(Exception, match="disk full"):
            settle_usage(ingestor.db)
        with ingestor.db.engine.connect() as conn:
            assert pending_events(conn) == 2
            assert conn.scalar(select(func.count()).select_from(UsageEventRow)) == 0
    finally:
        _drop_trigger(ingestor.db, "usage_events")
    assert settle_usage(ingestor.db) == 2
    assert settle_usage(ingestor.db) == 0  # settled once: the batch row went with its events
    assert [row[0] for row in stored(ingestor.db)] == ["ok", "x"]


def test_importing_the_same_file_twice_changes_nothing(
    ingestor: UsageIngestor, sub: str, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl.gz"
    with gzip.open(path, "wb") as out:
        for n in range(25):
            out.write(orjson.dumps(ev(sub, f"tx-{n}", quantity=f"{n}.5")) + b"\n")
        out.write(b"{not json\n")
    first = import_file(ingestor, path, batch_size=10)
    rows = stored(ingestor.db)
    second = import_file(ingestor, path, batch_size=7)

    assert (first.accepted, first.rejected, first.exit_code) == (25, 1, 1)
    assert first.errors[0][0] == 26 and first.errors[0][1].startswith("not valid JSON")
    assert (second.accepted, second.duplicate, second.rejected) == (0, 25, 1)
    assert stored(ingestor.db) == rows
    assert len(rows) == 25


EVENT_POOL = 30


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    picks=st.lists(st.integers(0, EVENT_POOL - 1), min_size=1, max_size=60),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_batches_in_random_order_store_the_same_rows(
    ingestor: UsageIngestor, sub: str, picks: list[int], seed: int
) -> None:
    """Any list of events (ids repeated with the same content) split into random batches sent in
    random order stores exactly the rows of sending it whole."""
    events = [ev(sub, f"tx-{n}", quantity=f"{n}.{n:03d}", properties={"n": n % 3}) for n in picks]
    whole = _rows_after(ingestor, [events])
    rng = random.Random(seed)
    shuffled = events[:]
    rng.shuffle(shuffled)
    cuts = sorted(rng.sample(range(1, len(shuffled)), k=min(3, len(shuffled) - 1)))
    batches = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]
    rng.shuffle(batches)
    assert _rows_after(ingestor, batches) == whole
    assert len(whole) == len(set(picks))


def _rows_after(ingestor: UsageIngestor, batches: list[list[dict[str, object]]]) -> object:
    with ingestor.db.transaction() as session:
        session.execute(delete(UsageEventRow))
        session.execute(delete(UsageEventKeyRow))
        session.execute(delete(UsageEventBatchRow))
    results: list[IngestResult] = [ingestor.ingest(batch) for batch in batches]
    assert sum(r.accepted + r.duplicate for r in results) == sum(len(b) for b in batches)
    return stored(ingestor.db)


def test_postgres_months_get_their_own_partition(ingestor: UsageIngestor, sub: str) -> None:
    with ingestor.db.engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            pytest.skip("monthly partitions exist on PostgreSQL only")
    ingestor.ingest([ev(sub, "nov"), ev(sub, "dec", timestamp="2026-12-02T10:00:00Z")])
    settle_usage(ingestor.db)
    with ingestor.db.engine.connect() as conn:
        placed = conn.execute(
            text("SELECT tableoid::regclass::text, transaction_id FROM usage_events ORDER BY 2")
        ).all()
    assert [tuple(r) for r in placed] == [
        ("usage_events_p2026_12", "dec"),
        ("usage_events_p2026_11", "nov"),
    ]


# --- the `o2c usage import` command ----------------------------------------------------------


def _run_import(db: Database, path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from settings import PROJECT_ROOT, Settings
    from starter.usage_import import run_import

    settings = Settings(database_url=db.url, config_dir=PROJECT_ROOT / "config")
    code = run_import(settings, path, None, 2)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_import_command_reports_lines_and_exits_1_on_rejected_events(
    deps: Deps, sub: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    path = tmp_path / "events.csv"
    path.write_text(
        "transaction_id,subscription_id,metric,timestamp,quantity,prop.region\n"
        f"a,{sub},api_calls,{at},1.5,eu\n"
        f"b,{sub},nope,{at},1,\n"
        f"c,{sub},api_calls,{at}\n"
        f"d,{sub},storage_gb,{at},2,us\n"
    )
    code, output = _run_import(deps.db, path, capsys)
    assert code == 1
    assert "events: 4  accepted: 2  duplicates: 0  conflicts: 0  rejected: 2  late: 0" in output
    assert "line 3: unknown metric 'nope'" in output
    assert "line 4: expected 6 fields as in the header, got 4" in output

    path.write_text(path.read_text().splitlines()[0] + "\n" + f"a,{sub},api_calls,{at},1.5,eu\n")
    code, output = _run_import(deps.db, path, capsys)
    assert (code, "duplicates: 1" in output) == (0, True)


def test_import_command_exits_2_when_the_file_cannot_be_read(
    deps: Deps, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.csv"
    path.write_text("transaction_id,subscriber,metric\n")
    code, output = _run_import(deps.db, path, capsys)
    assert code == 2
    assert "line 1: unknown column 'subscriber'" in output


# --- migration 0002: events stored before it keep their exact quantity and their identity -----


V1_ROWS = """
INSERT INTO legal_entities VALUES ('e', 'E', 'US', 'USD', 'UTC', 'E-', 0, 'standard', '[]', 1);
INSERT INTO customers VALUES ('c', 'C', 'c@example.com', NULL, 'USD', 'en_US', 'UTC', 1, 'e',
                              '2026-01-01 00:00:00');
INSERT INTO subscriptions VALUES ('s', 'c', 'p', 1, 1, 'active', '2026-01-01', NULL, NULL,
                                  '2026-01-01 00:00:00');
INSERT INTO usage_events (transaction_id, customer_id, subscription_id, metric_code, occurred_at,
                          quantity, properties, received_at)
VALUES ('old-1', 'c', 's', 'api_calls', '2026-11-20 10:00:00', 12.5, '{"region": "eu"}',
        '2026-11-20 10:00:01')
"""


def test_migration_0002_converts_stored_events_and_keeps_them_deduplicated(
    empty_url: str,
) -> None:
    config = alembic_config(empty_url)
    command.upgrade(config, "0001")
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            for statement in V1_ROWS.split(";"):
                conn.exec_driver_sql(statement)
        command.upgrade(config, "0002")
        with engine.begin() as conn:
            event = conn.execute(
                text("SELECT quantity_units, quantity_nanos, properties FROM usage_events")
            ).one()
            [key] = conn.execute(text("SELECT transaction_id FROM usage_event_keys")).all()
            policy = IngestPolicy(frozenset({"api_calls"}), late_window=timedelta(days=365))
            replay = {"transaction_id": "old-1", "subscription_id": "s", "metric": "api_calls",
                      "timestamp": "2026-11-20T10:00:00Z", "quantity": "12.50",
                      "properties": {"region": "eu"}}  # fmt: skip
            result = ingest_batch(conn, [replay, {**replay, "quantity": "13"}], policy, NOW)
        command.downgrade(config, "0001")
        with engine.connect() as conn:
            downgraded = conn.execute(text("SELECT transaction_id, quantity FROM usage_events"))
            assert [(tx, Decimal(str(q))) for tx, q in downgraded] == [("old-1", Decimal("12.5"))]
    finally:
        engine.dispose()
    assert tuple(event[:2]) == (12, 500_000_000)
    assert key.transaction_id == "old-1"
    assert (result.duplicate, result.conflict, result.accepted) == (1, 1, 0)
