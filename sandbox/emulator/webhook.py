"""Webhook delivery: after setWebhook, queued updates are POSTed to the bot's URL, like Telegram does.

As JSON, with the secret token in `X-Telegram-Bot-Api-Secret-Token` when one was set. Like Telegram's Bot API
server, up to `max_connections` calls run at once (40 unless setWebhook says), but one chat's updates
go one at a time, in order: the next waits for the previous one's answer. An update leaves the queue only on
a 2xx answer; any other answer, a refused connection or a timeout is retried after a growing delay (Telegram
keeps trying for a day), holding back only that chat's later updates. getWebhookInfo reports the last error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from typing import TYPE_CHECKING, Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from sandbox.emulator.errors import bad_request

if TYPE_CHECKING:
    from sandbox.emulator.core import BotApiEmulator

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_MAX_CONNECTIONS = 40
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class WebhookDelivery:
    """Pushes an emulator's pending updates to its webhook until it is deleted."""

    def __init__(self, emulator: BotApiEmulator) -> None:
        """Bind to the emulator whose updates it delivers."""
        self.emulator = emulator
        self.url = ""
        self.secret: str | None = None
        self.max_connections = DEFAULT_MAX_CONNECTIONS
        # First retry delay (doubled at each failure up to `retry_max_seconds`) and the per-call timeout.
        self.retry_base_seconds = 0.2
        self.retry_max_seconds = 5.0
        self.timeout_seconds = 30.0
        self.delivered = 0
        self.failures = 0
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        # The most calls that were ever in flight at once (tests check that delivery really overlaps).
        self.peak_connections = 0
        self._task: asyncio.Task[None] | None = None
        self._calls: set[asyncio.Task[None]] = set()
        self._busy_queues: set[int] = set()
        self._taken: set[int] = set()

    def configure(self, url: str, secret: str | None, max_connections: int | None = None) -> None:
        """setWebhook: start delivering to `url` (an empty URL stops)."""
        if secret is not None and not _SECRET.match(secret):
            raise bad_request("secret token contains unallowed characters")
        if max_connections is not None and not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        self.stop()
        self.url, self.secret = url, secret
        self.max_connections = max_connections or DEFAULT_MAX_CONNECTIONS
        if url:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="emulator-webhook")

    def stop(self) -> None:
        """deleteWebhook (or shutdown): stop delivering; undelivered updates stay queued."""
        self.url = ""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        for call in list(self._calls):
            call.cancel()
        self._calls.clear()
        self._busy_queues.clear()
        self._taken.clear()

    def info(self) -> dict[str, Any]:
        """The error fields of getWebhookInfo."""
        if self.last_error_date is None:
            return {"max_connections": self.max_connections}
        return {
            "max_connections": self.max_connections,
            "last_error_date": self.last_error_date,
            "last_error_message": self.last_error_message,
        }

    def _ready(self) -> list[dict[str, Any]]:
        """Updates that may go now: not already on their way, and their chat has no call in flight."""
        ready: list[dict[str, Any]] = []
        held = set(self._busy_queues)
        room = self.max_connections - len(self._calls)
        for update in self.emulator.updates:
            if len(ready) >= room:
                break
            key = queue_key(update)
            if update["update_id"] in self._taken or key in held:
                held.add(key)  # a chat's later updates wait behind its earlier one
                continue
            held.add(key)
            ready.append(update)
        return ready

    async def _run(self) -> None:
        condition = self.emulator._updates_changed
        client = AsyncHTTPClient(force_instance=True, max_clients=100)
        try:
            while self.url:
                async with condition:
                    await condition.wait_for(lambda: bool(self._ready()))
                    batch = self._ready()
                for update in batch:
                    key = queue_key(update)
                    self._taken.add(update["update_id"])
                    self._busy_queues.add(key)
                    call = asyncio.get_running_loop().create_task(self._deliver(client, update, key))
                    self._calls.add(call)
                    self.peak_connections = max(self.peak_connections, len(self._calls))
                    call.add_done_callback(self._calls.discard)
        finally:
            client.close()

    async def _deliver(self, client: AsyncHTTPClient, update: dict[str, Any], key: int) -> None:
        """One update, retried until the webhook takes it; then its chat's next one may go."""
        delay = self.retry_base_seconds
        try:
            while self.url:
                if await self._post(client, update):
                    with contextlib.suppress(ValueError):
                        self.emulator.updates.remove(update)
                    self.delivered += 1
                    return
                log.info(
                    "webhook delivery of update %s failed (%s); retrying in %.1f s",
                    update["update_id"],
                    self.last_error_message,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_seconds)
        finally:
            self._taken.discard(update["update_id"])
            self._busy_queues.discard(key)
            if self.url:
                condition = self.emulator._updates_changed
                async with condition:
                    condition.notify_all()

    async def _post(self, client: AsyncHTTPClient, update: dict[str, Any]) -> bool:
        """POST one update; True on a 2xx answer (anything else is recorded as the last error)."""
        headers = {"Content-Type": "application/json"}
        if self.secret:
            headers[SECRET_HEADER] = self.secret
        request = HTTPRequest(
            self.url,
            method="POST",
            body=json.dumps(update),
            headers=headers,
            request_timeout=self.timeout_seconds,
        )
        try:
            response = await client.fetch(request, raise_error=False)
            error = (
                None if 200 <= response.code < 300 else f"Wrong response from the webhook: {response.code}"
            )
        except asyncio.CancelledError:
            raise
        except (OSError, HTTPClientError) as exc:
            error = f"Connection failed: {exc}"
        if error is None:
            return True
        self.failures += 1
        self.last_error_date, self.last_error_message = int(time.time()), error
        return False


def queue_key(update: dict[str, Any]) -> int:
    """The chat (else the user) an update belongs to: Telegram delivers one chat's updates one at a time."""
    for name, value in update.items():
        if name == "update_id" or not isinstance(value, dict):
            continue
        for holder in (value, value.get("message") or {}):
            chat = holder.get("chat")
            if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                return int(chat["id"])
        for field in ("from", "user"):
            person = value.get(field)
            if isinstance(person, dict) and isinstance(person.get("id"), int):
                return int(person["id"])
    return 0
