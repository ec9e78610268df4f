"""delivery: instances on one PostgreSQL database divide one sending budget per bot token among those alive

Revision ID: 0012_shared_pacing
Revises: 0011_review
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012_shared_pacing"
down_revision: str | None = "0011_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """One row per live delivery worker."""
    op.create_table(
        "delivery_instances",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("bot", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("alive_until", sa.Float(), nullable=False),
        sa.Column("wants", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index(op.f("ix_delivery_instances_bot"), "delivery_instances", ["bot"], unique=False)


def downgrade() -> None:
    """Each instance paces itself alone again."""
    op.drop_index(op.f("ix_delivery_instances_bot"), table_name="delivery_instances")
    op.drop_table("delivery_instances")
