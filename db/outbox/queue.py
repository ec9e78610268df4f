"""What the delivery worker calls: pick ready rows, claim them, push them back, settle them, reclaim them."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Update, and_, bindparam, delete, func, or_, true, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.in_lists import padded
from db.outbox.model import (
    CARD_ACTIONS,
    EDIT_METHODS,
    ERROR_MAX,
    OUTBOX,
    SEND_METHODS,
    DeliveryInstance,
    DeliveryState,
    FloodCount,
    Notification,
)
from db.types import dialect_insert, table_of

_SETTLED_ORIGINAL = (
    DeliveryState.SENT,
    DeliveryState.FAILED,
    DeliveryState.UNREACHABLE,
    DeliveryState.SUPERSEDED,
)
# States of a newer edit that make an older one pointless (its text would overwrite a newer one).
LIVE_EDIT_STATES = (DeliveryState.PENDING, DeliveryState.SENDING, DeliveryState.SENT)


@dataclass(frozen=True, slots=True)
class Settlement:
    """What became of one claimed row.

    `state` and `error` are always written (a row sent at last forgets the error of an earlier attempt);
    `sent_at` goes with `message_id` (a sent row records the id Telegram gave, or none); `not_before` and
    `attempts` are written only when given.
    """

    row_id: int
    state: DeliveryState
    message_id: int | None = None
    sent_at: datetime | None = None
    error: str | None = None
    not_before: datetime | None = None
    attempts: int | None = None

    def __post_init__(self) -> None:
        if self.state == DeliveryState.SENT and self.sent_at is None:
            raise ValueError("a sent row records when it was sent")

    @property
    def shape(self) -> tuple[bool, bool, bool]:
        """Which optional columns it writes: settlements of one shape share one statement."""
        return (self.sent_at is not None, self.not_before is not None, self.attempts is not None)


# The claim queries are built once, with the moment and the batch size as bound parameters: building their
# correlated subqueries anew cost more CPU than running them (several milliseconds a claim).
NOW, LIMIT, PART, PARTS = "ready_now", "ready_limit", "ready_part", "ready_parts"


def _ready_filter() -> list[ColumnElement[bool]]:
    """Rows the worker may pick up now: pending, due, and (for edits and pins) with their original settled."""
    now = bindparam(NOW, type_=OUTBOX.c.not_before.type)
    original = aliased(Notification)
    other_edit = aliased(Notification)
    outbox = OUTBOX.c
    original_settled = (
        select(col(original.id))
        .where(
            col(original.card_key) == outbox.card_key,
            col(original.method).in_(SEND_METHODS),
            col(original.state).in_(_SETTLED_ORIGINAL),
        )
        .exists()
    )
    # Two edits of one card never travel at the same time: the older could land after the newer.
    edit_in_flight = (
        select(col(other_edit.id))
        .where(
            col(other_edit.card_key) == outbox.card_key,
            col(other_edit.method).in_(EDIT_METHODS),
            col(other_edit.state) == DeliveryState.SENDING,
        )
        .exists()
    )
    return [
        outbox.state == DeliveryState.PENDING,
        outbox.not_before <= now,
        or_(
            outbox.method.not_in(CARD_ACTIONS),
            and_(original_settled, or_(outbox.method.not_in(EDIT_METHODS), ~edit_in_flight)),
        ),
    ]


@functools.cache
def _ready_query(lock: bool, partitioned: bool = False) -> Any:
    conditions = _ready_filter()
    if partitioned:
        # This instance's share of the chats: each chat is served by one instance at a time.
        conditions.append(func.abs(OUTBOX.c.chat_id) % bindparam(PARTS) == bindparam(PART))
    # Plain rows, not ORM objects: the worker reads them once to build its jobs, and an ORM object per row
    # (identity map, instance state) was most of a claim's cost in a burst. Only the columns a job needs:
    # the others' values (four date-times each) were parsed for every row and never read.
    outbox = OUTBOX.c
    query = (
        sa_select(
            outbox.id,
            outbox.chat_id,
            outbox.member_id,
            outbox.method,
            outbox.payload,
            outbox.priority,
            outbox.attempts,
            outbox.card_key,
            outbox.fanout_rank,
        )
        .where(*conditions)
        .order_by(OUTBOX.c.priority, OUTBOX.c.fanout_rank, OUTBOX.c.id)
        .limit(bindparam(LIMIT))
    )
    return query.with_for_update(skip_locked=True) if lock else query


@functools.cache
def _next_due_query() -> Any:
    pending, _due, sendable = _ready_filter()
    return select(func.min(OUTBOX.c.not_before)).where(pending, sendable)


async def select_ready(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    lock: bool = False,
    partition: tuple[int, int] | None = None,
) -> list[Row[Any]]:
    """Pending rows due now, most urgent and oldest first; `lock` skips rows another worker holds (PG);
    `partition` (index, count) keeps to the chats whose |chat_id| % count is index."""
    params: dict[str, Any] = {NOW: now, LIMIT: limit}
    if partition is not None:
        params.update({PART: partition[0], PARTS: partition[1]})
    rows = await session.exec(_ready_query(lock, partition is not None), params=params)
    return list(rows.all())


async def next_due(session: AsyncSession, *, now: datetime) -> datetime | None:
    """When the earliest pending row (not waiting on an unsent original) becomes due."""
    due: datetime | None = (await session.exec(_next_due_query(), params={NOW: now})).one()
    return due


async def card_context(session: AsyncSession, *, card_keys: set[str]) -> list[Row[Any]]:
    """Every row of the given cards (originals and edits), to resolve edits at claim time: what resolving
    reads of them (not their payloads)."""
    if not card_keys:
        return []
    return list((await session.exec(_card_query(), params={"b_card_keys": padded(card_keys)})).all())


async def newest_pending_edits(session: AsyncSession, *, card_keys: set[str]) -> dict[str, int]:
    """The id of the newest edit waiting (not claimed) for each of these cards that has one."""
    if not card_keys:
        return {}
    rows = await session.exec(_newest_edits_query(), params={"b_card_keys": padded(card_keys)})
    return {card_key: int(row_id) for card_key, row_id in rows.all()}


@functools.cache
def _newest_edits_query() -> Any:
    return (
        sa_select(OUTBOX.c.card_key, func.max(OUTBOX.c.id))
        .where(
            OUTBOX.c.card_key.in_(bindparam("b_card_keys", expanding=True)),
            OUTBOX.c.state == DeliveryState.PENDING.value,
            OUTBOX.c.method.in_(EDIT_METHODS),
        )
        .group_by(OUTBOX.c.card_key)
    )


@functools.cache
def _card_query() -> Any:
    return (
        sa_select(
            OUTBOX.c.id, OUTBOX.c.card_key, OUTBOX.c.method, OUTBOX.c.state, OUTBOX.c.telegram_message_id
        )
        .where(OUTBOX.c.card_key.in_(bindparam("b_card_keys", expanding=True)))
        .order_by(OUTBOX.c.id)
    )


async def claim_rows(
    session: AsyncSession, *, ids: list[int], claimed_by: str, lease_until: datetime
) -> None:
    """Mark rows as being sent by one worker until the lease runs out; each claim counts as an attempt."""
    if not ids:
        return
    await session.exec(
        update(Notification)
        .where(col(Notification.id).in_(padded(ids)), col(Notification.state) == DeliveryState.PENDING)
        .values(
            state=DeliveryState.SENDING,
            claimed_by=claimed_by,
            lease_until=lease_until,
            attempts=col(Notification.attempts) + 1,
        )
        # The caller built its jobs from the rows already: matching the UPDATE against every object in the
        # session (the ORM's default) was paid on each claim for nothing.
        .execution_options(synchronize_session=False)
    )


async def defer_rows(session: AsyncSession, *, until: dict[int, datetime]) -> None:
    """Push pending rows back (their chat is paced out): they stop blocking the top of the queue."""
    if not until:
        return
    conn = await session.connection()
    await conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == bindparam("b_row_id"), OUTBOX.c.state == DeliveryState.PENDING.value)
        .values(not_before=bindparam("b_due")),
        [{"b_row_id": row_id, "b_due": due} for row_id, due in until.items()],
    )


def _settlement_params(settlement: Settlement) -> dict[str, Any]:
    """One settlement's bound parameters (every column of its shape)."""
    params: dict[str, Any] = {
        "b_row_id": settlement.row_id,
        "b_state": settlement.state.value,
        "b_error": settlement.error[:ERROR_MAX] if settlement.error is not None else None,
    }
    if settlement.sent_at is not None:
        params["b_sent_at"] = settlement.sent_at
        params["b_message_id"] = settlement.message_id
    if settlement.not_before is not None:
        params["b_not_before"] = settlement.not_before
    if settlement.attempts is not None:
        params["b_attempts"] = settlement.attempts
    return params


def _settle_statement(shape: tuple[bool, bool, bool]) -> Update:
    """The UPDATE that writes settlements of one shape, as an executemany over their parameters."""
    sent, deferred, attempts = shape
    values: dict[str, Any] = {
        "state": bindparam("b_state"),
        "last_error": bindparam("b_error"),
        "lease_until": None,
        "claimed_by": None,
    }
    if sent:
        values["sent_at"] = bindparam("b_sent_at")
        values["telegram_message_id"] = bindparam("b_message_id")
    if deferred:
        values["not_before"] = bindparam("b_not_before")
    if attempts:
        values["attempts"] = bindparam("b_attempts")
    # A row reclaimed after its lease ran out may be pending again: a late answer still settles it.
    return (
        update(OUTBOX)
        .where(
            OUTBOX.c.id == bindparam("b_row_id"),
            # (or_, not in_: an IN list expands per execution, which executemany cannot do)
            or_(OUTBOX.c.state == DeliveryState.SENDING.value, OUTBOX.c.state == DeliveryState.PENDING.value),
        )
        .values(**values)
    )


async def settle_rows(session: AsyncSession, *, outcomes: list[Settlement]) -> None:
    """Write what became of sends: one executemany per shape of settlement, whatever the batch's size."""
    if not outcomes:
        return
    groups: dict[tuple[bool, bool, bool], list[dict[str, Any]]] = {}
    for settlement in outcomes:
        groups.setdefault(settlement.shape, []).append(_settlement_params(settlement))
    conn = await session.connection()
    for shape, params in groups.items():
        await conn.execute(_settle_statement(shape), params)


async def release_rows(session: AsyncSession, *, ids: list[int], claimed_by: str) -> None:
    """Give claimed rows that were never sent back to the queue (on stop), undoing their attempt."""
    if not ids:
        return
    await session.exec(
        update(Notification)
        .where(
            col(Notification.id).in_(padded(ids)),
            col(Notification.state) == DeliveryState.SENDING,
            col(Notification.claimed_by) == claimed_by,
        )
        .values(
            state=DeliveryState.PENDING,
            claimed_by=None,
            lease_until=None,
            attempts=col(Notification.attempts) - 1,
        )
    )


async def release_leases(session: AsyncSession, *, instance_id: str) -> int:
    """Hand back every row one instance still holds (at shutdown, after its answers are recorded).

    Another instance, or this one restarted, can take them at once instead of waiting for the lease. A row
    whose send was cut short may have reached Telegram: it may go out twice, as after a crash, never 0 times.
    """
    result = await session.exec(
        update(Notification)
        .where(col(Notification.state) == DeliveryState.SENDING, col(Notification.claimed_by) == instance_id)
        .values(state=DeliveryState.PENDING, claimed_by=None, lease_until=None)
    )
    return int(result.rowcount or 0)


async def renew_leases(
    session: AsyncSession, *, ids: list[int], claimed_by: str, lease_until: datetime
) -> None:
    """Extend the lease of rows this worker still holds (waiting out a long 429, say).

    Rows locked right now are skipped: their answer is being written (which ends the lease anyway), and
    waiting for that writer, which locks the same rows in another order, deadlocked on PostgreSQL.
    """
    if not ids:
        return
    held = (
        select(col(Notification.id))
        .where(
            col(Notification.id).in_(padded(ids)),
            col(Notification.state) == DeliveryState.SENDING,
            col(Notification.claimed_by) == claimed_by,
        )
        .with_for_update(skip_locked=True)
    )
    await session.exec(
        update(Notification)
        .where(col(Notification.id).in_(held.scalar_subquery()))
        .values(lease_until=lease_until)
    )


async def reclaim_expired(
    session: AsyncSession, *, now: datetime, also_claimed_by: str | None = None, everything: bool = False
) -> int:
    """Return rows whose sender vanished (lease expired, our own previous life, or all) to the queue."""
    lease_until = col(Notification.lease_until)
    stale: ColumnElement[bool] = and_(lease_until.is_not(None), lease_until < now)
    if also_claimed_by is not None:
        stale = or_(stale, col(Notification.claimed_by) == also_claimed_by)
    if everything:
        stale = true()
    result = await session.exec(
        update(Notification)
        .where(col(Notification.state) == DeliveryState.SENDING, stale)
        .values(state=DeliveryState.PENDING, claimed_by=None, lease_until=None)
    )
    return int(result.rowcount or 0)


async def mark_chat_unreachable(session: AsyncSession, *, chat_id: int, error: str) -> list[int]:
    """Close every pending row to a chat that blocked the bot (no retry storm); returns their ids."""
    found = (
        await session.exec(
            select(col(Notification.id)).where(
                col(Notification.chat_id) == chat_id, col(Notification.state) == DeliveryState.PENDING
            )
        )
    ).all()
    ids = [int(i) for i in found if i is not None]
    if ids:
        await session.exec(
            update(Notification)
            .where(col(Notification.id).in_(padded(ids)))
            .values(state=DeliveryState.UNREACHABLE, last_error=error[:ERROR_MAX])
        )
    return ids


@dataclass(frozen=True)
class Peers:
    """What a heartbeat learns of the bot's live delivery workers."""

    wanting_others: int  # other live workers with messages to send (they share the budget)
    live: tuple[str, ...]  # every live worker's key, this one's included, sorted

    def partition(self, key: str) -> tuple[int, int] | None:
        """This worker's share of the chats, (index, count), or None when it is alone."""
        if len(self.live) <= 1:
            return None
        return self.live.index(key), len(self.live)


def instance_key(bot: str, instance: str) -> str:
    """A worker's key in the shared table."""
    return f"{bot}:{instance}"[:64]


async def heartbeat(
    session: AsyncSession, *, bot: str, instance: str, now: float, alive_for: float, wants: bool
) -> Peers:
    """Say this worker is alive for `alive_for` more seconds, and whether it has messages to send
    (PostgreSQL); returns what it learns of the bot's live workers."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    table = table_of(DeliveryInstance)
    key = instance_key(bot, instance)
    await session.exec(
        pg_insert(table)
        .values(key=key, bot=bot, alive_until=now + alive_for, wants=wants)
        .on_conflict_do_update(
            index_elements=[table.c.key], set_={"alive_until": now + alive_for, "wants": wants}
        )
    )
    live = (
        await session.exec(
            select(table.c.key, table.c.wants).where(table.c.bot == bot, table.c.alive_until > now)
        )
    ).all()
    return Peers(
        wanting_others=sum(1 for other, wanting in live if other != key and wanting),
        live=tuple(sorted({other for other, _ in live} | {key})),
    )


async def leave(session: AsyncSession, *, bot: str, instance: str) -> None:
    """This worker stops: the others take its share at once."""
    table = table_of(DeliveryInstance)
    await session.exec(delete(table).where(table.c.key == instance_key(bot, instance)))


# 429 counts older than this are dropped when new ones are written (status reads the last hour).
FLOOD_COUNT_KEPT_MINUTES = 2 * 24 * 60


async def count_floods(session: AsyncSession, *, now: datetime, answers: int) -> None:
    """Add `answers` 429s to this minute's count (whichever instance writes, in its transaction)."""
    table = table_of(FloodCount)
    minute = int(now.timestamp() // 60)
    statement = dialect_insert(session)(table).values(minute=minute, answers=answers)
    await session.exec(
        statement.on_conflict_do_update(
            index_elements=[table.c.minute], set_={"answers": table.c.answers + statement.excluded.answers}
        )
    )
    await session.exec(delete(table).where(table.c.minute < minute - FLOOD_COUNT_KEPT_MINUTES))
