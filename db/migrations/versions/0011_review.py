"""review: the audit log becomes a chain per post (tamper-evident), gains a service column and the indexes of
the review log's pages; review_views keep what a reader of /log is looking at

Revision ID: 0011_review
Revises: 0010_notices
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011_review"
down_revision: str | None = "0010_notices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_UTC = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    """Add the chain, backfill the service column, seal the entries already written, index for pages."""
    op.create_table(
        "audit_chains",
        sa.Column("chain", _STR(length=24), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("chain"),
    )
    op.create_table(
        "review_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("post_code", _STR(length=24), nullable=True),
        sa.Column("kind", _STR(length=24), nullable=True),
        sa.Column("service_code", _STR(length=24), nullable=True),
        sa.Column("period", _STR(length=8), nullable=False),
        sa.Column("since", _UTC(), nullable=False),
        sa.Column("until", _UTC(), nullable=False),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("review_views", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_views_member_id"), ["member_id"], unique=False)

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service_code", _STR(length=24), nullable=True))
        batch_op.add_column(sa.Column("chain", _STR(length=24), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=66), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=66), nullable=True))
        batch_op.drop_index(batch_op.f("ix_audit_log_action"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_post_code"))
        batch_op.create_index("ix_audit_log_at_id", ["at", "id"], unique=False)
        batch_op.create_index("ix_audit_log_post_at", ["post_code", "at", "id"], unique=False)
        batch_op.create_index("ix_audit_log_action_at", ["action", "at", "id"], unique=False)
        batch_op.create_index(
            "ix_audit_log_post_action_at", ["post_code", "action", "at", "id"], unique=False
        )
        batch_op.create_index("ix_audit_log_service_at", ["service_code", "at", "id"], unique=False)
        batch_op.create_index(
            "ix_audit_log_post_service_at", ["post_code", "service_code", "at", "id"], unique=False
        )
        batch_op.create_unique_constraint("uq_audit_log_chain_seq", ["chain", "seq"])

    # Entries written before this revision: their chain and service, then sealed in the order they were
    # written (the key, if LIAISON_AUDIT_KEY is set, is the one the bot will seal with from now on).
    from db.audit import seal_backlog, service_of

    bind = op.get_bind()
    log = sa.table(
        "audit_log",
        sa.column("id", sa.Integer()),
        sa.column("post_code", sa.String()),
        sa.column("details", sa.JSON()),
        sa.column("chain", sa.String()),
        sa.column("service_code", sa.String()),
    )
    bind.execute(log.update().values(chain=sa.func.coalesce(log.c.post_code, "")))
    updates = [
        {"b_id": row_id, "b_service": service_of(details)}
        for row_id, details in bind.execute(sa.select(log.c.id, log.c.details)).all()
        if service_of(details)
    ]
    if updates:
        bind.execute(
            log.update()
            .where(log.c.id == sa.bindparam("b_id"))
            .values(service_code=sa.bindparam("b_service")),
            updates,
        )
    seal_backlog(bind)


def downgrade() -> None:
    """Back to the plain log (the chain is dropped: a later upgrade seals the entries again)."""
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_constraint("uq_audit_log_chain_seq", type_="unique")
        batch_op.drop_index("ix_audit_log_service_at")
        batch_op.drop_index("ix_audit_log_post_service_at")
        batch_op.drop_index("ix_audit_log_post_at")
        batch_op.drop_index("ix_audit_log_post_action_at")
        batch_op.drop_index("ix_audit_log_at_id")
        batch_op.drop_index("ix_audit_log_action_at")
        batch_op.create_index(batch_op.f("ix_audit_log_post_code"), ["post_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_action"), ["action"], unique=False)
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
        batch_op.drop_column("chain")
        batch_op.drop_column("service_code")

    with op.batch_alter_table("review_views", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_views_member_id"))

    op.drop_table("review_views")
    op.drop_table("audit_chains")
