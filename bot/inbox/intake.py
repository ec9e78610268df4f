"""Where updates come in: long polling and the webhook, both writing to the inbox before confirming.

PTB's Updater confirms a batch (the next getUpdates offset) as soon as it has fetched it and answers a webhook
call before any handler ran, so an update in memory dies with the process. Here the poller asks for the next
batch, which confirms the previous one, only after that batch is in the database; the webhook answers 200
only after the update is written (any other answer makes Telegram send it again).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web
from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.inbox.dispatcher import Inbox, inbox_row

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"


class Poller:
    """Long polling that confirms a batch only once it is in the inbox."""

    def __init__(self, bot: Bot, inbox: Inbox, *, timeout: int = 10) -> None:
        self.bot, self.inbox, self.timeout = bot, inbox, timeout
        # None at start: Telegram then hands back whatever was never confirmed, which the inbox ignores
        # if it already holds it.
        self.offset: int | None = None
        self._stopping = False

    async def fetch_once(self, poll_seconds: int | None = None) -> int:
        """Fetch one batch (confirming the previous one), write it to the inbox; returns its size."""
        updates = await self.bot.get_updates(
            offset=self.offset, timeout=self.timeout if poll_seconds is None else poll_seconds
        )
        if not updates:
            return 0
        await self.inbox.receive([inbox_row(update) for update in updates])
        # Only now may Telegram forget them: the next getUpdates carries this offset.
        self.offset = updates[-1].update_id + 1
        return len(updates)

    async def confirm(self) -> None:
        """Tell Telegram the last batch arrived (at shutdown; otherwise the next fetch does it)."""
        if self.offset is not None:
            await self.bot.get_updates(offset=self.offset, timeout=0)

    async def run(self) -> None:
        """Poll until stopped; network trouble is retried with backoff, never fatal."""
        await self.bot.delete_webhook(drop_pending_updates=False)
        delay = 1.0
        while not self._stopping:
            try:
                await self.fetch_once()
                delay = 1.0
            except asyncio.CancelledError:
                raise
            except InvalidToken:
                raise
            except RetryAfter as exc:
                retry = exc.retry_after
                await asyncio.sleep(retry if isinstance(retry, int | float) else retry.total_seconds())
            except Conflict:
                logger.warning(
                    "Another process polls this bot token (409 Conflict); retrying in %.0f s", delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
            except (NetworkError, TelegramError) as exc:
                logger.warning("getUpdates failed (%s); retrying in %.0f s", exc.message, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
            except Exception:
                logger.exception("Could not write fetched updates to the inbox; fetching them again shortly")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    def stop(self) -> None:
        """Stop after the current fetch."""
        self._stopping = True


class WebhookHandler(tornado.web.RequestHandler):
    """Telegram's webhook call: check the secret, write the update to the inbox, then answer 200."""

    def initialize(self, inbox: Inbox, bot: Bot, secret: str) -> None:
        """Receive the inbox, the bot (to read updates) and the secret from the route."""
        self.inbox, self.bot, self.secret = inbox, bot, secret

    async def post(self) -> None:
        """One update."""
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            # Never the secret itself (nor what was sent in its place): who called, and that it was wrong.
            logger.warning(
                "Webhook call from %s refused: %s secret token",
                self.request.remote_ip,
                "missing" if not given else "wrong",
            )
            self.set_status(403)
            self.finish()
            return
        try:
            payload = json.loads(self.request.body)
            if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
                raise ValueError("not an update")
            update = Update.de_json(payload, self.bot)
        except Exception:
            logger.warning("Webhook call from %s refused: the body is not an update", self.request.remote_ip)
            self.set_status(400)
            self.finish()
            return
        try:
            await self.inbox.receive([inbox_row(update, payload)])
        except Exception:
            # Not in the database: anything but a 2xx makes Telegram deliver it again later.
            logger.exception("Could not write update %s to the inbox", payload["update_id"])
            self.set_status(500)
            self.finish()
            return
        self.set_status(200)
        self.finish()


class HealthHandler(tornado.web.RequestHandler):
    """GET /healthz: 200 when the database and the worker are alive, else 503; a short JSON body."""

    def initialize(self, check: Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]) -> None:
        """Receive the check from the route."""
        self.check = check

    async def get(self) -> None:
        """One probe (a load balancer's, Docker's or the admin's)."""
        try:
            healthy, body = await self.check()
        except Exception as exc:
            logger.exception("health check failed")
            healthy, body = False, {"status": "unavailable", "error": type(exc).__name__}
        self.set_status(200 if healthy else 503)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body))


def _quiet_log(handler: tornado.web.RequestHandler) -> None:
    """tornado's access log, kept for problems only (a healthy webhook would log every update)."""
    if handler.get_status() >= 500:
        logger.warning("webhook answered %d", handler.get_status())


async def serve_webhook(
    inbox: Inbox,
    bot: Bot,
    *,
    listen: str,
    port: int,
    url_path: str,
    secret: str,
    health: Callable[[], Awaitable[tuple[bool, dict[str, Any]]]] | None = None,
) -> tuple[tornado.httpserver.HTTPServer, int]:
    """Serve the webhook (and /healthz when a check is given) in the running loop; returns the server and the
    bound port (port 0 picks one)."""
    routes: list[Any] = [
        (f"/{url_path.strip('/')}", WebhookHandler, {"inbox": inbox, "bot": bot, "secret": secret})
    ]
    if health is not None:
        routes.append((HEALTH_PATH, HealthHandler, {"check": health}))
    application = tornado.web.Application(routes, log_function=_quiet_log)
    sockets = tornado.netutil.bind_sockets(port, listen)
    server = tornado.httpserver.HTTPServer(application, xheaders=True)
    server.add_sockets(sockets)
    return server, sockets[0].getsockname()[1]
