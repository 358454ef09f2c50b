"""rated events (telco rating)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 16:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rated_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("transaction_id", sa.String(length=255), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("metric_code", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service", sa.String(length=8), nullable=False),
        sa.Column("rate_table_code", sa.String(length=64), nullable=False),
        sa.Column("rate_table_version", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("destination_name", sa.String(length=200), nullable=False),
        sa.Column("band", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("billed_quantity", sa.BigInteger(), nullable=False),
        sa.Column("increments", sa.String(length=16), nullable=False),
        sa.Column("unit_price_nanos", sa.BigInteger(), nullable=False),
        sa.Column("setup_fee_nanos", sa.BigInteger(), nullable=False),
        sa.Column("amount_nanos", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("transaction_id"),
    )
    op.create_index(
        "ix_rated_events_period", "rated_events", ["subscription_id", "occurred_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_rated_events_period", table_name="rated_events")
    op.drop_table("rated_events")
