"""The frozen clock: sleepers wake exactly when a test moves time, never earlier, never missed."""

from __future__ import annotations

import asyncio

from bot.clock import FrozenClock


async def test_an_advance_before_the_first_await_is_not_missed() -> None:
    clock = FrozenClock()
    sleeper = asyncio.ensure_future(clock.sleep(30))  # scheduled, not yet running
    clock.advance(30)
    await asyncio.wait_for(sleeper, 1)


async def test_sleepers_wake_only_when_their_time_comes() -> None:
    clock = FrozenClock()
    short, long = asyncio.ensure_future(clock.sleep(10)), asyncio.ensure_future(clock.sleep(60))
    clock.advance(59)
    await asyncio.wait_for(short, 1)
    assert not long.done()
    clock.advance(1)
    await asyncio.wait_for(long, 1)


async def test_a_cancelled_sleep_is_forgotten() -> None:
    clock = FrozenClock()
    sleeper = asyncio.ensure_future(clock.sleep(5))
    sleeper.cancel()
    await asyncio.gather(sleeper, return_exceptions=True)
    assert clock._sleepers == []
