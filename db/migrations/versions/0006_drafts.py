"""drafts: one table of conversation drafts for every feature (replaces alert_drafts)

Revision ID: 0006_drafts
Revises: 0005_fair_fanout
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006_drafts"
down_revision: str | None = "0005_fair_fanout"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = sqlmodel.sql.sqltypes.UTCDateTime
_STR = sqlmodel.sql.sqltypes.AutoString
# Alert drafts in progress carry over: the raise conversation (12 h) and the outcome question (30 min).
_ALERT_TTL = timedelta(hours=12)
_OUTCOME_TTL = timedelta(minutes=30)
_ALERT_FIELDS = ("category", "severity", "latitude", "longitude", "photo_file_id", "text", "alert_id")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def upgrade() -> None:
    """Create drafts and move the alert drafts in progress into it."""
    drafts = op.create_table(
        "drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("flow", _STR(length=32), nullable=False),
        sa.Column("step", _STR(length=24), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("token", _STR(length=64), nullable=False),
        sa.Column("focused", sa.Boolean(), nullable=False),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.Column("updated_at", _UTC(), nullable=False),
        sa.Column("expires_at", _UTC(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_id", "flow", name="uq_draft_member_flow"),
    )
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drafts_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_drafts_expires_at"), ["expires_at"], unique=False)

    old = sa.table(
        "alert_drafts",
        *(sa.column(name) for name in ("member_id", "token", "step", "updated_at", *_ALERT_FIELDS)),
    )
    rows = []
    for row in op.get_bind().execute(sa.select(old)).mappings():
        updated = _aware(row["updated_at"])
        outcome = row["step"] == "outcome"
        data = {k: row[k] for k in _ALERT_FIELDS if row[k] is not None}
        rows.append(
            {
                "member_id": row["member_id"],
                "flow": "alert_outcome" if outcome else "alert",
                "step": row["step"],
                "data": {"alert_id": row["alert_id"]} if outcome else data,
                "token": row["token"],
                "focused": True,
                "created_at": updated,
                "updated_at": updated,
                "expires_at": updated + (_OUTCOME_TTL if outcome else _ALERT_TTL),
            }
        )
    if rows:
        op.bulk_insert(drafts, rows)
    op.drop_table("alert_drafts")


def downgrade() -> None:
    """Back to alert_drafts (drafts of other flows are dropped)."""
    alert_drafts = op.create_table(
        "alert_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("token", _STR(length=64), nullable=False),
        sa.Column("step", _STR(length=16), nullable=False),
        sa.Column("category", _STR(length=24), nullable=True),
        sa.Column("severity", _STR(length=16), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("photo_file_id", _STR(length=256), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", _UTC(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_id"),
    )
    drafts = sa.table(
        "drafts", *(sa.column(n) for n in ("member_id", "flow", "step", "data", "token", "updated_at"))
    )
    query = (
        sa.select(drafts).where(drafts.c.flow.in_(("alert", "alert_outcome"))).order_by(drafts.c.updated_at)
    )
    kept: dict[int, dict[str, object]] = {}
    for row in op.get_bind().execute(query).mappings():
        data = row["data"] or {}
        # One draft per member in the old table: the newest wins.
        kept[row["member_id"]] = {
            "member_id": row["member_id"],
            "token": row["token"],
            "step": row["step"][:16],
            "updated_at": _aware(row["updated_at"]),
            **{k: data.get(k) for k in _ALERT_FIELDS},
        }
    if kept:
        op.bulk_insert(alert_drafts, list(kept.values()))
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drafts_expires_at"))
        batch_op.drop_index(batch_op.f("ix_drafts_member_id"))
    op.drop_table("drafts")
