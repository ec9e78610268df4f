"""The append-only audit log: who did what, when, to what, from which post."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.types import UTC_NOW, big_int_column, utc_column


class AuditEntry(SQLModel, table=True):
    """One recorded action. Rows are only ever inserted."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=UTC_NOW, sa_column=utc_column(index=True))
    actor_member_id: int | None = Field(default=None, foreign_key="members.id", index=True)
    actor_telegram_id: int | None = Field(default=None, sa_column=big_int_column(nullable=True))
    action: str = Field(max_length=48, index=True)
    object_type: str | None = Field(default=None, max_length=32)
    object_id: str | None = Field(default=None, max_length=64)
    post_code: str | None = Field(default=None, max_length=24, index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


async def record_action(
    session: AsyncSession,
    *,
    action: str,
    at: datetime,
    actor_member_id: int | None = None,
    actor_telegram_id: int | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    post_code: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the audit log (the caller commits)."""
    entry = AuditEntry(
        at=at,
        actor_member_id=actor_member_id,
        actor_telegram_id=actor_telegram_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        post_code=post_code,
        details=details or {},
    )
    session.add(entry)
    await session.flush()
    return entry


async def list_actions(
    session: AsyncSession, *, post_code: str | None = None, action: str | None = None, limit: int = 100
) -> list[AuditEntry]:
    """Newest audit entries first, optionally for one post or action."""
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if post_code is not None:
        query = query.where(AuditEntry.post_code == post_code)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return list((await session.exec(query)).all())
