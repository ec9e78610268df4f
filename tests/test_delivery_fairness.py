"""Fairness of the delivery engine: a chat's burst really is a burst, and a chat's own 429 stays its own."""

from __future__ import annotations

from sqlmodel import select

from bot.clock import FrozenClock
from bot.delivery.pacing import ChatPacer
from db.members import Member
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


async def test_join_notes_waiting_to_one_chat_go_as_one_bulk_message(liaison: Harness) -> None:
    from datetime import timedelta

    from db.invites import create_invite
    from tests.factories import member_row

    chief = await liaison.member("Ibrahim", role="chief", service="gendarmerie", language="en")
    chief_row = await member_row(liaison, chief)
    now = liaison.clock.now()
    async with liaison.db.transaction() as session:
        _, code = await create_invite(
            session,
            role="agent",
            post_code="NE-KONNI",
            service_code="customs",
            created_by=chief_row.id,
            now=now,
            expires_at=now + timedelta(hours=72),
            max_uses=3,
        )
    before = len(chief.texts)
    # Three people join before the worker got to the first note: the chief gets one message naming them all.
    newcomers = [liaison.user(name, language="fr") for name in ("Awa", "Binta", "Chaibou")]
    for person in newcomers:
        await person.start(code)
    await liaison.settle()
    notes = chief.texts[before:]
    assert len(notes) == 1, notes
    assert all(f"{name} joined Liaison" in notes[0] for name in ("Awa", "Binta", "Chaibou"))
    [row] = await liaison.rows(Notification, Notification.ref_type == "member")
    assert row.priority == Priority.BULK and row.state == DeliveryState.SENT
    # A note already sent is never edited: the next join is a message of its own.
    late = liaison.user("Dado", language="fr")
    async with liaison.db.transaction() as session:
        _, code = await create_invite(
            session,
            role="agent",
            post_code="NE-KONNI",
            service_code="police",
            created_by=chief_row.id,
            now=now,
            expires_at=now + timedelta(hours=72),
        )
    await late.start(code)
    await liaison.settle()
    assert len(chief.texts[before:]) == 2 and "Dado joined Liaison" in chief.texts[-1]


async def test_an_urgent_row_is_not_held_behind_its_chats_routine_backlog(liaison: Harness) -> None:
    import asyncio

    [(user, member_id)] = await people(liaison, 1)
    worker = liaison.runtime.delivery
    assert worker is not None
    # The worker holds a burst's worth of routine rows for the chat, about to go...
    await enqueue(liaison, [(user, member_id)] * 3, "routine", priority=Priority.BULK)
    await worker._fill(paced=True, force=True)
    assert len(worker._buffer) == 3
    # ...when an urgent one to the same chat is committed: it is claimed too, not pushed behind them.
    await enqueue(liaison, [(user, member_id)], "URGENT", priority=Priority.URGENT)
    await worker._fill(paced=True)
    assert len(worker._buffer) == 4 and worker.stats.deferred == 0
    # The chat's next send is the urgent one; the routine ones follow in their order.
    assert worker._launch(paced=True) == 1
    await asyncio.gather(*worker._in_flight.values())
    await worker.drain(respect_limits=True)
    for _ in range(40):
        liaison.clock.advance(0.1)
        await worker.drain(respect_limits=True)
    assert user.texts == ["URGENT"] + ["routine"] * 3


async def test_a_direct_reply_that_meets_a_5xx_or_a_timeout_is_tried_again(liaison: Harness) -> None:
    agent = await liaison.member("Awa", language="en")
    before = len(agent.texts)
    liaison.emulator.faults.inject(502, method="sendMessage", chat_id=agent.id, count=1)
    await agent.send("/help")
    await liaison.settle()
    assert len(agent.texts) == before + 1 and "/alert" in agent.texts[-1], "the reply came after one 502"
    liaison.emulator.faults.inject("timeout", method="sendMessage", chat_id=agent.id, count=1)
    await agent.send("/help")
    await liaison.settle()
    assert len(agent.texts) == before + 2, "and after a timeout"


async def test_a_handlers_own_sends_count_against_the_global_budget(liaison: Harness) -> None:
    agent = await liaison.member("Awa", language="en")
    worker = liaison.runtime.delivery
    assert worker is not None
    limiter = worker.limiter
    limiter._answered.clear()
    await agent.send("/help")  # answered directly by the handler, not through the outbox
    await liaison.settle()
    assert len(limiter._answered) == 1, "the reply used one of the second's 30 sends"
    # The worker's own sends are counted once, by the worker.
    await enqueue(liaison, [(agent, (await liaison.rows(Member))[0].id)], "via the outbox")
    await worker.drain(respect_limits=True)
    assert len(limiter._answered) == 2
