"""A burst of Seen presses during an alert: committed together (one unit of work per batch, not per press),
each answered truthfully, each presser's card redrawn, and nothing recorded twice."""

from __future__ import annotations

import asyncio

from db.alerts import Alert, AlertAck, AlertRecipient
from db.audit import AuditEntry
from db.members import Member
from db.outbox import DeliveryState, Notification
from handlers.alerts.batching import batcher
from tests.factories import alert_copy
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
        await reader.tap(f"al:seen:{alert.id}", message_id=alert_copy(reader, alert.id or 0).message_id)
    await readers[1].tap(f"al:seen:{alert.id}", message_id=alert_copy(readers[1], alert.id or 0).message_id)
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
    assert sum("already acknowledged" in a for a in answers) == 9
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
        assert "✓" in alert_copy(reader, alert.id or 0).text
