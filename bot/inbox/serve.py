"""`liaison run`: start the Application, then take updates in by long polling or by webhook, into the inbox.

This replaces PTB's run_polling / run_webhook (whose Updater confirms updates before they are handled) with
the same life cycle: initialise, post_init (database, delivery, scheduler, inbox), intake until SIGINT or
SIGTERM, then stop taking updates, let the ones in hand finish, and shut down.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from dataclasses import dataclass
from typing import Any

from telegram.ext import Application

from bot.inbox.intake import Poller
from bot.runtime import RUNTIME_KEY, Runtime
from bot.status import Health

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookSettings:
    """Where Telegram posts updates and where this process listens for them."""

    url: str
    listen: str
    port: int
    url_path: str
    secret: str


def settle_heap() -> None:
    """Collect start-up's garbage, then leave what survives out of every later collection.

    The imported code and start-up leave some 150,000 objects that live as long as the process: each full
    collection walked them all (about 90 ms, a press's answer waited that long) to free nothing.
    """
    gc.collect()
    gc.freeze()


async def serve(
    application: Application[Any, Any, Any, Any, Any, Any], *, webhook: WebhookSettings | None = None
) -> None:
    """Run until SIGINT or SIGTERM."""
    runtime: Runtime = application.bot_data[RUNTIME_KEY]
    inbox = runtime.inbox
    assert inbox is not None, "serve() needs the inbox"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    poller: Poller | None = None
    intake: asyncio.Task[None] | None = None
    server = None
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)  # starts the inbox: what was left pending goes first
        await application.start()
        settle_heap()
        if webhook is not None:
            from bot.inbox.webhook import serve_webhook  # tornado's web server, for webhook mode only

            server, port = await serve_webhook(
                inbox,
                application.bot,
                listen=webhook.listen,
                port=webhook.port,
                url_path=webhook.url_path,
                secret=webhook.secret,
                health=Health(runtime).check,
            )
            await application.bot.set_webhook(
                url=webhook.url, secret_token=webhook.secret, drop_pending_updates=False
            )
            logger.info("Webhook: listening on %s:%d/%s", webhook.listen, port, webhook.url_path.strip("/"))
        else:
            poller = Poller(application.bot, inbox)
            intake = asyncio.create_task(poller.run(), name="inbox-poller")
        stopped = asyncio.create_task(stop.wait())
        waits: set[asyncio.Task[Any]] = {stopped} | ({intake} if intake is not None else set())
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if intake is not None and intake.done():
            intake.result()  # a fatal intake error (a revoked token) ends the run with it
        logger.info("Stopping: no new updates; letting the ones in hand finish")
    finally:
        if poller is not None and intake is not None:
            poller.stop()
            intake.cancel()
            await asyncio.gather(intake, return_exceptions=True)
            with contextlib.suppress(Exception):
                await poller.confirm()
        if server is not None:
            server.stop()
        await inbox.stop()
        if application.running:
            await application.stop()
        if application.post_stop is not None:
            # Before shutdown() closes the bot's HTTP session: in-flight sends finish and are recorded.
            await application.post_stop(application)
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
