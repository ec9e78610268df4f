"""In-process Bot API emulator: Telegram's behaviour and errors for the methods the bot uses."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.emulator.errors import ApiError, EmulatedTimeout, bad_request, forbidden
from bot.emulator.faults import Faults
from bot.emulator.html import parse_html
from bot.emulator.limits import FloodControl, FloodLimits
from bot.emulator.spec import UploadedFile, canonical_method, coerce_call
from bot.emulator.state import (
    CallbackState,
    CallRecord,
    ChatState,
    EmulatorStats,
    FileState,
    ReceivedMessage,
    UserState,
)
from bot.emulator.users import EmulatedGroup, EmulatedUser

Handler = Callable[[dict[str, Any]], Awaitable[Any]]
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


def is_message_producing(method: str) -> bool:
    """True for calls Telegram's flood control counts (sending, editing, copying, forwarding)."""
    if method == "sendChatAction":
        return False
    return method.startswith(("send", "edit", "copyMessage", "forwardMessage"))


class BotApiEmulator:
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
            "sendChatAction": self._send_chat_action,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageCaption": self._edit_message_caption,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "getChat": self._get_chat,
            "getFile": self._get_file,
        }
        self.reset()

    def reset(self) -> None:
        """Forget every user, chat, update, call and setting (limits and faults included)."""
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
        if outcome is not None:
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
        return message

    def register_file(self, content: bytes = b"", kind: str = "photos") -> FileState:
        """Create a file the emulated server knows."""
        n = self.new_id()
        file = FileState(f"AgAC{n:08d}EMU", f"AQAD{n:08d}", content, f"{kind}/file_{n}.jpg")
        self.files[file.file_id] = file
        return file

    async def release_long_polls(self) -> None:
        """End pending getUpdates long polls (with 409, as when another poller takes over); for shutdown."""
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

    def get_commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        """Commands stored by setMyCommands for a scope and language, for assertions."""
        return self.commands.get((_scope_key(scope), language_code or ""), [])

    # ----- shared checks -----------------------------------------------------------------------

    def _target_chat(self, chat_id: int | str) -> ChatState:
        """The chat the bot wants to write to, with Telegram's 400/403 when it may not."""
        if isinstance(chat_id, str):
            try:
                chat_id = int(chat_id)
            except ValueError:
                raise bad_request("chat not found") from None
        user = self.users.get(chat_id)
        if user is not None:
            if user.blocked:
                raise forbidden("bot was blocked by the user")
            if not user.started:
                raise forbidden("bot can't initiate conversation with a user")
            return self.private_chat(user)
        chat = self.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        if not chat.bot_member:
            raise forbidden("bot is not a member of the group chat")
        return chat

    def _format(
        self, text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None, *, caption: bool
    ) -> tuple[str, list[dict[str, Any]], str | None]:
        """Parse text or caption like Telegram and enforce its length limits: (plain, entities, raw html)."""
        html: str | None = None
        mode = (parse_mode or "").lower()
        if mode == "html":
            html = text
            plain, parsed = parse_html(text)
        elif mode in ("markdown", "markdownv2"):
            raise ApiError(501, f"Not emulated: parse_mode {parse_mode}")
        elif mode:
            raise bad_request(f"unsupported parse_mode {parse_mode!r}")
        else:
            plain, parsed = text, list(entities or [])
        if caption:
            if len(plain) > CAPTION_LIMIT:
                raise bad_request("message caption is too long")
        else:
            if not plain.strip():
                raise bad_request("message text is empty")
            if len(plain) > TEXT_LIMIT:
                raise bad_request("message is too long")
        return plain, parsed, html

    @staticmethod
    def _markup(markup: dict[str, Any] | None) -> dict[str, Any] | None:
        """Check an inline keyboard the way Telegram does; other markups pass through."""
        if not markup or "inline_keyboard" not in markup:
            return markup
        for row in markup["inline_keyboard"]:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
                    raise bad_request("BUTTON_DATA_INVALID")
                if not any(key in button for key in _INLINE_ACTIONS):
                    raise bad_request("text buttons are unallowed in the inline keyboard")
        return markup

    def _check_reply(self, chat: ChatState, params: dict[str, Any]) -> None:
        """Reject replies to messages that do not exist, unless the bot allowed it."""
        reply = params.get("reply_parameters") or {}
        target = reply.get("message_id")
        allow = reply.get("allow_sending_without_reply", False)
        if target is not None and target not in chat.messages and not allow:
            raise bad_request("message to be replied not found")

    def _bot_message(self, chat: ChatState, params: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """Store a new bot message and return its Telegram JSON."""
        received = ReceivedMessage(
            message_id=chat.take_message_id(),
            chat_id=chat.id,
            disable_notification=bool(params.get("disable_notification", False)),
            date=self.now(),
            **fields,
        )
        chat.sent[received.message_id] = received
        chat.messages[received.message_id] = self._message_json(chat, received)
        self.stats.sent += 1
        return chat.messages[received.message_id]

    def _message_json(self, chat: ChatState, msg: ReceivedMessage) -> dict[str, Any]:
        """The Bot API Message object for a bot message."""
        data: dict[str, Any] = {
            "message_id": msg.message_id,
            "from": self.bot_user,
            "chat": chat.to_json(),
            "date": msg.date,
        }
        text_key = "caption" if msg.kind == "photo" else "text"
        if msg.text is not None:
            data[text_key] = msg.text
            if msg.entities:
                data[f"{text_key}_entities" if text_key == "caption" else "entities"] = msg.entities
        if msg.photo is not None:
            file = self.files[msg.photo]
            data["photo"] = [
                {
                    "file_id": file.file_id,
                    "file_unique_id": file.file_unique_id,
                    "width": 1280,
                    "height": 960,
                    "file_size": len(file.content),
                }
            ]
        if msg.location is not None:
            data["location"] = dict(msg.location)
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            data["reply_markup"] = msg.reply_markup  # only inline keyboards belong to the message
        if msg.edit_date is not None:
            data["edit_date"] = msg.edit_date
        return data

    def _editable(self, params: dict[str, Any]) -> tuple[ChatState, ReceivedMessage]:
        """Locate the bot message an edit targets, with Telegram's errors."""
        if params.get("inline_message_id"):
            raise ApiError(501, "Not emulated: inline_message_id")
        if "chat_id" not in params or "message_id" not in params:
            raise bad_request("message identifier is not specified")
        chat = self._target_chat(params["chat_id"])
        msg = chat.sent.get(params["message_id"])
        if msg is None or msg.deleted:
            if params["message_id"] in chat.messages:
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        return chat, msg

    def _store_edit(self, chat: ChatState, msg: ReceivedMessage) -> dict[str, Any]:
        """Persist an edit and return the edited Message JSON."""
        msg.edit_date = self.now()
        chat.messages[msg.message_id] = self._message_json(chat, msg)
        self.stats.edits += 1
        return chat.messages[msg.message_id]

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

    async def _delete_webhook(self, params: dict[str, Any]) -> Any:
        """deleteWebhook (optionally dropping pending updates)."""
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self.updates.clear()
        return True

    async def _set_webhook(self, params: dict[str, Any]) -> Any:
        """setWebhook: stored only, nothing is delivered to it."""
        self.webhook_url = params["url"]
        if params.get("drop_pending_updates"):
            self.updates.clear()
        return True

    async def _get_webhook_info(self, params: dict[str, Any]) -> Any:
        """getWebhookInfo."""
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }

    async def _set_my_commands(self, params: dict[str, Any]) -> Any:
        """setMyCommands, stored per scope and language."""
        for command in params["commands"]:
            name = command["command"]
            if not (1 <= len(name) <= 32) or not all(c.islower() or c.isdigit() or c == "_" for c in name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(command["description"]) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = (_scope_key(params.get("scope")), params.get("language_code", ""))
        self.commands[key] = list(params["commands"])
        return True

    async def _get_my_commands(self, params: dict[str, Any]) -> Any:
        """getMyCommands for an exact scope and language."""
        return self.get_commands(params.get("scope"), params.get("language_code", ""))

    async def _delete_my_commands(self, params: dict[str, Any]) -> Any:
        """deleteMyCommands."""
        self.commands.pop((_scope_key(params.get("scope")), params.get("language_code", "")), None)
        return True

    async def _set_my_description(self, params: dict[str, Any]) -> Any:
        """setMyDescription per language."""
        if len(params.get("description", "")) > 512:
            raise bad_request("description is too long")
        self.descriptions[params.get("language_code", "")] = params.get("description", "")
        return True

    async def _get_my_description(self, params: dict[str, Any]) -> Any:
        """getMyDescription."""
        return {"description": self.descriptions.get(params.get("language_code", ""), "")}

    async def _set_my_short_description(self, params: dict[str, Any]) -> Any:
        """setMyShortDescription per language."""
        if len(params.get("short_description", "")) > 120:
            raise bad_request("short description is too long")
        self.short_descriptions[params.get("language_code", "")] = params.get("short_description", "")
        return True

    async def _get_my_short_description(self, params: dict[str, Any]) -> Any:
        """getMyShortDescription."""
        return {"short_description": self.short_descriptions.get(params.get("language_code", ""), "")}

    async def _set_chat_menu_button(self, params: dict[str, Any]) -> Any:
        """setChatMenuButton (default or per chat)."""
        self.menu_buttons[params.get("chat_id")] = params.get("menu_button") or {"type": "default"}
        return True

    async def _get_chat_menu_button(self, params: dict[str, Any]) -> Any:
        """getChatMenuButton."""
        return self.menu_buttons.get(params.get("chat_id"), {"type": "default"})

    async def _send_message(self, params: dict[str, Any]) -> Any:
        """sendMessage."""
        chat = self._target_chat(params["chat_id"])
        plain, entities, html = self._format(
            params["text"], params.get("parse_mode"), params.get("entities"), caption=False
        )
        markup = self._markup(params.get("reply_markup"))
        self._check_reply(chat, params)
        return self._bot_message(chat, params, text=plain, html=html, entities=entities, reply_markup=markup)

    async def _send_photo(self, params: dict[str, Any]) -> Any:
        """sendPhoto by known file_id, URL, or upload."""
        chat = self._target_chat(params["chat_id"])
        photo = params["photo"]
        if isinstance(photo, UploadedFile):
            file = self.register_file(photo.content)
        elif photo in self.files:
            file = self.files[photo]
        elif photo.startswith(("http://", "https://")):
            file = self.register_file()
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        caption = params.get("caption")
        plain, entities, html = (None, [], None)
        if caption is not None:
            plain, entities, html = self._format(
                caption, params.get("parse_mode"), params.get("caption_entities"), caption=True
            )
        markup = self._markup(params.get("reply_markup"))
        self._check_reply(chat, params)
        return self._bot_message(
            chat,
            params,
            text=plain,
            html=html,
            entities=entities,
            reply_markup=markup,
            photo=file.file_id,
            kind="photo",
        )

    async def _send_location(self, params: dict[str, Any]) -> Any:
        """sendLocation."""
        chat = self._target_chat(params["chat_id"])
        lat, lon = float(params["latitude"]), float(params["longitude"])
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise bad_request("wrong latitude/longitude specified")
        markup = self._markup(params.get("reply_markup"))
        self._check_reply(chat, params)
        return self._bot_message(
            chat,
            params,
            text=None,
            html=None,
            reply_markup=markup,
            location={"latitude": lat, "longitude": lon},
            kind="location",
        )

    async def _send_chat_action(self, params: dict[str, Any]) -> Any:
        """sendChatAction: only checks that the chat is reachable."""
        self._target_chat(params["chat_id"])
        return True

    async def _edit_message_text(self, params: dict[str, Any]) -> Any:
        """editMessageText; omitting reply_markup removes the inline keyboard, as on Telegram."""
        chat, msg = self._editable(params)
        if msg.kind != "text":
            raise bad_request("there is no text in the message to edit")
        plain, entities, html = self._format(
            params["text"], params.get("parse_mode"), params.get("entities"), caption=False
        )
        markup = self._markup(params.get("reply_markup"))
        if (plain, entities, markup) == (msg.text, msg.entities, msg.reply_markup):
            raise bad_request(_NOT_MODIFIED)
        if plain != msg.text:
            msg.edits.append(msg.text or "")
        msg.text, msg.entities, msg.html, msg.reply_markup = plain, entities, html, markup
        return self._store_edit(chat, msg)

    async def _edit_message_caption(self, params: dict[str, Any]) -> Any:
        """editMessageCaption."""
        chat, msg = self._editable(params)
        if msg.kind != "photo":
            raise bad_request("there is no caption in the message to edit")
        plain, entities, html = self._format(
            params.get("caption", ""), params.get("parse_mode"), params.get("caption_entities"), caption=True
        )
        markup = self._markup(params.get("reply_markup"))
        if (plain, entities, markup) == (msg.text or "", msg.entities, msg.reply_markup):
            raise bad_request(_NOT_MODIFIED)
        if plain != (msg.text or ""):
            msg.edits.append(msg.text or "")
        msg.text, msg.entities, msg.html, msg.reply_markup = plain or None, entities, html, markup
        return self._store_edit(chat, msg)

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> Any:
        """editMessageReplyMarkup."""
        chat, msg = self._editable(params)
        markup = self._markup(params.get("reply_markup"))
        if markup == msg.reply_markup or (not markup and not msg.reply_markup):
            raise bad_request(_NOT_MODIFIED)
        msg.reply_markup = markup
        return self._store_edit(chat, msg)

    async def _delete_message(self, params: dict[str, Any]) -> Any:
        """deleteMessage."""
        chat_id = params["chat_id"]
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise bad_request("chat not found")
        if chat.messages.pop(params["message_id"], None) is None:
            raise bad_request("message to delete not found")
        if params["message_id"] in chat.sent:
            chat.sent[params["message_id"]].deleted = True
        return True

    async def _answer_callback_query(self, params: dict[str, Any]) -> Any:
        """answerCallbackQuery: once per query, within the query's lifetime."""
        query = self.callbacks.get(params["callback_query_id"])
        if query is None or query.answered or self.clock() - query.created > self.callback_query_ttl:
            raise bad_request(_QUERY_TOO_OLD)
        if len(params.get("text", "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        self.users[query.user_id].callback_answers.append(
            {
                "callback_query_id": query.id,
                "data": query.data,
                "text": params.get("text"),
                "show_alert": bool(params.get("show_alert", False)),
                "url": params.get("url"),
            }
        )
        return True

    async def _get_chat(self, params: dict[str, Any]) -> Any:
        """getChat: ChatFullInfo for chats the bot knows."""
        chat_id = params["chat_id"]
        user = self.users.get(chat_id) if isinstance(chat_id, int) else None
        if user is not None and (user.started or user.blocked):
            chat = self.private_chat(user)
        else:
            chat = self.chats.get(chat_id) if isinstance(chat_id, int) and user is None else None
        if chat is None:
            raise bad_request("chat not found")
        return {
            **chat.to_json(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _get_file(self, params: dict[str, Any]) -> Any:
        """getFile for files the emulator knows."""
        file = self.files.get(params["file_id"])
        if file is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "file_size": len(file.content),
            "file_path": file.file_path,
        }


def _scope_key(scope: dict[str, Any] | None) -> str:
    """Canonical text of a BotCommandScope (default when absent)."""
    return json.dumps(scope or {"type": "default"}, sort_keys=True)
