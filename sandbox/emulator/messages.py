"""Message methods: sending, editing, deleting, callback answers, chats and files, with Telegram's errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.emulator.errors import ApiError, bad_request, forbidden
from sandbox.emulator.events import EventHub
from sandbox.emulator.html import parse_html
from sandbox.emulator.spec import UploadedFile
from sandbox.emulator.state import (
    CallbackState,
    ChatState,
    EmulatorStats,
    FileState,
    ReceivedMessage,
    UserState,
)

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


class MessagingMixin:
    """The message-related Bot API methods of BotApiEmulator (state lives on the emulator)."""

    users: dict[int, UserState]
    chats: dict[int, ChatState]
    files: dict[str, FileState]
    callbacks: dict[str, CallbackState]
    stats: EmulatorStats
    clock: Callable[[], float]
    callback_query_ttl: float
    events: EventHub

    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot's own User object; provided by the emulator."""
        raise NotImplementedError

    def now(self) -> int:
        """Telegram's ``date``; provided by the emulator."""
        raise NotImplementedError

    def private_chat(self, user: UserState) -> ChatState:
        """The user's private chat; provided by the emulator."""
        raise NotImplementedError

    def register_file(self, content: bytes = b"", kind: str = "photos", name: str | None = None) -> FileState:
        """Create a known file; provided by the emulator."""
        raise NotImplementedError

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
        self.events.emit("bot_message", chat.id, received.message_id)
        return chat.messages[received.message_id]

    def _message_json(self, chat: ChatState, msg: ReceivedMessage) -> dict[str, Any]:
        """The Bot API Message object for a bot message."""
        data: dict[str, Any] = {
            "message_id": msg.message_id,
            "from": self.bot_user,
            "chat": chat.to_json(),
            "date": msg.date,
        }
        text_key = "caption" if msg.kind in ("photo", "document") else "text"
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
        if msg.document is not None:
            file = self.files[msg.document]
            data["document"] = {
                "file_id": file.file_id,
                "file_unique_id": file.file_unique_id,
                "file_name": msg.document_name or "document",
                "file_size": len(file.content),
            }
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
        self.events.emit("edit", chat.id, msg.message_id)
        return chat.messages[msg.message_id]

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
        plain: str | None = None
        entities: list[dict[str, Any]] = []
        html: str | None = None
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

    def _attached_file(self, value: Any) -> FileState:
        """A file sent by upload, by a known file_id, or by URL."""
        if isinstance(value, UploadedFile):
            return self.register_file(value.content, kind="documents", name=value.filename)
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self.register_file()
        raise bad_request("wrong file identifier/HTTP URL specified")

    async def _send_document(self, params: dict[str, Any]) -> Any:
        """sendDocument by upload or file_id (Telegram caps uploads at 50 MB for bots)."""
        chat = self._target_chat(params["chat_id"])
        document = params["document"]
        if isinstance(document, UploadedFile) and len(document.content) > 50 * 1024 * 1024:
            raise ApiError(413, "Request Entity Too Large")
        file = self._attached_file(document)
        name = document.filename if isinstance(document, UploadedFile) else (file.file_name or "document")
        caption = params.get("caption")
        plain: str | None = None
        entities: list[dict[str, Any]] = []
        html: str | None = None
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
            document=file.file_id,
            document_name=name,
            kind="document",
        )

    async def _pin_chat_message(self, params: dict[str, Any]) -> Any:
        """pinChatMessage: a bot pins its own messages in private chats without admin rights."""
        chat = self._target_chat(params["chat_id"])
        message_id = int(params["message_id"])
        msg = chat.sent.get(message_id)
        if message_id not in chat.messages or (msg is not None and msg.deleted):
            raise bad_request("message to pin not found")
        if msg is not None:
            msg.pinned = True
        if message_id in chat.pinned:
            chat.pinned.remove(message_id)
        chat.pinned.append(message_id)
        self.events.emit("pin", chat.id, message_id)
        return True

    async def _unpin_chat_message(self, params: dict[str, Any]) -> Any:
        """unpinChatMessage: the given message, or the most recent pinned one."""
        chat = self._target_chat(params["chat_id"])
        if params.get("message_id") is not None:
            message_id = int(params["message_id"])
        elif chat.pinned:
            message_id = chat.pinned[-1]
        else:
            raise bad_request("message to unpin not found")
        if message_id not in chat.pinned:
            # Telegram answers True for a message that is not pinned.
            return True
        chat.pinned.remove(message_id)
        msg = chat.sent.get(message_id)
        if msg is not None:
            msg.pinned = False
        self.events.emit("unpin", chat.id, message_id)
        return True

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
        """editMessageCaption (of a photo or a document, as on Telegram)."""
        chat, msg = self._editable(params)
        if msg.kind not in ("photo", "document"):
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
        self.events.emit("delete", chat.id, params["message_id"])
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
        self.events.emit(
            "callback_answer",
            query.chat_id,
            query.message_id,
            user_id=query.user_id,
            text=params.get("text"),
            show_alert=bool(params.get("show_alert", False)),
        )
        return True

    async def _get_chat(self, params: dict[str, Any]) -> Any:
        """getChat: ChatFullInfo for chats the bot knows."""
        chat_id = params["chat_id"]
        user = self.users.get(chat_id) if isinstance(chat_id, int) else None
        chat: ChatState | None
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
