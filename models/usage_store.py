"""The bulk writes of usage events, through the DBAPI of the caller's SQLAlchemy connection.

Ingest writes two things in the caller's transaction: `usage_event_keys` (transaction id ->
content hash; its primary key is the dedup guarantee) and one `usage_event_batches` row (the
ingest journal) holding the batch's events as one orjson document of columns. The journal is an
append: no index to maintain, so ingest cost does not grow with the event table. Settling
(`models/usage_settle.py`) later moves journaled events into `usage_events`, the table
aggregation reads. SQLite gets `executemany`; PostgreSQL gets `COPY`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection

EVENT_COLUMNS = (
    "transaction_id",
    "customer_id",
    "subscription_id",
    "metric_code",
    "occurred_at",
    "quantity_units",
    "quantity_nanos",
    "properties",
    "received_at",
)
# (transaction_id, customer_id, subscription_id, metric_code, occurred_at, quantity_units,
#  quantity_nanos, properties json, received_at); instants as canonical UTC text (utc_text)
EventTuple = tuple[str, str, str, str, str, int, int, str, str]
# (received_at, event_count, journal document, keys document) of the SQLite append statement
AppendParams = tuple[str, int, bytes, bytes]
# The journal document of a batch: the columns of EVENT_COLUMNS except received_at (the batch's)
EventColumns = tuple[
    list[str], list[str], list[str], list[str], list[str], list[int], list[int], list[str]
]

# Per-connection SQLite setting of the bulk path: a 64 MiB page cache (the dedup key index and
# settling's period index), which also bounds the memory of a large import. Checkpoints: see
# models/usage_checkpoint.py.
SQLITE_BULK_PRAGMAS = ("PRAGMA cache_size=-65536",)
PARTITION_NAME = re.compile(r"^usage_events_(p\d{4}_\d{2}|default)$")
_LOOKUP_CHUNK = 5000
_INSERT_BATCH = (
    "INSERT INTO usage_event_batches (received_at, event_count, events) VALUES (%s, %s, %s)"
)
# SQLite: the view's INSTEAD OF trigger (migration 0006) inserts the keys (from a JSON array
# of [transaction_id, content_hash]) and then the journal row, all in this one statement
_APPEND_SQLITE = (
    "INSERT INTO usage_ingest (received_at, event_count, events, keys) VALUES (?, ?, ?, ?)"
)
_COPY_KEYS = "COPY usage_event_keys (transaction_id, content_hash) FROM STDIN"


def is_partition(table_name: str) -> bool:
    """Whether a PostgreSQL table is a monthly (or the default) partition of usage_events."""
    return PARTITION_NAME.match(table_name) is not None


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def driver_of(conn: Connection) -> Any:
    """The DBAPI connection under a SQLAlchemy one (bulk statements go straight to it)."""
    return conn.connection.driver_connection


def existing_keys(conn: Connection, transaction_ids: Sequence[str]) -> dict[str, int]:
    """Content hash of each transaction id already stored (one query per 5,000 ids)."""
    found: dict[str, int] = {}
    cursor = driver_of(conn).cursor()
    try:
        for start in range(0, len(transaction_ids), _LOOKUP_CHUNK):
            chunk = transaction_ids[start : start + _LOOKUP_CHUNK]
            cursor.execute(*_lookup_sql(conn, chunk))
            found.update(cursor.fetchall())
    finally:
        cursor.close()
    return found


def _lookup_sql(conn: Connection, chunk: Sequence[str]) -> tuple[str, Any]:
    head = "SELECT transaction_id, content_hash FROM usage_event_keys WHERE transaction_id"
    if is_postgres(conn):
        return f"{head} = ANY(%s)", (list(chunk),)
    return f"{head} IN ({', '.join('?' * len(chunk))})", chunk


def journal_document(columns: EventColumns) -> bytes:
    """The journal document of a batch's events (one C call for the whole batch)."""
    return orjson.dumps({"columns": columns})


def journal_columns(document: bytes) -> EventColumns:
    columns: EventColumns = orjson.loads(document)["columns"]
    return columns


def write(
    conn: Connection,
    keys: Sequence[tuple[str, int]],
    columns: EventColumns,
    received_at: str,
    append: AppendParams | None = None,
) -> None:
    """Insert new keys and journal their events in the caller's transaction; a key stored
    meanwhile raises IntegrityError (on SQLite the failed statement leaves nothing behind and
    the transaction goes on). `received_at` is canonical UTC text; `append`, SQLite's statement
    parameters when the caller built them already (`append_params`)."""
    if not keys:
        return
    cursor = driver_of(conn).cursor()
    try:
        if is_postgres(conn):
            with cursor.copy(_COPY_KEYS) as copy:
                # in one order for every writer: concurrent batches with common ids wait for
                # each other on the key index instead of deadlocking
                for key in sorted(keys):
                    copy.write_row(key)
            cursor.execute(
                _INSERT_BATCH, (received_at + "+00", len(keys), journal_document(columns))
            )
        else:
            cursor.execute(_APPEND_SQLITE, append or append_params(keys, columns, received_at))
    finally:
        cursor.close()


def append_batch(driver_connection: Any, params: AppendParams) -> bool:
    """SQLite, outside any transaction: keys and journal row in one statement (the view
    `usage_ingest`), its own atomic transaction; one call into SQLite, which releases the GIL
    for all of it. False (nothing written) when some transaction id is already stored."""
    try:
        driver_connection.execute(_APPEND_SQLITE, params)
    except driver_connection.IntegrityError:
        return False
    return True


def append_params(
    keys: Sequence[tuple[str, int]], columns: EventColumns, received_at: str
) -> AppendParams:
    """The parameters of the SQLite append statement: the documents are built by the caller
    (the validating thread), so that the writer only runs SQLite."""
    return received_at, len(keys), journal_document(columns), orjson.dumps(keys)


def try_write_all(
    conn: Connection,
    keys: Sequence[tuple[str, int]],
    columns: EventColumns,
    received_at: str,
    append: AppendParams | None = None,
) -> bool:
    """Fast path for batches of new ids: write everything without a lookup first. False (and
    nothing written) when some id is already stored. SQLite backs out a failed statement and
    keeps the transaction; PostgreSQL needs a savepoint."""
    if not is_postgres(conn):
        try:
            write(conn, keys, columns, received_at, append)
        except conn.dialect.dbapi.IntegrityError:  # type: ignore[union-attr]
            return False
        return True
    savepoint = conn.begin_nested()
    try:
        write(conn, keys, columns, received_at)
    except conn.dialect.dbapi.IntegrityError:  # type: ignore[union-attr]
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def ensure_partitions(conn: Connection, months: Iterable[str]) -> None:
    """Create the monthly partitions ('YYYY-MM', UTC) of usage_events that do not exist yet."""
    cursor = driver_of(conn).cursor()
    try:
        for month in sorted(months):
            cursor.execute("SELECT o2c_usage_partition(%s::date)", (f"{month}-01",))
    finally:
        cursor.close()
