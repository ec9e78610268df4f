"""The one wiring point: build the PTB Application with its database, delivery worker and scheduler."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest

from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.runtime import RUNTIME_KEY, LiaisonContext, Runtime
from bot.updates import PerUserUpdateProcessor
from db.engine import Database

logger = logging.getLogger(__name__)


def build_application(
    config: Config,
    *,
    token: str,
    database: Database | None = None,
    clock: Clock | None = None,
    api_url: str | None = None,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    instance_id: str | None = None,
    migrate_on_start: bool = True,
    start_background: bool = True,
) -> Application[Any, LiaisonContext, dict, dict, dict, Any]:
    """Build the Application and every service it stands on; nothing runs until it is initialised."""
    from bot import gate, lifecycle
    from bot.delivery.worker import DeliveryWorker
    from bot.errors import on_error
    from bot.scheduler.service import Scheduler
    from handlers import register_all

    database = database or Database(config.bot.database_url)
    clock = clock or SystemClock()
    builder = (
        ApplicationBuilder()
        .token(token)
        .context_types(ContextTypes(context=LiaisonContext))
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=None))
        .post_init(lifecycle.post_init)
        .post_shutdown(lifecycle.post_shutdown)
        # Different people concurrently; one person's updates in order (a double tap cannot interleave).
        .concurrent_updates(PerUserUpdateProcessor())
    )
    if api_url:
        builder = builder.base_url(f"{api_url.rstrip('/')}").base_file_url(f"{api_url.rstrip('/')}/file")
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None or request is not None:
        builder = builder.get_updates_request(get_updates_request or request)
    application = builder.build()

    runtime = Runtime(
        config=config,
        db=database,
        clock=clock,
        instance_id=instance_id or f"liaison-{uuid.uuid4().hex[:8]}",
        migrate_on_start=migrate_on_start,
    )
    runtime.delivery = DeliveryWorker(
        db=database, bot=application.bot, config=config.delivery, clock=clock, instance_id=runtime.instance_id
    )
    runtime.scheduler = Scheduler(
        db=database, config=config, clock=clock, instance_id=runtime.instance_id, runtime=runtime
    )
    runtime.extras["start_background"] = start_background
    application.bot_data[RUNTIME_KEY] = runtime

    # Registration order is behaviour: the gate runs first and stops strangers before any feature sees them.
    gate.register(application)
    register_all(application)
    application.add_error_handler(on_error)
    return application


def runtime_of(application: Application) -> Runtime:
    """The runtime wired into an application."""
    return application.bot_data[RUNTIME_KEY]


__all__ = ["Update", "build_application", "runtime_of"]
