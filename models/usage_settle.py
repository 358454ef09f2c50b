"""Settling: journaled usage batches move into `usage_events`, the table aggregation reads.

Ingest appends each accepted batch to `usage_event_batches` (an append, no index to maintain).
Settling expands the oldest batches, inserts their events into `usage_events` sorted by the
period index (subscription, metric, instant) so that consecutive inserts land in the same index
pages, and deletes the batch rows in the same transaction: an event lands in `usage_events`
exactly once, and a batch is either still journaled or fully settled.

Who settles:
- every usage reader, first, in its own transaction (`settle_pending`: the invoice of an
  account, the preview, current usage; `usage_inputs` and `late_usage_adjustments` check again),
  so nothing accepted is ever missing from a read;
- the bill cycle, before its first page, in bounded transactions (`settle_usage`), so invoice
  transactions find nothing left to do;
- `UsageSettleWorkflow`, every few minutes from the schedule `o2c-usage-settle`;
- `o2c usage settle`, and `o2c usage import` when its file is done.
On PostgreSQL concurrent settlers lock the batch rows (FOR UPDATE): the second waits, then skips
what the first moved and reads its committed events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection

from models.db import Database
from models.usage_store import (
    EVENT_COLUMNS,
    EventTuple,
    driver_of,
    ensure_partitions,
    is_postgres,
    journal_columns,
)
from models.usage_values import utc_text

GROUP_EVENTS = 50_000  # events expanded and inserted at a time: bounds the memory of settling
TRANSACTION_EVENTS = 1_000_000  # events per transaction of `settle_usage`
_SCAN_BATCHES = 10_000
_INDEX_ORDER = itemgetter(2, 3, 4)  # subscription_id, metric_code, occurred_at
_INSERT_EVENTS = (
    f"INSERT INTO usage_events ({', '.join(EVENT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in EVENT_COLUMNS)})"
)
_COPY_EVENTS = f"COPY usage_events ({', '.join(EVENT_COLUMNS)}) FROM STDIN"


def pending_events(conn: Connection) -> int:
    """Events accepted but not settled yet."""
    cursor = driver_of(conn).cursor()
    try:
        cursor.execute("SELECT COALESCE(SUM(event_count), 0) FROM usage_event_batches")
        return int(cursor.fetchone()[0])
    finally:
        cursor.close()


def settle_pending(conn: Connection, max_events: int | None = None) -> int:
    """Move journaled batches, oldest first, into usage_events in the caller's transaction;
    with `max_events`, stop once that many are moved. Returns the number of events moved."""
    moved, after_id = 0, 0
    while max_events is None or moved < max_events:
        upto_id = _group_end(conn, after_id, GROUP_EVENTS)
        if upto_id is None:
            break
        moved += _settle_group(conn, after_id, upto_id)
        after_id = upto_id
    return moved


def settle_usage(
    db: Database,
    on_progress: Callable[[int], None] | None = None,
    transaction_events: int = TRANSACTION_EVENTS,
) -> int:
    """Settle the whole journal in transactions of about `transaction_events` events each
    (batches journaled meanwhile included). Returns the number of events moved."""
    total = 0
    while True:
        with db.engine.connect() as conn, conn.begin():
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            moved = settle_pending(conn, transaction_events)
        total += moved
        if on_progress is not None:
            on_progress(total)
        if moved == 0:
            return total


def _group_end(conn: Connection, after_id: int, group_events: int) -> int | None:
    """The last batch id of the next group of about `group_events` events, or None."""
    cursor = driver_of(conn).cursor()
    try:
        placeholder = "%s" if is_postgres(conn) else "?"
        cursor.execute(
            "SELECT id, event_count FROM usage_event_batches"
            f" WHERE id > {placeholder} ORDER BY id LIMIT {placeholder}",
            (after_id, _SCAN_BATCHES),
        )
        last_id, events = None, 0
        for batch_id, count in cursor:
            last_id, events = batch_id, events + count
            if events >= group_events:
                break
        return last_id
    finally:
        cursor.close()


def _settle_group(conn: Connection, after_id: int, upto_id: int) -> int:
    """Expand, insert and delete the batches in (after_id, upto_id] still journaled."""
    pg = is_postgres(conn)
    cursor = driver_of(conn).cursor()
    try:
        if pg:
            cursor.execute(
                "SELECT id, received_at, events FROM usage_event_batches"
                " WHERE id > %s AND id <= %s ORDER BY id FOR UPDATE",
                (after_id, upto_id),
            )
        else:
            cursor.execute(
                "SELECT id, received_at, events FROM usage_event_batches"
                " WHERE id > ? AND id <= ? ORDER BY id",
                (after_id, upto_id),
            )
        batches = cursor.fetchall()
        if not batches:
            return 0
        rows = _expanded(batches, pg)
        rows.sort(key=_INDEX_ORDER)
        ids = [batch[0] for batch in batches]
        if pg:
            _copy(conn, cursor, rows)
            cursor.execute("DELETE FROM usage_event_batches WHERE id = ANY(%s)", (ids,))
        else:
            cursor.executemany(_INSERT_EVENTS, rows)
            cursor.executemany("DELETE FROM usage_event_batches WHERE id = ?", [(i,) for i in ids])
        return len(rows)
    finally:
        cursor.close()


def _expanded(batches: Sequence[Any], pg: bool) -> list[EventTuple]:
    rows: list[EventTuple] = []
    for _, received_at, document in batches:
        received = _utc_text(received_at) if pg else str(received_at)
        columns = journal_columns(bytes(document))
        rows.extend(
            (tx, customer, sub, metric, at, units, nanos, props, received)
            for tx, customer, sub, metric, at, units, nanos, props in zip(*columns, strict=True)
        )
    return rows


def _copy(conn: Connection, cursor: Any, rows: list[EventTuple]) -> None:
    ensure_partitions(conn, {row[4][:7] for row in rows})
    with cursor.copy(_COPY_EVENTS) as copy:
        for tx, customer, sub, metric, at, units, nanos, props, received in rows:
            # the texts are UTC: say so, or the server reads them in its session time zone
            copy.write_row(
                (tx, customer, sub, metric, at + "+00", units, nanos, props, received + "+00")
            )


def _utc_text(value: datetime) -> str:
    return utc_text(value.astimezone(UTC))
