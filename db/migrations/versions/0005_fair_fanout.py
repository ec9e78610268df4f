"""delivery: fan-outs interleave within a priority (outbox.fanout_rank)

Revision ID: 0005_fair_fanout
Revises: 0004_alerts
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_fair_fanout"
down_revision: str | None = "0004_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the rank and order the ready-queue index by it."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fanout_rank", sa.Integer(), server_default="0", nullable=False))
        batch_op.drop_index("ix_outbox_ready")
        batch_op.create_index("ix_outbox_ready", ["state", "priority", "fanout_rank", "id"], unique=False)


def downgrade() -> None:
    """Back to first-come first-served within a priority."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_ready")
        batch_op.create_index("ix_outbox_ready", ["state", "priority", "not_before", "id"], unique=False)
        batch_op.drop_column("fanout_rank")
