"""Rendering of alerts: each reader's copy (their language and zone), status lines, keyboards, refreshes."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import KeyboardButton, ReplyKeyboardMarkup

from bot.access import Action, can
from bot.callbacks import encode
from bot.config import Config
from bot.i18n import N_, Translator, translator
from bot.texts import post_name, service_name
from db.alerts import (
    Alert,
    AlertAck,
    AlertRecipient,
    AlertState,
    card_key,
    delivery_counts,
    list_acks,
    pending_required,
)
from db.members import Member, MemberStatus, Role
from db.outbox import Priority, enqueue_card_edit

SEVERITY_ICONS = {"urgent": "🔴", "important": "🟠", "info": "🔵"}
SEVERITY_NAMES = {
    # TRANSLATORS: alert severity, shown on buttons and cards.
    "info": N_("Information"),
    "important": N_("Important"),
    "urgent": N_("Urgent"),
}
# The persistent reply-keyboard button, matched in both languages whatever the reader's own.
ALERT_BUTTON = N_("🚨 Alert")
ALERT_BUTTON_TEXTS = frozenset({"🚨 Alert", "🚨 Alerte"})


def alert_button_label(tr: Translator) -> str:
    """The persistent keyboard's alert button in the reader's language."""
    return tr.gettext(ALERT_BUTTON)


def alert_keyboard(tr: Translator) -> ReplyKeyboardMarkup:
    """The agent's persistent keyboard with its one big alert button."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(alert_button_label(tr))]], resize_keyboard=True, is_persistent=True
    )


def severity_label(tr: Translator, severity: str) -> str:
    """A severity in the reader's language, with its colour."""
    return f"{SEVERITY_ICONS.get(severity, '')} {tr.gettext(SEVERITY_NAMES.get(severity, severity))}".strip()


def category_label(config: Config, tr: Translator, code: str) -> str:
    """A category name in the reader's language (its code when no longer configured)."""
    try:
        return config.category(code).name.get(tr.language)
    except KeyError:
        return code


def map_link(latitude: float, longitude: float) -> str:
    """Coordinates as text with an OpenStreetMap link (works on any phone, no app needed)."""
    url = f"https://www.openstreetmap.org/?mlat={latitude:.5f}&mlon={longitude:.5f}#map=16/{latitude:.5f}/{longitude:.5f}"
    return f'📍 <a href="{html.escape(url)}">{latitude:.5f}, {longitude:.5f}</a>'


def zone_of(config: Config, post_code: str | None, fallback: str) -> str:
    """The time zone a reader of `post_code` sees times in."""
    try:
        return config.post(post_code).timezone if post_code else config.post(fallback).timezone
    except KeyError:
        return "UTC"


@dataclass
class CardState:
    """Everything needed to draw any copy of one alert, loaded once per refresh."""

    alert: Alert
    acks: list[AlertAck]
    names: dict[int, str] = field(default_factory=dict)
    # (copies delivered, copies queued), known when a card is refreshed.
    delivered: tuple[int, int] | None = None

    def name(self, member_id: int | None) -> str:
        """A member's display name, escaped."""
        return html.escape(self.names.get(member_id or 0, "?"))


async def load_card_state(session: AsyncSession, *, alert: Alert) -> CardState:
    """Load an alert's acknowledgements and the names a card shows."""
    assert alert.id is not None
    acks = await list_acks(session, alert_id=alert.id)
    ids = {alert.author_member_id, alert.resolved_by_member_id}
    for ack in acks:
        ids.update((ack.member_id, ack.action_member_id))
    ids.discard(None)
    names: dict[int, str] = {}
    if ids:
        rows = await session.exec(select(Member.id, Member.display_name).where(col(Member.id).in_(ids)))
        names = {member_id: name for member_id, name in rows.all()}
    return CardState(alert, acks, names)


def _ack_line(
    config: Config, tr: Translator, state: CardState, post_code: str, service: str, zone: str
) -> str:
    """One service's line: who acknowledged and when, or pending."""
    label = html.escape(service_name(config, tr, service))
    ack = next((a for a in state.acks if a.post_code == post_code and a.service_code == service), None)
    required = f"{post_code}/{service}" in state.alert.required
    if ack is None:
        if required:
            return tr.gettext("⏳ {service} — pending").format(service=label)
        return f"▫️ {label} —"
    line = tr.gettext("✅ {service} ✓ {time} ({name})").format(
        service=label, time=tr.time(ack.acked_at, zone), name=state.name(ack.member_id)
    )
    if ack.kind == "action" and ack.action_at is not None:
        line += " · " + tr.gettext("taking action: {name}, {time}").format(
            name=state.name(ack.action_member_id), time=tr.time(ack.action_at, zone)
        )
    return line


def status_line(config: Config, tr: Translator, state: CardState, zone: str, *, full: bool = True) -> str:
    """Where the alert stands, in one line (counts only on full cards, the ones edited at each ack)."""
    alert = state.alert
    if alert.state == AlertState.RESOLVED and alert.resolved_at is not None:
        return tr.gettext("✔️ <b>Resolved</b> {time} by {name}: {outcome}").format(
            time=tr.time(alert.resolved_at, zone),
            name=state.name(alert.resolved_by_member_id),
            outcome=html.escape(alert.outcome or ""),
        )
    pending = pending_required(alert, state.acks)
    if not pending:
        return tr.gettext("🟢 Handled: every required service has acknowledged.")
    if not full:
        return tr.gettext("⏳ Open: press a button below so the post knows your service has it.")
    line = tr.ngettext(
        "⏳ Open: waiting for {n} required service.",
        "⏳ Open: waiting for {n} required services.",
        len(pending),
    ).format(n=len(pending))
    if alert.escalation_level:
        line += " " + tr.gettext("Escalated (step {n}).").format(n=alert.escalation_level)
    return line


def render_card(
    config: Config,
    state: CardState,
    *,
    language: str | None,
    reader_post: str | None,
    reader_service: str | None,
    full: bool,
) -> str:
    """One reader's copy: structured parts in their language and zone, the free text as written."""
    tr = translator(language)
    alert = state.alert
    zone = zone_of(config, reader_post, alert.post_code)
    title = tr.gettext("{severity} ALERT #{id}").format(
        severity=severity_label(tr, alert.severity).upper(), id=alert.id
    )
    lines = [
        f"<b>{html.escape(title)}</b> · <b>{html.escape(category_label(config, tr, alert.category))}</b>",
        tr.gettext("{post} · {time}").format(
            post=html.escape(post_name(config, alert.post_code)),
            time=tr.short_datetime(alert.raised_at, zone),
        ),
        tr.gettext("From: {name} ({service})").format(
            name=state.name(alert.author_member_id),
            service=html.escape(service_name(config, tr, alert.author_service_code)),
        ),
        "",
        html.escape(alert.text),
    ]
    if alert.latitude is not None and alert.longitude is not None:
        lines += ["", map_link(alert.latitude, alert.longitude)]
    if alert.photo_file_id:
        lines.append(tr.gettext("📷 Photo attached (next message)."))
    lines.append("")
    many_posts = len(alert.posts) > 1
    if full:
        lines.append("<b>" + html.escape(tr.gettext("Acknowledgements")) + "</b>")
        for post_code in alert.posts:
            post_zone = zone_of(config, post_code, alert.post_code)
            if many_posts:
                lines.append(f"<i>{html.escape(post_name(config, post_code))}</i>")
            for service in _services(config, post_code):
                lines.append(_ack_line(config, tr, state, post_code, service, post_zone))
    if full and state.delivered and state.delivered[0]:
        sent, total = state.delivered
        lines.append(
            tr.ngettext(
                "📬 Delivered to {sent} of {total} person.",
                "📬 Delivered to {sent} of {total} people.",
                total,
            ).format(sent=sent, total=total)
        )
    own_acked = False
    if not full and reader_post and reader_service:
        # An agent's copy shows their own service's line once it has acknowledged (who, when).
        own_acked = any(a.post_code == reader_post and a.service_code == reader_service for a in state.acks)
        if own_acked:
            lines.append(_ack_line(config, tr, state, reader_post, reader_service, zone))
    if full or not own_acked or state.alert.state != AlertState.OPEN or state.alert.handled_at is not None:
        lines.append(status_line(config, tr, state, zone, full=full))
    return "\n".join(lines)


def _services(config: Config, post_code: str) -> tuple[str, ...]:
    try:
        return config.post_services(post_code)
    except KeyError:
        return ()


def card_markup(tr: Translator, alert: Alert, *, can_resolve: bool) -> dict[str, Any] | None:
    """Buttons of an open alert's copy (None once resolved: the keyboard disappears)."""
    if alert.state != AlertState.OPEN:
        return None
    rows: list[list[dict[str, str]]] = [
        [
            {"text": tr.gettext("👁 Seen"), "callback_data": encode("al", "seen", alert.id)},
            {"text": tr.gettext("✋ Taking action"), "callback_data": encode("al", "act", alert.id)},
        ]
    ]
    if can_resolve:
        rows.append([{"text": tr.gettext("✔️ Resolve"), "callback_data": encode("al", "res", alert.id)}])
    return {"inline_keyboard": rows}


def may_resolve(member: Member, alert: Alert) -> bool:
    """The author, a chief of the alert's post, or a coordinator may resolve."""
    return member.is_active and (
        member.id == alert.author_member_id or can(member, Action.RESOLVE_ANY, alert.post_code)
    )


def is_full_reader(member: Member, alert: Alert) -> bool:
    """Who sees every service's line: the author, chiefs of the posts concerned, coordinators."""
    if member.id == alert.author_member_id or member.role in (Role.COORDINATOR, Role.ADMIN):
        return True
    return member.role == Role.CHIEF and member.post_code in alert.posts


def new_recipient(alert: Alert, member: Member, post_code: str, now: datetime) -> AlertRecipient:
    """The record of one member's copy of an alert (which post they read it for, their card's key)."""
    assert alert.id is not None and member.id is not None
    return AlertRecipient(
        alert_id=alert.id,
        member_id=member.id,
        post_code=post_code,
        service_code=member.service_code,
        card_key=card_key(alert.id, member.id),
        full=is_full_reader(member, alert),
        notified_at=now,
    )


def render_for(config: Config, state: CardState, member: Member, recipient: AlertRecipient | None) -> str:
    """Render the copy a given member sees."""
    return render_card(
        config,
        state,
        language=member.language or _post_language(config, member.post_code),
        reader_post=recipient.post_code if recipient else member.post_code,
        reader_service=member.service_code,
        full=recipient.full if recipient else is_full_reader(member, state.alert),
    )


def _post_language(config: Config, post_code: str | None) -> str | None:
    try:
        return config.post(post_code).language if post_code else None
    except KeyError:
        return None


async def refresh_cards(
    session: AsyncSession,
    config: Config,
    alert: Alert,
    *,
    everyone: bool,
    member_ids: tuple[int, ...] = (),
    priority: Priority = Priority.NORMAL,
    now: datetime | None = None,
) -> int:
    """Queue coalesced edits of the copies that must change; returns how many were queued.

    `everyone` on a change of state (handled, resolved); otherwise only the full cards (author, chiefs,
    coordinators: the ones showing every service's line) and `member_ids`.
    """
    assert alert.id is not None
    state = await load_card_state(session, alert=alert)
    counts = await delivery_counts(session, alert_id=alert.id)
    state.delivered = (
        counts["sent"],
        counts["sent"] + counts["pending"] + counts["failed"] + counts["unreachable"],
    )
    query = (
        select(AlertRecipient, Member)
        .join(Member, col(Member.id) == col(AlertRecipient.member_id))
        # A suspended or removed member's copy is no longer kept up to date: they must not read new
        # acknowledgements or the outcome of a post they can no longer use.
        .where(AlertRecipient.alert_id == alert.id, Member.status == MemberStatus.ACTIVE)
        .order_by(col(AlertRecipient.id))
    )
    if not everyone:
        # Only the copies whose text changes: fetched by the database, not filtered from every copy.
        query = query.where(
            or_(col(AlertRecipient.full).is_(True), col(AlertRecipient.member_id).in_(member_ids))
        )
    queued = 0
    for recipient, member in (await session.exec(query)).all():
        tr = translator(member.language or _post_language(config, recipient.post_code))
        text = render_for(config, state, member, recipient)
        markup = card_markup(tr, alert, can_resolve=may_resolve(member, alert))
        if await enqueue_card_edit(
            session, card_key=recipient.card_key, text=text, reply_markup=markup, priority=priority, now=now
        ):
            queued += 1
    return queued
