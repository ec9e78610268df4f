"""Fairness of the delivery engine: a chat's burst really is a burst, and a chat's own 429 stays its own."""

from __future__ import annotations

from sqlmodel import select

from bot.clock import FrozenClock
from bot.delivery.pacing import ChatPacer
from db.outbox import DeliveryState, Notification, Priority
from sandbox.emulator.limits import FloodControl, FloodLimits
from tests.harness import Harness
from tests.test_delivery import enqueue, people


def test_a_chat_never_gets_more_than_its_burst_in_any_window() -> None:
    clock = FrozenClock()
    chats = ChatPacer(clock, per_second=1, burst=3, group_per_minute=20)
    starts: list[float] = []
    while clock.monotonic() < 20:
        if chats.ready_at(42) <= clock.monotonic():
            chats.start(42)
            starts.append(clock.monotonic())
            chats.finish(42)  # answered at once: the tightest case
        clock.advance(0.01)
    # Telegram's 1/s with bursts of 3, read strictly: no 3-second window holds more than 3 messages.
    for i, start in enumerate(starts):
        assert len([s for s in starts[i:] if s < start + 3.0]) <= 3, starts
    assert len(starts) >= 18, "the sustained rate stays about one a second"


def test_the_window_never_draws_a_429_from_a_token_bucket() -> None:
    clock = FrozenClock()
    chats = ChatPacer(clock, per_second=1, burst=3, group_per_minute=20)
    telegram = FloodControl(clock.monotonic, FloodLimits(enabled=True))
    rejected = 0
    while clock.monotonic() < 30:
        for chat_id in (7, 8, -9):
            if not chats.busy(chat_id) and chats.ready_at(chat_id) <= clock.monotonic():
                chats.start(chat_id)
                clock.advance(0.003)  # the request travels
                rejected += telegram.check(chat_id, chat_id < 0) is not None
                clock.advance(0.003)  # the answer travels back
                chats.finish(chat_id)
        clock.advance(0.01)
    assert rejected == 0


async def test_a_chats_own_429_does_not_delay_another_chat(liaison: Harness) -> None:
    (busy_a, busy_c, quiet) = await people(liaison, 3)
    worker = liaison.runtime.delivery
    assert worker is not None
    # Two chats that already had messages within their window...
    await enqueue(liaison, [busy_a, busy_c], "un", priority=Priority.NORMAL)
    await worker.drain(respect_limits=True)
    # ...each get a 429 on their next one: their own limit, not the bot's.
    for user, _ in (busy_a, busy_c):
        liaison.emulator.faults.inject(429, method="sendMessage", chat_id=user.id, retry_after=4)
    await enqueue(liaison, [busy_a, busy_c], "deux", priority=Priority.NORMAL)
    await worker.drain(respect_limits=True)
    assert worker.stats.flood == 2
    assert worker.limiter.paused_until <= liaison.clock.monotonic(), "nothing paused the whole bot"
    # Another chat's message goes out at once, without waiting for their retry_after.
    await enqueue(liaison, [quiet], "calme", priority=Priority.BULK)
    assert await worker.drain(respect_limits=True) == 1
    assert quiet[0].texts == ["calme"]
    assert busy_a[0].texts == ["un"] and busy_c[0].texts == ["un"]
    # The two chats get theirs once their retry_after ran out, in order, once each.
    liaison.clock.advance(4.1)
    await worker.drain(respect_limits=True)
    assert busy_a[0].texts == ["un", "deux"] and busy_c[0].texts == ["un", "deux"]
    async with liaison.db.reading() as session:
        rows = (await session.exec(select(Notification))).all()
    assert [r.state for r in rows] == [DeliveryState.SENT] * 5


def test_the_default_instance_id_is_stable_across_restarts() -> None:
    from bot.cli import default_instance_id

    first, second = default_instance_id(), default_instance_id()
    assert first == second and first.startswith("liaison-") and len(first) <= 64
