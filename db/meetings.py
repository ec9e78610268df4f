"""Meetings: published minutes, their action items (with progress notes), addenda, and who got which copy."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, func, insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.types import table_of, utc_column


class ActionStatus(StrEnum):
    """Life of an action item."""

    OPEN = "open"
    DONE = "done"


class CopyKind(StrEnum):
    """What a message about a meeting was, on one member's phone (cards are edited later by kind)."""

    MINUTES = "minutes"  # the minutes themselves (a status card for the author and the chiefs)
    ITEM = "item"  # an owner's action item, with Done / Progress note
    BEFORE = "before"  # reminder the day before the due date
    DUE = "due"  # reminder on the due date
    OVERDUE = "overdue"  # overdue report to an owner
    CHIEF = "chief"  # overdue report to a chief


class Meeting(SQLModel, table=True):
    """Published minutes (a draft lives in the drafts table until it is published)."""

    __tablename__ = "meetings"

    id: int | None = Field(default=None, primary_key=True)
    # Unique: the same draft can never be published twice (double tap, redelivered update).
    client_token: str = Field(max_length=64, unique=True)
    post_code: str = Field(foreign_key="posts.code", index=True)
    # The partner post of a joint cross-border meeting: the minutes reached both posts.
    partner_post_code: str | None = Field(default=None, foreign_key="posts.code", index=True)
    author_member_id: int = Field(foreign_key="members.id", index=True)
    title: str = Field(max_length=300)
    held_at: datetime = Field(sa_column=utc_column())
    # "POST/service" pairs, snapshots taken at publication (a later config change rewrites no history).
    present: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    absent: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The author's notes as written (paragraphs separated by blank lines).
    notes: str = Field(default="", sa_column=Column(Text, nullable=False))
    decisions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    next_meeting_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    published_at: datetime = Field(sa_column=utc_column(index=True))

    @property
    def posts(self) -> list[str]:
        """The posts the minutes went to: the meeting's, and the partner's for a joint meeting."""
        return [self.post_code, *([self.partner_post_code] if self.partner_post_code else [])]


class ActionItem(SQLModel, table=True):
    """Something a service or a person agreed to do by a date."""

    __tablename__ = "action_items"
    __table_args__ = (
        UniqueConstraint("meeting_id", "position", name="uq_action_item_position"),
        Index("ix_action_items_open", "status", "post_code", "due_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    # Its number in the minutes (1, 2, 3...).
    position: int
    # The owner's post (for a joint meeting, the partner's when a partner service or person owns it).
    post_code: str = Field(foreign_key="posts.code")
    owner_service_code: str | None = Field(default=None, max_length=24)
    owner_member_id: int | None = Field(default=None, foreign_key="members.id", index=True)
    # A person owner's name as it was at publication.
    owner_name: str | None = Field(default=None, max_length=128)
    text: str = Field(sa_column=Column(Text, nullable=False))
    # A calendar day at the owner's post.
    due_on: date
    status: str = Field(default=ActionStatus.OPEN, max_length=8)
    created_at: datetime = Field(sa_column=utc_column())
    done_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    done_by_member_id: int | None = Field(default=None, foreign_key="members.id")
    overdue_reports: int = 0
    last_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_note_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    last_note_by_member_id: int | None = Field(default=None, foreign_key="members.id")


class ActionNote(SQLModel, table=True):
    """A progress note on an action item."""

    __tablename__ = "action_notes"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="action_items.id", index=True)
    member_id: int = Field(foreign_key="members.id")
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=utc_column())
    # The message that carried it: a redelivered update never adds it twice.
    client_token: str = Field(max_length=64, unique=True)


class MeetingAddendum(SQLModel, table=True):
    """A correction to published minutes, sent as an addendum (the minutes themselves never change)."""

    __tablename__ = "meeting_addenda"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    author_member_id: int = Field(foreign_key="members.id")
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=utc_column())
    client_token: str = Field(max_length=64, unique=True)


class MeetingCopy(SQLModel, table=True):
    """One message about a meeting on one member's phone: who read the minutes, and the cards to edit."""

    __tablename__ = "meeting_copies"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    item_id: int | None = Field(default=None, foreign_key="action_items.id", index=True)
    member_id: int = Field(foreign_key="members.id", index=True)
    # The post the member read it for (their own: times in its zone).
    post_code: str = Field(max_length=24)
    kind: str = Field(max_length=16)
    # The outbox card this copy is, when it is edited later ("mt:12:m4", "mt:a7:m4:due").
    card_key: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = Field(sa_column=utc_column())


# ----- meetings ---------------------------------------------------------------------------------------------


async def get_meeting(session: AsyncSession, *, meeting_id: int) -> Meeting | None:
    """The meeting with this id."""
    return await session.get(Meeting, meeting_id)


async def get_meeting_by_token(session: AsyncSession, *, client_token: str) -> Meeting | None:
    """The meeting a draft (or a request) published, if any."""
    return (await session.exec(select(Meeting).where(Meeting.client_token == client_token))).first()


async def create_meeting(session: AsyncSession, *, meeting: Meeting) -> Meeting | None:
    """Insert minutes; None when the same token won a race (PostgreSQL)."""
    try:
        async with session.begin_nested():
            session.add(meeting)
            await session.flush()
    except IntegrityError:
        return None
    return meeting


async def add_items(session: AsyncSession, *, items: list[ActionItem]) -> list[ActionItem]:
    """Insert a new meeting's action items (ids filled)."""
    session.add_all(items)
    await session.flush()
    return items


async def add_copies(session: AsyncSession, *, copies: list[dict[str, Any]]) -> None:
    """Record who received what, as one executemany for a whole fan-out (meeting_id, item_id, member_id,
    post_code, kind, card_key, created_at); nothing reads their ids back."""
    if copies:
        rows = [{"item_id": None, "card_key": None, **copy} for copy in copies]
        await session.exec(insert(table_of(MeetingCopy)), params=rows)


async def list_copies(
    session: AsyncSession,
    *,
    meeting_id: int,
    kinds: Iterable[str] | None = None,
    item_id: int | None = None,
    cards_only: bool = False,
) -> list[MeetingCopy]:
    """Copies of a meeting (or of one of its items), oldest first."""
    query = select(MeetingCopy).where(MeetingCopy.meeting_id == meeting_id).order_by(col(MeetingCopy.id))
    if kinds is not None:
        query = query.where(col(MeetingCopy.kind).in_(list(kinds)))
    if item_id is not None:
        query = query.where(MeetingCopy.item_id == item_id)
    if cards_only:
        query = query.where(col(MeetingCopy.card_key).is_not(None))
    return list((await session.exec(query)).all())


async def is_reader(session: AsyncSession, *, meeting_id: int, member_id: int) -> bool:
    """Whether the member received these minutes."""
    query = select(MeetingCopy.id).where(
        MeetingCopy.meeting_id == meeting_id,
        MeetingCopy.member_id == member_id,
        MeetingCopy.kind == CopyKind.MINUTES,
    )
    return (await session.exec(query.limit(1))).first() is not None


# ----- action items -----------------------------------------------------------------------------------------


async def get_item(session: AsyncSession, *, item_id: int) -> ActionItem | None:
    """The action item with this id, as the database holds it now."""
    query = select(ActionItem).where(ActionItem.id == item_id).execution_options(populate_existing=True)
    return (await session.exec(query)).first()


async def list_items(session: AsyncSession, *, meeting_id: int) -> list[ActionItem]:
    """A meeting's action items in their order."""
    query = (
        select(ActionItem)
        .where(ActionItem.meeting_id == meeting_id)
        .order_by(col(ActionItem.position))
        .execution_options(populate_existing=True)
    )
    return list((await session.exec(query)).all())


async def mark_done(session: AsyncSession, *, item_id: int, member_id: int, now: datetime) -> bool:
    """Close an open item (one conditional UPDATE: of two presses, only one wins); True for the winner."""
    result = await session.exec(
        update(ActionItem)
        .where(col(ActionItem.id) == item_id, col(ActionItem.status) == ActionStatus.OPEN)
        .values(status=ActionStatus.DONE, done_at=now, done_by_member_id=member_id)
    )
    return bool(result.rowcount)


async def count_overdue_report(session: AsyncSession, *, item_id: int) -> int | None:
    """Count one more overdue report of an item still open; its number, or None when it is no longer open."""
    result = await session.exec(
        update(ActionItem)
        .where(col(ActionItem.id) == item_id, col(ActionItem.status) == ActionStatus.OPEN)
        .values(overdue_reports=col(ActionItem.overdue_reports) + 1)
        .returning(col(ActionItem.overdue_reports))
    )
    row = result.first()
    return None if row is None else int(row[0])


async def add_note(session: AsyncSession, *, note: ActionNote) -> ActionNote | None:
    """Record a progress note and show it as the item's latest; None when this message was already taken."""
    try:
        async with session.begin_nested():
            session.add(note)
            await session.flush()
    except IntegrityError:
        return None
    await session.exec(
        update(ActionItem)
        .where(col(ActionItem.id) == note.item_id)
        .values(last_note=note.text, last_note_at=note.created_at, last_note_by_member_id=note.member_id)
    )
    return note


async def list_notes(session: AsyncSession, *, item_id: int) -> list[ActionNote]:
    """An item's progress notes, oldest first."""
    query = select(ActionNote).where(ActionNote.item_id == item_id).order_by(col(ActionNote.id))
    return list((await session.exec(query)).all())


async def list_open_items(
    session: AsyncSession,
    *,
    post_code: str | None = None,
    member_id: int | None = None,
    service: tuple[str, str] | None = None,
    limit: int = 500,
) -> list[tuple[ActionItem, Meeting]]:
    """Open items with their meetings, earliest due first: a post's (or every post's when no filter is
    given), or those owned by a member or by a (post, service)."""
    query = (
        select(ActionItem, Meeting)
        .join(Meeting, col(Meeting.id) == col(ActionItem.meeting_id))
        .where(ActionItem.status == ActionStatus.OPEN)
        .order_by(col(ActionItem.due_on), col(ActionItem.id))
        .limit(limit)
    )
    if post_code is not None:
        query = query.where(ActionItem.post_code == post_code)
    owners: list[Any] = []
    if member_id is not None:
        owners.append(col(ActionItem.owner_member_id) == member_id)
    if service is not None:
        owners.append(
            (col(ActionItem.post_code) == service[0])
            & (col(ActionItem.owner_service_code) == service[1])
            & col(ActionItem.owner_member_id).is_(None)
        )
    if owners:
        query = query.where(or_(*owners))
    return [(item, meeting) for item, meeting in (await session.exec(query)).all()]


async def item_counts(session: AsyncSession, *, meeting_id: int) -> dict[str, int]:
    """How many of a meeting's items are open and done."""
    rows = await session.exec(
        select(ActionItem.status, func.count(col(ActionItem.id)))
        .where(ActionItem.meeting_id == meeting_id)
        .group_by(col(ActionItem.status))
    )
    counts = {ActionStatus.OPEN.value: 0, ActionStatus.DONE.value: 0}
    counts.update({status: int(n) for status, n in rows.all()})
    return counts


# ----- addenda ----------------------------------------------------------------------------------------------


async def add_addendum(session: AsyncSession, *, addendum: MeetingAddendum) -> MeetingAddendum | None:
    """Record a correction; None when the same request already recorded it."""
    try:
        async with session.begin_nested():
            session.add(addendum)
            await session.flush()
    except IntegrityError:
        return None
    return addendum


async def get_addendum_by_token(session: AsyncSession, *, client_token: str) -> MeetingAddendum | None:
    """The correction a request recorded, if any."""
    query = select(MeetingAddendum).where(MeetingAddendum.client_token == client_token)
    return (await session.exec(query)).first()


async def list_addenda(session: AsyncSession, *, meeting_id: int) -> list[MeetingAddendum]:
    """A meeting's corrections, oldest first."""
    query = (
        select(MeetingAddendum)
        .where(MeetingAddendum.meeting_id == meeting_id)
        .order_by(col(MeetingAddendum.id))
    )
    return list((await session.exec(query)).all())
