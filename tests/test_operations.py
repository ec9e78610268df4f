"""Operations: a consistent backup of a SQLite database under write load, restoring it, and moving every row
into another database where the bot carries on."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import Config
from bot.ops import OperationRefused, backup_sqlite, move_data, restore_sqlite
from db import migrate
from db.alerts import Alert, AlertAck
from db.audit import AuditEntry, record_action
from db.engine import Database, create_engine
from db.members import Member
from db.outbox import Notification
from tests.conftest import PG_URL
from tests.factories import alert_copy, post_team
from tests.harness import Harness

PAIRS = 300


async def _write_pairs(database: Database, started: asyncio.Event) -> None:
    """Each transaction writes two audit rows with the same tag: a consistent copy holds both or neither."""
    for n in range(PAIRS):
        async with database.transaction() as session:
            for half in ("a", "b"):
                await record_action(session, action="test.pair", at=_now(), object_id=f"{n}:{half}")
        if n == 20:
            started.set()


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


@pytest.mark.skipif(bool(PG_URL), reason="SQLite backups; PostgreSQL uses pg_dump (README)")
async def test_a_backup_taken_under_write_load_is_consistent_and_restores(
    database_url: str, tmp_path: Path
) -> None:
    database = Database(database_url)
    started = asyncio.Event()
    target = tmp_path / "backup.db"
    try:
        writer = asyncio.create_task(_write_pairs(database, started))
        await started.wait()  # the writer has committed its first transactions
        # The backup runs in a thread while the writer keeps committing on the event loop.
        size = await asyncio.to_thread(backup_sqlite, database_url, target, pages_per_step=1)
        await writer
    finally:
        await database.dispose()
    assert size > 0 and target.exists()
    with sqlite3.connect(target) as copy:
        rows = copy.execute("SELECT object_id FROM audit_log WHERE action = 'test.pair'").fetchall()
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    tags: dict[str, int] = {}
    for (object_id,) in rows:
        tags[object_id.split(":")[0]] = tags.get(object_id.split(":")[0], 0) + 1
    assert set(tags.values()) <= {2}, "a transaction was half copied"
    assert 20 <= len(tags) <= PAIRS

    # A backup never overwrites; restoring refuses a database in use, then puts the copy back.
    with pytest.raises(OperationRefused, match="exists"):
        backup_sqlite(database_url, target)
    live = sqlite3.connect(database_url.split("///", 1)[1], isolation_level=None)
    live.execute("BEGIN IMMEDIATE")
    with pytest.raises(OperationRefused, match="in use"):
        restore_sqlite(target, database_url)
    live.execute("ROLLBACK")
    live.close()
    restore_sqlite(target, database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            restored = (
                await connection.execute(
                    select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "test.pair")
                )
            ).scalar_one()
        assert restored == 2 * len(tags)
        assert await migrate.current_revision(engine) is not None
    finally:
        await engine.dispose()


def test_backup_refuses_what_is_not_a_sqlite_file(tmp_path: Path) -> None:
    with pytest.raises(OperationRefused, match="pg_dump"):
        backup_sqlite("postgresql+asyncpg://postgres@127.0.0.1/test", tmp_path / "x.db")
    with pytest.raises(OperationRefused, match="no database"):
        backup_sqlite(f"sqlite+aiosqlite:///{tmp_path}/absent.db", tmp_path / "x.db")


async def test_a_post_moves_to_another_database_and_carries_on(
    config: Config, database_url: str, tmp_path: Path
) -> None:
    # A post lives on a SQLite file: members, an alert, acknowledgements, its outbox.
    source_url = f"sqlite+aiosqlite:///{tmp_path}/post.db"
    engine = create_engine(source_url)
    await migrate.upgrade(engine)
    await engine.dispose()
    harness = Harness(config, source_url)
    await harness.start()
    customs, police, health, _chief = await post_team(harness)
    await police.send("/alert urgent health: unconscious traveller in the waiting room")
    await harness.settle()
    await health.tap("👁 Vu", message_id=alert_copy(health, 1).message_id)
    await harness.settle()
    await harness.stop()

    # It moves into the test database (PostgreSQL when the suite runs on it), emptied first.
    target_url = database_url
    target = create_engine(target_url)
    await migrate.downgrade(target, "base")
    await target.dispose()
    report = await move_data(source_url, target_url)
    assert report.tables["members"] == 4 and report.tables["alerts"] == 1
    assert report.tables["outbox"] == len(await _rows(source_url, Notification))
    with pytest.raises(OperationRefused, match="empty"):
        await move_data(source_url, target_url)

    # The bot starts on the new database: the same people, the alert open; a new alert gets a new id.
    moved = Harness(config, target_url, clock=harness.clock)
    moved.emulator = harness.emulator
    await moved.start()
    try:
        assert {m.display_name for m in await moved.rows(Member)} == {"Awa", "John", "Mariama", "Ibrahim"}
        await customs.tap("👁 Vu", message_id=alert_copy(customs, 1).message_id)
        await moved.settle()
        assert {a.service_code for a in await moved.rows(AlertAck)} == {"police", "health", "customs"}
        await customs.send("/alert info other: lorry parked at the barrier")
        await moved.settle()
        assert [a.id for a in await moved.rows(Alert)] == [1, 2]
    finally:
        await moved.stop()


async def _rows(url: str, model: type) -> list[object]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(select(model))).all())
    finally:
        await engine.dispose()
