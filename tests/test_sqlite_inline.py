"""SQLite statements run on the event loop's thread (db/sqlite_inline.py): a write transaction no longer
yields to the loop between its statements, so it holds SQLite's one write lock only as long as its work."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from db.engine import Database


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    """A SQLite file database with one table (whatever database the suite runs on)."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    async with db.transaction() as session:
        await session.exec(sa.text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
    yield db
    await db.dispose()


async def test_statements_run_on_the_loops_thread_and_no_thread_is_started(tmp_path: Path) -> None:
    threads = threading.active_count()
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'threads.db'}")

    def register(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("caller_thread", 0, threading.get_ident)

    sa.event.listen(db.engine.sync_engine, "connect", register)
    try:
        async with db.transaction() as session:
            ran_on = (await session.exec(sa.text("SELECT caller_thread()"))).scalar_one()
        async with db.reading() as session:
            await session.exec(sa.text("SELECT 1"))
        assert ran_on == threading.get_ident()
        # aiosqlite started a thread per connection (writer and readers).
        assert threading.active_count() == threads
    finally:
        await db.dispose()


async def test_a_transaction_does_not_let_the_loop_turn_between_its_statements(database: Database) -> None:
    turns = 0
    stop = asyncio.Event()

    async def count_turns() -> None:
        nonlocal turns
        while not stop.is_set():
            turns += 1
            await asyncio.sleep(0)

    counter = asyncio.create_task(count_turns())
    await asyncio.sleep(0)
    try:
        before = turns
        async with database.transaction() as session:
            for n in range(20):
                await session.exec(
                    sa.text("INSERT INTO notes (body) VALUES (:body)"), params={"body": f"n{n}"}
                )
        during = turns - before
    finally:
        stop.set()
        await counter
    # Through aiosqlite's thread the loop turned ~1,700 times while this transaction ran (it waited on each).
    assert during <= 5, during
    async with database.reading() as session:
        assert (await session.exec(sa.text("SELECT count(*) FROM notes"))).scalar_one() == 20


async def test_errors_and_rollbacks_behave_as_with_aiosqlite(database: Database) -> None:
    with pytest.raises(IntegrityError):
        async with database.transaction() as session:
            await session.exec(sa.text("INSERT INTO notes (id, body) VALUES (1, 'kept?')"))
            await session.exec(sa.text("INSERT INTO notes (id, body) VALUES (1, 'twice')"))
    async with database.transaction() as session:
        assert (await session.exec(sa.text("SELECT count(*) FROM notes"))).scalar_one() == 0
        await session.exec(sa.text("INSERT INTO notes (id, body) VALUES (1, 'once')"))
    async with database.reading() as session:
        assert (await session.exec(sa.text("SELECT body FROM notes"))).scalars().all() == ["once"]


async def test_a_writer_of_another_engine_waits_for_the_lock_without_blocking_the_loop(
    database: Database,
) -> None:
    """Two engines of one process on one file: the second's BEGIN IMMEDIATE is refused while the first holds
    the lock, and waits asynchronously (in SQLite's busy handler, on the loop's thread, it blocked the very
    task holding the lock until the 30 s timeout)."""
    other = Database(str(database.engine.url))
    holding, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with database.transaction() as session:
            await session.exec(sa.text("INSERT INTO notes (body) VALUES ('first')"))
            holding.set()
            await release.wait()

    async def second() -> None:
        await holding.wait()
        async with other.transaction() as session:
            await session.exec(sa.text("INSERT INTO notes (body) VALUES ('second')"))

    try:
        tasks = [asyncio.create_task(first()), asyncio.create_task(second())]
        await holding.wait()
        for _ in range(20):
            await asyncio.sleep(0)  # the loop keeps turning while the second writer waits
        assert not tasks[1].done()
        release.set()
        await asyncio.gather(*tasks)
    finally:
        await other.dispose()
    async with database.reading() as session:
        assert (await session.exec(sa.text("SELECT body FROM notes ORDER BY id"))).scalars().all() == [
            "first",
            "second",
        ]
