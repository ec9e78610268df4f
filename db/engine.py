"""Engine and session factory for SQLite (tuned for concurrency) and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

WAKE_KEY = "liaison_wake"


class CommitGuard(Protocol):
    """Work that every write transaction of the current task must carry (the update being handled)."""

    async def before_commit(self, session: AsyncSession) -> None:
        """Write into the transaction about to commit, or raise to refuse the commit."""

    def after_commit(self) -> None:
        """The transaction committed."""


# Set while an update is handled (db.inbox.Handling): each `transaction()` of that task marks the update.
COMMIT_GUARD: ContextVar[CommitGuard | None] = ContextVar("liaison_commit_guard", default=None)


# SQLite connections kept for reads (each a file handle and its page cache).
READ_CONNECTIONS = 8
# PostgreSQL statements each connection keeps prepared (the driver's default is 100).
PREPARED_STATEMENTS = 500


def _tune_sqlite(engine: Engine, *, writer: bool = True) -> None:
    """Make SQLite transactions serialise writers instead of losing updates (stack.md)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # No waiting in SQLite's busy handler: it would block the event loop's thread (statements run there),
        # possibly while the lock's holder is a task of this loop. db/sqlite_inline.py waits instead.
        for pragma in ("journal_mode=WAL", "busy_timeout=0", "foreign_keys=ON", "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock up front so read-then-write cannot interleave; readers take a WAL
        # snapshot that never blocks (and is never blocked by) a writer.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


def create_engine(url: str, *, read_only: bool = False, **kwargs: Any) -> AsyncEngine:
    """Create an async engine; SQLite gets the PRAGMAs and locking it needs."""
    if url.startswith("sqlite"):
        if not read_only and ":memory:" not in url:
            # SQLite takes one writer at a time: writers that queue for the pool's one connection wake the
            # moment it is free, while several connections would each wait in SQLite's busy handler, which
            # sleeps in steps of up to 100 ms (a button press waited seconds behind fan-outs that way).
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)
            kwargs.setdefault("pool_timeout", 60)
        elif read_only:
            # Readers share a fixed set of connections: the default pool opened and closed an overflow
            # connection (a thread, a file, its PRAGMAs) for every reader beyond five, which under a burst of
            # presses was most of them. Past the set, a reader waits for one to be free.
            kwargs.setdefault("pool_size", READ_CONNECTIONS)
            kwargs.setdefault("max_overflow", 0)
            kwargs.setdefault("pool_timeout", 60)
        from db.sqlite_inline import inline_dbapi

        # Statements run on the loop's thread, not aiosqlite's (db/sqlite_inline.py says why).
        kwargs.setdefault("module", inline_dbapi())
        engine = create_async_engine(url, connect_args={"timeout": 0}, **kwargs)
        _tune_sqlite(engine.sync_engine, writer=not read_only)
        return engine
    if url.startswith("postgresql+asyncpg"):
        # The driver prepares each distinct SQL string on the server once per connection and keeps 100: the
        # bot runs more than that (about 150 once IN lists are padded, db/in_lists.py), so a smaller cache
        # prepared the same statements again and again (a round trip each).
        kwargs.setdefault("connect_args", {}).setdefault("prepared_statement_cache_size", PREPARED_STATEMENTS)
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
        # SQLite gets a second engine for reads, so that looking something up never queues for the write
        # lock; PostgreSQL's MVCC needs no such thing.
        self.read_engine = (
            create_engine(url, read_only=True, **engine_kwargs) if url.startswith("sqlite") else self.engine
        )
        self.read_sessions = async_sessionmaker(self.read_engine, class_=AsyncSession, expire_on_commit=False)
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
    async def transaction(self, *, guarded: bool = True) -> AsyncIterator[AsyncSession]:
        """A unit of work: commit on success, roll back on error.

        While an update is handled, the commit also marks it handled (`COMMIT_GUARD`), or is refused when
        another attempt at the same update already committed. `guarded=False` is for bookkeeping that is
        not the update's effect and may be repeated safely (the gate noting that a member is back).
        """
        guard = COMMIT_GUARD.get() if guarded else None
        async with self.sessions() as session:
            try:
                yield session
                if guard is not None:
                    await guard.before_commit(session)
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
        if guard is not None:
            guard.after_commit()

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncSession]:
        """Statements that each stand alone (each atomic by itself): on PostgreSQL every one commits at once,
        which saves the BEGIN and COMMIT round trips; SQLite gets an ordinary transaction (its write lock)."""
        if self.is_sqlite:
            async with self.transaction(guarded=False) as session:
                yield session
            return
        async with self.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            async with AsyncSession(bind=connection, expire_on_commit=False) as session:
                yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A read-only look at the database: a consistent snapshot that takes no write lock."""
        # Closing (not rolling back) ends the snapshot and leaves loaded objects readable, detached.
        async with self.read_sessions() as session:
            yield session

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
