"""Telegram-shaped API errors raised inside the emulator and rendered as Bot API JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ApiError(Exception):
    """An error the Bot API would answer with (HTTP status, description, optional retry_after)."""

    code: int
    description: str
    retry_after: int | None = None

    def __str__(self) -> str:
        """Show the description like Telegram does."""
        return f"{self.code} {self.description}"

    def to_json(self) -> dict[str, Any]:
        """Render as the Bot API error body."""
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


class CallerGone(Exception):
    """The caller hung up while its call was held (a "delay" fault): the call is dropped, never performed."""


class EmulatedTimeout(Exception):
    """Raised by ``BotApiEmulator.handle`` when a timeout fault fires; transports map it to their timeout."""


def bad_request(text: str) -> ApiError:
    """400 with Telegram's ``Bad Request:`` prefix."""
    return ApiError(400, f"Bad Request: {text}")


def forbidden(text: str) -> ApiError:
    """403 with Telegram's ``Forbidden:`` prefix."""
    return ApiError(403, f"Forbidden: {text}")
