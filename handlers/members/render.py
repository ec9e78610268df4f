"""What /members shows: a post's roster, one member's card with its buttons, the questions before suspending
or removing someone, and the confirmations."""

from __future__ import annotations

import html
from collections.abc import Sequence

from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove

from bot.access import asks_post_chief
from bot.callbacks import encode
from bot.config import Config, PostConfig
from bot.i18n import N_, Translator
from bot.keyboards import columns, inline, main_keyboard
from bot.texts import fit_lines, role_and_service
from db.members import Member, MemberStatus

PREFIX = "mb"
MAX_BUTTONS = 40  # beyond this a keyboard is unusable on a small phone
# Who changed a member's access, as that member is told: the role only, never the person (the audit log
# keeps who pressed the button).
ACTOR_ROLES = {
    # TRANSLATORS: who suspended, reinstated or removed someone, inside "...suspended by {actor}".
    "chief": N_("a post chief"),
    # TRANSLATORS: who suspended, reinstated or removed someone, inside "...suspended by {actor}".
    "coordinator": N_("a coordinator"),
    # TRANSLATORS: who suspended, reinstated or removed someone, inside "...suspended by {actor}".
    "admin": N_("an administrator"),
}


def member_line(config: Config, tr: Translator, member: Member) -> str:
    """One member: name, role, service (when they have one), and status flags."""
    flags = []
    if member.status == MemberStatus.SUSPENDED:
        # TRANSLATORS: a member's flag on the roster and their card; worded so it needs no gender in French.
        flags.append(tr.gettext("access suspended"))
    if not member.reachable:
        flags.append(tr.gettext("unreachable (blocked the bot)"))
    suffix = f" — <i>{', '.join(flags)}</i>" if flags else ""
    name = html.escape(member.display_name)
    role = html.escape(role_and_service(tr, config, member.role, member.service_code))
    return f"• {name} ({role}){suffix}"


def post_question(tr: Translator, posts: Sequence[PostConfig]) -> tuple[str, InlineKeyboardMarkup]:
    """Which post's members to list (coordinators follow every post)."""
    buttons = [(p.name, encode(PREFIX, "post", p.code)) for p in posts]
    return tr.gettext("Which post?"), columns(buttons, 1)


def roster(
    config: Config, tr: Translator, post_code: str, members: Sequence[Member], manageable: Sequence[Member]
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The member list of a post, with one button per member the reader may manage."""
    header = tr.ngettext("{post}: {n} member", "{post}: {n} members", len(members)).format(
        post=html.escape(config.post_name(post_code)), n=len(members)
    )
    lines = [f"<b>{header}</b>", *fit_lines(tr, [member_line(config, tr, m) for m in members])]
    buttons = [(f"⚙ {m.display_name[:30]}", encode(PREFIX, "open", m.id)) for m in manageable[:MAX_BUTTONS]]
    return "\n".join(lines), columns(buttons, 2) if buttons else None


def member_card(config: Config, tr: Translator, target: Member) -> tuple[str, InlineKeyboardMarkup]:
    """One member with the buttons to suspend (or reinstate) and remove them."""
    toggle = (
        (tr.gettext("Reinstate"), encode(PREFIX, "rei", target.id))
        if target.status == MemberStatus.SUSPENDED
        else (tr.gettext("Suspend"), encode(PREFIX, "sus", target.id))
    )
    rows = [[toggle, (tr.gettext("Remove"), encode(PREFIX, "rm", target.id))], *_back_row(tr, target)]
    return member_line(config, tr, target), inline(rows)


def _back_row(tr: Translator, target: Member) -> list[list[tuple[str, str]]]:
    """The button back to the roster the member was opened from: their post's (none for a member of no post,
    who is on no roster). The press is the list's own, re-checked like a coordinator's choice of post."""
    if not target.post_code:
        return []
    return [[(tr.gettext("↩️ Back"), encode(PREFIX, "post", target.post_code))]]


def back_keyboard(tr: Translator, target: Member) -> InlineKeyboardMarkup | None:
    """Only the way back to the roster (under a removal's outcome: nothing else is left to do there)."""
    rows = _back_row(tr, target)
    return inline(rows) if rows else None


def removal_question(tr: Translator, target: Member) -> tuple[str, InlineKeyboardMarkup]:
    """Ask before removing someone: it cannot be undone from the bot."""
    text = tr.gettext("Remove {name} from Liaison? They will no longer be able to use anything.")
    return _question(tr, text, target, (tr.gettext("Yes, remove"), "rmok"))


def suspension_question(tr: Translator, target: Member) -> tuple[str, InlineKeyboardMarkup]:
    """Ask before suspending someone: a slip of the thumb on a small phone must not lock a colleague out."""
    text = tr.gettext(
        "Suspend {name}? They will no longer receive alerts or notices and will not be able to use Liaison "
        "until reinstated. They will be told."
    )
    return _question(tr, text, target, (tr.gettext("Yes, suspend"), "susok"))


def _question(
    tr: Translator, template: str, target: Member, yes: tuple[str, str]
) -> tuple[str, InlineKeyboardMarkup]:
    """A question about a member with its two answers: yes (label, action) and No, back to their card."""
    label, action = yes
    keyboard = inline(
        [[(label, encode(PREFIX, action, target.id)), (tr.gettext("No"), encode(PREFIX, "open", target.id))]]
    )
    return template.format(name=html.escape(target.display_name)), keyboard


def status_changed(tr: Translator, status: MemberStatus, name: str) -> tuple[str, str]:
    """What a change of status says: as the press's answer (plain text) and as a message (HTML). Worded
    about the access, not the person, so French needs no gender ("suspendu" or "suspendue")."""
    template = {
        MemberStatus.SUSPENDED: tr.gettext("{name}'s access suspended."),
        MemberStatus.ACTIVE: tr.gettext("{name}'s access restored."),
        MemberStatus.REMOVED: removed_text(tr),
    }[status]
    return template.format(name=name), template.format(name=html.escape(name))


def removed_text(tr: Translator) -> str:
    """'{name} was removed from Liaison.': a removal's outcome, and the answer to a button about someone
    removed meanwhile (a template: the caller fills in the name)."""
    # TRANSLATORS: worded so it needs no gender in French ("ne fait plus partie de Liaison").
    return tr.gettext("{name} was removed from Liaison.")


def access_notice(
    config: Config, tr: Translator, status: MemberStatus, actor_role: str, target: Member
) -> str:
    """What a suspended, reinstated or removed member is told, in their language (HTML): the post, the
    actor's role, and whom to ask (a chief's questions, and any about a coordinator's decision, go to a
    coordinator; an agent's to their post chief)."""
    actor = tr.gettext(ACTOR_ROLES.get(actor_role, ACTOR_ROLES["coordinator"]))  # agents manage nobody
    post_code = target.post_code
    post = html.escape(config.post_name(post_code))
    if status == MemberStatus.ACTIVE:
        if post_code:
            return tr.gettext(
                "Your access to Liaison at the {post} post is back: {actor} reinstated it. "
                "Send /help to see what you can do."
            ).format(post=post, actor=actor)
        return tr.gettext(
            "Your access to Liaison is back: {actor} reinstated it. Send /help to see what you can do."
        ).format(actor=actor)
    if status == MemberStatus.SUSPENDED:
        if post_code:
            template = tr.gettext("Your access to Liaison at the {post} post has been suspended by {actor}.")
        else:
            template = tr.gettext("Your access to Liaison has been suspended by {actor}.")
    elif post_code:
        template = tr.gettext("Your access to Liaison at the {post} post has been removed by {actor}.")
    else:
        template = tr.gettext("Your access to Liaison has been removed by {actor}.")
    text = template.format(post=post, actor=actor)
    if not post_code:
        return text  # a coordinator or an administrator: they know whom to ask
    if asks_post_chief(target, decided_by=actor_role):
        contact = tr.gettext("Contact your post chief.")
    else:
        contact = tr.gettext("Contact a coordinator.")
    return f"{text} {contact}"


def access_keyboard(
    tr: Translator, status: MemberStatus, post_code: str | None
) -> ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    """The persistent keys that go with the access note: the 🚨 key leaves with the access (a suspended or
    removed agent tapping it was only refused) and comes back with it (a member of no post never had it)."""
    if status in (MemberStatus.SUSPENDED, MemberStatus.REMOVED):
        return ReplyKeyboardRemove()
    return main_keyboard(tr) if post_code else None
