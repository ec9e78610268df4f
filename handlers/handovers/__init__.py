"""Shift handovers: the outgoing agent writes for the incoming shift of the same service, who accepts it (or
accepts with remarks, or contests an item); silence is reported to the chiefs.

Commands: /handover (openable: the shift-change reminder's button opens it), /handovers (chiefs,
coordinators).
Buttons (ho:): ras/ed/it/del/ck/ct/bk/rmk/rv/ok/no (the draft), acc/rem/con/cpk/cpg/cno/rno (receiving),
posts/post/svcs/svc/open/full (following).
Conversations: handover (the draft, kept when another conversation takes the focus), handover_reply (the
remarks or the reason of a contest).
Scheduled kinds: handover_missing, handover_escalation (keys ho:beat:<post>:<HHMM>:<check>, and
ho:<id>:esc for a handover written after its shift's escalation time).
"""

from __future__ import annotations

from telegram import Update

from bot.access import Action
from bot.callbacks import CallbackData
from bot.features import Command, Feature, LogKind
from bot.i18n import N_
from bot.replies import answer
from bot.runtime import LiaisonContext
from handlers.handovers import following, heartbeat, log, receiving, render, service, writing


async def on_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """Route every ho: button; each path answers the callback query."""
    assert update.callback_query is not None
    if data.action in writing.BUTTONS:
        await writing.draft_button(update, context, data)
    elif data.action in receiving.BUTTONS:
        await receiving.card_button(update, context, data)
    elif data.action in following.BUTTONS:
        await following.follow_button(update, context, data)
    else:
        await answer(update.callback_query, context.tr.gettext("This button is no longer valid."), alert=True)


FEATURE = Feature(
    name="handovers",
    commands=(
        Command(
            "handover",
            N_("Write your shift handover"),
            writing.handover_command,
            action=Action.WRITE_HANDOVER,
            refusal=render.NOT_ALLOWED,
            openable=True,
            done_for=service.reminded_already,
        ),
        Command(
            "handovers",
            N_("Shift handovers"),
            following.handovers_command,
            action=Action.READ_HANDOVERS,
        ),
    ),
    callback_prefix=render.PREFIX,
    on_button=on_button,
    conversations=(writing.WRITE, receiving.REPLY),
    runners={service.MISSING_KIND: service.run_missing, service.ESCALATION_KIND: service.run_escalation},
    job_labels={
        service.MISSING_KIND: N_("a missing-handover check"),
        service.ESCALATION_KIND: N_("a handover's escalation"),
    },
    on_start=heartbeat.on_start,
    log_kinds=(
        LogKind(
            key="handovers",
            label=N_("Handovers"),
            action_prefixes=("handover.",),
            summary=log.summary,
            detail=log.detail,
        ),
    ),
    labels={"handover": N_("Handover"), "handover_check": N_("Handover check")},
)
