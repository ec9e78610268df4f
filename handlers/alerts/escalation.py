"""Scheduled work of alerts, without Telegram: escalation rungs and delivery checks.

Kinds: alert_escalation (keys al:<id>:esc:<n>), alert_delivery (keys al:<id>:dlv:<n>, and
al:<id>:dlv:e<step>:<n> for the copies an escalation step sent).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.access import answers_for_absent_services
from bot.i18n import translator
from bot.runtime import Runtime
from db import alerts as store
from db.alerts import AlertState
from db.audit import record_action
from db.members import Member, Role, list_coordinators, list_members
from db.outbox import enqueue_message
from db.schedules import ScheduledJob
from handlers.alerts.render import card_markup, escalation_text, excerpt, pair_names
from handlers.alerts.rules import priority_of
from handlers.alerts.service import (
    DELIVERY_CHECKS,
    load_card_state,
    new_recipient,
    reader_of,
    refresh_cards,
    schedule_delivery_check,
    send_copy,
    waiting_for,
)


async def run_escalation(
    session: AsyncSession, job: ScheduledJob, *, runtime: Runtime, due_at: datetime, late: bool
) -> None:
    """One rung of the ladder: re-checked in the database, so an acknowledged service is never escalated."""
    payload = job.payload or {}
    alert = await store.get_alert(session, alert_id=int(payload.get("alert_id", 0)), lock=True)
    step = int(payload.get("step", 0))
    if alert is None or alert.state != AlertState.OPEN or alert.id is None:
        return
    # Required services with nobody at the post count too: their step reaches the chiefs and coordinators.
    pending = await waiting_for(session, runtime, alert)
    ladder = runtime.config.alerts.ladder(alert.severity)
    if not pending or not 1 <= step <= len(ladder):
        return
    rung, now = ladder[step - 1], runtime.clock.now()
    targets: dict[int, Member] = {}
    for post_code, service in pending:
        if "service" in rung.notify:
            targets.update(
                (m.id, m)
                for m in await list_members(session, post_code=post_code, service_code=service)
                if m.id
            )
        if "chief" in rung.notify:
            targets.update(
                (m.id, m)
                for m in await list_members(session, post_code=post_code, roles=(Role.CHIEF,))
                if m.id
            )
    if "coordinators" in rung.notify:
        targets.update((m.id, m) for m in await list_coordinators(session) if m.id)
    await store.raise_escalation_level(session, alert_id=alert.id, level=step)
    alert = await store.get_alert(session, alert_id=alert.id)
    assert alert is not None and alert.id is not None
    state = await load_card_state(session, alert=alert)
    priority = priority_of(alert.severity)
    copies = 0
    for member_id, member in targets.items():
        recipient = await store.get_recipient(session, alert_id=alert.id, member_id=member_id)
        reader = reader_of(runtime, member, alert, recipient)
        tr = translator(reader.language)
        notice = escalation_text(runtime.config, tr, alert, pending, rung.after_minutes)
        absent = [pair for pair in pending if store.pair(*pair) not in alert.required]
        if absent and answers_for_absent_services(member):
            # The chief or coordinator reached here is the one who can answer for them: say how.
            notice += "\n" + tr.gettext(
                "Nobody at the post for {services}: press Seen to answer for them."
            ).format(services=pair_names(runtime.config, tr, alert, absent))
        if recipient is None:
            # Not at the post (a coordinator): they get their own copy, kept up to date from now on.
            recipient = new_recipient(alert, member, member.post_code or alert.post_code, now)
            await store.add_recipient(session, recipient=recipient)
            await enqueue_message(
                session,
                chat_id=member.chat_id,
                text=notice,
                priority=priority,
                member_id=member_id,
                ref=("alert", alert.id),
                now=now,
            )
            await send_copy(
                session, runtime, state, member, recipient, priority=priority, silent=False, now=now
            )
            copies += 1
            continue
        await enqueue_message(
            session,
            chat_id=member.chat_id,
            text=notice + "\n\n" + excerpt(alert),
            priority=priority,
            member_id=member_id,
            ref=("alert", alert.id),
            reply_markup=card_markup(tr, alert, can_resolve=reader.may_resolve),
            now=now,
        )
    await record_action(
        session,
        action="alert.escalated",
        at=now,
        object_type="alert",
        object_id=alert.id,
        post_code=alert.post_code,
        details={
            "step": step,
            "pending": [store.pair(p, s) for p, s in pending],
            "notified": sorted(targets),
            "late": late,
        },
    )
    await refresh_cards(session, runtime, alert, everyone=False, now=now)
    if copies:
        # The full cards now count these new copies as still on their way: a check once they had time to
        # arrive redraws the count, which would otherwise stay short until the next acknowledgement.
        await schedule_delivery_check(session, alert, attempt=1, escalation=step, since=now)


async def run_delivery_check(
    session: AsyncSession, job: ScheduledJob, *, runtime: Runtime, due_at: datetime, late: bool
) -> None:
    """Audit how an alert's copies were delivered (from the outbox); look again while some are pending."""
    payload = job.payload or {}
    alert = await store.get_alert(session, alert_id=int(payload.get("alert_id", 0)))
    if alert is None or alert.id is None:
        return
    attempt = int(payload.get("attempt", 1))
    step = payload.get("escalation")
    # The people other than the author, as her confirmation and her card count them (her copy is not news).
    counts = await store.delivery_counts(session, alert_id=alert.id, except_member_id=alert.author_member_id)
    last = counts.pop("last_sent_at")
    if last is not None:
        counts["seconds_to_last_delivery"] = max(0.0, (last - alert.raised_at).total_seconds())
    details = {**counts, "check": attempt} | ({"escalation": int(step)} if step is not None else {})
    await record_action(
        session,
        action="alert.delivered",
        at=runtime.clock.now(),
        object_type="alert",
        object_id=alert.id,
        post_code=alert.post_code,
        details=details,
    )
    # The full cards (author, chiefs, coordinators: a few) show the count as it now stands: without this an
    # author whose alert nobody acknowledged yet never saw "Delivered to 4 of 4", and a count drawn while
    # copies (or an escalation's new ones) were on their way stayed short until the next press.
    await refresh_cards(session, runtime, alert, everyone=False, now=runtime.clock.now())
    if counts["pending"] and attempt < len(DELIVERY_CHECKS):
        since = datetime.fromisoformat(str(payload["since"])) if step is not None else None
        await schedule_delivery_check(
            session, alert, attempt=attempt + 1, escalation=None if step is None else int(step), since=since
        )
