"""The one wiring point: build the PTB Application with its database, delivery worker, scheduler and features.

Handler groups, in the order PTB runs them: the gate (-10) loads the member and stops strangers; the input
router (-3) hands typed messages to the conversation waiting for them; the features (0) take commands, reply
keyboard buttons and button presses; the fallback, last in group 0, answers whatever nobody claimed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import callbacks
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.features import ButtonCallback, Command, Feature, FeatureSet, UpdateCallback, check_features
from bot.i18n import N_, translator
from bot.replies import answer
from bot.runtime import RUNTIME_KEY, LiaisonContext, Runtime
from bot.updates import PerUserUpdateProcessor
from db.engine import Database

logger = logging.getLogger(__name__)

GATE_GROUP = -10
INPUT_GROUP = -3
FEATURES_GROUP = 0
INVALID_BUTTON = N_("This button is no longer valid.")

LiaisonApplication = Application[Any, LiaisonContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any]


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
    features: Sequence[Feature] | None = None,
    inbox: bool = True,
) -> LiaisonApplication:
    """Build the Application and every service it stands on; nothing runs until it is initialised.

    `inbox=False` leaves updates to PTB's own Updater, as before the inbox: only the benchmark that measures
    what the inbox costs uses it.
    """
    from bot import lifecycle
    from bot.delivery.worker import DeliveryWorker
    from bot.errors import on_error
    from bot.inbox import Inbox, on_handler_error
    from bot.scheduler.service import Scheduler

    installed = install_features(config, features)

    database = database or Database(config.bot.database_url)
    clock = clock or SystemClock()
    builder = (
        ApplicationBuilder()
        .token(token)
        .context_types(ContextTypes(context=LiaisonContext))
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=None))
        .post_init(lifecycle.post_init)
        .post_stop(lifecycle.post_stop)
        .post_shutdown(lifecycle.post_shutdown)
        # Scheduled work lives in the database (bot/scheduler); PTB's in-memory JobQueue is not used.
        .job_queue(None)
        # Without the inbox (the benchmark's baseline): different people concurrently, one person's updates
        # in order. With it, the inbox's claim keeps that order, across instances too.
        .concurrent_updates(PerUserUpdateProcessor())
    )
    if api_url:
        builder = builder.base_url(api_url.rstrip("/")).base_file_url(f"{api_url.rstrip('/')}/file")
    from bot.delivery.direct import DirectRequest
    from bot.delivery.transport import AiohttpRequest

    # Handlers' own calls retry briefly and count against the bot's budget (bot.delivery.direct).
    direct = DirectRequest(request or AiohttpRequest())
    builder = builder.request(direct)
    polling_request = get_updates_request or request or AiohttpRequest(connections=1)
    if polling_request is not None:
        builder = builder.get_updates_request(polling_request)
    application: LiaisonApplication = builder.build()

    runtime = Runtime(
        config=config,
        db=database,
        clock=clock,
        instance_id=instance_id or f"liaison-{uuid.uuid4().hex[:8]}",
        migrate_on_start=migrate_on_start,
        features=installed,
    )
    runtime.delivery = worker = DeliveryWorker(
        db=database, bot=application.bot, config=config.delivery, clock=clock, instance_id=runtime.instance_id
    )
    direct.on_send = worker.limiter.note
    runtime.scheduler = Scheduler(
        db=database, config=config, clock=clock, instance_id=runtime.instance_id, runtime=runtime
    )
    if inbox:
        runtime.inbox = Inbox(
            db=database,
            application=application,
            config=config.inbox,
            clock=clock,
            instance_id=runtime.instance_id,
        )
    runtime.extras["start_background"] = start_background
    application.bot_data[RUNTIME_KEY] = runtime
    install(application, runtime)
    # First: a failed attempt that will be tried again is not reported (nor told to the person) yet.
    application.add_error_handler(on_handler_error)
    application.add_error_handler(on_error)
    return application


def install_features(config: Config, features: Sequence[Feature] | None = None) -> FeatureSet:
    """The features to install (handlers.FEATURES by default) and the core; raises FeatureConflict when they
    cannot be installed together (a shared prefix, an untranslated menu entry...)."""
    if features is None:
        from handlers import FEATURES

        features = FEATURES
    installed = FeatureSet((*features, core_feature()), config=config)
    check_features(installed.features, translated=translator("fr").translates)
    return installed


def core_feature() -> Feature:
    """What the runtime itself offers every member: /cancel for the conversation in progress."""
    from bot.conversations import CANCEL

    return Feature(name="core", commands=(CANCEL,))


def install(application: LiaisonApplication, runtime: Runtime) -> None:
    """Register the gate, the input router, every feature's handlers and runners, then the fallback."""
    from bot import fallback, gate
    from bot.conversations import route_input

    private = filters.ChatType.PRIVATE
    application.add_handler(TypeHandler(Update, gate.gate), group=GATE_GROUP)
    # Any message: a sticker or a voice note at a draft's step gets the step's question again.
    application.add_handler(
        MessageHandler(private & ~filters.StatusUpdate.ALL, route_input), group=INPUT_GROUP
    )
    for feature in runtime.features.features:
        for command in feature.commands:
            application.add_handler(
                CommandHandler([command.name, *command.aliases], _guarded(command), filters=private),
                group=FEATURES_GROUP,
            )
        for trigger in feature.text_triggers:
            application.add_handler(
                MessageHandler(private & filters.Text(sorted(trigger.texts)), trigger.callback),
                group=FEATURES_GROUP,
            )
        if feature.callback_prefix is not None and feature.on_button is not None:
            application.add_handler(
                CallbackQueryHandler(
                    _buttons(feature.on_button), pattern=callbacks.pattern(feature.callback_prefix)
                ),
                group=FEATURES_GROUP,
            )
        for handler in feature.handlers:
            application.add_handler(handler, group=FEATURES_GROUP)
        assert runtime.scheduler is not None
        for kind, runner in feature.runners.items():
            runtime.scheduler.register_runner(kind, runner)
    application.add_handler(
        CallbackQueryHandler(_open_command, pattern=callbacks.pattern(callbacks.OPEN_PREFIX)),
        group=FEATURES_GROUP,
    )
    # Last in the features' group: PTB runs the first matching handler of a group.
    application.add_handler(
        MessageHandler(private & filters.COMMAND, fallback.unknown_command), group=FEATURES_GROUP
    )
    application.add_handler(
        MessageHandler(private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, fallback.free_text),
        group=FEATURES_GROUP,
    )
    application.add_handler(CallbackQueryHandler(fallback.stale_button), group=FEATURES_GROUP)


def _guarded(command: Command) -> UpdateCallback:
    """The command's callback, behind the access rule it declares (a command typed by hand is checked too)."""

    async def run(update: Update, context: LiaisonContext) -> None:
        if not context.runtime.features.may_use(context.member, command):
            assert update.effective_message is not None
            await update.effective_message.reply_text(context.tr.gettext(command.refusal))
            return
        await command.callback(update, context)

    run.__doc__ = command.callback.__doc__
    return run


def _buttons(on_button: ButtonCallback) -> UpdateCallback:
    """A feature's button handler, given parsed callback data; malformed data never reaches it."""

    async def run(update: Update, context: LiaisonContext) -> None:
        query = update.callback_query
        assert query is not None
        data = callbacks.parse(query.data)
        if data is None or context.member is None:
            await answer(query, context.tr.gettext(INVALID_BUTTON), alert=True)
            return
        await on_button(update, context, data)

    return run


async def _open_command(update: Update, context: LiaisonContext) -> None:
    """A "go:<command>" button: run the command as if typed, if the person may use it."""
    query = update.callback_query
    assert query is not None
    data = callbacks.parse(query.data)
    command = context.runtime.features.command(data.action) if data is not None else None
    if command is None or not command.openable or context.member is None:
        await answer(query, context.tr.gettext(INVALID_BUTTON), alert=True)
        return
    if not context.runtime.features.may_use(context.member, command):
        await answer(query, context.tr.gettext(command.refusal), alert=True)
        return
    await answer(query)
    await command.callback(update, context)


def runtime_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Runtime:
    """The runtime wired into an application."""
    runtime: Runtime = application.bot_data[RUNTIME_KEY]
    return runtime


__all__ = ["Update", "build_application", "runtime_of"]
