"""What the notices feature does, without Telegram: send and fan out, confirm, count, remind, expire, catch up
newcomers.

Every function runs in the caller's transaction (session) and never commits: a notice, its copies, its outbox
rows, its schedule rows and its audit entries commit together or not at all.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.access import (
    is_global,
    is_post_chief,
    may_follow_notice,
    may_send_notice,
    notice_addressed_to,
)
from bot.i18n import translator
from bot.runtime import Runtime
from bot.scheduler.api import cancel, schedule_once
from db import notices as store
from db.audit import Action, record_action, record_actions
from db.members import Member, get_member, list_members, member_names
from db.notices import REF_TYPE, Notice, NoticeRecipient, copy_key, reminder_key, sender_card_key
from db.outbox import (
    DeliveryState,
    Priority,
    QueuedMessage,
    build_card_edit,
    build_message,
    build_pin,
    enqueue_card_edit,
    enqueue_many,
    enqueue_message,
)
from handlers.notices.render import (
    NO_SERVICE,
    NoticeView,
    Tally,
    card_markup,
    copy_markup,
    render_card,
    render_copy,
    render_reminder,
    text_room,
)

CARD_KIND = "notice_card"
REMINDER_KIND = "notice_reminder"
EXPIRY_KIND = "notice_expiry"
DELIVERY_KIND = "notice_delivery"
# When the delivery of a notice's copies is checked and audited (again while some are still pending).
DELIVERY_CHECKS = (timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=1))
# Notices whose rendering a process keeps (their content never changes once sent).
VIEW_CACHE = "notice_views"
VIEW_CACHE_SIZE = 256
# Card redraws this process saw booked (committed schedule rows), so later confirmations skip the look-up.
BOOKED_SLOTS = "notice_booked_slots"


def priority_of(important: bool) -> Priority:
    """Important notices go ahead of routine traffic; the rest is bulk (an urgent alert always goes first)."""
    return Priority.NORMAL if important else Priority.BULK


def reader_language(runtime: Runtime, member: Member) -> str:
    """The language a member reads: their choice, else their post's, else the default."""
    return runtime.translator_for(member).language


# ----- who receives it --------------------------------------------------------------------------------------


async def audience_members(
    session: AsyncSession, *, posts: list[str], audience: dict[str, Any], author_id: int | None
) -> list[Member]:
    """Active members a notice goes to (the sender excepted), by post, service and name."""
    found = (
        await list_members(session, post_code=posts[0]) if len(posts) == 1 else await list_members(session)
    )
    return [m for m in found if m.id != author_id and notice_addressed_to(m, posts=posts, audience=audience)]


def initial_tally(members: list[Member]) -> Tally:
    """The count before anyone confirmed, from the members it went to."""
    groups = Counter((m.post_code or "", m.service_code) for m in members)
    return Tally([(post, service, n, 0) for (post, service), n in groups.items()])


# ----- views ------------------------------------------------------------------------------------------------


async def view_of(session: AsyncSession, runtime: Runtime, notice: Notice) -> NoticeView:
    """A notice as renderings need it (with its author's name)."""
    names = await member_names(session, member_ids={notice.author_member_id})
    return NoticeView.of(notice, names.get(notice.author_member_id, "?"))


async def cached_view(session: AsyncSession, runtime: Runtime, notice_id: int) -> NoticeView | None:
    """The content of a sent notice, kept by the process: a burst of confirmations renders copies from it
    without reading the notice again (its content never changes; its life is read where it matters)."""
    cache: dict[int, NoticeView] = runtime.extras.setdefault(VIEW_CACHE, {})
    view = cache.get(notice_id)
    if view is None:
        notice = await store.get_notice(session, notice_id=notice_id)
        if notice is None:
            return None
        view = await view_of(session, runtime, notice)
        if len(cache) >= VIEW_CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[notice_id] = view
    return view


# ----- sending ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewNotice:
    """A notice as the /notice conversation collected it."""

    token: str
    posts: list[str]
    audience: dict[str, Any]
    language: str
    texts: dict[str, str]
    important: bool = False
    attachment_kind: str | None = None
    attachment_file_id: str | None = None
    attachment_name: str | None = None
    expires_at: datetime | None = None


class SendOutcome(StrEnum):
    """What Send did."""

    SENT = "sent"
    ALREADY = "already"  # this draft was sent before (a double tap, a repeated update)
    NOT_ALLOWED = "not_allowed"
    NOBODY = "nobody"  # nobody at the chosen posts matches the audience
    TOO_LONG = "too_long"  # a version no longer fits a copy (its limit is in `limit`)


@dataclass(frozen=True)
class SendResult:
    """The result of Send, for the sender's answer."""

    outcome: SendOutcome
    notice: Notice | None = None
    recipients: int = 0
    posts: int = 0  # the posts it reached (someone there got a copy)
    limit: int = 0
    # Posts chosen where nobody it was meant for has joined yet: the sender must know none was reached there.
    unreached: tuple[str, ...] = ()


def validity_end(runtime: Runtime, sent_at: datetime, expires_at: datetime | None) -> datetime:
    """When a notice stops being in force: its expiry, else the configured default validity."""
    return expires_at or sent_at + timedelta(days=runtime.config.notices.default_validity_days)


async def send_notice(session: AsyncSession, runtime: Runtime, author: Member, new: NewNotice) -> SendResult:
    """Create a notice and fan it out: copies, the sender's card, reminders and expiry, audit (per post)."""
    assert author.id is not None
    existing = await store.get_notice_by_token(session, client_token=new.token)
    if existing is not None:
        return SendResult(SendOutcome.ALREADY, existing)
    if not may_send_notice(author, new.posts):
        return SendResult(SendOutcome.NOT_ALLOWED)
    now = runtime.clock.now()
    members = await audience_members(session, posts=new.posts, audience=new.audience, author_id=author.id)
    if not members:
        return SendResult(SendOutcome.NOBODY)
    notice = Notice(
        client_token=new.token,
        author_member_id=author.id,
        author_role=author.role,
        author_service_code=author.service_code,
        posts=list(new.posts),
        audience=dict(new.audience),
        language=new.language,
        texts={k: v for k, v in new.texts.items() if v},
        attachment_kind=new.attachment_kind,
        attachment_file_id=new.attachment_file_id,
        attachment_name=new.attachment_name,
        important=new.important,
        sent_at=now,
        expires_at=validity_end(runtime, now, new.expires_at),
    )
    view = NoticeView.of(notice, author.display_name)
    room = text_room(runtime.config, view)
    if any(len(text) > room for text in notice.texts.values()):
        return SendResult(SendOutcome.TOO_LONG, limit=room)
    created = await store.create_notice(session, notice=notice)
    if created is None:
        again = await store.get_notice_by_token(session, client_token=new.token)
        return SendResult(SendOutcome.ALREADY, again)
    assert created.id is not None
    view = NoticeView.of(created, author.display_name)
    readers = [
        (
            member,
            member.post_code or "",
            reader_language(runtime, member),
            copy_key(created.id, member.id or 0),
        )
        for member in members
    ]
    await store.add_recipients(
        session,
        rows=[
            {
                "notice_id": created.id,
                "member_id": member.id,
                "post_code": post_code,
                "service_code": member.service_code,
                "language": language,
                "card_key": key,
                "notified_at": now,
                "seen_at": None,
                "reminders": 0,
            }
            for member, post_code, language, key in readers
        ],
    )
    # One statement for the whole fan-out: every reader's copy in their language.
    await enqueue_many(session, copy_rows(runtime, created, view, readers, now=now))
    tally = initial_tally(members)
    language = reader_language(runtime, author)
    await enqueue_message(
        session,
        chat_id=author.chat_id,
        member_id=author.id,
        text=render_card(
            runtime.config, view, tally, language=language, reader_post=author.post_code, now=now
        ),
        reply_markup=card_markup(translator(language), view, tally, now=now),
        priority=Priority.NORMAL,
        ref=(REF_TYPE, created.id),
        card_key=sender_card_key(created.id),
        now=now,
    )
    await _schedule_life(session, runtime, created)
    by_post = Counter(post for _, post, _, _ in readers)
    for post_code in created.posts:
        await record_action(
            session,
            action="notice.sent",
            at=now,
            actor_member_id=author.id,
            object_type="notice",
            object_id=created.id,
            post_code=post_code,
            details=sent_details(created, by_post.get(post_code, 0)),
        )
    unreached = tuple(p for p in created.posts if not by_post.get(p))
    return SendResult(
        SendOutcome.SENT, created, len(members), len(created.posts) - len(unreached), 0, unreached
    )


def sent_details(notice: Notice, recipients: int) -> dict[str, Any]:
    """The figures of a `notice.sent` entry (one entry per post, with that post's recipients)."""
    details: dict[str, Any] = {
        "recipients": recipients,
        "posts": len(notice.posts),
        "importance": "important" if notice.important else "normal",
        "bilingual": notice.bilingual,
        "audience": notice.audience.get("kind", "everyone"),
    }
    if notice.audience.get("kind") == "services":
        details["services"] = list(notice.audience.get("services") or [])
    if notice.attachment_kind:
        details["attachment"] = notice.attachment_kind
    return details


def copy_rows(
    runtime: Runtime,
    notice: Notice,
    view: NoticeView,
    readers: list[tuple[Member, str, str, str]],
    *,
    now: datetime,
) -> list[QueuedMessage]:
    """Outbox rows of readers' copies, (member, post, language, card key) each, then (important notices)
    their pins; renders shared per group."""
    assert notice.id is not None
    rendered: dict[tuple[str, str], str] = {}
    markups: dict[str, Any] = {}
    rows = []
    pins = []
    for member, post_code, language, key in readers:
        if (language, post_code) not in rendered:
            rendered[(language, post_code)] = render_copy(
                runtime.config, view, language=language, post_code=post_code
            )
        if language not in markups:
            markups[language] = copy_markup(translator(language), notice.id)
        rows.append(
            copy_row(
                notice,
                chat_id=member.chat_id,
                member_id=member.id,
                text=rendered[(language, post_code)],
                markup=markups[language],
                card_key=key,
                now=now,
            )
        )
        if notice.important:
            # Pinned while valid: the pin waits for its copy and takes its message id (after every copy).
            pins.append(
                build_pin(
                    card_key=key,
                    chat_id=member.chat_id,
                    member_id=member.id,
                    priority=priority_of(notice.important),
                    ref=(REF_TYPE, notice.id),
                    now=now,
                )
            )
    return rows + pins


def copy_row(
    notice: Notice,
    *,
    chat_id: int,
    member_id: int | None,
    text: str,
    markup: Any,
    card_key: str,
    now: datetime,
) -> QueuedMessage:
    """One reader's copy: the text alone, or the photo or document with the text as its caption."""
    assert notice.id is not None
    common: dict[str, Any] = {
        "chat_id": chat_id,
        "member_id": member_id,
        "text": text,
        "reply_markup": markup,
        "priority": priority_of(notice.important),
        # Routine notices arrive silently; important ones ring.
        "silent": not notice.important,
        "ref": (REF_TYPE, notice.id),
        "card_key": card_key,
        "now": now,
    }
    if notice.attachment_kind == "photo":
        return build_message(photo=notice.attachment_file_id, **common)
    if notice.attachment_kind == "document":
        return build_message(document=notice.attachment_file_id, **common)
    return build_message(**common)


async def _schedule_life(session: AsyncSession, runtime: Runtime, notice: Notice) -> None:
    """Expiry, the automatic reminder (before expiry only) and the first delivery check."""
    assert notice.id is not None
    await schedule_once(
        session,
        key=f"nt:{notice.id}:expire",
        kind=EXPIRY_KIND,
        run_at=notice.expires_at,
        payload={"notice_id": notice.id},
        now=notice.sent_at,
    )
    after = runtime.config.notices.auto_remind_after_minutes
    remind_at = notice.sent_at + timedelta(minutes=after)
    if after > 0 and remind_at < notice.expires_at:
        await schedule_once(
            session,
            key=f"nt:{notice.id}:auto",
            kind=REMINDER_KIND,
            run_at=remind_at,
            payload={"notice_id": notice.id},
            now=notice.sent_at,
        )
    await schedule_delivery_check(session, notice, attempt=1)


async def schedule_delivery_check(session: AsyncSession, notice: Notice, *, attempt: int) -> None:
    """Look at the outbox a little later and write how the copies were delivered to the audit log."""
    await schedule_once(
        session,
        key=f"nt:{notice.id}:dlv:{attempt}",
        kind=DELIVERY_KIND,
        run_at=notice.sent_at + DELIVERY_CHECKS[attempt - 1],
        payload={"notice_id": notice.id, "attempt": attempt},
        now=notice.sent_at,
    )


# ----- confirming -------------------------------------------------------------------------------------------


class SeenOutcome(StrEnum):
    """What a Seen press did."""

    NOT_YOURS = "not_yours"  # no copy: only recipients confirm
    ALREADY = "already"
    SEEN = "seen"


@dataclass(frozen=True)
class SeenResult:
    """The result of a Seen press, for the answer to the presser."""

    outcome: SeenOutcome
    seen_at: datetime | None = None
    post_code: str | None = None
    view: NoticeView | None = None


@dataclass(frozen=True)
class Press:
    """One Seen press: which notice, by whom."""

    notice_id: int
    member: Member


async def confirm(session: AsyncSession, runtime: Runtime, *, notice_id: int, member: Member) -> SeenResult:
    """Seen: one conditional UPDATE records the first press; the copy shows it; the card follows."""
    [result] = await confirm_many(session, runtime, [Press(notice_id, member)])
    return result


async def confirm_many(session: AsyncSession, runtime: Runtime, presses: list[Press]) -> list[SeenResult]:
    """Seen presses of many readers in one unit of work, in order: one conditional UPDATE records the first
    press of each copy (a second changes nothing), one statement queues the copies' "✓ Seen 09:42" edits,
    one the audit entries; the cards of the notices concerned are booked for their next redraw."""
    notices = sorted({p.notice_id for p in presses})
    for notice_id in notices:
        await store.hold_notice(session, notice_id=notice_id)
    now = runtime.clock.now()
    pairs = [(p.notice_id, p.member.id or 0) for p in presses]
    marked = await store.mark_seen(session, pairs=list(dict.fromkeys(pairs)), now=now)
    known = await store.get_recipients(session, pairs=[pair for pair in pairs if pair not in marked])
    results: list[SeenResult] = []
    edits: list[QueuedMessage] = []
    entries: list[Action] = []
    for press, pair in zip(presses, pairs, strict=True):
        recipient = marked.pop(pair, None)
        if recipient is None:
            earlier = known.get(pair)
            if earlier is None:
                results.append(SeenResult(SeenOutcome.NOT_YOURS))
            else:
                results.append(SeenResult(SeenOutcome.ALREADY, earlier.seen_at or now, earlier.post_code))
            continue
        # The same copy twice in one batch: the second press finds it confirmed.
        known[pair] = recipient
        view = await cached_view(session, runtime, press.notice_id)
        assert view is not None
        # Redrawn in the reader's language now (they may have switched since the copy reached them).
        language = reader_language(runtime, press.member)
        edits.append(
            seen_edit(runtime, view, recipient, language=language, chat_id=press.member.chat_id, seen_at=now)
        )
        if recipient.reminders:
            await show_seen_on_reminders(session, runtime, view, recipient, language=language, seen_at=now)
        entries.append(
            Action(
                at=now,
                actor_member_id=press.member.id,
                action="notice.seen",
                object_type="notice",
                object_id=str(press.notice_id),
                post_code=recipient.post_code,
                details={
                    "seconds_from_sent": max(0.0, (now - view.sent_at).total_seconds()),
                    "service": recipient.service_code,
                    "reminded": recipient.reminders,
                },
            )
        )
        results.append(SeenResult(SeenOutcome.SEEN, now, recipient.post_code, view))
    if edits:
        await enqueue_many(session, edits)
        # Audit entries of a burst go in as one insert rather than one statement each.
        await record_actions(session, entries)
        # The interval is read once the notices are held (SQLite: once the write turn is ours): a redraw
        # that already ran cannot have missed these confirmations.
        later = runtime.clock.now()
        for notice_id in {int(e.object_id or 0) for e in entries}:
            await schedule_card_refresh(session, runtime, notice_id, now=later)
    return results


def seen_edit(
    runtime: Runtime,
    view: NoticeView,
    recipient: NoticeRecipient,
    *,
    language: str,
    chat_id: int,
    seen_at: datetime,
) -> QueuedMessage:
    """The edit of a reader's copy to "✓ Seen 09:42" without its button, as an outbox row (a burst of them is
    queued in one statement; a copy is edited once, so there is no older edit to replace). Bulk: the reader
    already had the answer to their press; the sender's count goes first."""
    text = render_copy(
        runtime.config, view, language=language, post_code=recipient.post_code, seen_at=seen_at
    )
    return build_card_edit(
        card_key=recipient.card_key,
        chat_id=chat_id,
        member_id=recipient.member_id,
        text=text,
        caption=view.attachment_kind is not None,
        priority=Priority.BULK,
        ref=(REF_TYPE, recipient.notice_id),
        now=seen_at,
    )


async def show_seen_on_reminders(
    session: AsyncSession,
    runtime: Runtime,
    view: NoticeView,
    recipient: NoticeRecipient,
    *,
    language: str,
    seen_at: datetime,
) -> None:
    """Edit the reminders a reader got to "✓ Seen 09:42" (in `language`), without their button."""
    for number in range(1, recipient.reminders + 1):
        await enqueue_card_edit(
            session,
            card_key=reminder_key(recipient.notice_id, recipient.member_id, number),
            text=render_reminder(
                runtime.config,
                view,
                language=language,
                post_code=recipient.post_code,
                seen_at=seen_at,
            ),
            priority=Priority.BULK,
            now=seen_at,
        )


# ----- the sender's card ------------------------------------------------------------------------------------


async def schedule_card_refresh(
    session: AsyncSession, runtime: Runtime, notice_id: int, *, now: datetime
) -> None:
    """Have the sender's card redrawn at the end of the current interval: every change within one interval
    shares one edit, whatever the rate of confirmations.

    Call it while holding the notice (store.hold_notice): the redraw of an interval holds it exclusively, so a
    change either commits before that redraw counts (and is counted), or finds it done and books the next.
    """
    interval = runtime.config.notices.card_edit_seconds
    slot = math.floor(now.timestamp() / interval) + 1
    key = f"nt:{notice_id}:card:{slot}"
    booked: set[str] = runtime.extras.setdefault(BOOKED_SLOTS, set())
    if key in booked:
        return
    if await store.job_exists(session, key=key):
        # Booked by an earlier change of this interval, and committed: rows never disappear, so the next
        # changes of this interval need not look again (looking does not wake the scheduler; inserting does).
        if len(booked) > 10_000:
            booked.clear()
        booked.add(key)
        return
    await schedule_once(
        session,
        key=key,
        kind=CARD_KIND,
        run_at=datetime.fromtimestamp(slot * interval, UTC),
        payload={"notice_id": notice_id},
        now=now,
    )


async def tally_of(session: AsyncSession, notice_id: int) -> Tally:
    """Confirmations by post and service."""
    return Tally(await store.seen_counts(session, notice_id=notice_id))


async def refresh_card(
    session: AsyncSession, runtime: Runtime, notice: Notice, *, priority: Priority, immediate: bool = False
) -> bool:
    """Queue an edit of the sender's card with the current count (coalesced with any pending one); nothing
    when the card already shows it. True when an edit was queued. `immediate`: the sender acted (a reminder)
    or the notice ended, no need to wait for the interval."""
    assert notice.id is not None
    author = await get_member(session, member_id=notice.author_member_id)
    if author is None:
        return False
    now = runtime.clock.now()
    view = NoticeView.of(notice, author.display_name)
    tally = await tally_of(session, notice.id)
    language = reader_language(runtime, author)
    text = render_card(runtime.config, view, tally, language=language, reader_post=author.post_code, now=now)
    markup = card_markup(translator(language), view, tally, now=now)
    key = sender_card_key(notice.id)
    shown = await store.last_card_row(session, card_key=key)
    wanted = markup.to_dict() if markup is not None else None
    due = now
    if shown is not None:
        payload, state, sent_at, _due = shown
        if payload.get("text") == text and payload.get("reply_markup") == wanted:
            return False
        if not immediate and state != DeliveryState.PENDING:
            # However late a redraw ran, the card moves at most once per interval on the reader's screen:
            # an interval after the last edit went out (one in flight goes out now). An edit still waiting
            # takes the new text and keeps its turn.
            last = sent_at if state == DeliveryState.SENT and sent_at else now
            due = max(now, last + timedelta(seconds=runtime.config.notices.card_edit_seconds))
    edit = await enqueue_card_edit(
        session, card_key=key, text=text, reply_markup=markup, priority=priority, now=due
    )
    return edit is not None


async def run_card_refresh(
    session: AsyncSession, job: Any, *, runtime: Runtime, due_at: datetime, late: bool
) -> None:
    """The end of a card interval: one edit for every change since the last one."""
    notice_id = int((job.payload or {}).get("notice_id", 0))
    # Held exclusively: confirmations still committing are waited for, and counted.
    await store.hold_notice(session, notice_id=notice_id, exclusive=True)
    notice = await store.get_notice(session, notice_id=notice_id)
    if notice is not None:
        # Ahead of the readers' copies and their Seen edits (bulk): the count is what the sender watches,
        # and a redraw claimed but waiting behind them would make the next one follow it too closely.
        await refresh_card(session, runtime, notice, priority=Priority.NORMAL)


# ----- following: who has not read it, remind them ------------------------------------------------------


def may_follow(member: Member, notice: Notice) -> bool:
    """The sender, the chiefs of the (one) post it went to, coordinators."""
    return may_follow_notice(member, author_member_id=notice.author_member_id, posts=notice.posts)


@dataclass(frozen=True)
class Unread:
    """Who has not read a notice: (post, service, name) by post, service and name, and how many copies."""

    view: NoticeView
    names: list[tuple[str, str | None, str]]
    total: int


def reader_group(recipient: NoticeRecipient, member: Member) -> str | None:
    """Where a reader is listed: their service; None for a chief of the whole post (listed as the post
    chiefs, as the card counts them), NO_SERVICE for anyone else of no service."""
    if recipient.service_code:
        return recipient.service_code
    return None if is_post_chief(member) else NO_SERVICE


async def unread(session: AsyncSession, runtime: Runtime, *, notice_id: int, member: Member) -> Unread | None:
    """Names of those who have not confirmed (None: no such notice, or not the member's to follow)."""
    notice = await store.get_notice(session, notice_id=notice_id)
    if notice is None or not may_follow(member, notice):
        return None
    rows = await store.list_unseen(session, notice_id=notice_id)
    tally = await tally_of(session, notice_id)
    names = [(r.post_code, reader_group(r, m), m.display_name) for r, m in rows]
    return Unread(await view_of(session, runtime, notice), names, tally.total)


async def follow(
    session: AsyncSession, runtime: Runtime, *, notice_id: int, member: Member
) -> tuple[NoticeView, Tally] | None:
    """The current count of a notice for someone who may follow it."""
    notice = await store.get_notice(session, notice_id=notice_id)
    if notice is None or not may_follow(member, notice):
        return None
    return await view_of(session, runtime, notice), await tally_of(session, notice_id)


class RemindOutcome(StrEnum):
    """What a reminder did."""

    NOT_ALLOWED = "not_allowed"
    EXPIRED = "expired"
    NOBODY = "nobody"  # everyone has read it
    TOO_SOON = "too_soon"
    REMINDED = "reminded"


@dataclass(frozen=True)
class RemindResult:
    """The result of a reminder, for the answer to the presser."""

    outcome: RemindOutcome
    count: int = 0
    next_at: datetime | None = None


async def remind(
    session: AsyncSession, runtime: Runtime, *, notice_id: int, member: Member | None
) -> RemindResult:
    """Remind the non-readers (only them), at most once per configured interval; `member` None: automatic."""
    now = runtime.clock.now()
    notice = await store.get_notice(session, notice_id=notice_id, lock=True)
    if notice is None or notice.id is None or (member is not None and not may_follow(member, notice)):
        return RemindResult(RemindOutcome.NOT_ALLOWED)
    if notice.expired_at is not None or notice.expires_at <= now:
        return RemindResult(RemindOutcome.EXPIRED)
    unseen = await store.list_unseen(session, notice_id=notice.id)
    if not unseen:
        return RemindResult(RemindOutcome.NOBODY)
    interval = timedelta(minutes=runtime.config.notices.remind_interval_minutes)
    if not await store.claim_reminder(
        session, notice_id=notice.id, now=now, last_before=now - interval, automatic=member is None
    ):
        last = notice.reminded_at
        return RemindResult(RemindOutcome.TOO_SOON, next_at=last + interval if last else None)
    notice = await store.get_notice(session, notice_id=notice.id)
    assert notice is not None and notice.id is not None
    view = await view_of(session, runtime, notice)
    tr_markups: dict[str, Any] = {}
    rendered: dict[tuple[str, str], str] = {}
    rows = []
    for recipient, reader in unseen:
        # A reminder is a new message: in the reader's language now, not the one their copy went in.
        language = reader_language(runtime, reader)
        key = (language, recipient.post_code)
        if key not in rendered:
            rendered[key] = render_reminder(
                runtime.config, view, language=language, post_code=recipient.post_code
            )
        if language not in tr_markups:
            tr_markups[language] = copy_markup(translator(language), notice.id)
        rows.append(
            build_message(
                chat_id=reader.chat_id,
                member_id=reader.id,
                text=rendered[key],
                reply_markup=tr_markups[language],
                priority=priority_of(notice.important),
                # A reminder is a nudge: it rings, even for a routine notice.
                silent=False,
                ref=(REF_TYPE, notice.id),
                card_key=reminder_key(notice.id, recipient.member_id, recipient.reminders + 1),
                now=now,
            )
        )
    await store.count_reminded(session, notice_id=notice.id, member_ids=[r.member_id for r, _ in unseen])
    await enqueue_many(session, rows)
    by_post = Counter(recipient.post_code for recipient, _ in unseen)
    for post_code in notice.posts:
        if not by_post.get(post_code):
            continue
        await record_action(
            session,
            action="notice.reminded",
            at=now,
            actor_member_id=member.id if member is not None else None,
            object_type="notice",
            object_id=notice.id,
            post_code=post_code,
            details={"recipients": by_post[post_code], "automatic": member is None},
        )
    await refresh_card(session, runtime, notice, priority=Priority.NORMAL, immediate=True)
    return RemindResult(RemindOutcome.REMINDED, len(unseen))


async def run_auto_reminder(
    session: AsyncSession, job: Any, *, runtime: Runtime, due_at: datetime, late: bool
) -> None:
    """The automatic reminder: once, to the non-readers, never after expiry (re-checked now)."""
    await remind(session, runtime, notice_id=int((job.payload or {}).get("notice_id", 0)), member=None)


# ----- expiry -----------------------------------------------------------------------------------------------


async def expire(session: AsyncSession, runtime: Runtime, *, notice_id: int) -> bool:
    """End a notice once: no more reminders, important copies unpinned, the last count on the card, audited
    per post."""
    now = runtime.clock.now()
    if not await store.mark_expired(session, notice_id=notice_id, now=now):
        return False
    notice = await store.get_notice(session, notice_id=notice_id)
    assert notice is not None and notice.id is not None
    await cancel(session, key=f"nt:{notice.id}:auto")
    if notice.important:
        # Unpinned everywhere (a pin still waiting is replaced by its unpin, never sent).
        await enqueue_many(
            session,
            [
                build_pin(
                    card_key=recipient.card_key,
                    chat_id=reader.chat_id,
                    member_id=reader.id,
                    pin=False,
                    priority=Priority.BULK,
                    ref=(REF_TYPE, notice.id),
                    now=now,
                )
                for recipient, reader in await store.list_copies(session, notice_id=notice.id)
            ],
        )
    tally = await tally_of(session, notice.id)
    by_post = tally.by_post()
    for post_code in notice.posts:
        total, seen = by_post.get(post_code, (0, 0))
        await record_action(
            session,
            action="notice.expired",
            at=now,
            object_type="notice",
            object_id=notice.id,
            post_code=post_code,
            details={"recipients": total, "seen": seen},
        )
    await refresh_card(session, runtime, notice, priority=Priority.NORMAL, immediate=True)
    return True


async def run_expiry(
    session: AsyncSession, job: Any, *, runtime: Runtime, due_at: datetime, late: bool
) -> None:
    """A notice's expiry time came."""
    await expire(session, runtime, notice_id=int((job.payload or {}).get("notice_id", 0)))


async def expire_overdue(session: AsyncSession, runtime: Runtime) -> None:
    """At start: notices whose expiry passed while the bot was down (beyond the scheduler's grace) end now."""
    for notice_id in await store.list_overdue_ids(session, now=runtime.clock.now()):
        await expire(session, runtime, notice_id=notice_id)


# ----- delivery checks --------------------------------------------------------------------------------------


async def run_delivery_check(
    session: AsyncSession, job: Any, *, runtime: Runtime, due_at: datetime, late: bool
) -> None:
    """Audit how a notice's copies were delivered, per post (from the outbox); look again while pending."""
    payload = job.payload or {}
    notice = await store.get_notice(session, notice_id=int(payload.get("notice_id", 0)))
    if notice is None or notice.id is None:
        return
    attempt = int(payload.get("attempt", 1))
    pending = False
    for post_code, counts in sorted((await store.delivery_counts(session, notice_id=notice.id)).items()):
        last = counts.pop("last_sent_at")
        if last is not None:
            counts["seconds_to_last_delivery"] = max(0.0, (last - notice.sent_at).total_seconds())
        pending = pending or bool(counts["pending"])
        await record_action(
            session,
            action="notice.delivered",
            at=runtime.clock.now(),
            object_type="notice",
            object_id=notice.id,
            post_code=post_code,
            details={**counts, "check": attempt},
        )
    if pending and attempt < len(DELIVERY_CHECKS):
        await schedule_delivery_check(session, notice, attempt=attempt + 1)


# ----- newcomers and returning members ----------------------------------------------------------------------


async def catch_up_newcomer(session: AsyncSession, runtime: Runtime, member: Member) -> int:
    """A member who joins a post receives the notices in force there that are addressed to them."""
    if member.id is None or not member.post_code:
        return 0
    now = runtime.clock.now()
    sent = 0
    for notice in await store.list_in_force_for_post(session, post_code=member.post_code, now=now):
        assert notice.id is not None
        if notice.author_member_id == member.id or not notice_addressed_to(
            member, posts=notice.posts, audience=notice.audience
        ):
            continue
        language, key = reader_language(runtime, member), copy_key(notice.id, member.id)
        await store.hold_notice(session, notice_id=notice.id)
        added = await store.add_recipients(
            session,
            rows=[
                {
                    "notice_id": notice.id,
                    "member_id": member.id,
                    "post_code": member.post_code,
                    "service_code": member.service_code,
                    "language": language,
                    "card_key": key,
                    "notified_at": now,
                    "seen_at": None,
                    "reminders": 0,
                }
            ],
        )
        if not added:
            continue  # already has it (the same join told twice)
        view = await view_of(session, runtime, notice)
        await enqueue_many(
            session, copy_rows(runtime, notice, view, [(member, member.post_code, language, key)], now=now)
        )
        await schedule_card_refresh(session, runtime, notice.id, now=runtime.clock.now())
        sent += 1
    return sent


async def catch_up_returning(session: AsyncSession, runtime: Runtime, member: Member) -> int:
    """A member who had blocked the bot talks again: the unread notices in force they never got come again."""
    if member.id is None:
        return 0
    now = runtime.clock.now()
    sent = 0
    for notice, recipient in await store.list_unseen_copies_of(session, member_id=member.id, now=now):
        assert notice.id is not None and recipient.id is not None
        state = await store.copy_state(session, card_key=recipient.card_key)
        if state not in (DeliveryState.UNREACHABLE, DeliveryState.FAILED):
            continue
        key = copy_key(notice.id, member.id, resend=int(now.timestamp()))
        await store.set_card_key(session, recipient_id=recipient.id, card_key=key, now=now)
        view = await view_of(session, runtime, notice)
        await enqueue_many(
            session,
            copy_rows(
                runtime,
                notice,
                view,
                # A copy sent again is a new message: in the member's language now.
                [(member, recipient.post_code, reader_language(runtime, member), key)],
                now=now,
            ),
        )
        sent += 1
    return sent


# ----- lists ------------------------------------------------------------------------------------------------


async def received(
    session: AsyncSession, runtime: Runtime, member: Member
) -> list[tuple[NoticeView, NoticeRecipient]]:
    """The notices in force a member received, unread first."""
    assert member.id is not None
    rows = await store.list_member_notices(
        session, member_id=member.id, now=runtime.clock.now(), limit=runtime.config.notices.list_size
    )
    return [(await view_of(session, runtime, notice), recipient) for notice, recipient in rows]


async def followed(session: AsyncSession, runtime: Runtime, member: Member) -> list[tuple[NoticeView, Tally]]:
    """The notices in force a member may follow (sent by them, to their post, or any for coordinators)."""
    assert member.id is not None
    notices = await store.list_followable(
        session,
        member_id=member.id,
        post_code=member.post_code,
        every_post=is_global(member),
        now=runtime.clock.now(),
        limit=runtime.config.notices.list_size,
    )
    return [
        (await view_of(session, runtime, n), await tally_of(session, n.id or 0))
        for n in notices
        if may_follow(member, n)
    ]


async def reopen(
    session: AsyncSession, runtime: Runtime, *, notice_id: int, member: Member
) -> tuple[Notice, NoticeView, NoticeRecipient] | None:
    """A member's own copy of a notice, to read it again (None when they never received it)."""
    assert member.id is not None
    recipient = await store.get_recipient(session, notice_id=notice_id, member_id=member.id)
    notice = await store.get_notice(session, notice_id=notice_id) if recipient is not None else None
    if notice is None or recipient is None:
        return None
    return notice, await view_of(session, runtime, notice), recipient
