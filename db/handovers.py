"""Shift handovers: what one service's outgoing shift wrote for the incoming one, and who took it over."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint, func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.members import Member, MemberStatus
from db.types import table_of, utc_column


class HandoverState(StrEnum):
    """Where a sent handover stands; only PENDING may change, once."""

    PENDING = "pending"
    # Sent when nobody else of the service was at the post: kept on record, nobody to take it over, never
    # escalated (a colleague who joins later finds it recorded, not waiting for them).
    RECORDED = "recorded"
    ACCEPTED = "accepted"
    # Taken over, with one item (or the whole) disputed: the author and the chiefs are told at once.
    CONTESTED = "contested"


class Handover(SQLModel, table=True):
    """One service's handover at one post for one shift change."""

    __tablename__ = "handovers"
    # One handover per service, post and shift change: a double tap, a redelivered update or two agents of
    # the service sending together never make two.
    __table_args__ = (
        UniqueConstraint("post_code", "service_code", "shift_change_at", name="uq_handover_shift"),
    )

    id: int | None = Field(default=None, primary_key=True)
    post_code: str = Field(foreign_key="posts.code", index=True)
    service_code: str = Field(max_length=24)
    # The shift change it is written for (UTC), and when it was sent.
    shift_change_at: datetime = Field(sa_column=utc_column(index=True))
    written_at: datetime = Field(sa_column=utc_column())
    author_member_id: int = Field(foreign_key="members.id", index=True)
    # Sent with the one "nothing to report" tap (no new item).
    nothing_to_report: bool = False
    # [{"text", "done", "carried", "since"}]: the matters passed on, as written; "done" ones are reported
    # settled and are not carried to the next handover.
    items: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The service's checklist as it was then: [{"code", "fr", "en", "done"}].
    checklist: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The post's open alerts when it was sent: [{"id", "category", "severity", "post_code", "raised_at",
    # "pending": ["POST/service"...]}].
    alerts: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    remarks: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    photo_file_id: str | None = Field(default=None, max_length=256)
    # When silence becomes the chiefs' business (the change plus the escalation delay, or later for a
    # handover written after that).
    accept_by: datetime = Field(sa_column=utc_column())
    state: str = Field(default=HandoverState.PENDING, max_length=16, index=True)
    # The incoming agent of record: the first member of the service who accepted or contested.
    taken_by_member_id: int | None = Field(default=None, foreign_key="members.id")
    taken_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    taken_remarks: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The contested item (1-based; 0: the handover as a whole) and why.
    contested_item: int | None = None
    contest_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    escalated_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class HandoverCopy(SQLModel, table=True):
    """One member's copy of a handover: a status card edited when it is taken over or escalated."""

    __tablename__ = "handover_copies"
    __table_args__ = (UniqueConstraint("handover_id", "member_id", name="uq_handover_copy"),)

    id: int | None = Field(default=None, primary_key=True)
    handover_id: int = Field(foreign_key="handovers.id", index=True)
    member_id: int = Field(foreign_key="members.id", index=True)
    card_key: str = Field(max_length=64)


def card_key(handover_id: int, member_id: int) -> str:
    """The outbox identity of one member's copy of a handover."""
    return f"ho:{handover_id}:{member_id}"


# ----- writing ----------------------------------------------------------------------------------------------


async def create_handover(session: AsyncSession, *, handover: Handover) -> Handover | None:
    """Insert a sent handover; None when the service already has one for that shift change."""
    try:
        async with session.begin_nested():
            session.add(handover)
            await session.flush()
    except IntegrityError:
        return None
    return handover


async def add_copies(session: AsyncSession, *, handover_id: int, copies: list[tuple[int, str]]) -> None:
    """Record the copies of a new handover, (member id, card key) each: one statement for the fan-out
    (nothing reads their ids back)."""
    if copies:
        await session.exec(
            insert(table_of(HandoverCopy)),
            params=[{"handover_id": handover_id, "member_id": m, "card_key": k} for m, k in copies],
        )


async def take_over(
    session: AsyncSession,
    *,
    handover_id: int,
    member_id: int,
    now: datetime,
    state: HandoverState,
    remarks: str | None = None,
    contested_item: int | None = None,
    contest_reason: str | None = None,
) -> bool:
    """Make `member_id` the incoming agent of record if nobody is yet: one conditional UPDATE, so of two
    agents pressing together exactly one wins (True for the winner)."""
    result = await session.exec(
        update(Handover)
        .where(col(Handover.id) == handover_id, col(Handover.state) == HandoverState.PENDING)
        .values(
            state=state,
            taken_by_member_id=member_id,
            taken_at=now,
            taken_remarks=remarks,
            contested_item=contested_item,
            contest_reason=contest_reason,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


async def mark_escalated(session: AsyncSession, *, handover_id: int, now: datetime) -> bool:
    """Record that a pending handover was escalated; True only the first time (and while still pending)."""
    result = await session.exec(
        update(Handover)
        .where(
            col(Handover.id) == handover_id,
            col(Handover.state) == HandoverState.PENDING,
            col(Handover.escalated_at).is_(None),
        )
        .values(escalated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


# ----- reading ----------------------------------------------------------------------------------------------


async def get_handover(session: AsyncSession, *, handover_id: int) -> Handover | None:
    """A handover by id, freshly read."""
    query = select(Handover).where(Handover.id == handover_id).execution_options(populate_existing=True)
    return (await session.exec(query)).first()


async def get_for_shift(
    session: AsyncSession, *, post_code: str, service_code: str, shift_change_at: datetime
) -> Handover | None:
    """The service's handover for one shift change at a post, if it was sent."""
    query = select(Handover).where(
        Handover.post_code == post_code,
        Handover.service_code == service_code,
        Handover.shift_change_at == shift_change_at,
    )
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def previous_handover(
    session: AsyncSession, *, post_code: str, service_code: str, before: datetime
) -> Handover | None:
    """The service's latest handover for a shift change before `before` (its open items carry over)."""
    query = (
        select(Handover)
        .where(
            Handover.post_code == post_code,
            Handover.service_code == service_code,
            col(Handover.shift_change_at) < before,
        )
        .order_by(col(Handover.shift_change_at).desc())
        .limit(1)
    )
    return (await session.exec(query)).first()


async def list_for_changes(
    session: AsyncSession, *, post_code: str, shift_changes: list[datetime]
) -> list[Handover]:
    """Every handover of a post for these shift changes."""
    if not shift_changes:
        return []
    query = select(Handover).where(
        Handover.post_code == post_code, col(Handover.shift_change_at).in_(shift_changes)
    )
    return list((await session.exec(query.order_by(col(Handover.id)))).all())


async def list_recent(
    session: AsyncSession, *, post_code: str, service_code: str, limit: int, offset: int = 0
) -> list[Handover]:
    """A service's handovers at a post, newest shift change first."""
    query = (
        select(Handover)
        .where(Handover.post_code == post_code, Handover.service_code == service_code)
        .order_by(col(Handover.shift_change_at).desc())
        .offset(offset)
        .limit(limit)
    )
    return list((await session.exec(query)).all())


async def count_recent(session: AsyncSession, *, post_code: str, service_code: str) -> int:
    """How many handovers a service wrote at a post."""
    query = select(func.count()).where(Handover.post_code == post_code, Handover.service_code == service_code)
    return int((await session.exec(query)).one())


async def list_pending(
    session: AsyncSession, *, post_code: str, shift_change_at: datetime, due_by: datetime
) -> list[Handover]:
    """Handovers of a shift change still waiting for the incoming shift, not yet escalated, due by now."""
    query = select(Handover).where(
        Handover.post_code == post_code,
        Handover.shift_change_at == shift_change_at,
        Handover.state == HandoverState.PENDING,
        col(Handover.escalated_at).is_(None),
        col(Handover.accept_by) <= due_by,
    )
    return list((await session.exec(query.order_by(col(Handover.id)))).all())


async def services_written(session: AsyncSession, *, post_code: str, shift_change_at: datetime) -> set[str]:
    """Services of a post that sent a handover for a shift change."""
    query = select(Handover.service_code).where(
        Handover.post_code == post_code, Handover.shift_change_at == shift_change_at
    )
    return set((await session.exec(query)).all())


async def list_live_copies(session: AsyncSession, *, handover_id: int) -> list[tuple[HandoverCopy, Member]]:
    """Copies of a handover held by active members (a suspended member's copy is no longer kept current)."""
    query = (
        select(HandoverCopy, Member)
        .join(Member, col(Member.id) == col(HandoverCopy.member_id))
        .where(HandoverCopy.handover_id == handover_id, Member.status == MemberStatus.ACTIVE)
        .order_by(col(HandoverCopy.id))
    )
    return [(copy, member) for copy, member in (await session.exec(query)).all()]


async def get_copy(session: AsyncSession, *, handover_id: int, member_id: int) -> HandoverCopy | None:
    """A member's copy of a handover, if they received one."""
    query = select(HandoverCopy).where(
        HandoverCopy.handover_id == handover_id, HandoverCopy.member_id == member_id
    )
    return (await session.exec(query)).first()
