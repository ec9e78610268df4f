"""Invites, without Telegram: what a member may invite, the choices each step offers, and issuing the invite.

Every choice is checked again from the member and the configuration (bot/access.py decides): a press is never
trusted to name a role, a post or a service its author may hand out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.access import INVITABLE_ROLES, can_invite, invite_names_post, may_lead_whole_post
from bot.config import Config, PostConfig
from bot.runtime import Runtime
from db.members import Member, Role
from db.onboarding import issue_invite


@dataclass(frozen=True)
class IssuedInvite:
    """A new invite as its creator sees it, once: its clear code is stored nowhere."""

    code: str
    role: Role
    post_code: str | None
    service_code: str | None
    expires_at: datetime
    # The zone of the post the invite is for: the inviter may sit in another one.
    zone: str


def invitable_roles(member: Member) -> tuple[Role, ...]:
    """The roles a member may hand out, lowest first (none for an agent)."""
    return INVITABLE_ROLES[Role(member.role)]


def sole_choice(member: Member) -> tuple[Role, str] | None:
    """The role and post of an inviter who has only one of each (a chief: agents of their post), else None."""
    roles = invitable_roles(member)
    if len(roles) == 1 and invite_names_post(roles[0]) and member.post_code:
        return roles[0], member.post_code
    return None


def may_choose_role(config: Config, member: Member, role: Role) -> bool:
    """Whether a member may invite `role` anywhere at all."""
    return can_invite(member, role, None) or any(can_invite(member, role, p.code) for p in config.posts)


def needs_post(role: Role) -> bool:
    """Whether the wizard still asks a post and a service for `role` (coordinators' invites name neither)."""
    return invite_names_post(role)


def posts_for(config: Config, member: Member, role: Role) -> list[PostConfig]:
    """The posts where a member may invite `role`, in the configuration's order."""
    return [p for p in config.posts if can_invite(member, role, p.code)]


def may_choose_post(config: Config, member: Member, role: Role, post_code: str) -> bool:
    """Whether `post_code` is a post where the member may invite `role`."""
    return config.find_post(post_code) is not None and can_invite(member, role, post_code)


def service_choices(config: Config, role: Role, post_code: str) -> list[str | None]:
    """The services `role` may join at a post; None stands for the whole post (a chief of no service)."""
    choices: list[str | None] = list(config.post_services(post_code))
    if may_lead_whole_post(role):
        choices.append(None)
    return choices


def may_choose_service(
    config: Config, member: Member, role: Role, post_code: str, service_code: str | None
) -> bool:
    """Whether the member may invite `role` at that post for that service (None: the whole post)."""
    return (
        config.find_post(post_code) is not None
        and service_code in service_choices(config, role, post_code)
        and can_invite(member, role, post_code)
    )


async def issue(
    session: AsyncSession,
    runtime: Runtime,
    member: Member,
    *,
    role: Role,
    post_code: str | None,
    service_code: str | None,
    request_key: str,
) -> IssuedInvite | None:
    """Create and audit the invite; None when the same request came before (its code was shown then)."""
    now = runtime.clock.now()
    expires_at = now + timedelta(hours=runtime.config.invites.ttl_hours)
    _, code = await issue_invite(
        session,
        role=role,
        post_code=post_code,
        service_code=service_code,
        created_by=member.id,
        now=now,
        expires_at=expires_at,
        request_key=request_key,
    )
    if code is None:
        return None
    return IssuedInvite(
        code=code,
        role=role,
        post_code=post_code,
        service_code=service_code,
        expires_at=expires_at,
        zone=runtime.config.post_zone(post_code or member.post_code),
    )
