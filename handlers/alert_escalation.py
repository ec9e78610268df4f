"""Alert escalation and delivery checks: the scheduled runners, registered when this module is imported.

Scheduled kinds: alert_escalation (keys al:<id>:esc:<n>), alert_delivery (keys al:<id>:dlv:<n>).
"""

from __future__ import annotations

import html
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import Translator, translator
from bot.runtime import Runtime
from bot.scheduler.runners import register_runner
from bot.texts import post_name, service_name
from db import alerts as store
from db.alerts import Alert, AlertState
from db.audit import record_action
from db.members import Member, Role, list_coordinators, list_members
from db.outbox import enqueue_message
from handlers.alert_cards import (
    card_markup,
    category_label,
    load_card_state,
    may_resolve,
    new_recipient,
    refresh_cards,
    severity_label,
)
from handlers.alert_publish import (
    DELIVERY_CHECK_KIND,
    DELIVERY_CHECKS,
    ESCALATION_KIND,
    schedule_delivery_check,
    send_copy,
)
from handlers.alert_rules import post_language, priority_of

EXCERPT = 280


async def cancel_escalation(session: AsyncSession, alert_id: int) -> None:
    """Drop the alert's remaining escalation steps (handled or resolved)."""
    from bot.scheduler.api import cancel

    await cancel(session, key_prefix=f"al:{alert_id}:esc:")


async def run_escalation(
    session: AsyncSession, job: Any, *, runtime: Runtime, due_at: Any, late: bool
) -> None:
    """One rung of the ladder: re-checked in the database, so an acknowledged service is never escalated."""
    payload = job.payload or {}
    alert = await store.get_alert(session, alert_id=int(payload.get("alert_id", 0)), lock=True)
    step = int(payload.get("step", 0))
    if alert is None or alert.state != AlertState.OPEN or alert.id is None:
        return
    pending = store.pending_required(alert, await store.list_acks(session, alert_id=alert.id))
    ladder = runtime.config.alerts.escalation.get(alert.severity, ())  # type: ignore[call-overload]
    if not pending or not 1 <= step <= len(ladder):
        return
    rung, now = ladder[step - 1], runtime.clock.now()
    targets: dict[int, Member] = {}
    for post_code, service in pending:
        if "service" in rung.notify:
            targets.update(
                (m.id, m) for m in await list_members(session, post_code=post_code, service_code=service)
            )
        if "chief" in rung.notify:
            targets.update(
                (m.id, m) for m in await list_members(session, post_code=post_code, roles=(Role.CHIEF,))
            )
    if "coordinators" in rung.notify:
        targets.update((m.id, m) for m in await list_coordinators(session))
    await store.raise_escalation_level(session, alert_id=alert.id, level=step)
    alert = await store.get_alert(session, alert_id=alert.id)
    assert alert is not None and alert.id is not None
    state = await load_card_state(session, alert=alert)
    priority = priority_of(alert.severity)
    for member in targets.values():
        recipient = await store.get_recipient(session, alert_id=alert.id, member_id=member.id or 0)
        tr = translator(member.language or post_language(runtime.config, member.post_code))
        notice = escalation_text(runtime, tr, alert, pending, rung.after_minutes)
        if recipient is None:
            # Not at the post (a coordinator): they get their own copy, kept up to date from now on.
            recipient = new_recipient(alert, member, member.post_code or alert.post_code, now)
            await store.add_recipient(session, recipient=recipient)
            await enqueue_message(
                session,
                chat_id=member.chat_id,
                text=notice,
                priority=priority,
                member_id=member.id,
                ref=("alert", alert.id),
                now=now,
            )
            await send_copy(
                session, runtime, state, member, recipient, priority=priority, silent=False, now=now
            )
            continue
        await enqueue_message(
            session,
            chat_id=member.chat_id,
            text=notice + "\n\n" + _excerpt(alert),
            priority=priority,
            member_id=member.id,
            ref=("alert", alert.id),
            reply_markup=card_markup(tr, alert, can_resolve=may_resolve(member, alert)),
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
    await refresh_cards(session, runtime.config, alert, everyone=False, now=now)


async def run_delivery_check(
    session: AsyncSession, job: Any, *, runtime: Runtime, due_at: Any, late: bool
) -> None:
    """Audit how an alert's copies were delivered (from the outbox); look again while some are pending."""
    payload = job.payload or {}
    alert = await store.get_alert(session, alert_id=int(payload.get("alert_id", 0)))
    if alert is None or alert.id is None:
        return
    attempt = int(payload.get("attempt", 1))
    counts = await store.delivery_counts(session, alert_id=alert.id)
    last = counts.pop("last_sent_at")
    if last is not None:
        counts["seconds_to_last_delivery"] = max(0.0, (last - alert.raised_at).total_seconds())
    await record_action(
        session,
        action="alert.delivered",
        at=runtime.clock.now(),
        object_type="alert",
        object_id=alert.id,
        post_code=alert.post_code,
        details={**counts, "check": attempt},
    )
    if counts["pending"] and attempt < len(DELIVERY_CHECKS):
        await schedule_delivery_check(session, alert, attempt=attempt + 1)


def escalation_text(
    runtime: Runtime, tr: Translator, alert: Alert, pending: list[tuple[str, str]], minutes: float
) -> str:
    """'Not acknowledged after N minutes by: ...' in the reader's language."""
    config = runtime.config
    services = ", ".join(
        html.escape(
            service_name(config, tr, s) + (f" ({post_name(config, p)})" if len(alert.posts) > 1 else "")
        )
        for p, s in pending
    )
    return tr.gettext(
        "⏰ <b>Escalation</b> · alert #{id} · {category} · {severity} · {post}\n"
        "Not acknowledged after {minutes} minutes by: {services}."
    ).format(
        id=alert.id,
        category=html.escape(category_label(config, tr, alert.category)),
        severity=severity_label(tr, alert.severity),
        post=html.escape(post_name(config, alert.post_code)),
        minutes=tr.number(minutes),
        services=services,
    )


def _excerpt(alert: Alert) -> str:
    text = alert.text if len(alert.text) <= EXCERPT else alert.text[:EXCERPT].rstrip() + "…"
    return html.escape(text)


register_runner(ESCALATION_KIND, run_escalation)
register_runner(DELIVERY_CHECK_KIND, run_delivery_check)
