"""The durable inbox: written before confirmed, handled once per person in order, poison set aside."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlmodel import select
from telegram import Update
from telegram.ext import MessageHandler, filters

from bot.delivery.direct import RETRY_DELAYS
from bot.inbox.intake import Poller
from bot.status import status_report
from db import inbox as store
from db.alerts import Alert, AlertAck
from db.audit import AuditEntry
from db.engine import Database
from db.inbox import InboxState, InboxUpdate
from db.invites import Invite
from db.members import Member, MemberStatus
from tests.factories import alert_copy, chief_reminders, label, post_team
from tests.harness import Harness


async def inbox_rows(liaison: Harness) -> list[InboxUpdate]:
    """Every inbox row, oldest first."""
    return sorted(await liaison.rows(InboxUpdate), key=lambda r: r.update_id)


async def fetch(liaison: Harness) -> int:
    """One getUpdates into the inbox, without handling anything (as a poller that is then killed)."""
    assert liaison.runtime.inbox is not None
    return await Poller(liaison.app.bot, liaison.runtime.inbox).fetch_once(poll_seconds=0)


async def test_an_update_is_in_the_database_before_telegram_may_forget_it(liaison: Harness) -> None:
    agent = await liaison.member("Awa")
    await agent.send("/alert urgent security: véhicule forçant la barrière")
    poller = Poller(liaison.app.bot, liaison.runtime.inbox)
    # The inbox cannot be written (the database is in trouble): the batch is not confirmed.
    async with liaison.db.transaction() as session:
        await session.exec(text("ALTER TABLE inbox RENAME TO inbox_away"))
    with pytest.raises(Exception, match="inbox"):
        await poller.fetch_once(poll_seconds=0)
    async with liaison.db.transaction() as session:
        await session.exec(text("ALTER TABLE inbox_away RENAME TO inbox"))
    assert poller.offset is None and len(liaison.emulator.updates) == 1, "Telegram still holds it"
    # Written now; Telegram forgets it only with the next getUpdates, which carries the new offset.
    assert await poller.fetch_once(poll_seconds=0) == 1
    assert (await inbox_rows(liaison))[-1].state == InboxState.PENDING
    assert len(liaison.emulator.updates) == 1
    await poller.confirm()
    assert liaison.emulator.updates == []
    assert await liaison.rows(Alert) == [], "fetched, not handled yet"
    await liaison.settle()
    row = (await inbox_rows(liaison))[-1]
    assert row.state == InboxState.HANDLED and row.committed_attempt == 1 and row.attempts == 1
    assert len(await liaison.rows(Alert)) == 1


async def test_a_batch_fetched_twice_is_stored_and_handled_once(liaison: Harness) -> None:
    agent = await liaison.member("Awa")
    await agent.send("/alert urgent security: homme armé à la barrière")
    # Fetched, written, but the process dies before confirming: the next run fetches the same batch.
    assert await fetch(liaison) == 1
    assert await fetch(liaison) == 1
    await liaison.restart()
    await liaison.settle()
    assert len(await liaison.rows(Alert)) == 1
    assert sum("Alerte n°1" in t or "ALERTE #1" in t for t in agent.texts) <= 1
    assert sum(t.startswith("✅") for t in agent.texts) == 1, "one answer"


async def test_pending_updates_are_handled_after_a_restart_in_each_persons_order(liaison: Harness) -> None:
    customs, police, _health, _chief = await post_team(liaison)
    await customs.send("/alert urgent security: premier")
    await police.send("/alert important smuggling: camion suspect")
    await customs.send("/alert info other: second")
    assert await fetch(liaison) == 3
    await liaison.restart()  # a new process: nothing in memory, the inbox has the three
    await liaison.settle()
    alerts = sorted(await liaison.rows(Alert), key=lambda a: a.id)
    assert [a.text for a in alerts] == ["premier", "camion suspect", "second"]
    assert {r.state for r in await inbox_rows(liaison)} == {InboxState.HANDLED}


async def test_a_person_is_served_one_update_at_a_time_in_order(liaison: Harness) -> None:
    database = liaison.db
    now = liaison.clock.now()
    rows = [
        {"update_id": n, "person_id": person, "kind": "message", "payload": {"update_id": n}}
        for n, person in ((101, 1), (102, 1), (103, 2), (104, 1), (105, 3))
    ]
    async with database.transaction() as session:
        assert await store.store_updates(session, rows=rows, now=now) == 5
        assert await store.store_updates(session, rows=rows[:2], now=now) == 0

    async def claim(instance: str) -> list[int]:
        async with database.transaction() as session:
            claimed = await store.claim_heads(
                session, instance_id=instance, now=now, lease_until=now + timedelta(seconds=60), limit=10
            )
        return [c.update_id for c in claimed]

    assert await claim("a") == [101, 103, 105]
    assert await claim("b") == [], "each person's head is held; their later updates wait"
    async with database.transaction() as session:
        assert await store.mark_handled(session, update_id=101, attempt=1, now=now)
    assert await claim("b") == [102]
    # A lease that runs out (an instance died) lets another instance take the update over.
    later = now + timedelta(seconds=61)
    async with database.transaction() as session:
        taken = await store.claim_heads(
            session, instance_id="c", now=later, lease_until=later + timedelta(seconds=60), limit=10
        )
    assert [(c.update_id, c.attempt) for c in taken] == [(102, 2), (103, 2), (105, 2)]


async def test_the_senders_of_a_claimed_batch_are_read_with_the_claim_and_the_gate_reads_nothing(
    liaison: Harness,
) -> None:
    """Under a burst of presses the gate's own read of each sender was most of the database work: the claim
    reads every sender of its batch in one query, and each first attempt's gate uses that. A stranger in the
    batch is still turned away; a member suspended before the claim is refused."""
    customs, police, health, _chief = await post_team(liaison)
    stranger = liaison.user("Inconnu")
    async with liaison.db.transaction() as session:
        suspended = (await session.exec(select(Member).where(Member.display_name == "Mariama"))).one()
        suspended.status = MemberStatus.SUSPENDED
    people = (customs, police, stranger, health)
    before = {person.id: len(person.texts) for person in people}
    for person in people:
        await person.send("/help")
    assert await fetch(liaison) == 4
    inbox = liaison.runtime.inbox
    assert inbox is not None
    reads: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "FROM members" in statement:
            reads.append(statement)

    engines = {liaison.db.engine.sync_engine, liaison.db.read_engine.sync_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        claimed = await inbox._claim(10)
        assert len(claimed) == 4
        for item in claimed:
            await inbox._handle(item)
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
    assert len(reads) == 1, reads
    await liaison.settle()
    answers = {person.id: person.texts[before[person.id] :] for person in people}
    assert all(any("/alert" in t for t in answers[p.id]) for p in (customs, police))
    assert all(len(answers[p.id]) == 1 for p in (customs, police, stranger, health))
    assert "invit" in answers[stranger.id][0] and "/alert" not in answers[stranger.id][0]
    assert "suspendu" in answers[health.id][0], "a member suspended before the claim is refused"


async def test_two_instances_claiming_at_once_never_share_a_person(liaison: Harness) -> None:
    now = liaison.clock.now()
    rows = [
        {"update_id": n, "person_id": n % 7, "kind": "message", "payload": {"update_id": n}}
        for n in range(1, 71)
    ]
    async with liaison.db.transaction() as session:
        await store.store_updates(session, rows=rows, now=now)
    other = Database(liaison.database_url)
    handled: list[tuple[str, int, int]] = []

    async def instance(name: str, database: Database) -> None:
        while True:
            async with database.transaction() as session:
                claimed = await store.claim_heads(
                    session, instance_id=name, now=now, lease_until=now + timedelta(seconds=60), limit=3
                )
            if not claimed:
                async with database.reading() as session:
                    left = (await store.count_by_state(session))["pending"]
                if not left:
                    return
                await asyncio.sleep(0)
                continue
            for item in claimed:
                handled.append((name, item.person_id, item.update_id))
                async with database.transaction() as session:
                    assert await store.mark_handled(session, update_id=item.update_id, attempt=1, now=now)

    try:
        await asyncio.gather(instance("a", liaison.db), instance("b", other))
    finally:
        await other.dispose()
    assert sorted(u for _, _, u in handled) == list(range(1, 71)), "each update once"
    for person in range(7):
        ids = [u for _, p, u in handled if p == person]
        assert ids == sorted(ids), f"person {person} in order"


async def test_a_second_attempt_never_commits_after_the_first(liaison: Harness) -> None:
    agent = await liaison.member("Awa", language="fr")
    await agent.send("/alert urgent security: deux tentatives")
    await fetch(liaison)
    now = liaison.clock.now()
    inbox = liaison.runtime.inbox
    assert inbox is not None
    # Instance "slow" claims it, then stalls past its lease; the harness's instance takes it over.
    async with liaison.db.transaction() as session:
        (slow,) = await store.claim_heads(
            session, instance_id="slow", now=now, lease_until=now + timedelta(seconds=1), limit=1
        )
    await liaison.advance(2)
    assert len(await liaison.rows(Alert)) == 1
    answers = len(agent.inbox)
    # The slow attempt wakes up: its handler's transaction is refused, so it writes and says nothing.
    assert await inbox._attempt(slow, slow.attempt) is None
    (row,) = [r for r in await inbox_rows(liaison) if r.update_id == slow.update_id]
    assert row.committed_attempt == 2 and row.state == InboxState.HANDLED
    assert len(await liaison.rows(Alert)) == 1
    assert len(agent.inbox) == answers, "not even 'already sent': the refused attempt stopped"
    liaison.raise_errors()


async def test_a_failure_is_tried_again_and_the_person_never_hears_of_it(liaison: Harness) -> None:
    agent = await liaison.member("Awa", language="en")
    before = len(agent.inbox)
    # 502 at each of the call's own quick tries: the handler fails once, and the inbox tries the update again.
    liaison.emulator.faults.inject(502, method="sendMessage", chat_id=agent.id, count=1 + len(RETRY_DELAYS))
    await agent.send("/help")
    await liaison.settle()
    assert len(agent.texts[before:]) == 1 and "/alert" in agent.last.text, "the help, once, and nothing else"
    (row,) = [r for r in await inbox_rows(liaison) if r.person_id == agent.id][-1:]
    assert row.state == InboxState.HANDLED and row.attempts == 2


def poison_handler(liaison: Harness, calls: list[int]) -> None:
    """A handler that fails every time on messages saying 'poison' (a bug in some feature)."""

    async def boom(update: Update, _context: Any) -> None:
        calls.append(update.update_id)
        raise RuntimeError("bug in a feature")

    assert liaison.app is not None
    liaison.app.add_handler(MessageHandler(filters.Regex("^poison"), boom), group=-5)


async def test_a_poison_update_is_set_aside_and_the_persons_next_ones_go_on(liaison: Harness) -> None:
    chief = await liaison.member("Chef", role="chief", language="en")
    agent = await liaison.member("Awa", language="en")
    calls: list[int] = []
    poison_handler(liaison, calls)
    liaison.check_background_errors = False
    poison = await agent.send("poison pill")
    await agent.send("/alert urgent security: after the poison")
    await chief.send("/help")
    with pytest.raises(AssertionError, match="bug in a feature"):
        await liaison.settle()
    await liaison.settle()
    attempts = liaison.config.inbox.max_attempts
    assert calls == [poison["update_id"]] * attempts
    (row,) = [r for r in await inbox_rows(liaison) if r.update_id == poison["update_id"]]
    assert row.state == InboxState.SET_ASIDE and row.attempts == attempts
    assert "RuntimeError: bug in a feature" in (row.error or "")
    # Not blocked: the same person's next update and the others were handled.
    assert [a.text for a in await liaison.rows(Alert)] == ["after the poison"]
    assert sum("Something went wrong" in t for t in agent.texts) == 1, "told once, at the last attempt"
    (entry,) = await liaison.rows(AuditEntry, AuditEntry.action == "update.set_aside")
    member = (await liaison.rows(Member, Member.telegram_id == agent.id))[0]
    assert entry.object_id == str(poison["update_id"]) and entry.actor_member_id == member.id
    assert entry.details["attempts"] == attempts and entry.post_code == "NE-KONNI"
    report = await status_report(liaison.db)
    assert "1 set aside" in report and f"update {poison['update_id']}: message" in report
    assert "RuntimeError: bug in a feature" in report


async def test_an_update_that_kills_the_process_every_time_is_set_aside(liaison: Harness) -> None:
    agent = await liaison.member("Awa", language="en")
    calls: list[int] = []
    poison_handler(liaison, calls)
    liaison.check_background_errors = False
    poison = await agent.send("poison that crashes")
    await fetch(liaison)
    # Each start claims it and dies while handling it (the claim counts the attempt; nothing else happens).
    for _ in range(liaison.config.inbox.max_attempts):
        now = liaison.clock.now()
        async with liaison.db.transaction() as session:
            await store.claim_heads(
                session, instance_id="test", now=now, lease_until=now + timedelta(seconds=60), limit=1
            )
        await liaison.restart()  # SQLite: every claim a dead process left is taken back at start
        async with liaison.db.transaction() as session:
            await store.release_claims(session, instance_id="test")
    await liaison.settle()
    assert calls == [], "not run a sixth time"
    (row,) = [r for r in await inbox_rows(liaison) if r.update_id == poison["update_id"]]
    assert row.state == InboxState.SET_ASIDE and "stopped while handling" in (row.error or "")
    await agent.send("/help")
    await liaison.settle()
    assert "/alert" in agent.last.text


async def test_handled_updates_are_pruned_after_the_retention(liaison: Harness) -> None:
    agent = await liaison.member("Awa", language="en")
    calls: list[int] = []
    poison_handler(liaison, calls)
    liaison.check_background_errors = False
    await agent.send("poison")
    with pytest.raises(AssertionError):
        await liaison.settle()
    inbox = liaison.runtime.inbox
    assert inbox is not None
    before = {r.state for r in await inbox_rows(liaison)}
    assert before == {InboxState.HANDLED, InboxState.SET_ASIDE}
    await liaison.advance(timedelta(hours=liaison.config.inbox.retention_hours - 1))
    await inbox._sweep()
    assert {r.state for r in await inbox_rows(liaison)} == before
    await liaison.advance(timedelta(hours=2))
    await inbox._sweep()
    assert [r.state for r in await inbox_rows(liaison)] == [InboxState.SET_ASIDE], "kept for the admin"


# ----- re-handling is harmless ------------------------------------------------------------------------------


async def replay(liaison: Harness, update: dict[str, Any]) -> None:
    """Handle an update once more, as a second attempt would (outside the inbox: nothing stops it)."""
    assert liaison.app is not None
    await liaison.app.process_update(Update.de_json(update, liaison.app.bot))
    await liaison.settle()


async def test_an_acknowledgement_handled_twice_counts_once(liaison: Harness) -> None:
    customs, police, _health, _chief = await post_team(liaison)
    await customs.send("/alert urgent security: homme armé")
    await liaison.settle()
    alert = (await liaison.rows(Alert))[0]
    press = await police.tap(label(police, "👁 Seen"), message_id=alert_copy(police, alert.id).message_id)
    await liaison.settle()
    await replay(liaison, press)
    acks = await liaison.rows(AlertAck, AlertAck.service_code == "police")
    assert len(acks) == 1
    assert len(await liaison.rows(AuditEntry, AuditEntry.action == "alert.seen")) == 1


async def test_an_invite_press_handled_twice_makes_one_invite(liaison: Harness) -> None:
    chief = await liaison.member("Chef", role="chief", language="en")
    await chief.send("/invite")
    await liaison.settle()
    press = await chief.tap("Gendarmerie")
    await liaison.settle()
    shown = chief.last.text
    assert "start=" in shown
    invites = await liaison.rows(Invite, Invite.created_by.is_not(None))  # type: ignore[union-attr]
    await replay(liaison, press)
    assert len(await liaison.rows(Invite, Invite.created_by.is_not(None))) == len(invites) == 1  # type: ignore[union-attr]
    assert chief.last.text == shown, "the link shown the first time stays on screen"
    assert len(await liaison.rows(AuditEntry, AuditEntry.action == "invite.created")) == 1


async def test_a_join_handled_twice_makes_one_member(liaison: Harness) -> None:
    code = await liaison.invite_code(role="agent", post="NE-KONNI", service="police")
    newcomer = liaison.user("Ali", language="en")
    start = await newcomer.start(code)
    await liaison.settle()
    await replay(liaison, start)
    assert len(await liaison.rows(Member, Member.telegram_id == newcomer.id)) == 1
    assert len(await liaison.rows(AuditEntry, AuditEntry.action == "member.joined")) == 1
    assert "already a member" in newcomer.last.text


async def test_a_reminder_saved_twice_is_one_reminder(liaison: Harness) -> None:
    chief = await liaison.member("Chef", role="chief", language="en")
    for step in ("/remind", "Réunion de coordination"):
        await chief.send(step)
        await liaison.settle()
    await chief.tap(label(chief, "Every day"))
    await liaison.settle()
    await chief.send("10:00")
    await liaison.settle()
    await chief.tap("Post chiefs")
    await liaison.settle()
    press = await chief.tap(label(chief, "✅ Save"))
    await liaison.settle()
    await replay(liaison, press)
    assert len(await chief_reminders(liaison)) == 1
    assert len(await liaison.rows(AuditEntry, AuditEntry.action == "reminder.created")) == 1
