"""Delivery engine mechanisms: settling in batches."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlmodel import col, select

from bot.delivery.sender import Job
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
