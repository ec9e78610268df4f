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
    """Who the member is, in a sentence that reads naturally with or without a service."""
    _ = tr.gettext
    config = runtime.config
    if member.role == Role.ADMIN:
        return _("You are an administrator: you follow every post and may invite coordinators.")
    if member.role == Role.COORDINATOR:
        return _("You are a coordinator: you follow every post.")
    post = html.escape(config.post_name(member.post_code))
    service = (
        html.escape(config.service_name(member.service_code, tr.language)) if member.service_code else None
    )
    if member.role == Role.CHIEF:
        if service:
            return _("You are the chief of the {post} post ({service}).").format(post=post, service=service)
        return _("You are the chief of the {post} post.").format(post=post)
    if service:
        return _("You are an agent of {service} at the {post} post.").format(service=service, post=post)
    return _("You are an agent at the {post} post.").format(post=post)


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
