"""Scheduler benchmark: 10,000 reminders across 50 posts.

Prints: start-up time (prepare + first pass) against an empty database, idle CPU (process time) over 60 s
(5 s with --quick) against a bare event loop sleeping as long, and the p50/p99 lateness of 200 reminders due
within one minute (and of 200 due in the same second), measured when their notifications commit to the outbox
(before delivery queueing). Runs on a temporary SQLite file, or on --database-url (PostgreSQL).

    python bench/bench_scheduler.py [--quick] [--database-url postgresql+asyncpg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bot.clock import SystemClock
from bot.config import Config, load_config
from bot.runtime import Runtime
from bot.scheduler.api import schedule_once
from bot.scheduler.service import Scheduler
from bot.scheduler.triggers import build_trigger, cron_args, first_fire_after
from db import migrate
from db.engine import Database
from db.members import Member
from db.posts import sync_posts_and_services
from db.schedules import ScheduledJob
from handlers.reminders import service as reminders
from handlers.reminders.config_sync import sync_config_reminders

ROOT = Path(__file__).resolve().parent.parent
POSTS, REMINDERS, MEMBERS_PER_POST, BURST = 50, 10_000, 10, 200
ZONES = ("Africa/Niamey", "Africa/Ouagadougou", "Europe/Brussels")


def bench_config() -> Config:
    """The shipped config with 50 posts in three zones."""
    shipped = load_config(ROOT / "config.yaml", environ={})
    base = shipped.posts[0]
    posts = tuple(
        base.model_copy(
            update={"code": f"P{n:02d}", "name": f"Post {n}", "timezone": ZONES[n % 3], "partners": ()}
        )
        for n in range(POSTS)
    )
    return shipped.model_copy(update={"posts": posts})


async def fresh_database(url: str, config: Config) -> Database:
    """A migrated database with posts mirrored."""
    database = Database(url)
    await migrate.upgrade(database.engine)
    async with database.transaction() as session:
        await sync_posts_and_services(session, config=config)
    return database


async def fill(database: Database, config: Config, now: datetime) -> None:
    """Members at every post and 10,000 recurring chief reminders, none due in the next ten minutes."""
    rng = random.Random(4)
    services = config.post_services(config.posts[0].code)
    async with database.transaction() as session:
        await session.exec(
            insert(Member),
            params=[
                {
                    "telegram_id": 10_000 + p * 100 + m,
                    "chat_id": 10_000 + p * 100 + m,
                    "display_name": f"Agent {p}-{m}",
                    "post_code": f"P{p:02d}",
                    "service_code": services[m % len(services)],
                    "role": "chief" if m == 0 else "agent",
                    "status": "active",
                    "language": "en" if m % 4 == 0 else "fr",
                    "reachable": True,
                    "joined_at": now,
                }
                for p in range(POSTS)
                for m in range(MEMBERS_PER_POST)
            ],
        )
        rows: list[dict[str, Any]] = []
        for n in range(REMINDERS):
            post = config.posts[n % POSTS]
            every = ("daily", "weekdays", "weekly", "monthly")[n % 4]
            args = cron_args(
                hour=rng.randrange(24),
                minute=rng.randrange(60),
                every=every,
                day=("mon", "tue", "wed", "thu", "fri")[n % 5] if every == "weekly" else 1 + n % 28,
            )
            next_at = first_fire_after(
                build_trigger("cron", args, post.timezone), now + timedelta(minutes=10)
            )
            rows.append(
                {
                    "key": f"chief:{post.code}:bench{n}",
                    "kind": "reminder",
                    "post_code": post.code,
                    "payload": {
                        "text": f"Reminder {n}",
                        "audience": {},
                        "priority": "normal",
                        "author": "Bench",
                    },
                    "trigger": "cron",
                    "trigger_args": args,
                    "timezone": post.timezone,
                    "next_run_at": next_at,
                    "state": "active",
                    "source": "chief",
                    "created_at": now,
                    "updated_at": now,
                    "run_count": 0,
                    "failures": 0,
                }
            )
        for start in range(0, len(rows), 1000):
            await session.exec(insert(ScheduledJob), params=rows[start : start + 1000])


def scheduler_for(database: Database, config: Config, name: str) -> Scheduler:
    """A scheduler on the real clock, as production wires it."""
    runtime = Runtime(config=config, db=database, clock=SystemClock(), instance_id=name)
    runtime.scheduler = Scheduler(
        db=database, config=config, clock=runtime.clock, instance_id=name, runtime=runtime
    )
    runtime.scheduler.register_runner(reminders.KIND, reminders.run_reminder)
    return runtime.scheduler


async def started(scheduler: Scheduler) -> float:
    """Seconds from the config sync (what start-up does) until the loop finished its first pass."""
    began = time.perf_counter()
    async with scheduler.db.transaction() as session:
        await sync_config_reminders(session, config=scheduler.config, now=scheduler.clock.now())
    await scheduler.start()
    # Polling a counter at 1 ms costs nothing here and keeps the scheduler free of benchmark hooks.
    while scheduler.passes < 1:  # noqa: ASYNC110
        await asyncio.sleep(0.001)
    return time.perf_counter() - began


async def idle_cpu(seconds: float) -> float:
    """Process CPU seconds spent while the event loop waits `seconds`."""
    before = time.process_time()
    await asyncio.sleep(seconds)
    return time.process_time() - before


async def lateness(database: Database, scheduler: Scheduler, window: float, label: str) -> list[float]:
    """Schedule 200 reminders due within `window` seconds; seconds from due time to outbox commit."""
    due: dict[int, float] = {}
    pending: list[int] = []
    committed: dict[int, float] = {}
    all_in = asyncio.Event()

    async def timed(session: Any, job: ScheduledJob, **kwargs: Any) -> None:
        pending.append(job.id or 0)
        await reminders.run_reminder(session, job, **kwargs)

    def on_commit() -> None:
        stamp = time.time()
        while pending:
            committed.setdefault(pending.pop(), stamp)
        if len(committed) >= BURST:
            all_in.set()

    scheduler.register_runner("bench.reminder", timed, replace=True)
    database.on_commit("outbox", on_commit)
    start = datetime.now(UTC) + timedelta(seconds=2)
    rng = random.Random(7)
    async with database.transaction() as session:
        for n in range(BURST):
            run_at = start + timedelta(seconds=rng.uniform(0, window))
            await schedule_once(
                session,
                key=f"bench:{label}:{n}",
                kind="bench.reminder",
                run_at=run_at,
                payload={"text": f"Due {n}", "audience": {}},
                post_code=f"P{n % POSTS:02d}",
            )
    async with database.sessions() as session:
        from sqlmodel import col, select

        for row in (
            await session.exec(
                select(ScheduledJob).where(col(ScheduledJob.key).startswith(f"bench:{label}:"))
            )
        ).all():
            due[row.id or 0] = row.next_run_at.timestamp()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_in.wait(), timeout=window + 30)
    assert len(committed) == BURST, f"only {len(committed)} of {BURST} ran"
    return sorted(committed[i] - due[i] for i in due)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    return values[min(len(values) - 1, max(0, round(q * len(values)) - 1))]


async def main() -> None:
    """Run every measurement and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s idle window and 5 s due window (smoke run)")
    parser.add_argument(
        "--database-url", help="PostgreSQL URL of an empty database (default: temporary SQLite)"
    )
    options = parser.parse_args()
    idle_seconds = 5.0 if options.quick else 60.0
    window = 5.0 if options.quick else 60.0
    config = bench_config()
    with tempfile.TemporaryDirectory() as tmp:
        url = options.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        # The first start pays for imports and caches: warm up on a throwaway database, then measure.
        for name in ("warm-up", "baseline"):
            empty = await fresh_database(f"sqlite+aiosqlite:///{tmp}/{name}.db", config)
            empty_scheduler = scheduler_for(empty, config, name)
            baseline_start = await started(empty_scheduler)
            await empty_scheduler.stop()
            await empty.dispose()

        database = await fresh_database(url, config)
        fill_began = time.perf_counter()
        await fill(database, config, datetime.now(UTC))
        fill_time = time.perf_counter() - fill_began
        scheduler = scheduler_for(database, config, "bench")
        startup = await started(scheduler)
        # A restart on the same rows (config reminders already there, nothing due): the common case.
        await scheduler.stop()
        scheduler = scheduler_for(database, config, "bench-restart")
        restart = await started(scheduler)

        bare = await idle_cpu(idle_seconds)
        passes_before = scheduler.passes
        idle = await idle_cpu(idle_seconds)
        idle_passes = scheduler.passes - passes_before

        spread = await lateness(database, scheduler, window, "minute")
        burst = await lateness(database, scheduler, 0.0, "second")
        await scheduler.stop()
        await database.dispose()

    engine = "PostgreSQL" if options.database_url else "SQLite"
    print(
        f"scheduler benchmark ({engine}, {POSTS} posts, {REMINDERS:,} reminders, "
        f"{POSTS * MEMBERS_PER_POST} members)"
    )
    print(f"  fill (bulk insert, not the scheduler):  {fill_time:.2f} s")
    print(
        f"  start-up (prepare + first pass):        {startup * 1000:.0f} ms first start, "
        f"{restart * 1000:.0f} ms restart (empty SQLite database: {baseline_start * 1000:.0f} ms, "
        f"ratio {startup / baseline_start:.1f}x)"
    )
    print(
        f"  idle CPU over {idle_seconds:.0f} s:                   {idle * 1000:.1f} ms "
        f"({100 * idle / idle_seconds:.3f} % of one core; bare loop {bare * 1000:.1f} ms; "
        f"{idle_passes} loop passes)"
    )
    for name, values in (
        ("spread over one minute" if not options.quick else f"spread over {window:.0f} s", spread),
        ("all in the same second", burst),
    ):
        print(
            f"  lateness, {BURST} due {name}: p50 {percentile(values, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(values, 0.99) * 1000:.0f} ms, max {values[-1] * 1000:.0f} ms "
            f"({MEMBERS_PER_POST} recipients each)"
        )


if __name__ == "__main__":
    asyncio.run(main())
