"""Emulated people: users who press Start, type, tap buttons, share locations, and block the bot."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sandbox.emulator.state import CallbackState, ChatState, ReceivedMessage, UserState

if TYPE_CHECKING:
    from sandbox.emulator.core import BotApiEmulator


_DEEP_LINK_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entity Telegram attaches to a leading /command."""
    if not text.startswith("/"):
        return []
    command = text.split(maxsplit=1)[0] if text.strip() else text
    return [{"type": "bot_command", "offset": 0, "length": len(command.encode("utf-16-le")) // 2}]


class EmulatedUser:
    """A Telegram user driven by a test; every action queues the Update the bot would receive."""

    def __init__(self, emulator: BotApiEmulator, state: UserState) -> None:
        """Bind a user's state to the emulator that owns it."""
        self.emulator = emulator
        self.state = state

    @property
    def id(self) -> int:
        """Telegram user id (also the private chat id)."""
        return self.state.id

    @property
    def chat(self) -> ChatState:
        """The private chat with the bot."""
        return self.emulator.private_chat(self.state)

    def __repr__(self) -> str:
        """Readable in assertion messages."""
        return f"EmulatedUser(id={self.id}, first_name={self.state.first_name!r})"

    # ----- actions -----------------------------------------------------------------------------

    async def _message(self, chat: ChatState, **content: Any) -> dict[str, Any]:
        """Write a message in ``chat`` and queue its update."""
        if chat.type == "private":
            # Writing in the private chat means the user opened it and has not blocked the bot.
            self.state.started = True
            self.state.blocked = False
        message = self.emulator.user_message(self.state, chat, **content)
        return await self.emulator.push_update("message", message)

    async def start(self, payload: str | None = None) -> dict[str, Any]:
        """Press Start (optionally through a deep link carrying ``payload``)."""
        if payload is not None and not _DEEP_LINK_PAYLOAD.match(payload):
            # Telegram only carries 1-64 characters of A-Z a-z 0-9 _ - in a t.me/<bot>?start= link.
            raise ValueError(f"invalid deep-link payload {payload!r}: use 1-64 chars of A-Z a-z 0-9 _ -")
        text = f"/start {payload}" if payload else "/start"
        return await self._message(self.chat, text=text, entities=command_entities(text))

    async def send(self, text: str) -> dict[str, Any]:
        """Type ``text`` in the private chat (a leading /command gets its entity)."""
        content: dict[str, Any] = {"text": text}
        if entities := command_entities(text):
            content["entities"] = entities
        return await self._message(self.chat, **content)

    async def send_in(self, group: EmulatedGroup, text: str) -> dict[str, Any]:
        """Write ``text`` in a group this user belongs to."""
        if self.id not in group.chat.members:
            raise AssertionError(f"{self!r} is not a member of group {group.title!r}")
        content: dict[str, Any] = {"text": text}
        if entities := command_entities(text):
            content["entities"] = entities
        return await self._message(group.chat, **content)

    async def share_location(self, latitude: float, longitude: float) -> dict[str, Any]:
        """Share a location in the private chat."""
        return await self._message(self.chat, location={"latitude": latitude, "longitude": longitude})

    async def send_photo(self, caption: str | None = None, *, image: bytes | None = None) -> str:
        """Send a photo (``image``: its bytes, a stand-in by default); returns its file_id."""
        file = self.emulator.register_file(image if image is not None else b"\xff\xd8\xff emulated jpeg")
        content: dict[str, Any] = {
            "photo": [
                {"file_id": file.file_id, "file_unique_id": file.file_unique_id, "width": 800, "height": 600}
            ]
        }
        if caption is not None:
            content["caption"] = caption
        await self._message(self.chat, **content)
        return file.file_id

    async def send_document(
        self,
        caption: str | None = None,
        *,
        file_name: str = "note.pdf",
        content: bytes = b"%PDF-1.4 emulated",
    ) -> str:
        """Send a file (a PDF, a spreadsheet...); returns its file_id (usable by the bot in sendDocument)."""
        file = self.emulator.register_file(content, kind="documents", name=file_name)
        content_json: dict[str, Any] = {
            "document": {
                "file_id": file.file_id,
                "file_unique_id": file.file_unique_id,
                "file_name": file_name,
                "file_size": len(content),
            }
        }
        if caption is not None:
            content_json["caption"] = caption
        await self._message(self.chat, **content_json)
        return file.file_id

    async def tap(
        self, label_or_data: str, *, message_id: int | None = None, group: EmulatedGroup | None = None
    ) -> dict[str, Any]:
        """Press the inline button whose label or callback_data matches, on the newest message showing it."""
        chat = group.chat if group is not None else self.chat
        candidates = sorted(chat.sent.values(), key=lambda m: m.message_id, reverse=True)
        for msg in candidates:
            if msg.deleted or (message_id is not None and msg.message_id != message_id):
                continue
            for row in (msg.reply_markup or {}).get("inline_keyboard", []):
                for button in row:
                    if label_or_data in (button.get("text"), button.get("callback_data")):
                        if button.get("callback_data") is None:
                            raise AssertionError(
                                f"button {button.get('text')!r} has no callback_data: {button}"
                            )
                        return await self._callback(chat, msg.message_id, button["callback_data"])
        shown = [m.buttons() for m in candidates if not m.deleted and m.reply_markup]
        raise AssertionError(
            f"no inline button {label_or_data!r} in {self!r}'s chat; keyboards seen: {shown}"
        )

    async def tap_forged(self, data: str, message_id: int) -> dict[str, Any]:
        """Send a callback query with arbitrary data, as a tampered client could."""
        if message_id not in self.chat.messages:
            raise AssertionError(f"message {message_id} does not exist in {self!r}'s chat")
        return await self._callback(self.chat, message_id, data)

    async def _callback(self, chat: ChatState, message_id: int, data: str) -> dict[str, Any]:
        """Queue a callback_query update for a button press."""
        query_id = str(4_000_000_000_000_000 + self.emulator.new_id())
        self.emulator.callbacks[query_id] = CallbackState(
            query_id, self.id, chat.id, message_id, data, self.emulator.clock()
        )
        payload = {
            "id": query_id,
            "from": self.state.to_json(),
            "message": chat.messages[message_id],
            "chat_instance": str(abs(chat.id) * 7919),
            "data": data,
        }
        return await self.emulator.push_update("callback_query", payload)

    async def block(self) -> dict[str, Any]:
        """Block the bot (the bot receives my_chat_member: member -> kicked)."""
        self.state.blocked = True
        return await self._member_update("member", "kicked")

    async def unblock(self) -> dict[str, Any]:
        """Unblock the bot (my_chat_member: kicked -> member)."""
        self.state.blocked = False
        return await self._member_update("kicked", "member")

    async def _member_update(self, old: str, new: str) -> dict[str, Any]:
        """Queue the my_chat_member update Telegram sends when a user (un)blocks the bot."""
        bot = self.emulator.bot_user
        payload = {
            "chat": self.chat.to_json(),
            "from": self.state.to_json(),
            "date": self.emulator.now(),
            "old_chat_member": {"status": old, "user": bot, **({"until_date": 0} if old == "kicked" else {})},
            "new_chat_member": {"status": new, "user": bot, **({"until_date": 0} if new == "kicked" else {})},
        }
        return await self.emulator.push_update("my_chat_member", payload)

    # ----- what the user sees ------------------------------------------------------------------

    @property
    def inbox(self) -> list[ReceivedMessage]:
        """Messages from the bot still in the chat, oldest first."""
        chat = self.emulator.chats.get(self.id)
        if chat is None:
            return []
        return [m for _, m in sorted(chat.sent.items()) if not m.deleted]

    @property
    def last(self) -> ReceivedMessage:
        """The newest message from the bot."""
        inbox = self.inbox
        if not inbox:
            raise AssertionError(f"{self!r} has received no message")
        return inbox[-1]

    @property
    def texts(self) -> list[str]:
        """Plain texts (or captions) of the inbox."""
        return [m.text or "" for m in self.inbox]

    def find(self, substring: str) -> ReceivedMessage:
        """The newest message containing ``substring``."""
        for msg in reversed(self.inbox):
            if msg.text and substring in msg.text:
                return msg
        raise AssertionError(f"no message containing {substring!r} for {self!r}; got {self.texts}")

    @property
    def callback_answers(self) -> list[dict[str, Any]]:
        """answerCallbackQuery calls the bot made for this user's taps."""
        return self.state.callback_answers

    def buttons(self, message: ReceivedMessage | None = None) -> list[str]:
        """Button labels on ``message`` (default: the newest message)."""
        return (message or self.last).buttons()


class EmulatedGroup:
    """A group chat the bot belongs to."""

    def __init__(self, emulator: BotApiEmulator, chat: ChatState) -> None:
        """Bind a group chat to its emulator."""
        self.emulator = emulator
        self.chat = chat

    @property
    def id(self) -> int:
        """Telegram chat id (negative)."""
        return self.chat.id

    @property
    def title(self) -> str:
        """Group title."""
        return self.chat.title or ""

    def add(self, user: EmulatedUser) -> None:
        """Make ``user`` a member."""
        self.chat.members.add(user.id)

    def remove_bot(self) -> None:
        """Kick the bot: later sends get 403."""
        self.chat.bot_member = False

    @property
    def inbox(self) -> list[ReceivedMessage]:
        """Messages the bot sent to the group, oldest first."""
        return [m for _, m in sorted(self.chat.sent.items()) if not m.deleted]

    @property
    def texts(self) -> list[str]:
        """Plain texts of the group inbox."""
        return [m.text or "" for m in self.inbox]
