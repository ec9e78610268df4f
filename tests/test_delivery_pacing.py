"""Pacing against the emulator's flood control, with network jitter: never a 429 of our making."""

from __future__ import annotations

import heapq
import random

import pytest

from bot.clock import FrozenClock
from bot.delivery.pacing import ChatPacer, GlobalLimiter
from sandbox.emulator.limits import FloodControl, FloodLimits


def simulate(seed: int, messages: int = 700, concurrency: int = 16) -> tuple[int, float]:
    """Send `messages` through the limiters with random latencies; returns (429 count, seconds taken)."""
    rng = random.Random(seed)
    clock = FrozenClock()
    limiter = GlobalLimiter(30, clock)
    chats = ChatPacer(clock, per_second=1, burst=3, group_per_minute=20)
    telegram = FloodControl(clock.monotonic, FloodLimits(enabled=True))
    privates = [10_000 + i for i in range(60)]
    groups = [-1, -2]
    pending = [rng.choice(groups) if rng.random() < 0.03 else rng.choice(privates) for _ in range(messages)]
    events: list[tuple[float, int, str, int]] = []
    sequence = 0
    in_flight = 0
    rejected = 0
    while pending or events:
        now = clock.monotonic()
        started = True
        while started and in_flight < concurrency:
            started = False
            if limiter.ready_at() > clock.monotonic():
                break
            for index, chat_id in enumerate(pending[:200]):
                if chats.busy(chat_id) or chats.ready_at(chat_id) > clock.monotonic():
                    continue
                pending.pop(index)
                limiter.start()
                chats.start(chat_id)
                in_flight += 1
                # The request reaches Telegram after a random delay and its answer comes back after another:
                # the two legs vary independently, so arrivals can be reordered relative to starts.
                arrive = now + rng.uniform(0.0005, 0.08)
                answer = arrive + rng.uniform(0.0005, 0.08)
                heapq.heappush(events, (arrive, sequence, "arrive", chat_id))
                heapq.heappush(events, (answer, sequence + 1, "answer", chat_id))
                sequence += 2
                started = True
                break
        # Move time to the next thing that can happen: an arrival or answer, or a limiter letting a send go.
        candidates = [events[0][0]] if events else []
        if pending and in_flight < concurrency:
            ready = [chats.ready_at(c) for c in set(pending[:200]) if not chats.busy(c)]
            if ready:
                candidates.append(max(limiter.ready_at(), min(ready)))
        wake = min(candidates) if candidates else clock.monotonic()
        if wake > clock.monotonic():
            # The frozen clock counts whole microseconds: never step by less, or time would stand still.
            clock.advance(max(wake - clock.monotonic(), 1e-6))
        while events and events[0][0] <= clock.monotonic():
            _, _, kind, chat_id = heapq.heappop(events)
            if kind == "arrive":
                if telegram.check(chat_id, chat_id < 0) is not None:
                    rejected += 1
            else:
                limiter.finish()
                chats.finish(chat_id)
                in_flight -= 1
    return rejected, clock.monotonic()


@pytest.mark.parametrize("seed", range(5))
def test_no_429_of_our_making_whatever_the_jitter(seed: int) -> None:
    rejected, seconds = simulate(seed)
    assert rejected == 0
    # Throughput stays close to Telegram's 30/s despite the latency (groups at 20/min set the tail).
    assert seconds < 700 / 30 * 4


def test_global_rate_holds_thirty_in_any_second_with_fast_answers() -> None:
    clock = FrozenClock()
    limiter = GlobalLimiter(30, clock)
    starts: list[float] = []
    while clock.monotonic() < 10:
        while limiter.ready_at() <= clock.monotonic():
            limiter.start()
            limiter.finish()
            starts.append(clock.monotonic())
        clock.advance(0.005)
    for i, start in enumerate(starts):
        assert len([s for s in starts[i:] if s < start + 1.0]) <= 30
    assert len(starts) >= 290  # about 30 a second over ten seconds


def test_a_429_slows_then_a_second_pauses() -> None:
    clock = FrozenClock()
    limiter = GlobalLimiter(30, clock)
    assert limiter.flood(2.0) is False
    assert limiter.ready_at() <= clock.monotonic(), "one 429 slows the sender, it does not stop it"
    assert limiter.flood(2.0) is True
    assert limiter.ready_at() == pytest.approx(clock.monotonic() + 2.0)
