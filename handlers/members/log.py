"""How joining, invites and member changes read in the review log (onboarding, invites and members)."""

from __future__ import annotations

import html

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.access import is_global_role
from bot.features import LogKind
from bot.i18n import N_, Translator
from bot.runtime import Runtime
from bot.texts import membership, role_and_service
from db.audit import AuditEntry
from db.invites import get_invite
from db.members import Member, MemberStatus, get_member

# Worded about the access, not the person, so French needs no gender.
STATUS_NAMES = {
    MemberStatus.ACTIVE: N_("access active"),
    MemberStatus.SUSPENDED: N_("access suspended"),
    MemberStatus.REMOVED: N_("access removed"),
}


def _role_and_service(tr: Translator, runtime: Runtime, entry: AuditEntry) -> str:
    """The role and service an entry names (plain text)."""
    details = entry.details or {}
    service = details.get("service")
    return role_and_service(
        tr, runtime.config, str(details.get("role", "agent")), str(service) if service else None
    )


def member_name(entry: AuditEntry, tr: Translator) -> str:
    """The member an entry is about, as the review log names them when it shows the entry (never their id)."""
    name = (entry.details or {}).get("member_name")
    return str(name) if name else tr.gettext("a member")


def unreachable_line(entry: AuditEntry, tr: Translator) -> str:
    """'Awa cannot be reached: they blocked the bot' (plain text)."""
    name = (entry.details or {}).get("member_name")
    if not name:
        return tr.gettext("A member cannot be reached: they blocked the bot")
    return tr.gettext("{name} cannot be reached: they blocked the bot").format(name=name)


def _status_change(entry: AuditEntry, tr: Translator, runtime: Runtime) -> str:
    """'Suspended John (National Police)': whose access changed, with their service when they have one."""
    name = member_name(entry, tr)
    if entry.service_code:
        # TRANSLATORS: a member's name and service, in a log line: "John (National Police)".
        name = tr.gettext("{name} ({service})").format(
            name=name, service=runtime.config.service_name(entry.service_code, tr.language)
        )
    if entry.action == "member.suspended":
        return tr.gettext("Suspended {name}").format(name=name)
    if entry.action == "member.active":
        return tr.gettext("Reinstated {name}").format(name=name)
    return tr.gettext("Removed {name}").format(name=name)


def summary(entry: AuditEntry, tr: Translator, runtime: Runtime) -> str:
    """One line for a member or invite entry, in the reader's language (plain text)."""
    action = entry.action
    if action == "member.joined":
        role = _role_and_service(tr, runtime, entry)
        if is_global_role(str((entry.details or {}).get("role"))):
            # Coordinators and administrators join no post: they follow every one.
            return tr.gettext("Joined Liaison ({role})").format(role=role)
        return tr.gettext("Joined the post ({role})").format(role=role)
    if action == "invite.created":
        return tr.gettext("Invite created for a new member ({role})").format(
            role=_role_and_service(tr, runtime, entry)
        )
    if action in ("member.suspended", "member.active", "member.removed"):
        return _status_change(entry, tr, runtime)
    if action == "member.unreachable":
        return unreachable_line(entry, tr)
    return tr.gettext("Member: {action}").format(action=action)


async def detail(
    session: AsyncSession, runtime: Runtime, entry: AuditEntry, tr: Translator, reader: Member
) -> str | None:
    """The member concerned (or the invite): who, which role and service, where, and their status now."""
    try:
        object_id = int(entry.object_id or "")
    except ValueError:
        return None
    member: Member | None = None
    if entry.object_type == "member":
        member = await get_member(session, member_id=object_id)
    elif entry.object_type == "invite":
        invite = await get_invite(session, invite_id=object_id)
        if invite is None:
            return None
        if entry.action == "member.joined" and entry.actor_member_id is not None:
            member = await get_member(session, member_id=entry.actor_member_id)
        else:
            zone = runtime.config.post_zone(invite.post_code)
            who = membership(tr, runtime.config, invite.role, invite.service_code, invite.post_code)
            return "\n".join(
                [
                    "<b>" + html.escape(tr.gettext("Invite #{id}").format(id=invite.id)) + "</b>",
                    html.escape(tr.gettext("For a new member: {who}")).format(who=who),
                    html.escape(
                        tr.gettext("Used {uses} of {max} times, valid until {time}").format(
                            uses=invite.uses, max=invite.max_uses, time=tr.datetime(invite.expires_at, zone)
                        )
                    ),
                ]
            )
    if member is None:
        return None
    # A coordinator belongs to no post: their times in the coordinators' zone, as the entry's "When" is.
    home = member.post_code or entry.post_code
    zone = runtime.config.post_zone(home) if home else runtime.config.review.timezone
    lines = [
        "<b>" + html.escape(member.display_name) + "</b>",
        membership(tr, runtime.config, member.role, member.service_code, member.post_code),
        html.escape(
            tr.gettext("Member since {time} · {status}").format(
                time=tr.datetime(member.joined_at, zone),
                status=tr.gettext(STATUS_NAMES.get(MemberStatus(member.status), member.status)),
            )
        ),
    ]
    if not member.reachable and member.unreachable_since is not None:
        lines.append(
            html.escape(
                tr.gettext("Cannot be reached since {time}").format(
                    time=tr.datetime(member.unreachable_since, zone)
                )
            )
        )
    return "\n".join(lines)


LOG_KIND = LogKind(
    key="members",
    # TRANSLATORS: a kind of entries in the review log (joining, invites, suspensions).
    label=N_("Members"),
    action_prefixes=("member.", "invite."),
    summary=summary,
    detail=detail,
    service_of_subject=True,
)
