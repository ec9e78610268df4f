"""Seen / Taking action presses committed together: while one unit of work is being written, presses queue,
and the next unit takes them all (group commit), with each alert's cards redrawn once for all its presses.

A press arriving when nothing is being written goes at once, alone: nothing waits for a batch to fill. Each
press is answered only once the unit holding it has committed, so the answer never claims an acknowledgement
that could still be lost. Under a burst of presses during a fan-out this is what keeps answers fast: one write
transaction (and one wait for SQLite's write lock) per batch instead of one per press.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from dataclasses import dataclass

from bot.runtime import Runtime
from db.alerts import AckKind
from db.members import Member
from handlers.alerts import service
from handlers.alerts.service import AckResult, CardChanges

logger = logging.getLogger(__name__)

BATCHER = "alert_ack_batcher"
# The most presses one unit of work takes (bounds the time the write lock is held).
MAX_BATCH = 100


@dataclass(frozen=True)
class Press:
    """One Seen / Taking action press."""

    alert_id: int
    member: Member
    kind: AckKind


class AckBatcher:
    """Queues acknowledgement presses and writes them a batch at a time, in arrival order."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._waiting: list[tuple[Press, asyncio.Future[AckResult]]] = []
        self._turn = asyncio.Lock()
        self.batches = 0  # units of work written (tests read it)

    async def acknowledge(self, alert_id: int, member: Member, kind: AckKind) -> AckResult:
        """Record one press (with whatever else is waiting) and return its result once committed."""
        future: asyncio.Future[AckResult] = asyncio.get_running_loop().create_future()
        self._waiting.append((Press(alert_id, member, kind), future))
        while not future.done():
            async with self._turn:
                if not future.done():
                    # The batch is several people's presses, not the effect of the update this task handles:
                    # it runs in a context of its own (the inbox marks this update handled once it answered;
                    # an acknowledgement handled again after a crash finds itself recorded). Shielded: this
                    # task being cancelled does not interrupt the others' presses.
                    batch = self._waiting[:MAX_BATCH]
                    await asyncio.shield(
                        asyncio.create_task(self._write(batch), context=contextvars.Context())
                    )
        return future.result()

    async def _write(self, batch: list[tuple[Press, asyncio.Future[AckResult]]]) -> None:
        del self._waiting[: len(batch)]
        results: list[AckResult | BaseException] = []
        try:
            async with self.runtime.db.transaction() as session:
                cards = CardChanges()
                for press, _ in batch:
                    # A savepoint each: one press that fails (a bug) fails alone, not its batch.
                    try:
                        async with session.begin_nested():
                            results.append(
                                await service.acknowledge(
                                    session,
                                    self.runtime,
                                    alert_id=press.alert_id,
                                    member=press.member,
                                    kind=press.kind,
                                    cards=cards,
                                )
                            )
                    except Exception as exc:
                        logger.exception("acknowledgement of alert %s failed", press.alert_id)
                        results.append(exc)
                await cards.refresh(session, self.runtime, now=self.runtime.clock.now())
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
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)


def batcher(runtime: Runtime) -> AckBatcher:
    """The process's batcher of acknowledgement presses."""
    found = runtime.extras.get(BATCHER)
    if found is None:
        found = runtime.extras[BATCHER] = AckBatcher(runtime)
    assert isinstance(found, AckBatcher)
    return found
