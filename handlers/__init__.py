"""Feature handlers, one module per feature; `register_all` fixes their order in one place."""

from __future__ import annotations

from telegram.ext import Application

from handlers import alerts, delivery_status, fallback, members, onboarding, reminders


def register_all(application: Application) -> None:
    """Register every feature's handlers; the catch-all fallback goes last."""
    onboarding.register(application)
    members.register(application)
    alerts.register(application)
    reminders.register(application)
    delivery_status.register(application)
    # Must stay last: it answers whatever no feature claimed.
    fallback.register(application)
