"""PLACEHOLDER, to be replaced by the delivery engine (issue 3): interface only."""

from __future__ import annotations

from telegram import Bot

from bot.clock import Clock
from bot.config import DeliveryConfig
from db.engine import Database


class DeliveryWorker:
    """Sends outbox rows (interface placeholder)."""

    def __init__(self, *, db: Database, bot: Bot, config: DeliveryConfig, clock: Clock, instance_id: str) -> None:
        self.db, self.bot, self.config, self.clock, self.instance_id = db, bot, config, clock, instance_id

    async def start(self) -> None:
        """Start the background loop."""

    async def stop(self) -> None:
        """Stop the background loop, letting in-flight sends finish."""

    def wake(self) -> None:
        """Look at the outbox now (called after commits that enqueued rows)."""

    async def drain(self) -> int:
        """Deliver every row that is ready now; returns how many were handled."""
        return 0
