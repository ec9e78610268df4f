"""What the alerts feature does, without Telegram: raise and fan out, acknowledge, resolve, refresh the cards.

Every function runs in the caller's transaction (session) and never commits: the alert, its outbox rows and
its schedule rows commit together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.access import (
    acknowledging_post,
    answers_for_absent_services,
    may_acknowledge,
    may_resolve_alert,
    may_see_alert,
    reads_every_service,
)
from bot.i18n import translator
from bot.runtime import Runtime
from bot.scheduler.api import Once, cancel, schedule_all_once
from db import alerts as store
from db.alerts import AckKind, Alert, AlertAck, AlertRecipient, AlertState, Severity
from db.audit import Action, record_action, record_actions
from db.members import Member, list_members, member_names
from db.outbox import Priority, QueuedMessage, build_message, enqueue_card_edits, enqueue_many
from handlers.alerts.render import CardState, Reader, card_markup, raised_by_author, render_card
from handlers.alerts.rules import (
    alert_posts,
    awaiting_stand_in,
    priority_of,
    required_pairs,
    unstaffed_list,
)

# A resent message (same author, category, severity and text) within this window is the same alert.
DUPLICATE_WINDOW = timedelta(minutes=10)
DELIVERY_CHECK_KIND = "alert_delivery"
# When the delivery of an alert's copies is checked and audited (again while some are still pending).
DELIVERY_CHECKS = (timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=1))
ESCALATION_KIND = "alert_escalation"


# ----- reading ----------------------------------------------------------------------------------------------


async def load_card_state(session: AsyncSession, *, alert: Alert) -> CardState:
    """Load an alert's acknowledgements and the names a card shows."""
    assert alert.id is not None
    acks = await store.list_acks(session, alert_id=alert.id)
    ids = {alert.author_member_id, alert.resolved_by_member_id}
    for ack in acks:
        ids.update((ack.member_id, ack.action_member_id))
    state = CardState(alert, acks, await member_names(session, member_ids={i for i in ids if i is not None}))
    # The full copies (a few: author, chiefs, coordinators) hold the presses of readers of no service.
    read_full_copies(state, await store.list_live_copies(session, alert_id=alert.id, full_or_members=()))
    return state


def read_full_copies(state: CardState, copies: list[tuple[AlertRecipient, Member]]) -> None:
    """What a card shows from the full copies among these (author, chiefs, coordinators): the presses of
    readers of no service, whether a chief or a coordinator answered for absent services, the author's
    role."""
    state.readers = readers_of(copies)
    state.stood_in = stood_in(state.alert, copies)
    state.author_role = author_role(state.alert, copies)


def author_role(alert: Alert, copies: list[tuple[AlertRecipient, Member]]) -> str | None:
    """The author's role, from her copy (always a full one) among these."""
    return next((str(m.role) for _r, m in copies if m.id == alert.author_member_id), None)


def stood_in(alert: Alert, copies: list[tuple[AlertRecipient, Member]]) -> bool:
    """Whether a post chief or a coordinator (the author too, when she is one) pressed Seen or Taking action:
    they answer for the required services with nobody at the post."""
    return any(
        recipient.full and recipient.seen_at is not None and answers_for_absent_services(member)
        for recipient, member in copies
    )


def awaiting(
    runtime: Runtime, alert: Alert, acks: list[AlertAck], *, answered: bool
) -> list[tuple[str, str]]:
    """What the alert still waits for: required services that have not acknowledged, then those with nobody
    at the post that no chief or coordinator answered for (`answered`)."""
    left = awaiting_stand_in(runtime.config, alert, acks, stood_in=answered)
    return store.pending_required(alert, acks) + left


def readers_of(copies: list[tuple[AlertRecipient, Member]]) -> list[tuple[str, datetime, datetime | None]]:
    """The Seen / Taking action presses of readers of no service among these copies: (name, seen at, taking
    action since or None), first first."""
    found = [
        (member.display_name, recipient.seen_at, recipient.action_at)
        for recipient, member in copies
        if recipient.service_code is None and recipient.seen_at is not None
    ]
    return sorted(
        ((name, seen, acting) for name, seen, acting in found if seen is not None), key=lambda r: r[1]
    )


def reader_of(runtime: Runtime, member: Member, alert: Alert, recipient: AlertRecipient | None) -> Reader:
    """How a member reads an alert: language, the post they read it for, and how much they see."""
    language = member.language or runtime.config.post_language(
        recipient.post_code if recipient else member.post_code
    )
    return Reader(
        language=language or runtime.config.bot.default_language,
        post_code=recipient.post_code if recipient else member.post_code,
        service_code=member.service_code,
        full=recipient.full if recipient else full_reader(member, alert),
        may_resolve=may_resolve(member, alert),
    )


def may_resolve(member: Member, alert: Alert) -> bool:
    """The author, a chief of the alert's post, or a coordinator."""
    return may_resolve_alert(member, author_member_id=alert.author_member_id, post_code=alert.post_code)


def may_see(member: Member, alert: Alert, *, has_copy: bool) -> bool:
    """Whether `member` may open this alert."""
    return may_see_alert(
        member,
        has_copy=has_copy,
        open_=alert.state == AlertState.OPEN,
        post_code=alert.post_code,
        posts=alert.posts,
    )


def full_reader(member: Member, alert: Alert) -> bool:
    """Who sees every service's line on their copy."""
    return reads_every_service(member, author_member_id=alert.author_member_id, posts=alert.posts)


def new_recipient(alert: Alert, member: Member, post_code: str, now: datetime) -> AlertRecipient:
    """The record of one member's copy of an alert (which post they read it for, their card's key)."""
    assert alert.id is not None and member.id is not None
    return AlertRecipient(
        alert_id=alert.id,
        member_id=member.id,
        post_code=post_code,
        service_code=member.service_code,
        card_key=store.card_key(alert.id, member.id),
        full=full_reader(member, alert),
        notified_at=now,
    )


# ----- raising ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Raised:
    """What raising did: the alert, whether this call created it, and how many others it reached."""

    alert: Alert
    created: bool
    # People other than the author who got a copy (the author's own copy is not news to them): known when
    # this call created the alert; a repeat is answered without a count.
    others: int = 0


async def raise_alert(
    session: AsyncSession,
    runtime: Runtime,
    author: Member,
    *,
    token: str,
    post_code: str,
    category: str,
    severity: str,
    text: str,
    latitude: float | None = None,
    longitude: float | None = None,
    photo: str | None = None,
) -> Raised:
    """Create and fan out an alert; the existing one, not created, for a duplicate token or a resent one."""
    config, now = runtime.config, runtime.clock.now()
    assert author.id is not None
    existing = await store.find_raised(
        session,
        client_token=token,
        author_member_id=author.id,
        category=category,
        severity=severity,
        text=text,
        since=now - DUPLICATE_WINDOW,
    )
    if existing is not None:
        return Raised(existing, created=False)
    definition = config.category(category)
    posts = alert_posts(config, definition, post_code)
    members = await _post_members(session, posts, author)
    # A required service with nobody at a post cannot acknowledge there: it is left out (and said so).
    staffed = {store.pair(p, m.service_code) for m, p in members if m.service_code}
    if author.service_code:
        staffed.add(store.pair(post_code, author.service_code))
    wanted = required_pairs(config, definition, posts)
    alert = Alert(
        client_token=token,
        post_code=post_code,
        author_member_id=author.id,
        author_service_code=author.service_code,
        category=category,
        severity=severity,
        text=text,
        latitude=latitude,
        longitude=longitude,
        photo_file_id=photo,
        posts=posts,
        required=[p for p in wanted if p in staffed],
        raised_at=now,
    )
    created = await store.create_alert(session, alert=alert)
    if created is None:
        again = await store.get_alert_by_token(session, client_token=token)
        assert again is not None
        return Raised(again, created=False)
    unstaffed = [p for p in wanted if p not in staffed]
    copies = await _publish(session, runtime, author, created, members, unstaffed)
    # The author is always among the copies (_post_members adds them).
    return Raised(created, created=True, others=copies - 1)


async def _post_members(session: AsyncSession, posts: list[str], author: Member) -> list[tuple[Member, str]]:
    """The active members of an alert's posts, each once with the post they read it for (author included)."""
    recipients: list[tuple[Member, str]] = []
    for post_code in posts:
        recipients += [(m, post_code) for m in await list_members(session, post_code=post_code)]
    recipients = list({m.id: (m, p) for m, p in recipients}.values())
    if author.id not in {m.id for m, _ in recipients}:
        recipients.append((author, posts[0]))
    return recipients


async def _publish(
    session: AsyncSession,
    runtime: Runtime,
    author: Member,
    alert: Alert,
    recipients: list[tuple[Member, str]],
    unstaffed: list[str],
) -> int:
    """Fan a new alert out: copies for every recipient, the author's service ack, escalation steps; handled
    at once when the author's service was the last one required."""
    assert alert.id is not None and author.id is not None
    now = alert.raised_at
    # The author's own service knows: it counts as that service having seen the alert.
    # The alert is new: that acknowledgement is its only one.
    acks: list[AlertAck] = []
    if author.service_code:
        acks.append(
            await store.record_author_ack(
                session, alert=alert, service_code=author.service_code, member_id=author.id
            )
        )
    # Nothing left to wait for once the author's service knows: handled as it is raised (no later press
    # records it again). With no acknowledgement at all (an author of no service), the first service's does.
    # A required service with nobody at the post is not done either: a chief or a coordinator must answer.
    handled = bool(acks) and not store.pending_required(alert, acks) and not unstaffed
    if handled:
        await store.mark_handled(session, alert_id=alert.id, now=now)
        set_committed_value(alert, "handled_at", now)
    state = CardState(alert, acks, {author.id: author.display_name}, author_role=str(author.role))
    priority = priority_of(alert.severity)
    silent = alert.severity == Severity.INFO
    copies = [(member, new_recipient(alert, member, post_code, now)) for member, post_code in recipients]
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
    # The alert is new and members are listed once: one statement for every copy (no per-row savepoint).
    await store.add_new_recipients(session, recipients=[recipient for _, recipient in copies])
    rendered: dict[tuple[Any, ...], Any] = {}
    rows = [
        row
        for member, recipient in copies
        for row in build_copy(
            runtime, state, member, recipient, priority=priority, silent=silent, now=now, rendered=rendered
        )
    ]
    await enqueue_many(session, rows)  # one statement for the whole fan-out, in the order above
    # The escalation ladder and the first delivery check: one statement.
    checks = [*escalation_steps(runtime, alert, acks), delivery_check(alert, attempt=1)]
    post = runtime.config.find_post(alert.post_code)
    await schedule_all_once(
        session, checks, post_code=alert.post_code, now=now, timezone=post.timezone if post else None
    )
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
            # The author's service: the review log filters by service.
            "service": author.service_code,
            "posts": alert.posts,
            "required": alert.required,
            # Required services with no member at the post: nobody there could acknowledge.
            "unstaffed": unstaffed,
            "location": alert.latitude is not None,
            "photo": alert.photo_file_id is not None,
            "recipients": len(recipients),
            "priority": int(priority),
            "silent": silent,
        },
    )
    if handled:
        await _record_handled(session, alert, now)
    return len(recipients)


def delivery_check(
    alert: Alert, *, attempt: int, escalation: int | None = None, since: datetime | None = None
) -> Once:
    """A look at the outbox a little later, writing how the copies were delivered to the audit log;
    `escalation`: the step that sent new copies at `since` (that check also redraws the full cards' count)."""
    start = alert.raised_at if escalation is None else since or alert.raised_at
    payload: dict[str, Any] = {"alert_id": alert.id, "attempt": attempt}
    if escalation is not None:
        payload |= {"escalation": escalation, "since": start.isoformat()}
    step = "" if escalation is None else f"e{escalation}:"
    return Once(
        key=f"al:{alert.id}:dlv:{step}{attempt}",
        kind=DELIVERY_CHECK_KIND,
        run_at=start + DELIVERY_CHECKS[attempt - 1],
        payload=payload,
    )


async def schedule_delivery_check(
    session: AsyncSession,
    alert: Alert,
    *,
    attempt: int,
    escalation: int | None = None,
    since: datetime | None = None,
) -> None:
    """Schedule the delivery check `attempt` of an alert (of the copies an escalation step sent, with
    `escalation` and the moment `since` it sent them)."""
    check = delivery_check(alert, attempt=attempt, escalation=escalation, since=since)
    await schedule_all_once(session, [check], post_code=alert.post_code, now=since or alert.raised_at)


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
) -> list[QueuedMessage]:
    """One member's copy as outbox rows (the card, then the photo by file id); `rendered` shares renders."""
    config, alert = runtime.config, state.alert
    reader = reader_of(runtime, member, alert, recipient)
    tr = translator(reader.language)
    rendered = {} if rendered is None else rendered
    # Readers of one language, post and service see the same card: render it once per such group.
    text_key = ("text", reader.language, reader.post_code, reader.service_code, reader.full)
    if text_key not in rendered:
        rendered[text_key] = render_card(config, state, reader)
    markup_key = ("markup", reader.language, reader.may_resolve)
    if markup_key not in rendered:
        rendered[markup_key] = card_markup(tr, alert, can_resolve=reader.may_resolve)
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
        rows.append(
            build_message(
                chat_id=member.chat_id,
                text=tr.gettext("📷 Alert #{id}").format(id=alert.id),
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
) -> None:
    """Queue one member's copy in the caller's transaction."""
    await enqueue_many(
        session, build_copy(runtime, state, member, recipient, priority=priority, silent=silent, now=now)
    )


def escalation_steps(runtime: Runtime, alert: Alert, acks: list[AlertAck]) -> list[Once]:
    """One scheduled step per rung of the severity's ladder (none when nothing is waited for)."""
    if not awaiting(runtime, alert, acks, answered=False):
        return []
    return [
        Once(
            key=f"al:{alert.id}:esc:{index}",
            kind=ESCALATION_KIND,
            run_at=alert.raised_at + timedelta(minutes=step.after_minutes),
            payload={"alert_id": alert.id, "step": index},
        )
        for index, step in enumerate(runtime.config.alerts.ladder(alert.severity), start=1)
    ]


async def cancel_escalation(session: AsyncSession, alert_id: int) -> None:
    """Drop the alert's remaining escalation steps (handled or resolved)."""
    await cancel(session, key_prefix=f"al:{alert_id}:esc:")


# ----- acknowledging ----------------------------------------------------------------------------------------


class AckOutcome(StrEnum):
    """What a Seen / Taking action press did."""

    NOT_YOURS = "not_yours"  # no copy, and no right to one
    RESOLVED = "resolved"
    RECEIPT = "receipt"  # recorded for the person only (a member without a service)
    RECEIPT_AGAIN = "receipt_again"  # the same press by a member without a service, noted already
    ALREADY_MINE = "already_mine"
    ALREADY_OTHER = "already_other"  # the service had acknowledged through someone else
    SEEN = "seen"
    ACTION = "action"


@dataclass(frozen=True)
class AckResult:
    """The result of a press, for the answer to the presser."""

    outcome: AckOutcome
    service_code: str | None = None
    post_code: str | None = None
    first_name: str | None = None
    first_at: datetime | None = None
    kind: AckKind = AckKind.SEEN
    # The presser raised this alert (their card already shows every service).
    author: bool = False
    # The service's acknowledgement is the author's raising it (nobody of it pressed before).
    raised: bool = False
    # The press answered for the required services with nobody at the post, which handled the alert.
    stood_in: bool = False


@dataclass
class AckBatch:
    """What a batch of presses shares: its alerts, copies, acknowledgements and the names they quote read in
    four queries, its receipts and audit entries written in a statement or two (instead of each of these per
    press)."""

    alerts: dict[int, Alert]
    recipients: dict[tuple[int, int], AlertRecipient]
    # The services' acknowledgements by (alert, post, service): a press for a service that acknowledged
    # already is answered from here (acknowledgements are never taken back). Kept current as presses add.
    acks: dict[tuple[int, str, str], AlertAck] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)
    # Copies whose own receipt (seen, taking action) the batch writes when it ends.
    seen: list[int] = field(default_factory=list)
    acted: list[int] = field(default_factory=list)

    @classmethod
    async def load(cls, session: AsyncSession, presses: list[tuple[int, int]]) -> AckBatch:
        """Read (and lock, on PostgreSQL) the alerts of these (alert, member) presses, their copies, their
        acknowledgements and the names those quote."""
        alerts = await store.get_alerts(session, alert_ids={a for a, _ in presses}, lock=True)
        recipients = await store.get_recipients(session, pairs=set(presses))
        acks = await store.acks_of(session, alert_ids=set(alerts))
        quoted = {a.author_member_id for a in alerts.values()} | {
            a.resolved_by_member_id for a in alerts.values()
        }
        quoted |= {a.member_id for a in acks.values()} | {a.action_member_id for a in acks.values()}
        names = await member_names(session, member_ids={i for i in quoted if i is not None})
        return cls(alerts, recipients, acks, names)

    async def name(self, session: AsyncSession, member_id: int) -> str:
        """A member's display name ('?' when gone), looked up once per batch."""
        if member_id not in self.names:
            self.names.update(await member_names(session, member_ids={member_id}))
        return self.names.get(member_id, "?")

    def receipt(self, recipient: AlertRecipient, kind: AckKind, now: datetime) -> bool:
        """Note a member's own receipt, written with the batch; True when it is new for them.

        The copy was read under the alert's lock (SQLite: the write lock), so its receipts are current; the
        noted ones are set on it without making it dirty, for a second press of the same batch."""
        assert recipient.id is not None
        new = (recipient.seen_at if kind == AckKind.SEEN else recipient.action_at) is None
        if kind == AckKind.ACTION and recipient.action_at is None:
            set_committed_value(recipient, "action_at", now)
            self.acted.append(recipient.id)
        # Taking action implies having seen it.
        if recipient.seen_at is None:
            set_committed_value(recipient, "seen_at", now)
            self.seen.append(recipient.id)
        return new

    def acks_for(self, alert_id: int) -> list[AlertAck] | None:
        """An alert's acknowledgements, first first, if the batch read that alert."""
        if alert_id not in self.alerts:
            return None
        found = [ack for key, ack in self.acks.items() if key[0] == alert_id]
        return sorted(found, key=lambda ack: (ack.acked_at, ack.id or 0))

    def card_state(self, alert: Alert) -> CardState | None:
        """What an alert's cards show, from what the batch holds (None for an alert it did not read)."""
        acks = self.acks_for(alert.id or 0)
        return None if acks is None else CardState(alert, acks, self.names)

    async def write(self, session: AsyncSession, now: datetime) -> None:
        """Write the receipts and audit entries noted so far (before an entry that must follow them)."""
        if self.seen or self.acted:
            await store.record_receipts(session, seen=self.seen, acted=self.acted, now=now)
            self.seen, self.acted = [], []
        if self.actions:
            await record_actions(session, self.actions)
            self.actions = []


@dataclass
class CardChanges:
    """Acknowledgements of one unit of work whose cards are redrawn once at its end: per alert, whether it
    became handled and whose copies changed (several presses on one alert cost one rendering)."""

    alerts: dict[int, tuple[Alert, bool, set[int]]] = field(default_factory=dict)

    def add(self, alert: Alert, *, handled: bool, member_id: int) -> None:
        """Note that this alert's cards must show a new acknowledgement."""
        assert alert.id is not None
        _old, was_handled, members = self.alerts.get(alert.id, (alert, False, set()))
        members.add(member_id)
        self.alerts[alert.id] = (alert, was_handled or handled, members)

    async def refresh(
        self, session: AsyncSession, runtime: Runtime, *, now: datetime, batch: AckBatch | None = None
    ) -> int:
        """Queue the coalesced card edits of every alert noted; returns how many were queued. What `batch`
        read (alerts, acknowledgements, names) is not read again."""
        queued = 0
        for alert_id, (alert, handled, members) in sorted(self.alerts.items()):
            state = batch.card_state(alert) if batch is not None else None
            current: Alert | None = alert
            if state is None or handled:
                # Read again: the moment it was handled, or an alert the batch did not read.
                current = await store.get_alert(session, alert_id=alert_id)
            if current is None:
                continue
            queued += await refresh_cards(
                session,
                runtime,
                current,
                # Every copy shows "handled" (the others at low priority, coalesced); otherwise only the
                # cards showing every service's line and the pressers' own copies change.
                everyone=handled,
                member_ids=tuple(sorted(members)),
                priority=Priority.HIGH if handled else Priority.NORMAL,
                now=now,
                state=batch.card_state(current) if batch is not None else None,
            )
        self.alerts.clear()
        return queued


async def acknowledge(
    session: AsyncSession,
    runtime: Runtime,
    *,
    alert_id: int,
    member: Member,
    kind: AckKind,
    cards: CardChanges | None = None,
    batch: AckBatch | None = None,
) -> AckResult:
    """Seen / Taking action: the member's receipt, and their service's first acknowledgement.

    With `cards`, the card edits are left to the caller (`CardChanges.refresh` in the same transaction);
    without, they are queued here. With `batch`, what the batch read already is not read again, and the
    receipts and audit entries wait for `batch.write`; without, the press is a batch of its own."""
    if batch is not None:
        return await _acknowledge(session, runtime, alert_id, member, kind, cards, batch)
    alone = AckBatch({}, {})
    result = await _acknowledge(session, runtime, alert_id, member, kind, cards, alone)
    await alone.write(session, runtime.clock.now())
    return result


async def _acknowledge(
    session: AsyncSession,
    runtime: Runtime,
    alert_id: int,
    member: Member,
    kind: AckKind,
    cards: CardChanges | None,
    batch: AckBatch,
) -> AckResult:
    """acknowledge() within a batch: what the batch holds is not read again (anything else is read now)."""
    assert member.id is not None
    alert = batch.alerts.get(alert_id) or await store.get_alert(session, alert_id=alert_id, lock=True)
    if alert is None or alert.id is None:
        return AckResult(AckOutcome.NOT_YOURS)
    recipient = batch.recipients.get((alert.id, member.id))
    if recipient is None:
        # Not read with the batch: none then, or one made since (a late copy, pressed twice in the batch).
        recipient = await store.get_recipient(session, alert_id=alert.id, member_id=member.id)
    if recipient is None and alert.state == AlertState.OPEN:
        recipient = await late_recipient(session, runtime, alert, member)
    if recipient is None and alert.state == AlertState.RESOLVED and may_see(member, alert, has_copy=False):
        # A reader of the post (a card opened from /alerts, never pressed): told it is resolved.
        return AckResult(AckOutcome.RESOLVED)
    if recipient is None or recipient.id is None or not may_acknowledge(member, recipient.post_code):
        return AckResult(AckOutcome.NOT_YOURS)
    if alert.state == AlertState.RESOLVED:
        return AckResult(AckOutcome.RESOLVED)
    now = runtime.clock.now()
    new_receipt = batch.receipt(recipient, kind, now)
    service = member.service_code
    author = alert.author_member_id == member.id
    if not service:
        if new_receipt:
            _audit_ack(batch, alert, member, kind, now, None, "receipt", None)
            # No service's acknowledgement, but the full cards show who of no service has seen it; a chief's
            # or a coordinator's answers for the required services with nobody at the post.
            handled = answers_for_absent_services(member) and await _stands_in(
                session, runtime, alert, now, batch
            )
            await _redraw_for_press(session, runtime, alert, member, handled=handled, cards=cards, now=now)
            return AckResult(AckOutcome.RECEIPT, kind=kind, author=author, stood_in=handled)
        # Pressed again: nothing is written, nothing redrawn.
        return AckResult(AckOutcome.RECEIPT_AGAIN, kind=kind, author=author)
    key = (alert.id, recipient.post_code, service)
    known = batch.acks.get(key)
    if known is not None and not (kind == AckKind.ACTION and known.kind == AckKind.SEEN):
        ack, outcome = known, "already"
    else:
        ack, outcome = await store.acknowledge(
            session,
            alert=alert,
            post_code=recipient.post_code,
            service_code=service,
            member_id=member.id,
            kind=kind,
            now=now,
        )
        batch.acks[key] = ack
        batch.names.setdefault(member.id, member.display_name)
    if outcome == "already":
        stood_in_now = False
        if new_receipt:
            _audit_ack(batch, alert, member, kind, now, service, outcome, None)
            # A chief of the post (with a service) answers for the services with nobody at the post.
            if (
                recipient.full
                and answers_for_absent_services(member)
                and await _stands_in(session, runtime, alert, now, batch)
            ):
                stood_in_now = True
                await _redraw_for_press(session, runtime, alert, member, handled=True, cards=cards, now=now)
        if stood_in_now:
            return AckResult(AckOutcome.RECEIPT, service, kind=kind, author=author, stood_in=True)
        if ack.member_id == member.id:
            return AckResult(AckOutcome.ALREADY_MINE, service, raised=raised_by_author(alert, ack))
        name = await batch.name(session, ack.member_id)
        raised = raised_by_author(alert, ack)
        return AckResult(
            AckOutcome.ALREADY_OTHER, service, recipient.post_code, name, ack.acked_at, raised=raised
        )
    seconds = ack.seconds_to_ack if outcome == "first" else None
    _audit_ack(batch, alert, member, kind, now, service, outcome, seconds)
    # A chief of the post with a service answers for the services with nobody at the post too.
    stand_in = (
        new_receipt
        and recipient.full
        and answers_for_absent_services(member)
        and bool(unstaffed_list(runtime.config, alert))
    )
    handled = (outcome == "first" or stand_in) and await _mark_handled_if_complete(
        session, runtime, alert, now, batch
    )
    result = AckResult(
        AckOutcome.ACTION if kind == AckKind.ACTION else AckOutcome.SEEN,
        service,
        kind=kind,
        author=author,
        stood_in=bool(stand_in and handled),
    )
    if cards is not None:
        cards.add(alert, handled=handled, member_id=member.id)
        return result
    if handled:
        alert = await store.get_alert(session, alert_id=alert.id) or alert
    await refresh_cards(
        session,
        runtime,
        alert,
        # Every copy shows "handled" (the others at low priority, coalesced); otherwise only the cards
        # showing every service's line and the presser's own copy change.
        everyone=handled,
        member_ids=(member.id,),
        priority=Priority.HIGH if handled else Priority.NORMAL,
        now=now,
    )
    return result


async def _redraw_for_press(
    session: AsyncSession,
    runtime: Runtime,
    alert: Alert,
    member: Member,
    *,
    handled: bool,
    cards: CardChanges | None,
    now: datetime,
) -> None:
    """The cards a press changes: the full ones and the presser's; every copy, first, once it handled the
    alert. Left to the batch's `cards` when there is one."""
    assert alert.id is not None and member.id is not None
    if cards is not None:
        cards.add(alert, handled=handled, member_id=member.id)
        return
    current = (await store.get_alert(session, alert_id=alert.id) if handled else None) or alert
    await refresh_cards(
        session,
        runtime,
        current,
        everyone=handled,
        member_ids=(member.id,),
        priority=Priority.HIGH if handled else Priority.NORMAL,
        now=now,
    )


async def _stands_in(
    session: AsyncSession, runtime: Runtime, alert: Alert, now: datetime, batch: AckBatch
) -> bool:
    """A press of a post chief or a coordinator (the author too) on an alert some required service of which
    has nobody at the post: handled now if nothing else is waited for."""
    if not unstaffed_list(runtime.config, alert):
        return False
    return await _mark_handled_if_complete(session, runtime, alert, now, batch)


async def _mark_handled_if_complete(
    session: AsyncSession, runtime: Runtime, alert: Alert, now: datetime, batch: AckBatch
) -> bool:
    """Record that every required service has acknowledged, a chief or a coordinator answering for those
    with nobody at the post (once), and stop the escalation."""
    assert alert.id is not None
    if alert.handled_at is not None:
        return False
    acks = batch.acks_for(alert.id)
    if acks is None:
        acks = await store.list_acks(session, alert_id=alert.id)
    if store.pending_required(alert, acks):
        return False
    # Nobody there could acknowledge these: handled only once someone who can reach them answered.
    unanswered = awaiting_stand_in(runtime.config, alert, acks, stood_in=False)
    if unanswered:
        copies = await store.list_live_copies(session, alert_id=alert.id, full_or_members=())
        if not stood_in(alert, copies):
            return False
    if not await store.mark_handled(session, alert_id=alert.id, now=now):
        return False
    await cancel_escalation(session, alert.id)
    await batch.write(session, now)  # the acknowledgements come before "handled" in the log
    await _record_handled(session, alert, now, stood_in_for=[store.pair(p, s) for p, s in unanswered])
    return True


async def _record_handled(
    session: AsyncSession, alert: Alert, now: datetime, *, stood_in_for: list[str] | None = None
) -> None:
    """The audit entry of the moment every required service had acknowledged (0 s when raised so);
    `stood_in_for`: the services with nobody at the post a chief or a coordinator answered for."""
    details: dict[str, Any] = {"seconds": (now - alert.raised_at).total_seconds()}
    if stood_in_for:
        details["stood_in_for"] = stood_in_for
    await record_action(
        session,
        action="alert.handled",
        at=now,
        object_type="alert",
        object_id=alert.id,
        post_code=alert.post_code,
        details=details,
    )


async def late_recipient(
    session: AsyncSession, runtime: Runtime, alert: Alert, member: Member
) -> AlertRecipient | None:
    """A copy for someone of a post concerned who joined later (or a coordinator), opened from /alerts."""
    post_code = acknowledging_post(member, post_code=alert.post_code, posts=alert.posts)
    if post_code is None:
        return None
    recipient = new_recipient(alert, member, post_code, runtime.clock.now())
    return await store.add_recipient(session, recipient=recipient)


def _audit_ack(
    batch: AckBatch,
    alert: Alert,
    member: Member,
    kind: AckKind,
    now: datetime,
    service: str | None,
    outcome: str,
    seconds: float | None,
) -> None:
    """Note a press's audit entry in its batch (written with the batch's others)."""
    details: dict[str, Any] = {"service": service, "outcome": outcome}
    if seconds is not None:
        details["seconds_to_ack"] = seconds
    entry = Action(
        action="alert.seen" if kind == AckKind.SEEN else "alert.taking_action",
        at=now,
        actor_member_id=member.id,
        object_type="alert",
        object_id=alert.id,
        post_code=member.post_code or alert.post_code,
        details=details,
    )
    batch.actions.append(entry)


# ----- resolving --------------------------------------------------------------------------------------------


class ResolveOutcome(StrEnum):
    """What an outcome line did."""

    GONE = "gone"
    NOT_ALLOWED = "not_allowed"
    ALREADY = "already"
    RESOLVED = "resolved"


async def resolve(
    session: AsyncSession, runtime: Runtime, *, alert_id: int, member: Member, outcome: str
) -> ResolveOutcome:
    """Resolve an open alert once with an outcome and show it resolved on every copy."""
    assert member.id is not None
    now = runtime.clock.now()
    alert = await store.get_alert(session, alert_id=alert_id, lock=True)
    if alert is None or alert.id is None:
        return ResolveOutcome.GONE
    if not may_resolve(member, alert):
        return ResolveOutcome.NOT_ALLOWED
    if not await store.resolve_alert(
        session, alert_id=alert.id, member_id=member.id, outcome=outcome, now=now
    ):
        return ResolveOutcome.ALREADY
    await cancel_escalation(session, alert.id)
    await record_action(
        session,
        action="alert.resolved",
        at=now,
        actor_member_id=member.id,
        object_type="alert",
        object_id=alert.id,
        post_code=alert.post_code,
        details={
            "outcome": outcome,
            "seconds": (now - alert.raised_at).total_seconds(),
            # The log names the resolver's service beside them, as for their other entries.
            "service": member.service_code,
        },
    )
    resolved = await store.get_alert(session, alert_id=alert.id)
    assert resolved is not None
    await refresh_cards(session, runtime, resolved, everyone=True, priority=Priority.HIGH, now=now)
    return ResolveOutcome.RESOLVED


def resolvable_by(member: Member, alert: Alert) -> bool:
    """Whether `member` may be asked for this alert's outcome now."""
    return alert.state == AlertState.OPEN and may_resolve(member, alert)


# ----- cards ------------------------------------------------------------------------------------------------


async def refresh_cards(
    session: AsyncSession,
    runtime: Runtime,
    alert: Alert,
    *,
    everyone: bool,
    member_ids: tuple[int, ...] = (),
    priority: Priority = Priority.NORMAL,
    now: datetime | None = None,
    state: CardState | None = None,
) -> int:
    """Queue coalesced edits of the copies that must change; returns how many were queued.

    `everyone` on a change of state (handled, resolved); otherwise only the full cards (author, chiefs,
    coordinators: the ones showing every service's line) and `member_ids`. `state` when the caller knows it.
    """
    assert alert.id is not None
    state = state or await load_card_state(session, alert=alert)
    # Counted as the author's confirmation counts: the people other than the author.
    counts = await store.delivery_counts(session, alert_id=alert.id, except_member_id=alert.author_member_id)
    state.delivered = (
        counts["sent"],
        counts["sent"] + counts["pending"] + counts["failed"] + counts["unreachable"],
    )
    copies = await store.list_live_copies(
        session, alert_id=alert.id, full_or_members=None if everyone else member_ids
    )
    # Every full copy is among these: what they show, without another query.
    read_full_copies(state, copies)
    # The cards people follow (full ones, the presser's) at the given priority; every other copy of a fan-out
    # of hundreds at bulk priority, behind whatever is urgent. Readers alike share one rendering.
    followed: list[tuple[str, str, Any]] = []
    others: list[tuple[str, str, Any]] = []
    rendered: dict[Reader, tuple[str, Any]] = {}
    for recipient, member in copies:
        reader = reader_of(runtime, member, alert, recipient)
        if reader not in rendered:
            markup = card_markup(translator(reader.language), alert, can_resolve=reader.may_resolve)
            rendered[reader] = (render_card(runtime.config, state, reader), markup)
        text, markup = rendered[reader]
        concerned = recipient.full or recipient.member_id in member_ids
        (followed if concerned else others).append((recipient.card_key, text, markup))
    queued = await enqueue_card_edits(session, followed, priority=priority, now=now)
    return queued + await enqueue_card_edits(session, others, priority=Priority.BULK, now=now)


async def visible_open_alerts(session: AsyncSession, member: Member, *, every_post: bool) -> list[CardState]:
    """The open alerts a member may list, newest first, with what their lines show."""
    assert member.id is not None
    alerts = await store.list_visible_open_alerts(
        session, member_id=member.id, post_code=member.post_code, every_post=every_post
    )
    return [await load_card_state(session, alert=alert) for alert in alerts]


async def pending_acks(session: AsyncSession, alert: Alert) -> list[tuple[str, str]]:
    """Required (post, service) pairs that have not acknowledged yet."""
    return store.pending_required(alert, await store.list_acks(session, alert_id=alert.id or 0))


async def waiting_for(session: AsyncSession, runtime: Runtime, alert: Alert) -> list[tuple[str, str]]:
    """What an open alert still waits for (see awaiting())."""
    assert alert.id is not None
    acks = await store.list_acks(session, alert_id=alert.id)
    copies = await store.list_live_copies(session, alert_id=alert.id, full_or_members=())
    return awaiting(runtime, alert, acks, answered=stood_in(alert, copies))


__all__ = [
    "AckOutcome",
    "AckResult",
    "AlertAck",
    "ResolveOutcome",
    "acknowledge",
    "raise_alert",
    "refresh_cards",
    "resolve",
]


async def catch_up_returning_member(session: AsyncSession, runtime: Runtime, member: Member) -> None:
    """A member who had blocked the bot talks again: their copies of the post's open urgent and important
    alerts never reached them, so they get them now (a fresh card each, kept up to date from now on)."""
    assert member.id is not None
    if not member.post_code:
        return
    now = runtime.clock.now()
    for alert in await store.list_open_alerts(session, post_codes=[member.post_code], limit=50):
        if alert.severity not in (Severity.URGENT, Severity.IMPORTANT) or alert.id is None:
            continue
        recipient = await store.get_recipient(session, alert_id=alert.id, member_id=member.id)
        if recipient is None:
            recipient = await store.add_recipient(
                session, recipient=new_recipient(alert, member, member.post_code, now)
            )
        else:
            # The first card never reached the phone: the new one gets its own key, so edits follow it.
            recipient = await store.renew_card_key(session, recipient=recipient, now=now)
        if recipient is None:
            continue
        state = await load_card_state(session, alert=alert)
        await send_copy(
            session,
            runtime,
            state,
            member,
            recipient,
            priority=priority_of(alert.severity),
            silent=False,
            now=now,
        )
        await record_action(
            session,
            action="alert.caught_up",
            at=now,
            actor_member_id=member.id,
            object_type="alert",
            object_id=alert.id,
            post_code=member.post_code,
            details={"service": member.service_code},
        )
