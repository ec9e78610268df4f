"""Meeting notes: minutes with attendance by service, decisions and action items that get done.

Commands: /meeting (write minutes: a long, resumable database draft), /actions (open action items).
Buttons (mt:): the draft's steps (post, joint, title, now, att, fwd, aok, aown, adue, pub, ed...), an item's
done/note, /actions' open/pg, the minutes card's fix (a correction, sent as an addendum) and fixok/fixno.
Conversations: meeting (the minutes), action_note (a progress note), meeting_fix (a correction).
Scheduled kind: meeting_action (mt:act:<item>:before|due|late); the next meeting becomes a one-off of the
reminders feature's kind (key meeting:<id>:next).
"""

from __future__ import annotations

from telegram import Update

from bot.access import Action, may_write_minutes
from bot.callbacks import CallbackData
from bot.config import Config
from bot.features import Command, Feature, LogKind
from bot.i18n import N_
from bot.replies import answer
from bot.runtime import LiaisonContext
from db.members import Member
from handlers.meetings import actions, corrections, log, service, writing
from handlers.meetings.render import PREFIX


def writes_minutes(member: Member, config: Config) -> bool:
    """Who sees and may use /meeting: the roles config.yaml lists (meetings.writers)."""
    return may_write_minutes(member, None, writers=config.meetings.writers)


async def on_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """Route the mt: buttons: the minutes draft, action items, /actions pages, corrections."""
    assert update.callback_query is not None
    if data.action in writing.BUTTON_STEPS:
        await writing.draft_button(update, context, data)
    elif data.action in ("done", "note", "open", "pg"):
        await actions.item_button(update, context, data)
    elif data.action in ("fix", "fixok", "fixno"):
        await corrections.fix_button(update, context, data)
    else:
        await answer(update.callback_query, context.tr.gettext("This button is no longer valid."), alert=True)


FEATURE = Feature(
    name="meetings",
    commands=(
        Command(
            "meeting",
            N_("Write meeting minutes"),
            writing.meeting_command,
            action=Action.WRITE_MINUTES,
            allowed=writes_minutes,
            refusal=writing.NOT_ALLOWED,
        ),
        Command("actions", N_("Open action items"), actions.actions_command, action=Action.FOLLOW_ACTIONS),
    ),
    callback_prefix=PREFIX,
    on_button=on_button,
    conversations=(writing.MEETING, actions.NOTE, corrections.FIX),
    runners={service.FOLLOWUP_KIND: service.run_followup},
    job_labels={service.FOLLOWUP_KIND: N_("an action item's reminder")},
    log_kinds=(
        LogKind(
            "meetings",
            N_("Meetings and actions"),
            ("meeting.", "action."),
            summary=log.summary,
            detail=log.detail,
        ),
    ),
    labels={"meeting": N_("Meeting minutes"), "action_item": N_("Action item")},
)
