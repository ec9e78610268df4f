"""Delivery status: who received the last notifications, and who cannot be reached.

Commands: /delivery (chiefs: their post; coordinators: every post's unreachable members).
"""

from __future__ import annotations

from bot.access import Action
from bot.features import Command, Feature
from bot.i18n import N_
from handlers.delivery import handlers, log

FEATURE = Feature(
    name="delivery",
    commands=(
        Command(
            "delivery",
            N_("Who received your last messages"),
            handlers.delivery_command,
            action=Action.VIEW_DELIVERY,
        ),
    ),
    log_kinds=(log.LOG_KIND,),
)
