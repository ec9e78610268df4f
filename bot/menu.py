"""The command menu: which commands each person sees, in their language, published with setMyCommands.

The commands themselves are declared by the features; a person's menu (and /help) lists exactly the commands
`bot/access.py` lets them use.
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from bot.access import MINIMUM_ROLE
from bot.features import Command, FeatureSet
from bot.i18n import N_, translator
from db.members import Member, Role

logger = logging.getLogger(__name__)

DESCRIPTION = N_(
    "Liaison connects the services of a border post: alerts, shift handovers, notices and reminders. "
    "Open the invite link your post chief gave you to join."
)
SHORT_DESCRIPTION = N_("Inter-agency coordination at border posts")


def commands_for(features: FeatureSet, member: Member) -> tuple[Command, ...]:
    """The commands this member may use, in menu order."""
    return tuple(c for c in features.commands if c.in_menu and features.may_use(member, c))


def default_commands(features: FeatureSet) -> tuple[Command, ...]:
    """The bot-wide menu: what every agent may use (people see their own menu once they join)."""
    return tuple(
        c
        for c in features.commands
        # A command whose rule reads the config is left to each person's own menu.
        if c.in_menu and c.allowed is None and (c.action is None or MINIMUM_ROLE[c.action] == Role.AGENT)
    )


async def publish_commands(bot: Bot, features: FeatureSet) -> None:
    """Publish the bot-wide menu and the bot's description in both languages (French is the default)."""
    for language in ("fr", "en"):
        tr = translator(language)
        menu = [BotCommand(c.name, tr.gettext(c.description)) for c in default_commands(features)]
        code = None if language == "fr" else language
        await bot.set_my_commands(menu, language_code=code)
        await bot.set_my_description(tr.gettext(DESCRIPTION), language_code=code)
        await bot.set_my_short_description(tr.gettext(SHORT_DESCRIPTION), language_code=code)


async def publish_member_commands(bot: Bot, features: FeatureSet, member: Member) -> None:
    """Give one person the menu of what they may do, in their language (chiefs see /invite, agents do not).

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
        commands = [BotCommand(c.name, tr.gettext(c.description)) for c in commands_for(features, member)]
        await bot.set_my_commands(commands, scope=scope)
    except TelegramError as exc:
        logger.warning("Could not publish the command menu of member %s: %s", member.id, exc)
