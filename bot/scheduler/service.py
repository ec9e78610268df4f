"""PLACEHOLDER, to be replaced by the scheduler (issue 4): interface only."""

from __future__ import annotations

from typing import Any

from bot.clock import Clock
from bot.config import Config
from db.engine import Database


class Scheduler:
    """Runs due schedule rows (interface placeholder)."""

    def __init__(self, *, db: Database, config: Config, clock: Clock, instance_id: str, runtime: Any) -> None:
        self.db, self.config, self.clock, self.instance_id, self.runtime = db, config, clock, instance_id, runtime

    async def prepare(self) -> None:
        """Sync reminders declared in config.yaml into schedule rows."""

    async def start(self) -> None:
        """Start the background loop."""

    async def stop(self) -> None:
        """Stop the background loop."""

    def wake(self) -> None:
        """Re-read the earliest due time (a nearer row was added)."""

    async def run_due(self) -> int:
        """Run every row due now; returns how many ran."""
        return 0
