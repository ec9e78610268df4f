"""Every migration goes up, down and up again, and the result matches the models exactly."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlmodel import select

from db import migrate
from db.drafts import Draft, drop_draft, open_draft
from db.engine import Database, create_engine
from db.members import Member
from db.metadata import metadata

ROOT = Path(__file__).resolve().parent.parent


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


async def _tables(engine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_walk_every_revision_up_down_and_up(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        revisions = _revisions()
        assert revisions[0] == "0001_foundation"
        # The fixture hands over a migrated database: walk it all the way down first.
        await migrate.downgrade(engine, "base")
        assert await _tables(engine) <= {"alembic_version"}
        for revision in revisions:
            await migrate.upgrade(engine, revision)
            assert await migrate.current_revision(engine) == revision
        for previous in reversed([None, *revisions[:-1]]):
            await migrate.downgrade(engine, previous or "base")
            assert await migrate.current_revision(engine) == previous
        await migrate.upgrade(engine, "head")
        assert await migrate.current_revision(engine) == revisions[-1]

        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
        assert differences == [], "models and migrations disagree: write a migration"
    finally:
        await engine.dispose()


async def test_instances_starting_together_migrate_once(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate.downgrade(engine, "base")
        # SQLite serialises through its write lock, PostgreSQL through an advisory lock.
        await asyncio.gather(*(migrate.upgrade(engine) for _ in range(3)))
        assert await migrate.current_revision(engine) == _revisions()[-1]
    finally:
        await engine.dispose()


def test_the_head_read_from_file_names_is_alembics_head() -> None:
    assert migrate.head_revision() == _revisions()[-1]


async def test_a_database_at_head_is_checked_without_importing_alembic(database_url: str) -> None:
    # In a fresh interpreter, as `liaison run` is after its child process migrated: the start-up upgrade finds
    # the head recorded and the bot never loads Alembic.
    probe = (
        "import asyncio, sys\n"
        "from db import migrate\n"
        "from db.engine import create_engine\n"
        "async def main():\n"
        "    engine = create_engine(sys.argv[1])\n"
        "    await migrate.upgrade(engine)\n"
        "    await engine.dispose()\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", probe, database_url, stdout=asyncio.subprocess.PIPE, cwd=ROOT
    )
    out, _ = await process.communicate()
    assert process.returncode == 0 and out.decode().strip() == "[]"


async def test_a_deleted_drafts_id_is_never_given_to_a_newer_draft(database_url: str) -> None:
    # Buttons name a draft by its id: SQLite used to give the newest draft's id, once deleted, to the next.
    db = Database(database_url)
    now = datetime(2026, 3, 1, tzinfo=UTC)

    async def draft(session, member_id: int, flow: str) -> Draft:
        opened, _, _ = await open_draft(
            session,
            member_id=member_id,
            flow=flow,
            token=flow,
            step="s",
            data={"flow": flow},
            now=now,
            expires_at=now + timedelta(hours=1),
        )
        return opened

    try:
        # Drafts written before the upgrade are kept, ids and all.
        await migrate.downgrade(db.engine, "0013_flood_counts")
        async with db.transaction() as session:
            member = Member(telegram_id=1, chat_id=1, display_name="Awa")
            session.add(member)
            await session.flush()
            assert member.id is not None
            kept, newest = await draft(session, member.id, "alert"), await draft(session, member.id, "notice")
        await migrate.upgrade(db.engine)
        async with db.transaction() as session:
            rows = (await session.exec(select(Draft).order_by(Draft.id))).all()
            assert [(d.id, d.flow, d.data) for d in rows] == [
                (kept.id, "alert", {"flow": "alert"}),
                (newest.id, "notice", {"flow": "notice"}),
            ]
            # The newest draft is sent or cancelled; the next one gets a new id.
            assert await drop_draft(session, member_id=member.id, draft_id=newest.id)
            following = await draft(session, member.id, "notice")
            assert newest.id is not None and following.id is not None and following.id > newest.id
            assert await drop_draft(session, member_id=member.id, draft_id=following.id)
        async with db.transaction() as session:
            assert (await draft(session, member.id, "notice")).id > following.id  # across transactions too
    finally:
        await db.dispose()
