"""Engine and session factory for SQLite (tuned for concurrency) and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

WAKE_KEY = "liaison_wake"


def _tune_sqlite(engine: Engine) -> None:
    """Make SQLite transactions serialise writers instead of losing updates (stack.md)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "busy_timeout=5000", "foreign_keys=ON", "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front so read-then-write cannot interleave.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create an async engine; SQLite gets the PRAGMAs and locking it needs."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _tune_sqlite(engine.sync_engine)
        return engine
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


def request_wake(session: AsyncSession, name: str) -> None:
    """Ask that the named background loop be woken once this session's transaction commits."""
    session.sync_session.info.setdefault(WAKE_KEY, set()).add(name)


class Database:
    """One engine, its session factory, and the wake-up hooks fired after commits."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self._wakers: dict[str, list[Callable[[], None]]] = {}
        session_class = type("LiaisonSession", (Session,), {})
        event.listen(session_class, "after_commit", self._after_commit)
        event.listen(session_class, "after_rollback", self._after_rollback)
        self.sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False, sync_session_class=session_class
        )

    @property
    def is_sqlite(self) -> bool:
        """True when running on SQLite."""
        return self.engine.dialect.name == "sqlite"

    def on_commit(self, name: str, callback: Callable[[], None]) -> None:
        """Call `callback` after any commit that asked to wake `name`."""
        self._wakers.setdefault(name, []).append(callback)

    def _after_commit(self, session: Session) -> None:
        for name in session.info.pop(WAKE_KEY, set()):
            for callback in self._wakers.get(name, []):
                callback()

    def _after_rollback(self, session: Session) -> None:
        session.info.pop(WAKE_KEY, None)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commit on success, roll back on error."""
        async with self.sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
