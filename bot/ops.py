"""Operations on a deployment's database: consistent backups of a running SQLite file, restores, and moving
every row from one database to another (SQLite to PostgreSQL when a post outgrows one machine)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Integer, func, select, text
from sqlalchemy.engine import make_url

from db import migrate
from db.engine import create_engine
from db.metadata import metadata

# Rows copied per statement when moving data: small enough for SQLite's bound-parameter limit per column set.
MOVE_BATCH = 500


class OperationRefused(Exception):
    """The operation would lose or corrupt data; the message says why, for the operator."""


def sqlite_path(url: str) -> Path:
    """The file behind a SQLite URL (refuses other databases)."""
    parsed = make_url(url)
    if not parsed.get_backend_name() == "sqlite" or not parsed.database or parsed.database == ":memory:":
        raise OperationRefused(
            "backup and restore work on a SQLite file; "
            "for PostgreSQL use pg_dump and pg_restore (README, Deploying)"
        )
    return Path(parsed.database)


def backup_sqlite(url: str, target: Path, *, pages_per_step: int = 256) -> int:
    """Copy a SQLite database, even while the bot writes to it, into a consistent file; returns its size.

    SQLite's online backup copies pages in steps and starts over when a writer changes a page already
    copied, so the copy is a snapshot of one moment, never a half-written transaction.
    """
    source_path = sqlite_path(url)
    if not source_path.exists():
        raise OperationRefused(f"no database at {source_path}")
    if target.exists():
        raise OperationRefused(f"{target} exists: choose a new file name (a backup never overwrites)")
    partial = target.with_name(target.name + ".partial")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    destination = sqlite3.connect(partial)
    try:
        source.backup(destination, pages=pages_per_step)
        check = destination.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise OperationRefused(f"the copy failed its integrity check: {check}")
    finally:
        destination.close()
        source.close()
    # Only a complete, checked copy takes the final name.
    partial.rename(target)
    return target.stat().st_size


def restore_sqlite(backup: Path, url: str) -> None:
    """Put a backup back in place of the database (the bot must be stopped: a running one is refused)."""
    if not backup.exists():
        raise OperationRefused(f"no backup at {backup}")
    source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        check = source.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise OperationRefused(f"{backup} is damaged: {check}")
        target_path = sqlite_path(url)
        destination = sqlite3.connect(target_path, timeout=0.5, isolation_level=None)
        try:
            try:
                # A running bot holds the database: an exclusive lock says nobody else is in it.
                destination.execute("BEGIN EXCLUSIVE")
                destination.execute("ROLLBACK")
            except sqlite3.OperationalError:
                raise OperationRefused(
                    f"{target_path} is in use: stop the bot before restoring "
                    "(liaison backup works while it runs)"
                ) from None
            source.backup(destination)
        finally:
            destination.close()
    finally:
        source.close()


@dataclass(frozen=True)
class MoveReport:
    """How many rows each table received."""

    tables: dict[str, int]

    @property
    def rows(self) -> int:
        """Rows moved in all."""
        return sum(self.tables.values())


async def move_data(
    source_url: str, target_url: str, *, progress: Callable[[str, int], None] | None = None
) -> MoveReport:
    """Copy every row of every table from one database to another (both migrated to the same revision).

    The target must be empty: moving into a database that already serves a bot would mix two histories.
    Ids are kept (outbox card keys, audit chains and scheduled keys refer to them); PostgreSQL's sequences
    are moved past the highest id so new rows never collide.
    """
    source, target = create_engine(source_url), create_engine(target_url)
    try:
        await migrate.upgrade(source)
        await migrate.upgrade(target)
        if await migrate.current_revision(source) != await migrate.current_revision(target):
            raise OperationRefused("the two databases are not at the same revision")
        tables = [t for t in metadata.sorted_tables]
        async with target.connect() as connection:
            for table in tables:
                if (await connection.execute(select(func.count()).select_from(table))).scalar_one():
                    raise OperationRefused(
                        f"the target already holds {table.name}: move into an empty database"
                    )
        moved: dict[str, int] = {}
        async with source.connect() as reading, target.begin() as writing:
            if writing.dialect.name == "sqlite":
                # Rows come in dependency order, but a table may refer to itself (members invited by members).
                await writing.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
            for table in tables:
                count = 0
                ordering = list(table.primary_key.columns)
                result = await reading.stream(select(table).order_by(*ordering))
                async for chunk in result.mappings().partitions(MOVE_BATCH):
                    await writing.execute(table.insert(), [dict(row) for row in chunk])
                    count += len(chunk)
                moved[table.name] = count
                if progress is not None:
                    progress(table.name, count)
            if writing.dialect.name == "postgresql":
                for table in tables:
                    key = table.primary_key.columns.values()
                    if len(key) == 1 and isinstance(key[0].type, Integer):
                        column = key[0].name
                        await writing.execute(
                            text(
                                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column}'), "
                                f"COALESCE((SELECT MAX({column}) FROM {table.name}), 0) + 1, false)"
                            )
                        )
        return MoveReport(moved)
    finally:
        await source.dispose()
        await target.dispose()
