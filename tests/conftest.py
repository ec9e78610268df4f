"""Fixtures: a migrated database per test (SQLite, or PostgreSQL when LIAISON_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.config import Config, load_config
from db import migrate
from db.engine import create_engine
from tests.harness import Harness

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("LIAISON_TEST_DATABASE_URL", "").strip()


@pytest.fixture(scope="session")
def config() -> Config:
    """The shipped config.yaml: tests play the real posts, services and categories."""
    return load_config(ROOT / "config.yaml", environ={})


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


async def _create_pg_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()


async def _drop_pg_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated once per run: a SQLite template file, or a private PostgreSQL database."""
    if PG_URL:
        name = f"liaison_test_{uuid.uuid4().hex[:10]}"
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        asyncio.run(_create_pg_database(PG_URL, name))
        asyncio.run(_migrate(url))
        yield url
        asyncio.run(_drop_pg_database(PG_URL, name))
    else:
        template = tmp_path_factory.mktemp("template") / "liaison.db"
        asyncio.run(_migrate(f"sqlite+aiosqlite:///{template}"))
        yield str(template)


async def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            names = (
                (
                    await connection.execute(
                        text(
                            "SELECT tablename FROM pg_tables"
                            " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                        )
                    )
                )
                .scalars()
                .all()
            )
            if names:
                await connection.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture
async def database_url(migrated_database: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty, migrated database for one test."""
    if PG_URL:
        await _truncate_all(migrated_database)
        yield migrated_database
    else:
        path = tmp_path / "liaison.db"
        shutil.copyfile(migrated_database, path)
        yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def liaison(config: Config, database_url: str) -> AsyncIterator[Harness]:
    """A started Liaison on a fresh database, driven through the emulator."""
    harness = Harness(config, database_url)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
