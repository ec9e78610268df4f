"""Resolving an alert: the Resolve button asks for the outcome in one line (its own short conversation)."""

from __future__ import annotations

from datetime import timedelta

from telegram import Update

from bot import conversations
from bot.callbacks import encode
from bot.conversations import DraftData
from bot.features import Conversation
from bot.keyboards import inline, main_keyboard
from bot.replies import answer, edit_message, reply
from bot.runtime import LiaisonContext
from db import alerts as store
from db.alerts import AlertState
from db.drafts import Draft, consume_draft
from handlers.alerts import service
from handlers.alerts.raising import too_long
from handlers.alerts.render import PREFIX, card_markup, render_card
from handlers.alerts.service import ResolveOutcome

OUTCOME_MAX_LENGTH = 300
# How long the outcome question of a pressed Resolve waits: hours later, "merci" is not the outcome.
OUTCOME_WAIT = timedelta(minutes=30)


class OutcomeData(DraftData):
    """Which alert the outcome line is for."""

    alert_id: int


async def redraw_pressed(update: Update, context: LiaisonContext, alert_id: int) -> None:
    """Edit the pressed message into the presser's current view of the alert (the copies the alert sent are
    edited through the outbox, by their card key; a card opened from /alerts has none)."""
    query, member, runtime = update.callback_query, context.active_member, context.runtime
    assert query is not None and member.id is not None
    async with runtime.db.reading() as session:
        alert = await store.get_alert(session, alert_id=alert_id)
        if alert is None:
            return
        recipient = await store.get_recipient(session, alert_id=alert_id, member_id=member.id)
        if not service.may_see(member, alert, has_copy=recipient is not None):
            return
        state = await service.load_card_state(session, alert=alert)
    reader = service.reader_of(runtime, member, alert, recipient)
    markup = card_markup(context.tr, alert, can_resolve=reader.may_resolve, opened=True)
    await edit_message(query, render_card(runtime.config, state, reader), reply_markup=markup)


def not_yours(context: LiaisonContext) -> str:
    """The refusal for a press on an alert the person may not act on."""
    return context.tr.gettext("This alert was not sent to you: nothing was changed.")


async def resolve_button(update: Update, context: LiaisonContext, alert_id: int | None) -> None:
    """Ask the author, a chief or a coordinator for the outcome line."""
    query, member, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None and query.message is not None and member.id is not None
    async with runtime.db.reading() as session:
        alert = await store.get_alert(session, alert_id=alert_id or 0)
        has_copy = alert is not None and (
            await store.get_recipient(session, alert_id=alert.id or 0, member_id=member.id) is not None
        )
    if alert is None or alert.id is None or not (has_copy or service.may_resolve(member, alert)):
        await answer(query, not_yours(context), alert=True)
        return
    if alert.state == AlertState.RESOLVED:
        await answer(query, tr.gettext("This alert is resolved: nothing more to do."))
        # The pressed card was left behind (one opened from /alerts is not kept up to date): show it resolved.
        await redraw_pressed(update, context, alert.id)
        return
    if not service.may_resolve(member, alert):
        await answer(
            query,
            tr.gettext("Only the author, the post chief or a coordinator can resolve this alert."),
            alert=True,
        )
        return
    draft, _ = await conversations.begin(
        update,
        context,
        OUTCOME,
        token=f"res:{alert.id}:{query.id}"[:64],
        step="outcome",
        data=OutcomeData(alert_id=alert.id),
    )
    await answer(query)
    asked = await reply(
        query,
        tr.gettext("Resolving alert #{id}. Send the outcome in one line (up to {limit} characters).").format(
            id=alert.id, limit=OUTCOME_MAX_LENGTH
        ),
        reply_markup=inline([[(tr.gettext("❌ Cancel"), encode(PREFIX, "nores", alert.id))]]),
    )
    await conversations.remember_prompt(context, draft.id, asked)


async def cancel_button(update: Update, context: LiaisonContext) -> None:
    """Drop a pending outcome question."""
    query, tr = update.callback_query, context.tr
    assert query is not None
    draft = await conversations.current(context, OUTCOME)
    dropped = draft is not None and await conversations.close(context, draft)
    await answer(query, tr.gettext("Cancelled.") if dropped else tr.gettext("This draft is closed."))
    if dropped and draft is not None:
        await edit_message(query, tr.gettext("Cancelled."))
        await conversations.end_prompts(update, context, draft)


async def receive_outcome(update: Update, context: LiaisonContext, draft: Draft) -> bool:
    """The outcome line: resolve the alert once and show it resolved on every copy."""
    message, member, runtime, tr = (
        update.effective_message,
        context.active_member,
        context.runtime,
        context.tr,
    )
    assert message is not None and member.id is not None and draft.id is not None
    # Each line tidied, the line breaks kept: the card shows the outcome as typed, one-line views join them.
    outcome = "\n".join(" ".join(line.split()) for line in (message.text or "").splitlines() if line.strip())
    if not outcome:
        await message.reply_text(tr.gettext("Send the outcome as text, in one line."))
        return True
    if len(outcome) > OUTCOME_MAX_LENGTH:
        await message.reply_text(too_long(tr, len(outcome), OUTCOME_MAX_LENGTH))
        return True
    alert_id = OutcomeData.of(draft).alert_id
    async with runtime.db.transaction() as session:
        # Taken out of the table first: of two deliveries of the same message, only one resolves.
        taken = await consume_draft(session, draft_id=draft.id, member_id=member.id, step=draft.step)
        if taken is None:
            return True
        result = await service.resolve(session, runtime, alert_id=alert_id, member=member, outcome=outcome)
    replies = {
        ResolveOutcome.GONE: None,
        ResolveOutcome.NOT_ALLOWED: tr.gettext(
            "Only the author, the post chief or a coordinator can resolve this alert."
        ),
        ResolveOutcome.ALREADY: tr.gettext("This alert is resolved: nothing more to do."),
        ResolveOutcome.RESOLVED: tr.gettext("Alert #{id} resolved. Every copy now shows it.").format(
            id=alert_id
        ),
    }
    reply = replies[result]
    if reply is not None:
        await message.reply_text(reply, reply_markup=main_keyboard(tr))
    # The question answered, its Cancel button goes.
    await conversations.end_prompts(update, context, taken)
    return True


OUTCOME = Conversation("alert_outcome", receive_outcome, ttl=OUTCOME_WAIT, typed_steps=frozenset({"outcome"}))
