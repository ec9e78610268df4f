"""Managing members, without Telegram: suspend, reinstate or remove, re-checked and audited."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.access import can_manage
from bot.runtime import Runtime
from db.audit import record_action
from db.members import Member, MemberStatus, get_member, set_member_status


async def manageable_member(session: AsyncSession, actor: Member, member_id: int | None) -> Member | None:
    """The member `actor` may manage, or None (unknown, removed, a peer or a superior, another post)."""
    target = await get_member(session, member_id=member_id) if member_id is not None else None
    if target is None or target.status == MemberStatus.REMOVED or not can_manage(actor, target):
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
        )
    target.status = status
    return changed
