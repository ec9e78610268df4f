"""The engine's guarantees: concurrent read-then-write loses nothing; reads never wait for the write lock."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from db.engine import Database
from db.posts import Post


async def _seed(database: Database) -> None:
    async with database.transaction() as session:
        session.add(Post(code="TEST", name="0", country="NE", timezone="Africa/Niamey", language="fr"))


async def test_concurrent_read_then_write_loses_no_update(database_url: str) -> None:
    database = Database(database_url)
    try:
        await _seed(database)

        async def increment() -> None:
            async with database.transaction() as session:
                post = (await session.exec(select(Post).where(Post.code == "TEST").with_for_update())).one()
                post.name = str(int(post.name) + 1)
                session.add(post)

        await asyncio.gather(*(increment() for _ in range(100)))
        async with database.reading() as session:
            assert (await session.exec(select(Post).where(Post.code == "TEST"))).one().name == "100"
    finally:
        await database.dispose()


async def test_a_read_does_not_wait_for_a_writer(database_url: str) -> None:
    database = Database(database_url)
    try:
        await _seed(database)
        async with database.transaction() as writer:
            post = (await writer.exec(select(Post).where(Post.code == "TEST"))).one()
            post.name = "changing"
            writer.add(post)
            await writer.flush()  # the writer now holds its lock and has not committed
            # Were reads taking the write lock, this would wait for the writer (here: forever).
            async with asyncio.timeout(5), database.reading() as reader:
                seen = (await reader.exec(select(Post).where(Post.code == "TEST"))).one()
            assert seen.name == "0"  # the last committed state, not the writer's draft
    finally:
        await database.dispose()
