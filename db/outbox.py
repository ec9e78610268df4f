"""The transactional outbox: every notification is a row written with the event that caused it."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import request_wake
from db.types import UTC_NOW, big_int_column, utc_column

OUTBOX_WAKE = "outbox"


class Priority(IntEnum):
    """Delivery order: lower goes first."""

    URGENT = 0
    HIGH = 1
    NORMAL = 2
    BULK = 3

    @classmethod
    def parse(cls, name: str) -> Priority:
        """Priority from its config name ('urgent', 'bulk'...)."""
        return cls[name.upper()]


class DeliveryState(StrEnum):
    """Life of an outbox row."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    SUPERSEDED = "superseded"


class Notification(SQLModel, table=True):
    """One message (or edit) to deliver to one chat."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_ready", "state", "priority", "not_before", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=UTC_NOW, sa_column=utc_column())
    chat_id: int = Field(sa_column=big_int_column(index=True))
    member_id: int | None = Field(default=None, foreign_key="members.id", index=True)
    # Bot API method and its parameters (without chat_id), e.g. sendMessage {"text": ..., "reply_markup": ...}.
    method: str = Field(max_length=32)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    priority: int = Field(default=Priority.NORMAL)
    state: str = Field(default=DeliveryState.PENDING, max_length=16)
    attempts: int = 0
    not_before: datetime = Field(default_factory=UTC_NOW, sa_column=utc_column())
    lease_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    claimed_by: str | None = Field(default=None, max_length=64)
    last_error: str | None = Field(default=None, max_length=500)
    telegram_message_id: int | None = Field(default=None, sa_column=big_int_column(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # What the message belongs to, e.g. ("alert", 17), for visibility and for cards.
    ref_type: str | None = Field(default=None, max_length=32, index=True)
    ref_id: int | None = Field(default=None, index=True)
    # A status card's identity on one recipient's phone, e.g. "alert:17:m42": edits target the sent copy.
    card_key: str | None = Field(default=None, max_length=64, index=True)


async def enqueue_message(
    session: AsyncSession,
    *,
    chat_id: int,
    text: str | None = None,
    priority: Priority = Priority.NORMAL,
    member_id: int | None = None,
    reply_markup: dict[str, Any] | None = None,
    silent: bool = False,
    photo: str | None = None,
    location: tuple[float, float] | None = None,
    ref: tuple[str, int] | None = None,
    card_key: str | None = None,
    now: datetime | None = None,
) -> Notification:
    """Queue one message for delivery in the caller's transaction (HTML text; photo by file id; or a location)."""
    payload: dict[str, Any]
    if location is not None:
        method, payload = "sendLocation", {"latitude": location[0], "longitude": location[1]}
    elif photo is not None:
        method, payload = "sendPhoto", {"photo": photo, "caption": text, "parse_mode": "HTML"}
    else:
        method, payload = "sendMessage", {"text": text, "parse_mode": "HTML",
                                          "link_preview_options": {"is_disabled": True}}
    if reply_markup is not None:
        payload["reply_markup"] = reply_markup
    if silent:
        payload["disable_notification"] = True
    row = Notification(
        chat_id=chat_id,
        member_id=member_id,
        method=method,
        payload={k: v for k, v in payload.items() if v is not None},
        priority=int(priority),
        ref_type=ref[0] if ref else None,
        ref_id=ref[1] if ref else None,
        card_key=card_key,
    )
    if now is not None:
        row.created_at = now
        row.not_before = now
    session.add(row)
    await session.flush()
    request_wake(session, OUTBOX_WAKE)
    return row


async def enqueue_card_edit(
    session: AsyncSession,
    *,
    card_key: str,
    text: str,
    reply_markup: dict[str, Any] | None = None,
    priority: Priority = Priority.BULK,
    now: datetime | None = None,
) -> Notification | None:
    """Queue an edit of a status card; an edit still pending for the same card is replaced (coalesced)."""
    original = (
        await session.exec(
            select(Notification)
            .where(Notification.card_key == card_key, col(Notification.method).in_(("sendMessage", "sendPhoto")))
            .order_by(col(Notification.id))
        )
    ).first()
    if original is None:
        return None
    caption = original.method == "sendPhoto"
    payload: dict[str, Any] = {"caption" if caption else "text": text, "parse_mode": "HTML"}
    if reply_markup is not None:
        payload["reply_markup"] = reply_markup
    method = "editMessageCaption" if caption else "editMessageText"
    pending = (
        await session.exec(
            select(Notification).where(
                Notification.card_key == card_key,
                Notification.method == method,
                Notification.state == DeliveryState.PENDING,
            )
        )
    ).first()
    if pending is not None:
        pending.payload = payload
        pending.priority = min(pending.priority, int(priority))
        session.add(pending)
        await session.flush()
        request_wake(session, OUTBOX_WAKE)
        return pending
    row = Notification(
        chat_id=original.chat_id,
        member_id=original.member_id,
        method=method,
        payload=payload,
        priority=int(priority),
        ref_type=original.ref_type,
        ref_id=original.ref_id,
        card_key=card_key,
    )
    if now is not None:
        row.created_at = now
        row.not_before = now
    session.add(row)
    await session.flush()
    request_wake(session, OUTBOX_WAKE)
    return row
