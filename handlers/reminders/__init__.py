"""Reminders: recurring coordination reminders from config.yaml and from chiefs, in each post's time zone.

Commands: /remind (a conversation kept in a database draft), /reminders (paged list; pause, resume, delete).
Buttons (rm:): post/rep/day/mday/aud/ok/no (the /remind draft), pg/pause/resume/del/delok (the list;
del asks, delok deletes).
Scheduled kind: reminder (keys config:<id>:<post> from config.yaml, chief:<post>:<key> from /remind).
"""

from __future__ import annotations

from telegram import Update

from bot.access import Action
from bot.callbacks import CallbackData
from bot.features import Command, Feature
from bot.i18n import N_
from bot.replies import answer
from bot.runtime import LiaisonContext
from handlers.reminders import config_sync, conversation, listing, log, service


async def on_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """Route the rm: buttons: the /remind draft's steps, or the list's pages and changes."""
    assert update.callback_query is not None
    if data.action in conversation.BUTTON_STEPS:
        await conversation.draft_button(update, context, data)
    elif data.action in listing.ACTIONS:
        await listing.list_button(update, context, data)
    else:
        await answer(update.callback_query, context.tr.gettext("This button is no longer valid."), alert=True)


FEATURE = Feature(
    name="reminders",
    commands=(
        Command("reminders", N_("Coordination reminders"), listing.reminders_command, action=Action.USE),
        Command(
            "remind",
            N_("Create a reminder"),
            conversation.remind_command,
            action=Action.MANAGE_REMINDERS,
            refusal=conversation.NOT_ALLOWED,
        ),
    ),
    callback_prefix=conversation.PREFIX,
    on_button=on_button,
    conversations=(conversation.REMIND,),
    runners={service.KIND: service.run_reminder},
    job_labels={service.KIND: N_("a reminder")},
    on_start=config_sync.on_start,
    labels={"schedule": N_("Reminder")},
    log_kinds=(log.LOG_KIND,),
)
