"""Who may do what, on which post, to which object: the one place where roles and scopes are decided.

Every feature asks here; handlers never compare roles themselves. Callback data is never trusted: the handler
loads the object named by a press and asks one of these rules again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

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
    INVITE = "invite"  # open the invite wizard at all (what may be invited: INVITABLE_ROLES)
    INVITE_AGENT = "invite_agent"
    INVITE_CHIEF = "invite_chief"
    INVITE_COORDINATOR = "invite_coordinator"
    BROADCAST = "broadcast"
    MANAGE_REMINDERS = "manage_reminders"
    VIEW_DELIVERY = "view_delivery"
    REVIEW = "review"  # read and export logs across posts
    WRITE_HANDOVER = "write_handover"  # write one's service's shift handover at one's post
    READ_HANDOVERS = "read_handovers"  # follow every service's handovers of a post (/handovers)
    # /meeting: the floor is any member; config.yaml's meetings.writers says which roles (may_write_minutes).
    WRITE_MINUTES = "write_minutes"
    FOLLOW_ACTIONS = "follow_actions"  # /actions: one's own and one's service's action items
    FOLLOW_POST_ACTIONS = "follow_post_actions"  # every action item of the post
    FOLLOW_NOTICES = "follow_notices"  # see who has not read a post's notices, remind them
    REVIEW_POST = "review_post"  # read and export one's own post's log, its digest


# The lowest role that may do each action on its own post; coordinators and admins act on every post.
MINIMUM_ROLE: dict[Action, Role] = {
    Action.USE: Role.AGENT,
    Action.VIEW_POST: Role.AGENT,
    Action.RAISE_ALERT: Role.AGENT,
    Action.ACKNOWLEDGE: Role.AGENT,
    Action.RESOLVE_ANY: Role.CHIEF,
    Action.LIST_MEMBERS: Role.CHIEF,
    Action.MANAGE_MEMBERS: Role.CHIEF,
    Action.INVITE: Role.CHIEF,
    Action.INVITE_AGENT: Role.CHIEF,
    Action.INVITE_CHIEF: Role.COORDINATOR,
    Action.INVITE_COORDINATOR: Role.ADMIN,
    Action.BROADCAST: Role.CHIEF,
    Action.MANAGE_REMINDERS: Role.CHIEF,
    Action.VIEW_DELIVERY: Role.CHIEF,
    Action.REVIEW: Role.COORDINATOR,
    Action.WRITE_HANDOVER: Role.AGENT,
    Action.READ_HANDOVERS: Role.CHIEF,
    Action.WRITE_MINUTES: Role.AGENT,
    Action.FOLLOW_ACTIONS: Role.AGENT,
    Action.FOLLOW_POST_ACTIONS: Role.CHIEF,
    Action.FOLLOW_NOTICES: Role.CHIEF,
    Action.REVIEW_POST: Role.CHIEF,
}

# Actions done as a member of one service at one's own post: coordinators and admins, who follow every post
# from no service, and a chief of the whole post (no service) do not do them (nor see them in their menu).
SERVICE_MEMBER_ACTIONS = frozenset({Action.WRITE_HANDOVER})

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
    return is_global_role(member.role)


def is_global_role(role: str) -> bool:
    """Whether a role (as stored, or named in a log entry) follows every post; an unknown name does not."""
    return role in RANK and RANK[Role(role)] >= RANK[Role.COORDINATOR]


def is_post_chief(member: Member) -> bool:
    """A post's chief (coordinators and admins follow every post and are no post's chief)."""
    return member.role == Role.CHIEF


def answers_for_absent_services(member: Member) -> bool:
    """A post chief or a coordinator answers, with Seen or Taking action, for required services with nobody at
    the post (they reach them by other means), the alert's author included."""
    return is_post_chief(member) or is_global(member)


def can(member: Member | None, action: Action, post_code: str | None = None) -> bool:
    """True when `member` may do `action` on `post_code` (None: on their own post)."""
    if member is None or not member.is_active:
        return False
    if rank(member) < RANK[MINIMUM_ROLE[action]]:
        return False
    if action in SERVICE_MEMBER_ACTIONS and (is_global(member) or member.service_code is None):
        return False
    if is_global(member):
        return True
    return post_code is None or post_code == member.post_code


def require(member: Member | None, action: Action, post_code: str | None = None) -> Member:
    """Return the member when allowed, else raise AccessDenied."""
    if member is None or not can(member, action, post_code):
        raise AccessDenied(action)
    return member


def visible_posts(member: Member, all_posts: Iterable[str]) -> list[str]:
    """Posts whose content this member may read."""
    if is_global(member):
        return list(all_posts)
    return [member.post_code] if member.post_code else []


# ----- members and invites ------------------------------------------------------------------------------


def can_invite(member: Member | None, role: Role, post_code: str | None) -> bool:
    """True when `member` may create an invite for `role` at `post_code`."""
    if member is None or not member.is_active:
        return False
    if role not in INVITABLE_ROLES[Role(member.role)]:
        return False
    return is_global(member) or post_code == member.post_code


def invite_names_post(role: Role) -> bool:
    """Agents and chiefs are invited to a post; coordinators follow every post, so their invite names none."""
    return not is_global_role(role)


def may_lead_whole_post(role: Role) -> bool:
    """A chief may be invited for the whole post (no service); an agent always belongs to one service."""
    return role == Role.CHIEF


def asks_post_chief(member: Member, *, decided_by: str | None) -> bool:
    """Whom a member whose access was suspended or removed turns to: their post chief when a chief decided
    about an agent of the post; a coordinator otherwise (a chief's access, a coordinator's decision, or one
    whose author is unknown)."""
    return bool(member.post_code) and member.role == Role.AGENT and decided_by == Role.CHIEF


def can_manage(actor: Member | None, target: Member) -> bool:
    """True when `actor` may suspend, reinstate or remove `target`."""
    if actor is None or actor.id == target.id or not can(actor, Action.MANAGE_MEMBERS, target.post_code):
        return False
    # Nobody manages a peer or a superior; chiefs manage the agents of their own post.
    return rank(actor) > rank(target)


# ----- alerts -------------------------------------------------------------------------------------------


def may_raise_alert(member: Member | None, post_code: str | None) -> bool:
    """A post's agents and chiefs raise alerts at their post."""
    return member is not None and bool(post_code) and can(member, Action.RAISE_ALERT, post_code)


def may_acknowledge(member: Member, post_code: str) -> bool:
    """Members of a post acknowledge its alerts for their service; coordinators for any post."""
    return can(member, Action.ACKNOWLEDGE, post_code)


def may_resolve_alert(member: Member, *, author_member_id: int, post_code: str) -> bool:
    """The author, a chief of the alert's post, or a coordinator may resolve."""
    return member.is_active and (member.id == author_member_id or can(member, Action.RESOLVE_ANY, post_code))


def reads_every_service(member: Member, *, author_member_id: int, posts: Iterable[str]) -> bool:
    """Who sees every service's line on their copy: the author, chiefs of the posts concerned, and
    coordinators."""
    if member.id == author_member_id or is_global(member):
        return True
    return member.role == Role.CHIEF and member.post_code in set(posts)


def partner_reader(member: Member, *, open_: bool, posts: Iterable[str]) -> bool:
    """A member of a post an open (cross-border) alert went to, who may acknowledge it late."""
    return (
        open_
        and member.post_code in set(posts)
        and can(member, Action.ACKNOWLEDGE, member.post_code)
        and can(member, Action.VIEW_POST, member.post_code)
    )


def may_see_alert(
    member: Member, *, has_copy: bool, open_: bool, post_code: str, posts: Iterable[str]
) -> bool:
    """Those who received it, readers of its post, and members of a partner post while it is open."""
    return (
        has_copy
        or can(member, Action.VIEW_POST, post_code)
        or partner_reader(member, open_=open_, posts=posts)
    )


def acknowledging_post(member: Member, *, post_code: str, posts: Iterable[str]) -> str | None:
    """For someone without a copy: the post they would acknowledge for (None: they may not)."""
    if member.post_code in set(posts) and can(member, Action.ACKNOWLEDGE, member.post_code):
        return member.post_code
    if is_global(member):
        return post_code
    return None


# ----- reminders ----------------------------------------------------------------------------------------


def reminder_for_coordinators(*, post_code: str | None, audience: Mapping[str, Any]) -> bool:
    """A reminder tied to no post, or addressed to the coordinators, goes to the coordinators (and admins)
    who follow every post, not to a post's members."""
    return post_code is None or audience.get("role") in (Role.COORDINATOR, Role.ADMIN)


def reminder_addressed_to(member: Member, *, post_code: str | None, audience: Mapping[str, Any]) -> bool:
    """Whether `member` is among a reminder's recipients (the rule of the reminder's audience)."""
    role = audience.get("role")
    if reminder_for_coordinators(post_code=post_code, audience=audience):
        return is_global(member)
    if member.post_code != post_code:
        return False
    if audience.get("service"):
        return bool(member.service_code == audience["service"])
    return not role or member.role == role


def sees_every_reminder(member: Member) -> bool:
    """Chiefs and coordinators follow every reminder of their posts; agents only those addressed to them."""
    return is_global(member) or member.role == Role.CHIEF


def may_change_reminder(member: Member, *, post_code: str | None) -> bool:
    """Chiefs change their post's reminders; coordinators every post's and those tied to no post."""
    return can(member, Action.MANAGE_REMINDERS, post_code) and (post_code is not None or is_global(member))


# ----- handovers ----------------------------------------------------------------------------------------


def may_write_handover(member: Member | None) -> bool:
    """Members of a service at a post write their service's handover there (coordinators have neither)."""
    return (
        member is not None
        and bool(member.post_code)
        and bool(member.service_code)
        and not is_global(member)
        and can(member, Action.WRITE_HANDOVER, member.post_code)
    )


def reads_handover(member: Member, *, post_code: str, service_code: str, readers: str) -> bool:
    """The service's members and the chiefs of its post (every member when `readers` is "post"), and
    coordinators; other services and other posts do not read it."""
    if not member.is_active:
        return False
    if is_global(member):
        return True
    if member.post_code != post_code:
        return False
    return member.role == Role.CHIEF or readers == "post" or member.service_code == service_code


def may_accept_handover(member: Member, *, post_code: str, service_code: str, author_member_id: int) -> bool:
    """The incoming shift: a member of the same service at the same post, other than the author."""
    return (
        member.id != author_member_id
        and member.post_code == post_code
        and member.service_code == service_code
        and may_write_handover(member)
    )


def may_follow_handovers(member: Member | None, post_code: str | None) -> bool:
    """Chiefs follow their post's handovers (/handovers); coordinators every post's."""
    return member is not None and bool(post_code) and can(member, Action.READ_HANDOVERS, post_code)


# ----- meetings and action items ------------------------------------------------------------------------


def may_write_minutes(member: Member | None, post_code: str | None, *, writers: Iterable[str]) -> bool:
    """Roles listed in config.yaml (meetings.writers) write minutes for their own post (None: their own);
    coordinators, and admins when coordinators are listed, for any post."""
    if member is None or not can(member, Action.WRITE_MINUTES, post_code):
        return False
    roles = set(writers)
    if Role.COORDINATOR in roles:
        roles.add(Role.ADMIN)
    if member.role not in roles:
        return False
    return is_global(member) or bool(member.post_code)


def may_read_meeting(member: Member, *, posts: Iterable[str], reader: bool) -> bool:
    """Those who received the minutes, members of the posts they went to (both, for a joint meeting), and
    coordinators; nobody else."""
    if not member.is_active:
        return False
    return reader or is_global(member) or (member.post_code in set(posts) and can(member, Action.VIEW_POST))


def may_correct_minutes(
    member: Member, *, author_member_id: int, post_code: str, writers: Iterable[str]
) -> bool:
    """The author, or whoever may write minutes for the meeting's post, sends a correction (an addendum)."""
    return member.is_active and (
        member.id == author_member_id or may_write_minutes(member, post_code, writers=writers)
    )


def follows_minutes_card(member: Member, *, author_member_id: int | None, posts: Iterable[str]) -> bool:
    """The minutes' author and the chiefs of the posts the meeting concerned follow them on a status card
    (who has read them, corrections); everyone else gets a plain copy."""
    return member.id == author_member_id or (member.role == Role.CHIEF and member.post_code in set(posts))


def owns_action(
    member: Member, *, post_code: str, owner_service: str | None, owner_member_id: int | None
) -> bool:
    """The person an action item names, or a member of the owning service at the item's post."""
    if not member.is_active:
        return False
    if owner_member_id is not None:
        return member.id == owner_member_id
    return owner_service is not None and (member.post_code, member.service_code) == (post_code, owner_service)


def may_update_action(
    member: Member,
    *,
    post_code: str,
    owner_service: str | None,
    owner_member_id: int | None,
    author_member_id: int,
    meeting_posts: Iterable[str],
) -> bool:
    """Owners mark an item done and note progress; so do the minutes' author, chiefs of the posts the
    meeting concerned and coordinators."""
    if owns_action(member, post_code=post_code, owner_service=owner_service, owner_member_id=owner_member_id):
        return True
    if not member.is_active:
        return False
    if member.id == author_member_id or is_global(member):
        return True
    return member.role == Role.CHIEF and member.post_code in {post_code, *meeting_posts}


def may_see_action(
    member: Member,
    *,
    post_code: str,
    owner_service: str | None,
    owner_member_id: int | None,
    author_member_id: int,
    meeting_posts: Iterable[str],
) -> bool:
    """Whoever may update an item, and whoever may read its minutes."""
    return may_update_action(
        member,
        post_code=post_code,
        owner_service=owner_service,
        owner_member_id=owner_member_id,
        author_member_id=author_member_id,
        meeting_posts=meeting_posts,
    ) or may_read_meeting(member, posts=meeting_posts, reader=False)


def sees_post_actions(member: Member, post_code: str | None = None) -> bool:
    """Chiefs follow every action item of their post in /actions; coordinators every post's."""
    return can(member, Action.FOLLOW_POST_ACTIONS, post_code)


# ----- notices ------------------------------------------------------------------------------------------

# Who reads a post's notices: its agents and chiefs (coordinators follow posts, they are not their staff).
NOTICE_READER_ROLES = (Role.AGENT, Role.CHIEF)


def notice_posts(member: Member, all_posts: Iterable[str]) -> list[str]:
    """Posts a member may send a notice to: a chief their own post, a coordinator any post."""
    return [p for p in all_posts if can(member, Action.BROADCAST, p)]


def may_send_notice(member: Member | None, posts: Iterable[str]) -> bool:
    """Chiefs send to their own post only; coordinators to one, several or all posts."""
    chosen = list(posts)
    return (
        member is not None
        and bool(chosen)
        and all(can(member, Action.BROADCAST, p) for p in chosen)
        and (is_global(member) or chosen == [member.post_code])
    )


def notice_addressed_to(member: Member, *, posts: Iterable[str], audience: Mapping[str, Any]) -> bool:
    """Whether a post member is among a notice's readers: everyone, some services, or the chiefs."""
    if not member.is_active or member.post_code not in set(posts) or member.role not in NOTICE_READER_ROLES:
        return False
    kind = audience.get("kind", "everyone")
    if kind == "chiefs":
        return bool(member.role == Role.CHIEF)
    if kind == "services":
        return member.service_code in set(audience.get("services") or ())
    return True


def may_follow_notice(member: Member | None, *, author_member_id: int, posts: Iterable[str]) -> bool:
    """Who sees who has read a notice and may remind them: its sender, the chiefs of the (one) post it went
    to, and coordinators."""
    if member is None or not member.is_active:
        return False
    if member.id == author_member_id:
        return True
    chosen = list(posts)
    return bool(chosen) and all(can(member, Action.FOLLOW_NOTICES, p) for p in chosen)


# ----- review -------------------------------------------------------------------------------------------


def review_posts(member: Member | None) -> list[str] | None:
    """The posts whose log a member may read: None for every post (coordinators: entries tied to no post
    too), their own post for a chief, [] for anyone else."""
    if member is None or not member.is_active:
        return []
    if can(member, Action.REVIEW):
        return None
    if member.post_code and can(member, Action.REVIEW_POST, member.post_code):
        return [member.post_code]
    return []


def may_review_post(member: Member | None, post_code: str | None) -> bool:
    """Whether a member may read one post's log (None: the entries tied to no post, coordinators only)."""
    scope = review_posts(member)
    return scope is None or (post_code is not None and post_code in scope)
