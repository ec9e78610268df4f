"""What a newcomer and a member read about themselves: identity, welcome, help, the language question."""

from __future__ import annotations

import html

from telegram import InlineKeyboardMarkup

from bot.callbacks import encode
from bot.features import FeatureSet
from bot.i18n import N_, Translator
from bot.keyboards import inline
from bot.menu import commands_for
from bot.runtime import Runtime
from bot.texts import role_name
from db.members import Member, Role
from db.onboarding import JoinRefusal

PREFIX = "lg"
REFUSALS = {
    JoinRefusal.UNKNOWN: N_(
        "This invite code is not valid. Check the link, or ask your post chief for a new one."
    ),
    JoinRefusal.EXPIRED: N_("This invite has expired. Ask your post chief for a new one."),
    JoinRefusal.USED: N_(
        "This invite has already been used: each invite works once. Ask your post chief for a new one."
    ),
    JoinRefusal.REVOKED: N_("This invite was withdrawn. Ask your post chief for a new one."),
}
LANGUAGE_QUESTION = N_("Which language do you prefer?")


def identity_text(runtime: Runtime, tr: Translator, member: Member) -> str:
    """'You are <role>, <service>, at <post>.' in the reader's language."""
    _ = tr.gettext
    if member.role in (Role.COORDINATOR, Role.ADMIN):
        return _("You are {role}: you follow every post.").format(role=role_name(tr, member.role))
    return _("You are {role}, {service}, at the post of {post}.").format(
        role=role_name(tr, member.role),
        service=html.escape(runtime.config.service_name(member.service_code, tr.language)),
        post=html.escape(runtime.config.post_name(member.post_code)),
    )


def help_text(features: FeatureSet, tr: Translator, member: Member) -> str:
    """The commands this member may use, in their language."""
    lines = [f"<b>{tr.gettext('What you can do')}</b>"]
    lines += [f"/{c.name} — {tr.gettext(c.description)}" for c in commands_for(features, member)]
    return "\n".join(lines)


def welcome_text(runtime: Runtime, tr: Translator, member: Member) -> str:
    """The welcome: who they are and what they can do."""
    greeting = tr.gettext("Welcome to Liaison, {name}.").format(name=html.escape(member.display_name))
    identity = identity_text(runtime, tr, member)
    return f"<b>{greeting}</b>\n{identity}\n\n{help_text(runtime.features, tr, member)}"


def language_keyboard(first_time: bool) -> InlineKeyboardMarkup:
    """Two buttons, one per language, each labelled in its own language."""
    action = "first" if first_time else "set"
    return inline(
        [[("🇫🇷 Français", encode(PREFIX, action, "fr")), ("🇬🇧 English", encode(PREFIX, action, "en"))]]
    )
