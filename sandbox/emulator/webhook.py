"""Webhook delivery: after setWebhook, queued updates are POSTed to the bot's URL, like Telegram does.

One update at a time, in order, as JSON, with the secret token in `X-Telegram-Bot-Api-Secret-Token` when one
was set. An update leaves the queue only on a 2xx answer; any other answer, a refused connection or a timeout
is retried after a growing delay (Telegram keeps trying for a day). getWebhookInfo reports the last error.
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
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class WebhookDelivery:
    """Pushes an emulator's pending updates to its webhook until it is deleted."""

    def __init__(self, emulator: BotApiEmulator) -> None:
        """Bind to the emulator whose updates it delivers."""
        self.emulator = emulator
        self.url = ""
        self.secret: str | None = None
        # First retry delay (doubled at each failure up to `retry_max_seconds`) and the per-call timeout.
        self.retry_base_seconds = 0.2
        self.retry_max_seconds = 5.0
        self.timeout_seconds = 30.0
        self.delivered = 0
        self.failures = 0
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        self._task: asyncio.Task[None] | None = None

    def configure(self, url: str, secret: str | None) -> None:
        """setWebhook: start delivering to `url` (an empty URL stops)."""
        if secret is not None and not _SECRET.match(secret):
            raise bad_request("secret token contains unallowed characters")
        self.stop()
        self.url, self.secret = url, secret
        if url:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="emulator-webhook")

    def stop(self) -> None:
        """deleteWebhook (or shutdown): stop delivering; undelivered updates stay queued."""
        self.url = ""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def info(self) -> dict[str, Any]:
        """The error fields of getWebhookInfo."""
        if self.last_error_date is None:
            return {}
        return {"last_error_date": self.last_error_date, "last_error_message": self.last_error_message}

    async def _next_update(self) -> dict[str, Any]:
        emulator = self.emulator
        condition = emulator._updates_changed
        async with condition:
            await condition.wait_for(lambda: bool(emulator.updates))
        return emulator.updates[0]

    async def _run(self) -> None:
        client = AsyncHTTPClient()
        delay = self.retry_base_seconds
        while self.url:
            update = await self._next_update()
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
                    None
                    if 200 <= response.code < 300
                    else f"Wrong response from the webhook: {response.code}"
                )
            except asyncio.CancelledError:
                raise
            except (OSError, HTTPClientError) as exc:
                error = f"Connection failed: {exc}"
            if error is None:
                with contextlib.suppress(ValueError):
                    self.emulator.updates.remove(update)
                self.delivered += 1
                delay = self.retry_base_seconds
                continue
            self.failures += 1
            self.last_error_date, self.last_error_message = int(time.time()), error
            log.info(
                "webhook delivery of update %s failed (%s); retrying in %.1f s",
                update["update_id"],
                error,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.retry_max_seconds)
