"""Rendering of alerts: each reader's copy (their language and zone), status lines and the card's buttons."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from telegram import InlineKeyboardMarkup

from bot.callbacks import encode
from bot.config import Config
from bot.i18n import N_, Translator, translator
from bot.keyboards import inline
from bot.texts import excerpt as cut_text
from bot.texts import function_name
from db.alerts import Alert, AlertAck, AlertState, pending_required, split_pair
from handlers.alerts.rules import awaiting_stand_in, unstaffed_list

PREFIX = "al"
# Formats a moment for the reader of a card (their zone, named where zones meet).
Clock = Callable[[datetime], str]
SEVERITY_ICONS = {"urgent": "🔴", "important": "🟠", "info": "🔵"}
SEVERITY_NAMES = {
    # TRANSLATORS: alert severity, shown on buttons and cards.
    "info": N_("Information"),
    "important": N_("Important"),
    "urgent": N_("Urgent"),
}


def alert_number(tr: Translator, alert_id: int | None) -> str:
    """An alert's number as the reader writes it: '#3', 'n°3'."""
    # TRANSLATORS: the number of an alert, as in "alert #3"; French writes "n°3".
    return tr.gettext("#{id}").format(id=alert_id)


def severity_label(tr: Translator, severity: str) -> str:
    """A severity in the reader's language, with its colour."""
    return f"{SEVERITY_ICONS.get(severity, '')} {tr.gettext(SEVERITY_NAMES.get(severity, severity))}".strip()


def category_label(config: Config, tr: Translator, code: str) -> str:
    """A category name in the reader's language (its code when no longer configured)."""
    return config.category_name(code, tr.language)


def map_link(latitude: float, longitude: float) -> str:
    """Coordinates as text with an OpenStreetMap link (works on any phone, no app needed)."""
    url = f"https://www.openstreetmap.org/?mlat={latitude:.5f}&mlon={longitude:.5f}#map=16/{latitude:.5f}/{longitude:.5f}"
    return f'📍 <a href="{html.escape(url)}">{latitude:.5f}, {longitude:.5f}</a>'


@dataclass
class CardState:
    """Everything needed to draw any copy of one alert, loaded once per refresh."""

    alert: Alert
    acks: list[AlertAck]
    names: dict[int, str] = field(default_factory=dict)
    # (copies delivered, copies queued), known when a card is refreshed.
    delivered: tuple[int, int] | None = None
    # Readers of no service (a chief of the whole post, a coordinator) who pressed Seen or Taking action:
    # (name, seen at, taking action since or None), first first. Their press is no service's acknowledgement,
    # but the full cards show it.
    readers: list[tuple[str, datetime, datetime | None]] = field(default_factory=list)
    # A post chief or a coordinator (the author too, when she is one) pressed: they answer for the required
    # services with no member at the post.
    stood_in: bool = False
    # The author's role, for an author of no service ('Claire (coordination)'); None when not known.
    author_role: str | None = None

    def name(self, member_id: int | None) -> str:
        """A member's display name, escaped."""
        return html.escape(self.names.get(member_id or 0, "?"))


@dataclass(frozen=True)
class Reader:
    """Who reads a copy: their language, the post they read it for, their service, and how much they see."""

    language: str
    post_code: str | None
    service_code: str | None
    # Full cards (author, chiefs, coordinators) show every service's line.
    full: bool
    may_resolve: bool = False


def _ack_line(
    config: Config,
    tr: Translator,
    state: CardState,
    post_code: str,
    service: str,
    when: Clock,
    *,
    unstaffed: bool = False,
) -> str:
    """One service's line: who acknowledged and when (in the reader's zone), or pending; `unstaffed` for a
    required service left out for having nobody at the post."""
    label = html.escape(config.service_name(service, tr.language))
    ack = next((a for a in state.acks if a.post_code == post_code and a.service_code == service), None)
    required = f"{post_code}/{service}" in state.alert.required
    if ack is None:
        if required:
            return tr.gettext("⏳ {service} · pending").format(service=label)
        if unstaffed:
            # TRANSLATORS: a service an alert would require, but nobody of it has joined the post.
            return tr.gettext("▫️ {service} · no member at this post").format(service=label)
        # TRANSLATORS: a service the alert reaches but does not ask to acknowledge.
        return tr.gettext("▫️ {service} · for information").format(service=label)
    # Every acknowledged line reads the same way: the service, then what it did, when, and who.
    seen, seer = when(ack.acked_at), state.name(ack.member_id)
    if raised_by_author(state.alert, ack):
        return _raised_line(tr, state, ack, label, when)
    if ack.kind != "action" or ack.action_at is None:
        # TRANSLATORS: a service's line on an alert card: it has seen the alert at {time}, through {name}.
        return tr.gettext("✅ {service} · seen {time} ({name})").format(service=label, time=seen, name=seer)
    acting, actor = when(ack.action_at), state.name(ack.action_member_id)
    same_person = ack.action_member_id == ack.member_id
    if same_person and acting == seen:
        # One press said both: "taking action" says it was seen.
        # TRANSLATORS: a service's line on an alert card: {name} of the service is taking action since {time}.
        return tr.gettext("✋ {service} · taking action {time} ({name})").format(
            service=label, time=acting, name=actor
        )
    if same_person:
        # TRANSLATORS: a service's line: seen at {seen}, then taking action at {acting}, both by {name}.
        return tr.gettext("✋ {service} · seen {seen}, taking action {acting} ({name})").format(
            service=label, seen=seen, acting=acting, name=actor
        )
    # TRANSLATORS: a service's line: {name} saw it at {seen}, {actor} is taking action since {acting}.
    return tr.gettext("✋ {service} · seen {seen} ({name}), taking action {acting} ({actor})").format(
        service=label, seen=seen, name=seer, acting=acting, actor=actor
    )


def raised_by_author(alert: Alert, ack: AlertAck) -> bool:
    """Whether this acknowledgement is the one recorded for the author's service as she raised the alert
    (nobody of it pressed Seen: it counts as acknowledged because she knows)."""
    return (
        ack.member_id == alert.author_member_id
        and ack.post_code == alert.post_code
        and ack.service_code == alert.author_service_code
        and not ack.seconds_to_ack
    )


def _raised_line(tr: Translator, state: CardState, ack: AlertAck, label: str, when: Clock) -> str:
    """The author's service's line: it raised the alert (nobody pressed Seen), then who takes action."""
    raised, author = when(ack.acked_at), state.name(ack.member_id)
    if ack.kind != "action" or ack.action_at is None:
        # TRANSLATORS: the author's service's line on an alert card: {name} of it raised the alert at {time}
        # (it counts as acknowledged; nobody pressed Seen). French: "signalée" (the alert).
        return tr.gettext("✅ {service} · raised {time} ({name})").format(
            service=label, time=raised, name=author
        )
    acting, actor = when(ack.action_at), state.name(ack.action_member_id)
    if ack.action_member_id == ack.member_id:
        # TRANSLATORS: the author's service's line: {name} raised it at {raised}, took action at {acting}.
        return tr.gettext("✋ {service} · raised {raised}, taking action {acting} ({name})").format(
            service=label, raised=raised, acting=acting, name=author
        )
    # TRANSLATORS: the author's service's line: {name} raised it at {raised}, {actor} acts since {acting}.
    return tr.gettext("✋ {service} · raised {raised} ({name}), taking action {acting} ({actor})").format(
        service=label, raised=raised, name=author, acting=acting, actor=actor
    )


def readers_line(tr: Translator, state: CardState, when: Clock) -> str:
    """One line per reader of no service who pressed, shaped like a service's line: '👁 Ibrahim · seen 09:03',
    '✋ Moussa · seen 09:03, taking action 09:04' (both times kept)."""
    lines = []
    for name, seen, acting in state.readers:
        who = html.escape(name)
        if acting is None:
            # TRANSLATORS: a person of no service (a chief of the whole post, a coordinator) on an alert card,
            # under the services' lines: {name} saw it at {time}.
            lines.append(tr.gettext("👁 {name} · seen {time}").format(name=who, time=when(seen)))
        elif when(acting) == when(seen):
            # TRANSLATORS: a person of no service on an alert card: taking action since {time}.
            lines.append(tr.gettext("✋ {name} · taking action {time}").format(name=who, time=when(acting)))
        else:
            # TRANSLATORS: a person of no service on an alert card: seen at {seen}, taking action at {acting}.
            text = tr.gettext("✋ {name} · seen {seen}, taking action {acting}")
            lines.append(text.format(name=who, seen=when(seen), acting=when(acting)))
    return "\n".join(lines)


def author_line(config: Config, tr: Translator, state: CardState) -> str:
    """'From: Awa (Customs)', or 'From: Moussa (post chief)' for an author of no service (a coordinator, a
    chief)."""
    name = state.name(state.alert.author_member_id)
    if state.alert.author_service_code is None and state.author_role:
        # TRANSLATORS: an alert's author of no service, with their role: "From: Claire (coordination)".
        text = tr.gettext("From: {name} ({role})")
        return text.format(name=name, role=html.escape(function_name(tr, state.author_role)))
    if state.alert.author_service_code is None:
        return tr.gettext("From: {name}").format(name=name)
    service = config.service_name(state.alert.author_service_code, tr.language)
    return tr.gettext("From: {name} ({service})").format(name=name, service=html.escape(service))


def status_line(
    tr: Translator,
    state: CardState,
    when: Clock,
    *,
    full: bool = True,
    informed: bool = False,
    unstaffed: str = "",
    stand_in: str = "",
) -> str:
    """Where the alert stands, in one line (counts only on full cards, the ones edited at each ack);
    `informed`: the reader's service is not asked to acknowledge; `unstaffed`: the services the category
    requires that were left out for having nobody at the post (named); `stand_in`: those, while no chief
    or coordinator has answered for them."""
    alert = state.alert
    if alert.state == AlertState.RESOLVED and alert.resolved_at is not None:
        return tr.gettext("✔️ <b>Resolved</b> {time} by {name}: {outcome}").format(
            time=when(alert.resolved_at),
            name=state.name(alert.resolved_by_member_id),
            outcome=html.escape(alert.outcome or ""),
        )
    if full and not alert.required and not unstaffed:
        # The category asks no service of these posts to acknowledge: nobody is waited for.
        return tr.gettext("🟢 Open · for information, no acknowledgement asked.")
    pending = pending_required(alert, state.acks)
    answered = state.acks or state.stood_in or alert.handled_at is not None
    if not pending and not stand_in and answered:
        if unstaffed and state.stood_in:
            # TRANSLATORS: alert status once handled, when some required service has nobody at the post: a
            # chief or a coordinator (named on their own line above) answered for it. {services}: "Police".
            return tr.gettext(
                "🟢 Handled: a post chief or a coordinator answered for {services} (nobody at the post)."
            ).format(services=unstaffed)
        return tr.gettext("🟢 Handled: every required service has acknowledged.")
    if not full and informed:
        # A press still records the service (it may act), but nobody waits for it.
        return tr.gettext("ℹ️ For information: your service is not asked to acknowledge this alert.")
    if not full:
        return tr.gettext("⏳ Open: press a button below so the post knows your service has it.")
    if not pending and not stand_in:
        # An alert raised before required services with nobody at the post were waited for.
        return tr.gettext("⏳ Open: waiting for a service to acknowledge.")
    parts = []
    if pending:
        parts.append(
            tr.ngettext(
                "⏳ Open: waiting for {n} required service.",
                "⏳ Open: waiting for {n} required services.",
                len(pending),
            ).format(n=len(pending))
        )
    if stand_in:
        # TRANSLATORS: alert status: nobody of these required services is at the post, so nobody there can
        # acknowledge; a post chief or a coordinator answers for them by pressing Seen. {services}: "Police".
        text = tr.gettext("Nobody at the post for {services}: a post chief or a coordinator answers (Seen).")
        text = text.format(services=stand_in)
        # After "Open:" the sentence goes on in lower case ("⏳ Open: nobody at the post for ...").
        alone = tr.gettext("⏳ Open: {status}").format(status=text[:1].lower() + text[1:])
        parts.append(text if pending else alone)
    line = " ".join(parts)
    if alert.escalation_level:
        line += " " + tr.gettext("Reminders sent: {n}.").format(n=alert.escalation_level)
    return line


def zones_meet(config: Config, alert: Alert, reader_post: str | None) -> bool:
    """Whether readers of this alert live in different zones (times then name their zone)."""
    zones = {config.post_zone(p) for p in alert.posts} | {config.post_zone(reader_post, alert.post_code)}
    return len(zones) > 1


def render_card(config: Config, state: CardState, reader: Reader) -> str:
    """One reader's copy: structure in their language, every time in their zone, the text as written."""
    tr = translator(reader.language)
    alert = state.alert
    zone = config.post_zone(reader.post_code, alert.post_code)
    named = zones_meet(config, alert, reader.post_code)

    def when(moment: datetime) -> str:
        # Within a line that quotes a name in brackets: "seen 9:01 AM UTC+1 (Issa)", one pair of brackets.
        text = tr.time(moment, zone)
        return f"{text} {tr.zone_name(moment, zone)}" if named else text

    title = tr.gettext("{severity} ALERT #{id}").format(
        severity=severity_label(tr, alert.severity).upper(), id=alert.id
    )
    lines = [
        f"<b>{html.escape(title)}</b> · <b>{html.escape(category_label(config, tr, alert.category))}</b>",
        tr.gettext("{post} · {time}").format(
            post=html.escape(config.post_name(alert.post_code)),
            time=tr.short_datetime_in(alert.raised_at, zone, named=named),
        ),
        author_line(config, tr, state),
        "",
        html.escape(alert.text),
    ]
    if alert.latitude is not None and alert.longitude is not None:
        lines += ["", map_link(alert.latitude, alert.longitude)]
    if alert.photo_file_id:
        lines.append(tr.gettext("📷 Photo attached (next message)."))
    lines.append("")
    many_posts = len(alert.posts) > 1
    unstaffed = unstaffed_list(config, alert)
    waiting = awaiting_stand_in(config, alert, state.acks, stood_in=state.stood_in)
    if reader.full:
        lines.append("<b>" + html.escape(tr.gettext("Acknowledgements")) + "</b>")
        for post_code in alert.posts:
            if many_posts:
                lines.append(f"<i>{html.escape(config.post_name(post_code))}</i>")
            for service in _services(config, post_code):
                left_out = f"{post_code}/{service}" in unstaffed
                lines.append(_ack_line(config, tr, state, post_code, service, when, unstaffed=left_out))
    if reader.full and state.readers:
        lines.append(readers_line(tr, state, when))
    if reader.full and state.delivered and state.delivered[0]:
        sent, total = state.delivered
        lines.append(
            tr.ngettext(
                "📬 Delivered to {sent} of {total} person.",
                "📬 Delivered to {sent} of {total} people.",
                total,
            ).format(sent=sent, total=total)
        )
    own_acked = False
    if not reader.full and reader.post_code and reader.service_code:
        # An agent's copy shows their own service's line once it has acknowledged (who, when).
        own_acked = any(
            a.post_code == reader.post_code and a.service_code == reader.service_code for a in state.acks
        )
        if own_acked:
            lines.append(_ack_line(config, tr, state, reader.post_code, reader.service_code, when))
    if reader.full or not own_acked or alert.state != AlertState.OPEN or alert.handled_at is not None:
        informed = (
            bool(reader.service_code) and f"{reader.post_code}/{reader.service_code}" not in alert.required
        )
        lines.append(
            status_line(
                tr,
                state,
                when,
                full=reader.full,
                informed=informed,
                unstaffed=pair_names(config, tr, alert, [split_pair(p) for p in unstaffed]),
                stand_in=pair_names(config, tr, alert, waiting),
            )
        )
    return "\n".join(lines)


def pair_names(config: Config, tr: Translator, alert: Alert, pairs: list[tuple[str, str]]) -> str:
    """'Police, Gendarmerie' (each with its post when the alert went to several), escaped."""
    return ", ".join(
        html.escape(
            config.service_name(s, tr.language)
            + (f" ({config.post_name(p)})" if len(alert.posts) > 1 else "")
        )
        for p, s in pairs
    )


def _services(config: Config, post_code: str) -> tuple[str, ...]:
    return config.post_services(post_code) if config.find_post(post_code) is not None else ()


# Marks the buttons of a card opened from /alerts: no card key follows that message, so a press redraws it.
OPENED = "o"


def card_markup(
    tr: Translator, alert: Alert, *, can_resolve: bool, opened: bool = False
) -> InlineKeyboardMarkup | None:
    """Buttons of an open alert's copy (None once resolved: the keyboard disappears); `opened` for a card
    opened from /alerts."""
    if alert.state != AlertState.OPEN:
        return None
    tail = (OPENED,) if opened else ()
    rows = [
        [
            (tr.gettext("👁 Seen"), encode(PREFIX, "seen", alert.id, *tail)),
            (tr.gettext("✋ Taking action"), encode(PREFIX, "act", alert.id, *tail)),
        ]
    ]
    if can_resolve:
        rows.append([(tr.gettext("✔️ Resolve"), encode(PREFIX, "res", alert.id))])
    return inline(rows)


def excerpt(alert: Alert, limit: int = 280) -> str:
    """The alert's text, cut for an escalation notice, escaped."""
    return html.escape(cut_text(alert.text, limit))


def escalation_text(
    config: Config, tr: Translator, alert: Alert, pending: list[tuple[str, str]], minutes: float
) -> str:
    """'Not acknowledged after N minutes by: ...' in the reader's language."""
    services = pair_names(config, tr, alert, pending)
    return tr.gettext(
        "⏰ <b>Escalation</b> · alert {number} · {category} · {severity} · {post}\n"
        "Still no acknowledgement after {delay}: {services}."
    ).format(
        number=alert_number(tr, alert.id),
        category=html.escape(category_label(config, tr, alert.category)),
        severity=severity_label(tr, alert.severity),
        post=html.escape(config.post_name(alert.post_code)),
        delay=duration(tr, minutes),
        services=services,
    )


def duration(tr: Translator, minutes: float) -> str:
    """'1 minute', '5 minutes', '30 seconds': whole minutes when it is, else seconds."""
    if float(minutes).is_integer():
        whole = int(minutes)
        return tr.ngettext("{n} minute", "{n} minutes", whole).format(n=tr.number(whole))
    seconds = round(minutes * 60)
    return tr.ngettext("{n} second", "{n} seconds", seconds).format(n=tr.number(seconds))
