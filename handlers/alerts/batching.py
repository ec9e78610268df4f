"""Seen / Taking action presses committed together (bot/batching.py), each alert's cards redrawn once for all
its presses of the batch."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.batching import GroupCommit, group_commit
from bot.runtime import Runtime
from db.alerts import AckKind
from db.members import Member
from handlers.alerts import service
from handlers.alerts.service import AckBatch, AckResult, CardChanges

logger = logging.getLogger(__name__)

BATCHER = "alert_ack_batcher"
MAX_BATCH = 100


@dataclass(frozen=True)
class Press:
    """One Seen / Taking action press."""

    alert_id: int
    member: Member
    kind: AckKind


async def acknowledge_all(
    session: AsyncSession, runtime: Runtime, presses: list[Press]
) -> list[AckResult | Exception]:
    """A batch of acknowledgements in one transaction, then each touched alert's cards redrawn once.

    The batch goes in one savepoint, reading its alerts and copies once and writing its audit entries
    together. Should one press fail (a bug), that savepoint is rolled back and the presses are taken again
    one savepoint each, so that the failing press fails alone.
    """
    cards = CardChanges()
    batch: AckBatch | None = None
    try:
        async with session.begin_nested():
            batch = await AckBatch.load(session, [(p.alert_id, p.member.id or 0) for p in presses])
            results: list[AckResult | Exception] = []
            for press in presses:
                results.append(await _acknowledge(session, runtime, press, cards, batch))
            await batch.write(session, runtime.clock.now())
    except Exception:
        logger.warning("a batch of %d acknowledgements failed: taking them one at a time", len(presses))
        # What the failed batch read and noted went back with its savepoint.
        cards, batch = CardChanges(), None
        results = await _one_at_a_time(session, runtime, presses, cards)
    await cards.refresh(session, runtime, now=runtime.clock.now(), batch=batch)
    return results


async def _one_at_a_time(
    session: AsyncSession, runtime: Runtime, presses: list[Press], cards: CardChanges
) -> list[AckResult | Exception]:
    """Each press in a savepoint of its own: one that fails (a bug) fails alone, not its batch."""
    results: list[AckResult | Exception] = []
    for press in presses:
        try:
            async with session.begin_nested():
                results.append(await _acknowledge(session, runtime, press, cards))
        except Exception as exc:
            logger.exception("acknowledgement of alert %s failed", press.alert_id)
            results.append(exc)
    return results


async def _acknowledge(
    session: AsyncSession, runtime: Runtime, press: Press, cards: CardChanges, batch: AckBatch | None = None
) -> AckResult:
    """One press, its card edits left to `cards`."""
    return await service.acknowledge(
        session,
        runtime,
        alert_id=press.alert_id,
        member=press.member,
        kind=press.kind,
        cards=cards,
        batch=batch,
    )


def batcher(runtime: Runtime) -> GroupCommit[Press, AckResult]:
    """The process's batcher of acknowledgement presses."""
    return group_commit(runtime, BATCHER, acknowledge_all, max_batch=MAX_BATCH)
