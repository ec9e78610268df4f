"""Delivery engine mechanisms: the sender's call table and answer classification, settling in batches."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import col, select
from telegram.constants import ParseMode
from telegram.ext import Defaults, ExtBot
from telegram.request import BaseRequest, RequestData

from bot.delivery.sender import CALLS, Job, Verdict, send
from db.engine import Database
from db.outbox import OUTBOX, DeliveryState, Notification, build_message, enqueue_many
from db.outbox.queue import Settlement, claim_rows, settle_rows
from tests.harness import Harness
from tests.test_delivery import outbox_rows, people

KEYBOARD = {"inline_keyboard": [[{"text": "Vu", "callback_data": "al:ack:17"}]]}


def job(method: str, payload: dict[str, Any], *, chat_id: int, message_id: int | None = None) -> Job:
    """A claimed row as the worker hands it to the sender."""
    return Job(
        id=1, chat_id=chat_id, method=method, payload=payload, priority=0, attempts=1, message_id=message_id
    )


# ----- the call table ------------------------------------------------------------------------------------


async def test_every_stored_method_goes_out_as_exactly_its_bot_api_call(liaison: Harness) -> None:
    """Each row reaches Telegram as chat_id + its payload (+ the message it acts on), nothing added.

    The application's bot has Defaults(parse_mode=HTML): none of it may leak into a stored call (the
    emulator, like the Bot API spec, knows no parse_mode on sendLocation).
    """
    [(user, _)] = await people(liaison, 1)
    assert liaison.app is not None
    bot = liaison.app.bot
    photo = liaison.emulator.register_file(b"jpeg").file_id
    first = await send(bot, job("sendMessage", {"text": "carte", "parse_mode": "HTML"}, chat_id=user.id))
    assert first.verdict == Verdict.SENT and first.message_id is not None
    card = first.message_id
    cases: list[tuple[str, dict[str, Any], int | None, Verdict]] = [
        (
            "sendMessage",
            {
                "text": "<b>Alerte</b>",
                "parse_mode": "HTML",
                "link_preview_options": {"is_disabled": True},
                "reply_markup": KEYBOARD,
                "disable_notification": True,
            },
            None,
            Verdict.SENT,
        ),
        ("sendPhoto", {"photo": photo, "caption": "vue", "parse_mode": "HTML"}, None, Verdict.SENT),
        ("sendLocation", {"latitude": 13.79, "longitude": 5.25}, None, Verdict.SENT),
        ("editMessageText", {"text": "carte 2", "reply_markup": KEYBOARD}, card, Verdict.SENT),
        ("sendDocument", {"document": photo, "caption": "pièce"}, None, Verdict.SENT),
        ("pinChatMessage", {"message_id": card, "disable_notification": True}, None, Verdict.SENT),
        ("unpinChatMessage", {"message_id": card}, None, Verdict.SENT),
        ("deleteMessage", {"message_id": card}, None, Verdict.SENT),
    ]
    photo_card = await send(bot, job("sendPhoto", {"photo": photo, "caption": "a"}, chat_id=user.id))
    cases.append(("editMessageCaption", {"caption": "b"}, photo_card.message_id, Verdict.SENT))
    assert {method for method, *_ in cases} == set(CALLS), "every entry of the call table is exercised"
    for method, payload, message_id, verdict in cases:
        result = await send(bot, job(method, payload, chat_id=user.id, message_id=message_id))
        assert result.verdict == verdict, (method, result)
        call = liaison.emulator.calls[-1]
        expected = {"chat_id": user.id, **payload}
        if message_id is not None:
            expected["message_id"] = message_id
        assert (call.method, call.params, call.status) == (method, expected, 200)
    assert card not in [m.message_id for m in user.inbox], "deleteMessage removed the card"
    assert [m.kind for m in user.inbox] == ["photo", "text", "photo", "location", "document"]
    assert user.inbox[3].location == {"latitude": 13.79, "longitude": 5.25}
    assert user.chat.pinned == []  # pinned, then unpinned


@pytest.mark.parametrize(
    ("method", "payload", "reason"),
    [
        ("sendMessage", {"parse_mode": "HTML"}, "sendMessage: payload lacks 'text'"),
        ("sendPhoto", {"photo": "/etc/hostname"}, "sendPhoto: photo is neither a file id nor a URL"),
        ("deleteMessage", {}, "deleteMessage: no message to act on"),
        ("sendPoll", {"question": "?"}, "no way to send sendPoll"),
    ],
)
async def test_a_payload_that_cannot_make_its_call_fails_without_a_call(
    liaison: Harness, method: str, payload: dict[str, Any], reason: str
) -> None:
    """A broken row fails at once with the reason (retrying cannot help); a path is never uploaded."""
    [(user, _)] = await people(liaison, 1)
    assert liaison.app is not None
    calls = len(liaison.emulator.calls)
    result = await send(liaison.app.bot, job(method, payload, chat_id=user.id))
    assert (result.verdict, result.error) == (Verdict.FAILED, reason)
    assert len(liaison.emulator.calls) == calls


# ----- what Telegram's answers mean --------------------------------------------------------------------


class CannedRequest(BaseRequest):
    """PTB's transport answering every call with one canned HTTP status and Bot API body."""

    def __init__(self) -> None:
        self.answer: tuple[int, dict[str, Any]] | Exception = (200, {"ok": True, "result": True})

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    @property
    def read_timeout(self) -> float:
        """Seconds PTB waits for an answer by default."""
        return 5.0

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, **_: Any
    ) -> tuple[int, bytes]:
        """Answer with the canned reply (getMe always succeeds)."""
        if url.endswith("/getMe"):
            me = {"id": 1, "is_bot": True, "first_name": "Liaison", "username": "liaison_test_bot"}
            return 200, json.dumps({"ok": True, "result": me}).encode()
        if isinstance(self.answer, Exception):
            raise self.answer
        status, body = self.answer
        return status, json.dumps(body).encode()


def _error(code: int, description: str, **parameters: Any) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, body


_MESSAGE = {"message_id": 77, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "x"}


@pytest.mark.filterwarnings("error::telegram.warnings.PTBDeprecationWarning")
@pytest.mark.parametrize(
    ("answer", "edit", "verdict", "error", "retry_after", "message_id"),
    [
        ((200, {"ok": True, "result": _MESSAGE}), False, Verdict.SENT, None, 0.0, 77),
        (
            _error(429, "Too Many Requests: retry after 5", retry_after=5),
            False,
            Verdict.FLOOD,
            None,
            5.0,
            None,
        ),
        (
            _error(403, "Forbidden: bot was blocked by the user"),
            False,
            Verdict.UNREACHABLE,
            "blocked",
            0,
            None,
        ),
        (_error(400, "Bad Request: message is not modified: same"), True, Verdict.SENT, None, 0.0, 9),
        (
            _error(400, "Bad Request: message is not modified: same"),
            False,
            Verdict.FAILED,
            "modified",
            0,
            None,
        ),
        (_error(400, "Bad Request: chat not found"), False, Verdict.FAILED, "Chat not found", 0, None),
        (
            _error(400, "Bad Request: group migrated", migrate_to_chat_id=-1009),
            False,
            Verdict.FAILED,
            "-1009",
            0,
            None,
        ),
        (_error(502, "Bad Gateway"), False, Verdict.RETRY, "Bad Gateway", 0, None),
        (_error(500, "Internal Server Error"), False, Verdict.RETRY, "Internal", 0, None),
    ],
)
async def test_answers_are_classified(
    answer: tuple[int, dict[str, Any]],
    edit: bool,
    verdict: Verdict,
    error: str | None,
    retry_after: float,
    message_id: int | None,
) -> None:
    """429 waits (no deprecation warning on the way), 403 closes the chat, 400 fails, 5xx retries."""
    request = CannedRequest()
    bot = ExtBot(
        "1:test",
        request=request,
        get_updates_request=CannedRequest(),
        defaults=Defaults(parse_mode=ParseMode.HTML),
    )
    await bot.initialize()
    request.answer = answer
    method, payload = ("editMessageText", {"text": "t"}) if edit else ("sendMessage", {"text": "t"})
    result = await send(bot, job(method, payload, chat_id=5, message_id=9 if edit else None))
    assert result.verdict == verdict
    if error is not None:
        assert error in (result.error or "")
    assert result.retry_after == retry_after
    if verdict == Verdict.SENT:
        assert result.message_id == message_id


async def test_timeouts_and_network_errors_are_retried() -> None:
    """No answer at all is transient."""
    from telegram.error import NetworkError, TimedOut

    request = CannedRequest()
    bot = ExtBot("1:test", request=request, get_updates_request=CannedRequest())
    await bot.initialize()
    for failure, reason in (
        (TimedOut(), "timed out"),
        (NetworkError("connection reset"), "connection reset"),
    ):
        request.answer = failure
        result = await send(bot, job("sendMessage", {"text": "t"}, chat_id=5))
        assert result.verdict == Verdict.RETRY and reason in (result.error or "")


# ----- settling ------------------------------------------------------------------------------------------


@contextmanager
def statements(db: Database) -> Iterator[list[tuple[str, bool, int]]]:
    """Every statement sent to the database meanwhile: (SQL, executemany, parameter sets)."""
    seen: list[tuple[str, bool, int]] = []

    def record(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool
    ) -> None:
        seen.append((statement, executemany, len(parameters) if executemany else 1))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


def settling(seen: list[tuple[str, bool, int]]) -> list[int]:
    """Parameter sets of each executemany UPDATE of the outbox (settling and deferring do those)."""
    return [n for sql, many, n in seen if many and sql.lstrip().upper().startswith("UPDATE OUTBOX")]


async def test_a_batch_is_settled_with_one_statement_per_shape(liaison: Harness) -> None:
    """However many answers came back, one statement per kind of outcome: the write lock stays short."""
    now = liaison.clock.now()
    async with liaison.db.transaction() as session:
        await enqueue_many(session, [build_message(chat_id=1000 + i, text="x", now=now) for i in range(40)])
    ids = sorted(r.id for r in await outbox_rows(liaison) if r.id is not None)
    async with liaison.db.transaction() as session:
        await claim_rows(session, ids=ids, claimed_by="test", lease_until=now + timedelta(seconds=60))
        # An earlier attempt's error, which a sent row must forget.
        await session.exec(OUTBOX.update().values(last_error="earlier 502"))
    later = now + timedelta(seconds=5)
    outcomes: list[Settlement] = []
    for i, row_id in enumerate(ids):
        match i % 4:
            case 0:
                outcomes.append(Settlement(row_id, DeliveryState.SENT, message_id=500 + i, sent_at=now))
            case 1:
                outcomes.append(Settlement(row_id, DeliveryState.PENDING, error="502", not_before=later))
            case 2:
                outcomes.append(
                    Settlement(row_id, DeliveryState.PENDING, error="429", not_before=later, attempts=0)
                )
            case _:
                outcomes.append(Settlement(row_id, DeliveryState.FAILED, error="x" * 900))
    with statements(liaison.db) as seen:
        async with liaison.db.transaction() as session:
            await settle_rows(session, outcomes=outcomes)
    assert sorted(settling(seen)) == [10, 10, 10, 10], seen
    rows = {r.id: r for r in await outbox_rows(liaison)}
    for i, row_id in enumerate(ids):
        row = rows[row_id]
        assert row.lease_until is None and row.claimed_by is None
        match i % 4:
            case 0:
                assert (row.state, row.telegram_message_id, row.sent_at, row.last_error) == (
                    DeliveryState.SENT,
                    500 + i,
                    now,
                    None,
                )
            case 1:
                assert (row.state, row.not_before, row.attempts, row.last_error) == (
                    "pending",
                    later,
                    1,
                    "502",
                )
            case 2:
                assert (row.state, row.not_before, row.attempts, row.last_error) == (
                    "pending",
                    later,
                    0,
                    "429",
                )
            case _:
                assert row.state == DeliveryState.FAILED and row.last_error == "x" * 500
                assert row.sent_at is None and row.telegram_message_id is None


async def test_the_worker_settles_mixed_answers_in_one_statement_per_shape(liaison: Harness) -> None:
    """A drained batch of sent, retried, flooded and failed rows: four statements, not one per row."""
    targets = await people(liaison, 12)
    for (user, _), fault in zip(targets[:6], (400, 400, 502, 502, 429, 429), strict=True):
        liaison.emulator.faults.inject(fault, method="sendMessage", chat_id=user.id, retry_after=5)
    async with liaison.db.transaction() as session:
        await enqueue_many(
            session,
            [
                build_message(chat_id=u.id, member_id=m, text="lot", now=liaison.clock.now())
                for u, m in targets
            ],
        )
    worker = liaison.runtime.delivery
    assert worker is not None
    with statements(liaison.db) as seen:
        assert await worker.drain() == 12
    assert sorted(settling(seen)) == [2, 2, 2, 6]
    rows = await outbox_rows(liaison)
    assert [r.state for r in rows].count(DeliveryState.SENT) == 6
    async with liaison.session() as session:
        failed = (await session.exec(select(Notification).where(col(Notification.state) == "failed"))).all()
    assert len(failed) == 2 and all(r.last_error == "Injected fault" for r in failed)
