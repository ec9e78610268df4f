"""Alerts: raised alerts, each recipient's copy, and per-service acknowledgements."""

from __future__ import annotations

import functools
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    cast,
    func,
    insert,
    or_,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.in_lists import padded
from db.members import Member, MemberStatus
from db.outbox import DeliveryState, Notification
from db.types import dialect_insert, table_of, utc_column


class Severity(StrEnum):
    """How serious an alert is; decides priority, sound and the escalation ladder."""

    INFO = "info"
    IMPORTANT = "important"
    URGENT = "urgent"


class AlertState(StrEnum):
    """Life of a raised alert."""

    OPEN = "open"
    RESOLVED = "resolved"


class AckKind(StrEnum):
    """What an acknowledgement says."""

    SEEN = "seen"
    ACTION = "action"


class Alert(SQLModel, table=True):
    """A raised alert."""

    __tablename__ = "alerts"

    id: int | None = Field(default=None, primary_key=True)
    # Unique: the same draft or message can never become two alerts.
    client_token: str = Field(max_length=64, unique=True)
    post_code: str = Field(foreign_key="posts.code", index=True)
    author_member_id: int = Field(foreign_key="members.id", index=True)
    author_service_code: str | None = Field(default=None, max_length=24)
    category: str = Field(max_length=24)
    severity: str = Field(max_length=16)
    text: str = Field(sa_column=Column(Text, nullable=False))
    latitude: float | None = None
    longitude: float | None = None
    photo_file_id: str | None = Field(default=None, max_length=256)
    state: str = Field(default=AlertState.OPEN, max_length=16, index=True)
    # Snapshots taken when raised, so a later config change does not rewrite history:
    # every post that received it, and the "POST/service" pairs that must acknowledge.
    posts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    required: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    raised_at: datetime = Field(sa_column=utc_column(index=True))
    handled_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    escalation_level: int = 0
    resolved_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    resolved_by_member_id: int | None = Field(default=None, foreign_key="members.id")
    outcome: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class AlertRecipient(SQLModel, table=True):
    """One member's copy of an alert, with their own receipts."""

    __tablename__ = "alert_recipients"
    __table_args__ = (UniqueConstraint("alert_id", "member_id", name="uq_alert_recipient"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alerts.id", index=True)
    member_id: int = Field(foreign_key="members.id", index=True)
    post_code: str = Field(max_length=24)
    service_code: str | None = Field(default=None, max_length=24)
    card_key: str = Field(max_length=64)
    # Full cards (author, chiefs, coordinators) show every service's line; edited on each acknowledgement.
    full: bool = False
    notified_at: datetime = Field(sa_column=utc_column())
    seen_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    action_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class AlertAck(SQLModel, table=True):
    """A service's first acknowledgement of an alert at one post (one row per service, first one wins)."""

    __tablename__ = "alert_acks"
    __table_args__ = (UniqueConstraint("alert_id", "post_code", "service_code", name="uq_alert_ack_service"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alerts.id", index=True)
    post_code: str = Field(max_length=24)
    service_code: str = Field(max_length=24)
    kind: str = Field(max_length=8)
    member_id: int = Field(foreign_key="members.id")
    acked_at: datetime = Field(sa_column=utc_column())
    # From raising to this service's first acknowledgement, for coordinators' reports.
    seconds_to_ack: float
    action_member_id: int | None = Field(default=None, foreign_key="members.id")
    action_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


def card_key(alert_id: int, member_id: int) -> str:
    """The outbox identity of one member's copy of an alert."""
    return f"al:{alert_id}:{member_id}"


def pair(post_code: str, service_code: str) -> str:
    """The stored form of a (post, service) pair."""
    return f"{post_code}/{service_code}"


def split_pair(value: str) -> tuple[str, str]:
    """Inverse of `pair`."""
    post_code, _, service_code = value.partition("/")
    return post_code, service_code


# ----- alerts -----------------------------------------------------------------------------------------------


async def create_alert(session: AsyncSession, *, alert: Alert) -> Alert | None:
    """Insert a raised alert; None when its client token was already used (a repeated update)."""
    try:
        async with session.begin_nested():
            session.add(alert)
            await session.flush()
    except IntegrityError:
        return None
    return alert


async def get_alert(session: AsyncSession, *, alert_id: int, lock: bool = False) -> Alert | None:
    """An alert; `lock` serialises acks and escalation steps on PostgreSQL (SQLite already does)."""
    query = select(Alert).where(Alert.id == alert_id)
    if lock:
        query = query.with_for_update()
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def get_alert_by_token(session: AsyncSession, *, client_token: str) -> Alert | None:
    """The alert raised from this client token, if any."""
    return (await session.exec(select(Alert).where(Alert.client_token == client_token))).first()


async def find_raised(
    session: AsyncSession,
    *,
    client_token: str,
    author_member_id: int,
    category: str,
    severity: str,
    text: str,
    since: datetime,
) -> Alert | None:
    """The alert raised from this client token (a repeated update), else an open alert with the same author,
    category, severity and text since `since` (a resent message); one query."""
    rows = await session.exec(
        select(Alert)
        .where(
            or_(
                col(Alert.client_token) == client_token,
                and_(
                    col(Alert.author_member_id) == author_member_id,
                    col(Alert.category) == category,
                    col(Alert.severity) == severity,
                    col(Alert.state) == AlertState.OPEN,
                    col(Alert.raised_at) >= since,
                ),
            )
        )
        .order_by(col(Alert.id).desc())
    )
    found = rows.all()
    same_token = next((a for a in found if a.client_token == client_token), None)
    return same_token or next((a for a in found if a.text == text), None)


async def list_open_alerts(
    session: AsyncSession, *, post_codes: list[str] | None, limit: int = 20
) -> list[Alert]:
    """Open alerts of these posts (None: every post), newest first."""
    query = select(Alert).where(Alert.state == AlertState.OPEN).order_by(col(Alert.id).desc()).limit(limit)
    if post_codes is not None:
        query = query.where(col(Alert.post_code).in_(post_codes))
    return list((await session.exec(query)).all())


async def list_visible_open_alerts(
    session: AsyncSession, *, member_id: int, post_code: str | None, every_post: bool, limit: int = 20
) -> list[Alert]:
    """Open alerts a member may list, newest first: their post's (every post's), those sent to them, and
    those of other posts that went to their post (cross-border alerts reach partner posts)."""
    query = select(Alert).where(Alert.state == AlertState.OPEN).order_by(col(Alert.id).desc()).limit(limit)
    if not every_post:
        sent_to_member = select(AlertRecipient.alert_id).where(AlertRecipient.member_id == member_id)
        conditions: list[ColumnElement[bool]] = [col(Alert.id).in_(sent_to_member)]
        if post_code:
            # `posts` is a JSON list of post codes ([A-Z0-9_-]): its text holds the quoted code exactly.
            conditions += [
                col(Alert.post_code) == post_code,
                cast(col(Alert.posts), Text).contains(f'"{post_code}"', autoescape=True),
            ]
        query = query.where(or_(*conditions))
    return list((await session.exec(query)).all())


async def resolve_alert(
    session: AsyncSession, *, alert_id: int, member_id: int, outcome: str, now: datetime
) -> bool:
    """Mark an open alert resolved; False when it already was (the single conditional UPDATE decides)."""
    result = await session.exec(
        update(Alert)
        .where(col(Alert.id) == alert_id, col(Alert.state) == AlertState.OPEN)
        .values(state=AlertState.RESOLVED, resolved_at=now, resolved_by_member_id=member_id, outcome=outcome)
    )
    return bool(result.rowcount)


async def mark_handled(session: AsyncSession, *, alert_id: int, now: datetime) -> bool:
    """Record the moment every required service had acknowledged; True only the first time."""
    result = await session.exec(
        update(Alert).where(col(Alert.id) == alert_id, col(Alert.handled_at).is_(None)).values(handled_at=now)
    )
    return bool(result.rowcount)


async def raise_escalation_level(session: AsyncSession, *, alert_id: int, level: int) -> None:
    """Remember the highest escalation step that ran."""
    await session.exec(
        update(Alert)
        .where(col(Alert.id) == alert_id, col(Alert.escalation_level) < level)
        .values(escalation_level=level)
    )


# ----- recipients -------------------------------------------------------------------------------------------


async def add_recipient(session: AsyncSession, *, recipient: AlertRecipient) -> AlertRecipient | None:
    """Add a member's copy; None when they already have one."""
    try:
        async with session.begin_nested():
            session.add(recipient)
            await session.flush()
    except IntegrityError:
        return None
    return recipient


async def add_new_recipients(session: AsyncSession, *, recipients: list[AlertRecipient]) -> None:
    """Write the copies of a new alert in one statement (it has no copy yet, and nobody reads their ids
    back: the ORM would insert them one by one to learn each id)."""
    if recipients:
        rows = [r.model_dump(exclude={"id"}) for r in recipients]
        await session.exec(insert(table_of(AlertRecipient)), params=rows)


async def renew_card_key(
    session: AsyncSession, *, recipient: AlertRecipient, now: datetime
) -> AlertRecipient:
    """Give a member's copy a new card key (a copy sent again after the first never arrived)."""
    assert recipient.id is not None
    key = f"{card_key(recipient.alert_id, recipient.member_id)}:{int(now.timestamp())}"
    await session.exec(
        update(AlertRecipient).where(col(AlertRecipient.id) == recipient.id).values(card_key=key)
    )
    recipient.card_key = key
    return recipient


async def get_recipient(session: AsyncSession, *, alert_id: int, member_id: int) -> AlertRecipient | None:
    """A member's copy of an alert, if they received one."""
    return (
        await session.exec(
            select(AlertRecipient)
            .where(AlertRecipient.alert_id == alert_id, AlertRecipient.member_id == member_id)
            # Current values, not a copy a rolled-back batch noted receipts on (set_committed_value).
            .execution_options(populate_existing=True)
        )
    ).first()


async def get_alerts(session: AsyncSession, *, alert_ids: set[int], lock: bool = False) -> dict[int, Alert]:
    """Several alerts by id, in one query; `lock` as get_alert (taken in id order: no deadlock between two
    batches of presses)."""
    if not alert_ids:
        return {}
    query = select(Alert).where(col(Alert.id).in_(padded(sorted(alert_ids)))).order_by(col(Alert.id))
    if lock:
        query = query.with_for_update()
    rows = (await session.exec(query.execution_options(populate_existing=True))).all()
    return {alert.id: alert for alert in rows if alert.id is not None}


async def get_recipients(
    session: AsyncSession, *, pairs: set[tuple[int, int]]
) -> dict[tuple[int, int], AlertRecipient]:
    """The copies of these (alert, member) pairs that exist, in one query."""
    if not pairs:
        return {}
    query = select(AlertRecipient).where(
        tuple_(col(AlertRecipient.alert_id), col(AlertRecipient.member_id)).in_(padded(sorted(pairs)))
    )
    rows = (await session.exec(query.execution_options(populate_existing=True))).all()
    return {(r.alert_id, r.member_id): r for r in rows}


async def list_recipients(session: AsyncSession, *, alert_id: int) -> list[AlertRecipient]:
    """Every copy of an alert."""
    query = select(AlertRecipient).where(AlertRecipient.alert_id == alert_id).order_by(col(AlertRecipient.id))
    return list((await session.exec(query)).all())


async def record_receipts(session: AsyncSession, *, seen: list[int], acted: list[int], now: datetime) -> None:
    """Write members' own receipts of a batch of presses, at most one statement per kind: taking action for
    the copies in `acted`, seen for those in `seen` (a receipt already there is kept)."""
    for column, ids in (("action_at", acted), ("seen_at", seen)):
        if ids:
            await session.exec(_receipt_statement(column), params=[{"copy": i, "at": now} for i in ids])


@functools.cache
def _receipt_statement(column: str) -> Any:
    """UPDATE of one receipt column where it is still empty, built once (bound: copy id and moment)."""
    table = table_of(AlertRecipient)
    return (
        update(table)
        .where(table.c.id == bindparam("copy"), table.c[column].is_(None))
        .values({column: bindparam("at")})
    )


# ----- acknowledgements -------------------------------------------------------------------------------------


async def record_author_ack(
    session: AsyncSession, *, alert: Alert, service_code: str, member_id: int
) -> AlertAck:
    """The author's service acknowledgement of the alert just raised: its only one, so a plain INSERT (no
    conflict to settle, nothing to read back); the row is returned as written, detached."""
    assert alert.id is not None
    ack = AlertAck(
        alert_id=alert.id,
        post_code=alert.post_code,
        service_code=service_code,
        kind=AckKind.SEEN,
        member_id=member_id,
        acked_at=alert.raised_at,
        seconds_to_ack=0.0,
    )
    await session.exec(insert(table_of(AlertAck)).values(ack.model_dump(exclude={"id"})))
    return ack


async def acknowledge(
    session: AsyncSession,
    *,
    alert: Alert,
    post_code: str,
    service_code: str,
    member_id: int,
    kind: AckKind,
    now: datetime,
) -> tuple[AlertAck, str]:
    """Acknowledge for a service; returns the service's ack row and 'first', 'upgraded' or 'already'."""
    assert alert.id is not None
    values = {
        "alert_id": alert.id,
        "post_code": post_code,
        "service_code": service_code,
        "kind": kind,
        "member_id": member_id,
        "acked_at": now,
        "seconds_to_ack": max(0.0, (now - alert.raised_at).total_seconds()),
        "action_member_id": member_id if kind == AckKind.ACTION else None,
        "action_at": now if kind == AckKind.ACTION else None,
    }
    insert = dialect_insert(session)
    # One atomic statement: of two members of a service pressing at once, exactly one row is written.
    result = await session.exec(insert(AlertAck).values(**values).on_conflict_do_nothing())
    outcome = "first" if result.rowcount else "already"
    if outcome == "already" and kind == AckKind.ACTION:
        upgraded = await session.exec(
            update(AlertAck)
            .where(
                col(AlertAck.alert_id) == alert.id,
                col(AlertAck.post_code) == post_code,
                col(AlertAck.service_code) == service_code,
                col(AlertAck.kind) == AckKind.SEEN,
            )
            .values(kind=AckKind.ACTION, action_member_id=member_id, action_at=now)
        )
        if upgraded.rowcount:
            outcome = "upgraded"
    row = (
        await session.exec(
            select(AlertAck)
            .where(
                AlertAck.alert_id == alert.id,
                AlertAck.post_code == post_code,
                AlertAck.service_code == service_code,
            )
            .execution_options(populate_existing=True)
        )
    ).one()
    return row, outcome


async def acks_of(session: AsyncSession, *, alert_ids: set[int]) -> dict[tuple[int, str, str], AlertAck]:
    """The service acknowledgements of these alerts, by (alert, post, service), in one query."""
    if not alert_ids:
        return {}
    query = select(AlertAck).where(col(AlertAck.alert_id).in_(padded(sorted(alert_ids))))
    rows = (await session.exec(query.execution_options(populate_existing=True))).all()
    return {(a.alert_id, a.post_code, a.service_code): a for a in rows}


async def list_acks(session: AsyncSession, *, alert_id: int) -> list[AlertAck]:
    """Every service acknowledgement of an alert, first first."""
    query = select(AlertAck).where(AlertAck.alert_id == alert_id).order_by(col(AlertAck.acked_at))
    return list((await session.exec(query.execution_options(populate_existing=True))).all())


def pending_required(alert: Alert, acks: list[AlertAck]) -> list[tuple[str, str]]:
    """Required (post, service) pairs that have not acknowledged yet."""
    done = {pair(a.post_code, a.service_code) for a in acks}
    return [split_pair(p) for p in alert.required if p not in done]


async def ack_times(
    session: AsyncSession, *, post_code: str | None = None, since: datetime | None = None
) -> list[tuple[int, str, str, float]]:
    """(alert id, post, service, seconds to first acknowledgement) rows for coordinators' reports."""
    query = select(
        AlertAck.alert_id, AlertAck.post_code, AlertAck.service_code, AlertAck.seconds_to_ack
    ).join(Alert, col(Alert.id) == col(AlertAck.alert_id))
    if post_code is not None:
        query = query.where(Alert.post_code == post_code)
    if since is not None:
        query = query.where(col(Alert.raised_at) >= since)
    return [tuple(row) for row in (await session.exec(query)).all()]  # type: ignore[misc]


async def delivery_counts(
    session: AsyncSession, *, alert_id: int, except_member_id: int | None = None
) -> dict[str, Any]:
    """How an alert's copies (cards, not edits or photos) reached people: counts by state, last send;
    `except_member_id`: leave out that member's copy (the author's, on the cards: they know)."""
    query = select(Notification.state, func.count(), func.max(Notification.sent_at)).where(
        Notification.ref_type == "alert",
        Notification.ref_id == alert_id,
        col(Notification.card_key).is_not(None),
        col(Notification.method).in_(("sendMessage", "sendPhoto")),
    )
    if except_member_id is not None:
        query = query.where(col(Notification.member_id).is_distinct_from(except_member_id))
    rows = await session.exec(query.group_by(Notification.state))
    counts: dict[str, Any] = {"sent": 0, "pending": 0, "failed": 0, "unreachable": 0, "last_sent_at": None}
    for state, count, last in rows.all():
        names: dict[str, str] = {
            DeliveryState.SENT: "sent",
            DeliveryState.FAILED: "failed",
            DeliveryState.UNREACHABLE: "unreachable",
        }
        key = names.get(state, "pending")
        counts[key] += count
        if state == DeliveryState.SENT:
            counts["last_sent_at"] = last
    return counts


async def list_live_copies(
    session: AsyncSession, *, alert_id: int, full_or_members: tuple[int, ...] | None = None
) -> list[tuple[AlertRecipient, Member]]:
    """Copies of an alert held by active members (all of them, or only full cards and these members')."""
    query = (
        select(AlertRecipient, Member)
        .join(Member, col(Member.id) == col(AlertRecipient.member_id))
        # A suspended or removed member's copy is no longer kept up to date: they must not read new
        # acknowledgements or the outcome of a post they can no longer use.
        .where(AlertRecipient.alert_id == alert_id, Member.status == MemberStatus.ACTIVE)
        .order_by(col(AlertRecipient.id))
    )
    if full_or_members is not None:
        # Only the copies whose text changes: fetched by the database, not filtered from every copy.
        query = query.where(
            or_(
                col(AlertRecipient.full).is_(True), col(AlertRecipient.member_id).in_(padded(full_or_members))
            )
        )
    return [(recipient, member) for recipient, member in (await session.exec(query)).all()]
