"""Plain state records the emulator keeps: users, chats, messages, files, callback queries, calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ReceivedMessage:
    """A message the bot sent, as the receiving user sees it (kept live: edits update it in place)."""

    message_id: int
    chat_id: int
    text: str | None
    html: str | None
    reply_markup: dict[str, Any] | None = None
    photo: str | None = None
    # A document the bot sent: its file id and file name (exports, reports).
    document: str | None = None
    document_name: str | None = None
    location: dict[str, float] | None = None
    # Pinned in the chat (private chats: the bot may pin its own messages).
    pinned: bool = False
    disable_notification: bool = False
    date: int = 0
    edits: list[str] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)
    kind: str = "text"
    edit_date: int | None = None
    deleted: bool = False

    def buttons(self) -> list[str]:
        """Labels of the inline (or reply) keyboard buttons, row by row, flattened."""
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        return [b["text"] if isinstance(b, dict) else str(b) for row in rows for b in row]

    def button_data(self) -> list[str | None]:
        """callback_data of the inline buttons in order (None for URL and other buttons)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [b.get("callback_data") for row in rows for b in row]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view for the HTTP control API."""
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class UserState:
    """An emulated Telegram user and what the bot may do with them."""

    id: int
    first_name: str
    language_code: str | None = None
    username: str | None = None
    started: bool = False
    blocked: bool = False
    callback_answers: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The Bot API User object."""
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass
class ChatState:
    """A private chat or a group with its message history."""

    id: int
    type: str
    title: str | None = None
    user: UserState | None = None
    members: set[int] = field(default_factory=set)
    bot_member: bool = True
    next_message_id: int = 1
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)  # live Telegram Message JSON
    pinned: list[int] = field(default_factory=list)  # pinned message ids, most recent last
    sent: dict[int, ReceivedMessage] = field(default_factory=dict)  # bot messages, deleted ones kept

    @property
    def is_group(self) -> bool:
        """True for group and supergroup chats (they have their own flood limit)."""
        return self.type in ("group", "supergroup")

    def to_json(self) -> dict[str, Any]:
        """The Bot API Chat object."""
        if self.user is not None:
            data: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.user.first_name}
            if self.user.username:
                data["username"] = self.user.username
            return data
        return {"id": self.id, "type": self.type, "title": self.title}

    def take_message_id(self) -> int:
        """Next message_id in this chat (Telegram numbers messages per chat)."""
        mid = self.next_message_id
        self.next_message_id += 1
        return mid


@dataclass
class FileState:
    """A file the emulated server knows by file_id."""

    file_id: str
    file_unique_id: str
    content: bytes = b""
    file_path: str = ""
    file_name: str | None = None


@dataclass
class CallbackState:
    """A callback query waiting for answerCallbackQuery."""

    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created: float
    answered: bool = False


@dataclass
class CallRecord:
    """One Bot API call as the emulator saw it."""

    method: str
    params: dict[str, Any]
    status: int
    response: dict[str, Any]


@dataclass
class EmulatorStats:
    """Counters for benchmarks and assertions."""

    sent: int = 0
    edits: int = 0
    rejected_429: int = 0
    faults_injected: int = 0

    def as_dict(self) -> dict[str, int]:
        """Plain dict view."""
        return dict(self.__dict__)
