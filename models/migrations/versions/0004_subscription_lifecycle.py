"""subscription lifecycle: pauses, scheduled changes, change audit, coupons, adjustments, credits

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("pending_plan_code", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("pending_catalog_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pending_quantity", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pending_change_on", sa.Date(), nullable=True))
    op.create_table(
        "subscription_changes",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"]),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index(
        "ix_subscription_changes_subscription_id", "subscription_changes", ["subscription_id"]
    )
    op.create_table(
        "coupon_redemptions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("coupon_code", sa.String(length=64), nullable=False),
        sa.Column("catalog_version", sa.Integer(), nullable=False),
        sa.Column("redeemed_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subscription_id", "coupon_code", name="uq_coupon_redemption"),
    )
    op.create_index(
        "ix_coupon_redemptions_subscription_id", "coupon_redemptions", ["subscription_id"]
    )
    op.create_table(
        "billing_adjustments",
        sa.Column("id", _ID, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("metric_code", sa.String(length=64), nullable=True),
        sa.Column("quantity", sa.String(length=64), nullable=False),
        sa.Column("unit_amount", sa.String(length=64), nullable=False),
        sa.Column("amount_precise", sa.String(length=64), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("invoice_id", sa.String(length=96), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_billing_adjustments_customer_id", "billing_adjustments", ["customer_id"])
    op.create_table(
        "credit_ledger",
        sa.Column("id", _ID, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("invoice_id", sa.String(length=96), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_credit_ledger_customer_id", "credit_ledger", ["customer_id"])
    op.create_index("ix_billing_adjustments_invoice_id", "billing_adjustments", ["invoice_id"])


def downgrade() -> None:
    op.drop_table("credit_ledger")
    op.drop_table("billing_adjustments")
    op.drop_table("coupon_redemptions")
    op.drop_table("subscription_changes")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        for column in (
            "pending_change_on",
            "pending_quantity",
            "pending_catalog_version",
            "pending_plan_code",
            "paused_on",
        ):
            batch_op.drop_column(column)
