"""delivery engine: outbox changes

The outbox of 0001 already carries everything the delivery worker needs (state, priority, not_before,
lease_until, claimed_by, attempts, last_error, telegram_message_id, ref, card_key) and the ready-queue
index (state, priority, not_before, id): this revision only adds an index for the lease sweep.

Revision ID: 0002_delivery
Revises: 0001_foundation
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_delivery"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_lease", ["state", "lease_until"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_lease")
