"""The alerts feature's buttons: the draft's, Seen / Taking action, Resolve, and opening an alert.

Every press is re-checked against the database: who is pressing, on which alert, in which state.
"""

from __future__ import annotations

from telegram import Update

from bot.access import is_post_chief
from bot.callbacks import CallbackData
from bot.replies import answer, reply
from bot.runtime import LiaisonContext
from db import alerts as store
from db.alerts import AckKind
from handlers.alerts import raising, resolving, service
from handlers.alerts.batching import Press, batcher
from handlers.alerts.render import OPENED, card_markup, render_card
from handlers.alerts.service import AckOutcome, AckResult


async def on_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """Route every al: button; each path answers the callback query."""
    query = update.callback_query
    assert query is not None
    if data.action in ("post", "cat", "sev", "ok", "no"):
        await raising.draft_button(update, context, data)
    elif data.action in ("seen", "act"):
        await acknowledge_button(
            update,
            context,
            data.int_arg(0),
            AckKind.SEEN if data.action == "seen" else AckKind.ACTION,
            opened=data.args[1:2] == (OPENED,),
        )
    elif data.action == "res":
        await resolving.resolve_button(update, context, data.int_arg(0))
    elif data.action == "nores":
        await resolving.cancel_button(update, context)
    elif data.action == "open":
        await open_button(update, context, data.int_arg(0))
    else:
        await answer(query, context.tr.gettext("This button is no longer valid."), alert=True)


def ack_answer(context: LiaisonContext, result: AckResult) -> str:
    """What the presser reads after Seen / Taking action."""
    tr, config = context.tr, context.runtime.config
    label = config.service_name(result.service_code, tr.language)
    if result.outcome == AckOutcome.NOT_YOURS:
        return resolving.not_yours(context)
    if result.outcome == AckOutcome.RESOLVED:
        return tr.gettext("This alert is resolved: nothing more to do.")
    chief = is_post_chief(context.active_member)
    if result.stood_in:
        # Said first: it is what changed (the alert is handled), whatever else the press recorded.
        return tr.gettext(
            "Recorded: you answered for the services with no member at the post, so the alert is handled."
        )
    if result.outcome == AckOutcome.RECEIPT_AGAIN:
        if result.kind == AckKind.ACTION:
            return tr.gettext("Already noted: you are taking action on this alert.")
        return tr.gettext("Already noted: you have seen this alert.")
    if result.outcome == AckOutcome.RECEIPT:
        # A reader of no service (a chief of the whole post, a coordinator): no service acknowledges, but
        # the full cards list who of no service has seen it or is taking action.
        if result.author:
            return author_receipt(context, result.kind, chief=chief)
        if result.kind == AckKind.ACTION and chief:
            return tr.gettext(
                "Taking action: recorded. The author and the other chiefs see it on their cards."
            )
        if result.kind == AckKind.ACTION:
            return tr.gettext("Taking action: recorded. The author and the chiefs see it on their cards.")
        if chief:
            return tr.gettext("Seen: recorded. The author and the other chiefs see it on their cards.")
        return tr.gettext("Seen: recorded. The author and the chiefs see it on their cards.")
    if result.outcome == AckOutcome.ALREADY_MINE and result.raised:
        # Her Seen adds nothing: raising the alert counted for her service (she never pressed before).
        return tr.gettext("You raised this alert: it counts as seen for your service ({service}).").format(
            service=label
        )
    if result.outcome == AckOutcome.ALREADY_MINE:
        return tr.gettext("You already acknowledged this alert.")
    if result.outcome == AckOutcome.ALREADY_OTHER:
        assert result.first_at is not None
        first = tr.time(result.first_at, config.post_zone(context.active_member.post_code, result.post_code))
        if result.raised:
            # Nobody of the service pressed: it counts as acknowledged because a colleague raised the alert.
            text = tr.gettext(
                "Your service ({service}) already knows: {name} raised this alert at {time}. "
                "Your own reading is recorded."
            )
        else:
            text = tr.gettext(
                "Your service ({service}) has already acknowledged it: {name}, {time}. "
                "Your own reading is recorded."
            )
        return text.format(service=label, name=result.first_name or "?", time=first)
    if result.outcome == AckOutcome.ACTION and result.author:
        # The author's own card shows every service already; the chiefs' cards show this line too.
        return tr.gettext("Taking action: recorded for {service}. The chiefs see it on their cards.").format(
            service=label
        )
    if result.outcome == AckOutcome.ACTION and chief:
        return tr.gettext(
            "Taking action: recorded for {service}. The author and the other chiefs see it."
        ).format(service=label)
    if result.outcome == AckOutcome.ACTION:
        return tr.gettext("Taking action: recorded for {service}. The author and the chiefs see it.").format(
            service=label
        )
    return tr.gettext("Seen: recorded for {service}.").format(service=label)


def author_receipt(context: LiaisonContext, kind: AckKind, *, chief: bool) -> str:
    """The answer to the author of no service (a coordinator, a chief) pressing on her own alert: her card
    shows every line already; the chiefs' cards show her press."""
    tr = context.tr
    if kind == AckKind.ACTION and chief:
        return tr.gettext("Taking action: recorded. The other chiefs see it on their cards.")
    if kind == AckKind.ACTION:
        return tr.gettext("Taking action: recorded. The chiefs see it on their cards.")
    if chief:
        return tr.gettext("Seen: recorded. The other chiefs see it on their cards.")
    return tr.gettext("Seen: recorded. The chiefs see it on their cards.")


# Presses that change what the presser's own card shows.
REDRAWN = frozenset({AckOutcome.RECEIPT, AckOutcome.SEEN, AckOutcome.ACTION})


async def acknowledge_button(
    update: Update, context: LiaisonContext, alert_id: int | None, kind: AckKind, *, opened: bool = False
) -> None:
    """Seen / Taking action: the member's receipt, and their service's first acknowledgement; `opened`: the
    pressed card was opened from /alerts (no card key follows it), so it is redrawn here."""
    query, member, runtime = update.callback_query, context.active_member, context.runtime
    assert query is not None
    # Committed with the other presses waiting at this moment (a burst costs one unit of work per batch),
    # answered as soon as it is.
    result = await batcher(runtime).submit(Press(alert_id or 0, member, kind))
    await answer(query, ack_answer(context, result), alert=result.outcome == AckOutcome.NOT_YOURS)
    # A resolved alert's card may have been left behind (a copy opened from /alerts, an escalation notice):
    # the pressed message shows where it stands, without its stale buttons.
    if (opened and result.outcome in REDRAWN) or result.outcome == AckOutcome.RESOLVED:
        await resolving.redraw_pressed(update, context, alert_id or 0)


async def open_button(update: Update, context: LiaisonContext, alert_id: int | None) -> None:
    """Show one alert's current card (only to someone who may see it)."""
    query, member, runtime = update.callback_query, context.active_member, context.runtime
    assert query is not None and query.message is not None and member.id is not None
    async with runtime.db.reading() as session:
        alert = await store.get_alert(session, alert_id=alert_id or 0)
        recipient = (
            None
            if alert is None
            else await store.get_recipient(session, alert_id=alert.id or 0, member_id=member.id)
        )
        allowed = alert is not None and service.may_see(member, alert, has_copy=recipient is not None)
        state = await service.load_card_state(session, alert=alert) if allowed and alert is not None else None
    if state is None or alert is None:
        await answer(query, resolving.not_yours(context), alert=True)
        return
    await answer(query)
    reader = service.reader_of(runtime, member, alert, recipient)
    await reply(
        query,
        render_card(runtime.config, state, reader),
        reply_markup=card_markup(context.tr, alert, can_resolve=reader.may_resolve, opened=True),
    )
