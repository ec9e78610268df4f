"""The end-to-end harness: the real Application, a fresh database, the emulator, and a frozen clock."""

from __future__ import annotations

import logging
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.ext import Application

from bot.app import build_application, runtime_of
from bot.clock import FrozenClock
from bot.config import Config
from bot.i18n import watch_missing
from bot.inbox.intake import Poller
from bot.runtime import Runtime
from db.engine import Database
from db.invites import create_invite
from sandbox.emulator import BotApiEmulator, EmulatedUser
from sandbox.emulator.request import EmulatorRequest

TOKEN = "123456:TEST-token-for-tests"
# The background work settle() runs itself catches its own failures (a runner is retried, a row is sent
# again) and only logs them: the harness listens there so a broken runner fails the test, not just the log.
BACKGROUND_LOGGERS = ("bot.scheduler", "bot.delivery", "bot.inbox")


class _ErrorRecords(logging.Handler):
    """Keeps every ERROR (or worse) record of the background loggers."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Harness:
    """Drives one Liaison application against the emulator, deterministically and without sleeps."""

    def __init__(self, config: Config, database_url: str, clock: FrozenClock | None = None) -> None:
        self.config = config
        self.database_url = database_url
        self.clock = clock or FrozenClock()
        self.emulator = BotApiEmulator(
            TOKEN,
            "liaison_test_bot",
            clock=self.clock.monotonic,
            wall_clock=lambda: self.clock.now().timestamp(),
        )
        self.app: Application | None = None
        self.errors: list[BaseException] = []
        self.check_callbacks_answered = True
        # Tests that make a runner or a delivery fail on purpose turn this off.
        self.check_background_errors = True
        self._background = _ErrorRecords()
        self._offset = 0
        self._poller: Poller | None = None
        self._names = 0
        # Every message the bot looked up without a translation: it reached someone in English.
        self.untranslated: list[tuple[str, str]] = []
        # Runners of test-only kinds, registered on every (re)started scheduler.
        self.extra_runners: dict[str, Any] = {}

    # --- lifecycle ------------------------------------------------------------------------------------

    @property
    def runtime(self) -> Runtime:
        """The running application's runtime."""
        assert self.app is not None, "harness not started"
        return runtime_of(self.app)

    @property
    def db(self) -> Database:
        """The running application's database."""
        return self.runtime.db

    async def start(self, config: Config | None = None) -> None:
        """Build and initialise a fresh Application (as `liaison run` does, minus polling)."""
        if config is not None:
            self.config = config
        self.app = build_application(
            self.config,
            token=TOKEN,
            database=Database(self.database_url),
            clock=self.clock,
            request=EmulatorRequest(self.emulator),
            instance_id="test",
            migrate_on_start=False,  # the fixture migrated the database once
            start_background=False,  # the harness runs delivery and scheduling itself, in settle()
        )
        self.app.add_error_handler(self._record_error)
        self._poller = Poller(self.app.bot, self.runtime.inbox) if self.runtime.inbox is not None else None
        for kind, runner in self.extra_runners.items():
            assert self.runtime.scheduler is not None
            self.runtime.scheduler.register_runner(kind, runner)
        for name in BACKGROUND_LOGGERS:
            if self._background not in logging.getLogger(name).handlers:
                logging.getLogger(name).addHandler(self._background)
        watch_missing(lambda language, message: self.untranslated.append((language, message)))
        await self.app.initialize()
        await self.app.post_init(self.app)
        await self.settle()

    def add_runners(self, runners: dict[str, Any]) -> None:
        """Register runners of test-only kinds now and after every restart."""
        self.extra_runners.update(runners)
        if self.app is not None:
            assert self.runtime.scheduler is not None
            for kind, runner in runners.items():
                self.runtime.scheduler.register_runner(kind, runner)

    async def stop(self) -> None:
        """Shut the application down (its database connections included)."""
        if self.app is None:
            return
        for name in BACKGROUND_LOGGERS:
            logging.getLogger(name).removeHandler(self._background)
        watch_missing(None)
        assert self.app.post_stop is not None
        await self.app.post_stop(
            self.app
        )  # as `liaison run` does: the loops stop while the bot can still call
        await self.app.shutdown()
        await self.app.post_shutdown(self.app)
        self.app = None

    async def restart(self, config: Config | None = None) -> None:
        """Stop, then start a new Application on the same database, emulator and clock."""
        await self.stop()
        await self.start(config)

    async def _record_error(self, update: object, context: Any) -> None:
        self.errors.append(context.error)

    # --- driving ----------------------------------------------------------------------------------------

    async def process_updates(self) -> int:
        """Fetch pending updates into the inbox (as `liaison run` polls), then handle them from there."""
        assert self.app is not None
        if self._poller is not None and self.runtime.inbox is not None:
            fetched = await self._poller.fetch_once(poll_seconds=0)
            if fetched:
                # Confirm the offset so the emulator forgets them, as the next poll would.
                await self._poller.confirm()
            return fetched + await self.runtime.inbox.drain()
        updates = await self.app.bot.get_updates(offset=self._offset, timeout=0)
        for update in updates:
            self._offset = update.update_id + 1
            await self.app.process_update(update)
        if updates:
            # Confirm the offset so the emulator forgets them, as polling does.
            await self.app.bot.get_updates(offset=self._offset, timeout=0)
        return len(updates)

    async def settle(self, max_rounds: int = 100) -> None:
        """Run updates, due schedules and deliveries until nothing moves; fail on any handler error."""
        for _ in range(max_rounds):
            progressed = await self.process_updates()
            if self.runtime.scheduler is not None:
                progressed += await self.runtime.scheduler.run_due()
            if self.runtime.delivery is not None:
                progressed += await self.runtime.delivery.drain()
            if not progressed:
                break
        else:
            raise AssertionError(f"the bot did not settle after {max_rounds} rounds")
        self.raise_errors()
        if self.untranslated:
            missing, self.untranslated = sorted(set(self.untranslated)), []
            raise AssertionError(f"looked up without a translation (extraction missed them): {missing}")
        if self.check_background_errors and self._background.records:
            failures = [self._background.format(r) for r in self._background.records]
            self._background.records.clear()
            raise AssertionError("background work failed:\n" + "\n".join(failures))
        if self.check_callbacks_answered:
            unanswered = self.emulator.unanswered_callbacks
            assert not unanswered, f"callback queries never answered: {unanswered}"

    def raise_errors(self) -> None:
        """Fail the test with the first handler error the application swallowed."""
        if self.errors:
            error = self.errors[0]
            self.errors.clear()
            details = "".join(traceback.format_exception(error))
            raise AssertionError(f"a handler failed:\n{details}")

    async def advance(self, delta: timedelta | float) -> None:
        """Move the clock forward, then let the bot catch up."""
        self.clock.advance(delta)
        await self.settle()

    # --- people -----------------------------------------------------------------------------------------

    def user(
        self, first_name: str | None = None, *, language: str | None = "fr", **kwargs: Any
    ) -> EmulatedUser:
        """A new Telegram user (not yet a member)."""
        self._names += 1
        return self.emulator.user(
            first_name=first_name or f"User{self._names}", language_code=language, **kwargs
        )

    async def invite_code(
        self,
        *,
        role: str = "agent",
        post: str | None = "NE-KONNI",
        service: str | None = "customs",
        hours: float = 72,
        max_uses: int = 1,
    ) -> str:
        """Create an invite directly in the database (as the CLI does) and return its code."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            _, code = await create_invite(
                session,
                role=role,
                post_code=post,
                service_code=service,
                created_by=None,
                now=now,
                expires_at=now + timedelta(hours=hours),
                max_uses=max_uses,
            )
        return code

    async def member(
        self,
        first_name: str | None = None,
        *,
        post: str | None = "NE-KONNI",
        service: str | None = "customs",
        role: str = "agent",
        language: str = "fr",
    ) -> EmulatedUser:
        """A user who joined through a real invite link and /start, in `language`."""
        if role in ("coordinator", "admin"):
            post, service = None, None
        user = self.user(first_name, language=language)
        code = await self.invite_code(role=role, post=post, service=service)
        await user.start(code)
        await self.settle()
        return user

    # --- reading the database -----------------------------------------------------------------------

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A read session on the application's database."""
        async with self.db.sessions() as session:
            yield session

    async def rows(self, model: type[SQLModel], *where: Any) -> list[Any]:
        """Every row of a table matching the conditions."""
        async with self.session() as session:
            return list((await session.exec(select(model).where(*where))).all())
