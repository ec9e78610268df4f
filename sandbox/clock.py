"""The sandbox's clock: real time plus an offset that a trainer moves forward.

Only the sandbox builds one; `liaison run` always runs on `bot.clock.SystemClock`, which has no way to move.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta


class OffsetClock:
    """`bot.clock.Clock` on real time plus an offset: time flows, and jumps forward when told to.

    Sleepers wake when real time reaches their moment or when a jump carries the clock past it, so the
    scheduler and the delivery worker, asleep until the next due row, run it at once after a jump.
    """

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        if offset < timedelta(0):
            raise ValueError("the sandbox clock never runs behind real time")
        self._offset = offset.total_seconds()
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    @property
    def offset(self) -> timedelta:
        """How far ahead of real time the clock is."""
        return timedelta(seconds=self._offset)

    def now(self) -> datetime:
        """Real UTC time plus the offset."""
        return datetime.now(UTC) + timedelta(seconds=self._offset)

    def monotonic(self) -> float:
        """Real monotonic seconds plus the offset (never goes back: the offset only grows)."""
        return time.monotonic() + self._offset

    def sleep(self, seconds: float) -> Awaitable[None]:
        """Wait `seconds` of this clock's time; a jump past the moment ends the wait at once.

        The wait is registered when sleep() is called, not when first awaited: a loop that wraps it in a task
        cannot miss a jump made in between.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        if seconds <= 0:
            future.set_result(None)
            return future
        entry = (self.monotonic() + seconds, future)
        self._sleepers.append(entry)
        timer = loop.call_later(seconds, self._wake_due)

        def forget(_done: asyncio.Future[None]) -> None:
            timer.cancel()
            if entry in self._sleepers:
                self._sleepers.remove(entry)

        future.add_done_callback(forget)
        return future

    def _wake_due(self) -> None:
        """Wake every sleeper whose moment has come; re-arm a timer for any the loop woke a hair early."""
        now = self.monotonic()
        for due, future in list(self._sleepers):
            if future.done():
                continue
            if due <= now:
                future.set_result(None)
            else:
                asyncio.get_running_loop().call_later(due - now, self._wake_due)

    def advance(self, delta: timedelta | float) -> None:
        """Jump forward by a timedelta or a number of seconds, and wake the sleepers it passes."""
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self._offset += seconds
        self._wake_due()

    def jump_to(self, moment: datetime) -> None:
        """Jump to `moment` if it is ahead (a moment already past leaves the clock as it is)."""
        ahead = (moment - self.now()).total_seconds()
        if ahead > 0:
            self.advance(ahead)
