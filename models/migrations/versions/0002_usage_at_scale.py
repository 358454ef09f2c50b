"""usage at scale: exact quantities, dedup keys, monthly partitions on PostgreSQL

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 17:00:00

- usage_events.quantity (NUMERIC, a float on SQLite) becomes quantity_units (BIGINT) +
  quantity_nanos (INTEGER): exact on both databases, and SQL sums stay exact.
- transaction-id uniqueness moves to usage_event_keys (transaction_id -> content_hash), written
  in the same transaction as the event: a partitioned table cannot have a unique index without
  its partition key.
- PostgreSQL: usage_events is RANGE-partitioned by month of occurred_at (UTC), primary key
  (id, occurred_at), a default partition, and o2c_usage_partition(month) which creates a month's
  partition idempotently (the ingest path calls it for the months of each batch).
Existing events are copied over with their content hash.
"""

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

from models.usage_values import content_hash, properties_json, split_quantity, utc_text

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_CHUNK = 5000
_NEW_COLUMNS = (
    "id, transaction_id, customer_id, subscription_id, metric_code, occurred_at,"
    " quantity_units, quantity_nanos, properties, received_at"
)

PARTITION_FUNCTION = """
CREATE OR REPLACE FUNCTION o2c_usage_partition(month date) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
    first_day date := date_trunc('month', month)::date;
    lower_at timestamptz := first_day::timestamp AT TIME ZONE 'UTC';
    upper_at timestamptz := (first_day + interval '1 month')::timestamp AT TIME ZONE 'UTC';
    part text := 'usage_events_p' || to_char(first_day, 'YYYY_MM');
BEGIN
    IF to_regclass(quote_ident(part)) IS NOT NULL THEN
        RETURN part;
    END IF;
    IF EXISTS (SELECT 1 FROM usage_events_default
               WHERE occurred_at >= lower_at AND occurred_at < upper_at) THEN
        -- rows of that month landed in the default partition: move them into the new one
        EXECUTE format('CREATE TABLE %I (LIKE usage_events INCLUDING DEFAULTS)', part);
        EXECUTE format('WITH moved AS (DELETE FROM usage_events_default WHERE occurred_at >= %L'
                       ' AND occurred_at < %L RETURNING *) INSERT INTO %I SELECT * FROM moved',
                       lower_at, upper_at, part);
        EXECUTE format('ALTER TABLE usage_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                       part, lower_at, upper_at);
    ELSE
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF usage_events'
                       ' FOR VALUES FROM (%L) TO (%L)', part, lower_at, upper_at);
    END IF;
    RETURN part;
EXCEPTION WHEN duplicate_table OR unique_violation THEN
    RETURN part;  -- created meanwhile by a concurrent batch
END
$fn$
"""

PG_EVENTS = """
CREATE TABLE usage_events (
    id BIGSERIAL NOT NULL,
    transaction_id VARCHAR(255) NOT NULL,
    customer_id VARCHAR(64) NOT NULL,
    subscription_id VARCHAR(64) NOT NULL,
    metric_code VARCHAR(64) NOT NULL,
    occurred_at TIMESTAMP WITH TIME ZONE NOT NULL,
    quantity_units BIGINT NOT NULL,
    quantity_nanos INTEGER NOT NULL,
    properties JSON NOT NULL,
    received_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT usage_events_pkey PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at)
"""


def _is_pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    _set_aside("usage_events", "usage_events_v1")
    op.create_table(
        "usage_event_keys",
        sa.Column("transaction_id", sa.String(length=255), nullable=False),
        sa.Column("content_hash", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("transaction_id"),
        sqlite_with_rowid=False,
    )
    if _is_pg():
        op.execute(PG_EVENTS)
        op.execute("CREATE TABLE usage_events_default PARTITION OF usage_events DEFAULT")
        op.execute(PARTITION_FUNCTION)
    else:
        op.create_table(
            "usage_events",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("transaction_id", sa.String(length=255), nullable=False),
            sa.Column("customer_id", sa.String(length=64), nullable=False),
            sa.Column("subscription_id", sa.String(length=64), nullable=False),
            sa.Column("metric_code", sa.String(length=64), nullable=False),
            sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("quantity_units", sa.BigInteger(), nullable=False),
            sa.Column("quantity_nanos", sa.Integer(), nullable=False),
            sa.Column("properties", sa.JSON(), nullable=False),
            sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
    op.create_index(
        "ix_usage_events_period", "usage_events", ["subscription_id", "metric_code", "occurred_at"]
    )
    _copy_v1_events()
    op.drop_table("usage_events_v1")


def _set_aside(table: str, new_name: str) -> None:
    """Rename the old table out of the way, with the names of its index and constraints."""
    op.drop_index("ix_usage_events_period", table_name=table)
    if _is_pg():
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_transaction_id_key")
        op.execute(f"ALTER TABLE {table} RENAME TO {new_name}")
        op.execute(f"ALTER TABLE {new_name} RENAME CONSTRAINT {table}_pkey TO {new_name}_pkey")
        op.execute(f"ALTER SEQUENCE {table}_id_seq RENAME TO {new_name}_id_seq")
    else:
        op.execute(f"ALTER TABLE {table} RENAME TO {new_name}")


def _copy_v1_events() -> None:
    conn = op.get_bind()
    pg = _is_pg()
    if pg:
        months = conn.execute(
            sa.text(
                "SELECT DISTINCT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-01')"
                " FROM usage_events_v1"
            )
        ).scalars()
        for month in list(months):
            conn.execute(sa.text("SELECT o2c_usage_partition(CAST(:m AS date))"), {"m": month})
    last_id = 0
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT id, transaction_id, customer_id, subscription_id, metric_code, occurred_at,"
                " CAST(quantity AS TEXT), properties, received_at FROM usage_events_v1"
                " WHERE id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last_id, "n": _CHUNK},
        ).all()
        if not rows:
            break
        events, keys = zip(*(_converted(row, pg) for row in rows), strict=True)
        conn.execute(
            sa.text(
                f"INSERT INTO usage_events ({_NEW_COLUMNS}) VALUES (:id, :transaction_id,"
                " :customer_id, :subscription_id, :metric_code, :occurred_at, :quantity_units,"
                " :quantity_nanos, :properties, :received_at)"
            ),
            list(events),
        )
        conn.execute(
            sa.text("INSERT INTO usage_event_keys VALUES (:transaction_id, :content_hash)"),
            list(keys),
        )
        last_id = rows[-1][0]
    if pg:
        op.execute(
            "SELECT setval('usage_events_id_seq', COALESCE((SELECT max(id) FROM usage_events), 0)"
            " + 1, false)"
        )


def _converted(row: Any, pg: bool) -> tuple[dict[str, object], dict[str, object]]:
    (id_, tx, customer, sub, metric, occurred, quantity, props, received) = row
    units, nanos = split_quantity(Decimal(quantity).quantize(Decimal("1e-9")).normalize())
    props_json = properties_json(json.loads(props) if isinstance(props, str) else props)
    at_text = _utc_text(occurred)
    event: dict[str, object] = {
        "id": id_, "transaction_id": tx, "customer_id": customer, "subscription_id": sub,
        "metric_code": metric, "occurred_at": at_text + ("+00" if pg else ""),
        "quantity_units": units, "quantity_nanos": nanos, "properties": props_json,
        "received_at": _utc_text(received) + ("+00" if pg else ""),
    }  # fmt: skip
    key = {
        "transaction_id": tx,
        "content_hash": content_hash(sub, metric, at_text, units, nanos, props_json),
    }
    return event, key


def _utc_text(value: object) -> str:
    """Canonical UTC text of a stored instant (SQLite hands back text, PostgreSQL datetimes)."""
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    aware = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    return utc_text(aware.astimezone(UTC))


def downgrade() -> None:
    conn = op.get_bind()
    pg = _is_pg()
    op.create_table(
        "usage_events_v1",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("transaction_id", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("metric_code", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=38, scale=9), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="usage_events_v1_pkey"),
    )
    quantity = "quantity_units + quantity_nanos / 1000000000.0"
    if pg:
        quantity = "quantity_units + quantity_nanos / 1000000000::numeric"
    conn.execute(
        sa.text(
            "INSERT INTO usage_events_v1 (id, transaction_id, customer_id, subscription_id,"
            f" metric_code, occurred_at, quantity, properties, received_at) SELECT id,"
            f" transaction_id, customer_id, subscription_id, metric_code, occurred_at, {quantity},"
            " properties, received_at FROM usage_events"
        )
    )
    op.drop_table("usage_events")  # on PostgreSQL, with its partitions
    op.drop_table("usage_event_keys")
    if pg:
        op.execute("DROP FUNCTION IF EXISTS o2c_usage_partition(date)")
        op.execute(
            "ALTER TABLE usage_events_v1 RENAME CONSTRAINT usage_events_v1_pkey TO usage_events_pkey"
        )
        op.execute("ALTER SEQUENCE usage_events_v1_id_seq RENAME TO usage_events_id_seq")
    op.rename_table("usage_events_v1", "usage_events")
    with op.batch_alter_table("usage_events") as batch:
        batch.create_unique_constraint("usage_events_transaction_id_key", ["transaction_id"])
    op.create_index(
        "ix_usage_events_period", "usage_events", ["subscription_id", "metric_code", "occurred_at"]
    )
