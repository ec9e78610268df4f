"""The services every handler and job can reach: configuration, database, clock, delivery, scheduler."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.clock import Clock
from bot.config import Config
from db.engine import Database
from db.members import Member

if TYPE_CHECKING:
    from bot.delivery.worker import DeliveryWorker
    from bot.scheduler.service import Scheduler

RUNTIME_KEY = "liaison_runtime"


@dataclass
class Runtime:
    """Everything wired by build_application, reachable from any callback as `context.runtime`."""

    config: Config
    db: Database
    clock: Clock
    instance_id: str
    migrate_on_start: bool = True
    delivery: DeliveryWorker | None = None
    scheduler: Scheduler | None = None
    bot_username: str = ""
    extras: dict[str, Any] = field(default_factory=dict)


class LiaisonContext(CallbackContext[ExtBot[None], dict, dict, dict]):
    """CallbackContext that carries the runtime and the member behind the current update."""

    def __init__(
        self, application: Application, chat_id: int | None = None, user_id: int | None = None
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.member: Member | None = None

    @property
    def runtime(self) -> Runtime:
        """The application's runtime services."""
        return self.application.bot_data[RUNTIME_KEY]
