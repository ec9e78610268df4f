"""Onboarding: joining through an invite link, the welcome, /help and the reader's language.

Commands: /start [code] (not in the menu: Telegram's Start button sends it), /help, /language.
Buttons (lg:): first/set <language>.
"""

from __future__ import annotations

from bot.features import Command, Feature
from bot.i18n import N_
from handlers.onboarding import handlers
from handlers.onboarding.render import PREFIX

FEATURE = Feature(
    name="onboarding",
    commands=(
        Command("language", N_("Change your language"), handlers.language_command),
        Command("help", N_("What you can do"), handlers.help_command),
        Command("start", N_("Start"), handlers.start, action=None, in_menu=False),
    ),
    callback_prefix=PREFIX,
    on_button=handlers.on_button,
    labels={"member": N_("New member")},
)
