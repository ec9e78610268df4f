"""What the review log does, without Telegram: who may read which post, periods, kinds, pages and entries.

Every function takes a session and plain values and never commits. The features describe their own entries
(`Feature.log_kinds`): this module reads them from the runtime and never imports another feature.
"""

from __future__ import annotations

import dataclasses
import time as clock
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.access import may_review_post, review_posts
from bot.features import LogKind
from bot.i18n import Translator
from bot.runtime import Runtime
from db import review as store
from db.audit import AuditEntry
from db.members import Member, list_members_by_ids, member_names
from db.review import EntryFilter, LoggedEntry, ReviewView

PERIODS = ("today", "7", "30")
# A filter with a Python condition (a kind's `only`) reads candidates in batches of this size.
SCAN_BATCH = 100
SCAN_MAX = 5000
# Beyond this many entries a page says "more than N" instead of counting (a year of every post).
COUNT_CAP = 1000


# ----- scope ------------------------------------------------------------------------------------------------


def readable_posts(runtime: Runtime, member: Member) -> list[str]:
    """The configured posts a member may pick in /log (every post for coordinators, their own for chiefs)."""
    scope = review_posts(member)
    codes = [p.code for p in runtime.config.posts]
    return codes if scope is None else [c for c in codes if c in scope]


def may_read(member: Member, post_code: str | None) -> bool:
    """Whether the member may read a post's entries (None: every post, or entries tied to none)."""
    if post_code is None:
        return review_posts(member) is None
    return may_review_post(member, post_code)


def reads_one_post(member: Member) -> bool:
    """Whether the member reads a single post's log (a chief), not every post's (a coordinator)."""
    return review_posts(member) is not None


def view_posts(member: Member, view: ReviewView) -> tuple[str, ...] | None:
    """The posts a view reads, within what the member may read now (None: every post)."""
    scope = review_posts(member)
    if view.post_code is not None:
        return (view.post_code,) if may_read(member, view.post_code) else ()
    return None if scope is None else tuple(scope)


def find_post(runtime: Runtime, text: str) -> str | None:
    """A post typed by code or name ('NE-KONNI', 'konni', 'Kantchari'), or None."""
    wanted = text.strip().casefold()
    if not wanted:
        return None
    for post in runtime.config.posts:
        if wanted in (post.code.casefold(), post.name.casefold()):
            return post.code
    matches = [
        p.code for p in runtime.config.posts if wanted in p.name.casefold() or wanted in p.code.casefold()
    ]
    return matches[0] if len(matches) == 1 else None


# ----- periods ----------------------------------------------------------------------------------------------


def view_zone(runtime: Runtime, post_code: str | None) -> str:
    """The zone a view's days are read in: its post's, or the coordinators' zone for several posts."""
    return runtime.config.post_zone(post_code) if post_code else runtime.config.review.timezone


def day_start(day: date, zone: str) -> datetime:
    """Midnight of a day in a zone, in UTC."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def period_window(period: str, *, now: datetime, zone: str) -> tuple[datetime, datetime]:
    """[since, until) of 'today', '7' or '30' days (today included), in UTC."""
    today = now.astimezone(ZoneInfo(zone)).date()
    days = {"today": 1, "7": 7, "30": 30}[period]
    return day_start(today - timedelta(days=days - 1), zone), day_start(today + timedelta(days=1), zone)


def dates_window(first: date, last: date, zone: str) -> tuple[datetime, datetime]:
    """[since, until) from a first and a last day (both included)."""
    return day_start(first, zone), day_start(last + timedelta(days=1), zone)


def new_view(runtime: Runtime, member: Member, *, post_code: str | None, period: str = "7") -> ReviewView:
    """A fresh view: the last 7 days of a post (or of every post), every kind and service."""
    assert member.id is not None
    since, until = period_window(period, now=runtime.clock.now(), zone=view_zone(runtime, post_code))
    return ReviewView(
        member_id=member.id,
        post_code=post_code,
        period=period,
        since=since,
        until=until,
        created_at=runtime.clock.now(),
    )


# ----- kinds ------------------------------------------------------------------------------------------------


def kinds(runtime: Runtime) -> tuple[LogKind, ...]:
    """Every kind of entry the installed features describe."""
    return runtime.features.log_kinds


def kind_named(runtime: Runtime, key: str | None) -> LogKind | None:
    """The kind with this key (None when unknown or not given)."""
    return next((k for k in kinds(runtime) if k.key == key), None) if key else None


def kind_of(runtime: Runtime, entry: AuditEntry) -> LogKind | None:
    """The first kind an entry belongs to (features in menu order), or None."""
    return next((k for k in kinds(runtime) if k.takes(entry)), None)


def summary_of(runtime: Runtime, entry: AuditEntry, tr: Translator, kind: LogKind | None = None) -> str:
    """An entry's one-line summary by its feature (plain text), or its action and object."""
    kind = kind or kind_of(runtime, entry)
    if kind is not None and kind.summary is not None:
        try:
            return kind.summary(entry, tr, runtime)
        except (KeyError, ValueError, TypeError):
            pass  # an entry older than its feature's current form: say what we know
    subject = f" {entry.object_type} #{entry.object_id}" if entry.object_type else ""
    return f"{entry.action}{subject}"


# ----- subjects: the member an entry is about, named at render time ---------------------------------------

E = TypeVar("E", AuditEntry, LoggedEntry)
# The key a rendered copy's details name the member with (the stored entry only has the member's id).
MEMBER_NAME = "member_name"


def _member_id(entry: AuditEntry | LoggedEntry) -> int | None:
    if entry.object_type != "member" or not (entry.object_id or "").isdigit():
        return None
    return int(entry.object_id or "")


async def member_subjects(
    session: AsyncSession, entries: Iterable[AuditEntry | LoggedEntry]
) -> dict[int, tuple[str, str | None]]:
    """The display name and service of the members the entries are about, by id."""
    wanted = {i for i in (_member_id(e) for e in entries) if i is not None}
    if not wanted:
        return {}
    found = await list_members_by_ids(session, member_ids=sorted(wanted))
    return {m.id: (m.display_name, m.service_code) for m in found if m.id is not None}


def with_subject(entry: E, subjects: dict[int, tuple[str, str | None]]) -> E:
    """A copy of an entry about a member that names them (details[MEMBER_NAME]) and, when the entry does not
    say, their service; the entry itself when it is about no known member. The stored entry is untouched."""
    member_id = _member_id(entry)
    if member_id is None or member_id not in subjects:
        return entry
    name, service_code = subjects[member_id]
    details = {**(entry.details or {}), MEMBER_NAME: name}
    service = entry.service_code or service_code
    if isinstance(entry, AuditEntry):
        # A transient copy, never added to a session.
        return AuditEntry(**{**entry.model_dump(), "details": details, "service_code": service})
    return dataclasses.replace(entry, details=details, service_code=service)


# ----- pages ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A view turned into what the database is asked, plus the kind's own condition."""

    flt: EntryFilter
    kind: LogKind | None

    def keeps(self, entry: AuditEntry) -> bool:
        """Whether an entry read from the database belongs to the page (the kind's `only`)."""
        return self.kind is None or self.kind.only is None or self.kind.only(entry)


# The actions present in the log, and when they were read, kept with the runtime (not per process: two
# runtimes on one database URL, as the PostgreSQL test pass has one after another, must not share a stale
# list): a new action (a feature's first entry) shows in kind filters within this many seconds.
ACTIONS_TTL = 30.0
ACTIONS_KEY = "review.known_actions"


async def known_actions(session: AsyncSession, runtime: Runtime, prefixes: Sequence[str] | None) -> list[str]:
    """The log's actions (starting with a prefix), read again every ACTIONS_TTL seconds."""
    cached: tuple[float, list[str]] | None = runtime.extras.get(ACTIONS_KEY)
    if cached is None or clock.monotonic() - cached[0] > ACTIONS_TTL:
        cached = (clock.monotonic(), await store.distinct_actions(session))
        runtime.extras[ACTIONS_KEY] = cached
    return [a for a in cached[1] if prefixes is None or a.startswith(tuple(prefixes))]


async def query_of(session: AsyncSession, runtime: Runtime, member: Member, view: ReviewView) -> Query:
    """What to read for a view, within the member's scope now."""
    kind = kind_named(runtime, view.kind)
    actions: tuple[str, ...] | None = None
    if kind is not None:
        actions = tuple(await known_actions(session, runtime, kind.action_prefixes))
    flt = EntryFilter(
        since=view.since,
        until=view.until,
        posts=view_posts(member, view),
        actions=actions,
        service=view.service_code,
    )
    return Query(flt, kind)


@dataclass
class Page:
    """One page of entries, newest first, and whether there are newer and older ones."""

    entries: list[AuditEntry]
    number: int
    has_newer: bool
    has_older: bool
    # How many entries the view holds (capped at COUNT_CAP + 1), None when not counted.
    total: int | None
    names: dict[int, str]


async def _fetch(
    session: AsyncSession,
    query: Query,
    *,
    limit: int,
    cursor: tuple[datetime, int] | None,
    newer: bool,
    inclusive: bool,
) -> list[AuditEntry]:
    """Up to `limit` kept entries from a cursor, newest first. A kind with its own condition is scanned as
    plain rows in growing batches (few of its actions' entries may pass), then only the kept ones loaded."""
    if query.kind is None or query.kind.only is None:
        return await store.page_entries(
            session, flt=query.flt, limit=limit, cursor=cursor, newer=newer, inclusive=inclusive
        )
    kept: list[int] = []
    batch = SCAN_BATCH
    while len(kept) < limit:
        ids = await store.page_ids(
            session, flt=query.flt, limit=batch, cursor=cursor, newer=newer, inclusive=inclusive
        )
        if not ids:
            break
        rows = await store.logged_by_ids(session, ids=ids)
        kept += [row.id for row in rows if query.keeps(row)][: limit - len(kept)]  # type: ignore[arg-type]
        if len(ids) < batch:
            break
        edge = rows[-1]
        cursor, inclusive = (edge.at, edge.id), False
        batch = min(batch * 4, SCAN_MAX)
    found = await store.entries_by_ids(session, ids=kept)
    return list(reversed(found)) if newer else found


async def cursor_of(session: AsyncSession, entry_id: int | None) -> tuple[datetime, int] | None:
    """An entry's place in time order, for keyset paging (None when it does not exist)."""
    if entry_id is None:
        return None
    entry = await store.get_entry(session, entry_id=entry_id)
    return (entry.at, entry_id) if entry is not None else None


async def load_page(
    session: AsyncSession,
    runtime: Runtime,
    member: Member,
    view: ReviewView,
    *,
    direction: str = "first",
    anchor: int | None = None,
    number: int = 1,
    total: int | None = None,
) -> Page:
    """A page of a view: the first one, the one older ('older') or newer ('newer') than an entry, or the one
    starting at an entry ('at'). `total`: the count the first page made (deeper pages do not count again)."""
    size = runtime.config.review.page_size
    query = await query_of(session, runtime, member, view)
    cursor = await cursor_of(session, anchor)
    if cursor is None:
        direction, number = "first", 1
    if direction == "newer":
        entries = await _fetch(session, query, limit=size + 1, cursor=cursor, newer=True, inclusive=False)
        has_newer = len(entries) > size
        entries = entries[-size:]
        if not entries:
            return await load_page(session, runtime, member, view)
        edge = entries[-1]
        assert edge.id is not None
        has_older = bool(
            await _fetch(session, query, limit=1, cursor=(edge.at, edge.id), newer=False, inclusive=False)
        )
    else:
        inclusive = direction == "at"
        entries = await _fetch(
            session,
            query,
            limit=size + 1,
            cursor=cursor if direction != "first" else None,
            newer=False,
            inclusive=inclusive,
        )
        has_older = len(entries) > size
        entries = entries[:size]
        if not entries and direction != "first":
            return await load_page(session, runtime, member, view)
        has_newer = False
        if entries and direction != "first":
            top = entries[0]
            assert top.id is not None
            has_newer = bool(
                await _fetch(session, query, limit=1, cursor=(top.at, top.id), newer=True, inclusive=False)
            )
    if not has_newer:
        number = 1
    if direction == "first" and not has_older:
        total = len(entries)
    elif direction == "first" or total is None:
        total = None
        if query.kind is None or query.kind.only is None:
            total = await store.count_entries(session, flt=query.flt, cap=COUNT_CAP)
    names = await member_names(
        session, member_ids={e.actor_member_id for e in entries if e.actor_member_id is not None}
    )
    subjects = await member_subjects(session, entries)
    entries = [with_subject(e, subjects) for e in entries]
    return Page(entries, max(1, number), has_newer, has_older, total, names)


async def open_entry(session: AsyncSession, member: Member, entry_id: int | None) -> AuditEntry | None:
    """An entry the member may read (None for another post's, or one that does not exist)."""
    if entry_id is None:
        return None
    entry = await store.get_entry(session, entry_id=entry_id)
    if entry is None or not may_read(member, entry.post_code):
        return None
    return entry


def services_of(runtime: Runtime, post_code: str | None) -> Sequence[str]:
    """The services a view may filter on: the post's, or every service."""
    if post_code and runtime.config.find_post(post_code) is not None:
        return runtime.config.post_services(post_code)
    return tuple(s.code for s in runtime.config.services)
