"""Button presses committed together (group commit): while one unit of work is being written, presses queue,
and the next unit takes them all.

A press arriving when nothing is being written goes at once, alone: nothing waits for a batch to fill. Each
press is answered only once the unit holding it has committed, so an answer never claims a change that could
still be lost. Under a burst of presses (a thousand readers confirming a notice, agents acknowledging alerts
during a fan-out) this is one write transaction, and one wait for SQLite's write lock, per batch instead of
one per press.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.runtime import Runtime

Press = TypeVar("Press")
Result = TypeVar("Result")
# Writes a batch in the given transaction; one result per press, in order (an exception: that press failed).
BatchWriter = Callable[[AsyncSession, Runtime, list[Press]], Awaitable[list[Result | Exception]]]


class GroupCommit(Generic[Press, Result]):
    """Queues presses and writes them a batch at a time, in arrival order."""

    def __init__(self, runtime: Runtime, write: BatchWriter[Press, Result], *, max_batch: int) -> None:
        self.runtime = runtime
        self.write = write
        # The most presses one unit of work takes (bounds statements and the time the write lock is held).
        self.max_batch = max_batch
        self._waiting: list[tuple[Press, asyncio.Future[Result]]] = []
        self._turn = asyncio.Lock()
        self.batches = 0  # units of work written (tests read it)

    async def submit(self, press: Press) -> Result:
        """Record one press (with whatever else is waiting) and return its result once committed."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((press, future))
        while not future.done():
            async with self._turn:
                if not future.done():
                    # The batch is several people's presses, not the effect of the update this task handles:
                    # it runs in a context of its own (the inbox marks this update handled once it answered;
                    # a press handled again after a crash finds itself recorded). Shielded: this task being
                    # cancelled does not interrupt the others' presses.
                    batch = self._waiting[: self.max_batch]
                    await asyncio.shield(
                        asyncio.create_task(self._write(batch), context=contextvars.Context())
                    )
        return future.result()

    async def _write(self, batch: list[tuple[Press, asyncio.Future[Result]]]) -> None:
        del self._waiting[: len(batch)]
        try:
            async with self.runtime.db.transaction() as session:
                results = await self.write(session, self.runtime, [press for press, _ in batch])
        except BaseException as exc:
            # Nothing of the batch is written: every press fails the same way (each handler reports it).
            failure = (
                exc if isinstance(exc, Exception) else RuntimeError("the batch of presses was interrupted")
            )
            for _, future in batch:
                if not future.done():
                    future.set_exception(failure)
            if not isinstance(exc, Exception):
                raise
            return
        self.batches += 1
        for (_, future), result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


def group_commit(
    runtime: Runtime, key: str, write: BatchWriter[Press, Result], *, max_batch: int
) -> GroupCommit[Press, Result]:
    """The process's group commit named `key` (created on first use)."""
    found = runtime.extras.get(key)
    if found is None:
        found = runtime.extras[key] = GroupCommit(runtime, write, max_batch=max_batch)
    assert isinstance(found, GroupCommit)
    return found
