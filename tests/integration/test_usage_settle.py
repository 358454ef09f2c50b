"""The ingest journal: accepted events wait in usage_event_batches, every reader settles them
into usage_events first, each event lands there exactly once, dedup keys outlive settling, and
the bulk stream gives the same results as batch-by-batch ingest."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from alembic import command
from sqlalchemy import func, select, text

from activities.deps import Deps
from activities.subscriptions import SubscriptionActivities
from billing.metrics import MetricSpec
from models import usage_settle
from models.config import ConfigSnapshot
from models.db import Database, alembic_config, make_engine
from models.tables import UsageEventBatchRow, UsageEventRow
from models.usage_aggregate import aggregate_usage
from models.usage_checkpoint import WalCheckpointer
from models.usage_ingest import IngestPolicy, IngestResult, UsageIngestor, metric_codes_of
from models.usage_settle import pending_events, settle_pending, settle_usage
from models.usage_store import journal_document
from models.usage_values import content_hash
from tests.factories import make_customer, make_subscription
from tests.integration.conftest import o2c

pytestmark = pytest.mark.db

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
START = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)


@pytest.fixture
def sub(deps: Deps, uid: str) -> str:
    make_customer(deps.db, f"{uid}-c")
    make_subscription(SubscriptionActivities(deps), f"{uid}-s", f"{uid}-c")
    return f"{uid}-s"


@pytest.fixture
def ingestor(deps: Deps, config: ConfigSnapshot) -> UsageIngestor:
    return UsageIngestor(deps.db, IngestPolicy(metric_codes_of(config)), clock=lambda: NOW)


def ev(sub: str, tx: str, quantity: str = "2") -> dict[str, object]:
    return {"transaction_id": tx, "subscription_id": sub, "metric": "api_calls",
            "timestamp": "2026-11-20T10:00:00Z", "quantity": quantity}  # fmt: skip


def settled_count(db: Database, sub: str) -> int:
    with db.engine.connect() as conn:
        query = select(func.count()).select_from(UsageEventRow)
        return int(conn.scalar(query.where(UsageEventRow.subscription_id == sub)) or 0)


def total(db: Database, sub: str) -> object:
    with db.transaction() as session:
        [usage] = aggregate_usage(session, [MetricSpec("api_calls")], START, NOW, [sub])
        return usage.quantity


def test_journaled_events_are_settled_by_the_first_reader_exactly_once(
    ingestor: UsageIngestor, sub: str
) -> None:
    assert ingestor.ingest([ev(sub, f"t{n}") for n in range(5)]).accepted == 5
    assert settled_count(ingestor.db, sub) == 0  # journaled, not in usage_events yet

    assert str(total(ingestor.db, sub)) == "10"  # the reader settled them first
    assert settled_count(ingestor.db, sub) == 5
    assert settle_usage(ingestor.db) == 0
    with ingestor.db.engine.connect() as conn:
        assert pending_events(conn) == 0
        assert conn.scalar(select(func.count()).select_from(UsageEventBatchRow)) == 0


def test_dedup_keys_outlive_settling(ingestor: UsageIngestor, sub: str) -> None:
    ingestor.ingest([ev(sub, "t1"), ev(sub, "t2")])
    settle_usage(ingestor.db)

    again = ingestor.ingest([ev(sub, "t1"), ev(sub, "t2", quantity="3"), ev(sub, "t3")])

    assert (again.accepted, again.duplicate, again.conflict) == (1, 1, 1)
    assert [p.index for p in again.conflicts] == [1]
    assert str(total(ingestor.db, sub)) == "6"


def test_settling_is_bounded_per_call_and_oldest_first(
    ingestor: UsageIngestor, sub: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(usage_settle, "GROUP_EVENTS", 3)  # one batch per group
    for n in range(4):
        ingestor.ingest([ev(sub, f"b{n}-{i}") for i in range(3)])
    with ingestor.db.engine.connect() as conn, conn.begin():
        moved = settle_pending(conn, max_events=5)  # stops after the group that reaches 5
        left = pending_events(conn)
    assert (moved, left) == (6, 6)
    with ingestor.db.engine.connect() as conn:
        first = conn.scalars(
            select(UsageEventRow.transaction_id).where(UsageEventRow.subscription_id == sub)
        ).all()
    assert sorted(first) == [f"b{n}-{i}" for n in range(2) for i in range(3)]  # oldest first
    assert settle_usage(ingestor.db, transaction_events=2) == 6
    assert settled_count(ingestor.db, sub) == 12


def test_concurrent_settlers_move_each_event_once(ingestor: UsageIngestor, sub: str) -> None:
    for n in range(6):
        ingestor.ingest([ev(sub, f"c{n}-{i}") for i in range(50)])
    moved: list[int] = []
    errors: list[BaseException] = []

    def settle() -> None:
        try:
            moved.append(settle_usage(ingestor.db, transaction_events=100))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=settle) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(moved) == 300
    assert settled_count(ingestor.db, sub) == 300


def test_the_bulk_stream_reports_each_batch_in_order(
    deps: Deps, config: ConfigSnapshot, sub: str
) -> None:
    batches: list[list[object]] = [
        [ev(sub, f"s{n}") for n in range(20)],
        [ev(sub, "s0"), ev(sub, "s1", quantity="9"), ev(sub, "s100"), {"metric": "x"}],
        [],
        [{**ev(sub, "s200"), "timestamp": "2026-10-20T10:00:00Z"}, ev(sub, "s201")],  # too old
    ]
    policy = IngestPolicy(metric_codes_of(config))
    streamed = list(UsageIngestor(deps.db, policy, clock=lambda: NOW).ingest_stream(batches))
    summary = [(r.accepted, r.duplicate, r.conflict, r.rejected) for r in streamed]
    assert summary == [(20, 0, 0, 0), (1, 1, 1, 1), (0, 0, 0, 0), (1, 0, 0, 1)]
    assert [e.index for e in streamed[1].errors] == [3]
    assert all(isinstance(r, IngestResult) for r in streamed)
    assert str(total(deps.db, sub)) == str(2 * 22)


def test_a_failing_batch_in_the_stream_raises_and_the_earlier_ones_stay(
    ingestor: UsageIngestor, sub: str
) -> None:
    def batches() -> object:
        yield [ev(sub, "ok-1")]
        raise OSError("the file went away")

    with pytest.raises(OSError, match="went away"):
        list(ingestor.ingest_stream(batches()))  # type: ignore[arg-type]
    assert settled_count(ingestor.db, sub) == 0
    assert str(total(ingestor.db, sub)) == "2"


def test_background_checkpoints_run_while_the_ingestor_is_open(
    deps: Deps, config: ConfigSnapshot, sub: str
) -> None:
    if deps.db.engine.dialect.name != "sqlite":
        pytest.skip("WAL checkpoints are SQLite's")
    policy = IngestPolicy(metric_codes_of(config))
    ingestor = UsageIngestor(deps.db, policy, clock=lambda: NOW, background_checkpoints=True)
    checkpointer = ingestor._checkpointer
    assert checkpointer is not None and not checkpointer.active
    ingestor.ingest([ev(sub, "w1")])
    assert checkpointer.active
    ingestor.close()
    assert not checkpointer.active
    with deps.db.engine.connect() as conn:
        busy, wal_frames, checkpointed = conn.exec_driver_sql(
            "PRAGMA wal_checkpoint(PASSIVE)"
        ).one()
    assert busy == 0 and wal_frames == checkpointed  # nothing left behind in the WAL


def test_a_checkpointer_keeps_going_after_a_failed_checkpoint(deps: Deps) -> None:
    if deps.db.engine.dialect.name != "sqlite":
        pytest.skip("WAL checkpoints are SQLite's")
    calls: list[int] = []
    done = threading.Event()

    class Flaky(WalCheckpointer):
        def checkpoint_once(self, connection: object) -> None:
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("disk busy")
            done.set()

    checkpointer = Flaky(deps.db.engine, interval_s=0.01)
    checkpointer.start()
    assert done.wait(timeout=10)
    assert checkpointer.active
    checkpointer.stop()
    assert not checkpointer.active and len(calls) >= 2


def test_migration_0006_rehashes_stored_keys_and_a_downgrade_keeps_journaled_events(
    empty_url: str,
) -> None:
    config = alembic_config(empty_url)
    command.upgrade(config, "0005")
    engine = make_engine(empty_url)
    pg = engine.dialect.name == "postgresql"
    at = "2026-11-20 10:00:00" + ("+00" if pg else ".000000")
    try:
        with engine.begin() as conn:
            if pg:
                conn.execute(text("SELECT o2c_usage_partition(CAST('2026-11-01' AS date))"))
            conn.execute(
                text(
                    "INSERT INTO usage_events (transaction_id, customer_id, subscription_id,"
                    " metric_code, occurred_at, quantity_units, quantity_nanos, properties,"
                    " received_at) VALUES ('old-1', 'c', 's', 'api_calls', :at, 12, 500000000,"
                    ' \'{"region": "eu"}\', :at)'
                ),
                {"at": at},
            )
            conn.execute(text("INSERT INTO usage_event_keys VALUES ('old-1', 42)"))
        command.upgrade(config, "0006")
        expected = content_hash(
            "s", "api_calls", "2026-11-20 10:00:00.000000", 12, 500_000_000, '{"region":"eu"}'
        )
        columns = (["new-1"], ["c"], ["s"], ["api_calls"], ["2026-11-21 10:00:00.000000"],
                   [3], [0], ["{}"])  # fmt: skip
        with engine.begin() as conn:
            [stored] = conn.execute(text("SELECT content_hash FROM usage_event_keys")).scalars()
            conn.execute(
                text(
                    "INSERT INTO usage_event_batches (received_at, event_count, events)"
                    " VALUES (:at, 1, :events)"
                ),
                {"at": at, "events": journal_document(columns)},  # type: ignore[arg-type]
            )
        assert stored == expected
        command.downgrade(config, "0005")
        with engine.begin() as conn:
            [old_hash] = conn.execute(text("SELECT content_hash FROM usage_event_keys")).scalars()
            events = conn.execute(
                text("SELECT transaction_id, quantity_units FROM usage_events ORDER BY 1")
            ).all()
        assert old_hash not in (42, expected)  # the digest of revisions 0002 to 0005 again
        assert [tuple(e) for e in events] == [("new-1", 3), ("old-1", 12)]
    finally:
        engine.dispose()


def test_cli_import_settles_unless_told_not_to_and_usage_settle_does_the_rest(
    cli_env: Path, deps: Deps, sub: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    stamp = now.isoformat().replace("+00:00", "Z")
    lines = [{**ev(sub, f"cli-{n}"), "timestamp": stamp} for n in range(3)]
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_bytes(b"\n".join(orjson.dumps(e) for e in lines[:2]))
    second.write_bytes(orjson.dumps(lines[2]))

    settled = o2c("usage", "import", str(first))
    kept = o2c("usage", "import", str(second), "--no-settle")

    assert settled.exit_code == 0, settled.output
    assert "settled: 2 events are in usage_events" in settled.output
    assert kept.exit_code == 0 and "settled" not in kept.output
    assert settled_count(deps.db, sub) == 2
    result = o2c("usage", "settle")
    assert result.exit_code == 0 and "settled 1 events (1 were pending)" in result.output
    assert settled_count(deps.db, sub) == 3
