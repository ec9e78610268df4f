"""What a runner is: the coroutine that performs one kind of scheduled work (features declare theirs)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from db.schedules import ScheduledJob

if TYPE_CHECKING:
    from bot.runtime import Runtime


class Runner(Protocol):
    """Performs one due job inside the transaction that marks it run (so its outbox rows commit with it)."""

    async def __call__(
        self, session: AsyncSession, job: ScheduledJob, *, runtime: Runtime, due_at: datetime, late: bool
    ) -> None:
        """Do the work; write only through `session` and never commit."""
