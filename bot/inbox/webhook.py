"""The webhook: Telegram's calls are answered 200 only after the update is in the inbox (any other answer
makes Telegram send it again), and /healthz for load balancers. Imported in webhook mode only: a polling bot
does not carry tornado's web server.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web
from telegram import Bot, Update

from bot.inbox.dispatcher import Inbox, inbox_row

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"


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
            Update.de_json(payload, self.bot)  # refused here if it is not an update
        except Exception:
            logger.warning("Webhook call from %s refused: the body is not an update", self.request.remote_ip)
            self.set_status(400)
            self.finish()
            return
        try:
            await self.inbox.receive([inbox_row(payload)])
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
