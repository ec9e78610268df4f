"""What the admin monitors: `liaison status` (text and --json) on a seeded database, and the webhook's
/healthz with a live, a stalled and a stopped delivery worker, and a database that cannot answer."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import col, select
from tornado.httpclient import AsyncHTTPClient

from bot.inbox.webhook import serve_webhook
from bot.status import Health, collect_status, status_report
from db.outbox import Priority
from db.schedules import JobState, ScheduledJob
from tests.harness import Harness
from tests.test_delivery import enqueue, people
from tests.test_end_to_end_http import environment, run_cli


async def test_status_shows_queue_sends_429s_unreachable_updates_and_schedules(liaison: Harness) -> None:
    team = await people(liaison, 6)
    # Two hours ago: three messages went out (outside the last hour).
    await enqueue(liaison, team[:3], "ancien")
    await liaison.settle()
    liaison.clock.advance(timedelta(hours=2))
    # In the last hour: five went out, one person had blocked the bot, one send met a 429.
    blocker = team[5][0]
    await blocker.block()
    liaison.emulator.faults.inject(429, chat_id=team[4][0].id, retry_after=30)
    await enqueue(liaison, team, "récent")
    # (Not settle(): the scheduler stays still, so the reminders that fell due on the way only wait.)
    await liaison.process_updates()
    assert liaison.runtime.delivery is not None
    await liaison.runtime.delivery.drain()
    # Waiting now: two urgent, three bulk (not delivered yet).
    await enqueue(liaison, team[:2], "urgent", priority=Priority.URGENT)
    await enqueue(liaison, team[:3], "en masse", priority=Priority.BULK)
    queued_at = liaison.clock.now()
    liaison.clock.advance(timedelta(minutes=7))
    # The last update received: a message from a member, handled.
    await team[0][0].send("/help")
    await liaison.process_updates()
    received_at = liaison.clock.now()
    assert "/alert" in team[0][0].last.text
    now = liaison.clock.now()
    async with liaison.db.transaction() as session:
        session.add(
            ScheduledJob(
                key="test:overdue", kind="test", trigger="date", next_run_at=now - timedelta(minutes=5)
            )
        )
    async with liaison.session() as session:
        jobs = (
            await session.exec(select(ScheduledJob).where(col(ScheduledJob.state) == JobState.ACTIVE))
        ).all()
    due = [j for j in jobs if j.next_run_at is not None and j.next_run_at <= now]

    report = await collect_status(liaison.db, clock=liaison.clock)
    data = report.as_json()
    assert data["queue"]["by_priority"]["urgent"] == {"pending": 2, "sending": 0}
    assert data["queue"]["by_priority"]["bulk"] == {"pending": 3, "sending": 0}
    # The 429'd message waits too (normal priority), queued two hours and seven minutes after the first.
    assert data["queue"]["by_priority"]["normal"] == {"pending": 1, "sending": 0}
    assert data["queue"]["pending"] == 6
    assert data["sent_last_hour"] == 4, "five recent sends minus the one held back by the 429"
    assert data["waiting_out_429"] == 1
    assert data["answered_429_last_hour"] == 1
    assert data["unreachable_members"] == {"count": 1, "names": [blocker.state.first_name]}
    assert data["inbox"]["pending"] == 0 and data["inbox"]["handled"] >= 1
    assert data["inbox"]["last_update_received_at"] == received_at.isoformat()
    assert data["schedules"]["due"] == len(due)
    assert data["schedules"]["oldest_due_at"] == min(j.next_run_at for j in due).isoformat()  # type: ignore[type-var]
    assert data["queue"]["oldest_pending_at"] == queued_at.isoformat()
    assert data["queue"]["oldest_pending_age_seconds"] == 7 * 60

    lines = (await status_report(liaison.db, clock=liaison.clock)).splitlines()
    assert lines[0] == "Delivery queue: 6 pending, 0 being sent (urgent 2, high 0, normal 1, bulk 3)"
    assert lines[2] == (
        "Last hour: 4 sent, 0 failed, 1 answered 429 (Telegram's flood limit; retried); "
        "1 waiting out a 429 now"
    )
    assert lines[3] == f"Unreachable members (blocked the bot): 1: {blocker.state.first_name}"
    assert f"last update received: {received_at:%Y-%m-%d %H:%M:%S} UTC" in lines[4]
    assert lines[5].startswith(f"Schedules: {len(due)} due now (oldest due ")
    assert (
        json.loads(await status_report(liaison.db, as_json=True, clock=liaison.clock))["queue"]["pending"]
        == 6
    )

    # The 429 itself is counted for an hour, whichever instance met it; the row waiting it out stays counted.
    liaison.clock.advance(timedelta(minutes=61))
    later = (await collect_status(liaison.db, clock=liaison.clock)).as_json()
    assert (later["answered_429_last_hour"], later["waiting_out_429"]) == (0, 1)

    # The command line reads the configured database (its own clock: only what does not depend on it).
    printed = await run_cli("status", "--json", env=environment(liaison.database_url))
    assert json.loads(printed)["queue"]["by_priority"]["urgent"]["pending"] == 2
    assert json.loads(printed)["unreachable_members"]["count"] == 1
    assert (await run_cli("status", env=environment(liaison.database_url))).startswith(
        "Delivery queue: 6 pending"
    )


async def test_status_of_an_empty_database(liaison: Harness) -> None:
    report = await status_report(liaison.db, clock=liaison.clock)
    assert report.splitlines()[:2] == [
        "Delivery queue: 0 pending, 0 being sent (urgent 0, high 0, normal 0, bulk 0)",
        "Oldest message waiting: -",
    ]
    assert "last update received: never" in report and "No update set aside." in report


async def healthz(port: int) -> tuple[int, dict[str, str]]:
    response = await AsyncHTTPClient().fetch(f"http://127.0.0.1:{port}/healthz", raise_error=False)
    return int(response.code), json.loads(response.body)


async def test_healthz_says_whether_the_database_and_the_worker_are_alive(liaison: Harness) -> None:
    runtime = liaison.runtime
    assert runtime.inbox is not None and runtime.delivery is not None and liaison.app is not None
    team = await people(liaison, 60)
    await runtime.delivery.start()
    await runtime.inbox.start()
    health = Health(runtime, stall_seconds=60)
    server, port = await serve_webhook(
        runtime.inbox,
        liaison.app.bot,
        listen="127.0.0.1",
        port=0,
        url_path="telegram",
        secret="s3cret",
        health=health.check,
    )
    try:
        assert await healthz(port) == (200, {"status": "ok", "database": "ok", "worker": "ok", "inbox": "ok"})

        # Stalled: every send hangs (Telegram unreachable, say), messages stay due and nothing moves.
        liaison.emulator.faults.inject("delay", method="sendMessage", count=16, seconds=2)
        await enqueue(liaison, team, "message")
        liaison.clock.advance(timedelta(seconds=61))
        status, body = await healthz(port)
        assert status == 503 and body["status"] == "unavailable" and body["database"] == "ok", (
            body,
            runtime.delivery.stats,
        )
        assert body["worker"].startswith("stalled (a message due for 61 s"), body
        # A busy worker is not stalled: once the held sends come back, its counters move again.
        deadline = time.monotonic() + 20
        while runtime.delivery.stats.sent == 0:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        assert (await healthz(port))[0] == 200

        # Stopped: the worker is gone.
        await runtime.delivery.stop()
        status, body = await healthz(port)
        assert status == 503 and body["worker"] == "stopped"
        # The database cannot answer: said, with the error's kind and nothing of the URL.
        async with liaison.db.transaction() as session:
            await session.exec(text("ALTER TABLE outbox RENAME TO outbox_away"))
        status, body = await healthz(port)
        assert status == 503 and body["database"].startswith("unavailable (")
        assert liaison.database_url not in json.dumps(body)
        async with liaison.db.transaction() as session:
            await session.exec(text("ALTER TABLE outbox_away RENAME TO outbox"))
    finally:
        server.stop()
        await runtime.inbox.stop()
