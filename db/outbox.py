"""The transactional outbox: every notification is a row written with the event that caused it."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, and_, bindparam, case, func, insert, or_, true, update
from sqlalchemy.orm import aliased
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import request_wake
from db.types import UTC_NOW, big_int_column, utc_column

OUTBOX_WAKE = "outbox"
# not_before of rows queued without an explicit `now`: due at once, whatever clock the worker runs on.
DUE_AT_ONCE = datetime(2000, 1, 1, tzinfo=UTC)


class Priority(IntEnum):
    """Delivery order: lower goes first."""

    URGENT = 0
    HIGH = 1
    NORMAL = 2
    BULK = 3

    @classmethod
    def parse(cls, name: str) -> Priority:
        """Priority from its config name ('urgent', 'bulk'...)."""
        return cls[name.upper()]


class DeliveryState(StrEnum):
    """Life of an outbox row."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    SUPERSEDED = "superseded"


class Notification(SQLModel, table=True):
    """One message (or edit) to deliver to one chat."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_ready", "state", "priority", "fanout_rank", "id"),
        Index("ix_outbox_lease", "state", "lease_until"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=UTC_NOW, sa_column=utc_column())
    chat_id: int = Field(sa_column=big_int_column(index=True))
    member_id: int | None = Field(default=None, foreign_key="members.id", index=True)
    # Bot API method and its parameters (without chat_id), e.g. sendMessage {"text": ..., "reply_markup": .}.
    method: str = Field(max_length=32)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    priority: int = Field(default=Priority.NORMAL)
    state: str = Field(default=DeliveryState.PENDING, max_length=16)
    attempts: int = 0
    not_before: datetime = Field(default_factory=UTC_NOW, sa_column=utc_column())
    lease_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    claimed_by: str | None = Field(default=None, max_length=64)
    last_error: str | None = Field(default=None, max_length=500)
    telegram_message_id: int | None = Field(default=None, sa_column=big_int_column(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # What the message belongs to, e.g. ("alert", 17), for visibility and for cards.
    ref_type: str | None = Field(default=None, max_length=32, index=True)
    ref_id: int | None = Field(default=None, index=True)
    # A status card's identity on one recipient's phone, e.g. "alert:17:m42": edits target the sent copy.
    card_key: str | None = Field(default=None, max_length=64, index=True)
    # Position within its fan-out (0 for a lone message). Rows go out by priority, then rank, then age: two
    # urgent alerts raised together reach their first readers together, instead of the second waiting for
    # every copy of the first.
    fanout_rank: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


def _plain(markup: Any) -> dict[str, Any]:
    """A keyboard as the JSON stored in the row (PTB objects convert themselves)."""
    return markup.to_dict() if hasattr(markup, "to_dict") else dict(markup)


def build_message(
    *,
    chat_id: int,
    text: str | None = None,
    priority: Priority = Priority.NORMAL,
    member_id: int | None = None,
    reply_markup: Any = None,
    silent: bool = False,
    photo: str | None = None,
    location: tuple[float, float] | None = None,
    ref: tuple[str, int] | None = None,
    card_key: str | None = None,
    now: datetime | None = None,
) -> Notification:
    """Build one outbox row (HTML text; a photo by file id; or a location) without touching a session."""
    payload: dict[str, Any]
    if location is not None:
        method, payload = "sendLocation", {"latitude": location[0], "longitude": location[1]}
    elif photo is not None:
        method, payload = "sendPhoto", {"photo": photo, "caption": text, "parse_mode": "HTML"}
    else:
        method, payload = (
            "sendMessage",
            {"text": text, "parse_mode": "HTML", "link_preview_options": {"is_disabled": True}},
        )
    if reply_markup is not None:
        payload["reply_markup"] = _plain(reply_markup)
    if silent:
        payload["disable_notification"] = True
    row = Notification(
        chat_id=chat_id,
        member_id=member_id,
        method=method,
        payload={k: v for k, v in payload.items() if v is not None},
        priority=int(priority),
        ref_type=ref[0] if ref else None,
        ref_id=ref[1] if ref else None,
        card_key=card_key,
    )
    row.not_before = DUE_AT_ONCE
    if now is not None:
        row.created_at = now
        row.not_before = now
    return row


async def enqueue_message(
    session: AsyncSession,
    *,
    chat_id: int,
    text: str | None = None,
    priority: Priority = Priority.NORMAL,
    member_id: int | None = None,
    reply_markup: Any = None,
    silent: bool = False,
    photo: str | None = None,
    location: tuple[float, float] | None = None,
    ref: tuple[str, int] | None = None,
    card_key: str | None = None,
    now: datetime | None = None,
) -> Notification:
    """Queue one message in the caller's transaction (a fan-out uses build_message and enqueue_many)."""
    row = build_message(
        chat_id=chat_id,
        text=text,
        priority=priority,
        member_id=member_id,
        reply_markup=reply_markup,
        silent=silent,
        photo=photo,
        location=location,
        ref=ref,
        card_key=card_key,
        now=now,
    )
    session.add(row)
    await session.flush()
    request_wake(session, OUTBOX_WAKE)
    return row


async def enqueue_many(session: AsyncSession, rows: list[Notification]) -> int:
    """Queue a fan-out built with build_message, in order, as one executemany; returns how many.

    The ORM would insert such rows one statement each on SQLite (it wants every new id back); nothing reads
    these ids, and one statement keeps a 200-copy fan-out short inside the write lock.
    """
    if not rows:
        return 0
    for rank, row in enumerate(rows):
        row.fanout_rank = rank
    columns = [c.key for c in Notification.__table__.columns if c.key != "id"]
    await session.exec(
        insert(Notification.__table__), params=[{c: getattr(r, c) for c in columns} for r in rows]
    )
    request_wake(session, OUTBOX_WAKE)
    return len(rows)


async def enqueue_card_edit(
    session: AsyncSession,
    *,
    card_key: str,
    text: str,
    reply_markup: Any = None,
    priority: Priority = Priority.BULK,
    now: datetime | None = None,
) -> Notification | None:
    """Queue an edit of a status card (None: no copy to edit); a pending edit of the card is replaced."""
    original = (
        await session.exec(
            select(Notification)
            .where(
                Notification.card_key == card_key, col(Notification.method).in_(("sendMessage", "sendPhoto"))
            )
            .order_by(col(Notification.id))
        )
    ).first()
    if original is None or original.state in (DeliveryState.FAILED, DeliveryState.UNREACHABLE):
        # Nothing on that phone to edit.
        return None
    caption = original.method == "sendPhoto"
    payload: dict[str, Any] = {"caption" if caption else "text": text, "parse_mode": "HTML"}
    if reply_markup is not None:
        payload["reply_markup"] = _plain(reply_markup)
    method = "editMessageCaption" if caption else "editMessageText"
    pending = (
        await session.exec(
            select(Notification).where(
                Notification.card_key == card_key,
                Notification.method == method,
                Notification.state == DeliveryState.PENDING,
            )
        )
    ).first()
    if pending is not None:
        pending.payload = payload
        pending.priority = min(pending.priority, int(priority))
        session.add(pending)
        await session.flush()
        request_wake(session, OUTBOX_WAKE)
        return pending
    row = Notification(
        chat_id=original.chat_id,
        member_id=original.member_id,
        method=method,
        payload=payload,
        priority=int(priority),
        ref_type=original.ref_type,
        ref_id=original.ref_id,
        card_key=card_key,
    )
    row.not_before = DUE_AT_ONCE
    if now is not None:
        row.created_at = now
        row.not_before = now
    session.add(row)
    await session.flush()
    request_wake(session, OUTBOX_WAKE)
    return row


async def enqueue_card_edits(
    session: AsyncSession,
    edits: list[tuple[str, str, Any]],
    *,
    priority: Priority = Priority.BULK,
    now: datetime | None = None,
) -> int:
    """Queue edits of many status cards at once, as enqueue_card_edit does for one: (card_key, text,
    reply_markup) each; a card's pending edit is replaced. A handful of statements whatever the number of
    cards (an event shown on 200 copies must not hold the write lock for 600 round trips). Returns how many
    cards got an edit (none for a card never sent, failed or unreachable)."""
    latest = {key: (text, markup) for key, text, markup in edits}
    if not latest:
        return 0
    keys = list(latest)
    originals: dict[str, Any] = {}
    pending: dict[tuple[str, str], int] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        # Plain columns, not ORM objects: nothing stale is left in the session's identity map.
        sent = await session.exec(
            select(
                Notification.card_key,
                Notification.method,
                Notification.state,
                Notification.chat_id,
                Notification.member_id,
                Notification.ref_type,
                Notification.ref_id,
            )
            .where(
                col(Notification.card_key).in_(chunk),
                col(Notification.method).in_(("sendMessage", "sendPhoto")),
            )
            .order_by(col(Notification.id))
        )
        for row in sent.all():
            originals.setdefault(row[0], row)
        waiting = await session.exec(
            select(Notification.card_key, Notification.method, Notification.id).where(
                col(Notification.card_key).in_(chunk),
                col(Notification.method).in_(("editMessageText", "editMessageCaption")),
                Notification.state == DeliveryState.PENDING,
            )
        )
        for card_key, method, row_id in waiting.all():
            pending[(card_key, method)] = row_id
    replaced: list[dict[str, Any]] = []
    added: list[dict[str, Any]] = []
    stamp = now or DUE_AT_ONCE
    for key, (text, markup) in latest.items():
        original = originals.get(key)
        if original is None or original[2] in (DeliveryState.FAILED, DeliveryState.UNREACHABLE):
            continue
        caption = original[1] == "sendPhoto"
        payload: dict[str, Any] = {"caption" if caption else "text": text, "parse_mode": "HTML"}
        if markup is not None:
            payload["reply_markup"] = _plain(markup)
        method = "editMessageCaption" if caption else "editMessageText"
        row_id = pending.get((key, method))
        if row_id is not None:
            replaced.append({"b_id": row_id, "b_payload": payload, "b_priority": int(priority)})
            continue
        row = Notification(
            chat_id=original[3],
            member_id=original[4],
            method=method,
            payload=payload,
            priority=int(priority),
            ref_type=original[5],
            ref_id=original[6],
            card_key=key,
        )
        row.created_at = now or row.created_at
        row.not_before = stamp
        added.append({c.key: getattr(row, c.key) for c in Notification.__table__.columns if c.key != "id"})
    table = Notification.__table__
    if replaced:
        await session.exec(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                payload=bindparam("b_payload", type_=table.c.payload.type),
                # The more urgent of the two (SQLite's min(a, b) is PostgreSQL's least(a, b)).
                priority=case(
                    (table.c.priority < bindparam("b_priority"), table.c.priority),
                    else_=bindparam("b_priority"),
                ),
            ),
            params=replaced,
        )
    if added:
        await session.exec(insert(table), params=added)
    if replaced or added:
        request_wake(session, OUTBOX_WAKE)
    return len(replaced) + len(added)


# ----- the worker's side: claim, settle, reclaim ------------------------------------------------------------

EDIT_METHODS = ("editMessageText", "editMessageCaption")
SEND_METHODS = ("sendMessage", "sendPhoto")
_SETTLED_ORIGINAL = (
    DeliveryState.SENT,
    DeliveryState.FAILED,
    DeliveryState.UNREACHABLE,
    DeliveryState.SUPERSEDED,
)
# States of a newer edit that make an older one pointless (its text would overwrite a newer one).
LIVE_EDIT_STATES = (DeliveryState.PENDING, DeliveryState.SENDING, DeliveryState.SENT)


def _ready_filter(now: datetime) -> list[Any]:
    """Rows the worker may pick up now: pending, due, and (for edits) with their original settled."""
    original = aliased(Notification)
    other_edit = aliased(Notification)
    outbox = Notification.__table__.c
    original_settled = (
        select(original.id)
        .where(
            original.card_key == outbox.card_key,
            col(original.method).in_(SEND_METHODS),
            col(original.state).in_(_SETTLED_ORIGINAL),
        )
        .exists()
    )
    # Two edits of one card never travel at the same time: the older could land after the newer.
    edit_in_flight = (
        select(other_edit.id)
        .where(
            other_edit.card_key == outbox.card_key,
            col(other_edit.method).in_(EDIT_METHODS),
            other_edit.state == DeliveryState.SENDING,
        )
        .exists()
    )
    return [
        outbox.state == DeliveryState.PENDING,
        outbox.not_before <= now,
        or_(outbox.method.not_in(EDIT_METHODS), and_(original_settled, ~edit_in_flight)),
    ]


async def select_ready(
    session: AsyncSession, *, now: datetime, limit: int, lock: bool = False
) -> list[Notification]:
    """Pending rows due now, most urgent and oldest first; `lock` skips rows another worker holds (PG)."""
    query = (
        select(Notification)
        .where(*_ready_filter(now))
        .order_by(col(Notification.priority), col(Notification.fanout_rank), col(Notification.id))
        .limit(limit)
    )
    if lock:
        query = query.with_for_update(skip_locked=True)
    return list((await session.exec(query)).all())


async def next_due(session: AsyncSession, *, now: datetime) -> datetime | None:
    """When the earliest pending row (not waiting on an unsent original) becomes due."""
    outbox = Notification.__table__.c
    filters = _ready_filter(now)
    query = select(func.min(outbox.not_before)).where(filters[0], filters[2])
    return (await session.exec(query)).one()


async def card_context(session: AsyncSession, *, card_keys: set[str]) -> list[Notification]:
    """Every row of the given cards (originals and edits), to resolve edits at claim time."""
    if not card_keys:
        return []
    query = (
        select(Notification).where(col(Notification.card_key).in_(card_keys)).order_by(col(Notification.id))
    )
    return list((await session.exec(query)).all())


async def claim_rows(
    session: AsyncSession, *, ids: list[int], claimed_by: str, lease_until: datetime
) -> None:
    """Mark rows as being sent by one worker until the lease runs out; each claim counts as an attempt."""
    if not ids:
        return
    await session.exec(
        update(Notification)
        .where(col(Notification.id).in_(ids), Notification.state == DeliveryState.PENDING)
        .values(
            state=DeliveryState.SENDING,
            claimed_by=claimed_by,
            lease_until=lease_until,
            attempts=Notification.attempts + 1,
        )
    )


async def defer_rows(session: AsyncSession, *, until: dict[int, datetime]) -> None:
    """Push pending rows back (their chat is paced out): they stop blocking the top of the queue."""
    if not until:
        return
    table = Notification.__table__
    conn = await session.connection()
    await conn.execute(
        update(table)
        .where(table.c.id == bindparam("b_row_id"), table.c.state == DeliveryState.PENDING.value)
        .values(not_before=bindparam("b_due")),
        [{"b_row_id": row_id, "b_due": due} for row_id, due in until.items()],
    )


async def settle_rows(session: AsyncSession, *, outcomes: list[dict[str, Any]]) -> None:
    """Write outcomes of sends: row_id and state, optionally message_id, sent_at, error, not_before."""
    if not outcomes:
        return
    table = Notification.__table__
    conn = await session.connection()
    columns = {
        "message_id": "telegram_message_id",
        "sent_at": "sent_at",
        "error": "last_error",
        "not_before": "not_before",
        "state": "state",
        "attempts": "attempts",
    }
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for outcome in outcomes:
        params = {
            f"b_{key}": (value.value if isinstance(value, StrEnum) else value)
            for key, value in outcome.items()
        }
        groups.setdefault(tuple(sorted(outcome)), []).append(params)
    for keys, params in groups.items():
        values: dict[str, Any] = {"lease_until": None, "claimed_by": None}
        for key in keys:
            if key in columns:
                values[columns[key]] = bindparam(f"b_{key}")
        # A row reclaimed after its lease ran out may be pending again: a late answer still settles it.
        statement = (
            update(table)
            .where(
                table.c.id == bindparam("b_row_id"),
                or_(
                    table.c.state == DeliveryState.SENDING.value, table.c.state == DeliveryState.PENDING.value
                ),
            )
            .values(**values)
        )
        await conn.execute(statement, params)


async def release_rows(session: AsyncSession, *, ids: list[int], claimed_by: str) -> None:
    """Give claimed rows that were never sent back to the queue (on stop), undoing their attempt."""
    if not ids:
        return
    await session.exec(
        update(Notification)
        .where(
            col(Notification.id).in_(ids),
            Notification.state == DeliveryState.SENDING,
            Notification.claimed_by == claimed_by,
        )
        .values(
            state=DeliveryState.PENDING,
            claimed_by=None,
            lease_until=None,
            attempts=Notification.attempts - 1,
        )
    )


async def reclaim_expired(
    session: AsyncSession, *, now: datetime, also_claimed_by: str | None = None, everything: bool = False
) -> int:
    """Return rows whose sender vanished (lease expired, our own previous life, or all) to the queue."""
    stale = and_(col(Notification.lease_until).is_not(None), col(Notification.lease_until) < now)
    if also_claimed_by is not None:
        stale = or_(stale, Notification.claimed_by == also_claimed_by)
    if everything:
        stale = true()
    result = await session.exec(
        update(Notification)
        .where(Notification.state == DeliveryState.SENDING, stale)
        .values(state=DeliveryState.PENDING, claimed_by=None, lease_until=None)
    )
    return int(result.rowcount or 0)


async def mark_chat_unreachable(session: AsyncSession, *, chat_id: int, error: str) -> list[int]:
    """Close every pending row to a chat that blocked the bot (no retry storm); returns their ids."""
    ids = list(
        (
            await session.exec(
                select(Notification.id).where(
                    Notification.chat_id == chat_id, Notification.state == DeliveryState.PENDING
                )
            )
        ).all()
    )
    if ids:
        await session.exec(
            update(Notification)
            .where(col(Notification.id).in_(ids))
            .values(state=DeliveryState.UNREACHABLE, last_error=error[:500])
        )
    return [int(i) for i in ids if i is not None]


# ----- visibility -------------------------------------------------------------------------------------------


class DeliveryTally(SQLModel):
    """How one thing (an alert, a notice...) reached people: counts of rows by state, edits left out."""

    ref_type: str
    ref_id: int
    first_at: datetime
    sent: int = 0
    pending: int = 0
    failed: int = 0
    unreachable: int = 0

    @property
    def total(self) -> int:
        """Messages queued for it."""
        return self.sent + self.pending + self.failed + self.unreachable


async def delivery_tallies(
    session: AsyncSession, *, member_ids: list[int] | None = None, limit: int = 5
) -> list[DeliveryTally]:
    """Delivery counts for the most recent referenced notifications, optionally only to some members."""
    outbox = Notification.__table__.c
    base = [
        outbox.ref_type.is_not(None),
        outbox.ref_id.is_not(None),
        outbox.method.not_in(EDIT_METHODS),
        outbox.state != DeliveryState.SUPERSEDED,
    ]
    if member_ids is not None:
        base.append(outbox.member_id.in_(member_ids))
    recent = (
        select(
            outbox.ref_type,
            outbox.ref_id,
            func.min(outbox.created_at).label("first_at"),
            func.max(outbox.id).label("last_id"),
        )
        .where(*base)
        .group_by(outbox.ref_type, outbox.ref_id)
        .order_by(func.max(outbox.id).desc())
        .limit(limit)
    )
    refs = (await session.exec(recent)).all()
    tallies: list[DeliveryTally] = []
    for ref_type, ref_id, first_at, _last in refs:
        counts = (
            await session.exec(
                select(outbox.state, func.count(outbox.id))
                .where(*base, outbox.ref_type == ref_type, outbox.ref_id == ref_id)
                .group_by(outbox.state)
            )
        ).all()
        tally = DeliveryTally(ref_type=ref_type, ref_id=ref_id, first_at=first_at)
        for state, count in counts:
            if state == DeliveryState.SENT:
                tally.sent += count
            elif state in (DeliveryState.PENDING, DeliveryState.SENDING):
                tally.pending += count
            elif state == DeliveryState.FAILED:
                tally.failed += count
            elif state == DeliveryState.UNREACHABLE:
                tally.unreachable += count
        tallies.append(tally)
    return tallies


async def renew_leases(
    session: AsyncSession, *, ids: list[int], claimed_by: str, lease_until: datetime
) -> None:
    """Extend the lease of rows this worker still holds (waiting out a long 429, say)."""
    if not ids:
        return
    await session.exec(
        update(Notification)
        .where(
            col(Notification.id).in_(ids),
            Notification.state == DeliveryState.SENDING,
            Notification.claimed_by == claimed_by,
        )
        .values(lease_until=lease_until)
    )
