"""Notices: what a chief or a coordinator broadcast, each reader's copy, and who confirmed reading it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Index,
    Text,
    UniqueConstraint,
    cast,
    func,
    or_,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.in_lists import padded
from db.members import Member, MemberStatus
from db.outbox import DeliveryState, Notification
from db.schedules import ScheduledJob
from db.types import dialect_insert, table_of, utc_column

# Outbox rows of notices carry this ref_type (and the notice id).
REF_TYPE = "notice"


class Notice(SQLModel, table=True):
    """A broadcast notice. Its content never changes once sent; its life does (reminders, expiry)."""

    __tablename__ = "notices"

    id: int | None = Field(default=None, primary_key=True)
    # Unique: one draft (or one repeated press of Send) can never become two notices.
    client_token: str = Field(max_length=64, unique=True)
    author_member_id: int = Field(foreign_key="members.id", index=True)
    author_role: str = Field(max_length=16)
    author_service_code: str | None = Field(default=None, max_length=24)
    # Snapshots taken when sent: the posts it went to and who there ({"kind": "everyone" | "services" |
    # "chiefs", "services": [...]}), so a later config change does not rewrite who it was for.
    posts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The language the author wrote in, and the text by language (a second version is optional).
    language: str = Field(max_length=5)
    texts: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # A photo or a document relayed by Telegram file id (never downloaded).
    attachment_kind: str | None = Field(default=None, max_length=16)
    attachment_file_id: str | None = Field(default=None, max_length=256)
    attachment_name: str | None = Field(default=None, max_length=256)
    # Important: with sound, ahead of routine traffic, pinned in each reader's chat while valid.
    important: bool = False
    sent_at: datetime = Field(sa_column=utc_column(index=True))
    expires_at: datetime = Field(sa_column=utc_column(index=True))
    # Set once by the expiry run (unpinning, the last count); None while in force.
    expired_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # The last reminder to the non-readers (by hand or automatic), for the minimum interval between two.
    reminded_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    reminders: int = 0
    auto_reminded: bool = False

    def text_for(self, language: str) -> str:
        """The version a reader of `language` gets (the author's own when there is no such version)."""
        return self.texts.get(language) or self.texts.get(self.language) or ""

    @property
    def bilingual(self) -> bool:
        """Whether readers of each language get their own version."""
        return len([t for t in self.texts.values() if t]) > 1


class NoticeRecipient(SQLModel, table=True):
    """One reader's copy of a notice and their confirmation."""

    __tablename__ = "notice_recipients"
    __table_args__ = (
        UniqueConstraint("notice_id", "member_id", name="uq_notice_recipient"),
        Index("ix_notice_recipients_member", "member_id", "seen_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notices.id", index=True)
    member_id: int = Field(foreign_key="members.id")
    # Where and in which service they read it, as when it reached them.
    post_code: str = Field(max_length=24)
    service_code: str | None = Field(default=None, max_length=24)
    language: str = Field(max_length=5)
    # The outbox identity of their copy (edits show "Seen 09:42" on it; pins target it).
    card_key: str = Field(max_length=64)
    notified_at: datetime = Field(sa_column=utc_column())
    seen_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # Reminders that reached them before they confirmed (each is a message with its own Seen button).
    reminders: int = 0


def copy_key(notice_id: int, member_id: int, resend: int = 0) -> str:
    """The outbox identity of a reader's copy (a copy sent again after a block gets a new one)."""
    return f"nt:{notice_id}:{member_id}" + (f":{resend}" if resend else "")


def reminder_key(notice_id: int, member_id: int, number: int) -> str:
    """The outbox identity of the n-th reminder a reader received."""
    return f"nt:{notice_id}:{member_id}:r{number}"


def sender_card_key(notice_id: int) -> str:
    """The outbox identity of the sender's live card."""
    return f"nt:{notice_id}:card"


_insert = dialect_insert


# ----- notices ----------------------------------------------------------------------------------------------


async def create_notice(session: AsyncSession, *, notice: Notice) -> Notice | None:
    """Insert a notice; None when its client token was already used (a repeated press)."""
    try:
        async with session.begin_nested():
            session.add(notice)
            await session.flush()
    except IntegrityError:
        return None
    return notice


async def get_notice(session: AsyncSession, *, notice_id: int, lock: bool = False) -> Notice | None:
    """A notice; `lock` serialises its life changes on PostgreSQL (SQLite already does)."""
    query = select(Notice).where(Notice.id == notice_id)
    if lock:
        query = query.with_for_update()
    return (await session.exec(query.execution_options(populate_existing=True))).first()


# PostgreSQL advisory locks of notices live in their own namespace ("NTCE").
_LOCK_CLASS = 0x4E544345


async def hold_notice(session: AsyncSession, *, notice_id: int, exclusive: bool = False) -> None:
    """Hold a notice for this transaction: shared by confirmations while they commit, exclusive for the
    redraw of its card, which so waits for the confirmations in flight and counts them (none is left off).

    PostgreSQL: an advisory transaction lock (no write to the notice row, however many hold it). SQLite needs
    no statement: its writers take turns (BEGIN IMMEDIATE), which gives the same guarantee.
    """
    if session.get_bind().dialect.name == "sqlite":
        return
    function = func.pg_advisory_xact_lock if exclusive else func.pg_advisory_xact_lock_shared
    await session.exec(select(function(_LOCK_CLASS, notice_id)))


async def get_notice_by_token(session: AsyncSession, *, client_token: str) -> Notice | None:
    """The notice sent from this client token, if any."""
    return (await session.exec(select(Notice).where(Notice.client_token == client_token))).first()


def in_force(now: datetime) -> list[Any]:
    """Conditions of a notice still in force at `now`."""
    return [col(Notice.expired_at).is_(None), col(Notice.expires_at) > now]


def _sent_to_post(post_code: str) -> Any:
    # `posts` is a JSON list of post codes ([A-Z0-9_-]): its text holds the quoted code exactly.
    return cast(Notice.posts, Text).contains(f'"{post_code}"', autoescape=True)


async def list_in_force_for_post(session: AsyncSession, *, post_code: str, now: datetime) -> list[Notice]:
    """Notices in force that went to a post, oldest first (a newcomer receives them in order)."""
    query = select(Notice).where(*in_force(now), _sent_to_post(post_code)).order_by(col(Notice.id))
    return list((await session.exec(query)).all())


async def list_followable(
    session: AsyncSession,
    *,
    member_id: int,
    post_code: str | None,
    every_post: bool,
    now: datetime,
    limit: int,
) -> list[Notice]:
    """Notices in force a member may follow, newest first: theirs, their post's, or (every_post) all."""
    query = select(Notice).where(*in_force(now)).order_by(col(Notice.id).desc()).limit(limit)
    if not every_post:
        conditions: list[ColumnElement[bool]] = [col(Notice.author_member_id) == member_id]
        if post_code:
            conditions.append(_sent_to_post(post_code))
        query = query.where(or_(*conditions))
    return list((await session.exec(query)).all())


async def claim_reminder(
    session: AsyncSession, *, notice_id: int, now: datetime, last_before: datetime, automatic: bool
) -> bool:
    """Take the right to remind the non-readers now: in force, and no reminder since `last_before` (and, for
    the automatic one, none automatic yet). One conditional UPDATE: of two presses, one wins."""
    conditions = [
        col(Notice.id) == notice_id,
        *in_force(now),
        or_(col(Notice.reminded_at).is_(None), col(Notice.reminded_at) <= last_before),
    ]
    values: dict[str, Any] = {"reminded_at": now, "reminders": Notice.reminders + 1}
    if automatic:
        conditions.append(col(Notice.auto_reminded).is_(False))
        values["auto_reminded"] = True
    result = await session.exec(update(Notice).where(*conditions).values(**values))
    return bool(result.rowcount)


async def list_overdue_ids(session: AsyncSession, *, now: datetime) -> list[int]:
    """Ids of notices whose expiry time has passed but whose expiry was never recorded, oldest first."""
    query = (
        select(Notice.id)
        .where(col(Notice.expired_at).is_(None), col(Notice.expires_at) <= now)
        .order_by(col(Notice.id))
    )
    return [notice_id for notice_id in (await session.exec(query)).all() if notice_id is not None]


async def mark_expired(session: AsyncSession, *, notice_id: int, now: datetime) -> bool:
    """Record the expiry once; True for the run that did it."""
    result = await session.exec(
        update(Notice)
        .where(col(Notice.id) == notice_id, col(Notice.expired_at).is_(None), col(Notice.expires_at) <= now)
        .values(expired_at=now)
    )
    return bool(result.rowcount)


# ----- recipients -------------------------------------------------------------------------------------------


async def add_recipients(session: AsyncSession, *, rows: list[dict[str, Any]]) -> int:
    """Insert copies in one statement per chunk, skipping members who already have one; returns how many."""
    inserted = 0
    # Chunks keep each statement under SQLite's limit on bound parameters.
    for start in range(0, len(rows), 2000):
        statement = (
            _insert(session)(table_of(NoticeRecipient))
            .values(rows[start : start + 2000])
            .on_conflict_do_nothing(index_elements=["notice_id", "member_id"])
        )
        result = await session.exec(statement)
        inserted += int(result.rowcount or 0)
    return inserted


async def get_recipient(session: AsyncSession, *, notice_id: int, member_id: int) -> NoticeRecipient | None:
    """A member's copy of a notice, if they received one."""
    query = select(NoticeRecipient).where(
        NoticeRecipient.notice_id == notice_id, NoticeRecipient.member_id == member_id
    )
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def mark_seen(
    session: AsyncSession, *, pairs: list[tuple[int, int]], now: datetime
) -> dict[tuple[int, int], NoticeRecipient]:
    """Record readers' confirmations, (notice, member) each: one conditional UPDATE for all of them; the
    copies confirmed by this call (a copy confirmed before is left as it was, and not returned)."""
    if not pairs:
        return {}
    table = table_of(NoticeRecipient)
    result = await session.exec(
        update(table)
        .where(
            tuple_(table.c.notice_id, table.c.member_id).in_(padded(pairs)),
            table.c.seen_at.is_(None),
        )
        .values(seen_at=now)
        .returning(table)
    )
    confirmed = {}
    for row in result.mappings().all():
        recipient = NoticeRecipient(**row)  # read back as stored: no validation to pay per press
        confirmed[(recipient.notice_id, recipient.member_id)] = recipient
    return confirmed


async def get_recipients(
    session: AsyncSession, *, pairs: list[tuple[int, int]]
) -> dict[tuple[int, int], NoticeRecipient]:
    """The copies of these (notice, member) pairs that exist."""
    if not pairs:
        return {}
    query = select(NoticeRecipient).where(
        tuple_(col(NoticeRecipient.notice_id), col(NoticeRecipient.member_id)).in_(padded(pairs))
    )
    rows = (await session.exec(query.execution_options(populate_existing=True))).all()
    return {(r.notice_id, r.member_id): r for r in rows}


async def seen_counts(session: AsyncSession, *, notice_id: int) -> list[tuple[str, str | None, int, int]]:
    """(post, service, copies, confirmed) of a notice's copies held by active members."""
    query = (
        select(
            NoticeRecipient.post_code,
            NoticeRecipient.service_code,
            func.count(),
            func.count(col(NoticeRecipient.seen_at)),
        )
        .join(Member, col(Member.id) == col(NoticeRecipient.member_id))
        # Someone suspended or removed since no longer counts: the card is about who can still read it.
        .where(NoticeRecipient.notice_id == notice_id, Member.status == MemberStatus.ACTIVE)
        .group_by(col(NoticeRecipient.post_code), col(NoticeRecipient.service_code))
    )
    return [(p, s, int(n), int(seen)) for p, s, n, seen in (await session.exec(query)).all()]


async def list_unseen(session: AsyncSession, *, notice_id: int) -> list[tuple[NoticeRecipient, Member]]:
    """Copies not yet confirmed by active members, by post, service and name."""
    query = (
        select(NoticeRecipient, Member)
        .join(Member, col(Member.id) == col(NoticeRecipient.member_id))
        .where(
            NoticeRecipient.notice_id == notice_id,
            col(NoticeRecipient.seen_at).is_(None),
            Member.status == MemberStatus.ACTIVE,
        )
        .order_by(col(NoticeRecipient.post_code), col(NoticeRecipient.service_code), col(Member.display_name))
    )
    return [(recipient, member) for recipient, member in (await session.exec(query)).all()]


async def count_reminded(session: AsyncSession, *, notice_id: int, member_ids: list[int]) -> None:
    """Count one more reminder on each of these copies (their reminder's outbox identity follows it)."""
    for start in range(0, len(member_ids), 500):
        await session.exec(
            update(NoticeRecipient)
            .where(
                col(NoticeRecipient.notice_id) == notice_id,
                col(NoticeRecipient.member_id).in_(padded(member_ids[start : start + 500])),
            )
            .values(reminders=NoticeRecipient.reminders + 1)
        )


async def set_card_key(session: AsyncSession, *, recipient_id: int, card_key: str, now: datetime) -> None:
    """Point a copy at a new outbox message (sent again to someone who had blocked the bot)."""
    await session.exec(
        update(NoticeRecipient)
        .where(col(NoticeRecipient.id) == recipient_id)
        .values(card_key=card_key, notified_at=now)
    )


async def list_member_notices(
    session: AsyncSession, *, member_id: int, now: datetime, limit: int
) -> list[tuple[Notice, NoticeRecipient]]:
    """The notices in force a member received: unread first, then newest first."""
    query = (
        select(Notice, NoticeRecipient)
        .join(NoticeRecipient, col(NoticeRecipient.notice_id) == col(Notice.id))
        .where(NoticeRecipient.member_id == member_id, *in_force(now))
        .order_by(col(NoticeRecipient.seen_at).is_not(None), col(Notice.id).desc())
        .limit(limit)
    )
    return [(notice, recipient) for notice, recipient in (await session.exec(query)).all()]


async def count_member_unread(session: AsyncSession, *, member_id: int, now: datetime) -> tuple[int, int]:
    """(notices in force a member received, of which unread)."""
    query = (
        select(func.count(), func.count(col(NoticeRecipient.seen_at)))
        .select_from(NoticeRecipient)
        .join(Notice, col(Notice.id) == col(NoticeRecipient.notice_id))
        .where(NoticeRecipient.member_id == member_id, *in_force(now))
    )
    total, seen = (await session.exec(query)).one()
    return int(total), int(total) - int(seen)


async def list_unseen_copies_of(
    session: AsyncSession, *, member_id: int, now: datetime
) -> list[tuple[Notice, NoticeRecipient]]:
    """A member's unread copies of notices in force, oldest first."""
    query = (
        select(Notice, NoticeRecipient)
        .join(NoticeRecipient, col(NoticeRecipient.notice_id) == col(Notice.id))
        .where(NoticeRecipient.member_id == member_id, col(NoticeRecipient.seen_at).is_(None), *in_force(now))
        .order_by(col(Notice.id))
    )
    return [(notice, recipient) for notice, recipient in (await session.exec(query)).all()]


async def list_copies(session: AsyncSession, *, notice_id: int) -> list[tuple[NoticeRecipient, Member]]:
    """Every copy of a notice with its member (for pinning and unpinning)."""
    query = (
        select(NoticeRecipient, Member)
        .join(Member, col(Member.id) == col(NoticeRecipient.member_id))
        .where(NoticeRecipient.notice_id == notice_id)
        .order_by(col(NoticeRecipient.id))
    )
    return [(recipient, member) for recipient, member in (await session.exec(query)).all()]


async def job_exists(session: AsyncSession, *, key: str) -> bool:
    """Whether a schedule row with this key exists (a cheap look before an insert that would wake the
    scheduler for nothing)."""
    return (await session.exec(select(ScheduledJob.id).where(ScheduledJob.key == key))).first() is not None


async def last_card_row(
    session: AsyncSession, *, card_key: str
) -> tuple[dict[str, Any], str, datetime | None, datetime] | None:
    """A status card's newest live message or edit: its payload (what the card shows or is about to), its
    state, when it was sent and when it is due."""
    query = (
        select(Notification.payload, Notification.state, Notification.sent_at, Notification.not_before)
        .where(
            Notification.card_key == card_key,
            col(Notification.state).in_((DeliveryState.PENDING, DeliveryState.SENDING, DeliveryState.SENT)),
        )
        .order_by(col(Notification.id).desc())
        .limit(1)
    )
    row = (await session.exec(query)).first()
    if row is None:
        return None
    payload, state, sent_at, not_before = row
    return dict(payload), str(state), sent_at, not_before


# ----- delivery ---------------------------------------------------------------------------------------------


async def copy_state(session: AsyncSession, *, card_key: str) -> str | None:
    """The delivery state of a copy's message (None when there is none)."""
    query = (
        select(Notification.state)
        .where(Notification.card_key == card_key, col(Notification.method).not_like("edit%"))
        .order_by(col(Notification.id))
        .limit(1)
    )
    return (await session.exec(query)).first()


async def delivery_counts(session: AsyncSession, *, notice_id: int) -> dict[str, dict[str, Any]]:
    """By post, how the copies reached people: counts by state and the last send (edits, pins and reminders
    left out)."""
    rows = await session.exec(
        select(NoticeRecipient.post_code, Notification.state, func.count(), func.max(Notification.sent_at))
        .join(Notification, col(Notification.card_key) == col(NoticeRecipient.card_key))
        .where(
            NoticeRecipient.notice_id == notice_id,
            Notification.ref_type == REF_TYPE,
            Notification.ref_id == notice_id,
            col(Notification.method).like("send%"),
        )
        .group_by(NoticeRecipient.post_code, Notification.state)
    )
    counts: dict[str, dict[str, Any]] = {}
    for post_code, state, count, last in rows.all():
        entry = counts.setdefault(
            post_code, {"sent": 0, "pending": 0, "failed": 0, "unreachable": 0, "last_sent_at": None}
        )
        key = {"sent": "sent", "failed": "failed", "unreachable": "unreachable"}.get(str(state), "pending")
        entry[key] += count
        if state == DeliveryState.SENT and last is not None:
            entry["last_sent_at"] = (
                last if entry["last_sent_at"] is None else max(entry["last_sent_at"], last)
            )
    return counts
