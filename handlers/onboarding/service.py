"""Joining, without Telegram: use an invite, tell the inviter, and let other features greet the newcomer."""

from __future__ import annotations

import html
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.features import MemberEvent
from bot.runtime import Runtime
from bot.texts import membership
from db.members import Member, get_member
from db.onboarding import JoinResult, join_with_invite
from db.outbox import Priority, append_to_pending_note, enqueue_message

# The outbox ref of a note telling an inviter that someone joined (notes waiting to one chat are merged).
JOIN_NOTE = "member"


@dataclass(frozen=True)
class Newcomer:
    """Who is pressing Start with a code."""

    telegram_id: int
    chat_id: int
    display_name: str
    username: str | None
    language: str | None


async def join(session: AsyncSession, runtime: Runtime, *, code: str, person: Newcomer) -> JoinResult:
    """Use an invite; on success the inviter is told and the features hear that a member joined."""
    result = await join_with_invite(
        session,
        code=code,
        telegram_id=person.telegram_id,
        chat_id=person.chat_id,
        display_name=person.display_name,
        username=person.username,
        language=person.language,
        now=runtime.clock.now(),
    )
    if result.refusal is None and result.member is not None:
        await _tell_inviter(session, runtime, result.member)
        await runtime.features.emit(session, runtime, MemberEvent.JOINED, result.member)
    return result


async def _tell_inviter(session: AsyncSession, runtime: Runtime, member: Member) -> None:
    """Queue a note to whoever created the invite that it was used."""
    if member.invited_by is None:
        return
    inviter = await get_member(session, member_id=member.invited_by)
    if inviter is None or not inviter.is_active:
        return
    tr = runtime.translator_for(inviter)
    text = tr.gettext("{name} joined Liaison: {membership}.").format(
        name=html.escape(member.display_name),
        membership=membership(tr, runtime.config, member.role, member.service_code, member.post_code),
    )
    # Bulk, and one message per chat while several wait: a wave of joins must never hold back an alert to
    # the same person behind a backlog of notes at one a second.
    if await append_to_pending_note(session, chat_id=inviter.chat_id, ref_type=JOIN_NOTE, text=text):
        return
    await enqueue_message(
        session,
        chat_id=inviter.chat_id,
        member_id=inviter.id,
        text=text,
        priority=Priority.BULK,
        ref=(JOIN_NOTE, member.id or 0),
        now=runtime.clock.now(),
    )
