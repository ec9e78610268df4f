"""The inbox: every update fetched from Telegram, written before Telegram is told it arrived.

An update is `pending` until a handling attempt commits (`handled`) or it has failed too often (`set_aside`).
Handling claims a person's oldest pending update only (`claim_heads`): one person's updates are handled in
Telegram's order and never by two instances at once. Each claim counts an attempt, so an update that kills
the process while it is handled is still set aside after a few tries.

The handler's own write transactions mark the update handled as they commit (`Handling`, the guard that
`Database.transaction()` calls): the update's effects and its mark commit together, and once one attempt has
committed, another attempt of the same update (a lease that ran out under a slow handler) cannot commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    Text,
    bindparam,
    delete,
    exists,
    func,
    or_,
    update,
)
from sqlalchemy.sql.dml import Update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.in_lists import padded
from db.types import big_int_column, dialect_insert, table_of, utc_column

ERROR_LENGTH = 500


class InboxState(StrEnum):
    """Where an update stands."""

    PENDING = "pending"
    HANDLED = "handled"
    SET_ASIDE = "set_aside"


class InboxUpdate(SQLModel, table=True):
    """One update from Telegram, kept from its arrival until some time after it was handled."""

    __tablename__ = "inbox"
    __table_args__ = (
        # The claim looks for each person's oldest pending update.
        Index("ix_inbox_state_person", "state", "person_id", "update_id"),
    )

    # Telegram's id: a batch fetched twice (the offset was not confirmed before a crash) is stored once.
    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    # Whose update it is (Telegram user id; the chat's id when there is no user; 0 when neither).
    person_id: int = Field(sa_column=big_int_column())
    kind: str = Field(max_length=32)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default=InboxState.PENDING, max_length=16)
    received_at: datetime = Field(sa_column=utc_column())
    # Handling attempts started (counted when claimed: a crash mid-handling counts too).
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # The attempt whose transaction committed the update's effects; no other attempt may commit after it.
    committed_attempt: int | None = None
    handled_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True, index=True))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


@dataclass(frozen=True)
class Claimed:
    """An update claimed for handling, and which attempt this is."""

    update_id: int
    person_id: int
    payload: dict[str, Any]
    attempt: int


class UpdateAlreadyHandled(Exception):
    """Another attempt at this update already committed its effects: this one must not commit."""

    def __init__(self, update_id: int) -> None:
        super().__init__(f"update {update_id} was already handled by an earlier attempt")
        self.update_id = update_id


@dataclass
class Handling:
    """The update being handled, as the commit guard of `Database.transaction()` (see db.engine)."""

    update_id: int
    attempt: int
    clock: Callable[[], datetime]
    committed: bool = False

    async def before_commit(self, session: AsyncSession) -> None:
        """Mark the update handled in the transaction about to commit, or refuse a second attempt's commit."""
        if not await mark_handled(session, update_id=self.update_id, attempt=self.attempt, now=self.clock()):
            raise UpdateAlreadyHandled(self.update_id)

    def after_commit(self) -> None:
        """The mark is in the database now."""
        self.committed = True


_insert = dialect_insert


async def store_updates(session: AsyncSession, *, rows: Sequence[dict[str, Any]], now: datetime) -> int:
    """Write a batch of updates in one statement (`update_id`, `person_id`, `kind`, `payload` each);
    ones already there are left alone. Returns how many were new."""
    if not rows:
        return 0
    values = [
        {
            "update_id": row["update_id"],
            "person_id": row["person_id"],
            "kind": row["kind"][:32],
            "payload": row["payload"],
            "state": InboxState.PENDING,
            "received_at": now,
            "attempts": 0,
        }
        for row in rows
    ]
    # One statement whatever the batch's size, compiled once: an executemany that SQLAlchemy sends as
    # multi-row INSERTs ("insertmanyvalues"). A VALUES list built per batch was compiled again for each
    # batch, a tenth of the bot's time in a burst of presses. RETURNING counts the new ones (a rowcount of
    # an executemany is not reliable on every driver).
    table = table_of(InboxUpdate)
    statement = (
        _insert(session)(table)
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(table.c.update_id)
    )
    result = await session.exec(statement, params=values)
    return len(result.all())


async def claim_heads(
    session: AsyncSession, *, instance_id: str, now: datetime, lease_until: datetime, limit: int
) -> list[Claimed]:
    """Claim the oldest pending update of up to `limit` people whose oldest one nobody holds.

    One statement: a person's later updates wait while an earlier one is pending, claimed or not, so one
    person's updates are handled one at a time and in order, across instances (PostgreSQL: SKIP LOCKED lets
    two instances claim side by side without waiting for each other).
    """
    params = {"b_now": now, "b_limit": limit, "b_instance": instance_id, "b_lease_until": lease_until}
    rows = (await session.exec(_claim_statement(), params=params)).all()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.update_id)


@cache
def _claim_statement() -> Update:
    """claim_heads' statement, built once with bound parameters: building it was a third of each claim."""
    table = table_of(InboxUpdate)
    earlier = table.alias("earlier")
    waiting = exists().where(
        earlier.c.person_id == table.c.person_id,
        earlier.c.state == InboxState.PENDING.value,
        earlier.c.update_id < table.c.update_id,
    )
    now = bindparam("b_now", type_=table.c.lease_until.type)
    heads = (
        select(table.c.update_id)
        .where(
            table.c.state == InboxState.PENDING.value,
            or_(table.c.lease_until.is_(None), table.c.lease_until <= now),
            ~waiting,
        )
        .order_by(table.c.update_id)
        .limit(bindparam("b_limit", type_=Integer))
        .with_for_update(skip_locked=True)
    )
    return (
        update(table)
        .where(table.c.update_id.in_(heads.scalar_subquery()))
        .values(
            claimed_by=bindparam("b_instance"),
            lease_until=bindparam("b_lease_until", type_=table.c.lease_until.type),
            attempts=table.c.attempts + 1,
        )
        .returning(table.c.update_id, table.c.person_id, table.c.payload, table.c.attempts)
    )


async def next_attempt(
    session: AsyncSession, *, update_id: int, instance_id: str, lease_until: datetime
) -> int | None:
    """Count one more attempt at an update this instance holds; None when it is no longer ours to retry."""
    statement = (
        update(InboxUpdate)
        .where(
            col(InboxUpdate.update_id) == update_id,
            col(InboxUpdate.claimed_by) == instance_id,
            col(InboxUpdate.state) == InboxState.PENDING,
        )
        .values(attempts=col(InboxUpdate.attempts) + 1, lease_until=lease_until)
        .returning(col(InboxUpdate.attempts))
        .execution_options(synchronize_session=False)
    )
    return (await session.exec(statement)).scalar_one_or_none()


async def mark_handled(session: AsyncSession, *, update_id: int, attempt: int, now: datetime) -> bool:
    """Mark an update handled by `attempt`; False when another attempt already committed it."""
    result = await session.exec(
        update(InboxUpdate)
        .where(
            col(InboxUpdate.update_id) == update_id,
            or_(col(InboxUpdate.committed_attempt).is_(None), col(InboxUpdate.committed_attempt) == attempt),
        )
        .values(
            state=InboxState.HANDLED,
            handled_at=now,
            committed_attempt=attempt,
            claimed_by=None,
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


async def mark_answered(session: AsyncSession, *, update_ids: Sequence[int], now: datetime) -> int:
    """Mark handled, in one statement, updates whose handlers committed nothing (they only answered)."""
    if not update_ids:
        return 0
    result = await session.exec(
        update(InboxUpdate)
        .where(
            col(InboxUpdate.update_id).in_(padded(update_ids)),
            col(InboxUpdate.state) == InboxState.PENDING,
            col(InboxUpdate.committed_attempt).is_(None),
        )
        .values(state=InboxState.HANDLED, handled_at=now, claimed_by=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


async def release(session: AsyncSession, *, update_id: int, instance_id: str, error: str | None) -> bool:
    """Give a pending update back (to be tried again), noting why the last attempt failed."""
    result = await session.exec(
        update(InboxUpdate)
        .where(
            col(InboxUpdate.update_id) == update_id,
            col(InboxUpdate.claimed_by) == instance_id,
            col(InboxUpdate.state) == InboxState.PENDING,
        )
        .values(claimed_by=None, lease_until=None, error=(error or "")[:ERROR_LENGTH] or None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


async def set_aside(
    session: AsyncSession, *, update_id: int, now: datetime, error: str
) -> InboxUpdate | None:
    """Take a pending update out of the way of those behind it; None when it was handled after all."""
    result = await session.exec(
        update(InboxUpdate)
        .where(
            col(InboxUpdate.update_id) == update_id,
            col(InboxUpdate.state) == InboxState.PENDING,
            col(InboxUpdate.committed_attempt).is_(None),
        )
        .values(
            state=InboxState.SET_ASIDE,
            handled_at=now,
            claimed_by=None,
            lease_until=None,
            error=error[:ERROR_LENGTH],
        )
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        return None
    return await session.get(InboxUpdate, update_id, populate_existing=True)


async def release_claims(session: AsyncSession, *, instance_id: str | None) -> int:
    """Give back pending updates left claimed by a previous life of `instance_id` (None: by anyone)."""
    statement = update(InboxUpdate).where(
        col(InboxUpdate.state) == InboxState.PENDING, col(InboxUpdate.claimed_by).is_not(None)
    )
    if instance_id is not None:
        statement = statement.where(col(InboxUpdate.claimed_by) == instance_id)
    result = await session.exec(
        statement.values(claimed_by=None, lease_until=None).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


async def renew_leases(
    session: AsyncSession, *, instance_id: str, update_ids: Sequence[int], lease_until: datetime
) -> int:
    """Extend the lease of updates still being handled here (a slow handler keeps its update)."""
    if not update_ids:
        return 0
    result = await session.exec(
        update(InboxUpdate)
        .where(
            col(InboxUpdate.update_id).in_(padded(update_ids)),
            col(InboxUpdate.claimed_by) == instance_id,
            col(InboxUpdate.state) == InboxState.PENDING,
        )
        .values(lease_until=lease_until)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


async def prune_handled(session: AsyncSession, *, before: datetime) -> int:
    """Delete updates handled before `before` (set-aside ones stay for the admin)."""
    result = await session.exec(
        delete(InboxUpdate).where(
            col(InboxUpdate.state) == InboxState.HANDLED, col(InboxUpdate.handled_at) < before
        )
    )
    return int(result.rowcount or 0)


async def list_set_aside(session: AsyncSession, *, limit: int = 20) -> list[InboxUpdate]:
    """Updates set aside, newest first."""
    query = (
        select(InboxUpdate)
        .where(col(InboxUpdate.state) == InboxState.SET_ASIDE)
        .order_by(col(InboxUpdate.handled_at).desc())
        .limit(limit)
    )
    return list((await session.exec(query)).all())


async def count_by_state(session: AsyncSession) -> dict[str, int]:
    """How many updates are pending, handled (not yet pruned) and set aside."""
    rows = await session.exec(select(InboxUpdate.state, func.count()).group_by(col(InboxUpdate.state)))
    counts = {state.value: 0 for state in InboxState}
    counts.update({state: int(n) for state, n in rows.all()})
    return counts


async def count_unclaimed(session: AsyncSession) -> int:
    """Pending updates nobody holds (some wait behind an earlier update of the same person)."""
    query = select(func.count()).where(
        col(InboxUpdate.state) == InboxState.PENDING, col(InboxUpdate.claimed_by).is_(None)
    )
    return int((await session.exec(query)).one())


async def last_received(session: AsyncSession) -> datetime | None:
    """When the newest update still in the inbox arrived."""
    return (await session.exec(select(func.max(InboxUpdate.received_at)))).one()
