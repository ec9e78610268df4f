"""Start-up and shut-down: migrate, mirror config, publish commands, start features and background loops."""

from __future__ import annotations

import logging
from typing import Any

from telegram.ext import Application

from bot import i18n
from bot.menu import publish_commands
from bot.runtime import RUNTIME_KEY, Runtime
from db import migrate
from db.posts import sync_posts_and_services

logger = logging.getLogger(__name__)


async def post_init(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Prepare the database and the bot's profile, let each feature start, then delivery and scheduling."""
    runtime: Runtime = application.bot_data[RUNTIME_KEY]
    if runtime.migrate_on_start:
        await migrate.upgrade(runtime.db.engine)
    async with runtime.db.transaction() as session:
        await sync_posts_and_services(session, config=runtime.config)
        for feature in runtime.features.features:
            if feature.on_start is not None:
                await feature.on_start(session, runtime)
    runtime.bot_username = application.bot.username
    await publish_commands(application.bot, runtime.features)
    i18n.warm_up()
    if runtime.extras.get("start_background", True):
        if runtime.delivery is not None:
            await runtime.delivery.start()
        if runtime.scheduler is not None:
            await runtime.scheduler.start()
        if runtime.inbox is not None:
            # Before any new update is taken in: what a previous run left pending is claimed first.
            await runtime.inbox.start()
    logger.info("Liaison started as @%s (instance %s)", runtime.bot_username, runtime.instance_id)


async def post_stop(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Stop the loops while the bot can still call Telegram: in-flight sends finish and are recorded.

    This must run before Application.shutdown(), which closes the bot's HTTP session: a send cut off there
    may already have reached Telegram, and its row would go back to the queue and out a second time. Every
    way the bot is run calls it: PTB's run_polling, bot.inbox.serve, the sandbox and the test harness.
    """
    runtime: Runtime = application.bot_data[RUNTIME_KEY]
    if runtime.inbox is not None and runtime.inbox.running:
        await runtime.inbox.stop()
    if runtime.scheduler is not None:
        await runtime.scheduler.stop()
    if runtime.delivery is not None:
        await runtime.delivery.stop()


async def post_shutdown(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Close the database (post_stop has stopped the loops)."""
    runtime: Runtime = application.bot_data[RUNTIME_KEY]
    await runtime.db.dispose()
    logger.info("Liaison stopped (instance %s)", runtime.instance_id)
