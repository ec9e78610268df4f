"""A single `liaison run` without LIAISON_INSTANCE_ID, killed and started again, resumes at once.

Its default instance id is stable (derived from the host name), so the restarted process recognises the outbox
rows and inbox updates its dead predecessor left claimed as its own and takes them back at start, instead of
waiting for their leases (a minute in the shipped config) to run out, as it would for another instance's.

On SQLite, which serves one bot process, every claim left is taken back at start whatever the id: there the
test still checks that a restart resumes at once and loses or doubles nothing, but not the id itself; the
case the id exists for is PostgreSQL (LIAISON_TEST_DATABASE_URL).
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.config import load_config
from db.inbox import InboxState, InboxUpdate
from db.outbox import DeliveryState, Notification
from sandbox.emulator import BotApiEmulator, FloodLimits
from sandbox.emulator.http import serve
from tests.harness import TOKEN, Harness
from tests.process_config import process_config
from tests.test_delivery import enqueue, people
from tests.test_delivery_instances import bot_process
from tests.test_inbox_http import stop, tail, wait_until

ROOT = Path(__file__).resolve().parent.parent
FAN_OUT = 150
TEXT = "Consigne : contrôle renforcé à la barrière"
STARTED = re.compile(r"Liaison started as @\S+ \(instance (\S+)\)")


async def fan_out_rows(liaison: Harness, chats: set[int]) -> list[Notification]:
    """The fan-out's outbox rows (not the asker's answer, should it be queued)."""
    async with liaison.session() as session:
        rows = (await session.exec(select(Notification).where(col(Notification.chat_id).in_(chats)))).all()
    return list(rows)


async def inbox_of(liaison: Harness, person: int) -> list[InboxUpdate]:
    async with liaison.session() as session:
        return list((await session.exec(select(InboxUpdate).where(InboxUpdate.person_id == person))).all())


@pytest.mark.slow
async def test_a_restarted_instance_without_an_id_takes_back_its_own_claims_at_once(
    liaison: Harness, tmp_path: Path
) -> None:
    """SIGKILLed mid-fan-out (rows claimed and leased, sends held by Telegram) and while handling a /help
    (its answer held), then started again: every member gets one copy and the asker one answer, and the
    rows and the update the dead process held are done long before their leases would have run out."""
    # Telegram's limits in real time: the worker claims ahead of its pacing, so rows wait leased.
    emulator = BotApiEmulator(TOKEN, "liaison_test_bot")
    emulator.limits = FloodLimits(enabled=True)
    server, port = await serve(emulator)
    liaison.emulator = emulator
    api_url = f"http://127.0.0.1:{port}/bot"
    # The shipped leases: a process that could not take its own claims back would wait them out.
    config_path, log = process_config(tmp_path), tmp_path / "bot.log"
    config = load_config(config_path, environ={})
    lease = min(config.delivery.lease_seconds, config.inbox.lease_seconds)
    assert lease >= 60, "the leases this test outruns"
    targets = await people(liaison, FAN_OUT)
    chats = {user.id for user, _ in targets}
    ((asker, _),) = await people(liaison, 1, prefix="Demandeur")
    await enqueue(liaison, targets, TEXT)
    first = bot_process(api_url, liaison.database_url, config_path, log)
    second: subprocess.Popen[bytes] | None = None
    try:

        async def under_way() -> bool:
            return emulator.stats.sent >= 30

        await wait_until(under_way, "the fan-out to be under way", first, log, 60)
        # From now on Telegram holds every send (the asker's answer first): the dead process will leave
        # rows claimed and a /help in hand, none of it delivered (a held call whose caller left is dropped).
        answer = emulator.faults.inject("delay", method="sendMessage", chat_id=asker.id, seconds=600)
        emulator.faults.inject("delay", method="sendMessage", count=1_000_000, seconds=600)
        await asker.send("/help")

        async def in_hand() -> bool:
            # The answer is held, and every send Telegram answered is recorded (so none goes out twice).
            if any(fault is answer for fault in emulator.faults.pending):
                return False
            sent = {
                int(c.params["chat_id"])
                for c in emulator.calls
                if c.method == "sendMessage" and c.status == 200
            }
            recorded = {
                r.chat_id for r in await fan_out_rows(liaison, chats) if r.state == DeliveryState.SENT
            }
            return recorded == sent & chats

        await wait_until(in_hand, "the answer held and the sends recorded", first, log, 30)
        first.send_signal(signal.SIGKILL)
        await asyncio.to_thread(first.wait)
        killed_at = datetime.now(UTC)
        left = [r for r in await fan_out_rows(liaison, chats) if r.state == DeliveryState.SENDING]
        (update,) = await inbox_of(liaison, asker.id)
        assert left, "killed with outbox rows claimed"
        assert update.state == InboxState.PENDING and update.claimed_by is not None, (
            "killed with /help in hand"
        )
        (name,) = STARTED.findall(log.read_text())
        assert {r.claimed_by for r in left} == {update.claimed_by} == {name}, "claimed under the default id"
        leases = {r.id: r.lease_until for r in left}
        assert update.lease_until is not None and None not in leases.values()
        expiry = min([update.lease_until, *(until for until in leases.values() if until is not None)])
        assert expiry - killed_at > timedelta(seconds=lease / 2), "the leases had most of their time left"
        delivered_at_kill = emulator.stats.sent
        # Telegram answers again; the calls the dead process left held stay held (then dropped) until the end.
        emulator.faults.clear()

        second = bot_process(api_url, liaison.database_url, config_path, log)

        async def finished() -> bool:
            rows = await fan_out_rows(liaison, chats)
            (handled,) = await inbox_of(liaison, asker.id)
            return all(r.state == DeliveryState.SENT for r in rows) and handled.state == InboxState.HANDLED

        # Polled against the leases themselves: waiting them out, as another instance would, fails here.
        remaining = (expiry - datetime.now(UTC)).total_seconds()
        await wait_until(
            finished, "the restarted instance to finish before the leases ran out", second, log, remaining
        )
        resumed_in = (datetime.now(UTC) - killed_at).total_seconds()
    finally:
        await stop(first)
        await stop(second)
        await emulator.release_long_polls()
        server.stop()
    starts = STARTED.findall(log.read_text())
    assert starts == [name, name], f"both runs under one stable default id: {starts}"
    # The rows the dead process held went out again before their leases ran out, with room to spare.
    after = {r.id: r for r in await fan_out_rows(liaison, chats)}
    for row_id, until in leases.items():
        row = after[row_id]
        assert row.state == DeliveryState.SENT and row.sent_at is not None
        assert until is not None and row.sent_at < until - timedelta(seconds=lease / 4), (row.sent_at, until)
    (handled,) = await inbox_of(liaison, asker.id)
    assert handled.handled_at is not None and handled.handled_at < expiry - timedelta(seconds=lease / 4)
    assert "left in flight by a previous run" in log.read_text(), tail(log)
    received = Counter(sum(1 for m in user.inbox if m.text == TEXT) for user, _ in targets)
    assert received == Counter({1: FAN_OUT}), f"each member exactly one copy: {received}"
    assert sum("/alert" in t for t in asker.texts) == 1, f"one answer to /help: {asker.texts}"
    assert "Traceback" not in log.read_text(), tail(log)
    print(
        f"killed with {delivered_at_kill} sent, {len(leases)} rows claimed and /help in hand; "
        f"all done {resumed_in:.1f} s after the kill (leases of {lease:.0f} s)"
    )
