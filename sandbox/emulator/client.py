"""Async client for the emulator's HTTP control API, mirroring EmulatedUser for over-HTTP tests."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from sandbox.emulator.state import ReceivedMessage

T = TypeVar("T")


class EmulatorClient:
    """Talks to ``sandbox.emulator.http`` at ``base`` (e.g. ``http://127.0.0.1:8081``)."""

    def __init__(self, base: str, *, timeout: float = 10.0) -> None:
        """Open an HTTP client on the control API."""
        self.base = base.rstrip("/")
        self.http = httpx.AsyncClient(base_url=f"{self.base}/_emulator/", timeout=timeout)

    async def __aenter__(self) -> EmulatorClient:
        """Use as ``async with EmulatorClient(...) as client``."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close the HTTP client."""
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()

    async def call(self, verb: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One control request; AssertionError for a failed action (e.g. no such button)."""
        response = await self.http.request(verb, path, json=body if verb == "POST" else None)
        if response.status_code == 409:
            raise AssertionError(response.json()["error"])
        response.raise_for_status()
        return response.json()

    async def user(
        self,
        user_id: int | None = None,
        first_name: str = "Agent",
        *,
        language_code: str | None = "fr",
        username: str | None = None,
    ) -> RemoteUser:
        """Create (or fetch) a user on the server."""
        body = {
            "user_id": user_id,
            "first_name": first_name,
            "language_code": language_code,
            "username": username,
        }
        data = await self.call("POST", "users", body)
        return RemoteUser(self, int(data["id"]))

    async def group(self, title: str = "Group") -> int:
        """Create a group; returns its chat id."""
        return int((await self.call("POST", "groups", {"title": title}))["id"])

    async def add_to_group(self, group_id: int, user: RemoteUser) -> None:
        """Make ``user`` a member of the group."""
        await self.call("POST", f"groups/{group_id}/add", {"user_id": user.id})

    async def limits(self, **settings: Any) -> dict[str, Any]:
        """Enable flood limits (keyword overrides of FloodLimits; enabled=True unless given)."""
        return await self.call("POST", "limits", settings)

    async def faults(self, error: int | str, **options: Any) -> None:
        """Inject a fault (options: method, chat_id, count, retry_after, delivered)."""
        await self.call("POST", "faults", {"error": error, **options})

    async def faults_random(self, rate: float, error: int | str = 502, seed: int = 0) -> None:
        """Fail a fraction of message-producing calls."""
        await self.call("POST", "faults/random", {"rate": rate, "error": error, "seed": seed})

    async def faults_clear(self) -> None:
        """Remove every fault."""
        await self.call("POST", "faults/clear", {})

    async def stats(self) -> dict[str, int]:
        """Counters: sent, edits, rejected_429, faults_injected."""
        return await self.call("GET", "stats")

    async def calls(self, n: int = 50) -> list[dict[str, Any]]:
        """The last ``n`` recorded Bot API calls."""
        return await self.call("GET", f"calls?n={n}")

    async def reset(self) -> None:
        """Forget all emulator state."""
        await self.call("POST", "reset", {})

    async def wait_for(
        self,
        predicate: Callable[[], T | Awaitable[T]],
        timeout: float = 10.0,  # noqa: ASYNC109 - a polling budget, not a cancellation scope
        interval: float = 0.05,
    ) -> T:
        """Poll ``predicate`` (sync or async) until it returns something truthy; bounded by ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value  # type: ignore[return-value]
            if time.monotonic() >= deadline:
                raise AssertionError(f"condition not met within {timeout}s")
            await asyncio.sleep(interval)


class RemoteUser:
    """An emulated user on a server, driven over HTTP."""

    def __init__(self, client: EmulatorClient, user_id: int) -> None:
        """Bind to the user's id on the server."""
        self.client = client
        self.id = user_id

    async def _do(self, verb: str, body: dict[str, Any] | None = None) -> Any:
        """POST one user action."""
        return await self.client.call("POST", f"users/{self.id}/{verb}", body or {})

    async def start(self, payload: str | None = None) -> dict[str, Any]:
        """Press Start."""
        return await self._do("start", {"payload": payload})

    async def send(self, text: str) -> dict[str, Any]:
        """Type a message."""
        return await self._do("send", {"text": text})

    async def send_in(self, group_id: int, text: str) -> dict[str, Any]:
        """Write in a group."""
        return await self._do("send_in", {"group_id": group_id, "text": text})

    async def tap(self, label_or_data: str, *, message_id: int | None = None) -> dict[str, Any]:
        """Press an inline button by label or callback_data."""
        return await self._do("tap", {"label": label_or_data, "message_id": message_id})

    async def tap_forged(self, data: str, message_id: int) -> dict[str, Any]:
        """Send a callback query with arbitrary data."""
        return await self._do("tap_forged", {"data": data, "message_id": message_id})

    async def share_location(self, latitude: float, longitude: float) -> dict[str, Any]:
        """Share a location."""
        return await self._do("share_location", {"latitude": latitude, "longitude": longitude})

    async def send_photo(self, caption: str | None = None) -> str:
        """Send a photo; returns its file_id."""
        return (await self._do("send_photo", {"caption": caption}))["file_id"]

    async def block(self) -> dict[str, Any]:
        """Block the bot."""
        return await self._do("block")

    async def unblock(self) -> dict[str, Any]:
        """Unblock the bot."""
        return await self._do("unblock")

    async def inbox(self) -> list[ReceivedMessage]:
        """Messages from the bot, oldest first."""
        data = await self.client.call("GET", f"users/{self.id}/inbox")
        return [ReceivedMessage(**m) for m in data]

    async def texts(self) -> list[str]:
        """Plain texts of the inbox."""
        return [m.text or "" for m in await self.inbox()]

    async def last(self) -> ReceivedMessage:
        """The newest message from the bot."""
        inbox = await self.inbox()
        if not inbox:
            raise AssertionError(f"user {self.id} has received no message")
        return inbox[-1]

    async def callback_answers(self) -> list[dict[str, Any]]:
        """answerCallbackQuery calls made for this user's taps."""
        return await self.client.call("GET", f"users/{self.id}/callback_answers")
