"""drafts: ids are never handed out twice on SQLite, so an old draft's button cannot reach a newer draft

Revision ID: 0014_draft_ids
Revises: 0013_flood_counts

SQLite gives a new row the highest rowid plus one: once the newest draft is deleted (sent, cancelled,
replaced), the next draft gets its id again, and the buttons of the old one, which carry only that id, act
on the new one. AUTOINCREMENT keeps the highest id ever used. PostgreSQL's sequences never reuse an id.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_draft_ids"
down_revision: str | None = "0013_flood_counts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _recreate(*, autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # Batch mode copies the table (rows, ids, indexes, constraints) into one created with or without
    # AUTOINCREMENT; the copy records the highest id kept as the sequence's start.
    with op.batch_alter_table(
        "drafts", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass


def upgrade() -> None:
    """SQLite: recreate drafts with AUTOINCREMENT."""
    _recreate(autoincrement=True)


def downgrade() -> None:
    """SQLite: recreate drafts without AUTOINCREMENT (ids may be reused again)."""
    _recreate(autoincrement=False)
