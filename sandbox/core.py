"""The training sandbox: the emulator, the real bot on its own SQLite file, phones, and a clock that moves.

One process, one event loop. The bot is the real application from `bot.app.build_application`, polling the
emulator through the in-process `EmulatorRequest` (no socket, no port, no token on the wire: nothing to race
at start-up, and the page's server shares the loop with it). Its clock is an `OffsetClock` that only the
sandbox moves. The page (sandbox/web.py) calls the methods here and follows `subscribe()`.

The bot runs on config.yaml's configuration plus the posts the loaded scenario declares (`posts:`): those
exist in this process's Config and the sandbox's own SQLite file only, and are kept beside that file so that
a later run on the same directory finds them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, func, select
from telegram import Update
from telegram.ext import TypeHandler

from bot.app import LiaisonApplication, build_application, runtime_of
from bot.config import Config
from bot.i18n import translator
from db.engine import Database
from db.members import Member, MemberStatus
from db.onboarding import issue_invite
from db.outbox import DeliveryState, Notification
from db.outbox import queue as outbox_queue
from db.schedules import earliest_due
from sandbox.clock import OffsetClock
from sandbox.emulator import BotApiEmulator, EmulatedUser, EmulatorEvent, EmulatorRequest
from sandbox.scenario import (
    CLOCK_STEP,
    CLOCK_TIME,
    Scenario,
    ScenarioError,
    ScenarioPost,
    Text,
    load_scenarios,
    pick,
    with_posts,
)
from sandbox.views import chat_view, message_view

logger = logging.getLogger(__name__)

TOKEN = "123456:SANDBOX-not-a-real-token"
BOT_USERNAME = "liaison_sandbox_bot"
DATABASE_FILE = "liaison-sandbox.db"
CLOCK_FILE = "sandbox-clock.json"
# The posts the loaded scenario declared (and where shared locations fall): a restart needs them again.
POSTS_FILE = "sandbox-posts.json"
PAGE_DIR = Path(__file__).resolve().parent / "page"
SAMPLE_PHOTO = PAGE_DIR / "sample-photo.jpg"
# A shared location falls on a fixed point near the post (scenarios may move it with `places`).
PLACES: dict[str, tuple[float, float]] = {
    "NE-KONNI": (13.7961, 5.2497),
    "NE-MAKALONDI": (12.8317, 1.6883),
    "BF-KANTCHARI": (12.4797, 1.5136),
}
ELSEWHERE = (13.5116, 2.1254)  # Niamey: for coordinators and posts without a point
SETTLE_SECONDS = 30.0
# Pending sends due within this horizon still count as the bot being busy: a phone that receives ten
# messages at once gets them paced at about one a second (delivery.per_chat_per_second).
PACING_HORIZON = timedelta(seconds=60)


class SandboxError(Exception):
    """Something a trainer asked that cannot be done (shown on the page, never a traceback)."""


@dataclass
class Phone:
    """One phone on the page: a Telegram user and who they are at the post."""

    id: int
    name: str
    language: str
    post: str | None
    service: str | None
    role: str
    person: str | None = None  # the scenario's id for this person

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view."""
        return asdict(self)


class Sandbox:
    """Everything the page drives."""

    def __init__(self, config: Config, directory: Path, *, scenarios_dir: Path | None = None) -> None:
        # config.yaml's configuration, never changed; `config` is what the bot runs on: it plus the posts
        # the loaded scenario declares.
        self.base_config = config
        self.config = config
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.scenarios = load_scenarios(config, scenarios_dir) if scenarios_dir else load_scenarios(config)
        self.clock = OffsetClock()
        self.emulator = BotApiEmulator(TOKEN, BOT_USERNAME, wall_clock=lambda: self.clock.now().timestamp())
        self.emulator.events.subscribe(self._on_emulator_event)
        self.app: LiaisonApplication | None = None
        self.phones: dict[int, Phone] = {}
        self.errors: list[str] = []
        self.scenario: Scenario | None = None
        self.places: dict[str, tuple[float, float]] = dict(PLACES)
        self.player: Any = None  # sandbox.player.Player once a scenario is loaded
        self.busy = False
        self._lock = asyncio.Lock()
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._seen_update_id = 0
        self._sample_photo = SAMPLE_PHOTO.read_bytes()

    # ----- lifecycle ----------------------------------------------------------------------------------------

    @property
    def database_path(self) -> Path:
        """The bot's SQLite file."""
        return self.directory / DATABASE_FILE

    @property
    def database_url(self) -> str:
        """The bot's database URL."""
        return f"sqlite+aiosqlite:///{self.database_path}"

    async def start(self, scenario_id: str | None = None, language: str = "fr") -> None:
        """Start the bot: on an existing sandbox database its people come back; else seed `scenario_id`."""
        if self.database_path.exists():
            self._restore_posts()
            self.clock = OffsetClock(self._saved_offset())
            await self._start_bot()
            await self._restore_phones()
        elif scenario_id is not None:
            await self.load(scenario_id, language)
        else:
            await self._start_bot()

    async def stop(self) -> None:
        """Stop the bot (the database stays)."""
        self._save_offset()
        await self._stop_bot()
        self.publish({"type": "closed"})

    async def _start_bot(self) -> None:
        self.emulator.reset()
        self._seen_update_id = 0
        config = self.config.model_copy(
            update={"bot": self.config.bot.model_copy(update={"database_url": self.database_url})}
        )
        request = EmulatorRequest(self.emulator)
        app = build_application(
            config,
            token=TOKEN,
            database=Database(self.database_url),
            clock=self.clock,
            request=request,
            get_updates_request=request,
            instance_id="sandbox",
        )
        app.add_handler(TypeHandler(Update, self._saw_update), group=-100)
        app.add_error_handler(self._on_error)
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=10, drop_pending_updates=False)
        await app.start()
        self.app = app

    async def _stop_bot(self) -> None:
        app, self.app = self.app, None
        if app is None:
            return
        assert app.updater is not None
        await app.updater.stop()
        await app.stop()
        assert app.post_stop is not None
        await app.post_stop(app)
        await app.shutdown()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)

    async def _saw_update(self, update: Update, _context: Any) -> None:
        self._seen_update_id = max(self._seen_update_id, update.update_id)

    async def _on_error(self, update: object, context: Any) -> None:
        error = context.error
        text = f"{type(error).__name__}: {error}"
        logger.error("the bot failed on an update: %s", text, exc_info=error)
        self.errors.append(text)
        self.publish({"type": "error", "text": text})

    def _remove_database(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.database_path}{suffix}").unlink(missing_ok=True)

    def _use_posts(
        self, posts: tuple[ScenarioPost, ...], places: dict[str, tuple[float, float]], save: bool
    ) -> None:
        """Run the bot on config.yaml plus `posts` (and say where their locations fall)."""
        try:
            self.config = with_posts(self.base_config, posts)
        except ValueError as exc:
            raise ScenarioError(f"{self.directory / POSTS_FILE}: {exc}") from None
        self.places = {**PLACES, **places}
        if save:
            data = {
                "posts": [p.model_dump(mode="json") for p in posts],
                "places": {code: list(point) for code, point in places.items()},
            }
            (self.directory / POSTS_FILE).write_text(
                json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8"
            )

    def _restore_posts(self) -> None:
        """The posts the scenario that seeded this sandbox database declared (none when there is no file)."""
        path = self.directory / POSTS_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            raise ScenarioError(f"{path}: cannot read: {exc}") from None
        try:
            posts = tuple(ScenarioPost.model_validate(p) for p in data.get("posts", []))
            places = {code: (float(a), float(b)) for code, (a, b) in data.get("places", {}).items()}
        except (TypeError, ValueError, AttributeError) as exc:  # a pydantic ValidationError is a ValueError
            raise ScenarioError(f"{path}: not the posts of a scenario: {str(exc).splitlines()[0]}") from None
        self._use_posts(posts, places, save=False)

    def _saved_offset(self) -> timedelta:
        try:
            data = json.loads((self.directory / CLOCK_FILE).read_text())
            saved = datetime.fromisoformat(data["now"])
        except (OSError, ValueError, KeyError):
            return timedelta(0)
        # Pick up where the last run left the clock (never behind real time).
        return max(timedelta(0), saved - OffsetClock().now())

    def _save_offset(self) -> None:
        with contextlib.suppress(OSError):
            (self.directory / CLOCK_FILE).write_text(json.dumps({"now": self.clock.now().isoformat()}))

    async def _restore_phones(self) -> None:
        """Bring back the phones of a previous run on this directory (their past messages are gone)."""
        async with self.db.reading() as session:
            members = (
                await session.exec(
                    select(Member).where(col(Member.status) != MemberStatus.REMOVED).order_by(col(Member.id))
                )
            ).all()
        for member in members:
            user = self.emulator.user(member.telegram_id, member.display_name, language_code=member.language)
            user.state.started = True
            self._add(
                Phone(
                    user.id,
                    member.display_name,
                    member.language or "fr",
                    member.post_code,
                    member.service_code,
                    member.role,
                )
            )

    # ----- the page's view ------------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        """Follow what the page shows (messages, phones, clock, scenario); returns how to stop."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def publish(self, event: dict[str, Any]) -> None:
        """Tell the page (every subscriber) about a change."""
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                logger.exception("sandbox listener failed")

    def _on_emulator_event(self, event: EmulatorEvent) -> None:
        if event.chat_id not in self.phones:
            return
        if event.kind == "callback_answer":
            if event.data.get("text"):
                self.publish(
                    {
                        "type": "toast",
                        "phone": event.chat_id,
                        "text": event.data["text"],
                        "alert": event.data.get("show_alert", False),
                    }
                )
            return
        chat = self.emulator.chats.get(event.chat_id)
        if chat is None or event.message_id is None:
            return
        if event.kind == "delete":
            self.publish({"type": "delete", "phone": event.chat_id, "id": event.message_id})
            return
        view = message_view(chat, event.message_id)
        if view is not None:
            self.publish({"type": "message", "phone": event.chat_id, "message": view})

    def phone_view(self, phone: Phone) -> dict[str, Any]:
        """A phone and its whole chat."""
        return {
            **phone.to_dict(),
            "zone": self.config.post_zone(phone.post, self.scenario.post if self.scenario else None),
            "messages": chat_view(self.emulator.chats.get(phone.id)),
        }

    def clock_view(self) -> dict[str, Any]:
        """The sandbox's time, and where the next shift change takes it."""
        post = self.main_post
        change = self.next_shift_change(post)
        return {
            "now": self.clock.now().isoformat(),
            "offset_seconds": self.clock.offset.total_seconds(),
            "post": post,
            "zone": self.config.post_zone(post),
            "next_shift_change": change.isoformat(),
        }

    def state(self) -> dict[str, Any]:
        """Everything the page needs to draw itself."""
        return {
            "phones": [self.phone_view(p) for p in self.phones.values()],
            "clock": self.clock_view(),
            "scenario": self.player.view() if self.player is not None else None,
            "scenarios": [
                {"id": s.id, "title": s.title, "summary": s.summary, "steps": len(s.steps)}
                for s in self.scenarios.values()
            ],
            "posts": [
                {
                    "code": p.code,
                    "name": p.name,
                    "zone": p.timezone,
                    "services": list(self.config.post_services(p.code)),
                }
                for p in self.config.posts
            ],
            "services": [
                {"code": s.code, "name": {"fr": s.name.fr, "en": s.name.en}} for s in self.config.services
            ],
            "busy": self.busy,
            "bot": BOT_USERNAME,
        }

    @property
    def main_post(self) -> str:
        """Where the story happens: the scenario's post, else the first phone's, else the first configured."""
        if self.scenario is not None:
            return self.scenario.post
        for phone in self.phones.values():
            if phone.post:
                return phone.post
        return self.config.posts[0].code

    # ----- phones -------------------------------------------------------------------------------------------

    @property
    def db(self) -> Database:
        """The running bot's database."""
        if self.app is None:
            raise SandboxError("the bot is not running")
        return runtime_of(self.app).db

    def _add(self, phone: Phone) -> None:
        self.phones[phone.id] = phone
        self.publish({"type": "phone", "phone": self.phone_view(phone)})

    def phone(self, phone_id: int) -> Phone:
        """A phone by id."""
        try:
            return self.phones[int(phone_id)]
        except (KeyError, ValueError):
            raise SandboxError(f"no phone {phone_id}") from None

    def phone_of(self, person: str) -> Phone:
        """The phone of a scenario's person."""
        for phone in self.phones.values():
            if phone.person == person:
                return phone
        raise SandboxError(f"{person} has no phone yet")

    def _check_member(
        self, role: str, post: str | None, service: str | None
    ) -> tuple[str | None, str | None]:
        if role not in ("agent", "chief", "coordinator", "admin"):
            raise SandboxError(f"unknown role {role!r}")
        if role in ("coordinator", "admin"):
            return None, None
        if post is None or self.config.find_post(post) is None:
            raise SandboxError(f"unknown post {post!r}")
        if service is not None and service not in self.config.post_services(post):
            raise SandboxError(f"no service {service!r} at {post}")
        if role == "agent" and service is None:
            raise SandboxError("an agent needs a service")
        return post, service

    async def invite_code(self, *, role: str, post: str | None, service: str | None) -> str:
        """An invite as the command line creates one (single use, the configured lifetime)."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            _, code = await issue_invite(
                session,
                role=role,
                post_code=post,
                service_code=service,
                created_by=None,
                now=now,
                expires_at=now + timedelta(hours=self.config.invites.ttl_hours),
                via="sandbox",
            )
        assert code is not None  # None only for a press handled twice (request_key), not used here
        return code

    async def add_phone(
        self,
        name: str,
        *,
        language: str = "fr",
        post: str | None = None,
        service: str | None = None,
        role: str = "agent",
        person: str | None = None,
        code: str | None = None,
    ) -> Phone:
        """A new phone that joins through a real invite link (`code`, else one made as the CLI does)."""
        name = (name or "").strip()[:64]
        if not name:
            raise SandboxError("a phone needs a name")
        if language not in ("fr", "en"):
            raise SandboxError(f"unknown language {language!r}")
        post, service = self._check_member(role, post, service)
        if code is None:
            code = await self.invite_code(role=role, post=post, service=service)
        user = self.emulator.user(first_name=name, language_code=language)
        self._add(Phone(user.id, name, language, post, service, role, person))
        await user.start(code)
        return self.phones[user.id]

    def _user(self, phone: Phone) -> EmulatedUser:
        return self.emulator.user(phone.id)

    def place(self, post: str | None) -> tuple[float, float]:
        """The point a phone at `post` shares as its location (the scenario's `places` first)."""
        return self.places.get(post or "", ELSEWHERE)

    async def send(self, phone_id: int, text: str) -> None:
        """The person types and sends `text`."""
        text = (text or "").strip()
        if not text:
            raise SandboxError("nothing to send")
        await self._user(self.phone(phone_id)).send(text[:4096])

    async def tap(self, phone_id: int, message_id: int, data: str) -> None:
        """The person presses an inline button (by its message and callback data)."""
        try:
            await self._user(self.phone(phone_id)).tap(data, message_id=int(message_id))
        except AssertionError as exc:
            raise SandboxError(str(exc)) from None

    async def share_location(self, phone_id: int) -> None:
        """The person shares their location: a fixed point near their post."""
        phone = self.phone(phone_id)
        await self._user(phone).share_location(*self.place(phone.post))

    async def send_photo(self, phone_id: int, caption: str | None = None) -> None:
        """The person sends the sample photo (with an optional caption)."""
        await self._user(self.phone(phone_id)).send_photo(
            (caption or "").strip() or None, image=self._sample_photo
        )

    def reply_keyboard(self, phone_id: int) -> dict[str, Any] | None:
        """The reply keyboard under the phone's text field (the last one the bot sent, unless removed)."""
        chat = self.emulator.chats.get(int(phone_id))
        if chat is None:
            return None
        for message_id in sorted(chat.sent, reverse=True):
            markup = chat.sent[message_id].reply_markup or {}
            if markup.get("remove_keyboard"):
                return None
            if "keyboard" in markup:
                return markup
        return None

    # ----- the bot at rest ----------------------------------------------------------------------------------

    async def idle(self) -> bool:
        """True when every update was handled, nothing is due in the outbox or the schedules."""
        app = self.app
        if app is None:
            return True
        if self._seen_update_id < self.emulator.last_update_id:
            return False
        if app.update_queue.qsize() or app.update_processor.current_concurrent_updates:
            return False
        now = self.clock.now()
        async with self.db.reading() as session:
            sending = (
                await session.exec(
                    select(func.count())
                    .select_from(Notification)
                    .where(Notification.state == DeliveryState.SENDING)
                )
            ).one()
            if sending:
                return False
            due = await outbox_queue.next_due(session, now=now + PACING_HORIZON)
            if due is not None and due <= now + PACING_HORIZON:
                return False
            scheduled = await earliest_due(session)
        return scheduled is None or scheduled > now

    async def settle(self, timeout: float = SETTLE_SECONDS) -> None:  # noqa: ASYNC109 - a budget, not a scope
        """Wait until the bot is at rest (twice in a row, so an update between two looks is not missed)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        calm = 0
        while calm < 2:
            calm = calm + 1 if await self.idle() else 0
            if loop.time() > deadline:
                raise SandboxError(f"the bot was still busy after {timeout:.0f} s")
            await asyncio.sleep(0.02)

    # ----- time -------------------------------------------------------------------------------------------

    def next_shift_change(self, post: str | None = None) -> datetime:
        """The next shift change (config `shifts.changes`) at a post, in its zone."""
        zone = ZoneInfo(self.config.post_zone(post or self.main_post))
        return self._next_local(zone, self.config.shifts.changes)

    def _next_local(self, zone: ZoneInfo, times: Any) -> datetime:
        local = self.clock.now().astimezone(zone)
        candidates = []
        for moment in times:
            at = local.replace(hour=moment.hour, minute=moment.minute, second=0, microsecond=0)
            if at <= local:
                at += timedelta(days=1)
            candidates.append(at)
        return min(candidates)

    def clock_target(self, spec: str) -> datetime:
        """Where a clock step ("+15m", "+2h", "shift", "07:15") takes the sandbox's time."""
        if spec == "shift":
            return self.next_shift_change()
        step = CLOCK_STEP.match(spec)
        if step:
            amount = int(step.group(1))
            return self.clock.now() + (
                timedelta(hours=amount) if step.group(2) == "h" else timedelta(minutes=amount)
            )
        at = CLOCK_TIME.match(spec)
        if at:
            zone = ZoneInfo(self.config.post_zone(self.main_post))
            return self._next_local(zone, [time(int(at.group(1)), int(at.group(2)))])
        raise SandboxError(f"cannot move the clock by {spec!r}")

    async def advance_to(self, target: datetime) -> None:
        """Move time to `target`, stopping at every due reminder or escalation on the way.

        Each scheduled row then runs at its own time (on time, never "sent late") and its messages carry
        that time, as if the trainer had waited.
        """
        if self.app is None:
            raise SandboxError("the bot is not running")
        await self.settle()
        for _ in range(1000):
            async with self.db.reading() as session:
                nearest = await earliest_due(session)
            if nearest is None or nearest > target:
                break
            self.clock.jump_to(nearest)
            self.publish({"type": "clock", "clock": self.clock_view()})
            await self.settle()
        self.clock.jump_to(target)
        self._save_offset()
        self.publish({"type": "clock", "clock": self.clock_view()})
        await self.settle()

    async def advance(self, spec: str) -> None:
        """Move the clock as a trainer asked ("+15m", "shift"...), one time jump at a time."""
        async with self._busy():
            await self.advance_to(self.clock_target(spec))

    @contextlib.asynccontextmanager
    async def _busy(self) -> Any:
        if self._lock.locked():
            raise SandboxError("busy: wait for the current step to finish")
        async with self._lock:
            self.busy = True
            self.publish({"type": "busy", "busy": True})
            try:
                yield
            finally:
                self.busy = False
                self.publish({"type": "busy", "busy": False})

    # ----- scenarios ------------------------------------------------------------------------------------

    async def load(self, scenario_id: str, language: str = "fr") -> None:
        """Start a scenario on a fresh sandbox: new database, its people on their phones, the clock set."""
        from sandbox.player import Player

        scenario = self.scenarios.get(scenario_id)
        if scenario is None:
            raise SandboxError(f"no scenario {scenario_id!r}")
        if language not in ("fr", "en"):
            raise SandboxError(f"unknown language {language!r}")
        await self._stop_bot()
        self._remove_database()
        self.phones.clear()
        self.clock = OffsetClock()
        self.scenario = scenario
        self._use_posts(scenario.posts, scenario.places, save=True)
        start = scenario.start_time()
        if start is not None:
            zone = ZoneInfo(self.config.post_zone(scenario.post))
            self.clock = OffsetClock(self._next_local(zone, [start]) - self.clock.now())
        await self._start_bot()
        self._save_offset()
        self.player = Player(self, scenario, language)
        self.publish({"type": "reset"})
        for person in scenario.people:
            if person.joined:
                await self.add_phone(
                    person.name,
                    language=person.language or language,
                    post=person.post,
                    service=person.service,
                    role=person.role,
                    person=person.id,
                )
        await self.settle()
        self.publish({"type": "reset"})

    async def load_for_page(self, scenario_id: str, language: str) -> None:
        """Load a scenario unless the sandbox is busy."""
        async with self._busy():
            await self.load(scenario_id, language)

    async def next_step(self) -> dict[str, Any]:
        """Play the scenario's next step."""
        if self.player is None:
            raise SandboxError("no scenario is loaded")
        async with self._busy():
            result: dict[str, Any] = await self.player.next()
        return result

    def labels(self, text: Text, language: str) -> list[str]:
        """What a button written in a scenario reads on a phone in `language`, most likely first."""
        if isinstance(text, dict):
            picked = pick(text, language)
            return [picked] if picked else []
        found = [translator(language).gettext(text)]
        names = [c.name for c in self.config.alerts.categories] + [s.name for s in self.config.services]
        found += [name.get(language) for name in names if text in (name.en, name.fr)]
        found.append(text)
        return list(dict.fromkeys(found))

    def find_button(self, phone: Phone, labels: list[str]) -> tuple[int, str]:
        """The newest inline button showing one of `labels` (exactly, else within its text)."""
        chat = self.emulator.chats.get(phone.id)
        messages = sorted(chat.sent.values(), key=lambda m: m.message_id, reverse=True) if chat else []
        for exact in (True, False):
            for label in labels:
                for msg in messages:
                    if msg.deleted:
                        continue
                    for row in (msg.reply_markup or {}).get("inline_keyboard", []):
                        for button in row:
                            shown = button.get("text", "")
                            if (shown == label if exact else label in shown) and button.get("callback_data"):
                                return msg.message_id, button["callback_data"]
        raise SandboxError(f"{phone.name}: no button {labels[0]!r} on the phone")

    async def press(self, phone: Phone, labels: list[str]) -> None:
        """Press a reply-keyboard button: its text is sent, or the location shared."""
        markup = self.reply_keyboard(phone.id) or {}
        buttons = [
            b if isinstance(b, dict) else {"text": b} for row in markup.get("keyboard", []) for b in row
        ]
        for exact in (True, False):
            for label in labels:
                for button in buttons:
                    shown = button.get("text", "")
                    if shown == label if exact else label in shown:
                        if button.get("request_location"):
                            await self.share_location(phone.id)
                        else:
                            await self.send(phone.id, shown)
                        return
        raise SandboxError(f"{phone.name}: no keyboard button {labels[0]!r}")
