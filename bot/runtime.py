"""What every handler and job can reach: configuration, database, clock, delivery, scheduler, features."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.clock import Clock
from bot.config import Config
from bot.features import FeatureSet
from bot.i18n import Translator, supported_language, translator
from db.engine import Database
from db.members import Member

if TYPE_CHECKING:
    from bot.delivery.worker import DeliveryWorker
    from bot.inbox import Inbox
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
    inbox: Inbox | None = None
    features: FeatureSet = field(default_factory=lambda: FeatureSet(()))
    bot_username: str = ""
    extras: dict[str, Any] = field(default_factory=dict)

    def translator_for(self, member: Member) -> Translator:
        """A member's translator: their chosen language, else their post's, else the default."""
        language = member.language or self.config.post_language(member.post_code)
        return translator(language or self.config.bot.default_language)


class LiaisonContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """CallbackContext that carries the runtime and the member behind the current update."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.member: Member | None = None
        # Telegram's language code of the person, for those who are not members yet.
        self.telegram_language: str | None = None

    @property
    def runtime(self) -> Runtime:
        """The application's runtime services."""
        runtime: Runtime = self.application.bot_data[RUNTIME_KEY]
        return runtime

    @property
    def tr(self) -> Translator:
        """The translator of the person behind the update (a member's choice, else Telegram's language)."""
        if self.member is not None and self.member.language:
            return translator(self.member.language)
        return translator(supported_language(self.telegram_language))

    @property
    def active_member(self) -> Member:
        """The member behind the update; the gate lets only active members reach feature handlers."""
        if self.member is None:
            raise LookupError("no member behind this update (the gate should have stopped it)")
        return self.member
