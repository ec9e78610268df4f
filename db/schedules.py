"""Scheduled work: one row per 'do X at time T' (one-off or recurring), the scheduler's source of truth."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, func, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.in_lists import padded
from db.types import UTC_NOW, dialect_insert, table_of, utc_column


class JobState(StrEnum):
    """Life of a schedule row."""

    ACTIVE = "active"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


class JobSource(StrEnum):
    """Who created a schedule row."""

    CONFIG = "config"
    CHIEF = "chief"
    SYSTEM = "system"


LIVE_STATES = (JobState.ACTIVE, JobState.PAUSED)


class ScheduledJob(SQLModel, table=True):
    """One piece of scheduled work: what (kind + payload), when (trigger in a zone), and its next due time."""

    __tablename__ = "schedules"
    __table_args__ = (Index("ix_schedules_due", "state", "next_run_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # Stable identity, e.g. "config:weekly-coordination:NE-KONNI" or "alert:17:step:1" (idempotent writes).
    key: str = Field(max_length=128, unique=True)
    kind: str = Field(max_length=32, index=True)
    post_code: str | None = Field(default=None, max_length=24, index=True)
    # What to do: plain JSON read by the kind's runner (never a pickled callable).
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # APScheduler trigger type ("date", "cron", "interval") and its keyword arguments, in `timezone`.
    trigger: str = Field(max_length=16)
    trigger_args: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    timezone: str = Field(default="UTC", max_length=64)
    next_run_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    state: str = Field(default=JobState.ACTIVE, max_length=16)
    # Rows are claimed by a row lock held for the run's own transaction (no lease to expire after a crash:
    # the rollback frees them). claimed_by records which instance last ran the row; claimed_until stays
    # empty, kept for a future lease-based runner that would work outside the transaction.
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    last_run_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    run_count: int = 0
    failures: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    source: str = Field(default=JobSource.SYSTEM, max_length=16)
    created_by: int | None = Field(default=None, foreign_key="members.id")
    created_at: datetime = Field(default_factory=UTC_NOW, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=UTC_NOW, sa_column=utc_column())


async def insert_job_if_absent(session: AsyncSession, *, values: dict[str, Any]) -> bool:
    """Insert a row unless one with the same key exists (atomic on both engines); True when inserted."""
    return await insert_jobs_if_absent(session, rows=[values]) == 1


async def insert_jobs_if_absent(session: AsyncSession, *, rows: list[dict[str, Any]]) -> int:
    """Insert rows in one statement, skipping keys that exist; returns how many were inserted."""
    if not rows:
        return 0
    # An executemany of one statement, compiled once (SQLAlchemy sends it as multi-row INSERTs): a VALUES
    # list is never cached, so every alert's escalation ladder was compiled anew. RETURNING counts the new
    # rows (an executemany's rowcount is not reliable on every driver).
    table = table_of(ScheduledJob)
    statement = (
        dialect_insert(session)(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.key)
    )
    result = await session.exec(statement, params=rows)
    return len(result.all())


async def get_job(session: AsyncSession, *, job_id: int) -> ScheduledJob | None:
    """The row with this id."""
    return await session.get(ScheduledJob, job_id)


async def get_jobs(session: AsyncSession, *, job_ids: set[int]) -> list[ScheduledJob]:
    """The rows with these ids (those that still exist), in one query."""
    return list(
        (
            await session.exec(select(ScheduledJob).where(col(ScheduledJob.id).in_(padded(sorted(job_ids)))))
        ).all()
    )


async def get_job_by_key(session: AsyncSession, *, key: str) -> ScheduledJob | None:
    """The row with this key."""
    return (await session.exec(select(ScheduledJob).where(ScheduledJob.key == key))).first()


async def list_jobs(
    session: AsyncSession,
    *,
    kind: str | None = None,
    post_code: str | None = None,
    key_prefix: str | None = None,
    states: tuple[str, ...] = LIVE_STATES,
    limit: int | None = None,
    without_post: bool = False,
) -> list[ScheduledJob]:
    """Rows filtered by kind, post (or none: `without_post`), key prefix and state, soonest first."""
    query = select(ScheduledJob).where(col(ScheduledJob.state).in_(states))
    if kind is not None:
        query = query.where(ScheduledJob.kind == kind)
    if post_code is not None:
        query = query.where(ScheduledJob.post_code == post_code)
    if without_post:
        query = query.where(col(ScheduledJob.post_code).is_(None))
    if key_prefix is not None:
        query = query.where(col(ScheduledJob.key).startswith(key_prefix, autoescape=True))
    query = query.order_by(
        col(ScheduledJob.next_run_at).is_(None), col(ScheduledJob.next_run_at), col(ScheduledJob.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list((await session.exec(query)).all())


async def earliest_due(session: AsyncSession) -> datetime | None:
    """The nearest next_run_at among active rows."""
    result = await session.exec(
        select(func.min(ScheduledJob.next_run_at)).where(ScheduledJob.state == JobState.ACTIVE)
    )
    return result.one()


async def lock_due_jobs(session: AsyncSession, *, now: datetime, limit: int) -> list[ScheduledJob]:
    """Lock up to `limit` due active rows for this transaction; rows another instance holds are skipped."""
    query = (
        select(ScheduledJob)
        .where(ScheduledJob.state == JobState.ACTIVE, col(ScheduledJob.next_run_at) <= now)
        .order_by(col(ScheduledJob.next_run_at), col(ScheduledJob.id))
        .limit(limit)
        # PostgreSQL: two schedulers never lock one row. SQLite ignores it and serialises on BEGIN IMMEDIATE.
        .with_for_update(skip_locked=True)
    )
    return list((await session.exec(query)).all())


async def cancel_jobs(
    session: AsyncSession, *, now: datetime, key: str | None = None, key_prefix: str | None = None
) -> int:
    """Cancel live rows by exact key or key prefix; returns how many changed."""
    if key is None and key_prefix is None:
        raise ValueError("cancel needs a key or a key prefix")
    statement = update(ScheduledJob).where(col(ScheduledJob.state).in_(LIVE_STATES))
    if key is not None:
        statement = statement.where(col(ScheduledJob.key) == key)
    if key_prefix is not None:
        statement = statement.where(col(ScheduledJob.key).startswith(key_prefix, autoescape=True))
    result = await session.exec(
        statement.values(state=JobState.CANCELLED, next_run_at=None, updated_at=now).execution_options(
            synchronize_session=False
        )
    )
    return int(result.rowcount or 0)


async def set_job_state(
    session: AsyncSession,
    *,
    job_id: int,
    from_states: tuple[str, ...],
    state: str,
    now: datetime,
    next_run_at: datetime | None = None,
) -> bool:
    """Move a row between states when it is in one of `from_states`; True when this call changed it."""
    values: dict[str, Any] = {"state": state, "updated_at": now}
    if state == JobState.ACTIVE:
        values["next_run_at"] = next_run_at
    elif state == JobState.CANCELLED:
        values["next_run_at"] = None
    result = await session.exec(
        update(ScheduledJob)
        .where(col(ScheduledJob.id) == job_id, col(ScheduledJob.state).in_(from_states))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)
