"""Members: a Telegram user's membership of one post, with one service and one role."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import AuditEntry
from db.in_lists import padded
from db.types import UTC_NOW, big_int_column, utc_column


class Role(StrEnum):
    """What a member may do, from least to most."""

    AGENT = "agent"
    CHIEF = "chief"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


# The audit details key of a status change's author's role at the time: whom the member is told to turn to
# depends on it (bot.access.asks_post_chief), in the note and at the gate alike.
ACTOR_ROLE_KEY = "actor_role"


class MemberStatus(StrEnum):
    """Whether a member may use the bot."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    REMOVED = "removed"


class Member(SQLModel, table=True):
    """One person known to the bot."""

    __tablename__ = "members"

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = Field(sa_column=big_int_column(unique=True))
    chat_id: int = Field(sa_column=big_int_column())
    display_name: str = Field(max_length=128)
    username: str | None = Field(default=None, max_length=64)
    # Coordinators and admins follow every post; their post is where they were invited from, if any.
    post_code: str | None = Field(default=None, foreign_key="posts.code", index=True)
    service_code: str | None = Field(default=None, foreign_key="services.code")
    role: str = Field(default=Role.AGENT, max_length=16)
    status: str = Field(default=MemberStatus.ACTIVE, max_length=16, index=True)
    # None until the person chose (or Telegram told us) a supported language.
    language: str | None = Field(default=None, max_length=5)
    reachable: bool = True
    unreachable_since: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    joined_at: datetime = Field(default_factory=UTC_NOW, sa_column=utc_column())
    invited_by: int | None = Field(default=None, foreign_key="members.id")

    @property
    def is_active(self) -> bool:
        """True when the member may use the bot."""
        return self.status == MemberStatus.ACTIVE


async def get_member_by_telegram_id(session: AsyncSession, *, telegram_id: int) -> Member | None:
    """The member row for a Telegram user, whatever its status."""
    return (await session.exec(select(Member).where(Member.telegram_id == telegram_id))).first()


async def get_members_by_telegram_ids(
    session: AsyncSession, *, telegram_ids: Iterable[int]
) -> dict[int, Member]:
    """The member rows of these Telegram users, by Telegram id (people who are not members are absent)."""
    wanted = sorted(set(telegram_ids))
    if not wanted:
        return {}
    rows = await session.exec(select(Member).where(col(Member.telegram_id).in_(padded(wanted))))
    return {member.telegram_id: member for member in rows.all()}


async def status_decided_by(session: AsyncSession, *, member_id: int, status: str) -> str | None:
    """The role of the member who last gave this member `status`, as the audit log's "member.<status>" entry
    noted it (ACTOR_ROLE_KEY); None when nobody did through the bot."""
    query = (
        select(AuditEntry)
        .where(
            AuditEntry.action == f"member.{status}",
            AuditEntry.object_type == "member",
            AuditEntry.object_id == str(member_id),
        )
        .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
        .limit(1)
    )
    entry = (await session.exec(query)).first()
    if entry is None:
        return None
    role = (entry.details or {}).get(ACTOR_ROLE_KEY)
    if role is None and entry.actor_member_id is not None:
        # An entry written before the role was noted: its author's role now.
        actor = await session.get(Member, entry.actor_member_id)
        role = actor.role if actor is not None else None
    return str(role) if role is not None else None


async def get_member(session: AsyncSession, *, member_id: int) -> Member | None:
    """The member with this id."""
    return await session.get(Member, member_id)


async def list_members(
    session: AsyncSession,
    *,
    post_code: str | None = None,
    service_code: str | None = None,
    roles: tuple[str, ...] | None = None,
    include_inactive: bool = False,
) -> list[Member]:
    """Members, filtered by post, service and roles; active ones only unless asked."""
    # Members of no service (a chief of the whole post) first on every database: SQLite sorts NULL first,
    # PostgreSQL last, and a roster read in another order on each looked shuffled.
    query = select(Member).order_by(
        col(Member.post_code).nulls_first(), col(Member.service_code).nulls_first(), col(Member.display_name)
    )
    if post_code is not None:
        query = query.where(Member.post_code == post_code)
    if service_code is not None:
        query = query.where(Member.service_code == service_code)
    if roles is not None:
        query = query.where(col(Member.role).in_(roles))
    if not include_inactive:
        query = query.where(Member.status == MemberStatus.ACTIVE)
    else:
        query = query.where(Member.status != MemberStatus.REMOVED)
    return list((await session.exec(query)).all())


async def list_coordinators(session: AsyncSession) -> list[Member]:
    """Active coordinators and admins (they follow every post)."""
    return await list_members(session, roles=(Role.COORDINATOR, Role.ADMIN))


async def set_member_status(session: AsyncSession, *, member_id: int, status: MemberStatus) -> bool:
    """Change a member's status; False when nothing changed."""
    result = await session.exec(
        update(Member).where(col(Member.id) == member_id, col(Member.status) != status).values(status=status)
    )
    return bool(result.rowcount)


async def set_member_language(session: AsyncSession, *, member_id: int, language: str) -> None:
    """Record the member's chosen language."""
    await session.exec(update(Member).where(col(Member.id) == member_id).values(language=language))


async def mark_unreachable(session: AsyncSession, *, chat_id: int, at: datetime) -> bool:
    """Flag the member behind a chat as unreachable (blocked the bot); True when newly flagged."""
    result = await session.exec(
        update(Member)
        .where(col(Member.chat_id) == chat_id, col(Member.reachable).is_(True))
        .values(reachable=False, unreachable_since=at)
    )
    return bool(result.rowcount)


async def mark_reachable(session: AsyncSession, *, telegram_id: int) -> bool:
    """Clear the unreachable flag once the person talks to the bot again; True when it was set."""
    result = await session.exec(
        update(Member)
        .where(col(Member.telegram_id) == telegram_id, col(Member.reachable).is_(False))
        .values(reachable=True, unreachable_since=None)
    )
    return bool(result.rowcount)


async def member_names(session: AsyncSession, *, member_ids: set[int]) -> dict[int, str]:
    """Display names of the given members, by id."""
    if not member_ids:
        return {}
    rows = await session.exec(
        select(Member.id, Member.display_name).where(col(Member.id).in_(padded(sorted(member_ids))))
    )
    return {member_id: name for member_id, name in rows.all() if member_id is not None}


async def list_members_by_ids(session: AsyncSession, *, member_ids: list[int]) -> list[Member]:
    """The members with these ids (any status), in id order."""
    if not member_ids:
        return []
    query = select(Member).where(col(Member.id).in_(padded(member_ids))).order_by(col(Member.id))
    return list((await session.exec(query)).all())
