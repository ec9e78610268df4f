"""Run Alembic migrations from code: from the CLI, at start-up, and in tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_KEY = 0x4C49414953  # "LIAIS": any constant shared by every instance


def alembic_config(url: str, connection: Connection | None = None) -> AlembicConfig:
    """An Alembic config pointing at our migrations, without an ini file."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database behind `engine` up to `revision`."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several instances may start together: one migrates, the others wait and then find nothing to do.
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        await connection.run_sync(
            lambda sync: command.upgrade(alembic_config(str(engine.url), sync), revision)
        )


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Migrate the database behind `engine` down to `revision`."""
    async with engine.begin() as connection:
        await connection.run_sync(
            lambda sync: command.downgrade(alembic_config(str(engine.url), sync), revision)
        )


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None when unmigrated."""
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
