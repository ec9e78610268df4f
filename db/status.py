"""What `liaison status` and the health endpoint read: the outbox, members and schedules at a glance."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.members import Member, MemberStatus
from db.outbox.model import OUTBOX, DeliveryState, FloodCount, Priority
from db.schedules import JobState, ScheduledJob

# How the delivery worker records a 429 in last_error (the text of PTB's RetryAfter).
FLOOD_ERROR_PREFIX = "Flood control exceeded"


async def queue_depth(session: AsyncSession) -> dict[str, dict[str, int]]:
    """Rows waiting (pending) and in flight (sending), per priority name, every priority present."""
    outbox = OUTBOX.c
    rows = await session.exec(
        select(outbox.priority, outbox.state, func.count())
        .where(outbox.state.in_((DeliveryState.PENDING, DeliveryState.SENDING)))
        .group_by(outbox.priority, outbox.state)
    )
    depth = {p.name.lower(): {"pending": 0, "sending": 0} for p in Priority}
    for priority, state, count in rows.all():
        name = Priority(priority).name.lower() if priority in Priority._value2member_map_ else str(priority)
        depth.setdefault(name, {"pending": 0, "sending": 0})[str(state)] = int(count)
    return depth


async def oldest_waiting(session: AsyncSession) -> datetime | None:
    """When the oldest message not yet delivered (pending or in flight) was queued."""
    outbox = OUTBOX.c
    query = select(func.min(outbox.created_at)).where(
        outbox.state.in_((DeliveryState.PENDING, DeliveryState.SENDING))
    )
    oldest: datetime | None = (await session.exec(query)).one()
    return oldest


async def oldest_overdue(session: AsyncSession, *, now: datetime) -> datetime | None:
    """The earliest due time of a pending row that is due now (how long the worker has left it waiting)."""
    outbox = OUTBOX.c
    query = select(func.min(outbox.not_before)).where(
        outbox.state == DeliveryState.PENDING, outbox.not_before <= now
    )
    due: datetime | None = (await session.exec(query)).one()
    return due


async def sent_since(session: AsyncSession, *, since: datetime) -> int:
    """Messages delivered since a moment."""
    outbox = OUTBOX.c
    query = select(func.count()).where(outbox.state == DeliveryState.SENT, outbox.sent_at >= since)
    return int((await session.exec(query)).one())


async def failed_since(session: AsyncSession, *, since: datetime) -> int:
    """Messages given up on (failed) that were queued since a moment."""
    outbox = OUTBOX.c
    query = select(func.count()).where(outbox.state == DeliveryState.FAILED, outbox.created_at >= since)
    return int((await session.exec(query)).one())


async def waiting_out_429(session: AsyncSession) -> int:
    """Pending rows whose last attempt Telegram answered with 429 (a sent row forgets its errors)."""
    outbox = OUTBOX.c
    query = select(func.count()).where(
        outbox.state == DeliveryState.PENDING, outbox.last_error.like(f"{FLOOD_ERROR_PREFIX}%")
    )
    return int((await session.exec(query)).one())


async def floods_since(session: AsyncSession, *, since: datetime) -> int:
    """Times Telegram answered 429 since a moment (to the minute; every instance's)."""
    query = select(func.coalesce(func.sum(FloodCount.answers), 0)).where(
        col(FloodCount.minute) >= int(since.timestamp() // 60)
    )
    return int((await session.exec(query)).one())


async def unreachable_members(session: AsyncSession, *, limit: int = 20) -> tuple[int, list[Member]]:
    """Active members who blocked the bot: how many, and the longest-unreachable first."""
    where = (col(Member.status) == MemberStatus.ACTIVE, col(Member.reachable).is_(False))
    total = int((await session.exec(select(func.count()).select_from(Member).where(*where))).one())
    query = select(Member).where(*where).order_by(col(Member.unreachable_since), col(Member.id)).limit(limit)
    return total, list((await session.exec(query)).all())


async def schedules_due(session: AsyncSession, *, now: datetime) -> tuple[int, datetime | None]:
    """Active schedules already due (the scheduler should be running them), and the oldest due time."""
    where = (col(ScheduledJob.state) == JobState.ACTIVE, col(ScheduledJob.next_run_at) <= now)
    row = (await session.exec(select(func.count(), func.min(ScheduledJob.next_run_at)).where(*where))).one()
    return int(row[0]), row[1]


async def next_schedule(session: AsyncSession, *, now: datetime) -> datetime | None:
    """The next schedule to fall due after now."""
    query = select(func.min(ScheduledJob.next_run_at)).where(
        col(ScheduledJob.state) == JobState.ACTIVE, col(ScheduledJob.next_run_at) > now
    )
    upcoming: datetime | None = (await session.exec(query)).one()
    return upcoming


def hour_before(now: datetime) -> datetime:
    """The start of the last hour's window."""
    return now - timedelta(hours=1)
