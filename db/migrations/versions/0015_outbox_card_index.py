"""outbox: a card's rows indexed by (card_key, method, state) instead of card_key alone

Revision ID: 0015_outbox_card_index
Revises: 0014_draft_ids

The worker's claim asks, for each waiting edit, whether its card's original went out and whether another
edit of the card is in flight; the redraw of a card asks for its newest waiting edit. With card_key alone,
SQLite used the state index for the latter and walked every pending row: 2.5 ms a claim behind a queue of
4,000 card edits, 0.16 ms with this index. The composite index also serves every look-up by card_key alone.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015_outbox_card_index"
down_revision: str | None = "0014_draft_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Replace ix_outbox_card_key with ix_outbox_card (card_key, method, state)."""
    op.create_index("ix_outbox_card", "outbox", ["card_key", "method", "state"], unique=False)
    op.drop_index("ix_outbox_card_key", table_name="outbox")


def downgrade() -> None:
    """Back to the index on card_key alone."""
    op.create_index("ix_outbox_card_key", "outbox", ["card_key"], unique=False)
    op.drop_index("ix_outbox_card", table_name="outbox")
