"""In-process Bot API emulator: Telegram's behaviour and errors for the methods the bot uses."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from sandbox.emulator.errors import ApiError, CallerGone, EmulatedTimeout
from sandbox.emulator.events import EventHub
from sandbox.emulator.faults import Faults
from sandbox.emulator.limits import FloodControl, FloodLimits
from sandbox.emulator.messages import MessagingMixin
from sandbox.emulator.settings import SettingsMixin
from sandbox.emulator.spec import canonical_method, coerce_call
from sandbox.emulator.state import (
    CallbackState,
    CallRecord,
    ChatState,
    EmulatorStats,
    FileState,
    UserState,
)
from sandbox.emulator.users import EmulatedGroup, EmulatedUser
from sandbox.emulator.webhook import WebhookDelivery

Handler = Callable[[dict[str, Any]], Awaitable[Any]]
# Set by a transport that can tell when its caller hung up (HTTP): a held call is then dropped.
CALLER_GONE: ContextVar[Callable[[], bool]] = ContextVar("emulator_caller_gone", default=lambda: False)


def is_message_producing(method: str) -> bool:
    """True for calls Telegram's flood control counts (sending, editing, copying, forwarding)."""
    if method == "sendChatAction":
        return False
    return method.startswith(("send", "edit", "copyMessage", "forwardMessage"))


class BotApiEmulator(MessagingMixin, SettingsMixin):
    """A fake Telegram Bot API server living in the test's event loop."""

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "liaison_test_bot",
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        latency: float = 0.0,
    ) -> None:
        """Create an empty Telegram with one bot (``latency`` seconds are added to every call)."""
        self.token = token
        self.bot_username = bot_username
        self.clock = clock
        self.wall_clock = wall_clock
        self.latency = latency
        self.callback_query_ttl: float = 15 * 60.0  # seconds a callback query stays answerable
        self.timeout_response_delay: float = 30.0  # HTTP transport: how long a "timeout" fault hangs
        self._handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": self._set_my_description,
            "getMyDescription": self._get_my_description,
            "setMyShortDescription": self._set_my_short_description,
            "getMyShortDescription": self._get_my_short_description,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendLocation": self._send_location,
            "sendDocument": self._send_document,
            "pinChatMessage": self._pin_chat_message,
            "unpinChatMessage": self._unpin_chat_message,
            "sendChatAction": self._send_chat_action,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageCaption": self._edit_message_caption,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "getChat": self._get_chat,
            "getFile": self._get_file,
        }
        # Observers (the sandbox's page) outlive reset(): they watch this emulator, not one of its states.
        self.events = EventHub()
        self.reset()

    def reset(self) -> None:
        """Forget every user, chat, update, call and setting (limits and faults included)."""
        if getattr(self, "webhook", None) is not None:
            self.webhook.stop()
        self.webhook = WebhookDelivery(self)
        self.bot_id = int(self.token.split(":", 1)[0])
        self.users: dict[int, UserState] = {}
        self.chats: dict[int, ChatState] = {}
        self.files: dict[str, FileState] = {}
        self.callbacks: dict[str, CallbackState] = {}
        self.updates: list[dict[str, Any]] = []
        self.calls: list[CallRecord] = []
        self.stats = EmulatorStats()
        self.flood = FloodControl(self.clock)
        self.faults = Faults()
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.descriptions: dict[str, str] = {}
        self.short_descriptions: dict[str, str] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.webhook_url: str = ""
        self._next_update_id = 1
        self._user_ids = itertools.count(10_001)
        self._group_ids = itertools.count(1)
        self._ids = itertools.count(1)
        self._updates_changed = asyncio.Condition()
        self._poll_generation = 0
        self._releases = 0  # bumped by release_long_polls to end every pending wait
        if hasattr(self, "events"):
            self.events.emit("reset", 0)

    # ----- configuration -----------------------------------------------------------------------

    @property
    def limits(self) -> FloodLimits:
        """Current flood limits (disabled by default)."""
        return self.flood.limits

    @limits.setter
    def limits(self, value: FloodLimits) -> None:
        """Replace the flood limits and forget past traffic."""
        self.flood.limits = value
        self.flood.reset()

    @property
    def last_update_id(self) -> int:
        """The id of the newest update queued for the bot (0 before any): a bot that saw it is caught up."""
        return self._next_update_id - 1

    @property
    def sent_count(self) -> int:
        """Messages successfully sent by the bot."""
        return self.stats.sent

    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot's own User object (getMe)."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Liaison Test",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # ----- the API entry point -----------------------------------------------------------------

    async def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call with (HTTP status, Telegram JSON body)."""
        if self.latency:
            await asyncio.sleep(self.latency)
        name = canonical_method(method) or method
        recorded: dict[str, Any] = dict(params)
        try:
            recorded, result = await self._dispatch(method, params)
            status, body = 200, {"ok": True, "result": result}
        except ApiError as exc:
            status, body = exc.code, exc.to_json()
        except EmulatedTimeout:
            self.calls.append(CallRecord(name, recorded, 0, {"timeout": True}))
            raise
        except CallerGone:
            self.calls.append(CallRecord(name, recorded, 0, {"dropped": True}))
            raise
        self.calls.append(CallRecord(name, recorded, status, body))
        return status, body

    async def _dispatch(self, method: str, raw: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        """Validate, apply faults and flood control, then run the method."""
        name = canonical_method(method)
        if name is None:
            raise ApiError(404, "Not Found")
        params, error = coerce_call(name, raw)
        if error is not None:
            raise error
        chat_id = params.get("chat_id") if isinstance(params.get("chat_id"), int) else None
        producing = is_message_producing(name)
        outcome = self.faults.take(name, chat_id, producing)
        if outcome is not None and outcome.delay:
            self.stats.faults_injected += 1
            await self.hang(outcome.delay)
            if CALLER_GONE.get()():
                raise CallerGone(name)
        elif outcome is not None:
            self.stats.faults_injected += 1
            if outcome.error is not None:
                raise outcome.error
            if outcome.delivered:
                with contextlib.suppress(ApiError):
                    await self._run(name, params)
            raise EmulatedTimeout(name)
        if producing:
            chat = self.chats.get(chat_id) if chat_id is not None else None
            flood = self.flood.check(chat_id, chat is not None and chat.is_group)
            if flood is not None:
                self.stats.rejected_429 += 1
                raise flood
        return params, await self._run(name, params)

    async def _run(self, name: str, params: dict[str, Any]) -> Any:
        """Call the method's behaviour, or fail loudly for methods the emulator does not model."""
        handler = self._handlers.get(name)
        if handler is None:
            raise ApiError(501, f"Not emulated: {name}")
        return await handler(params)

    # ----- users, groups, updates --------------------------------------------------------------

    def user(
        self,
        user_id: int | None = None,
        first_name: str = "Agent",
        *,
        language_code: str | None = "fr",
        username: str | None = None,
    ) -> EmulatedUser:
        """Create (or fetch, by id) a Telegram user who can talk to the bot."""
        if user_id is None:
            user_id = next(self._user_ids)
            while user_id in self.users:
                user_id = next(self._user_ids)
        if user_id not in self.users:
            self.users[user_id] = UserState(user_id, first_name, language_code, username)
        return EmulatedUser(self, self.users[user_id])

    def group(self, title: str = "Group") -> EmulatedGroup:
        """Create a group chat the bot is a member of."""
        chat_id = -(4_000_000_000 + next(self._group_ids))
        self.chats[chat_id] = ChatState(chat_id, "group", title=title)
        return EmulatedGroup(self, self.chats[chat_id])

    def private_chat(self, user: UserState) -> ChatState:
        """The private chat between ``user`` and the bot (chat id equals user id, as in Telegram)."""
        chat = self.chats.get(user.id)
        if chat is None:
            chat = self.chats[user.id] = ChatState(user.id, "private", user=user, members={user.id})
        return chat

    def new_id(self) -> int:
        """A fresh number for ids the emulator invents (files, callback queries)."""
        return next(self._ids)

    def now(self) -> int:
        """Telegram's ``date`` (unix seconds, from the injected wall clock)."""
        return int(self.wall_clock())

    async def push_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates and wake long polls."""
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self.updates.append(update)
        async with self._updates_changed:
            self._updates_changed.notify_all()
        return update

    def user_message(self, user: UserState, chat: ChatState, **content: Any) -> dict[str, Any]:
        """Store a message written by ``user`` and return its Telegram JSON."""
        message = {
            "message_id": chat.take_message_id(),
            "from": user.to_json(),
            "chat": chat.to_json(),
            "date": self.now(),
            **content,
        }
        chat.messages[message["message_id"]] = message
        self.events.emit("user_message", chat.id, message["message_id"], user_id=user.id)
        return message

    def register_file(self, content: bytes = b"", kind: str = "photos", name: str | None = None) -> FileState:
        """Create a file the emulated server knows."""
        n = self.new_id()
        suffix = "." + name.rsplit(".", 1)[-1] if name and "." in name else ".jpg"
        file = FileState(f"AgAC{n:08d}EMU", f"AQAD{n:08d}", content, f"{kind}/file_{n}{suffix}", name)
        self.files[file.file_id] = file
        return file

    async def release_long_polls(self) -> None:
        """End pending getUpdates long polls (with 409, as when another poller takes over) and webhook
        delivery; for shutdown."""
        self.webhook.stop()
        self._poll_generation += 1
        self._releases += 1
        async with self._updates_changed:
            self._updates_changed.notify_all()

    async def hang(self, seconds: float) -> None:
        """Stall like an overloaded server for ``seconds``; release_long_polls() cuts it short."""
        releases = self._releases
        async with self._updates_changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._updates_changed.wait_for(lambda: self._releases != releases), seconds
                )

    async def deliver(self, application: Any) -> int:
        """Feed queued updates to ``application.process_update`` in order (no polling); returns the count."""
        from telegram import Update  # local: the core itself does not need PTB

        count = 0
        while self.updates:
            raw = self.updates.pop(0)
            await application.process_update(Update.de_json(raw, application.bot))
            count += 1
        return count

    @property
    def unanswered_callbacks(self) -> list[CallbackState]:
        """Callback queries the bot never answered (Telegram expects an answer to every one)."""
        return [q for q in self.callbacks.values() if not q.answered]

    # ----- methods -----------------------------------------------------------------------------

    async def _get_me(self, params: dict[str, Any]) -> Any:
        """getMe."""
        return self.bot_user

    async def _get_updates(self, params: dict[str, Any]) -> Any:
        """getUpdates with offset confirmation and long polling."""
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        timeout = max(float(params.get("timeout", 0)), 0.0)
        if offset is not None:
            if offset < 0:
                self.updates = self.updates[offset:]
            else:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        if not self.updates and timeout > 0:
            async with self._updates_changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._updates_changed.wait_for(
                            lambda: bool(self.updates) or self._poll_generation != generation
                        ),
                        timeout,
                    )
            if self._poll_generation != generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
        return self.updates[:limit]
