"""Delivery engine: the outbox worker against the emulator (priority, errors, edits, pacing, crashes)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlmodel import col, select
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from bot.clock import SystemClock
from bot.delivery.worker import DeliveryStats, DeliveryWorker
from db.audit import AuditEntry
from db.engine import Database
from db.members import Member
from db.outbox import (
    DeliveryState,
    Notification,
    Priority,
    build_card_edit,
    build_message,
    enqueue_card_edit,
    enqueue_card_edits,
    enqueue_many,
    enqueue_message,
)
from sandbox.emulator import EmulatedUser, FloodLimits
from sandbox.emulator.request import EmulatorRequest
from tests.harness import TOKEN, Harness


async def people(
    liaison: Harness, count: int, *, post: str = "NE-KONNI", prefix: str = "Agent"
) -> list[tuple[EmulatedUser, int]]:
    """Users who pressed Start, with member rows (fast: no invite dance for bulk tests)."""
    found: list[tuple[EmulatedUser, int]] = []
    async with liaison.db.transaction() as session:
        for i in range(count):
            user = liaison.user(f"{prefix}{i}")
            user.state.started = True
            member = Member(
                telegram_id=user.id,
                chat_id=user.id,
                display_name=user.state.first_name,
                post_code=post,
                service_code="customs",
                language="fr",
            )
            session.add(member)
            await session.flush()
            assert member.id is not None
            found.append((user, member.id))
    return found


async def enqueue(
    liaison: Harness, targets: list[tuple[EmulatedUser, int]], text: str, **kwargs: Any
) -> None:
    """Queue one message per target in one transaction."""
    async with liaison.db.transaction() as session:
        for user, member_id in targets:
            await enqueue_message(
                session, chat_id=user.id, member_id=member_id, text=text, now=liaison.clock.now(), **kwargs
            )


async def outbox_rows(liaison: Harness) -> list[Notification]:
    """Every outbox row, oldest first."""
    async with liaison.session() as session:
        return list((await session.exec(select(Notification).order_by(col(Notification.id)))).all())


def sent_texts(liaison: Harness) -> list[tuple[int, str]]:
    """(chat id, text) of every successful sendMessage, in the order the emulator answered them."""
    return [
        (int(c.params["chat_id"]), c.params["text"])
        for c in liaison.emulator.calls
        if c.method == "sendMessage" and c.status == 200
    ]


async def test_fan_out_reaches_everyone_once(liaison: Harness) -> None:
    targets = await people(liaison, 40)
    await enqueue(liaison, targets, "Avis <b>général</b>", ref=("notice", 4))
    await liaison.settle()
    for user, _ in targets:
        assert user.texts == ["Avis général"]
    rows = await outbox_rows(liaison)
    assert {r.state for r in rows} == {DeliveryState.SENT}
    assert all(r.telegram_message_id and r.sent_at and r.attempts == 1 for r in rows)


async def deliver_on_the_wall_clock(liaison: Harness, *, per_second: float, rows: int) -> DeliveryStats:
    """Run a worker of its own with its background loop, pacing in real time as in production, until it has
    sent `rows` of what is queued; returns its counters."""
    config = liaison.config.delivery.model_copy(update={"global_per_second": per_second})
    database = Database(liaison.database_url)
    bot = Bot(TOKEN, request=EmulatorRequest(liaison.emulator))
    await bot.initialize()
    worker = DeliveryWorker(db=database, bot=bot, config=config, clock=SystemClock(), instance_id="paced")
    try:
        await worker.start()
        worker.wake()
        deadline = asyncio.get_running_loop().time() + 60
        while worker.stats.sent < rows:
            assert asyncio.get_running_loop().time() < deadline, worker.stats
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()
        await database.dispose()
    return worker.stats


async def test_a_paced_fan_out_records_its_answers_several_at_a_time(liaison: Harness) -> None:
    """The background loop under pacing gets its answers one by one; it records them a few per transaction
    (it took one transaction, and SQLite's write lock, per answer)."""
    targets = await people(liaison, 60)
    await enqueue(liaison, targets, "Relève de 19:00")
    stats = await deliver_on_the_wall_clock(liaison, per_second=100, rows=len(targets))
    assert sorted(len(user.texts) for user, _ in targets) == [1] * len(targets)
    assert {r.state for r in await outbox_rows(liaison)} == {DeliveryState.SENT}
    # At 100 a second, a record every 0.1 s takes about ten answers; one per answer would be 60.
    assert stats.records <= len(targets) // 3, stats


async def test_a_paced_fan_out_of_cards_looks_at_the_queue_after_its_records_only_now_and_then(
    liaison: Harness,
) -> None:
    """Recorded originals of cards may unblock their edits, so the loop looks at the queue again; it did after
    every record (ten times a second in a paced fan-out, a fifth of the CPU per copy). Now at most twice a
    second, and an edit queued behind its original still follows it out."""
    targets = await people(liaison, 60)
    async with liaison.db.transaction() as session:
        for user, member_id in targets:
            await enqueue_message(
                session,
                chat_id=user.id,
                member_id=member_id,
                text="Avis : barrière fermée",
                card_key=f"test-card:{user.id}",
                now=liaison.clock.now(),
            )
        # The last one's edit, queued before its original went out: it waits for it.
        last_user, last_member = targets[-1]
        edit = build_card_edit(
            card_key=f"test-card:{last_user.id}",
            chat_id=last_user.id,
            member_id=last_member,
            text="Avis : barrière rouverte",
            now=liaison.clock.now(),
        )
        await enqueue_many(session, [edit])
    stats = await deliver_on_the_wall_clock(liaison, per_second=30, rows=len(targets) + 1)
    assert all(len(user.texts) == 1 for user, _ in targets)
    assert last_user.texts == ["Avis : barrière rouverte"], "the edit followed its original"
    # Two seconds of sends recorded about ten times a second: one look per record would be 20 or more.
    assert stats.fills <= stats.records // 2 + 3, stats


async def test_urgent_overtakes_queued_bulk(liaison: Harness) -> None:
    bulk = await people(liaison, 1000, prefix="Bulk")
    urgent = await people(liaison, 3, prefix="Urgent")
    worker = liaison.runtime.delivery
    assert worker is not None
    await enqueue(liaison, bulk, "routine", priority=Priority.BULK)
    await worker.drain(respect_limits=True)  # the bulk notice is under way, paced
    before = len(sent_texts(liaison))
    assert 0 < before < 1000
    await enqueue(liaison, urgent, "ALERTE", priority=Priority.URGENT)
    liaison.clock.advance(0.1)
    await worker.drain(respect_limits=True)
    order = [text for _, text in sent_texts(liaison)[before:]]
    assert order[:3] == ["ALERTE"] * 3, "the urgent alert goes next, ahead of 1,000 queued bulk rows"
    await liaison.settle()
    assert [text for _, text in sent_texts(liaison)].count("routine") == 1000


async def test_blocked_user_marked_unreachable_without_retry_storm(liaison: Harness) -> None:
    [(user, member_id), (other, _)] = await people(liaison, 2)
    user.state.blocked = True
    await enqueue(liaison, [(user, member_id), (other, _)], "premier")
    await enqueue(liaison, [(user, member_id)], "second")
    blocked_at = liaison.clock.now()
    await liaison.settle()
    await liaison.advance(timedelta(hours=1))
    calls_to_blocked = [
        c for c in liaison.emulator.calls if c.params.get("chat_id") in (user.id, str(user.id))
    ]
    assert len(calls_to_blocked) == 1, "one 403 is enough: the chat's other rows are closed without a call"
    rows = await outbox_rows(liaison)
    assert [r.state for r in rows if r.chat_id == user.id] == [DeliveryState.UNREACHABLE] * 2
    assert other.texts == ["premier"]
    async with liaison.session() as session:
        member = await session.get(Member, member_id)
        assert member is not None and not member.reachable and member.unreachable_since == blocked_at
        audit = (
            await session.exec(select(AuditEntry).where(AuditEntry.action == "member.unreachable"))
        ).all()
    assert [(a.object_id, a.post_code) for a in audit] == [(str(member_id), "NE-KONNI")]


async def test_bad_request_fails_with_reason_once(liaison: Harness) -> None:
    [(user, member_id)] = await people(liaison, 1)
    liaison.emulator.faults.inject(400, method="sendMessage", chat_id=user.id)
    await enqueue(liaison, [(user, member_id)], "x")
    await liaison.settle()
    await liaison.advance(timedelta(hours=1))
    [row] = await outbox_rows(liaison)
    assert row.state == DeliveryState.FAILED and row.attempts == 1
    assert "injected fault" in (row.last_error or "").lower()


async def test_server_errors_retry_with_backoff_then_succeed(liaison: Harness) -> None:
    [(user, member_id)] = await people(liaison, 1)
    liaison.emulator.faults.inject(502, method="sendMessage", chat_id=user.id, count=2)
    await enqueue(liaison, [(user, member_id)], "tenace")
    await liaison.settle()
    [row] = await outbox_rows(liaison)
    assert row.state == DeliveryState.PENDING and row.attempts == 1 and row.last_error
    first_delay = (row.not_before - liaison.clock.now()).total_seconds()
    assert 0.5 <= first_delay <= 1.0  # base 1 s, half of it jittered
    await liaison.advance(1.0)
    [row] = await outbox_rows(liaison)
    second_delay = (row.not_before - liaison.clock.now()).total_seconds()
    assert row.attempts == 2 and 1.0 <= second_delay <= 2.0
    await liaison.advance(2.0)
    [row] = await outbox_rows(liaison)
    assert row.state == DeliveryState.SENT and row.attempts == 3
    assert user.texts == ["tenace"]


async def test_gives_up_after_max_attempts(liaison: Harness) -> None:
    [(user, member_id)] = await people(liaison, 1)
    liaison.emulator.faults.inject(503, method="sendMessage", chat_id=user.id, count=100)
    await enqueue(liaison, [(user, member_id)], "perdu")
    for _ in range(liaison.config.delivery.max_attempts + 1):
        await liaison.advance(liaison.config.delivery.backoff_max_seconds)
    [row] = await outbox_rows(liaison)
    assert row.state == DeliveryState.FAILED
    assert row.attempts == liaison.config.delivery.max_attempts
    assert (row.last_error or "").startswith(f"gave up after {row.attempts} attempts")


async def test_timeout_is_retried(liaison: Harness) -> None:
    [(user, member_id)] = await people(liaison, 1)
    liaison.emulator.faults.inject("timeout", method="sendMessage", chat_id=user.id)
    await enqueue(liaison, [(user, member_id)], "patience")
    await liaison.settle()
    await liaison.advance(1.0)
    [row] = await outbox_rows(liaison)
    assert row.state == DeliveryState.SENT and row.attempts == 2
    assert user.texts == ["patience"]


async def test_flood_429_reschedules_row_and_slows_then_pauses_sender(liaison: Harness) -> None:
    targets = await people(liaison, 4)
    worker = liaison.runtime.delivery
    assert worker is not None
    first, second = targets[0][0], targets[1][0]
    liaison.emulator.faults.inject(429, method="sendMessage", chat_id=first.id, retry_after=5)
    await enqueue(liaison, targets[:1], "un", priority=Priority.URGENT)
    await liaison.settle()
    [row] = await outbox_rows(liaison)
    assert row.state == DeliveryState.PENDING and row.not_before == liaison.clock.now() + timedelta(seconds=5)
    assert row.attempts == 0, "a 429 is Telegram pacing us, not a failed attempt"
    # One 429 slows the sender down; other chats still get their messages.
    await enqueue(liaison, targets[1:2], "deux", priority=Priority.BULK)
    assert await worker.drain(respect_limits=True) == 1
    assert second.texts == ["deux"]
    # A second 429 while slowed: every send waits the retry_after Telegram gave.
    liaison.emulator.faults.inject(429, method="sendMessage", retry_after=3)
    await enqueue(liaison, targets[2:3], "trois", priority=Priority.NORMAL)
    await worker.drain(respect_limits=True)
    await enqueue(liaison, targets[3:], "quatre", priority=Priority.BULK)
    assert await worker.drain(respect_limits=True) == 0
    liaison.clock.advance(3)
    await worker.drain(respect_limits=True)
    assert [u.texts for u, _ in targets] == [[], ["deux"], ["trois"], ["quatre"]]
    liaison.clock.advance(2)
    await worker.drain(respect_limits=True)
    assert first.texts == ["un"], "the rescheduled row went out when its retry_after ran out"


async def test_per_chat_pacing_defers_chatty_chat_without_blocking_others(liaison: Harness) -> None:
    [(chatty, chatty_id)] = await people(liaison, 1, prefix="Chatty")
    others = await people(liaison, 4, prefix="Quiet")
    worker = liaison.runtime.delivery
    assert worker is not None
    async with liaison.db.transaction() as session:
        for i in range(6):
            await enqueue_message(
                session,
                chat_id=chatty.id,
                member_id=chatty_id,
                text=f"c{i}",
                priority=Priority.URGENT,
                now=liaison.clock.now(),
            )
    await enqueue(liaison, others, "calme", priority=Priority.BULK)
    sent = 0
    for _ in range(20):
        sent += await worker.drain(respect_limits=True)
        liaison.clock.advance(0.05)
    # Burst of 3 to the chatty chat, then about one a second; the quiet chats were not held behind it.
    assert chatty.texts == ["c0", "c1", "c2"]
    assert all(u.texts == ["calme"] for u, _ in others)
    for _ in range(4):
        liaison.clock.advance(1.0)
        await worker.drain(respect_limits=True)
    assert chatty.texts == ["c0", "c1", "c2", "c3", "c4", "c5"], "a chat's messages stay in order"


async def test_global_pacing_holds_thirty_a_second(liaison: Harness) -> None:
    targets = await people(liaison, 90)
    worker = liaison.runtime.delivery
    assert worker is not None
    await enqueue(liaison, targets, "vague")
    counts = []
    for _ in range(3):
        before = len(sent_texts(liaison))
        for _ in range(40):
            await worker.drain(respect_limits=True)
            liaison.clock.advance(1 / 40)
        counts.append(len(sent_texts(liaison)) - before)
    assert all(count <= 30 for count in counts), counts
    assert sum(counts) == 90


async def test_group_pacing_twenty_a_minute(liaison: Harness) -> None:
    group = liaison.emulator.group("Poste")
    worker = liaison.runtime.delivery
    assert worker is not None
    async with liaison.db.transaction() as session:
        for i in range(25):
            await enqueue_message(session, chat_id=group.id, text=f"g{i}", now=liaison.clock.now())
    for _ in range(100):
        await worker.drain(respect_limits=True)
        liaison.clock.advance(0.1)
    assert len([t for c, t in sent_texts(liaison) if c == group.id]) == 20
    liaison.clock.advance(49.8)
    await worker.drain(respect_limits=True)
    assert len([t for c, t in sent_texts(liaison) if c == group.id]) == 20, "20 a minute, not more"
    for _ in range(20):
        liaison.clock.advance(0.1)
        await worker.drain(respect_limits=True)
    assert [t for c, t in sent_texts(liaison) if c == group.id] == [f"g{i}" for i in range(25)]


async def test_card_edits_wait_for_original_and_only_newest_text_goes(liaison: Harness) -> None:
    [(user, member_id)] = await people(liaison, 1)
    async with liaison.db.transaction() as session:
        await enqueue_message(
            session,
            chat_id=user.id,
            member_id=member_id,
            text="Alerte 17: 0/3",
            card_key="alert:17:m1",
            ref=("alert", 17),
            now=liaison.clock.now(),
        )
        await enqueue_card_edit(session, card_key="alert:17:m1", text="Alerte 17: 1/3")
        await enqueue_card_edit(session, card_key="alert:17:m1", text="Alerte 17: 2/3")
    await liaison.settle()
    assert user.last.text == "Alerte 17: 2/3"
    edits = [c for c in liaison.emulator.calls if c.method == "editMessageText"]
    assert [c.params["text"] for c in edits] == ["Alerte 17: 2/3"]
    # An edit answered "message is not modified" counts as done.
    async with liaison.db.transaction() as session:
        await enqueue_card_edit(session, card_key="alert:17:m1", text="Alerte 17: 2/3")
    await liaison.settle()
    rows = await outbox_rows(liaison)
    assert [r.state for r in rows] == [DeliveryState.SENT] * 3
    assert rows[1].telegram_message_id == rows[0].telegram_message_id


async def test_older_edit_never_lands_after_newer(liaison: Harness) -> None:
    [(user, member_id)] = await people(liaison, 1)
    async with liaison.db.transaction() as session:
        await enqueue_message(session, chat_id=user.id, member_id=member_id, text="v0", card_key="k")
    await liaison.settle()
    liaison.emulator.faults.inject(502, method="editMessageText")
    async with liaison.db.transaction() as session:
        await enqueue_card_edit(session, card_key="k", text="v1")
    await liaison.settle()  # v1 failed, waits for its retry
    async with liaison.db.transaction() as session:
        older = await enqueue_card_edit(session, card_key="k", text="v2")
    assert older is not None
    await liaison.advance(5)
    assert user.last.text == "v2"
    # Even if two edits of one card end up pending (another instance raced), the older one is dropped.
    async with liaison.db.transaction() as session:
        session.add(
            Notification(
                chat_id=user.id,
                member_id=member_id,
                method="editMessageText",
                payload={"text": "v3", "parse_mode": "HTML"},
                card_key="k",
                priority=3,
                not_before=liaison.clock.now(),
            )
        )
        session.add(
            Notification(
                chat_id=user.id,
                member_id=member_id,
                method="editMessageText",
                payload={"text": "v4", "parse_mode": "HTML"},
                card_key="k",
                priority=3,
                not_before=liaison.clock.now(),
            )
        )
    await liaison.settle()
    assert user.last.text == "v4"
    states = [r.state for r in await outbox_rows(liaison)]
    assert states[-2:] == [DeliveryState.SUPERSEDED, DeliveryState.SENT]
    assert [
        c.params["text"] for c in liaison.emulator.calls if c.method == "editMessageText" and c.status == 200
    ] == ["v2", "v4"]


async def sent_card(liaison: Harness) -> tuple[EmulatedUser, DeliveryWorker]:
    """One member whose card "k" (text "v0") is on their phone, and the worker that will send its edits."""
    [(user, member_id)] = await people(liaison, 1)
    async with liaison.db.transaction() as session:
        await enqueue_message(session, chat_id=user.id, member_id=member_id, text="v0", card_key="k")
    await liaison.settle()
    worker = liaison.runtime.delivery
    assert worker is not None
    return user, worker


async def test_a_newer_edit_replaces_an_older_one_held_in_the_buffer(liaison: Harness) -> None:
    """A bulk edit claimed but not yet sent does not hold back a newer edit of its card: the newer one (a
    press's own card, say) is claimed in its place and only it goes out. The older one held it back for up
    to 9 s in the alerts bench: while a card's edit is claimed, no other edit of that card can be."""
    user, worker = await sent_card(liaison)
    async with liaison.db.transaction() as session:
        await enqueue_card_edit(session, card_key="k", text="v1 (bulk)", priority=Priority.BULK)
    await worker._fill(paced=False)  # claimed into the buffer; the loop has not launched it yet
    [held] = worker._buffer.values()
    assert held.payload["text"] == "v1 (bulk)"
    async with liaison.db.transaction() as session:
        newer = await enqueue_card_edit(session, card_key="k", text="v2 (yours)", priority=Priority.NORMAL)
    assert newer is not None and newer.id != held.id  # a new row: the held one is no longer pending
    await worker._fill(paced=False)
    assert [j.payload["text"] for j in worker._buffer.values()] == ["v2 (yours)"]
    await liaison.settle()
    assert user.last.text == "v2 (yours)"
    edits = [c.params["text"] for c in liaison.emulator.calls if c.method == "editMessageText"]
    assert edits == ["v2 (yours)"]
    states = {r.id: r.state for r in await outbox_rows(liaison)}
    assert (states[held.id], states[newer.id]) == (DeliveryState.SUPERSEDED, DeliveryState.SENT)


async def test_a_newer_edit_keeps_the_urgency_of_the_claimed_edit_it_replaces(liaison: Harness) -> None:
    """A presser's own card edit (normal priority) claimed into the buffer, then the alert's "handled"
    redraw of every copy (bulk): the newer edit replaces the claimed one and goes at normal priority, not
    behind the bulk ones (in the alerts bench a presser's card waited 11 s that way)."""
    user, worker = await sent_card(liaison)
    async with liaison.db.transaction() as session:
        await enqueue_card_edits(session, [("k", "v1 (yours)", None)], priority=Priority.NORMAL)
    await worker._fill(paced=False)
    [held] = worker._buffer.values()
    async with liaison.db.transaction() as session:
        await enqueue_card_edits(session, [("k", "v2 (handled)", None)], priority=Priority.BULK)
    [newer] = [r for r in await outbox_rows(liaison) if r.state == DeliveryState.PENDING]
    assert (newer.payload["text"], newer.priority) == ("v2 (handled)", Priority.NORMAL)
    await worker._fill(paced=False)
    assert [(j.payload["text"], j.priority) for j in worker._buffer.values()] == [
        ("v2 (handled)", Priority.NORMAL)
    ]
    await liaison.settle()
    assert user.last.text == "v2 (handled)"
    states = {r.id: r.state for r in await outbox_rows(liaison)}
    assert (states[held.id], states[newer.id]) == (DeliveryState.SUPERSEDED, DeliveryState.SENT)


async def test_edit_of_undelivered_original_fails(liaison: Harness) -> None:
    [(user, member_id)] = await people(liaison, 1)
    liaison.emulator.faults.inject(400, method="sendMessage")
    async with liaison.db.transaction() as session:
        await enqueue_message(session, chat_id=user.id, member_id=member_id, text="v0", card_key="k")
        await enqueue_card_edit(session, card_key="k", text="v1")
    await liaison.settle()
    states = [(r.method, r.state) for r in await outbox_rows(liaison)]
    assert states == [("sendMessage", DeliveryState.FAILED), ("editMessageText", DeliveryState.FAILED)]


async def test_keyboards_built_with_ptb_objects_reach_the_phone(liaison: Harness) -> None:
    """Features may pass PTB keyboards: the row stores their Bot API JSON, the phone shows the buttons."""
    [(user, member_id), (other, other_id)] = await people(liaison, 2)
    ack = InlineKeyboardMarkup([[InlineKeyboardButton("Vu", callback_data="al:ack:17")]])
    both = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Vu", callback_data="al:ack:17"),
                InlineKeyboardButton("Aide", url="https://t.me/x"),
            ]
        ]
    )
    photo = liaison.emulator.register_file(b"jpeg").file_id
    async with liaison.db.transaction() as session:
        await enqueue_message(
            session, chat_id=user.id, member_id=member_id, text="Alerte 17", reply_markup=ack, card_key="c17"
        )
        await enqueue_message(
            session, chat_id=user.id, member_id=member_id, photo=photo, text="photo", reply_markup=both
        )
        await enqueue_many(
            session, [build_message(chat_id=other.id, member_id=other_id, text="Copie", reply_markup=ack)]
        )
    await liaison.settle()
    card, picture = user.inbox
    assert card.buttons() == ["Vu"] and card.button_data() == ["al:ack:17"]
    assert picture.kind == "photo" and picture.buttons() == ["Vu", "Aide"]
    assert other.last.buttons() == ["Vu"] and other.last.button_data() == ["al:ack:17"]
    rows = await outbox_rows(liaison)
    assert rows[0].payload["reply_markup"] == {
        "inline_keyboard": [[{"text": "Vu", "callback_data": "al:ack:17"}]]
    }
    # A card's edit may change its keyboard the same way.
    done = InlineKeyboardMarkup([[InlineKeyboardButton("Clos", callback_data="al:closed:17")]])
    async with liaison.db.transaction() as session:
        await enqueue_card_edit(session, card_key="c17", text="Alerte 17: close", reply_markup=done)
    await liaison.settle()
    assert user.inbox[0].text == "Alerte 17: close" and user.inbox[0].button_data() == ["al:closed:17"]


async def test_photo_and_location_go_in_order(liaison: Harness) -> None:
    [(user, member_id)] = await people(liaison, 1)
    file_id = liaison.emulator.register_file(b"jpeg").file_id
    async with liaison.db.transaction() as session:
        await enqueue_message(session, chat_id=user.id, member_id=member_id, text="<b>Alerte</b>")
        await enqueue_message(session, chat_id=user.id, member_id=member_id, location=(13.79, 5.25))
        await enqueue_message(session, chat_id=user.id, member_id=member_id, photo=file_id, text="photo")
    await liaison.settle()
    assert [m.kind for m in user.inbox] == ["text", "location", "photo"]


async def test_background_loop_picks_up_on_commit_without_clock_moving(liaison: Harness) -> None:
    targets = await people(liaison, 5)
    worker = liaison.runtime.delivery
    assert worker is not None
    await worker.start()
    try:
        await enqueue(liaison, targets, "tout de suite")
        for _ in range(200):
            if all(u.texts for u, _ in targets):
                break
            await asyncio.sleep(0.005)
        assert all(u.texts == ["tout de suite"] for u, _ in targets)
        # Retries come back when their time comes, through the loop alone.
        liaison.emulator.faults.inject(502, method="sendMessage", chat_id=targets[0][0].id)
        await enqueue(liaison, targets[:1], "encore")
        for _ in range(100):
            await asyncio.sleep(0.005)
            if [r for r in await outbox_rows(liaison) if r.attempts == 1 and r.state == "pending"]:
                break
        liaison.clock.advance(1.0)
        for _ in range(200):
            if targets[0][0].texts[-1:] == ["encore"]:
                break
            await asyncio.sleep(0.005)
        assert targets[0][0].texts == ["tout de suite", "encore"]
    finally:
        await worker.stop()


async def test_rows_left_in_flight_are_taken_back(liaison: Harness) -> None:
    targets = await people(liaison, 3)
    await enqueue(liaison, targets, "reprise")
    now = liaison.clock.now()
    async with liaison.db.transaction() as session:
        rows = list((await session.exec(select(Notification))).all())
        # Row 0: our own previous life (same instance id); 1: another instance, lease running; 2: expired.
        for row, (owner, lease) in zip(rows, [("test", 60), ("other", 60), ("other", -1)], strict=True):
            row.state, row.claimed_by, row.lease_until = "sending", owner, now + timedelta(seconds=lease)
            session.add(row)
    worker = liaison.runtime.delivery
    assert worker is not None
    await worker.start()
    await worker.stop()
    await liaison.settle()
    if liaison.db.is_sqlite:
        # One process per SQLite file: whatever is still "sending" at start was left by a dead process.
        assert [bool(u.texts) for u, _ in targets] == [True, True, True]
    else:
        assert [bool(u.texts) for u, _ in targets] == [True, False, True]
    liaison.clock.advance(61)
    await worker.start()
    await worker.stop()
    await liaison.settle()
    assert all(u.texts == ["reprise"] for u, _ in targets)


async def test_flood_limits_enforced_no_429_from_own_pacing(liaison: Harness) -> None:
    """With the emulator enforcing Telegram's limits, paced draining never draws a 429."""
    liaison.emulator.limits = FloodLimits(enabled=True)
    targets = await people(liaison, 45)
    [(chatty, chatty_id)] = await people(liaison, 1, prefix="Chatty")
    await enqueue(liaison, targets, "x")
    async with liaison.db.transaction() as session:
        for i in range(5):
            await enqueue_message(session, chat_id=chatty.id, member_id=chatty_id, text=f"c{i}")
    worker = liaison.runtime.delivery
    assert worker is not None
    for _ in range(300):
        await worker.drain(respect_limits=True)
        liaison.clock.advance(0.02)
    assert liaison.emulator.stats.rejected_429 == 0, [
        (c.params.get("chat_id"), c.response) for c in liaison.emulator.calls if c.status == 429
    ]
    assert all(u.texts == ["x"] for u, _ in targets)
    assert chatty.texts == [f"c{i}" for i in range(5)]


async def test_delivery_command_for_chief_and_coordinator(liaison: Harness) -> None:
    chief = await liaison.member("Chef", role="chief", language="en")
    coordinator = await liaison.member("Coord", role="coordinator", language="fr")
    agent = await liaison.member("<Bob & co>", language="fr")
    other = await liaison.member("Awa", language="fr")
    async with liaison.session() as session:
        members = {m.display_name: m for m in (await session.exec(select(Member))).all()}
    agent.state.blocked = True
    async with liaison.db.transaction() as session:
        for name in ("<Bob & co>", "Awa"):
            m = members[name]
            await enqueue_message(
                session,
                chat_id=m.chat_id,
                member_id=m.id,
                text="Alerte",
                ref=("alert", 17),
                now=liaison.clock.now(),
            )
    await liaison.settle()
    liaison.emulator.faults.inject(400, method="sendMessage", chat_id=other.id)
    async with liaison.db.transaction() as session:
        m = members["Awa"]
        await enqueue_message(
            session,
            chat_id=m.chat_id,
            member_id=m.id,
            text="Note",
            ref=("schedule", 4),
            now=liaison.clock.now(),
        )
    await liaison.settle()

    await chief.send("/delivery")
    await liaison.settle()
    text = chief.last.text
    assert "Alert #17" in text and "2 messages, 1 received" in text and "1 unreachable" in text
    # A reminder is named by its words; this one's row is gone: its kind alone, never its row id.
    assert "• Reminder (" in text and "1 message, 0 received" in text and "1 failed" in text
    assert "#4" not in text
    assert text.index("• Reminder (") < text.index("Alert #17"), "newest first"
    assert "1 member cannot be reached" in text and "<Bob & co> (Customs), since" in text
    assert "&lt;Bob &amp; co&gt;" in (chief.last.html or "")

    await coordinator.send("/delivery")
    await liaison.settle()
    assert "<Bob & co> (Douane)" in coordinator.last.text
    assert "Birni N'Konni" in coordinator.last.text and "Kantchari" in coordinator.last.text

    await other.send("/delivery")
    await liaison.settle()
    assert other.last.text != coordinator.last.text and "Bob" not in other.last.text


async def test_row_claimed_too_often_without_answer_fails_instead_of_looping(liaison: Harness) -> None:
    [(user, member_id)] = await people(liaison, 1)
    await enqueue(liaison, [(user, member_id)], "poison")
    async with liaison.db.transaction() as session:
        [row] = list((await session.exec(select(Notification))).all())
        row.attempts = liaison.config.delivery.max_attempts  # every earlier claim died with its process
        session.add(row)
    await liaison.settle()
    [row] = await outbox_rows(liaison)
    assert row.state == DeliveryState.FAILED and "never confirmed" in (row.last_error or "")
    assert user.texts == []


async def test_two_fan_outs_of_one_priority_interleave(liaison: Harness) -> None:
    """An urgent alert raised just after another reaches its first readers at once, not after every copy."""
    first, second = await people(liaison, 40, prefix="A"), await people(liaison, 40, prefix="B")
    for targets, text in ((first, "premier"), (second, "second")):
        async with liaison.db.transaction() as session:
            rows = [
                build_message(
                    chat_id=u.id, member_id=m, text=text, priority=Priority.URGENT, now=liaison.clock.now()
                )
                for u, m in targets
            ]
            await enqueue_many(session, rows)
    await liaison.settle()
    order = [c.params.get("text") for c in liaison.emulator.calls if c.method == "sendMessage"]
    assert sorted(order) == ["premier"] * 40 + ["second"] * 40  # everyone got theirs, once
    # Copies alternate between the two fan-outs instead of 40 'premier' before the first 'second'.
    assert order.index("second") <= 2
    assert order[:20].count("second") >= 8
    ranks = sorted((r.fanout_rank, r.id) for r in await outbox_rows(liaison))
    assert [rank for rank, _ in ranks[:2]] == [0, 0]


def test_a_delivery_line_follows_the_readers_punctuation(liaison: Harness) -> None:
    """French sets a space before the colon ("(30 nov., 23:36) : remis…"); English does not."""
    from bot.i18n import translator
    from db.outbox.reporting import DeliveryTally
    from handlers.delivery.render import tally_line

    tally = DeliveryTally(ref_type="alert", ref_id=17, first_at=liaison.clock.now(), sent=3, pending=1)
    features = liaison.runtime.features
    french = tally_line(features, translator("fr"), tally, "Africa/Niamey")
    english = tally_line(features, translator("en"), tally, "Africa/Niamey")
    assert french.startswith("• <b>Alerte n°17</b> (") and ") : 4 messages, 3 remis, 1 en cours" in french, (
        french
    )
    assert (
        english.startswith("• <b>Alert #17</b> (") and "): 4 messages, 3 received, 1 on the way" in english
    ), english
