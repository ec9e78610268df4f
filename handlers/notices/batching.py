"""Seen presses committed together: when a thousand readers press within seconds, each unit of work takes
every press waiting at that moment (group commit), instead of one transaction each.

Nothing waits for a batch to fill: a press arriving when no batch is being written is written at once, alone.
Presses arriving meanwhile queue, and the next batch takes them all. Each press is answered only once the
batch holding it has committed, so an answer never claims a confirmation that could still be lost.
"""

from __future__ import annotations

import asyncio
import contextvars

from bot.runtime import Runtime
from db.members import Member
from handlers.notices import service
from handlers.notices.service import Press, SeenResult

BATCHER = "notice_seen_batcher"
# The most presses one unit of work takes (bounds the statement sizes and the time the write lock is held).
MAX_BATCH = 200


class SeenBatcher:
    """Queues Seen presses and writes them a batch at a time, in arrival order."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._waiting: list[tuple[Press, asyncio.Future[SeenResult]]] = []
        self._turn = asyncio.Lock()

    async def confirm(self, notice_id: int, member: Member) -> SeenResult:
        """Record one press (with whatever else is waiting) and return its result once committed."""
        future: asyncio.Future[SeenResult] = asyncio.get_running_loop().create_future()
        self._waiting.append((Press(notice_id, member), future))
        while not future.done():
            async with self._turn:
                if not future.done():
                    # The batch is the effect of several people's presses, not of the update this task is
                    # handling: it runs in a context of its own, so nothing bound to this update (the inbox
                    # marking its update handled with the commit) applies to the others'. A confirmation is
                    # idempotent: a press handled again after a crash finds it recorded.
                    batch = self._waiting[:MAX_BATCH]
                    # Shielded: this task being cancelled does not interrupt the others' presses.
                    await asyncio.shield(
                        asyncio.create_task(self._write(batch), context=contextvars.Context())
                    )
        return future.result()

    async def _write(self, batch: list[tuple[Press, asyncio.Future[SeenResult]]]) -> None:
        del self._waiting[: len(batch)]
        try:
            async with self.runtime.db.transaction() as session:
                results = await service.confirm_many(session, self.runtime, [press for press, _ in batch])
        except BaseException as exc:
            # Every press of the batch fails the same way (each handler reports it); none is half-written.
            failure = (
                exc if isinstance(exc, Exception) else RuntimeError("the batch of presses was interrupted")
            )
            for _, future in batch:
                if not future.done():
                    future.set_exception(failure)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)


def batcher(runtime: Runtime) -> SeenBatcher:
    """The process's batcher of Seen presses."""
    found = runtime.extras.get(BATCHER)
    if found is None:
        found = runtime.extras[BATCHER] = SeenBatcher(runtime)
    assert isinstance(found, SeenBatcher)
    return found
