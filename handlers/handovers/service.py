"""What the handovers feature does, without Telegram: prepare a draft, send a handover to the incoming shift,
take it over (one winner), refresh its copies, and the post's heartbeat (missing and unaccepted handovers).

Every function runs in the caller's transaction and never commits: a handover, its copies, its outbox rows
and its audit entry commit together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.access import is_post_chief, may_accept_handover, may_write_handover, reads_handover
from bot.i18n import translator
from bot.runtime import Runtime
from bot.scheduler.api import schedule_once
from db import handovers as store
from db.alerts import list_acks, list_visible_open_alerts, pending_required
from db.audit import record_action
from db.handovers import Handover, HandoverState
from db.members import Member, Role, get_member, list_coordinators, list_members, member_names
from db.outbox import Priority, QueuedMessage, build_message, enqueue_card_edits, enqueue_many
from db.schedules import ScheduledJob
from handlers.handovers import render, shifts
from handlers.handovers.render import HandoverView, ServiceStatus

ESCALATION_KIND = "handover_escalation"
MISSING_KIND = "handover_missing"
# Alerts listed with a handover (the newest open ones of the post).
ALERTS_LIMIT = 20


def language_of(runtime: Runtime, member: Member) -> str:
    """The language a member reads."""
    return (
        member.language
        or runtime.config.post_language(member.post_code)
        or runtime.config.bot.default_language
    )


def readers_rule(runtime: Runtime, service_code: str) -> str:
    """Who at the post reads this service's handovers ("service" or "post")."""
    return runtime.config.handovers.readers_of(service_code)


def may_read(runtime: Runtime, member: Member, handover: Handover) -> bool:
    """Whether `member` may open this handover."""
    return reads_handover(
        member,
        post_code=handover.post_code,
        service_code=handover.service_code,
        readers=readers_rule(runtime, handover.service_code),
    )


def may_accept(member: Member, handover: Handover) -> bool:
    """Whether `member` is of the incoming shift for this handover (whatever its state)."""
    return may_accept_handover(
        member,
        post_code=handover.post_code,
        service_code=handover.service_code,
        author_member_id=handover.author_member_id,
    )


async def load_view(session: AsyncSession, handover: Handover) -> HandoverView:
    """A handover with the names its copies show."""
    ids = {handover.author_member_id, handover.taken_by_member_id}
    return HandoverView(handover, await member_names(session, member_ids={i for i in ids if i}))


# ----- preparing a draft ------------------------------------------------------------------------------------


async def open_alerts(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
    """The post's open alerts as a handover lists them (those the author may see), with their status."""
    assert member.id is not None
    alerts = await list_visible_open_alerts(
        session, member_id=member.id, post_code=member.post_code, every_post=False, limit=ALERTS_LIMIT
    )
    snapshot = []
    for alert in alerts:
        acks = await list_acks(session, alert_id=alert.id or 0)
        snapshot.append(
            {
                "id": alert.id,
                "category": alert.category,
                "severity": alert.severity,
                "post_code": alert.post_code,
                "raised_at": alert.raised_at.isoformat(),
                "pending": [f"{post}/{service}" for post, service in pending_required(alert, acks)],
                # Every required service with members may have acknowledged while one with nobody at the post
                # still waits for a chief or a coordinator to answer for it (handlers/alerts/rules.py).
                "handled": alert.handled_at is not None,
            }
        )
    return snapshot


async def carried_items(
    session: AsyncSession, *, post_code: str, service_code: str, change_at: datetime
) -> list[dict[str, Any]]:
    """The open matters of the service's previous handover, to pre-fill the next one."""
    previous = await store.previous_handover(
        session, post_code=post_code, service_code=service_code, before=change_at
    )
    if previous is None:
        return []
    return [
        {
            "text": item["text"],
            "done": False,
            "carried": True,
            "since": item.get("since") or previous.shift_change_at.isoformat(),
        }
        for item in previous.items
        if not item.get("done")
    ]


def change_for(runtime: Runtime, member: Member) -> datetime:
    """The shift change a handover written now by `member` is for."""
    return shifts.nearest_change(runtime.config, member.post_code or "", runtime.clock.now())


async def reminded_already(
    session: AsyncSession, runtime: Runtime, post_code: str | None, due_at: datetime
) -> set[int]:
    """Members a shift-change reminder due at `due_at` need not reach: those of the services that already
    sent their handover for the change it is about (the nearest one)."""
    if not post_code or runtime.config.find_post(post_code) is None:
        return set()
    change_at = shifts.nearest_change(runtime.config, post_code, due_at)
    written = await store.services_written(session, post_code=post_code, shift_change_at=change_at)
    if not written:
        return set()
    members = await list_members(session, post_code=post_code)
    return {m.id for m in members if m.id is not None and m.service_code in written}


# ----- sending ----------------------------------------------------------------------------------------------


class SendOutcome(StrEnum):
    """What pressing Send (or Nothing to report) did."""

    SENT = "sent"
    # The service already has a handover for that shift change (a colleague's, or this one sent before).
    ALREADY = "already"
    NOT_ALLOWED = "not_allowed"


@dataclass(frozen=True)
class SendResult:
    """The outcome, the handover concerned, how many people received it, and its author's name."""

    outcome: SendOutcome
    handover: Handover | None = None
    # Who received it besides the author (the author's own copy is no news to them).
    recipients: int = 0
    author: str = ""
    # Readers of the incoming shift (the service's members other than the author): 0 when nobody can take it
    # over (the author is the service's only member at the post).
    incoming: int = 0


async def readers_at_post(session: AsyncSession, runtime: Runtime, handover: Handover) -> list[Member]:
    """Who receives a copy: the service's members and the post's chiefs (the whole post when widened)."""
    members = await list_members(session, post_code=handover.post_code)
    return [m for m in members if may_read(runtime, m, handover)]


async def send_handover(
    session: AsyncSession,
    runtime: Runtime,
    author: Member,
    *,
    post_code: str,
    service_code: str,
    change_at: datetime,
    items: list[dict[str, Any]],
    ticked: list[str],
    remarks: str | None,
    photo: str | None,
    nothing_to_report: bool,
) -> SendResult:
    """Send a handover once to the incoming shift; the service's one handover for that change wins."""
    assert author.id is not None
    config, now = runtime.config, runtime.clock.now()
    if not may_write_handover(author) or (author.post_code, author.service_code) != (post_code, service_code):
        return SendResult(SendOutcome.NOT_ALLOWED)
    existing = await store.get_for_shift(
        session, post_code=post_code, service_code=service_code, shift_change_at=change_at
    )
    if existing is not None:
        return await _already(session, existing)
    delay = timedelta(minutes=config.handovers.escalate_after_minutes)
    checklist = [
        {"code": e.code, "fr": e.label.fr, "en": e.label.en, "done": e.code in ticked}
        for e in config.handovers.checklist(service_code)
    ]
    handover = Handover(
        post_code=post_code,
        service_code=service_code,
        shift_change_at=change_at,
        written_at=now,
        author_member_id=author.id,
        nothing_to_report=nothing_to_report,
        # Open matters first (carried ones, then new), settled ones last: the numbers read in order.
        items=sorted(items, key=lambda item: bool(item.get("done"))),
        checklist=checklist,
        alerts=await open_alerts(session, author),
        remarks=remarks,
        photo_file_id=photo,
        # A handover written after the change still leaves the incoming shift the whole delay.
        accept_by=max(change_at, now) + delay,
    )
    readers = await readers_at_post(session, runtime, handover)
    incoming = sum(1 for m in readers if may_accept(m, handover))
    if not incoming:
        # Nobody to take it over: recorded as such, so that no chief is told it was "not taken over".
        handover.state = HandoverState.RECORDED
    created = await store.create_handover(session, handover=handover)
    if created is None:
        again = await store.get_for_shift(
            session, post_code=post_code, service_code=service_code, shift_change_at=change_at
        )
        assert again is not None
        return await _already(session, again)
    assert created.id is not None
    if author.id not in {m.id for m in readers}:
        readers.append(author)
    # The incoming shift reads it first, the chiefs next, the author (who knows) last.
    readers.sort(key=lambda m: (m.id == author.id, not may_accept(m, created), not is_post_chief(m)))
    card_keys = [store.card_key(created.id, m.id or 0) for m in readers]
    await store.add_copies(
        session,
        handover_id=created.id,
        copies=[(m.id or 0, key) for m, key in zip(readers, card_keys, strict=True)],
    )
    view = HandoverView(created, {author.id: author.display_name})
    rows: list[QueuedMessage] = []
    rendered: dict[tuple[str, bool], tuple[str, Any]] = {}
    for member, card_key in zip(readers, card_keys, strict=True):
        rows += _copy_rows(runtime, view, member, card_key, rendered, now=now)
    await enqueue_many(session, rows)
    if created.state == HandoverState.PENDING and created.accept_by > change_at + delay:
        # Written late: its own escalation, at its own deadline (the shift's heartbeat has passed).
        await schedule_once(
            session,
            key=f"ho:{created.id}:esc",
            kind=ESCALATION_KIND,
            run_at=created.accept_by,
            payload={"handover_id": created.id},
            post_code=post_code,
            now=now,
        )
    await record_action(
        session,
        action="handover.written",
        at=now,
        actor_member_id=author.id,
        object_type="handover",
        object_id=created.id,
        post_code=post_code,
        details={
            "service": service_code,
            "shift_change_at": change_at.isoformat(),
            "seconds_from_shift_change": (now - change_at).total_seconds(),
            "items": len(created.items),
            "nothing_to_report": nothing_to_report,
            "carried": sum(1 for i in created.items if i.get("carried")),
            "settled": sum(1 for i in created.items if i.get("done")),
            "checklist": [e["code"] for e in checklist if e["done"]],
            "remarks": len(remarks or ""),
            "photo": photo is not None,
            "alerts": [a["id"] for a in created.alerts],
            "recipients": len(readers),
            "incoming": incoming,
        },
    )
    others = sum(1 for m in readers if m.id != author.id)
    return SendResult(SendOutcome.SENT, created, others, author.display_name, incoming)


async def _already(session: AsyncSession, handover: Handover) -> SendResult:
    names = await member_names(session, member_ids={handover.author_member_id})
    return SendResult(SendOutcome.ALREADY, handover, author=names.get(handover.author_member_id, "?"))


def _copy_rows(
    runtime: Runtime,
    view: HandoverView,
    member: Member,
    card_key: str,
    rendered: dict[tuple[str, bool], tuple[str, Any]],
    *,
    now: datetime,
) -> list[QueuedMessage]:
    """One member's copy as outbox rows: the card, then the photo by file id."""
    handover = view.handover
    language = language_of(runtime, member)
    tr = translator(language)
    key = (language, may_accept(member, handover))
    if key not in rendered:
        text, truncated = render.render_copy(runtime.config, tr, view)
        markup = render.copy_markup(tr, handover, may_accept=key[1], truncated=truncated)
        # As JSON once per group of readers: converting the keyboard for each of 200 rows costs more.
        rendered[key] = (text, markup.to_dict() if markup is not None else None)
    text, markup = rendered[key]
    rows = [
        build_message(
            chat_id=member.chat_id,
            text=text,
            member_id=member.id,
            reply_markup=markup,
            ref=("handover", handover.id or 0),
            card_key=card_key,
            now=now,
        )
    ]
    if handover.photo_file_id:
        rows.append(
            build_message(
                chat_id=member.chat_id,
                text=tr.gettext("📷 Handover · {service}").format(
                    service=render.service_label(runtime.config, tr, handover.service_code)
                ),
                photo=handover.photo_file_id,
                member_id=member.id,
                silent=True,
                ref=("handover", handover.id or 0),
                now=now,
            )
        )
    return rows


async def refresh_cards(
    session: AsyncSession, runtime: Runtime, handover: Handover, *, priority: Priority, now: datetime
) -> int:
    """Queue an edit of every live copy (coalesced per card): "taken over by X at 07:04" everywhere."""
    assert handover.id is not None
    view = await load_view(session, handover)
    rendered: dict[tuple[str, bool], tuple[str, Any]] = {}
    edits: list[tuple[str, str, Any]] = []
    for copy, member in await store.list_live_copies(session, handover_id=handover.id):
        language = language_of(runtime, member)
        key = (language, may_accept(member, handover))
        if key not in rendered:
            tr = translator(language)
            text, truncated = render.render_copy(runtime.config, tr, view)
            rendered[key] = (text, render.copy_markup(tr, handover, may_accept=key[1], truncated=truncated))
        # No keyboard: an edited message loses its buttons once the handover is taken over.
        edits.append((copy.card_key, *rendered[key]))
    return await enqueue_card_edits(session, edits, priority=priority, now=now)


# ----- taking over ------------------------------------------------------------------------------------------


class TakeOutcome(StrEnum):
    """What Accept, Accept with remarks or a contest did."""

    GONE = "gone"
    NOT_YOURS = "not_yours"  # not among its readers
    OWN = "own"  # the author
    NOT_INCOMING = "not_incoming"  # a reader who is not of the incoming shift (a chief of another service)
    MINE = "mine"  # taken over by this member already
    TAKEN = "taken"  # taken over by someone else first
    RECORDED = "recorded"  # sent when nobody could take it over: on record only
    WON = "won"


@dataclass(frozen=True)
class TakeResult:
    """The outcome, the handover as it now stands, and who took it over."""

    outcome: TakeOutcome
    handover: Handover | None = None
    taker: str = ""


async def check_take(session: AsyncSession, runtime: Runtime, member: Member, handover_id: int) -> TakeResult:
    """Whether `member` may take this handover over now (asked again when it is recorded)."""
    handover = await store.get_handover(session, handover_id=handover_id)
    if handover is None:
        return TakeResult(TakeOutcome.GONE)
    if not may_read(runtime, member, handover):
        return TakeResult(TakeOutcome.NOT_YOURS, handover)
    if handover.state == HandoverState.RECORDED:
        # A reader of another service learns what it would for any handover; its service, why nobody takes it.
        if member.id != handover.author_member_id and not may_accept(member, handover):
            return TakeResult(TakeOutcome.NOT_INCOMING, handover)
        return TakeResult(TakeOutcome.RECORDED, handover)
    if handover.state != HandoverState.PENDING:
        taker = handover.taken_by_member_id
        names = await member_names(session, member_ids={taker} if taker else set())
        outcome = TakeOutcome.MINE if taker == member.id else TakeOutcome.TAKEN
        return TakeResult(outcome, handover, names.get(taker or 0, "?"))
    if member.id == handover.author_member_id:
        return TakeResult(TakeOutcome.OWN, handover)
    if not may_accept(member, handover):
        return TakeResult(TakeOutcome.NOT_INCOMING, handover)
    return TakeResult(TakeOutcome.WON, handover)


async def take_over(
    session: AsyncSession,
    runtime: Runtime,
    member: Member,
    *,
    handover_id: int,
    state: HandoverState,
    remarks: str | None = None,
    item: int | None = None,
    reason: str | None = None,
) -> TakeResult:
    """Accept (with remarks) or contest: the first member of the incoming shift becomes its agent of record.

    The conditional UPDATE decides between two members pressing together; the loser learns who won.
    """
    assert member.id is not None
    check = await check_take(session, runtime, member, handover_id)
    if check.outcome != TakeOutcome.WON:
        return check
    now = runtime.clock.now()
    if not await store.take_over(
        session,
        handover_id=handover_id,
        member_id=member.id,
        now=now,
        state=state,
        remarks=remarks,
        contested_item=item if state == HandoverState.CONTESTED else None,
        contest_reason=reason if state == HandoverState.CONTESTED else None,
    ):
        return await check_take(session, runtime, member, handover_id)
    handover = await store.get_handover(session, handover_id=handover_id)
    assert handover is not None and handover.id is not None
    seconds = (now - handover.written_at).total_seconds()
    # Late: at or past the escalation deadline (escalated, or about to be).
    late = now >= handover.accept_by or handover.escalated_at is not None
    if state == HandoverState.CONTESTED:
        await record_action(
            session,
            action="handover.contested",
            at=now,
            actor_member_id=member.id,
            object_type="handover",
            object_id=handover.id,
            post_code=handover.post_code,
            details={
                "service": handover.service_code,
                "item": item or 0,
                "seconds_to_accept": seconds,
                "late": late,
            },
        )
        await _tell_contest(session, runtime, handover, member, now)
    else:
        await record_action(
            session,
            action="handover.accepted",
            at=now,
            actor_member_id=member.id,
            object_type="handover",
            object_id=handover.id,
            post_code=handover.post_code,
            details={
                "service": handover.service_code,
                "seconds_to_accept": seconds,
                "late": late,
                "with_remarks": bool(remarks),
            },
        )
    await refresh_cards(session, runtime, handover, priority=Priority.NORMAL, now=now)
    return TakeResult(TakeOutcome.WON, handover, member.display_name)


async def chiefs_of(session: AsyncSession, post_code: str) -> list[Member]:
    """Who hears of a post's silent or disputed handovers: its chiefs, else the coordinators."""
    chiefs = await list_members(session, post_code=post_code, roles=(Role.CHIEF,))
    return chiefs or await list_coordinators(session)


async def _tell_contest(
    session: AsyncSession, runtime: Runtime, handover: Handover, taker: Member, now: datetime
) -> None:
    """The author and the chiefs hear of a contest at once."""
    view = await load_view(session, handover)
    targets = {m.id: m for m in await chiefs_of(session, handover.post_code)}
    author = await get_member(session, member_id=handover.author_member_id)
    if author is not None and author.is_active:
        targets[author.id] = author
    targets.pop(taker.id, None)
    rows = []
    for member in targets.values():
        tr = translator(language_of(runtime, member))
        rows.append(
            build_message(
                chat_id=member.chat_id,
                text=render.contest_notice(runtime.config, tr, view),
                priority=Priority.HIGH,
                member_id=member.id,
                reply_markup=render.open_markup(tr, handover.id or 0),
                ref=("handover", handover.id or 0),
                now=now,
            )
        )
    await enqueue_many(session, rows)


# ----- the heartbeat ----------------------------------------------------------------------------------------


async def run_escalation(
    session: AsyncSession, job: ScheduledJob, *, runtime: Runtime, due_at: datetime, late: bool
) -> None:
    """Handovers nobody took over in time go to the chiefs (re-checked now: taken ones are left alone)."""
    payload, now = job.payload or {}, runtime.clock.now()
    if payload.get("handover_id"):
        handover = await store.get_handover(session, handover_id=int(payload["handover_id"]))
        due = [handover] if handover is not None and handover.accept_by <= now else []
    else:
        change_at = due_at - timedelta(minutes=int(payload.get("minutes", 0)))
        due = await store.list_pending(
            session, post_code=job.post_code or "", shift_change_at=change_at, due_by=now
        )
    for handover in due:
        assert handover.id is not None
        if not await store.mark_escalated(session, handover_id=handover.id, now=now):
            continue
        fresh = await store.get_handover(session, handover_id=handover.id)
        assert fresh is not None
        minutes = round((now - fresh.shift_change_at).total_seconds() / 60)
        view = await load_view(session, fresh)
        rows = []
        for chief in await chiefs_of(session, fresh.post_code):
            tr = translator(language_of(runtime, chief))
            rows.append(
                build_message(
                    chat_id=chief.chat_id,
                    text=render.escalation_notice(runtime.config, tr, view, minutes),
                    priority=Priority.HIGH,
                    member_id=chief.id,
                    reply_markup=render.open_markup(tr, fresh.id or 0),
                    ref=("handover", fresh.id or 0),
                    now=now,
                )
            )
        await enqueue_many(session, rows)
        await record_action(
            session,
            action="handover.escalated",
            at=now,
            object_type="handover",
            object_id=fresh.id,
            post_code=fresh.post_code,
            details={"service": fresh.service_code, "minutes": minutes, "late_run": late},
        )
        await refresh_cards(session, runtime, fresh, priority=Priority.BULK, now=now)


async def staffed_services(session: AsyncSession, post_code: str, change_at: datetime) -> set[str]:
    """Services with at least one active agent at the post who had joined by the shift change (the ones
    expected to write a handover for it: an agent who arrived later had no shift to hand over)."""
    return _staffed(await list_members(session, post_code=post_code, roles=(Role.AGENT,)), change_at)


def _staffed(agents: list[Member], change_at: datetime) -> set[str]:
    return {m.service_code for m in agents if m.service_code and m.joined_at <= change_at}


async def run_missing(
    session: AsyncSession, job: ScheduledJob, *, runtime: Runtime, due_at: datetime, late: bool
) -> None:
    """Services with agents at the post that wrote nothing for the shift change are reported to the chiefs."""
    payload, now, config = job.payload or {}, runtime.clock.now(), runtime.config
    post_code = job.post_code or ""
    if config.find_post(post_code) is None:
        return
    minutes = int(payload.get("minutes", 0))
    change_at = due_at - timedelta(minutes=minutes)
    staffed = await staffed_services(session, post_code, change_at)
    written = await store.services_written(session, post_code=post_code, shift_change_at=change_at)
    missing = [s for s in config.post_services(post_code) if s in staffed and s not in written]
    if not missing:
        return
    for service in missing:
        await record_action(
            session,
            action="handover.missing",
            at=now,
            object_type="handover",
            post_code=post_code,
            details={"service": service, "shift_change_at": change_at.isoformat(), "late_run": late},
        )
    rows = []
    for chief in await chiefs_of(session, post_code):
        tr = translator(language_of(runtime, chief))
        rows.append(
            build_message(
                chat_id=chief.chat_id,
                text=render.missing_notice(config, tr, post_code, change_at, missing, minutes),
                priority=Priority.HIGH,
                member_id=chief.id,
                reply_markup=render.post_view_markup(tr, post_code),
                ref=("handover_check", job.id or 0),
                now=now,
            )
        )
    await enqueue_many(session, rows)


# ----- the chiefs' view -------------------------------------------------------------------------------------


async def day_statuses(
    session: AsyncSession, runtime: Runtime, post_code: str
) -> tuple[list[tuple[datetime, list[ServiceStatus]]], dict[int, str]]:
    """Each shift change of the post's day so far, each service's state, and the names they show."""
    config, now = runtime.config, runtime.clock.now()
    changes = shifts.day_view(config, post_code, now)
    handovers = await store.list_for_changes(session, post_code=post_code, shift_changes=changes)
    agents = await list_members(session, post_code=post_code, roles=(Role.AGENT,))
    overdue_after = timedelta(minutes=config.handovers.missing_after_minutes)
    found = {(h.shift_change_at, h.service_code): h for h in handovers}
    view = [
        (
            change_at,
            [
                ServiceStatus(
                    service,
                    found.get((change_at, service)),
                    staffed=service in _staffed(agents, change_at),
                    overdue=now >= change_at + overdue_after,
                )
                for service in config.post_services(post_code)
            ],
        )
        for change_at in changes
    ]
    ids = {i for h in handovers for i in (h.author_member_id, h.taken_by_member_id) if i}
    return view, await member_names(session, member_ids=ids)


async def history(
    session: AsyncSession, *, post_code: str, service_code: str, page: int
) -> tuple[list[Handover], int, dict[int, str]]:
    """One page of a service's last handovers at a post, the total, and the names they show."""
    total = await store.count_recent(session, post_code=post_code, service_code=service_code)
    handovers = await store.list_recent(
        session,
        post_code=post_code,
        service_code=service_code,
        limit=render.HISTORY_PAGE,
        offset=page * render.HISTORY_PAGE,
    )
    ids = {i for h in handovers for i in (h.author_member_id, h.taken_by_member_id) if i}
    return handovers, total, await member_names(session, member_ids=ids)
