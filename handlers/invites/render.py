"""What the invite wizard shows: each step's question and buttons, and the new invite's link and code."""

from __future__ import annotations

import html
from collections.abc import Sequence

from telegram import InlineKeyboardMarkup

from bot.callbacks import encode
from bot.config import Config, PostConfig
from bot.i18n import Translator
from bot.keyboards import columns
from bot.texts import capitalized, membership, role_name
from db.members import Role
from handlers.invites.service import IssuedInvite

PREFIX = "iv"
# A service button's value for "the whole post" (a chief of no service): callback data carries no None.
NO_SERVICE = "-"


def role_step(tr: Translator, roles: Sequence[Role]) -> tuple[str, InlineKeyboardMarkup]:
    """The first question of an inviter who may hand out several roles."""
    # A button starts with a capital as every other button does; the role's name is lowercase in sentences.
    buttons = [(capitalized(role_name(tr, role)), encode(PREFIX, "r", role)) for role in roles]
    return tr.gettext("Whom do you want to invite?"), columns(buttons, 1)


def post_step(tr: Translator, role: Role, posts: Sequence[PostConfig]) -> tuple[str, InlineKeyboardMarkup]:
    """Which post the new member joins (only posts where the inviter may invite that role)."""
    buttons = [(p.name, encode(PREFIX, "p", role, p.code)) for p in posts]
    return tr.gettext("Which post?"), columns(buttons, 1)


def service_step(
    config: Config,
    tr: Translator,
    role: Role,
    post_code: str,
    choices: Sequence[str | None],
    *,
    first: bool = False,
) -> tuple[str, InlineKeyboardMarkup]:
    """Which service the new member belongs to; `first` when it opens the wizard (a chief inviting agents)."""
    buttons = [
        (
            config.service_name(code, tr.language)
            if code is not None
            else tr.gettext("Whole post (no service)"),
            encode(PREFIX, "s", role, post_code, code if code is not None else NO_SERVICE),
        )
        for code in choices
    ]
    question = (
        tr.gettext("Which service will the new agent belong to?") if first else tr.gettext("Which service?")
    )
    return question, columns(buttons, 2)


def invite_text(config: Config, tr: Translator, invite: IssuedInvite, bot_username: str) -> str:
    """The invite for its creator: whom it is for, until when (its post's zone named), link and code."""
    link = f"https://t.me/{bot_username}?start={invite.code}"
    return tr.gettext(
        "Invite for: {membership}.\nValid once, until {expires}.\n\n{link}\n\nCode: <code>{code}</code>"
    ).format(
        membership=membership(tr, config, invite.role, invite.service_code, invite.post_code),
        expires=f"{tr.datetime(invite.expires_at, invite.zone, 'medium')} "
        f"({tr.zone_name(invite.expires_at, invite.zone)})",
        link=html.escape(link),
        code=invite.code,
    )
