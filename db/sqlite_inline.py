"""SQLite run on the event loop's own thread, behind SQLAlchemy's aiosqlite dialect.

aiosqlite hands every statement to a thread of its own and wakes the loop when it is done. For this bot's
statements (tens of microseconds to a few milliseconds) the trip costs more than the work: a thread switch,
a write to the loop's self-pipe, and a wait for the loop's next turn. The last is what hurt: a write
transaction holds SQLite's only write lock across every one of those turns, and under a fan-out a turn
runs dozens of sends' callbacks, so a batch of button presses held the lock ~45 ms for ~20 statements
while every other writer queued behind it (bench_alerts: 779 waits for the writer, 30 s in all). Run
inline, a transaction's statements follow one another without yielding to the loop.

The price: the loop does not run while SQLite works, which for these statements is shorter than the trip
was. Nor may SQLite wait for a lock on the loop's thread: the holder may be another engine of this same
process, which can only let go when the loop runs (two engines on one file deadlocked that way until the
busy timeout). So SQLite's own busy handler is off (timeout 0) and a statement refused with SQLITE_BUSY is
tried again after an asynchronous pause, as the handler would have, for up to BUSY_SECONDS. A refused
statement did nothing (it could not take its lock), and COMMIT may be tried again, so trying again is safe;
SQLITE_BUSY_SNAPSHOT (a stale read snapshot wanting to write) is not retried, but writers begin IMMEDIATE.

This subclasses aiosqlite's Connection (pinned in pyproject.toml) and keeps its interface: SQLAlchemy's
adapter drives it exactly as it drives aiosqlite, including the function queue it uses for
`isolation_level`.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Generator
from functools import partial
from types import SimpleNamespace
from typing import Any

import aiosqlite
from aiosqlite.core import _STOP_RUNNING_SENTINEL
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi

# How long a statement waits for a lock another connection holds (SQLite's busy_timeout did this before).
BUSY_SECONDS = 30.0
SQLITE_BUSY = 5
SQLITE_BUSY_SNAPSHOT = 517


class _RunNow:
    """aiosqlite's queue of (future, function) pairs, run as they are put."""

    def put_nowait(self, item: tuple[Any, Callable[[], Any]]) -> None:
        """Run the function now and settle its future (if any) with the outcome."""
        future, function = item
        try:
            result = function()
        except BaseException as error:  # handed to whoever awaits it, as aiosqlite's thread does
            if future is not None and not future.done():
                future.set_exception(error)
            return
        if future is not None and not future.done():
            future.set_result(None if result is _STOP_RUNNING_SENTINEL else result)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose statements run on the caller's thread; it never starts a thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int) -> None:
        super().__init__(connector, iter_chunk_size)
        self._tx = _RunNow()  # type: ignore[assignment]

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        deadline, pause = time.monotonic() + BUSY_SECONDS, 0.001
        while True:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as error:
                if not _busy(error) or time.monotonic() >= deadline:
                    raise
            # The lock's holder may be this loop's own task: let it run, then try again.
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()

    def stop(self) -> None:
        """Close the SQLite connection now (aiosqlite would ask its thread to)."""
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _busy(error: sqlite3.OperationalError) -> bool:
    """SQLite refused for a lock another connection holds (worth trying again)."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == SQLITE_BUSY and code != SQLITE_BUSY_SNAPSHOT


def connect(database: str, *, iter_chunk_size: int = 64, **kwargs: Any) -> InlineConnection:
    """aiosqlite.connect, inline: the connection opens when awaited."""
    return InlineConnection(partial(sqlite3.connect, database, **kwargs), iter_chunk_size)


def inline_dbapi() -> AsyncAdapt_aiosqlite_dbapi:
    """The DBAPI module for SQLAlchemy's aiosqlite dialect (`module=`), with inline connections."""
    module = SimpleNamespace(**vars(aiosqlite))
    module.connect = connect
    module.Connection = InlineConnection
    return AsyncAdapt_aiosqlite_dbapi(module, sqlite3)  # type: ignore[arg-type]
