"""The scheduler end to end: config reminders in each zone, restarts, missed runs, config edits, the API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.clock import FrozenClock
from bot.config import Audience, Config, LocalizedText, ReminderConfig
from bot.runtime import Runtime
from bot.scheduler.api import cancel, schedule_once
from bot.scheduler.service import Scheduler
from db.audit import AuditEntry, record_action
from db.engine import Database
from db.outbox import Notification, enqueue_message
from db.schedules import JobState, ScheduledJob
from handlers.reminders.config_sync import sync_config_reminders
from tests.conftest import PG_URL
from tests.harness import Harness

MEETING_FR = "Réunion de coordination hebdomadaire"
MEETING_EN = "Weekly coordination meeting"
MORNING_FR = "Relève de 07:00"
LATE_MARK = "⏰"


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A UTC moment in 2026."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


async def queued(harness: Harness, user: Any, containing: str = "") -> list[str]:
    """Texts the outbox holds for one person's chat (what the scheduler handed to delivery)."""
    rows = await harness.rows(Notification, col(Notification.chat_id) == user.id)
    texts = [str(r.payload.get("text") or "") for r in sorted(rows, key=lambda r: r.id or 0)]
    return [t for t in texts if containing in t]


def received(user: Any, containing: str) -> list[str]:
    """Texts on the person's phone (delivered through the outbox) that contain a phrase."""
    return [t for t in user.texts if containing in t]


async def job(harness: Harness, key: str) -> ScheduledJob:
    """The schedule row with this key."""
    rows = await harness.rows(ScheduledJob, col(ScheduledJob.key) == key)
    assert len(rows) == 1, f"{key}: {len(rows)} rows"
    return rows[0]


async def move(harness: Harness, moment: datetime) -> None:
    """Set the frozen clock and let the bot catch up."""
    harness.clock.set(moment)
    await harness.settle()


# --- config reminders in each post's zone ---------------------------------------------------------------


async def test_config_reminders_become_rows_in_each_post_zone(liaison: Harness) -> None:
    rows = await liaison.rows(ScheduledJob, col(ScheduledJob.key).startswith("config:"))
    assert len(rows) == 4 * 3  # four reminders at three posts
    konni = await job(liaison, "config:weekly-coordination:NE-KONNI")
    kantchari = await job(liaison, "config:weekly-coordination:BF-KANTCHARI")
    # Monday 09:00 local: 08:00 UTC in Niamey (UTC+1), 09:00 UTC in Ouagadougou (UTC+0).
    assert (konni.timezone, konni.next_run_at) == ("Africa/Niamey", at(30, 8))
    # The clock starts on Monday 23 at 08:00 UTC: already 09:00 in Niamey (next week), not yet in Ouagadougou.
    assert (kantchari.timezone, kantchari.next_run_at) == ("Africa/Ouagadougou", at(23, 9))
    assert konni.source == "config" and konni.state == JobState.ACTIVE


async def test_weekly_meeting_comes_at_nine_local_on_both_sides_of_the_border(liaison: Harness) -> None:
    awa = await liaison.member("Awa", post="NE-KONNI", service="customs", language="fr")
    john = await liaison.member("John", post="NE-KONNI", service="police", language="en")
    issa = await liaison.member("Issa", post="BF-KANTCHARI", service="customs", language="fr")

    await move(liaison, at(30, 7, 59))
    assert await queued(liaison, awa, MEETING_FR) == []
    await move(liaison, at(30, 8))
    assert len(await queued(liaison, awa, MEETING_FR)) == 1
    assert len(await queued(liaison, john, MEETING_EN)) == 1
    assert await queued(liaison, issa, MEETING_FR) == []  # 08:00 in Ouagadougou: one hour to go
    await move(liaison, at(30, 9))
    assert len(await queued(liaison, issa, MEETING_FR)) == 1
    assert len(await queued(liaison, awa, MEETING_FR)) == 1  # never twice
    # On time: no lateness note; each reader in their own language.
    assert LATE_MARK not in (await queued(liaison, awa, MEETING_FR))[0]
    assert "Reminder" in (await queued(liaison, john, MEETING_EN))[0]
    # What the phones show: one copy each, in the reader's language.
    assert len(received(awa, MEETING_FR)) == len(received(issa, MEETING_FR)) == 1
    assert received(john, MEETING_EN)[0].startswith("🔔 Reminder\n")
    assert received(awa, MEETING_FR)[0].startswith("🔔 Rappel\n")
    konni = await job(liaison, "config:weekly-coordination:NE-KONNI")
    assert konni.next_run_at == at(7, 8, month=12) and konni.run_count == 1


async def test_shift_handover_reminders_follow_local_hours(liaison: Harness) -> None:
    awa = await liaison.member("Awa", post="NE-KONNI", service="customs", language="fr")
    await move(liaison, at(24, 5, 44))
    assert await queued(liaison, awa, MORNING_FR) == []
    await move(liaison, at(24, 5, 45))  # 06:45 in Niamey, before the 07:00 shift change
    assert len(await queued(liaison, awa, MORNING_FR)) == 1


async def test_monthly_report_goes_to_chiefs_only(liaison: Harness) -> None:
    chief = await liaison.member("Chef", post="NE-KONNI", service="customs", role="chief")
    agent = await liaison.member("Awa", post="NE-KONNI", service="customs")
    await move(liaison, at(25, 9))  # the 25th, 10:00 in Niamey
    assert len(await queued(liaison, chief, "rapport mensuel")) == 1
    assert await queued(liaison, agent, "rapport mensuel") == []


async def test_brussels_coordinator_reminder_keeps_local_time_across_dst_change(
    config: Config, database_url: str
) -> None:
    review = ReminderConfig(
        id="brussels-review",
        posts=(),
        timezone="Europe/Brussels",
        cron="0 9 * * mon",
        audience=Audience(role="coordinator"),
        text=LocalizedText(fr="Revue hebdomadaire des postes", en="Weekly review of the posts"),
    )
    brussels = config.model_copy(update={"reminders": (*config.reminders, review)})
    harness = Harness(brussels, database_url, clock=FrozenClock(at(12, 12, month=10)))
    await harness.start()
    try:
        marc = await harness.member("Marc", role="coordinator", language="en")
        row = await job(harness, "config:brussels-review:global")
        assert row.next_run_at == at(19, 7, month=10)  # 09:00 CEST = 07:00 UTC
        await marc.send("/reminders")
        await harness.settle()
        listing = marc.last.text or ""
        assert "1. Weekly review of the posts\n   Next: Oct 19, 9:00\u202fAM" in listing  # Brussels time
        assert "All posts" in listing and f"rm:pause:{row.id}:0" in str(marc.last.reply_markup)
        await move(harness, at(19, 7, month=10))
        assert len(await queued(harness, marc, "Weekly review")) == 1
        row = await job(harness, "config:brussels-review:global")
        assert row.next_run_at == at(26, 8, month=10)  # clocks went back on 25 October: 09:00 CET = 08:00 UTC
        await move(harness, at(26, 7, month=10))
        assert len(await queued(harness, marc, "Weekly review")) == 1
        await move(harness, at(26, 8, month=10))
        assert len(await queued(harness, marc, "Weekly review")) == 2
        assert len(received(marc, "🔔 Reminder\nWeekly review")) == 2
    finally:
        await harness.stop()


# --- downtime ----------------------------------------------------------------------------------------------


async def test_restart_runs_reminder_missed_within_grace_once_marked_late(liaison: Harness) -> None:
    awa = await liaison.member("Awa", post="NE-KONNI", service="customs", language="fr")
    john = await liaison.member("John", post="NE-KONNI", service="police", language="en")
    await liaison.stop()
    liaison.clock.set(at(30, 8, 30))  # the bot was down at 08:00 UTC; back 30 minutes later
    await liaison.start()
    meeting = await queued(liaison, awa, MEETING_FR)
    assert len(meeting) == 1 and LATE_MARK in meeting[0] and "en retard" in meeting[0]
    assert "30 nov." in meeting[0] and "09:00" in meeting[0]  # the due time, in Niamey time
    english = await queued(liaison, john, MEETING_EN)
    assert len(english) == 1 and "Sent late" in english[0]
    [on_phone] = received(awa, MEETING_FR)
    assert "⏰ Envoyé en retard : prévu le 30 nov., 09:00" in on_phone
    assert len(received(john, "Sent late: it was due at Nov 30, 9:00")) == 1
    # The morning handover reminder fell due 2 h 45 ago, past the one-hour grace: skipped and logged.
    assert await queued(liaison, awa, MORNING_FR) == []
    skipped = await liaison.rows(AuditEntry, col(AuditEntry.action) == "schedule.skipped")
    morning = [e for e in skipped if e.details["key"] == "config:shift-handover-morning:NE-KONNI"]
    assert len(morning) == 1 and morning[0].details["missed"] == 7
    assert (await job(liaison, "config:shift-handover-morning:NE-KONNI")).next_run_at == at(
        1, 5, 45, month=12
    )
    await liaison.restart()
    assert len(await queued(liaison, awa, MEETING_FR)) == 1  # a second restart sends nothing again
    assert len(received(awa, MEETING_FR)) == 1


async def test_restart_skips_reminder_missed_beyond_grace(liaison: Harness) -> None:
    awa = await liaison.member("Awa", post="NE-KONNI", service="customs", language="fr")
    await liaison.stop()
    liaison.clock.set(at(30, 10, 1))  # two hours after the meeting reminder was due
    await liaison.start()
    assert await queued(liaison, awa, MEETING_FR) == []
    assert received(awa, MEETING_FR) == []
    entries = await liaison.rows(AuditEntry, col(AuditEntry.action) == "schedule.skipped")
    keys = {e.details["key"]: e for e in entries}
    entry = keys["config:weekly-coordination:NE-KONNI"]
    assert entry.post_code == "NE-KONNI" and entry.details["due_at"] == at(30, 8).isoformat()
    assert (await job(liaison, "config:weekly-coordination:NE-KONNI")).next_run_at == at(7, 8, month=12)


async def test_recurring_reminder_missed_several_times_fires_once(liaison: Harness) -> None:
    awa = await liaison.member("Awa", post="NE-KONNI", service="customs", language="fr")
    await liaison.stop()
    # Down three days; back 15 minutes after the third missed 06:45 (Niamey) handover reminder.
    liaison.clock.set(at(26, 6))
    await liaison.start()
    morning = await queued(liaison, awa, MORNING_FR)
    assert len(morning) == 1 and LATE_MARK in morning[0]
    assert len(received(awa, MORNING_FR)) == 1
    row = await job(liaison, "config:shift-handover-morning:NE-KONNI")
    assert row.run_count == 1 and row.next_run_at == at(27, 5, 45)


# --- config edits ------------------------------------------------------------------------------------------


async def test_config_change_updates_rows_without_duplicates(liaison: Harness, config: Config) -> None:
    before = await job(liaison, "config:shift-handover-evening:NE-KONNI")
    edited = []
    for reminder in config.reminders:
        if reminder.id == "monthly-report":
            continue  # removed
        if reminder.id == "weekly-coordination":
            reminder = reminder.model_copy(update={"cron": "30 8 * * tue"})
        edited.append(reminder)
    edited.append(
        ReminderConfig(
            id="customs-briefing",
            posts=("NE-KONNI",),
            cron="0 8 * * *",
            audience=Audience(service="customs"),
            text=LocalizedText(fr="Briefing douane", en="Customs briefing"),
        )
    )
    await liaison.restart(config.model_copy(update={"reminders": tuple(edited)}))
    await liaison.restart(
        config.model_copy(update={"reminders": tuple(edited)})
    )  # twice: still no duplicates

    rows = await liaison.rows(ScheduledJob, col(ScheduledJob.key).startswith("config:"))
    keys = [r.key for r in rows]
    assert len(keys) == len(set(keys))
    live = {r.key: r for r in rows if r.state == JobState.ACTIVE}
    assert len(live) == 3 * 3 + 1
    assert not any(k.startswith("config:monthly-report:") for k in live)
    assert {r.state for r in rows if r.key.startswith("config:monthly-report:")} == {JobState.CANCELLED}
    # Tuesday 08:30 in Niamey is 07:30 UTC; unchanged rules keep their row and due time.
    assert live["config:weekly-coordination:NE-KONNI"].next_run_at == at(24, 7, 30)
    assert live["config:weekly-coordination:NE-KONNI"].trigger_args == {"crontab": "30 8 * * tue"}
    unchanged = live["config:shift-handover-evening:NE-KONNI"]
    assert (unchanged.id, unchanged.next_run_at) == (before.id, before.next_run_at)
    assert live["config:customs-briefing:NE-KONNI"].payload["audience"] == {"service": "customs"}

    # Put the removed reminder back: the same row comes back to life.
    await liaison.restart(config)
    monthly = await job(liaison, "config:monthly-report:NE-KONNI")
    assert monthly.state == JobState.ACTIVE and monthly.next_run_at == at(25, 9)
    briefing = await job(liaison, "config:customs-briefing:NE-KONNI")
    assert briefing.state == JobState.CANCELLED


# --- the API other features use ---------------------------------------------------------------------------

runs: list[tuple[str, datetime, bool]] = []
BROKEN = {"on": True}


async def echo_runner(
    session: Any, job: ScheduledJob, *, runtime: Runtime, due_at: datetime, late: bool
) -> None:
    """A test kind: queue the payload's text to one chat and note the run."""
    runs.append((job.key, due_at, late))
    await enqueue_message(
        session, chat_id=job.payload["chat_id"], text=job.payload["text"], now=runtime.clock.now()
    )


async def flaky_runner(
    session: Any, job: ScheduledJob, *, runtime: Runtime, due_at: datetime, late: bool
) -> None:
    """A test kind that writes, then fails while BROKEN is on."""
    await enqueue_message(session, chat_id=job.payload["chat_id"], text="half", now=runtime.clock.now())
    if BROKEN["on"]:
        raise RuntimeError("downstream broken")


async def broken_runner(session: Any, job: Any, **_: Any) -> None:
    """A runner with a bug, as a feature could ship one."""
    raise KeyError("audience")


async def audit_runner(
    session: Any, job: ScheduledJob, *, runtime: Runtime, due_at: datetime, late: bool
) -> None:
    """A test kind: one audit row per run, to count runs."""
    await record_action(session, action="test.ran", at=runtime.clock.now(), object_id=job.id)


TEST_RUNNERS = {
    "test.echo": echo_runner,
    "test.flaky": flaky_runner,
    "test.audit": audit_runner,
    "review.broken": broken_runner,
}


@pytest.fixture(autouse=True)
def _test_runners(request: pytest.FixtureRequest) -> None:
    """Every test of this module can schedule the test kinds."""
    if "liaison" in request.fixturenames:
        request.getfixturevalue("liaison").add_runners(TEST_RUNNERS)


async def test_schedule_once_is_idempotent_wakes_the_scheduler_and_runs_once(liaison: Harness) -> None:
    runs.clear()
    scheduler = liaison.runtime.scheduler
    assert scheduler is not None
    now = liaison.clock.now()
    scheduler._wake.clear()
    async with liaison.db.transaction() as session:
        await schedule_once(
            session,
            key="test:1",
            kind="test.echo",
            run_at=now + timedelta(minutes=10),
            payload={"chat_id": 42, "text": "first"},
            post_code="NE-KONNI",
        )
        await schedule_once(
            session,
            key="test:1",
            kind="test.echo",
            run_at=now + timedelta(minutes=1),
            payload={"chat_id": 42, "text": "second"},
        )
    assert scheduler._wake.is_set()  # woken after commit: the loop re-reads the nearest due time
    row = await job(liaison, "test:1")
    assert (row.next_run_at, row.payload["text"], row.timezone) == (
        now + timedelta(minutes=10),
        "first",
        "Africa/Niamey",
    )
    assert await scheduler.next_due() == now + timedelta(minutes=10)
    await liaison.advance(timedelta(minutes=9))
    assert runs == []
    await liaison.advance(timedelta(minutes=1))
    await liaison.advance(timedelta(hours=1))
    assert runs == [("test:1", now + timedelta(minutes=10), False)]
    row = await job(liaison, "test:1")
    assert (row.state, row.next_run_at, row.run_count, row.claimed_by) == (JobState.DONE, None, 1, "test")
    notes = await liaison.rows(Notification, col(Notification.chat_id) == 42)
    assert [n.payload["text"] for n in notes] == ["first"]


async def test_cancel_by_key_and_prefix(liaison: Harness) -> None:
    runs.clear()
    now = liaison.clock.now()
    async with liaison.db.transaction() as session:
        for key in ("test:alert:5:step:1", "test:alert:5:step:2", "test:alert:51:step:1", "test:other"):
            await schedule_once(
                session,
                key=key,
                kind="test.echo",
                run_at=now + timedelta(minutes=5),
                payload={"chat_id": 1, "text": key},
            )
    async with liaison.db.transaction() as session:
        assert await cancel(session, key_prefix="test:alert:5:") == 2
        assert await cancel(session, key="test:other") == 1
        assert await cancel(session, key="test:other") == 0
    await liaison.advance(timedelta(minutes=10))
    assert [key for key, _, _ in runs] == ["test:alert:51:step:1"]


async def test_failing_runner_leaves_nothing_half_done_and_retries(liaison: Harness) -> None:
    liaison.check_background_errors = False  # the runner fails on purpose
    BROKEN["on"] = True
    now = liaison.clock.now()
    async with liaison.db.transaction() as session:
        await schedule_once(session, key="test:flaky", kind="test.flaky", run_at=now, payload={"chat_id": 7})
        await schedule_once(
            session, key="test:fine", kind="test.echo", run_at=now, payload={"chat_id": 8, "text": "fine"}
        )
    await liaison.settle()
    row = await job(liaison, "test:flaky")
    assert row.failures == 1 and "downstream broken" in (row.last_error or "")
    assert row.state == JobState.ACTIVE and row.next_run_at == now + timedelta(seconds=30)
    assert (
        await liaison.rows(Notification, col(Notification.chat_id) == 7) == []
    )  # rolled back to the savepoint
    assert len(await liaison.rows(Notification, col(Notification.chat_id) == 8)) == 1  # the batch went on
    BROKEN["on"] = False
    await liaison.advance(30)
    row = await job(liaison, "test:flaky")
    assert (row.state, row.failures, row.run_count) == (JobState.DONE, 0, 1)
    assert len(await liaison.rows(Notification, col(Notification.chat_id) == 7)) == 1


async def _sync_config(database: Database, config: Config, now: datetime) -> None:
    """What an instance does at start: mirror the configured reminders into rows."""
    async with database.transaction() as session:
        await sync_config_reminders(session, config=config, now=now)


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (LIAISON_TEST_DATABASE_URL)")
async def test_two_schedulers_on_postgresql_never_run_one_row_twice(
    config: Config, database_url: str
) -> None:
    clock = FrozenClock()
    now = clock.now()
    databases = [Database(database_url), Database(database_url)]
    schedulers = []
    for index, database in enumerate(databases):
        runtime = Runtime(config=config, db=database, clock=clock, instance_id=f"instance-{index}")
        scheduler = Scheduler(
            db=database, config=config, clock=clock, instance_id=runtime.instance_id, runtime=runtime
        )
        runtime.scheduler = scheduler
        scheduler.register_runner("test.audit", audit_runner)
        schedulers.append(scheduler)
    try:
        # Both instances start together: their config syncs must not collide on the unique keys.
        await asyncio.gather(*(_sync_config(database, config, now) for database in databases))
        async with databases[0].sessions() as session:
            keys = (await session.exec(select(ScheduledJob.key))).all()
        assert len(keys) == len(set(keys)) == 4 * 3
        async with databases[0].transaction() as session:
            for n in range(300):
                await schedule_once(
                    session,
                    key=f"test:pg:{n}",
                    kind="test.audit",
                    run_at=now - timedelta(seconds=n % 7),
                    payload={},
                )
        counts = await asyncio.gather(*(s.run_due() for s in schedulers for _ in range(3)))
        assert sum(counts) == 300
        async with databases[0].sessions() as session:
            ran = (
                await session.exec(select(AuditEntry.object_id).where(AuditEntry.action == "test.ran"))
            ).all()
            rows = (
                await session.exec(select(ScheduledJob).where(col(ScheduledJob.key).startswith("test:pg:")))
            ).all()
        assert len(ran) == 300 and len(set(ran)) == 300
        assert {r.state for r in rows} == {JobState.DONE}
        assert {r.claimed_by for r in rows} == {"instance-0", "instance-1"}  # both did part of the work
    finally:
        for database in databases:
            await database.dispose()


# --- the background loop itself (the harness runs schedules in settle(); production runs this loop) -----


async def _until(predicate: Any) -> None:
    """Wait for the loop's database I/O (threads, sockets) until `predicate()` holds; time stays frozen."""
    for _ in range(5000):
        if predicate():
            return
        await asyncio.sleep(0.001)  # real I/O wait only: the scheduler's clock is the frozen one
    raise AssertionError("the scheduler loop never got there")


async def _parked(loop: Scheduler) -> datetime:
    """Wait until the loop has finished its pass and sleeps; returns until when (on the frozen clock)."""
    await _until(lambda: loop.parked.is_set() and loop.parked_until is not None)
    assert loop.parked_until is not None
    return loop.parked_until


async def test_loop_sleeps_until_the_nearest_row_and_rearms_on_wake(liaison: Harness, config: Config) -> None:
    runs.clear()
    clock, database = liaison.clock, liaison.db
    loop = Scheduler(db=database, config=config, clock=clock, instance_id="loop", runtime=liaison.runtime)
    for kind, runner in TEST_RUNNERS.items():
        loop.register_runner(kind, runner)
    await loop.start()
    try:
        await _until(lambda: loop.passes >= 1)
        now = clock.now()
        async with database.transaction() as session:
            await schedule_once(
                session,
                key="test:loop:far",
                kind="test.echo",
                run_at=now + timedelta(minutes=10),
                payload={"chat_id": 5, "text": "far"},
            )
        passes = loop.passes
        await _until(lambda: loop.passes > passes)  # woken by the commit, re-armed for 10 minutes
        async with database.transaction() as session:
            await schedule_once(
                session,
                key="test:loop:near",
                kind="test.echo",
                run_at=now + timedelta(minutes=1),
                payload={"chat_id": 5, "text": "near"},
            )
        passes = loop.passes
        await _until(lambda: loop.passes > passes)  # a nearer row: re-armed for 1 minute
        sweep = timedelta(seconds=config.scheduler.sweep_seconds)
        assert await _parked(loop) == now + min(sweep, timedelta(minutes=1))  # re-armed for the nearer row
        passes = loop.passes
        clock.advance(59)
        # Whatever woke it at 08:00:59 (the sweep), nothing was due: it re-arms for the row due at 08:01:00.
        await _until(lambda: loop.passes > passes)
        assert await _parked(loop) == now + timedelta(minutes=1)
        assert runs == []
        clock.advance(1)
        await _until(lambda: len(runs) == 1)
        assert runs[0][0] == "test:loop:near"
        clock.advance(timedelta(minutes=9))
        await _until(lambda: len(runs) == 2)
        assert [key for key, _, _ in runs] == ["test:loop:near", "test:loop:far"]
        # Idle: the loop sleeps until the next config reminder or the sweep, whichever is nearer; no spinning.
        parked_until = await _parked(loop)
        nearest = await loop.next_due()
        next_sweep = clock.now() + sweep
        assert parked_until == (min(next_sweep, nearest) if nearest else next_sweep)
        passes = loop.passes
        assert loop.parked.is_set() and loop.passes == passes
    finally:
        await loop.stop()
    assert loop._task is None


async def test_grace_is_set_per_kind(liaison: Harness, config: Config) -> None:
    runs.clear()
    now = liaison.clock.now()
    async with liaison.db.transaction() as session:
        for key, kind in (("test:grace:echo", "test.echo"), ("test:grace:audit", "test.audit")):
            await schedule_once(
                session,
                key=key,
                kind=kind,
                run_at=now + timedelta(minutes=1),
                payload={"chat_id": 3, "text": key},
            )
    strict = config.model_copy(
        update={
            "scheduler": config.scheduler.model_copy(
                update={"grace_seconds": {"default": 3600, "test.echo": 60}}
            )
        }
    )
    await liaison.stop()
    liaison.clock.set(
        now + timedelta(minutes=5)
    )  # four minutes late: within the default hour, not within 60 s
    await liaison.start(strict)
    assert runs == []
    skipped = await liaison.rows(AuditEntry, col(AuditEntry.action) == "schedule.skipped")
    assert [e.details["key"] for e in skipped] == ["test:grace:echo"]
    assert len(await liaison.rows(AuditEntry, col(AuditEntry.action) == "test.ran")) == 1
    assert (await job(liaison, "test:grace:echo")).state == JobState.DONE


async def test_a_broken_scheduled_runner_fails_the_test(liaison: Harness) -> None:
    # The scheduler survives a failing runner (it logs it and retries later): settle() must not stay quiet.
    async with liaison.db.transaction() as session:
        await schedule_once(
            session, key="review:broken", kind="review.broken", run_at=liaison.clock.now(), payload={}
        )
    with pytest.raises(AssertionError, match="background work failed:\nSchedule review:broken failed"):
        await liaison.settle()
    await liaison.settle()  # reported once
