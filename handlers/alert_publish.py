"""Raising an alert and fanning it out: every recipient's copy, escalation steps and delivery checks.

Scheduled kinds: alert_escalation (keys al:<id>:esc:<n>) and alert_delivery (keys al:<id>:dlv:<n>); their
runners live in handlers/alert_escalation.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import translator
from bot.runtime import Runtime
from db import alerts as store
from db.alerts import AckKind, Alert, AlertRecipient, Severity
from db.audit import record_action
from db.members import Member, list_members
from db.outbox import Notification, Priority, build_message, enqueue_many
from handlers.alert_cards import CardState, card_markup, may_resolve, new_recipient, render_card
from handlers.alert_rules import alert_posts, post_language, priority_of, required_pairs

# A resent message (same author, category, severity and text) within this window is the same alert.
DUPLICATE_WINDOW = timedelta(minutes=10)
DELIVERY_CHECK_KIND = "alert_delivery"
# When the delivery of an alert's copies is checked and audited (again while some are still pending).
DELIVERY_CHECKS = (timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=1))
ESCALATION_KIND = "alert_escalation"


async def publish_alert(session: AsyncSession, runtime: Runtime, author: Member, alert: Alert) -> int:
    """Fan a new alert out: copies for every recipient, the author's service ack, escalation steps.

    Runs in the caller's transaction: the alert, its outbox rows and its schedule commit together or not.
    """
    assert alert.id is not None
    now = alert.raised_at
    recipients: list[tuple[Member, str]] = []
    for post_code in alert.posts:
        recipients += [(m, post_code) for m in await list_members(session, post_code=post_code)]
    recipients = list({m.id: (m, p) for m, p in recipients}.values())
    if author.id not in {m.id for m, _ in recipients}:
        recipients.append((author, alert.post_code))
    # The author's own service knows: it counts as that service having seen the alert.
    if author.service_code:
        await store.acknowledge(
            session,
            alert=alert,
            post_code=alert.post_code,
            service_code=author.service_code,
            member_id=author.id or 0,
            kind=AckKind.SEEN,
            now=now,
        )
    state = CardState(
        alert, await store.list_acks(session, alert_id=alert.id), {author.id or 0: author.display_name}
    )
    priority = priority_of(alert.severity)
    silent = alert.severity == Severity.INFO
    copies: list[tuple[Member, AlertRecipient]] = []
    for member, post_code in recipients:
        assert member.id is not None
        copies.append((member, new_recipient(alert, member, post_code, now)))
    # Delivery keeps the outbox order within a priority: the services that must act hear first, then the
    # chiefs, then everyone else; the author, who knows, last.
    required = set(alert.required)

    def urgency(copy: tuple[Member, AlertRecipient]) -> int:
        member, recipient = copy
        if member.id == author.id:
            return 3
        if store.pair(recipient.post_code, member.service_code or "") in required:
            return 0
        return 1 if recipient.full else 2

    copies.sort(key=urgency)
    # The alert is new and members are listed once: one flush for every copy (no per-row savepoint).
    session.add_all([recipient for _, recipient in copies])
    await session.flush()
    rendered: dict[tuple[Any, ...], Any] = {}
    rows = [
        row
        for member, recipient in copies
        for row in build_copy(
            runtime, state, member, recipient, priority=priority, silent=silent, now=now, rendered=rendered
        )
    ]
    await enqueue_many(session, rows)  # one statement for the whole fan-out, in the order above
    await _schedule_escalation(session, runtime, alert)
    await record_action(
        session,
        action="alert.raised",
        at=now,
        actor_member_id=author.id,
        object_type="alert",
        object_id=alert.id,
        post_code=alert.post_code,
        details={
            "category": alert.category,
            "severity": alert.severity,
            "posts": alert.posts,
            "required": alert.required,
            "location": alert.latitude is not None,
            "photo": alert.photo_file_id is not None,
            "recipients": len(recipients),
            "priority": int(priority),
            "silent": silent,
        },
    )
    await schedule_delivery_check(session, alert, attempt=1)
    return len(recipients)


async def schedule_delivery_check(session: AsyncSession, alert: Alert, *, attempt: int) -> None:
    """Look at the outbox a little later and write how the copies were delivered to the audit log."""
    from bot.scheduler.api import schedule_once

    await schedule_once(
        session,
        key=f"al:{alert.id}:dlv:{attempt}",
        kind=DELIVERY_CHECK_KIND,
        run_at=alert.raised_at + DELIVERY_CHECKS[attempt - 1],
        payload={"alert_id": alert.id, "attempt": attempt},
        post_code=alert.post_code,
        now=alert.raised_at,
    )


def build_copy(
    runtime: Runtime,
    state: CardState,
    member: Member,
    recipient: AlertRecipient,
    *,
    priority: Priority,
    silent: bool,
    now: datetime,
    card: bool = True,
    rendered: dict[tuple[Any, ...], Any] | None = None,
) -> list[Notification]:
    """One member's copy as outbox rows (the card, then the photo by file id); `rendered` shares renders."""
    config, alert = runtime.config, state.alert
    language = member.language or post_language(config, recipient.post_code)
    tr = translator(language)
    rendered = {} if rendered is None else rendered
    # Readers of one language, post and service see the same card: render it once per such group.
    text_key = ("text", language, recipient.post_code, member.service_code, recipient.full)
    if text_key not in rendered:
        rendered[text_key] = render_card(
            config,
            state,
            language=language,
            reader_post=recipient.post_code,
            reader_service=member.service_code,
            full=recipient.full,
        )
    resolver = may_resolve(member, alert)
    markup_key = ("markup", language, resolver)
    if markup_key not in rendered:
        rendered[markup_key] = card_markup(tr, alert, can_resolve=resolver)
    rows = [
        build_message(
            chat_id=member.chat_id,
            text=rendered[text_key],
            priority=priority,
            member_id=member.id,
            reply_markup=rendered[markup_key],
            silent=silent,
            ref=("alert", alert.id or 0),
            card_key=recipient.card_key if card else None,
            now=now,
        )
    ]
    if alert.photo_file_id:
        caption = tr.gettext("📷 Alert #{id}").format(id=alert.id)
        rows.append(
            build_message(
                chat_id=member.chat_id,
                text=caption,
                photo=alert.photo_file_id,
                priority=priority,
                member_id=member.id,
                silent=True,
                ref=("alert", alert.id or 0),
                now=now,
            )
        )
    return rows


async def send_copy(
    session: AsyncSession,
    runtime: Runtime,
    state: CardState,
    member: Member,
    recipient: AlertRecipient,
    *,
    priority: Priority,
    silent: bool,
    now: datetime,
    card: bool = True,
) -> None:
    """Queue one member's copy in the caller's transaction."""
    rows = build_copy(runtime, state, member, recipient, priority=priority, silent=silent, now=now, card=card)
    await enqueue_many(session, rows)


async def _schedule_escalation(session: AsyncSession, runtime: Runtime, alert: Alert) -> None:
    """One scheduled step per rung of the severity's ladder (none when nothing is required)."""
    if not store.pending_required(alert, await store.list_acks(session, alert_id=alert.id or 0)):
        return
    from bot.scheduler.api import schedule_once

    ladder = runtime.config.alerts.escalation.get(alert.severity, ())  # type: ignore[call-overload]
    for index, step in enumerate(ladder, start=1):
        await schedule_once(
            session,
            key=f"al:{alert.id}:esc:{index}",
            kind=ESCALATION_KIND,
            run_at=alert.raised_at + timedelta(minutes=step.after_minutes),
            payload={"alert_id": alert.id, "step": index},
            post_code=alert.post_code,
            now=alert.raised_at,
        )


async def raise_alert(
    session: AsyncSession,
    runtime: Runtime,
    author: Member,
    *,
    token: str,
    category: str,
    severity: str,
    text: str,
    latitude: float | None = None,
    longitude: float | None = None,
    photo: str | None = None,
) -> tuple[Alert, bool]:
    """Create and fan out an alert; (existing, False) for a duplicate token or a resent identical one."""
    config, now = runtime.config, runtime.clock.now()
    existing = await store.get_alert_by_token(session, client_token=token)
    if existing is None:
        existing = await store.find_recent_duplicate(
            session,
            author_member_id=author.id or 0,
            category=category,
            severity=severity,
            text=text,
            since=now - DUPLICATE_WINDOW,
        )
    if existing is not None:
        return existing, False
    definition = config.category(category)
    posts = alert_posts(config, definition, author.post_code or "")
    alert = Alert(
        client_token=token,
        post_code=author.post_code or "",
        author_member_id=author.id or 0,
        author_service_code=author.service_code,
        category=category,
        severity=severity,
        text=text,
        latitude=latitude,
        longitude=longitude,
        photo_file_id=photo,
        posts=posts,
        required=required_pairs(config, definition, posts),
        raised_at=now,
    )
    created = await store.create_alert(session, alert=alert)
    if created is None:
        again = await store.get_alert_by_token(session, client_token=token)
        assert again is not None
        return again, False
    await publish_alert(session, runtime, author, created)
    return created, True
