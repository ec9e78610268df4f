"""delivery: a per-minute count of Telegram's 429 answers, for `liaison status`

Revision ID: 0013_flood_counts
Revises: 0012_shared_pacing
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_flood_counts"
down_revision: str | None = "0012_shared_pacing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """One row per minute in which Telegram answered 429."""
    op.create_table(
        "delivery_floods",
        sa.Column("minute", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("minute"),
    )


def downgrade() -> None:
    """Status counts only the 429s being waited out."""
    op.drop_table("delivery_floods")
