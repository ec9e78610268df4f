"""What features call: queue notifications in the transaction of the event that caused them."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, TypeAlias

from sqlalchemy import bindparam, case, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import request_wake
from db.in_lists import padded
from db.outbox.model import (
    CAPTION_METHODS,
    DUE_AT_ONCE,
    EDIT_METHODS,
    OUTBOX,
    OUTBOX_WAKE,
    SEND_METHODS,
    UPLOAD_DATA,
    UPLOAD_NAME,
    DeliveryState,
    Notification,
    Priority,
    QueuedMessage,
)


class SupportsToDict(Protocol):
    """A keyboard as a library object (PTB's InlineKeyboardMarkup...): it knows its Bot API JSON."""

    def to_dict(self) -> dict[str, Any]:
        """The object as the Bot API's JSON."""
        ...


# A keyboard: Bot API JSON already, or an object that turns into it. Rows store JSON, so features may build
# keyboards with their library's objects and the outbox converts them once, when the row is queued.
ReplyMarkup: TypeAlias = dict[str, Any] | SupportsToDict


def markup_json(markup: ReplyMarkup) -> dict[str, Any]:
    """A keyboard as the Bot API JSON stored in a row."""
    return markup if isinstance(markup, dict) else markup.to_dict()


def build_message(
    *,
    chat_id: int,
    text: str | None = None,
    priority: Priority = Priority.NORMAL,
    member_id: int | None = None,
    reply_markup: ReplyMarkup | None = None,
    silent: bool = False,
    photo: str | None = None,
    location: tuple[float, float] | None = None,
    ref: tuple[str, int] | None = None,
    card_key: str | None = None,
    now: datetime | None = None,
    document: str | None = None,
    photo_upload: tuple[str, bytes] | None = None,
) -> QueuedMessage:
    """Build one outbox row (HTML text; a photo or a document by file id, or a photo uploaded from bytes, the
    text as its caption; or a location) without touching a session."""
    payload: dict[str, Any]
    if location is not None:
        method, payload = "sendLocation", {"latitude": location[0], "longitude": location[1]}
    elif photo_upload is not None:
        # The bytes travel in the row (base64): a chart of a few dozen kilobytes, sent as a multipart upload.
        name, data = photo_upload
        upload = {UPLOAD_NAME: name, UPLOAD_DATA: base64.b64encode(data).decode()}
        method, payload = "sendPhoto", {"photo": upload, "caption": text, "parse_mode": "HTML"}
    elif photo is not None:
        method, payload = "sendPhoto", {"photo": photo, "caption": text, "parse_mode": "HTML"}
    elif document is not None:
        method, payload = "sendDocument", {"document": document, "caption": text, "parse_mode": "HTML"}
    else:
        method, payload = (
            "sendMessage",
            {"text": text, "parse_mode": "HTML", "link_preview_options": {"is_disabled": True}},
        )
    if reply_markup is not None:
        payload["reply_markup"] = markup_json(reply_markup)
    if silent:
        payload["disable_notification"] = True
    return QueuedMessage(
        chat_id=chat_id,
        member_id=member_id,
        method=method,
        payload={k: v for k, v in payload.items() if v is not None},
        priority=int(priority),
        ref_type=ref[0] if ref else None,
        ref_id=ref[1] if ref else None,
        card_key=card_key,
        created_at=now,
        not_before=DUE_AT_ONCE if now is None else now,
    )


async def enqueue_message(
    session: AsyncSession,
    *,
    chat_id: int,
    text: str | None = None,
    priority: Priority = Priority.NORMAL,
    member_id: int | None = None,
    reply_markup: ReplyMarkup | None = None,
    silent: bool = False,
    photo: str | None = None,
    location: tuple[float, float] | None = None,
    ref: tuple[str, int] | None = None,
    card_key: str | None = None,
    now: datetime | None = None,
    document: str | None = None,
    photo_upload: tuple[str, bytes] | None = None,
) -> Notification:
    """Queue one message in the caller's transaction (a fan-out uses build_message and enqueue_many)."""
    row = build_message(
        chat_id=chat_id,
        text=text,
        priority=priority,
        member_id=member_id,
        reply_markup=reply_markup,
        silent=silent,
        photo=photo,
        location=location,
        ref=ref,
        card_key=card_key,
        now=now,
        document=document,
        photo_upload=photo_upload,
    )
    stored = row.model()
    session.add(stored)
    await session.flush()
    request_wake(session, OUTBOX_WAKE)
    return stored


async def enqueue_many(session: AsyncSession, rows: Sequence[QueuedMessage]) -> int:
    """Queue a fan-out built with build_message, in order, as one executemany; returns how many.

    The ORM would insert such rows one statement each on SQLite (it wants every new id back); nothing reads
    these ids, and one statement keeps a 200-copy fan-out short inside the write lock.
    """
    if not rows:
        return 0
    params = []
    for rank, row in enumerate(rows):
        row.fanout_rank = rank
        params.append(row.columns())
    await session.exec(insert(OUTBOX), params=params)
    request_wake(session, OUTBOX_WAKE)
    return len(rows)


def _card_row(
    *,
    method: str,
    payload: dict[str, Any],
    card_key: str,
    chat_id: int,
    member_id: int | None,
    priority: Priority,
    ref: tuple[str, int] | None,
    now: datetime | None,
) -> QueuedMessage:
    return QueuedMessage(
        chat_id=chat_id,
        member_id=member_id,
        method=method,
        payload=payload,
        priority=int(priority),
        ref_type=ref[0] if ref else None,
        ref_id=ref[1] if ref else None,
        card_key=card_key,
        created_at=now,
        not_before=DUE_AT_ONCE if now is None else now,
    )


def build_card_edit(
    *,
    card_key: str,
    chat_id: int,
    text: str,
    caption: bool = False,
    member_id: int | None = None,
    reply_markup: ReplyMarkup | None = None,
    priority: Priority = Priority.BULK,
    ref: tuple[str, int] | None = None,
    now: datetime | None = None,
) -> QueuedMessage:
    """Build an edit of a card's copy without touching a session, for a fan-out of edits queued in one
    statement (enqueue_many). Nothing is looked up: use it for a copy with no older edit waiting (that one
    would not be replaced, only superseded when this one is sent); a copy that never went out closes the row
    as failed. `caption`: the copy is a photo or a document."""
    payload: dict[str, Any] = {"caption" if caption else "text": text, "parse_mode": "HTML"}
    if reply_markup is not None:
        payload["reply_markup"] = markup_json(reply_markup)
    return _card_row(
        method="editMessageCaption" if caption else "editMessageText",
        payload=payload,
        card_key=card_key,
        chat_id=chat_id,
        member_id=member_id,
        priority=priority,
        ref=ref,
        now=now,
    )


def build_pin(
    *,
    card_key: str,
    chat_id: int,
    pin: bool = True,
    member_id: int | None = None,
    priority: Priority = Priority.BULK,
    ref: tuple[str, int] | None = None,
    now: datetime | None = None,
) -> QueuedMessage:
    """Build a pin (or unpin) of a card's copy in its chat, for enqueue_many. It waits for the copy to be sent
    and acts on its message id; of a card's pins and unpins, only the newest is ever sent (a notice that
    expires before its pin went out is not pinned, then unpinned). A pin makes no sound: the copy rang."""
    return _card_row(
        method="pinChatMessage" if pin else "unpinChatMessage",
        payload={"disable_notification": True} if pin else {},
        card_key=card_key,
        chat_id=chat_id,
        member_id=member_id,
        priority=priority,
        ref=ref,
        now=now,
    )


async def enqueue_card_edit(
    session: AsyncSession,
    *,
    card_key: str,
    text: str,
    reply_markup: ReplyMarkup | None = None,
    priority: Priority = Priority.BULK,
    now: datetime | None = None,
) -> Notification | None:
    """Queue an edit of a status card (None: no copy to edit); a pending edit of the card is replaced."""
    original = (
        await session.exec(
            select(Notification)
            .where(col(Notification.card_key) == card_key, col(Notification.method).in_(SEND_METHODS))
            .order_by(col(Notification.id))
        )
    ).first()
    if original is None or original.state in (DeliveryState.FAILED, DeliveryState.UNREACHABLE):
        # Nothing on that phone to edit.
        return None
    caption = original.method in CAPTION_METHODS
    payload: dict[str, Any] = {"caption" if caption else "text": text, "parse_mode": "HTML"}
    if reply_markup is not None:
        payload["reply_markup"] = markup_json(reply_markup)
    method = "editMessageCaption" if caption else "editMessageText"
    pending = (
        await session.exec(
            select(Notification).where(
                col(Notification.card_key) == card_key,
                col(Notification.method) == method,
                col(Notification.state) == DeliveryState.PENDING,
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
    row.not_before = DUE_AT_ONCE
    if now is not None:
        row.created_at = now
        row.not_before = now
    session.add(row)
    await session.flush()
    request_wake(session, OUTBOX_WAKE)
    return row


async def enqueue_card_edits(
    session: AsyncSession,
    edits: list[tuple[str, str, ReplyMarkup | None]],
    *,
    priority: Priority = Priority.BULK,
    now: datetime | None = None,
) -> int:
    """Queue edits of many status cards at once, as enqueue_card_edit does for one: (card_key, text,
    reply_markup) each; a card's pending edit is replaced. A handful of statements whatever the number of
    cards (an event shown on 200 copies must not hold the write lock for 600 round trips). Returns how many
    cards got an edit (none for a card never sent, failed or unreachable)."""
    latest = {key: (text, markup) for key, text, markup in edits}
    if not latest:
        return 0
    keys = list(latest)
    originals: dict[str, Any] = {}
    pending: dict[tuple[str, str], int] = {}
    claimed: dict[tuple[str, str], int] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        # Plain columns, not ORM objects: nothing stale is left in the session's identity map.
        connection = await session.connection()
        sent = await connection.execute(
            sa_select(
                OUTBOX.c.card_key,
                OUTBOX.c.method,
                OUTBOX.c.state,
                OUTBOX.c.chat_id,
                OUTBOX.c.member_id,
                OUTBOX.c.ref_type,
                OUTBOX.c.ref_id,
            )
            .where(OUTBOX.c.card_key.in_(padded(chunk)), OUTBOX.c.method.in_(SEND_METHODS))
            .order_by(OUTBOX.c.id)
        )
        for row in sent.all():
            originals.setdefault(row[0], row)
        waiting = await connection.execute(
            sa_select(
                OUTBOX.c.card_key, OUTBOX.c.method, OUTBOX.c.id, OUTBOX.c.state, OUTBOX.c.priority
            ).where(
                OUTBOX.c.card_key.in_(padded(chunk)),
                OUTBOX.c.method.in_(EDIT_METHODS),
                OUTBOX.c.state.in_((DeliveryState.PENDING.value, DeliveryState.SENDING.value)),
            )
        )
        for card_key, method, row_id, state, row_priority in waiting.all():
            if card_key is None or row_id is None:
                continue
            if state == DeliveryState.PENDING:
                pending[(card_key, method)] = row_id
            else:
                # Claimed but maybe not sent yet: the worker drops it for this newer edit, which must keep
                # its urgency (a presser's own card, at normal priority, was left to wait 11 s behind four
                # thousand bulk edits when the alert's "handled" redraw came next, at bulk priority).
                claimed[(card_key, method)] = min(row_priority, claimed.get((card_key, method), row_priority))
    replaced: list[dict[str, Any]] = []
    added: list[dict[str, Any]] = []
    # Copies read alike share one keyboard object: turned into JSON once, not once per copy.
    keyboards: dict[int, dict[str, Any]] = {}
    for key, (text, markup) in latest.items():
        original = originals.get(key)
        if original is None or original[2] in (DeliveryState.FAILED, DeliveryState.UNREACHABLE):
            continue  # nothing on that phone to edit
        caption = original[1] == "sendPhoto"
        payload: dict[str, Any] = {"caption" if caption else "text": text, "parse_mode": "HTML"}
        if markup is not None:
            if id(markup) not in keyboards:
                keyboards[id(markup)] = markup_json(markup)
            payload["reply_markup"] = keyboards[id(markup)]
        method = "editMessageCaption" if caption else "editMessageText"
        row_id = pending.get((key, method))
        if row_id is not None:
            replaced.append({"b_id": row_id, "b_payload": payload, "b_priority": int(priority)})
            continue
        added.append(
            {
                "created_at": now or DUE_AT_ONCE,
                "chat_id": original[3],
                "member_id": original[4],
                "method": method,
                "payload": payload,
                "priority": min(int(priority), claimed.get((key, method), int(priority))),
                "state": DeliveryState.PENDING.value,
                "attempts": 0,
                "not_before": now or DUE_AT_ONCE,
                "ref_type": original[5],
                "ref_id": original[6],
                "card_key": key,
                "fanout_rank": 0,
            }
        )
    if replaced:
        await session.exec(
            update(OUTBOX)
            .where(OUTBOX.c.id == bindparam("b_id"))
            .values(
                payload=bindparam("b_payload", type_=OUTBOX.c.payload.type),
                # The more urgent of the two (SQLite's min(a, b) is PostgreSQL's least(a, b)).
                priority=case(
                    (OUTBOX.c.priority < bindparam("b_priority"), OUTBOX.c.priority),
                    else_=bindparam("b_priority"),
                ),
            ),
            params=replaced,
        )
    if added:
        await session.exec(insert(OUTBOX), params=added)
    if replaced or added:
        request_wake(session, OUTBOX_WAKE)
    return len(replaced) + len(added)


# A merged note stays well inside Telegram's 4,096 characters.
NOTE_MAX = 3500


async def append_to_pending_note(session: AsyncSession, *, chat_id: int, ref_type: str, text: str) -> bool:
    """Add a line to a note of the same kind still waiting to this chat (not yet claimed by the worker), so
    several notes go as one message; False when there is none to extend (queue a new one then)."""
    waiting = (
        await session.exec(
            select(Notification)
            .where(
                col(Notification.chat_id) == chat_id,
                col(Notification.ref_type) == ref_type,
                col(Notification.method) == "sendMessage",
                col(Notification.state) == DeliveryState.PENDING,
                col(Notification.attempts) == 0,
            )
            .order_by(col(Notification.id).desc())
            .limit(1)
        )
    ).first()
    if waiting is None or waiting.id is None:
        return False
    merged = f"{waiting.payload.get('text') or ''}\n{text}"
    if len(merged) > NOTE_MAX:
        return False
    # Only while it is still pending: a worker that claimed it meanwhile (PostgreSQL) sends the old text,
    # and this line goes in a message of its own.
    result = await session.exec(
        update(OUTBOX)
        .where(OUTBOX.c.id == waiting.id, OUTBOX.c.state == DeliveryState.PENDING.value)
        .values(payload={**waiting.payload, "text": merged})
    )
    if not result.rowcount:
        return False
    request_wake(session, OUTBOX_WAKE)
    return True
