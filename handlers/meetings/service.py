"""What the meetings feature does, without Telegram: publish minutes, follow action items up, record progress,
completion and corrections, and refresh the cards that show where things stand.

Every function runs in the caller's transaction and never commits: the minutes, their items, their outbox
rows, their schedule rows and their audit entries commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.access import (
    follows_minutes_card,
    may_correct_minutes,
    may_read_meeting,
    may_see_action,
    may_update_action,
    sees_post_actions,
)
from bot.access import is_global as global_member
from bot.dates import at_local_time, local_today
from bot.i18n import Translator
from bot.runtime import Runtime
from bot.scheduler import api
from bot.texts import preview
from db import meetings as store
from db.audit import record_action
from db.meetings import ActionItem, ActionNote, ActionStatus, CopyKind, Meeting, MeetingAddendum
from db.members import Member, Role, list_members, list_members_by_ids, member_names
from db.outbox import Priority, QueuedMessage, build_message, enqueue_card_edit, enqueue_many
from db.schedules import JobSource
from handlers.meetings.parsing import Owner
from handlers.meetings.render import (
    MinutesReader,
    card_markup,
    days_late,
    item_markup,
    moment_label,
    render_addendum,
    render_item,
    render_minutes,
)

# Scheduled follow-up of one action item (keys mt:act:<item>:before|due|late).
FOLLOWUP_KIND = "meeting_action"
# The reminders feature's kind: the next meeting becomes one of its one-off reminders (not imported).
REMINDER_KIND = "reminder"


def pair(post_code: str, service: str) -> str:
    """A service at a post, as stored in attendance lists."""
    return f"{post_code}/{service}"


def meeting_card_key(meeting_id: int, member_id: int) -> str:
    """The minutes card on one phone (the author's or a chief's)."""
    return f"mt:{meeting_id}:m{member_id}"


def item_card_key(item_id: int, member_id: int, suffix: str = "") -> str:
    """An action item's card on one phone (its first copy, or a reminder's)."""
    return f"mt:a{item_id}:m{member_id}" + (f":{suffix}" if suffix else "")


def followup_prefix(item_id: int) -> str:
    """Every scheduled follow-up of one item."""
    return f"mt:act:{item_id}:"


# ----- who reads what ---------------------------------------------------------------------------------------


def meeting_posts(config: Any, post_code: str, partner: str | None) -> list[str]:
    """The posts minutes go to: the post, and the partner for a joint meeting."""
    return [post_code, *([partner] if partner else [])]


def all_pairs(runtime: Runtime, posts: Sequence[str]) -> list[str]:
    """Every service of the meeting's posts, in the post's order."""
    return [pair(post, service) for post in posts for service in runtime.config.post_services(post)]


def reader_post(member: Member, meeting: Meeting) -> str:
    """The post a member reads a meeting for: their own if it is one of the meeting's, else the meeting's."""
    return member.post_code if member.post_code in meeting.posts else meeting.post_code


def may_correct(runtime: Runtime, member: Member, meeting: Meeting) -> bool:
    """The author, or whoever may write minutes at the meeting's post."""
    return may_correct_minutes(
        member,
        author_member_id=meeting.author_member_id,
        post_code=meeting.post_code,
        writers=runtime.config.meetings.writers,
    )


def may_update(member: Member, item: ActionItem, meeting: Meeting) -> bool:
    """Owners, the author, chiefs of the meeting's posts and coordinators mark done and note progress."""
    return may_update_action(
        member,
        post_code=item.post_code,
        owner_service=item.owner_service_code,
        owner_member_id=item.owner_member_id,
        author_member_id=meeting.author_member_id,
        meeting_posts=meeting.posts,
    )


def may_see(member: Member, item: ActionItem, meeting: Meeting) -> bool:
    """Whoever may update an item or read its minutes."""
    return may_see_action(
        member,
        post_code=item.post_code,
        owner_service=item.owner_service_code,
        owner_member_id=item.owner_member_id,
        author_member_id=meeting.author_member_id,
        meeting_posts=meeting.posts,
    )


async def may_read(session: AsyncSession, member: Member, meeting: Meeting) -> bool:
    """Readers, members of the meeting's posts and coordinators read the minutes; nobody else."""
    reader = await store.is_reader(session, meeting_id=meeting.id or 0, member_id=member.id or 0)
    return may_read_meeting(member, posts=meeting.posts, reader=reader)


def _responsible_service(item: ActionItem, owner_service: str | None) -> str | None:
    return item.owner_service_code or owner_service


def _action_details(item: ActionItem, meeting: Meeting, service: str | None) -> dict[str, Any]:
    """What every action.* audit entry carries: the owner, the responsible service and the due date."""
    details: dict[str, Any] = {
        "meeting_id": meeting.id,
        "position": item.position,
        "owner_post": item.post_code,
        "service": _responsible_service(item, service),
        "due": item.due_on.isoformat(),
    }
    if item.owner_member_id is not None:
        details["owner_member_id"] = item.owner_member_id
        details["owner_name"] = item.owner_name
    else:
        details["owner_service"] = item.owner_service_code
    return details


async def _owner_members(session: AsyncSession, item: ActionItem) -> list[Member]:
    """The active members an item belongs to: the person, or the service's members at the item's post."""
    if item.owner_member_id is not None:
        return [
            m for m in await list_members_by_ids(session, member_ids=[item.owner_member_id]) if m.is_active
        ]
    return await list_members(session, post_code=item.post_code, service_code=item.owner_service_code)


async def _person_service(session: AsyncSession, item: ActionItem) -> str | None:
    if item.owner_member_id is None:
        return None
    found = await list_members_by_ids(session, member_ids=[item.owner_member_id])
    return found[0].service_code if found else None


# ----- publishing -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewItem:
    """An action item as the draft holds it."""

    owner: Owner
    text: str
    due: date


@dataclass(frozen=True)
class NewMinutes:
    """Minutes as the /meeting draft collected them."""

    token: str
    post_code: str
    partner_post_code: str | None
    title: str
    held_at: datetime
    present: list[str]
    notes: str
    decisions: list[str]
    items: list[NewItem] = field(default_factory=list)
    next_meeting_at: datetime | None = None


@dataclass(frozen=True)
class Published:
    """What publishing did."""

    meeting: Meeting
    created: bool
    readers: int = 0
    owners: int = 0


class MinutesRefused(Exception):
    """The minutes can no longer be published as they are (the author lost the right, a service left...)."""


async def publish(session: AsyncSession, runtime: Runtime, author: Member, minutes: NewMinutes) -> Published:
    """Record the minutes and their items, fan them out, schedule the follow-ups; once per token."""
    from bot.access import may_write_minutes

    config, now = runtime.config, runtime.clock.now()
    assert author.id is not None
    existing = await store.get_meeting_by_token(session, client_token=minutes.token)
    if existing is not None:
        return Published(existing, False)
    if not may_write_minutes(author, minutes.post_code, writers=config.meetings.writers):
        raise MinutesRefused("author")
    partner = minutes.partner_post_code
    if partner is not None and partner not in config.post(minutes.post_code).partners:
        raise MinutesRefused("partner")
    posts = meeting_posts(config, minutes.post_code, partner)
    pairs = all_pairs(runtime, posts)
    await _check_owners(session, runtime, posts, minutes.items)
    present = [p for p in pairs if p in set(minutes.present)]
    meeting = await store.create_meeting(
        session,
        meeting=Meeting(
            client_token=minutes.token,
            post_code=minutes.post_code,
            partner_post_code=partner,
            author_member_id=author.id,
            title=minutes.title,
            held_at=minutes.held_at,
            present=present,
            absent=[p for p in pairs if p not in set(present)],
            notes=minutes.notes,
            decisions=list(minutes.decisions),
            next_meeting_at=minutes.next_meeting_at,
            published_at=now,
        ),
    )
    if meeting is None:
        again = await store.get_meeting_by_token(session, client_token=minutes.token)
        assert again is not None
        return Published(again, False)
    assert meeting.id is not None
    items = await store.add_items(
        session,
        items=[
            ActionItem(
                meeting_id=meeting.id,
                position=position,
                post_code=new.owner.post_code,
                owner_service_code=new.owner.service_code if new.owner.member_id is None else None,
                owner_member_id=new.owner.member_id,
                owner_name=new.owner.name,
                text=new.text,
                due_on=new.due,
                created_at=now,
            )
            for position, new in enumerate(minutes.items, 1)
        ],
    )
    readers, rows = await _fan_out_minutes(session, runtime, author, meeting, items, now)
    owners = 0
    for item in items:
        # In the same fan-out, after the minutes: an owner reads the minutes before their items.
        item_rows = await _send_item(session, runtime, meeting, item, now, enqueue=False)
        rows += item_rows
        owners += len(item_rows)
        await _schedule_followups(session, runtime, item, now)
    await enqueue_many(session, rows)
    await _schedule_next_meeting(session, runtime, author, meeting, now)
    await _audit_published(session, meeting, items, author, now, readers)
    return Published(meeting, True, readers, owners)


async def _check_owners(
    session: AsyncSession, runtime: Runtime, posts: list[str], items: Sequence[NewItem]
) -> None:
    """Every owner must still be a service of the meeting's posts, or an active member of them."""
    people = {
        m.id: m
        for m in await list_members_by_ids(session, member_ids=[i.owner.member_id or 0 for i in items])
    }
    for item in items:
        owner = item.owner
        if owner.post_code not in posts:
            raise MinutesRefused("owner post")
        if owner.member_id is None:
            if owner.service_code not in runtime.config.post_services(owner.post_code):
                raise MinutesRefused("owner service")
            continue
        person = people.get(owner.member_id)
        if person is None or not person.is_active or person.post_code != owner.post_code:
            raise MinutesRefused("owner person")


async def _fan_out_minutes(
    session: AsyncSession,
    runtime: Runtime,
    author: Member,
    meeting: Meeting,
    items: list[ActionItem],
    now: datetime,
) -> tuple[int, list[QueuedMessage]]:
    """Every member of the meeting's posts (and the author) gets the minutes in their language; the author's
    and the chiefs' first message is a status card. Returns the readers and the rows to queue."""
    assert meeting.id is not None and author.id is not None
    members: dict[int, Member] = {}
    for post in meeting.posts:
        for member in await list_members(session, post_code=post):
            members.setdefault(member.id or 0, member)
    members.setdefault(author.id, author)
    readers = list(members.values())
    rendered: dict[tuple[Any, ...], tuple[list[str], Any]] = {}
    copies: list[tuple[Member, list[str], Any, str | None]] = []
    records = []
    for member in readers:
        tr = runtime.translator_for(member)
        post = reader_post(member, meeting)
        card = follows_minutes_card(member, author_member_id=author.id, posts=meeting.posts)
        correct = card and may_correct(runtime, member, meeting)
        key = (tr.language, post, card, correct)
        if key not in rendered:
            parts = render_minutes(
                runtime.config,
                tr,
                meeting,
                items,
                reader=MinutesReader(tr.language, post, card),
                author=author.display_name,
                now=now,
            )
            markup = card_markup(tr, meeting, can_correct=correct)
            # As JSON once: a keyboard converts itself slowly, and the same one goes to many readers.
            rendered[key] = (parts, markup.to_dict() if markup is not None else None)
        parts, markup = rendered[key]
        card_key = meeting_card_key(meeting.id, member.id or 0) if card else None
        copies.append((member, parts, markup, card_key))
        records.append(
            {
                "meeting_id": meeting.id,
                "member_id": member.id,
                "post_code": post,
                "kind": CopyKind.MINUTES.value,
                "card_key": card_key,
                "created_at": now,
            }
        )
    await store.add_copies(session, copies=records)
    rows: list[QueuedMessage] = []
    # First parts to everyone first, then the second parts...: the post hears of the minutes at once.
    for index in range(max((len(parts) for _, parts, _, _ in copies), default=0)):
        for member, parts, markup, card_key in copies:
            if index >= len(parts):
                continue
            rows.append(
                build_message(
                    chat_id=member.chat_id,
                    member_id=member.id,
                    text=parts[index],
                    priority=Priority.NORMAL,
                    reply_markup=markup if index == 0 else None,
                    ref=("meeting", meeting.id),
                    card_key=card_key if index == 0 else None,
                    now=now,
                )
            )
    return len(readers), rows


async def _send_item(
    session: AsyncSession,
    runtime: Runtime,
    meeting: Meeting,
    item: ActionItem,
    now: datetime,
    *,
    kind: str = CopyKind.ITEM,
    suffix: str = "",
    members: list[Member] | None = None,
    enqueue: bool = True,
) -> list[QueuedMessage]:
    """Each owner (or chief) gets the item as a card with Done and Progress note; returns the rows (queued
    unless `enqueue` is False)."""
    assert item.id is not None
    recipients = members if members is not None else await _owner_members(session, item)
    if not recipients:
        return []
    names = await member_names(
        session, member_ids={i for i in (item.done_by_member_id, item.last_note_by_member_id) if i}
    )
    rows, records = [], []
    rendered: dict[tuple[str, str], str] = {}
    markups: dict[str, Any] = {}
    for member in recipients:
        tr = runtime.translator_for(member)
        post = reader_post(member, meeting)
        if (tr.language, post) not in rendered:
            rendered[(tr.language, post)] = render_item(
                runtime.config, tr, item, meeting, kind=kind, reader_post=post, now=now, names=names
            )
        if tr.language not in markups:
            markup = item_markup(tr, item)
            markups[tr.language] = markup.to_dict() if markup is not None else None
        card_key = item_card_key(item.id, member.id or 0, suffix)
        rows.append(
            build_message(
                chat_id=member.chat_id,
                member_id=member.id,
                text=rendered[(tr.language, post)],
                priority=Priority.NORMAL,
                reply_markup=markups[tr.language],
                ref=("action_item", item.id),
                card_key=card_key,
                now=now,
            )
        )
        records.append(
            {
                "meeting_id": meeting.id,
                "item_id": item.id,
                "member_id": member.id,
                "post_code": post,
                "kind": str(kind),
                "card_key": card_key,
                "created_at": now,
            }
        )
    await store.add_copies(session, copies=records)
    if enqueue:
        await enqueue_many(session, rows)
    return rows


def followup_times(runtime: Runtime, item: ActionItem, now: datetime) -> list[tuple[str, datetime]]:
    """The day before, the due day and the day after (the first overdue report), at the configured hour at
    the owner's post; only those still ahead."""
    zone, hour = runtime.config.post_zone(item.post_code), runtime.config.meetings.reminder_time
    stages = (
        ("before", item.due_on - timedelta(days=1)),
        ("due", item.due_on),
        ("late", item.due_on + timedelta(days=1)),
    )
    moments = [(stage, at_local_time(day, hour, zone=zone)) for stage, day in stages]
    return [(stage, moment) for stage, moment in moments if moment > now]


async def _schedule_followups(
    session: AsyncSession, runtime: Runtime, item: ActionItem, now: datetime
) -> None:
    """One-off reminders the day before and on the day; the overdue report repeats every
    `overdue_every_days` as one recurring row, so a report missed while the bot was down never breaks the
    chain (the scheduler catches a recurring row up)."""
    zone, every = runtime.config.post_zone(item.post_code), runtime.config.meetings.overdue_every_days
    for stage, run_at in followup_times(runtime, item, now):
        key, payload = followup_prefix(item.id or 0) + stage, {"item_id": item.id, "stage": stage}
        if stage == "late" and every:
            await api.schedule_recurring(
                session,
                key=key,
                kind=FOLLOWUP_KIND,
                trigger="interval",
                trigger_args={"days": every, "start_date": run_at.astimezone(ZoneInfo(zone)).isoformat()},
                timezone=zone,
                payload=payload,
                now=now,
                post_code=item.post_code,
            )
            continue
        await api.schedule_once(
            session,
            key=key,
            kind=FOLLOWUP_KIND,
            run_at=run_at,
            payload=payload,
            post_code=item.post_code,
            now=now,
        )


def next_meeting_text(runtime: Runtime, meeting: Meeting, post_code: str) -> dict[str, str]:
    """The next meeting's reminder in both languages, its time in the post's zone (plain text)."""
    from bot.i18n import translator

    assert meeting.next_meeting_at is not None
    zone = runtime.config.post_zone(post_code)
    texts = {}
    for language in ("fr", "en"):
        tr = translator(language)
        texts[language] = tr.gettext("📅 Next meeting: {title}, {moment}.").format(
            title=meeting.title, moment=moment_label(tr, meeting.next_meeting_at, zone)
        )
    return texts


async def _schedule_next_meeting(
    session: AsyncSession, runtime: Runtime, author: Member, meeting: Meeting, now: datetime
) -> None:
    """The next meeting becomes a one-off reminder to each post (the reminders feature's kind and payload)."""
    if meeting.next_meeting_at is None:
        return
    run_at = meeting.next_meeting_at - timedelta(minutes=runtime.config.meetings.next_meeting_notice_minutes)
    if run_at <= now:
        return
    for post in meeting.posts:
        key = f"meeting:{meeting.id}:next" + ("" if post == meeting.post_code else f":{post}")
        await api.schedule_once(
            session,
            key=key,
            kind=REMINDER_KIND,
            run_at=run_at,
            payload={
                "text": next_meeting_text(runtime, meeting, post),
                "audience": {},
                "priority": "normal",
                "author": author.display_name,
                "repeat": {"every": "once", "run_at": run_at.isoformat()},
            },
            post_code=post,
            source=JobSource.CHIEF,
            created_by=author.id,
            now=now,
        )


async def _audit_published(
    session: AsyncSession,
    meeting: Meeting,
    items: list[ActionItem],
    author: Member,
    now: datetime,
    readers: int,
) -> None:
    """meeting.published for each post the minutes went to (its own attendance), action.created per item."""
    for post in meeting.posts:
        prefix = f"{post}/"
        await record_action(
            session,
            action="meeting.published",
            at=now,
            actor_member_id=author.id,
            object_type="meeting",
            object_id=meeting.id,
            post_code=post,
            details={
                "attendees": [p.removeprefix(prefix) for p in meeting.present if p.startswith(prefix)],
                "absent": [p.removeprefix(prefix) for p in meeting.absent if p.startswith(prefix)],
                "decisions": len(meeting.decisions),
                "actions": len(items),
                "joint": meeting.partner_post_code is not None,
                "host_post": meeting.post_code,
                "title": meeting.title,
                "held_at": meeting.held_at.isoformat(),
                "readers": readers,
            },
        )
    for item in items:
        service = await _person_service(session, item)
        await record_action(
            session,
            action="action.created",
            at=now,
            actor_member_id=author.id,
            object_type="action_item",
            object_id=item.id,
            post_code=item.post_code,
            details={**_action_details(item, meeting, service), "text": preview(item.text, 120)},
        )


# ----- cards ------------------------------------------------------------------------------------------------


async def refresh_meeting_cards(session: AsyncSession, runtime: Runtime, meeting: Meeting) -> int:
    """Queue coalesced edits of the author's and chiefs' minutes cards (the status line changed)."""
    assert meeting.id is not None
    copies = await store.list_copies(
        session, meeting_id=meeting.id, kinds=(CopyKind.MINUTES,), cards_only=True
    )
    if not copies:
        return 0
    now = runtime.clock.now()
    items = await store.list_items(session, meeting_id=meeting.id)
    addenda = len(await store.list_addenda(session, meeting_id=meeting.id))
    members = {m.id: m for m in await list_members_by_ids(session, member_ids=[c.member_id for c in copies])}
    author = (await member_names(session, member_ids={meeting.author_member_id})).get(
        meeting.author_member_id, "?"
    )
    queued = 0
    for copy in copies:
        member = members.get(copy.member_id)
        if member is None or not member.is_active or copy.card_key is None:
            continue
        tr = runtime.translator_for(member)
        first = render_minutes(
            runtime.config,
            tr,
            meeting,
            items,
            reader=MinutesReader(tr.language, copy.post_code, True),
            author=author,
            now=now,
            addenda=addenda,
        )[0]
        markup = card_markup(
            tr, meeting, can_correct=member.is_active and may_correct(runtime, member, meeting)
        )
        queued += (
            await enqueue_card_edit(session, card_key=copy.card_key, text=first, reply_markup=markup, now=now)
            is not None
        )
    return queued


async def refresh_item_cards(
    session: AsyncSession, runtime: Runtime, item: ActionItem, meeting: Meeting
) -> int:
    """Queue coalesced edits of every card of one item (its first copies and its reminders)."""
    assert item.id is not None and meeting.id is not None
    copies = await store.list_copies(session, meeting_id=meeting.id, item_id=item.id, cards_only=True)
    if not copies:
        return 0
    now = runtime.clock.now()
    members = {m.id: m for m in await list_members_by_ids(session, member_ids=[c.member_id for c in copies])}
    names = await member_names(
        session, member_ids={i for i in (item.done_by_member_id, item.last_note_by_member_id) if i}
    )
    queued = 0
    for copy in copies:
        member = members.get(copy.member_id)
        if member is None or not member.is_active or copy.card_key is None:
            continue
        tr = runtime.translator_for(member)
        text = render_item(
            runtime.config,
            tr,
            item,
            meeting,
            kind=copy.kind,
            reader_post=copy.post_code,
            now=now,
            names=names,
        )
        # No keyboard takes the buttons off a card once the item is done.
        markup = item_markup(tr, item)
        edit = await enqueue_card_edit(
            session, card_key=copy.card_key, text=text, reply_markup=markup, now=now
        )
        queued += edit is not None
    return queued


# ----- done, progress ---------------------------------------------------------------------------------------


class ItemOutcome(StrEnum):
    """What a press on an action item did."""

    GONE = "gone"
    NOT_ALLOWED = "not_allowed"
    ALREADY = "already"  # done before (by someone, at some time)
    DONE = "done"
    NOTED = "noted"
    DUPLICATE = "duplicate"  # the same message again


@dataclass(frozen=True)
class ItemResult:
    """An outcome with what the presser is told."""

    outcome: ItemOutcome
    item: ActionItem | None = None
    meeting: Meeting | None = None
    by: str | None = None


async def load_item(session: AsyncSession, item_id: int | None) -> tuple[ActionItem, Meeting] | None:
    """An item and its meeting, or None."""
    if item_id is None:
        return None
    item = await store.get_item(session, item_id=item_id)
    if item is None:
        return None
    meeting = await store.get_meeting(session, meeting_id=item.meeting_id)
    return None if meeting is None else (item, meeting)


async def mark_item_done(
    session: AsyncSession, runtime: Runtime, member: Member, item_id: int | None
) -> ItemResult:
    """Done: once, by an owner (or the author, a chief, a coordinator); the cards and the minutes follow."""
    assert member.id is not None
    found = await load_item(session, item_id)
    if found is None:
        return ItemResult(ItemOutcome.GONE)
    item, meeting = found
    if not may_update(member, item, meeting):
        return ItemResult(ItemOutcome.NOT_ALLOWED, item, meeting)
    now = runtime.clock.now()
    if not await store.mark_done(session, item_id=item.id or 0, member_id=member.id, now=now):
        item = await store.get_item(session, item_id=item.id or 0) or item
        names = await member_names(session, member_ids={item.done_by_member_id or 0})
        return ItemResult(ItemOutcome.ALREADY, item, meeting, names.get(item.done_by_member_id or 0))
    item = await store.get_item(session, item_id=item.id or 0) or item
    await api.cancel(session, key_prefix=followup_prefix(item.id or 0))
    done_day = local_today(zone=runtime.config.post_zone(item.post_code), now=now)
    late = max(0, (done_day - item.due_on).days)
    await record_action(
        session,
        action="action.done",
        at=now,
        actor_member_id=member.id,
        object_type="action_item",
        object_id=item.id,
        post_code=item.post_code,
        details={
            **_action_details(item, meeting, await _person_service(session, item)),
            "on_time": late == 0,
            "days_late": late,
        },
    )
    await refresh_item_cards(session, runtime, item, meeting)
    await refresh_meeting_cards(session, runtime, meeting)
    return ItemResult(ItemOutcome.DONE, item, meeting, member.display_name)


async def check_note(session: AsyncSession, member: Member, item_id: int | None) -> ItemResult:
    """Whether `member` may add a progress note to this item now."""
    found = await load_item(session, item_id)
    if found is None:
        return ItemResult(ItemOutcome.GONE)
    item, meeting = found
    if not may_update(member, item, meeting):
        return ItemResult(ItemOutcome.NOT_ALLOWED, item, meeting)
    if item.status != ActionStatus.OPEN:
        return ItemResult(ItemOutcome.ALREADY, item, meeting)
    return ItemResult(ItemOutcome.NOTED, item, meeting)


async def add_progress_note(
    session: AsyncSession, runtime: Runtime, member: Member, *, item_id: int, text: str, token: str
) -> ItemResult:
    """Record a progress note (once per message), show it on the item's cards, and tell the author."""
    assert member.id is not None
    checked = await check_note(session, member, item_id)
    if checked.outcome != ItemOutcome.NOTED or checked.item is None or checked.meeting is None:
        return checked
    item, meeting = checked.item, checked.meeting
    now = runtime.clock.now()
    note = await store.add_note(
        session,
        note=ActionNote(item_id=item_id, member_id=member.id, text=text, created_at=now, client_token=token),
    )
    if note is None:
        return ItemResult(ItemOutcome.DUPLICATE, item, meeting)
    item = await store.get_item(session, item_id=item_id) or item
    await record_action(
        session,
        action="action.progress",
        at=now,
        actor_member_id=member.id,
        object_type="action_item",
        object_id=item.id,
        post_code=item.post_code,
        details={
            **_action_details(item, meeting, await _person_service(session, item)),
            "note": preview(text, 200),
            "chars": len(text),
        },
    )
    await refresh_item_cards(session, runtime, item, meeting)
    if meeting.author_member_id != member.id:
        authors = await list_members_by_ids(session, member_ids=[meeting.author_member_id])
        if authors and authors[0].is_active:
            author = authors[0]
            tr = runtime.translator_for(author)
            text_html = _progress_notice(runtime, tr, item, meeting, author, member.display_name)
            await enqueue_many(
                session,
                [
                    build_message(
                        chat_id=author.chat_id,
                        member_id=author.id,
                        text=text_html,
                        priority=Priority.NORMAL,
                        ref=("action_item", item.id or 0),
                        now=now,
                    )
                ],
            )
    return ItemResult(ItemOutcome.NOTED, item, meeting)


def _progress_notice(
    runtime: Runtime, tr: Translator, item: ActionItem, meeting: Meeting, author: Member, by: str
) -> str:
    """What the minutes' author reads when an owner notes progress."""
    import html

    from handlers.meetings.render import owner_label

    joint = meeting.partner_post_code is not None
    return "\n".join(
        [
            tr.gettext("📝 <b>Progress</b> · {owner}").format(
                owner=html.escape(owner_label(runtime.config, tr, item, joint=joint))
            ),
            html.escape(preview(item.text, 200)),
            "",
            html.escape(item.last_note or ""),
            "<i>" + tr.gettext("— {name}").format(name=html.escape(by)) + "</i>",
        ]
    )


# ----- follow-up --------------------------------------------------------------------------------------------


async def run_followup(
    session: AsyncSession, job: Any, *, runtime: Runtime, due_at: datetime, late: bool
) -> None:
    """Remind an open item's owners (the day before, the day), or report it overdue to them and the chief.

    The world changed since this was scheduled: an item done (or gone) in between is never reminded.
    """
    found = await load_item(session, job.payload.get("item_id"))
    if found is None:
        return
    item, meeting = found
    if item.status != ActionStatus.OPEN or item.id is None:
        return
    now = runtime.clock.now()
    stage = job.payload.get("stage")
    if stage in ("before", "due"):
        kind = CopyKind.BEFORE if stage == "before" else CopyKind.DUE
        await _send_item(session, runtime, meeting, item, now, kind=kind, suffix=stage)
        return
    report = await store.count_overdue_report(session, item_id=item.id)
    if report is None:
        return
    item = await store.get_item(session, item_id=item.id) or item
    owners = await _owner_members(session, item)
    await _send_item(
        session, runtime, meeting, item, now, kind=CopyKind.OVERDUE, suffix=f"late{report}", members=owners
    )
    owner_ids = {m.id for m in owners}
    chiefs = [
        m
        for m in await list_members(session, post_code=item.post_code, roles=(Role.CHIEF,))
        if m.id not in owner_ids
    ]
    await _send_item(
        session, runtime, meeting, item, now, kind=CopyKind.CHIEF, suffix=f"chief{report}", members=chiefs
    )
    days = days_late(runtime.config, item, now)
    await record_action(
        session,
        action="action.overdue",
        at=now,
        object_type="action_item",
        object_id=item.id,
        post_code=item.post_code,
        details={
            **_action_details(item, meeting, await _person_service(session, item)),
            "days": days,
            "report": report,
            "notified": len(owners) + len(chiefs),
        },
    )
    await refresh_meeting_cards(session, runtime, meeting)


# ----- corrections ------------------------------------------------------------------------------------------


async def publish_addendum(
    session: AsyncSession, runtime: Runtime, member: Member, *, meeting_id: int, text: str, token: str
) -> tuple[MeetingAddendum | None, int]:
    """Send a correction to every reader of the minutes (once per token); (None, 0) when refused."""
    assert member.id is not None
    meeting = await store.get_meeting(session, meeting_id=meeting_id)
    if meeting is None or not may_correct(runtime, member, meeting):
        return None, 0
    existing = await store.get_addendum_by_token(session, client_token=token)
    if existing is not None:
        return existing, 0
    now = runtime.clock.now()
    addendum = await store.add_addendum(
        session,
        addendum=MeetingAddendum(
            meeting_id=meeting_id, author_member_id=member.id, text=text, created_at=now, client_token=token
        ),
    )
    if addendum is None:
        return await store.get_addendum_by_token(session, client_token=token), 0
    copies = await store.list_copies(session, meeting_id=meeting_id, kinds=(CopyKind.MINUTES,))
    readers = [
        m for m in await list_members_by_ids(session, member_ids=[c.member_id for c in copies]) if m.is_active
    ]
    if member.id not in {m.id for m in readers}:
        readers.append(member)
    rendered: dict[tuple[str, str], str] = {}
    rows = []
    for reader in readers:
        tr = runtime.translator_for(reader)
        post = reader_post(reader, meeting)
        if (tr.language, post) not in rendered:
            rendered[(tr.language, post)] = render_addendum(
                runtime.config, tr, meeting, text, author=member.display_name, reader_post=post
            )
        rows.append(
            build_message(
                chat_id=reader.chat_id,
                member_id=reader.id,
                text=rendered[(tr.language, post)],
                priority=Priority.NORMAL,
                ref=("meeting", meeting_id),
                now=now,
            )
        )
    await enqueue_many(session, rows)
    for post in meeting.posts:
        await record_action(
            session,
            action="meeting.addendum",
            at=now,
            actor_member_id=member.id,
            object_type="meeting",
            object_id=meeting_id,
            post_code=post,
            details={
                "addendum_id": addendum.id,
                "chars": len(text),
                "title": meeting.title,
                "readers": len(rows),
            },
        )
    await refresh_meeting_cards(session, runtime, meeting)
    return addendum, len(rows)


# ----- listing ----------------------------------------------------------------------------------------------


async def open_items_for(
    session: AsyncSession, runtime: Runtime, member: Member
) -> tuple[list[tuple[ActionItem, Meeting]], bool]:
    """The open items /actions lists, overdue first, then by due date; and whether it is the whole post's."""
    assert member.id is not None
    if global_member(member):
        found, whole = await store.list_open_items(session), True
    elif sees_post_actions(member) and member.post_code:
        found, whole = await store.list_open_items(session, post_code=member.post_code), True
    else:
        service = (
            (member.post_code, member.service_code) if member.post_code and member.service_code else None
        )
        found, whole = await store.list_open_items(session, member_id=member.id, service=service), False
    now = runtime.clock.now()
    found.sort(
        key=lambda pair: (days_late(runtime.config, pair[0], now) == 0, pair[0].due_on, pair[0].id or 0)
    )
    return found, whole


async def names_of(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    """Display names of members, by id."""
    return await member_names(session, member_ids={i for i in ids if i})
