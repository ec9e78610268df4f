"""A burst of Seen presses during an alert: committed together (one unit of work per batch, not per press),
each answered truthfully, each presser's card redrawn, and nothing recorded twice."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from db.alerts import AckKind, Alert, AlertAck, AlertRecipient
from db.audit import AuditEntry
from db.members import Member
from db.outbox import DeliveryState, Notification
from handlers.alerts.batching import Press, acknowledge_all, batcher
from handlers.alerts.service import AckBatch, AckOutcome, AckResult
from tests.factories import alert_copy, press
from tests.harness import Harness


async def test_presses_arriving_together_are_committed_together_and_each_card_is_redrawn(
    liaison: Harness,
) -> None:
    services = ("customs", "police", "health", "forests")
    readers = [await liaison.member(f"Agent{n}", service=services[n % 4], language="en") for n in range(12)]
    author = await liaison.member("Awa", service="customs", language="en")
    await author.send("/alert urgent security: vehicle forcing the barrier")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    for reader in readers:
        await press(reader, "👁 Seen", alert_copy(reader, alert.id or 0))
    await press(readers[1], "👁 Seen", alert_copy(readers[1], alert.id or 0))
    # Fetched as polling does, then handled at the same moment (different people's updates run concurrently).
    bot = liaison.app.bot
    updates = await bot.get_updates(offset=liaison._offset, timeout=0)
    liaison._offset = updates[-1].update_id + 1
    await bot.get_updates(offset=liaison._offset, timeout=0)
    assert len(updates) == 13
    before = batcher(liaison.runtime).batches
    await asyncio.gather(*(liaison.app.process_update(u) for u in updates))
    written = batcher(liaison.runtime).batches - before
    assert 1 <= written <= 3, f"13 presses took {written} units of work: they were not committed together"
    await liaison.settle()
    # Each press answered for what it did: the first of each service, then the others' readings (the double
    # tap among them).
    answers = [r.callback_answers[0]["text"] for r in readers]
    assert sum(a.startswith("Seen: recorded for") for a in answers) == 3  # police, health, forests
    assert sum("already acknowledged" in a for a in answers) == 6
    # Customs pressed nothing before: it knows because the author raised the alert, and is told so.
    assert sum("Your service (Customs) already knows: Awa raised this alert" in a for a in answers) == 3
    assert "already acknowledged" in readers[1].callback_answers[1]["text"]
    # Stored once each: one receipt per reader, one acknowledgement per service, one audit line per press.
    recipients = {r.member_id: r for r in await liaison.rows(AlertRecipient)}
    assert sum(1 for r in recipients.values() if r.seen_at is not None) == 12
    assert sorted(a.service_code for a in await liaison.rows(AlertAck)) == sorted(services)
    assert len(await liaison.rows(AuditEntry, AuditEntry.action == "alert.seen")) == 12
    # The card of every first acknowledgement was redrawn (one coalesced edit each), and every edit went out.
    edits = await liaison.rows(Notification, Notification.method == "editMessageText")
    members = {m.telegram_id: m.id for m in await liaison.rows(Member)}
    firsts = [r for r, a in zip(readers, answers, strict=True) if a.startswith("Seen: recorded for")]
    assert {recipients[members[r.id]].card_key for r in firsts} <= {e.card_key for e in edits}
    assert all(e.state in (DeliveryState.SENT, DeliveryState.SUPERSEDED) for e in edits)
    for reader in firsts:
        assert "· seen" in alert_copy(reader, alert.id or 0).text


async def batch_setup(liaison: Harness, readers: int) -> tuple[Alert, list[Member]]:
    """An alert raised at a post of `readers` agents of four services; the readers' member rows."""
    services = ("customs", "police", "health", "forests")
    people = [
        await liaison.member(f"Agent{n}", service=services[n % 4], language="en") for n in range(readers)
    ]
    # Security also requires the Gendarmerie: one who does not press keeps the alert waiting (not handled).
    await liaison.member("Gendarme", service="gendarmerie", language="en")
    author = await liaison.member("Awa", service="customs", language="en")
    await author.send("/alert urgent security: vehicle forcing the barrier")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    by_telegram = {m.telegram_id: m for m in await liaison.rows(Member)}
    return alert, [by_telegram[p.id] for p in people]


async def test_a_batch_reads_its_alerts_and_copies_once_and_writes_its_audit_entries_together(
    liaison: Harness,
) -> None:
    """20 presses in one batch: the alert, the copies, the acknowledgements and the names they quote are
    read in one query each, and the cards are redrawn from that read; the receipts go in one UPDATE, the
    audit entries in one INSERT (each press read and wrote these alone before: about ten statements a press;
    then between two and three; now a fixed number for the batch and one INSERT per first acknowledgement)."""
    alert, members = await batch_setup(liaison, 20)
    statements: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(" ".join(statement.split()))

    presses = [Press(alert.id or 0, m, AckKind.SEEN) for m in members]
    sa.event.listen(liaison.db.engine.sync_engine, "before_cursor_execute", note)
    try:
        async with liaison.db.transaction() as session:
            results = await acknowledge_all(session, liaison.runtime, presses)
    finally:
        sa.event.remove(liaison.db.engine.sync_engine, "before_cursor_execute", note)
    outcomes = [r.outcome for r in results if isinstance(r, AckResult)]
    # Customs acknowledged with its author raising it; each other service through its first press.
    assert outcomes.count(AckOutcome.SEEN) == 3 and outcomes.count(AckOutcome.ALREADY_OTHER) == 17
    # Alerts and copies: the batch's read, then the redraw of the alert's cards.
    assert sum(s.startswith("SELECT alert_recipients.") for s in statements) == 2
    assert sum(s.startswith("SELECT alerts.") for s in statements) == 1
    assert sum(s.startswith("SELECT members.id, members.display_name") for s in statements) == 1
    assert sum(s.startswith("UPDATE alert_recipients") for s in statements) == 1
    assert sum(s.startswith("INSERT INTO audit_log") for s in statements) == 1
    assert sum(s.startswith("SAVEPOINT") for s in statements) == 1
    # A service that acknowledged already is known from the batch's read: only the first presses insert,
    # each reading its row back (the card shows who and when).
    assert sum(s.startswith("INSERT INTO alert_acks") for s in statements) == 3
    assert sum(s.startswith("SELECT alert_acks.") for s in statements) == 1 + 3
    assert len(statements) <= 25, statements
    seen = await liaison.rows(AuditEntry, AuditEntry.action == "alert.seen")
    assert sorted(e.actor_member_id for e in seen) == sorted(m.id for m in members)


async def test_a_press_that_fails_inside_a_batch_fails_alone(
    liaison: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A press that meets a bug rolls back the batch's savepoint; the others are taken again one at a time
    and recorded once, and only the failing press reports the failure."""
    alert, members = await batch_setup(liaison, 8)
    unlucky = members[5]
    unlucky_copy = (
        await liaison.rows(
            AlertRecipient, AlertRecipient.member_id == unlucky.id, AlertRecipient.alert_id == alert.id
        )
    )[0]
    receipt = AckBatch.receipt

    def failing(batch: AckBatch, recipient: AlertRecipient, kind: AckKind, now: Any) -> bool:
        if recipient.id == unlucky_copy.id:
            raise RuntimeError("a bug meets this press")
        return receipt(batch, recipient, kind, now)

    monkeypatch.setattr(AckBatch, "receipt", failing)
    presses = [Press(alert.id or 0, m, AckKind.SEEN) for m in members]
    async with liaison.db.transaction() as session:
        results = await acknowledge_all(session, liaison.runtime, presses)
    assert isinstance(results[5], RuntimeError)
    assert all(isinstance(r, AckResult) for n, r in enumerate(results) if n != 5)
    copies = {r.member_id: r for r in await liaison.rows(AlertRecipient, AlertRecipient.alert_id == alert.id)}
    assert [copies[m.id].seen_at is not None for m in members] == [n != 5 for n in range(8)]
    seen = await liaison.rows(AuditEntry, AuditEntry.action == "alert.seen")
    assert sorted(e.actor_member_id for e in seen) == sorted(m.id for n, m in enumerate(members) if n != 5)
    assert sorted(a.service_code for a in await liaison.rows(AlertAck)) == [
        "customs",
        "forests",
        "health",
        "police",
    ]
