"""Injectable time: the real clock in production, a frozen one that tests move by hand."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What the bot needs from time: now (UTC-aware), monotonic seconds, and sleeping."""

    def now(self) -> datetime:
        """Current UTC-aware time."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin, never going back."""

    def sleep(self, seconds: float) -> Awaitable[None]:
        """Wait `seconds` of this clock's time."""


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Current UTC-aware time."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Seconds from the OS monotonic clock."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the event loop."""
        await asyncio.sleep(max(0.0, seconds))


class FrozenClock:
    """A clock that only moves when a test calls `advance`; sleepers wake when their time comes."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
        self._origin = self._now
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        """The frozen current time."""
        return self._now

    def monotonic(self) -> float:
        """Seconds elapsed since the clock was created."""
        return (self._now - self._origin).total_seconds()

    def sleep(self, seconds: float) -> Awaitable[None]:
        """Wait until `advance` moves past now + seconds.

        The wait is registered when sleep() is called, not when it is first awaited: a loop that schedules its
        sleep as a task and then reports itself asleep can never miss an advance() made in between.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if seconds <= 0:
            future.set_result(None)
            return future
        entry = (self._now + timedelta(seconds=seconds), future)
        self._sleepers.append(entry)
        future.add_done_callback(
            lambda _done: self._sleepers.remove(entry) if entry in self._sleepers else None
        )
        return future

    def set(self, moment: datetime) -> None:
        """Jump to an absolute time (never backwards)."""
        if moment < self._now:
            raise ValueError("a frozen clock never goes back")
        self._now = moment
        for due, future in list(self._sleepers):
            if due <= self._now and not future.done():
                future.set_result(None)

    def advance(self, delta: timedelta | float) -> None:
        """Move forward by a timedelta or a number of seconds."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        self.set(self._now + step)
