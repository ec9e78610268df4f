"""Joining: turn a valid invite into a membership, in one unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import record_action
from db.invites import Invite, claim_invite, create_invite, find_invite, find_requested_invite
from db.members import Member, MemberStatus, get_member_by_telegram_id


class JoinRefusal(StrEnum):
    """Why an invite could not be used."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    REVOKED = "revoked"
    ALREADY_MEMBER = "already_member"
    SUSPENDED = "suspended"


@dataclass(frozen=True)
class JoinResult:
    """The outcome of using an invite."""

    member: Member | None
    invite: Invite | None
    refusal: JoinRefusal | None = None


def _invite_state(invite: Invite | None, now: datetime) -> JoinRefusal | None:
    if invite is None:
        return JoinRefusal.UNKNOWN
    if invite.revoked_at is not None:
        return JoinRefusal.REVOKED
    if invite.uses >= invite.max_uses:
        return JoinRefusal.USED
    if invite.expires_at <= now:
        return JoinRefusal.EXPIRED
    return None


async def join_with_invite(
    session: AsyncSession,
    *,
    code: str,
    telegram_id: int,
    chat_id: int,
    display_name: str,
    username: str | None,
    language: str | None,
    now: datetime,
) -> JoinResult:
    """Use an invite code for a Telegram user; the invite is consumed only when the membership is created."""
    invite = await find_invite(session, code=code)
    existing = await get_member_by_telegram_id(session, telegram_id=telegram_id)
    # Who the person is comes first: a member replaying their own link must hear that they are in already.
    if existing is not None and existing.status == MemberStatus.ACTIVE:
        refusal: JoinRefusal | None = JoinRefusal.ALREADY_MEMBER
    elif existing is not None and existing.status == MemberStatus.SUSPENDED:
        refusal = JoinRefusal.SUSPENDED
    else:
        refusal = _invite_state(invite, now)
    if refusal is None and invite is not None and invite.created_by is not None:
        # An invite speaks for the person who made it: once they are suspended or removed, it no longer opens
        # their post to anyone (a removed chief's links could otherwise still bring people in for days).
        creator = await session.get(Member, invite.created_by)
        if creator is None or creator.status != MemberStatus.ACTIVE:
            refusal = JoinRefusal.REVOKED
    if refusal is not None:
        return JoinResult(existing, invite, refusal)
    assert invite is not None and invite.id is not None
    if not await claim_invite(session, invite_id=invite.id, now=now):
        # Someone else used the last use between our read and our write.
        return JoinResult(existing, invite, JoinRefusal.USED)
    member = existing or Member(telegram_id=telegram_id, chat_id=chat_id, display_name=display_name)
    member.chat_id = chat_id
    member.display_name = display_name[:128]
    member.username = username
    member.post_code = invite.post_code
    member.service_code = invite.service_code
    member.role = invite.role
    member.status = MemberStatus.ACTIVE
    member.language = member.language or language
    member.reachable = True
    member.unreachable_since = None
    member.joined_at = now
    member.invited_by = invite.created_by
    session.add(member)
    await session.flush()
    await record_action(
        session,
        action="member.joined",
        at=now,
        actor_member_id=member.id,
        actor_telegram_id=telegram_id,
        object_type="invite",
        object_id=invite.id,
        post_code=invite.post_code,
        details={"role": invite.role, "service": invite.service_code},
    )
    return JoinResult(member, invite)


async def issue_invite(
    session: AsyncSession,
    *,
    role: str,
    post_code: str | None,
    service_code: str | None,
    created_by: int | None,
    now: datetime,
    expires_at: datetime,
    via: str = "bot",
    request_key: str | None = None,
) -> tuple[Invite, str | None]:
    """Create an invite and audit it; returns the row and the clear code (shown once).

    With a `request_key` (the press that asked for it), a request handled twice returns the invite it made
    the first time and no code (only its hash is stored: the first answer showed it).
    """
    if request_key is not None:
        existing = await find_requested_invite(session, request_key=request_key)
        if existing is not None:
            return existing, None
    invite, code = await create_invite(
        session,
        role=role,
        post_code=post_code,
        service_code=service_code,
        created_by=created_by,
        now=now,
        expires_at=expires_at,
        request_key=request_key,
    )
    await record_action(
        session,
        action="invite.created",
        at=now,
        actor_member_id=created_by,
        object_type="invite",
        object_id=invite.id,
        post_code=post_code,
        details={"role": role, "service": service_code, "via": via},
    )
    return invite, code
