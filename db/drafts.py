"""Drafts: one member's unfinished multi-step conversation per flow, kept in the database to survive restarts.

A member may have several drafts (an alert half-written, a handover in progress), one per flow; at most one is
focused: the one that takes the member's next typed message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint, delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.types import utc_column

# The key of a draft's data listing the bot messages that carry its buttons, as [chat id, message id] pairs:
# when the conversation ends, their buttons are taken off.
PROMPTS_KEY = "prompts"


class Draft(SQLModel, table=True):
    """A conversation in progress: which flow, which step, and what was answered so far."""

    __tablename__ = "drafts"
    # Buttons name a draft by its id: SQLite must never give a deleted draft's id to a newer one (PostgreSQL's
    # sequences never do), or an old message's button would act on the new draft.
    __table_args__ = (
        UniqueConstraint("member_id", "flow", name="uq_draft_member_flow"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="members.id", index=True)
    # The conversation's name, declared by its feature ("alert", "alert_outcome", "remind"...).
    flow: str = Field(max_length=32)
    step: str = Field(max_length=24)
    # The answers so far, as JSON; each conversation reads it through its own typed model.
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # What started it (a message, a button press): a repeated update finds its draft instead of a new one.
    token: str = Field(max_length=64)
    # Only the focused draft takes typed messages; starting another conversation moves the focus.
    focused: bool = True
    created_at: datetime = Field(sa_column=utc_column())
    updated_at: datetime = Field(sa_column=utc_column())
    # Past this moment the draft is stale: it takes nothing more and is pruned.
    expires_at: datetime = Field(sa_column=utc_column(index=True))


async def get_draft(session: AsyncSession, *, member_id: int, flow: str) -> Draft | None:
    """The member's draft of one flow, if any (expired or not)."""
    query = select(Draft).where(Draft.member_id == member_id, Draft.flow == flow)
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def get_focused_draft(session: AsyncSession, *, member_id: int) -> Draft | None:
    """The draft that takes the member's next typed message, if any (expired or not)."""
    query = select(Draft).where(Draft.member_id == member_id, col(Draft.focused).is_(True))
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def unfocus_drafts(session: AsyncSession, *, member_id: int, keep_id: int | None = None) -> list[Draft]:
    """Take the focus from the member's drafts (except `keep_id`); returns the drafts that had it."""
    query = select(Draft).where(Draft.member_id == member_id, col(Draft.focused).is_(True))
    if keep_id is not None:
        query = query.where(col(Draft.id) != keep_id)
    had_focus = list((await session.exec(query)).all())
    if had_focus:
        await session.exec(
            update(Draft).where(col(Draft.id).in_([d.id for d in had_focus])).values(focused=False)
        )
    return had_focus


async def open_draft(
    session: AsyncSession,
    *,
    member_id: int,
    flow: str,
    token: str,
    step: str,
    data: dict[str, Any],
    now: datetime,
    expires_at: datetime,
) -> tuple[Draft, bool, Draft | None]:
    """Start a focused draft of `flow`, replacing the member's previous one of that flow.

    Returns (draft, fresh, replaced): fresh is False when this token already started the current draft (a
    repeated update); replaced is the previous draft of the flow this call deleted, if any.
    """
    existing = await get_draft(session, member_id=member_id, flow=flow)
    if existing is not None and existing.token == token:
        return existing, False, None
    if existing is not None:
        await session.exec(delete(Draft).where(col(Draft.id) == existing.id))
    draft = Draft(
        member_id=member_id,
        flow=flow,
        step=step,
        data=data,
        token=token,
        focused=True,
        created_at=now,
        updated_at=now,
        expires_at=expires_at,
    )
    try:
        async with session.begin_nested():
            session.add(draft)
            await session.flush()
    except IntegrityError:
        # Another update of the same member won the race (PostgreSQL): use its draft.
        found = await get_draft(session, member_id=member_id, flow=flow)
        assert found is not None
        return found, False, existing
    return draft, True, existing


async def advance_draft(
    session: AsyncSession,
    *,
    draft_id: int,
    member_id: int,
    from_steps: tuple[str, ...],
    step: str,
    now: datetime,
    expires_at: datetime,
    data: dict[str, Any] | None = None,
) -> bool:
    """Move a draft to `step` (and new data) only from the expected steps; False when it moved first."""
    values: dict[str, Any] = {"step": step, "updated_at": now, "expires_at": expires_at}
    if data is not None:
        values["data"] = data
    result = await session.exec(
        update(Draft)
        .where(
            col(Draft.id) == draft_id,
            col(Draft.member_id) == member_id,
            col(Draft.step).in_(from_steps),
        )
        .values(**values)
    )
    return bool(result.rowcount)


async def add_prompt(
    session: AsyncSession, *, draft_id: int, member_id: int, chat_id: int, message_id: int, keep: int
) -> bool:
    """Add a message to the draft's prompts (the newest `keep` are kept); False when the draft is gone."""
    query = select(Draft).where(col(Draft.id) == draft_id, col(Draft.member_id) == member_id)
    # Locked: a read-then-write of the JSON that must not lose another update's change (PostgreSQL).
    draft = (await session.exec(query.with_for_update().execution_options(populate_existing=True))).first()
    if draft is None:
        return False
    pair = [chat_id, message_id]
    prompts = [list(p) for p in draft.data.get(PROMPTS_KEY) or [] if list(p) != pair]
    data = {**draft.data, PROMPTS_KEY: [*prompts, pair][-keep:]}
    await session.exec(update(Draft).where(col(Draft.id) == draft_id).values(data=data))
    return True


async def focus_draft(session: AsyncSession, *, draft_id: int, member_id: int) -> list[Draft]:
    """Give the focus to one draft; returns the drafts that lost it."""
    lost = await unfocus_drafts(session, member_id=member_id, keep_id=draft_id)
    await session.exec(
        update(Draft).where(col(Draft.id) == draft_id, col(Draft.member_id) == member_id).values(focused=True)
    )
    return lost


async def consume_draft(session: AsyncSession, *, draft_id: int, member_id: int, step: str) -> Draft | None:
    """Atomically take a draft out of the table when it is at `step`; None for the loser of a double tap."""
    draft = await session.get(Draft, draft_id)
    if draft is None or draft.member_id != member_id or draft.step != step:
        return None
    result = await session.exec(delete(Draft).where(col(Draft.id) == draft_id, col(Draft.step) == step))
    if not result.rowcount:
        return None
    session.expunge(draft)
    return draft


async def drop_draft(
    session: AsyncSession, *, member_id: int, flow: str | None = None, draft_id: int | None = None
) -> bool:
    """Delete the member's draft of `flow` (or the one with `draft_id`); True when one was deleted."""
    query = delete(Draft).where(col(Draft.member_id) == member_id)
    if flow is not None:
        query = query.where(col(Draft.flow) == flow)
    if draft_id is not None:
        query = query.where(col(Draft.id) == draft_id)
    result = await session.exec(query)
    return bool(result.rowcount)


async def prune_expired_drafts(session: AsyncSession, *, now: datetime) -> int:
    """Delete drafts past their expiry; returns how many."""
    result = await session.exec(delete(Draft).where(col(Draft.expires_at) <= now))
    return int(result.rowcount or 0)
