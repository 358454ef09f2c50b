"""usage_events period index covers the quantity: sums and counts read the index only

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_KEY = ["subscription_id", "metric_code", "occurred_at"]


def upgrade() -> None:
    op.drop_index("ix_usage_events_period", table_name="usage_events")
    op.create_index(
        "ix_usage_events_period", "usage_events", [*_KEY, "quantity_units", "quantity_nanos"]
    )


def downgrade() -> None:
    op.drop_index("ix_usage_events_period", table_name="usage_events")
    op.create_index("ix_usage_events_period", "usage_events", _KEY)
