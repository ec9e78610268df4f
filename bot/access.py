"""Who may do what, on which post: the one place where roles are decided."""

from __future__ import annotations

from enum import StrEnum

from db.members import Member, Role

RANK = {Role.AGENT: 0, Role.CHIEF: 1, Role.COORDINATOR: 2, Role.ADMIN: 3}


class Action(StrEnum):
    """Things a member may try to do."""

    USE = "use"  # any command of the bot at all
    VIEW_POST = "view_post"  # read a post's content (alerts, notices, members' names)
    RAISE_ALERT = "raise_alert"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE_ANY = "resolve_any"  # resolve content one did not author
    LIST_MEMBERS = "list_members"
    MANAGE_MEMBERS = "manage_members"  # suspend, reinstate, remove
    INVITE_AGENT = "invite_agent"
    INVITE_CHIEF = "invite_chief"
    INVITE_COORDINATOR = "invite_coordinator"
    BROADCAST = "broadcast"
    MANAGE_REMINDERS = "manage_reminders"
    VIEW_DELIVERY = "view_delivery"
    REVIEW = "review"  # read and export logs across posts


# The lowest role that may do each action on its own post; coordinators and admins act on every post.
MINIMUM_ROLE: dict[Action, Role] = {
    Action.USE: Role.AGENT,
    Action.VIEW_POST: Role.AGENT,
    Action.RAISE_ALERT: Role.AGENT,
    Action.ACKNOWLEDGE: Role.AGENT,
    Action.RESOLVE_ANY: Role.CHIEF,
    Action.LIST_MEMBERS: Role.CHIEF,
    Action.MANAGE_MEMBERS: Role.CHIEF,
    Action.INVITE_AGENT: Role.CHIEF,
    Action.INVITE_CHIEF: Role.COORDINATOR,
    Action.INVITE_COORDINATOR: Role.ADMIN,
    Action.BROADCAST: Role.CHIEF,
    Action.MANAGE_REMINDERS: Role.CHIEF,
    Action.VIEW_DELIVERY: Role.CHIEF,
    Action.REVIEW: Role.COORDINATOR,
}

# Roles each role may hand out through an invite.
INVITABLE_ROLES: dict[Role, tuple[Role, ...]] = {
    Role.AGENT: (),
    Role.CHIEF: (Role.AGENT,),
    Role.COORDINATOR: (Role.AGENT, Role.CHIEF),
    Role.ADMIN: (Role.AGENT, Role.CHIEF, Role.COORDINATOR),
}


class AccessDenied(Exception):
    """Raised when a member tries something their role or post does not allow."""


def rank(member: Member) -> int:
    """The numeric rank of a member's role."""
    return RANK[Role(member.role)]


def is_global(member: Member) -> bool:
    """Coordinators and admins follow every post."""
    return rank(member) >= RANK[Role.COORDINATOR]


def can(member: Member | None, action: Action, post_code: str | None = None) -> bool:
    """True when `member` may do `action` on `post_code` (None: on their own post)."""
    if member is None or not member.is_active:
        return False
    if rank(member) < RANK[MINIMUM_ROLE[action]]:
        return False
    if is_global(member):
        return True
    return post_code is None or post_code == member.post_code


def require(member: Member | None, action: Action, post_code: str | None = None) -> Member:
    """Return the member when allowed, else raise AccessDenied."""
    if not can(member, action, post_code):
        raise AccessDenied(action)
    assert member is not None
    return member


def can_invite(member: Member | None, role: Role, post_code: str | None) -> bool:
    """True when `member` may create an invite for `role` at `post_code`."""
    if member is None or not member.is_active:
        return False
    if role not in INVITABLE_ROLES[Role(member.role)]:
        return False
    return is_global(member) or post_code == member.post_code


def can_manage(actor: Member | None, target: Member) -> bool:
    """True when `actor` may suspend, reinstate or remove `target`."""
    if actor is None or actor.id == target.id or not can(actor, Action.MANAGE_MEMBERS, target.post_code):
        return False
    # Nobody manages a peer or a superior; chiefs manage the agents of their own post.
    return rank(actor) > rank(target)


def visible_posts(member: Member, all_posts: list[str]) -> list[str]:
    """Posts whose content this member may read."""
    if is_global(member):
        return list(all_posts)
    return [member.post_code] if member.post_code else []
