"""Seen presses committed together (bot/batching.py): when a thousand readers press within seconds, each unit
of work takes every press waiting at that moment instead of one transaction each."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.batching import GroupCommit, group_commit
from bot.runtime import Runtime
from handlers.notices import service
from handlers.notices.service import Press, SeenResult

BATCHER = "notice_seen_batcher"
MAX_BATCH = 200


async def confirm_all(
    session: AsyncSession, runtime: Runtime, presses: list[Press]
) -> list[SeenResult | Exception]:
    """A batch of Seen presses in one transaction (a confirmation is idempotent: all or none is written)."""
    results: list[SeenResult | Exception] = [*await service.confirm_many(session, runtime, presses)]
    return results


def batcher(runtime: Runtime) -> GroupCommit[Press, SeenResult]:
    """The process's batcher of Seen presses."""
    return group_commit(runtime, BATCHER, confirm_all, max_batch=MAX_BATCH)
