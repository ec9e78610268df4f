"""The command menu: which commands each role sees, in French and English, published with setMyCommands."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from bot.access import RANK
from bot.i18n import N_, translator
from db.members import Member, Role

logger = logging.getLogger(__name__)

# (command, description, lowest role that may use it), in menu order.
COMMANDS: tuple[tuple[str, str, Role], ...] = (
    ("alert", N_("Raise an alert"), Role.AGENT),
    ("alerts", N_("Open alerts at your post"), Role.AGENT),
    ("reminders", N_("Your post's reminders"), Role.AGENT),
    ("remind", N_("Create a reminder"), Role.CHIEF),
    ("invite", N_("Invite someone to your post"), Role.CHIEF),
    ("members", N_("Members of your post"), Role.CHIEF),
    ("delivery", N_("Who received your last messages"), Role.CHIEF),
    ("language", N_("Change your language"), Role.AGENT),
    ("help", N_("What you can do"), Role.AGENT),
    ("cancel", N_("Cancel what you are doing"), Role.AGENT),
)
DESCRIPTION = N_(
    "Liaison connects the services of a border post: alerts, shift handovers, notices and reminders. "
    "Open the invite link your post chief gave you to join."
)
SHORT_DESCRIPTION = N_("Inter-agency coordination at border posts")


def commands_for(role: str) -> tuple[tuple[str, str], ...]:
    """(command, untranslated description) pairs a role may use."""
    level = RANK[Role(role)]
    return tuple((name, text) for name, text, minimum in COMMANDS if level >= RANK[minimum])


async def publish_commands(bot: Bot) -> None:
    """Publish the command menu and the bot's description in both languages (French is the default)."""
    for language in ("fr", "en"):
        tr = translator(language)
        menu = [BotCommand(name, tr.gettext(text)) for name, text in commands_for(Role.AGENT)]
        code = None if language == "fr" else language
        await bot.set_my_commands(menu, language_code=code)
        await bot.set_my_description(tr.gettext(DESCRIPTION), language_code=code)
        await bot.set_my_short_description(tr.gettext(SHORT_DESCRIPTION), language_code=code)


async def publish_member_commands(bot: Bot, member: Member) -> None:
    """Give one person the menu of their role, in their language (chiefs see /invite, agents do not).

    Best effort: callers have already committed the change (a join, a suspension); a Telegram hiccup here
    must not turn it into an error for the person, nor hide the welcome that follows. The gate, not the
    menu, decides who may use what; the next change or /language publishes the menu again.
    """
    scope = BotCommandScopeChat(member.chat_id)
    try:
        if not member.is_active:
            await bot.delete_my_commands(scope=scope)
            return
        tr = translator(member.language)
        await bot.set_my_commands(
            [BotCommand(name, tr.gettext(text)) for name, text in commands_for(member.role)], scope=scope
        )
    except TelegramError as exc:
        logger.warning("Could not publish the command menu of member %s: %s", member.id, exc)
