"""The review log's queries: pages of audit entries by post, period, kind and service, exports, digests.

A page is found by keyset (the (at, id) of the entry it continues from), never by offset: the 50th page of a
year costs what the first does. When a filter names actions (a kind) or a service, the query is a UNION ALL
of one small index range per (post, action): each branch reads at most a page from an index ordered by time,
and the outer query merges them. The indexes are declared on `AuditEntry` (db/audit.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, false, func, text, tuple_, union_all
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import AuditEntry
from db.in_lists import padded
from db.types import UTC_NOW, table_of, utc_column

# Views a member keeps (older ones are pruned when a new /log opens): the buttons of older pages go stale.
VIEWS_KEPT = 10


class ReviewView(SQLModel, table=True):
    """What a reader is looking at in /log: the filter behind a page's buttons (they carry only its id)."""

    __tablename__ = "review_views"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="members.id", index=True)
    # None: every post the reader may read.
    post_code: str | None = Field(default=None, max_length=24)
    kind: str | None = Field(default=None, max_length=24)
    service_code: str | None = Field(default=None, max_length=24)
    # "today", "7", "30" or "dates" (typed), and the window it stands for, [since, until) in UTC.
    period: str = Field(default="7", max_length=8)
    since: datetime = Field(sa_column=utc_column())
    until: datetime = Field(sa_column=utc_column())
    created_at: datetime = Field(default_factory=UTC_NOW, sa_column=utc_column())


# ----- views ------------------------------------------------------------------------------------------------


async def create_view(session: AsyncSession, *, view: ReviewView) -> ReviewView:
    """Save a new view and forget the member's oldest ones."""
    session.add(view)
    await session.flush()
    keep = (
        select(ReviewView.id)
        .where(ReviewView.member_id == view.member_id)
        .order_by(col(ReviewView.id).desc())
        .limit(VIEWS_KEPT)
    )
    await session.exec(
        delete(ReviewView).where(
            col(ReviewView.member_id) == view.member_id, col(ReviewView.id).not_in(keep.scalar_subquery())
        )
    )
    return view


async def get_view(session: AsyncSession, *, view_id: int, member_id: int) -> ReviewView | None:
    """A member's own view (None for another's: a forged press)."""
    view = await session.get(ReviewView, view_id)
    return view if view is not None and view.member_id == member_id else None


async def update_view(session: AsyncSession, *, view: ReviewView, **changes: Any) -> ReviewView:
    """Change a view's filter."""
    for name, value in changes.items():
        setattr(view, name, value)
    session.add(view)
    await session.flush()
    return view


# ----- entries ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryFilter:
    """Which entries: posts (None: every post, and entries tied to none), a window, actions, a service."""

    since: datetime
    until: datetime
    posts: tuple[str, ...] | None = None
    # Exact actions (a kind's prefixes, expanded against the actions present); None: every action.
    actions: tuple[str, ...] | None = None
    service: str | None = None
    # Extra conditions on the entries themselves (a kind's SQL condition, say).
    extra: tuple[Any, ...] = field(default=())


async def distinct_actions(session: AsyncSession, *, prefixes: Sequence[str] | None = None) -> list[str]:
    """The actions present in the log (optionally only those starting with a prefix), without reading it:
    one index probe per action (a "loose index scan")."""
    statement = text(
        "WITH RECURSIVE a(action) AS ("
        " SELECT min(action) FROM audit_log"
        " UNION ALL"
        " SELECT (SELECT min(action) FROM audit_log WHERE audit_log.action > a.action) FROM a"
        " WHERE a.action IS NOT NULL"
        ") SELECT action FROM a WHERE action IS NOT NULL"
    )
    found = [str(row[0]) for row in (await session.exec(statement)).all()]  # type: ignore[call-overload]
    if prefixes is None:
        return found
    return [a for a in found if a.startswith(tuple(prefixes))]


def _conditions(
    flt: EntryFilter, cursor: tuple[datetime, int] | None = None, newer: bool = False
) -> list[Any]:
    """The window, the service and the extra conditions. With a cursor, the window's bound on its side is
    moved to the cursor: SQLite picks one bound per side for its index range, and with the window's it would
    walk every entry between the window's start and the cursor (a year's worth, deep in an export)."""
    table = table_of(AuditEntry).c
    lower = table.at >= flt.since
    upper = table.at < flt.until
    if cursor is not None and newer and cursor[0] > flt.since:
        lower = table.at >= cursor[0]
    elif cursor is not None and not newer and cursor[0] < flt.until:
        upper = table.at <= cursor[0]
    found = [lower, upper, *flt.extra]
    if flt.service is not None:
        found.append(table.service_code == flt.service)
    return found


def _branches(flt: EntryFilter) -> list[list[Any]]:
    """The conditions of each index range to read, newest first: one per post named, and per action when a
    kind is asked without a service ((post, action, at) ranges); with a service, one range per post on
    (post, service, at), the kind's actions filtered on the way (a service's entries are few)."""
    table = table_of(AuditEntry).c
    posts: Sequence[str | None] = flt.posts if flt.posts is not None else (None,)
    actions: Sequence[str | None] = (None,)
    shared: list[Any] = []
    if flt.actions is not None and flt.service is None:
        actions = flt.actions
    elif flt.actions is not None:
        shared.append(table.action.in_(list(flt.actions)))
    branches = []
    for post in posts:
        for action in actions:
            where = list(shared)
            if post is not None:
                where.append(table.post_code == post)
            if action is not None:
                where.append(table.action == action)
            branches.append(where)
    return branches


def _keyset(newer: bool, cursor: tuple[datetime, int] | None, inclusive: bool) -> list[Any]:
    """Entries after (or before) an entry's (at, id), as one row-value comparison an index range serves."""
    if cursor is None:
        return []
    table = table_of(AuditEntry).c
    key = tuple_(table.at, table.id)
    bound = tuple_(bindparam("c_at", cursor[0], type_=table.at.type), bindparam("c_id", cursor[1]))
    if newer:
        return [key >= bound if inclusive else key > bound]
    return [key <= bound if inclusive else key < bound]


async def page_ids(
    session: AsyncSession,
    *,
    flt: EntryFilter,
    limit: int,
    cursor: tuple[datetime, int] | None = None,
    newer: bool = False,
    inclusive: bool = False,
) -> list[int]:
    """Up to `limit` entry ids walking away from `cursor`: older ones newest first, or (`newer`) newer ones
    oldest first."""
    if flt.actions == ():
        return []
    table = table_of(AuditEntry)
    order = (table.c.at.asc(), table.c.id.asc()) if newer else (table.c.at.desc(), table.c.id.desc())
    common = [*_conditions(flt, cursor, newer), *_keyset(newer, cursor, inclusive)]
    branches = _branches(flt)
    if len(branches) == 1:
        query = select(table.c.id).where(*branches[0], *common).order_by(*order).limit(limit)
    else:
        parts = [
            select(table.c.id, table.c.at).where(*where, *common).order_by(*order).limit(limit).subquery()
            for where in branches
        ]
        merged = union_all(*(select(part.c.id, part.c.at) for part in parts)).subquery()
        merged_order = (
            (merged.c.at.asc(), merged.c.id.asc()) if newer else (merged.c.at.desc(), merged.c.id.desc())
        )
        query = select(merged.c.id).order_by(*merged_order).limit(limit)
    return [int(i) for i in (await session.exec(query)).all()]


async def entries_by_ids(session: AsyncSession, *, ids: Sequence[int]) -> list[AuditEntry]:
    """The entries with these ids, in the order given."""
    if not ids:
        return []
    rows = (await session.exec(select(AuditEntry).where(col(AuditEntry.id).in_(padded(ids))))).all()
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


async def logged_by_ids(session: AsyncSession, *, ids: Sequence[int]) -> list[LoggedEntry]:
    """Plain copies of the entries with these ids, in the order given (cheap: no ORM object)."""
    if not ids:
        return []
    table = table_of(AuditEntry)
    query = select(*(table.c[name] for name in _STREAMED)).where(table.c.id.in_(padded(ids)))
    by_id = {row[0]: logged(tuple(row)) for row in (await session.exec(query)).all()}
    return [by_id[i] for i in ids if i in by_id]


async def page_entries(
    session: AsyncSession,
    *,
    flt: EntryFilter,
    limit: int,
    cursor: tuple[datetime, int] | None = None,
    newer: bool = False,
    inclusive: bool = False,
) -> list[AuditEntry]:
    """Up to `limit` entries, newest first, older than `cursor` (or newer than it with `newer`)."""
    ids = await page_ids(session, flt=flt, limit=limit, cursor=cursor, newer=newer, inclusive=inclusive)
    found = await entries_by_ids(session, ids=ids)
    return list(reversed(found)) if newer else found


async def count_entries(session: AsyncSession, *, flt: EntryFilter, cap: int) -> int:
    """How many entries match, counting at most `cap` + 1 (a year of every post is not counted exactly);
    one query whatever the number of ranges."""
    if flt.actions == ():
        return 0
    table = table_of(AuditEntry)
    common = _conditions(flt)
    parts = [select(table.c.id).where(*where, *common).limit(cap + 1).subquery() for where in _branches(flt)]
    source = parts[0] if len(parts) == 1 else union_all(*(select(part.c.id) for part in parts)).subquery()
    limited = select(source.c.id).limit(cap + 1).subquery()
    return int((await session.exec(select(func.count()).select_from(limited))).one())


async def get_entry(session: AsyncSession, *, entry_id: int) -> AuditEntry | None:
    """One entry by id."""
    return await session.get(AuditEntry, entry_id)


@dataclass(frozen=True, slots=True)
class LoggedEntry:
    """A read-only copy of an audit entry, as exports read it: a plain row, not an ORM object (a million of
    those would cost a minute of CPU on the event loop)."""

    id: int
    at: datetime
    actor_member_id: int | None
    actor_telegram_id: int | None
    action: str
    object_type: str | None
    object_id: str | None
    post_code: str | None
    service_code: str | None
    details: dict[str, Any]


_STREAMED: tuple[str, ...] = (
    *("id", "at", "actor_member_id", "actor_telegram_id", "action", "object_type", "object_id"),
    *("post_code", "service_code", "details"),
)


def logged(row: Sequence[Any]) -> LoggedEntry:
    """A streamed row as an entry (call it off the event loop for big batches)."""
    return LoggedEntry(*row)


async def stream_entries(
    session: AsyncSession, *, flt: EntryFilter, batch: int = 2000
) -> AsyncIterator[list[tuple[Any, ...]]]:
    """Every matching entry as a row of `_STREAMED` columns (see `logged`), oldest first, a batch at a time
    (keyset: bounded memory, any size)."""
    table = table_of(AuditEntry)
    cursor: tuple[datetime, int] | None = None
    plain = EntryFilter(
        since=flt.since, until=flt.until, posts=flt.posts, service=flt.service, extra=flt.extra
    )
    actions = set(flt.actions) if flt.actions is not None else None
    while True:
        conditions = [*_conditions(plain, cursor, True), *_keyset(True, cursor, False)]
        if plain.posts is not None:
            conditions.append(table.c.post_code.in_(plain.posts) if plain.posts else false())
        if actions is not None:
            conditions.append(table.c.action.in_(sorted(actions)) if actions else false())
        columns = [table.c[name] for name in _STREAMED]
        query = select(*columns).where(*conditions).order_by(table.c.at, table.c.id).limit(batch)
        rows = [tuple(row) for row in (await session.exec(query)).all()]
        if not rows:
            return
        yield rows
        cursor = (rows[-1][1], rows[-1][0])
        if len(rows) < batch:
            return


@dataclass(frozen=True)
class FigureCount:
    """How many entries of one action (and category, severity, late, on time) a post wrote in a window."""

    post_code: str | None
    action: str
    category: str | None
    severity: str | None
    late: bool | None
    on_time: bool | None
    count: int
    # Sum of details["recipients"] (notices), and how many distinct objects (alerts escalated, items overdue).
    recipients: int
    objects: int


async def figure_counts(
    session: AsyncSession,
    *,
    since: datetime,
    until: datetime,
    actions: Sequence[str],
    posts: Sequence[str] | None = None,
) -> list[FigureCount]:
    """A digest's counts, grouped by the database (the entries' details are read there, not in Python)."""
    if not actions:
        return []
    table = table_of(AuditEntry).c
    details = table_of(AuditEntry).c.details
    category = details["category"].as_string()
    severity = details["severity"].as_string()
    late = details["late"].as_boolean()
    on_time = details["on_time"].as_boolean()
    query = (
        select(  # type: ignore[call-overload]
            table.post_code,
            table.action,
            category,
            severity,
            late,
            on_time,
            func.count(),
            func.coalesce(func.sum(details["recipients"].as_integer()), 0),
            func.count(func.distinct(table.object_id)),
        )
        .where(table.at >= since, table.at < until, table.action.in_(list(actions)))
        .group_by(table.post_code, table.action, category, severity, late, on_time)
    )
    if posts is not None:
        query = query.where(table.post_code.in_(list(posts)))
    rows = (await session.exec(query)).all()
    return [
        FigureCount(
            post_code=row[0],
            action=row[1],
            category=row[2],
            severity=row[3],
            late=row[4],
            on_time=row[5],
            count=int(row[6]),
            recipients=int(row[7] or 0),
            objects=int(row[8]),
        )
        for row in rows
    ]


async def ack_seconds(
    session: AsyncSession, *, since: datetime, until: datetime, posts: Sequence[str] | None = None
) -> list[tuple[str | None, str | None, float]]:
    """(post, service, seconds) of every first acknowledgement of an alert in a window."""
    table = table_of(AuditEntry).c
    details = table_of(AuditEntry).c.details
    seconds = details["seconds_to_ack"].as_float()
    query = select(table.post_code, details["service"].as_string(), seconds).where(
        table.at >= since,
        table.at < until,
        table.action.in_(["alert.seen", "alert.taking_action"]),
        seconds.is_not(None),
    )
    if posts is not None:
        query = query.where(table.post_code.in_(list(posts)))
    return [(post, service, float(value)) for post, service, value in (await session.exec(query)).all()]


async def objects_of(
    session: AsyncSession,
    *,
    since: datetime,
    until: datetime,
    action: str,
    posts: Sequence[str] | None = None,
) -> list[tuple[str | None, str | None]]:
    """(post, object id) of the entries of one action in a window (the notices a digest follows)."""
    table = table_of(AuditEntry).c
    query = select(table.post_code, table.object_id).where(
        table.at >= since, table.at < until, table.action == action
    )
    if posts is not None:
        query = query.where(table.post_code.in_(list(posts)))
    return [(post, object_id) for post, object_id in (await session.exec(query)).all()]


async def seen_by(
    session: AsyncSession,
    *,
    object_ids: Sequence[str],
    actions: Sequence[str],
    since: datetime,
    until: datetime,
) -> list[tuple[str | None, int | None, str | None]]:
    """(object id, actor, post) of entries of some actions on some objects in a window (a notice's Seen, at
    the reader's post): read through the (action, at) index, the objects picked on the way (object ids are
    not indexed)."""
    table = table_of(AuditEntry).c
    found: list[tuple[str | None, int | None, str | None]] = []
    ids = list(dict.fromkeys(object_ids))
    for start in range(0, len(ids), 500):
        query = select(table.object_id, table.actor_member_id, table.post_code).where(
            table.action.in_(list(actions)),
            table.at >= since,
            table.at < until,
            table.object_id.in_(padded(ids[start : start + 500])),
        )
        found += [(object_id, actor, post) for object_id, actor, post in (await session.exec(query)).all()]
    return found
