"""The features of the bot, in menu order: `bot/app.py` installs this list; nothing else registers anything.

Adding a feature: create `handlers/<name>/` declaring `FEATURE` in its `__init__.py` (see the README's
"Adding a feature"), then add it here.
"""

from __future__ import annotations

from bot.features import Feature
from handlers import (
    alerts,
    delivery,
    handovers,
    invites,
    meetings,
    members,
    notices,
    onboarding,
    reminders,
    review,
)

FEATURES: tuple[Feature, ...] = (
    alerts.FEATURE,
    notices.FEATURE,
    handovers.FEATURE,
    reminders.FEATURE,
    meetings.FEATURE,
    invites.FEATURE,
    members.FEATURE,
    delivery.FEATURE,
    review.FEATURE,
    # Last: /language, /help and /cancel close every menu.
    onboarding.FEATURE,
)
