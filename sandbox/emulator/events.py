"""What happened in the emulated Telegram, for observers that follow it live (the sandbox's page, tools).

Listeners are plain callables run synchronously where the change happens, so they see the emulator's state
exactly as the event left it; a failing listener is logged and never breaks the Bot API call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# Kinds of events:
#   user_message     a user wrote in a chat (text, photo, location, /start...)
#   bot_message      the bot sent a message
#   edit             the bot edited one of its messages (text, caption or keyboard)
#   delete           a message was deleted
#   pin, unpin       a message was pinned or unpinned
#   callback_answer  the bot answered a button press (data: text, show_alert, user_id)
#   reset            the emulator forgot everything
KINDS = frozenset(
    {"user_message", "bot_message", "edit", "delete", "pin", "unpin", "callback_answer", "reset"}
)


@dataclass(frozen=True)
class EmulatorEvent:
    """One change in a chat."""

    kind: str
    chat_id: int
    message_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view."""
        return {"kind": self.kind, "chat_id": self.chat_id, "message_id": self.message_id, "data": self.data}


Listener = Callable[[EmulatorEvent], None]


class EventHub:
    """Fans events out to listeners; subscribe() returns the function that unsubscribes."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` for every later event, until the returned function is called."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def emit(self, kind: str, chat_id: int, message_id: int | None = None, **data: Any) -> None:
        """Tell every listener; one that fails is logged and the others still hear."""
        if kind not in KINDS:
            raise ValueError(f"unknown emulator event kind {kind!r}")
        if not self._listeners:
            return
        event = EmulatorEvent(kind, chat_id, message_id, data)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("emulator event listener failed on %s", kind)
