"""usage ingest journal: accepted batches wait in usage_event_batches until settled

Revision ID: 0006
Revises: 0005

- usage_event_batches: one row per accepted batch (its events as one orjson document); ingest
  appends here with the batch's dedup keys, and settling moves the events into usage_events in
  period-index order before usage is read (models/usage_settle.py).
- SQLite: the view usage_ingest and its INSTEAD OF INSERT trigger write a batch's keys and its
  journal row in one statement (models/usage_store.append_batch), atomic on its own.
- usage_event_keys.content_hash becomes XXH3-64 (>> 1) of the event's content as a JSON array
  (models.usage_values.content_hash), cheap enough for the columnar ingest path: the digests
  of stored events are recomputed here (and back to BLAKE2b on downgrade).
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from hashlib import blake2b

import orjson
import sqlalchemy as sa
from alembic import op

from models.usage_values import content_hash, properties_json, utc_text

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_CHUNK = 5000
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Digest = Callable[[str, str, str, int, int, str], int]

SQLITE_INGEST_VIEW = """
CREATE VIEW usage_ingest AS
SELECT NULL AS received_at, NULL AS event_count, NULL AS events, NULL AS keys WHERE 0
"""
# keys first: a stored transaction id fails the statement, and SQLite backs out all of it
SQLITE_INGEST_TRIGGER = """
CREATE TRIGGER usage_ingest_append INSTEAD OF INSERT ON usage_ingest
BEGIN
    INSERT INTO usage_event_keys (transaction_id, content_hash)
    SELECT value ->> 0, value ->> 1 FROM json_each(NEW.keys);
    INSERT INTO usage_event_batches (received_at, event_count, events)
    VALUES (NEW.received_at, NEW.event_count, NEW.events);
END
"""


def upgrade() -> None:
    op.create_table(
        "usage_event_batches",
        sa.Column("id", _ID, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("events", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE_INGEST_VIEW)
        op.execute(SQLITE_INGEST_TRIGGER)
    _rehash(content_hash)


def downgrade() -> None:
    _settle_for_downgrade()
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP VIEW usage_ingest")  # drops its trigger
    op.drop_table("usage_event_batches")
    _rehash(_blake2b_hash)


def _rehash(digest: _Digest) -> None:
    """Recompute the content hash of every stored event's key with `digest`."""
    conn = op.get_bind()
    last_id = 0
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT id, transaction_id, subscription_id, metric_code, occurred_at,"
                " quantity_units, quantity_nanos, properties FROM usage_events"
                " WHERE id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last_id, "n": _CHUNK},
        ).all()
        if not rows:
            return
        keys = [
            {
                "tx": tx,
                "hash": digest(sub, metric, _utc_text(at), units, nanos, _props(props)),
            }
            for _, tx, sub, metric, at, units, nanos, props in rows
        ]
        conn.execute(
            sa.text("UPDATE usage_event_keys SET content_hash = :hash WHERE transaction_id = :tx"),
            keys,
        )
        last_id = rows[-1][0]


def _settle_for_downgrade() -> None:
    """Journal rows become usage_events rows (the schema before 0006 has no journal)."""
    conn = op.get_bind()
    pg = conn.dialect.name == "postgresql"
    suffix = "+00" if pg else ""
    for received_at, document in conn.execute(
        sa.text("SELECT received_at, events FROM usage_event_batches ORDER BY id")
    ).all():
        columns = orjson.loads(document)["columns"]
        received = _utc_text(received_at) + suffix
        events = [
            {
                "tx": tx, "customer": customer, "sub": sub, "metric": metric,
                "at": at + suffix, "units": units, "nanos": nanos, "props": props,
                "received": received,
            }
            for tx, customer, sub, metric, at, units, nanos, props in zip(*columns, strict=True)
        ]  # fmt: skip
        if pg:
            for month in sorted({event["at"][:7] for event in events}):
                conn.execute(sa.text("SELECT o2c_usage_partition(CAST(:m AS date))"), {"m": month + "-01"})
        conn.execute(
            sa.text(
                "INSERT INTO usage_events (transaction_id, customer_id, subscription_id,"
                " metric_code, occurred_at, quantity_units, quantity_nanos, properties,"
                " received_at) VALUES (:tx, :customer, :sub, :metric, :at, :units, :nanos,"
                " :props, :received)"
            ),
            events,
        )


def _blake2b_hash(sub: str, metric: str, at: str, units: int, nanos: int, props: str) -> int:
    """The content hash of revisions 0002 to 0005."""
    text = f"{sub}\x1f{metric}\x1f{at}\x1f{units}\x1f{nanos}\x1f{props}"
    return int.from_bytes(blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


def _props(value: object) -> str:
    return properties_json(json.loads(value) if isinstance(value, str) else value)


def _utc_text(value: object) -> str:
    """Canonical UTC text of a stored instant (SQLite hands back text, PostgreSQL datetimes)."""
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    aware = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    return utc_text(aware.astimezone(UTC))
