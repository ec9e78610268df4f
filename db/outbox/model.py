"""The outbox table: one row per message (or edit) to deliver to one chat, and the words for its life."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Table
from sqlmodel import Field, SQLModel

from db.types import UTC_NOW, big_int_column, utc_column

# The name features and the worker use to wake the delivery loop after a commit (db.engine.request_wake).
OUTBOX_WAKE = "outbox"
# A file uploaded from bytes is stored in the payload as {UPLOAD_NAME: file name, UPLOAD_DATA: base64}.
UPLOAD_NAME, UPLOAD_DATA = "upload", "base64"
# not_before of rows queued without an explicit `now`: due at once, whatever clock the worker runs on.
DUE_AT_ONCE = datetime(2000, 1, 1, tzinfo=UTC)
# last_error's column width: longer reasons are cut when written.
ERROR_MAX = 500

EDIT_METHODS = ("editMessageText", "editMessageCaption")
# The sends a status card starts with: edits and pins target the copy one of these put on a phone.
SEND_METHODS = ("sendMessage", "sendPhoto", "sendDocument")
# Sends whose text is a caption: their card is edited with editMessageCaption.
CAPTION_METHODS = ("sendPhoto", "sendDocument")
# Pinning and unpinning a card's copy (an important notice while it is valid): like an edit, the row waits
# for the copy to be sent and acts on the message id Telegram gave it.
PIN_METHODS = ("pinChatMessage", "unpinChatMessage")
# Rows that act on a card's original message, resolved when they are claimed.
CARD_ACTIONS = EDIT_METHODS + PIN_METHODS


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
    __table_args__ = (
        Index("ix_outbox_ready", "state", "priority", "fanout_rank", "id"),
        Index("ix_outbox_lease", "state", "lease_until"),
        # A card's rows by kind and state: the claim's "original sent?" / "edit in flight?" checks and the
        # look-ups for a card's newest edit. On card_key alone, SQLite chose the state index instead and
        # walked every pending row (2.5 ms a claim behind 4,000 queued edits, 0.16 ms with this one).
        Index("ix_outbox_card", "card_key", "method", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=UTC_NOW, sa_column=utc_column())
    chat_id: int = Field(sa_column=big_int_column(index=True))
    member_id: int | None = Field(default=None, foreign_key="members.id", index=True)
    # Bot API method and its parameters (without chat_id), e.g. sendMessage {"text": ..., "reply_markup": .}.
    method: str = Field(max_length=32)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    priority: int = Field(default=Priority.NORMAL)
    state: str = Field(default=DeliveryState.PENDING, max_length=16)
    attempts: int = 0
    not_before: datetime = Field(default_factory=UTC_NOW, sa_column=utc_column())
    lease_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    claimed_by: str | None = Field(default=None, max_length=64)
    last_error: str | None = Field(default=None, max_length=ERROR_MAX)
    telegram_message_id: int | None = Field(default=None, sa_column=big_int_column(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # What the message belongs to, e.g. ("alert", 17), for visibility and for cards.
    ref_type: str | None = Field(default=None, max_length=32, index=True)
    ref_id: int | None = Field(default=None, index=True)
    # A status card's identity on one recipient's phone, e.g. "alert:17:m42": edits target the sent copy.
    card_key: str | None = Field(default=None, max_length=64)
    # Position within its fan-out (0 for a lone message). Rows go out by priority, then rank, then age: two
    # urgent alerts raised together reach their first readers together, instead of the second waiting for
    # every copy of the first.
    fanout_rank: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


# The table itself, for Core statements (executemany with bound parameters). SQLModel does not declare
# `__table__` to type checkers; the metadata does hold it.
OUTBOX: Table = SQLModel.metadata.tables["outbox"]


@dataclass(slots=True)
class QueuedMessage:
    """An outbox row built outside a session, for a fan-out queued in one statement (enqueue_many).

    Plain data: a Notification carries the ORM's bookkeeping from its constructor on, which cost more than the
    rest of queueing a copy (a burst of Seen presses queues one edit per press).
    """

    chat_id: int
    method: str
    payload: dict[str, Any]
    priority: int = Priority.NORMAL
    member_id: int | None = None
    ref_type: str | None = None
    ref_id: int | None = None
    card_key: str | None = None
    created_at: datetime | None = None
    not_before: datetime = DUE_AT_ONCE
    fanout_rank: int = 0

    def columns(self) -> dict[str, Any]:
        """The row's columns as inserted (a new row: pending, never tried)."""
        return {
            "created_at": self.created_at or datetime.now(UTC),
            "chat_id": self.chat_id,
            "member_id": self.member_id,
            "method": self.method,
            "payload": self.payload,
            "priority": int(self.priority),
            "state": DeliveryState.PENDING.value,
            "attempts": 0,
            "not_before": self.not_before,
            "lease_until": None,
            "claimed_by": None,
            "last_error": None,
            "telegram_message_id": None,
            "sent_at": None,
            "ref_type": self.ref_type,
            "ref_id": self.ref_id,
            "card_key": self.card_key,
            "fanout_rank": self.fanout_rank,
        }

    def model(self) -> Notification:
        """The same row as an ORM object, to add to a session."""
        return Notification(**self.columns())


class DeliveryInstance(SQLModel, table=True):
    """A delivery worker alive on one PostgreSQL database, for one bot token: the instances of a bot divide
    Telegram's budget among those alive, with nothing to divide by hand."""

    __tablename__ = "delivery_instances"

    # "<bot id>:<instance id>"
    key: str = Field(primary_key=True, max_length=64)
    bot: str = Field(max_length=32, index=True)
    # Seconds since the epoch: past this, the instance counts as gone (it died without saying so).
    alive_until: float = 0.0
    # It has messages to send: the budget is divided among the instances that do.
    wants: bool = False


class FloodCount(SQLModel, table=True):
    """How many times Telegram answered 429 in one minute (every instance adds to it): `liaison status` sums
    the last hour's. Each such row was waited out and sent again; this only keeps the count."""

    __tablename__ = "delivery_floods"

    # Minutes since the epoch.
    minute: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    answers: int = 0
