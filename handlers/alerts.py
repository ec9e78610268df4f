"""Alerts: the feature's entry point: buttons, per-service acknowledgements, resolution, listing, wiring.

Commands: /alert [severity category: text], /alerts; the persistent "🚨 Alert" button.
Callback prefix al: cat/sev/ok/no (the raise conversation, handlers/alert_raise.py),
seen/act (acknowledge), res/nores (resolve with an outcome), open (from /alerts).
Scheduled kinds: alert_escalation (keys al:<id>:esc:<n>), alert_delivery (keys al:<id>:dlv:<n>); their runners
(handlers/alert_escalation.py) are registered when this module imports it.
Also: the rules (alert_rules.py), the fan-out (alert_publish.py), rendering (alert_cards.py).
"""

from __future__ import annotations

import html
import logging
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import callbacks
from bot.access import Action, can, is_global
from bot.i18n import Translator
from bot.keyboards import inline
from bot.runtime import LiaisonContext, Runtime
from bot.texts import member_translator, post_name, service_name
from db import alerts as store
from db.alerts import AckKind, Alert, AlertDraft, AlertRecipient, AlertState, DraftStep
from db.audit import record_action
from db.members import Member
from db.outbox import Priority
from handlers import alert_raise
from handlers.alert_cards import (
    ALERT_BUTTON_TEXTS,
    SEVERITY_ICONS,
    alert_keyboard,
    card_markup,
    category_label,
    load_card_state,
    may_resolve,
    new_recipient,
    refresh_cards,
    render_for,
    zone_of,
)
from handlers.alert_escalation import cancel_escalation

logger = logging.getLogger(__name__)

# Its own handler group, after the gate (-10) and before the features (0): it claims a message only when the
# member's alert draft is waiting for it, and lets everything else through to the other features.
ALERT_INPUT_GROUP = -3
OUTCOME_MAX_LENGTH = 300


# ----- buttons ----------------------------------------------------------------------------------------------


async def alert_button(update: Update, context: LiaisonContext) -> None:
    """Route every al: button; each path answers the callback query."""
    query = update.callback_query
    data = callbacks.parse(query.data)
    tr = member_translator(context.member)
    if data is None or context.member is None:
        await query.answer(tr.gettext("This button is no longer valid."), show_alert=True)
        return
    if data.action in ("cat", "sev", "ok", "no"):
        await alert_raise.draft_button(update, context, data)
    elif data.action in ("seen", "act"):
        await acknowledge_button(
            update, context, data.int_arg(0), AckKind.SEEN if data.action == "seen" else AckKind.ACTION
        )
    elif data.action == "res":
        await resolve_button(update, context, data.int_arg(0))
    elif data.action == "nores":
        await cancel_outcome(update, context)
    elif data.action == "open":
        await open_button(update, context, data.int_arg(0))
    else:
        await query.answer(tr.gettext("This button is no longer valid."), show_alert=True)


def _not_yours(tr: Translator) -> str:
    return tr.gettext("This alert was not sent to you: nothing was changed.")


async def acknowledge_button(
    update: Update, context: LiaisonContext, alert_id: int | None, kind: AckKind
) -> None:
    """Seen / Taking action: the member's receipt, and their service's first acknowledgement."""
    query, member, runtime = update.callback_query, context.member, context.runtime
    tr = member_translator(member)
    assert member is not None
    async with runtime.db.transaction() as session:
        alert = await store.get_alert(session, alert_id=alert_id or 0, lock=True)
        recipient = None
        if alert is not None:
            recipient = await store.get_recipient(session, alert_id=alert.id or 0, member_id=member.id or 0)
            if recipient is None and alert.state == AlertState.OPEN:
                recipient = await late_recipient(session, runtime, alert, member)
        if alert is None or recipient is None or not can(member, Action.ACKNOWLEDGE, recipient.post_code):
            answer = _not_yours(tr)
        elif alert.state == AlertState.RESOLVED:
            answer = tr.gettext("This alert is resolved: nothing more to do.")
        else:
            answer = await record_ack(session, runtime, alert, member, recipient, kind, tr)
    # Telegram caps callback answers at 200 characters (long names or service labels could pass it).
    await query.answer(answer[:200], show_alert=answer == _not_yours(tr))


async def late_recipient(
    session: AsyncSession, runtime: Runtime, alert: Alert, member: Member
) -> AlertRecipient | None:
    """A copy for someone of a post concerned who joined later (or a coordinator), opened from /alerts."""
    if member.post_code in alert.posts and can(member, Action.ACKNOWLEDGE, member.post_code):
        post_code = member.post_code
    elif is_global(member):
        post_code = alert.post_code
    else:
        return None
    recipient = new_recipient(alert, member, post_code or alert.post_code, runtime.clock.now())
    return await store.add_recipient(session, recipient=recipient)


async def record_ack(
    session: AsyncSession,
    runtime: Runtime,
    alert: Alert,
    member: Member,
    recipient: AlertRecipient,
    kind: AckKind,
    tr: Translator,
) -> str:
    """Store a press and refresh the copies it changes; returns the answer for the presser."""
    assert alert.id is not None and member.id is not None and recipient.id is not None
    now, config = runtime.clock.now(), runtime.config
    new_receipt = await store.record_receipt(session, recipient_id=recipient.id, kind=kind, now=now)
    service = member.service_code
    if not service:
        if new_receipt:
            await _audit_ack(session, alert, member, kind, now, None, "receipt", None)
        return tr.gettext("Noted.")
    ack, outcome = await store.acknowledge(
        session,
        alert=alert,
        post_code=recipient.post_code,
        service_code=service,
        member_id=member.id,
        kind=kind,
        now=now,
    )
    label = service_name(config, tr, service)
    if outcome == "already":
        if new_receipt:
            await _audit_ack(session, alert, member, kind, now, service, outcome, None)
        if ack.member_id == member.id:
            return tr.gettext("You already acknowledged this alert.")
        first = await session.get(Member, ack.member_id)
        return tr.gettext(
            "{service} already acknowledged: {name}, {time}. Your own reading is recorded."
        ).format(
            service=label,
            name=first.display_name if first is not None else "?",
            time=tr.time(ack.acked_at, zone_of(config, recipient.post_code, alert.post_code)),
        )
    await _audit_ack(
        session,
        alert,
        member,
        kind,
        now,
        service,
        outcome,
        ack.seconds_to_ack if outcome == "first" else None,
    )
    handled = False
    if outcome == "first" and not store.pending_required(
        alert, await store.list_acks(session, alert_id=alert.id)
    ):
        handled = await store.mark_handled(session, alert_id=alert.id, now=now)
        if handled:
            await cancel_escalation(session, alert.id)
            await record_action(
                session,
                action="alert.handled",
                at=now,
                object_type="alert",
                object_id=alert.id,
                post_code=alert.post_code,
                details={"seconds": (now - alert.raised_at).total_seconds()},
            )
            alert = await store.get_alert(session, alert_id=alert.id) or alert
    await refresh_cards(
        session,
        config,
        alert,
        # Handled is shown on the full cards; every copy is edited when the alert is resolved.
        everyone=False,
        member_ids=(member.id,),
        priority=Priority.HIGH if handled else Priority.NORMAL,
        now=now,
    )
    if kind == AckKind.ACTION:
        return tr.gettext("Taking action: recorded for {service}. The author and the chiefs see it.").format(
            service=label
        )
    return tr.gettext("Seen: recorded for {service}.").format(service=label)


async def _audit_ack(
    session: AsyncSession,
    alert: Alert,
    member: Member,
    kind: AckKind,
    now: Any,
    service: str | None,
    outcome: str,
    seconds: float | None,
) -> None:
    details: dict[str, Any] = {"service": service, "outcome": outcome}
    if seconds is not None:
        details["seconds_to_ack"] = seconds
    await record_action(
        session,
        action="alert.seen" if kind == AckKind.SEEN else "alert.taking_action",
        at=now,
        actor_member_id=member.id,
        object_type="alert",
        object_id=alert.id,
        post_code=member.post_code or alert.post_code,
        details=details,
    )


# ----- resolution -------------------------------------------------------------------------------------------


async def resolve_button(update: Update, context: LiaisonContext, alert_id: int | None) -> None:
    """Ask the author, a chief or a coordinator for the outcome line."""
    query, member, runtime = update.callback_query, context.member, context.runtime
    tr = member_translator(member)
    assert member is not None and member.id is not None
    refusal: tuple[str, bool] | None = None  # (answer, as a pop-up); Telegram is called after the commit
    async with runtime.db.transaction() as session:
        alert = await store.get_alert(session, alert_id=alert_id or 0)
        recipient = (
            None
            if alert is None
            else await store.get_recipient(session, alert_id=alert.id or 0, member_id=member.id)
        )
        if alert is None or (recipient is None and not can(member, Action.VIEW_POST, alert.post_code)):
            refusal = (_not_yours(tr), True)
        elif alert.state == AlertState.RESOLVED:
            refusal = (tr.gettext("This alert is resolved: nothing more to do."), False)
        elif not may_resolve(member, alert):
            refusal = (
                tr.gettext("Only the author, the post chief or a coordinator can resolve this alert."),
                True,
            )
        else:
            await store.start_draft(
                session,
                member_id=member.id,
                token=f"res:{alert.id}:{query.id}"[:64],
                now=runtime.clock.now(),
                step=DraftStep.OUTCOME,
                alert_id=alert.id,
            )
    if refusal is not None or alert is None:
        text, pop_up = refusal or (_not_yours(tr), True)
        await query.answer(text, show_alert=pop_up)
        return
    await query.answer()
    await query.message.reply_text(
        tr.gettext("Resolving alert #{id}. Send the outcome in one line (up to {limit} characters).").format(
            id=alert.id, limit=OUTCOME_MAX_LENGTH
        ),
        reply_markup=inline([[(tr.gettext("❌ Cancel"), callbacks.encode("al", "nores", alert.id))]]),
    )


async def cancel_outcome(update: Update, context: LiaisonContext) -> None:
    """Drop a pending outcome question."""
    query, member, runtime = update.callback_query, context.member, context.runtime
    tr = member_translator(member)
    assert member is not None and member.id is not None
    async with runtime.db.transaction() as session:
        draft = await store.get_draft(session, member_id=member.id)
        dropped = (
            draft is not None
            and draft.step == DraftStep.OUTCOME
            and await store.drop_draft(session, member_id=member.id, draft_id=draft.id)
        )
    await query.answer(tr.gettext("Cancelled.") if dropped else tr.gettext("This draft is closed."))
    if dropped:
        await alert_raise.edit_quietly(query, tr.gettext("Cancelled."))


async def receive_outcome(update: Update, context: LiaisonContext, draft: AlertDraft) -> None:
    """The outcome line: resolve the alert once and show it resolved on every copy."""
    message, member, runtime = update.effective_message, context.member, context.runtime
    assert member is not None and member.id is not None and draft.id is not None
    tr = member_translator(member)
    outcome = " ".join((message.text or "").split())
    if not outcome:
        await message.reply_text(tr.gettext("Send the outcome as text, in one line."))
        return
    if len(outcome) > OUTCOME_MAX_LENGTH:
        await message.reply_text(alert_raise.too_long(tr, len(outcome), OUTCOME_MAX_LENGTH))
        return
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        alert = await store.get_alert(session, alert_id=draft.alert_id or 0, lock=True)
        taken = await store.consume_draft(
            session, draft_id=draft.id, member_id=member.id, step=DraftStep.OUTCOME
        )
        if alert is None or taken is None:
            return
        if not may_resolve(member, alert):
            reply = tr.gettext("Only the author, the post chief or a coordinator can resolve this alert.")
        elif not await store.resolve_alert(
            session, alert_id=alert.id or 0, member_id=member.id, outcome=outcome, now=now
        ):
            reply = tr.gettext("This alert is resolved: nothing more to do.")
        else:
            await cancel_escalation(session, alert.id or 0)
            await record_action(
                session,
                action="alert.resolved",
                at=now,
                actor_member_id=member.id,
                object_type="alert",
                object_id=alert.id,
                post_code=alert.post_code,
                details={"outcome": outcome, "seconds": (now - alert.raised_at).total_seconds()},
            )
            alert = await store.get_alert(session, alert_id=alert.id or 0)
            assert alert is not None
            await refresh_cards(
                session, runtime.config, alert, everyone=True, priority=Priority.HIGH, now=now
            )
            reply = tr.gettext("Alert #{id} resolved. Every copy now shows it.").format(id=alert.id)
    await message.reply_text(reply, reply_markup=alert_keyboard(tr))


# ----- listing ----------------------------------------------------------------------------------------------


async def alerts_command(update: Update, context: LiaisonContext) -> None:
    """/alerts: the open alerts of the member's post (and those shared with them), newest first."""
    member, runtime, message = context.member, context.runtime, update.effective_message
    tr = member_translator(member)
    if member is None or not can(member, Action.VIEW_POST, member.post_code):
        await message.reply_text(tr.gettext("You are not allowed to do this."))
        return
    async with runtime.db.reading() as session:
        alerts = await visible_open_alerts(session, member)
        states = [await load_card_state(session, alert=a) for a in alerts]
    if not alerts:
        await message.reply_text(tr.gettext("No open alert at your post."), reply_markup=alert_keyboard(tr))
        return
    lines = ["<b>" + html.escape(tr.gettext("Open alerts")) + "</b>"]
    buttons = []
    for state in states:
        alert = state.alert
        # A post's members read times in their post's zone; coordinators in each alert's own post's zone.
        zone = zone_of(runtime.config, member.post_code, alert.post_code)
        pending = len(store.pending_required(alert, state.acks))
        status = (
            tr.ngettext("{n} service pending", "{n} services pending", pending).format(n=pending)
            if pending
            else tr.gettext("handled")
        )
        lines.append(
            f"{SEVERITY_ICONS.get(alert.severity, '')} #{alert.id} · "
            f"{html.escape(category_label(runtime.config, tr, alert.category))} · "
            f"{html.escape(post_name(runtime.config, alert.post_code))} · "
            f"{tr.short_datetime(alert.raised_at, zone)} · {status}"
        )
        buttons.append(
            [
                (
                    f"#{alert.id} · {category_label(runtime.config, tr, alert.category)}",
                    callbacks.encode("al", "open", alert.id),
                )
            ]
        )
    await message.reply_text("\n".join(lines), reply_markup=inline(buttons))


def partner_reader(member: Member, alert: Alert) -> bool:
    """A member of a partner post an open cross-border alert went to (who may acknowledge it late)."""
    return (
        alert.state == AlertState.OPEN
        and member.post_code in alert.posts
        and can(member, Action.ACKNOWLEDGE, member.post_code)
        and can(member, Action.VIEW_POST, member.post_code)
    )


async def visible_open_alerts(session: AsyncSession, member: Member, limit: int = 20) -> list[Alert]:
    """Open alerts of the member's post (every post for coordinators) plus any sent to them, newest first."""
    alerts = await store.list_open_alerts(
        session, post_codes=None if is_global(member) else [member.post_code or ""], limit=limit
    )
    shared = (
        select(Alert)
        .join(AlertRecipient, col(AlertRecipient.alert_id) == col(Alert.id))
        .where(AlertRecipient.member_id == member.id, Alert.state == AlertState.OPEN)
    )
    seen = {a.id for a in alerts}
    alerts += [a for a in (await session.exec(shared)).all() if a.id not in seen]
    if not is_global(member) and member.post_code:
        # Cross-border alerts of partner posts: members who joined later may acknowledge them, so list them.
        seen = {a.id for a in alerts}
        others = select(Alert).where(Alert.state == AlertState.OPEN, col(Alert.post_code) != member.post_code)
        alerts += [
            a for a in (await session.exec(others)).all() if a.id not in seen and partner_reader(member, a)
        ]
    return sorted(alerts, key=lambda a: a.id or 0, reverse=True)[:limit]


async def open_button(update: Update, context: LiaisonContext, alert_id: int | None) -> None:
    """Show one alert's current card (only to someone who may see it)."""
    query, member, runtime = update.callback_query, context.member, context.runtime
    tr = member_translator(member)
    assert member is not None
    async with runtime.db.reading() as session:
        alert = await store.get_alert(session, alert_id=alert_id or 0)
        recipient = (
            None
            if alert is None
            else await store.get_recipient(session, alert_id=alert.id or 0, member_id=member.id or 0)
        )
        allowed = alert is not None and (
            recipient is not None
            or can(member, Action.VIEW_POST, alert.post_code)
            or partner_reader(member, alert)
        )
        state = await load_card_state(session, alert=alert) if allowed and alert is not None else None
    if state is None or alert is None:
        await query.answer(_not_yours(tr), show_alert=True)
        return
    await query.answer()
    text = render_for(runtime.config, state, member, recipient)
    markup = card_markup(tr, alert, can_resolve=may_resolve(member, alert))
    await query.message.reply_text(
        text,
        reply_markup=inline(
            [[(b["text"], b["callback_data"]) for b in row] for row in markup["inline_keyboard"]]
        )
        if markup
        else None,
    )


# ----- wiring -----------------------------------------------------------------------------------------------


def register(application: Application) -> None:
    """Register this feature's handlers (the scheduled runners register on import)."""
    private = filters.ChatType.PRIVATE
    application.add_handler(
        # Any message: a sticker or a voice note at a draft's step gets the step's question again.
        MessageHandler(private & ~filters.StatusUpdate.ALL, alert_raise.draft_input),
        group=ALERT_INPUT_GROUP,
    )
    application.add_handler(CommandHandler("alert", alert_raise.alert_command, filters=private))
    application.add_handler(CommandHandler("alerts", alerts_command, filters=private))
    application.add_handler(
        MessageHandler(private & filters.Text(sorted(ALERT_BUTTON_TEXTS)), alert_raise.start_conversation)
    )
    application.add_handler(CallbackQueryHandler(alert_button, pattern=callbacks.pattern("al")))
