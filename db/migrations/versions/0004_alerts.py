"""alerts: alerts, drafts, recipients, acknowledgements

Revision ID: 0004_alerts
Revises: 0003_scheduler
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004_alerts"
down_revision: str | None = "0003_scheduler"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = sqlmodel.sql.sqltypes.UTCDateTime
_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_token", _STR(length=64), nullable=False),
        sa.Column("post_code", _STR(), nullable=False),
        sa.Column("author_member_id", sa.Integer(), nullable=False),
        sa.Column("author_service_code", _STR(length=24), nullable=True),
        sa.Column("category", _STR(length=24), nullable=False),
        sa.Column("severity", _STR(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("photo_file_id", _STR(length=256), nullable=True),
        sa.Column("state", _STR(length=16), nullable=False),
        sa.Column("posts", sa.JSON(), nullable=False),
        sa.Column("required", sa.JSON(), nullable=False),
        sa.Column("raised_at", _UTC(), nullable=False),
        sa.Column("handled_at", _UTC(), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("resolved_at", _UTC(), nullable=True),
        sa.Column("resolved_by_member_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["author_member_id"], ["members.id"]),
        sa.ForeignKeyConstraint(["post_code"], ["posts.code"]),
        sa.ForeignKeyConstraint(["resolved_by_member_id"], ["members.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_token"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_post_code"), ["post_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_author_member_id"), ["author_member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_raised_at"), ["raised_at"], unique=False)

    op.create_table(
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

    op.create_table(
        "alert_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("post_code", _STR(length=24), nullable=False),
        sa.Column("service_code", _STR(length=24), nullable=True),
        sa.Column("card_key", _STR(length=64), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("notified_at", _UTC(), nullable=False),
        sa.Column("seen_at", _UTC(), nullable=True),
        sa.Column("action_at", _UTC(), nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert_id", "member_id", name="uq_alert_recipient"),
    )
    with op.batch_alter_table("alert_recipients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_recipients_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_recipients_member_id"), ["member_id"], unique=False)

    op.create_table(
        "alert_acks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("post_code", _STR(length=24), nullable=False),
        sa.Column("service_code", _STR(length=24), nullable=False),
        sa.Column("kind", _STR(length=8), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("acked_at", _UTC(), nullable=False),
        sa.Column("seconds_to_ack", sa.Float(), nullable=False),
        sa.Column("action_member_id", sa.Integer(), nullable=True),
        sa.Column("action_at", _UTC(), nullable=True),
        sa.ForeignKeyConstraint(["action_member_id"], ["members.id"]),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert_id", "post_code", "service_code", name="uq_alert_ack_service"),
    )
    with op.batch_alter_table("alert_acks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_acks_alert_id"), ["alert_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("alert_acks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_acks_alert_id"))
    op.drop_table("alert_acks")
    with op.batch_alter_table("alert_recipients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_recipients_member_id"))
        batch_op.drop_index(batch_op.f("ix_alert_recipients_alert_id"))
    op.drop_table("alert_recipients")
    op.drop_table("alert_drafts")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_raised_at"))
        batch_op.drop_index(batch_op.f("ix_alerts_state"))
        batch_op.drop_index(batch_op.f("ix_alerts_author_member_id"))
        batch_op.drop_index(batch_op.f("ix_alerts_post_code"))
    op.drop_table("alerts")
