"""The statements a burst of presses runs most are compiled once, whatever the size of each batch.

Building an INSERT's VALUES list per batch made SQLAlchemy compile the statement again for every batch (a
tenth of the bot's CPU in a burst of notice presses); the inbox's claim was rebuilt for every claim.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.inbox import inbox_row
from db import alerts as alerts_store
from db import inbox as store
from db.alerts import Alert
from db.audit import Action, AuditEntry, record_action, record_actions
from db.engine import Database
from db.in_lists import padded
from db.outbox import queue as outbox_queue
from db.schedules import ScheduledJob
from tests.harness import Harness


@contextmanager
def cache_statuses(db: Database, prefix: str) -> Iterator[list[str]]:
    """SQLAlchemy's compiled-cache status of each statement starting with `prefix`, while the block runs."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
        if " ".join(statement.split()).upper().startswith(prefix):
            seen.append(str(getattr(context, "cache_hit", None)))

    sa.event.listen(db.engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine.sync_engine, "before_cursor_execute", note)


def callback_update(update_id: int, person: int) -> dict[str, Any]:
    """A button press as Telegram sends it, as the inbox stores it."""
    user = {"id": person, "is_bot": False, "first_name": f"Agent {person}"}
    message = {"message_id": 1, "date": 0, "chat": {"id": person, "type": "private"}, "text": "Notice"}
    press = {
        "id": f"q{update_id}",
        "from": user,
        "chat_instance": "c",
        "data": "nt:seen:1",
        "message": message,
    }
    return inbox_row({"update_id": update_id, "callback_query": press})


async def test_inbox_batches_of_any_size_are_stored_and_claimed_by_statements_compiled_once(
    liaison: Harness,
) -> None:
    """Batches of 2, 5 and 9 updates: one INSERT compiled once; three claims: one UPDATE compiled once."""
    update_id = 1_000
    now = liaison.clock.now()
    with cache_statuses(liaison.db, "INSERT INTO INBOX") as inserts:
        for size in (2, 5, 9):
            rows = [callback_update(update_id + n, 70_000 + update_id + n) for n in range(size)]
            update_id += size
            async with liaison.db.transaction(guarded=False) as session:
                assert await store.store_updates(session, rows=rows, now=now) == size
                # Stored twice (a batch fetched again after a crash): nothing new.
                assert await store.store_updates(session, rows=rows, now=now) == 0
    with cache_statuses(liaison.db, "UPDATE INBOX") as claims:
        claimed = []
        for limit in (3, 4, 50):
            async with liaison.db.transaction(guarded=False) as session:
                claimed += await store.claim_heads(
                    session, instance_id="one", now=now, lease_until=now + timedelta(minutes=1), limit=limit
                )
    assert sorted(c.update_id for c in claimed) == list(range(1_000, update_id))
    assert all(c.attempt == 1 and c.payload["callback_query"]["data"] == "nt:seen:1" for c in claimed)
    assert inserts and all(status.endswith("CACHE_HIT") for status in inserts[1:]), inserts
    assert len(claims) == 3 and all(status.endswith("CACHE_HIT") for status in claims[1:]), claims


async def test_audit_bursts_of_any_size_are_inserted_by_one_statement_compiled_once(liaison: Harness) -> None:
    """Bursts of 2, 4 and 7 entries: each one INSERT, all compiled once; every entry is there."""
    now = liaison.clock.now()
    with cache_statuses(liaison.db, "INSERT INTO AUDIT_LOG") as inserts:
        for size in (2, 4, 7):
            actions = [
                Action(action="test.burst", at=now, post_code="NE-KONNI", object_id=f"{size}-{n}")
                for n in range(size)
            ]
            async with liaison.db.transaction() as session:
                assert await record_actions(session, actions) == size
    assert len(inserts) == 3 and all(status.endswith("CACHE_HIT") for status in inserts[1:]), inserts
    async with liaison.db.reading() as session:
        ids = (
            await session.exec(sa.text("SELECT object_id FROM audit_log WHERE action = 'test.burst'"))  # type: ignore[call-overload]
        ).all()
    assert sorted(i for (i,) in ids) == sorted(f"{s}-{n}" for s in (2, 4, 7) for n in range(s))


async def test_escalation_ladders_are_inserted_by_one_statement_compiled_once(liaison: Harness) -> None:
    """Three alerts raised one after the other: each ladder one INSERT INTO schedules, compiled once (a
    VALUES list is never cached: every alert's ladder was compiled anew)."""
    author = await liaison.member("Awa", service="customs", language="en")
    await liaison.member("Bintou", service="police", language="fr")
    with cache_statuses(liaison.db, "INSERT INTO SCHEDULES") as inserts:
        for n in range(3):
            await author.send(f"/alert urgent security: vehicle {n} forcing the barrier")
            await liaison.process_updates()
    assert len(inserts) == 3 and all(status.endswith("CACHE_HIT") for status in inserts[1:]), inserts
    keys = {job.key for job in await liaison.rows(ScheduledJob)}
    alerts = await liaison.rows(Alert)
    assert len(alerts) == 3
    assert all({f"al:{a.id}:esc:1", f"al:{a.id}:dlv:1"} <= keys for a in alerts), keys


async def test_a_single_audit_entry_is_written_without_an_orm_flush(liaison: Harness) -> None:
    """record_action writes through record_actions' statement: no unit-of-work flush for one object (it
    cost more than the INSERT, in every alert raised), and the entries are sealed into the post's chain."""
    flushes: list[int] = []

    def count(_session: Any, _context: Any, _instances: Any) -> None:
        flushes.append(1)

    now = liaison.clock.now()
    sa.event.listen(Session, "before_flush", count)
    try:
        for n in range(3):
            async with liaison.db.transaction() as session:
                await record_action(session, action="test.single", at=now, post_code="NE-KONNI", object_id=n)
    finally:
        sa.event.remove(Session, "before_flush", count)
    assert flushes == []
    singles = await liaison.rows(AuditEntry, AuditEntry.action == "test.single")
    assert sorted(e.object_id for e in singles) == ["0", "1", "2"]
    assert all(e.hash and e.seq for e in singles)


@contextmanager
def sql_strings(db: Database, prefix: str) -> Iterator[set[str]]:
    """The distinct SQL strings starting with `prefix` run while the block runs."""
    seen: set[str] = set()

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if " ".join(statement.split()).upper().startswith(prefix):
            seen.add(statement)

    sa.event.listen(db.engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine.sync_engine, "before_cursor_execute", note)


def test_in_lists_are_padded_to_a_few_lengths() -> None:
    """Short lists keep their length; longer ones repeat their last value up to the next power of two."""
    assert padded([]) == [] and padded([3, 1]) == [3, 1] and padded([1, 2, 3, 4]) == [1, 2, 3, 4]
    assert padded(range(1, 6)) == [1, 2, 3, 4, 5, 5, 5, 5]
    assert len(padded(range(9))) == 16 and len(padded(range(16))) == 16 and len(padded(range(17))) == 32
    assert {len(padded(range(n))) for n in range(5, 513)} == {8, 16, 32, 64, 128, 256, 512}


async def test_lists_of_nearby_lengths_share_one_sql_string_and_read_each_row_once(liaison: Harness) -> None:
    """Reading 5, 6, 7 or 8 alerts by id runs one SQL string (PostgreSQL prepares each string on the
    server, SQLite parses it), and the padding's repeated ids bring no row twice; so for outbox claims."""
    authors = [await liaison.member(f"Agent{n}", service="customs", language="en") for n in range(8)]
    for n, author in enumerate(authors):
        await author.send(f"/alert urgent security: vehicle {n} forcing the barrier")
    await liaison.process_updates()
    await liaison.settle()
    ids = sorted(alert.id for alert in await liaison.rows(Alert))
    assert len(ids) == 8
    with sql_strings(liaison.db, "SELECT ALERTS.") as reads:
        for size in (5, 6, 7, 8):
            async with liaison.session() as session:
                found = await alerts_store.get_alerts(session, alert_ids=set(ids[:size]))
            assert sorted(found) == ids[:size]
    assert len(reads) == 1, reads
    with sql_strings(liaison.db, "UPDATE OUTBOX") as claims:
        for size in range(5, 17):
            async with liaison.db.transaction(guarded=False) as session:
                await outbox_queue.claim_rows(
                    session,
                    ids=list(range(10_000, 10_000 + size)),
                    claimed_by="t",
                    lease_until=liaison.clock.now(),
                )
    assert len(claims) == 2, claims
