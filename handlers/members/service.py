"""Managing members, without Telegram: who may list which post, a post's roster, and suspending, reinstating
or removing someone, re-checked and audited."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.access import Action, can, can_manage, is_global
from bot.config import Config
from bot.runtime import Runtime
from db.audit import record_action
from db.members import ACTOR_ROLE_KEY, Member, MemberStatus, get_member, list_members, set_member_status
from db.outbox import enqueue_message
from handlers.members import render

# The outbox ref of the note telling a member their access changed (/delivery names it).
ACCESS_NOTE = "access"


@dataclass(frozen=True)
class Roster:
    """A post's members (suspended ones too) and those of them the reader may manage."""

    members: list[Member]
    manageable: list[Member]


def chooses_post(actor: Member) -> bool:
    """Coordinators pick the post whose members they list; a chief sees their own post's at once."""
    return is_global(actor)


def may_list(config: Config, actor: Member, post_code: str) -> bool:
    """Whether `post_code` is a post whose members the actor may list."""
    return config.find_post(post_code) is not None and can(actor, Action.LIST_MEMBERS, post_code)


async def roster(session: AsyncSession, actor: Member, post_code: str) -> Roster:
    """A post's members as `actor` reads them, with the ones they may manage."""
    members = await list_members(session, post_code=post_code, include_inactive=True)
    return Roster(members, [m for m in members if can_manage(actor, m)])


async def manageable_member(session: AsyncSession, actor: Member, member_id: int | None) -> Member | None:
    """The member `actor` may manage, or None (unknown, removed, a peer or a superior, another post)."""
    target = await get_member(session, member_id=member_id) if member_id is not None else None
    if target is None or target.status == MemberStatus.REMOVED or not can_manage(actor, target):
        return None
    return target


async def removed_member(session: AsyncSession, actor: Member, member_id: int | None) -> Member | None:
    """The member behind a stale button if they were removed meanwhile and `actor` could manage them
    otherwise; None for anyone else (a forged press about another post's member learns nothing)."""
    target = await get_member(session, member_id=member_id) if member_id is not None else None
    if target is None or target.status != MemberStatus.REMOVED or not can_manage(actor, target):
        return None
    return target


async def change_status(
    session: AsyncSession, runtime: Runtime, actor: Member, target: Member, status: MemberStatus
) -> bool:
    """Set a member's status and audit it; False when it already was."""
    assert target.id is not None
    changed = await set_member_status(session, member_id=target.id, status=status)
    if changed:
        await record_action(
            session,
            action=f"member.{status.value}",
            at=runtime.clock.now(),
            actor_member_id=actor.id,
            object_type="member",
            object_id=target.id,
            post_code=target.post_code,
            details={ACTOR_ROLE_KEY: actor.role},
        )
        await _tell_member(session, runtime, actor, target, status)
    target.status = status
    return changed


async def _tell_member(
    session: AsyncSession, runtime: Runtime, actor: Member, target: Member, status: MemberStatus
) -> None:
    """Queue the note telling a member their access was suspended, is back or was removed, in their language.

    The outbox sends a row whatever its member's status (nothing in db/outbox or bot/delivery reads it),
    so a suspended or removed member still receives this one message, though the gate refuses everything
    they send.
    """
    tr = runtime.translator_for(target)
    text = render.access_notice(runtime.config, tr, status, actor.role, target)
    await enqueue_message(
        session,
        chat_id=target.chat_id,
        member_id=target.id,
        text=text,
        reply_markup=render.access_keyboard(tr, status, target.post_code),
        ref=(ACCESS_NOTE, target.id or 0),
        now=runtime.clock.now(),
    )
