"""Runner registry: each kind of scheduled work names the coroutine that performs it."""

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


_RUNNERS: dict[str, Runner] = {}


def register_runner(kind: str, runner: Runner) -> None:
    """Name the runner for a kind (features call this when their handler module is imported)."""
    _RUNNERS[kind] = runner


def get_runner(kind: str) -> Runner | None:
    """The runner registered for a kind, if any."""
    return _RUNNERS.get(kind)


def registered_kinds() -> tuple[str, ...]:
    """Every kind with a runner."""
    return tuple(sorted(_RUNNERS))
