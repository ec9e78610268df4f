"""Review benchmark: a year of audit entries at 10 posts (1,000,000 entries; --quick: 30,000).

Prints: the p50/p95 time of a filtered /log page (what a button press reads: the kind's actions, the page,
the count, whether there are newer and older entries; random posts, periods, kinds and services, first and
deeper pages), the export rate (CSV and XLSX) and the exporting process's peak memory for every entry, the
time to compute a weekly digest for 10 posts, and what the tamper-evident chain costs a writer (concurrent
transactions recording at one post, with and without sealing). The entries are bulk inserted (not through
record_action). Runs on a temporary SQLite file, or on a private database created on --database-url's server.

    python bench/bench_review.py [--quick] [--database-url postgresql+asyncpg://...] [--rows N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from bot.app import build_application, runtime_of
from bot.config import Config, load_config
from bot.runtime import Runtime
from db import migrate
from db.audit import AuditEntry, record_action
from db.engine import Database, create_engine
from db.members import Member
from db.posts import sync_posts_and_services
from db.review import ReviewView
from handlers.review import digest, service

ROOT = Path(__file__).resolve().parent.parent
POSTS = 10
ZONES = ("Africa/Niamey", "Africa/Ouagadougou")
NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
# What a year at a post writes, roughly: acknowledgements and Seen dominate, members and reminders are rare.
MIX = {
    "alert.raised": 60,
    "alert.seen": 150,
    "alert.taking_action": 50,
    "alert.delivered": 60,
    "alert.handled": 40,
    "alert.resolved": 40,
    "alert.escalated": 10,
    "handover.written": 120,
    "handover.accepted": 110,
    "handover.missing": 5,
    "notice.sent": 10,
    "notice.seen": 200,
    "meeting.published": 3,
    "action.created": 10,
    "action.done": 8,
    "action.overdue": 5,
    "member.joined": 3,
    "invite.created": 3,
    "member.unreachable": 1,
    "reminder.created": 1,
    "schedule.skipped": 1,
}
CATEGORIES = ("security", "health", "migration", "smuggling", "wildlife", "epidemic", "other")


def bench_config(tmp: Path) -> tuple[Config, Path]:
    """The shipped config with 10 posts in two zones; written out for the export's command line."""
    data = yaml.safe_load((ROOT / "config.yaml").read_text())
    base = data["posts"][0]
    data["posts"] = [
        {**base, "code": f"P{n:02d}", "name": f"Post {n}", "timezone": ZONES[n % 2], "partners": []}
        for n in range(POSTS)
    ]
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return load_config(path, environ={}), path


def details_for(action: str, rng: random.Random, service: str) -> dict[str, Any]:
    """Details shaped like the features' audit contracts."""
    if action == "alert.raised":
        return {
            "category": rng.choice(CATEGORIES),
            "severity": rng.choice(("info", "important", "urgent")),
            "service": service,
            "recipients": rng.randint(5, 60),
        }
    if action in ("alert.seen", "alert.taking_action"):
        found: dict[str, Any] = {"service": service, "outcome": "first"}
        if rng.random() < 0.6:
            found["seconds_to_ack"] = round(rng.lognormvariate(5.5, 1.0), 1)
        return found
    if action == "alert.delivered":
        failed = 1 if rng.random() < 0.05 else 0
        return {"sent": rng.randint(5, 60), "pending": 0, "failed": failed, "unreachable": 0, "check": 1}
    if action.startswith("handover."):
        return {
            "service": service,
            "items": rng.randint(0, 6),
            "late": rng.random() < 0.1,
            "seconds_to_accept": rng.randint(60, 7200),
        }
    if action == "notice.sent":
        return {"recipients": rng.randint(10, 60), "importance": "normal"}
    if action == "notice.seen":
        return {"seconds_from_sent": rng.randint(10, 86400)}
    if action.startswith("member.") or action == "invite.created":
        return {"role": "agent", "service": service}
    return {"days": rng.randint(1, 9)}


async def fill(database: Database, config: Config, rows: int) -> float:
    """`rows` entries spread over a year before NOW, in time order, bulk inserted (unsealed)."""
    rng = random.Random(15)
    actions = list(MIX)
    weights = list(MIX.values())
    services = [s.code for s in config.services]
    start = NOW - timedelta(days=365)
    step = timedelta(days=365) / rows
    began = time.perf_counter()
    chunk: list[dict[str, Any]] = []
    for n in range(rows):
        action = rng.choices(actions, weights)[0]
        post = f"P{rng.randrange(POSTS):02d}"
        service = rng.choice(services)
        details = details_for(action, rng, service)
        chunk.append(
            {
                "at": start + step * n,
                "actor_member_id": None,
                "action": action,
                "object_type": action.split(".")[0],
                "object_id": str(rng.randrange(1, rows // 10 + 2)),
                "post_code": post,
                "service_code": details.get("service"),
                "details": details,
                "chain": post,
            }
        )
        if len(chunk) == 10_000 or n == rows - 1:
            async with database.transaction() as session:
                connection = await session.connection()
                await connection.execute(insert(AuditEntry.__table__), chunk)
            chunk = []
    async with database.transaction() as session:
        if database.is_sqlite:
            await session.exec(text("ANALYZE"))  # type: ignore[call-overload]
    if not database.is_sqlite:
        async with database.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE audit_log"))
    return time.perf_counter() - began


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return values[min(len(values) - 1, max(0, round(q * len(values)) - 1))]


SLOWEST: list[tuple[float, str]] = []


async def page_times(runtime: Runtime, samples: int) -> list[float]:
    """Time load_page for random filters, as a coordinator and as a chief; half of them deeper pages."""
    rng = random.Random(7)
    coordinator = Member(id=1, telegram_id=1, chat_id=1, display_name="C", role="coordinator")
    kinds = [None, *[k.key for k in service.kinds(runtime)]]
    services = [None, *[s.code for s in runtime.config.services]]
    times: list[float] = []
    async with runtime.db.reading() as session:
        ids = [
            int(i)
            for (i,) in (
                await session.exec(text("SELECT id FROM audit_log ORDER BY random() LIMIT 500"))
            ).all()
        ]  # type: ignore[call-overload]
    for n in range(samples):
        post = rng.choice([None, *[p.code for p in runtime.config.posts]])
        member = coordinator
        if post is not None and rng.random() < 0.5:
            member = Member(
                id=2, telegram_id=2, chat_id=2, display_name="Chief", role="chief", post_code=post
            )
        period = rng.choice(["today", "7", "30", "dates"])
        zone = service.view_zone(runtime, post)
        if period == "dates":
            first = (NOW - timedelta(days=rng.randint(14, 360))).date()
            since, until = service.dates_window(
                first, first + timedelta(days=rng.choice((6, 13, 29, 90))), zone
            )
        else:
            since, until = service.period_window(period, now=NOW, zone=zone)
        view = ReviewView(
            id=1,
            member_id=member.id or 0,
            post_code=post,
            kind=rng.choice(kinds),
            service_code=rng.choice(services) if rng.random() < 0.5 else None,
            period=period,
            since=since,
            until=until,
        )
        deeper = n % 2 == 1
        began = time.perf_counter()
        async with runtime.db.reading() as session:
            await service.load_page(
                session,
                runtime,
                member,
                view,
                direction="older" if deeper else "first",
                anchor=rng.choice(ids) if deeper else None,
            )
        times.append(time.perf_counter() - began)
        what = (
            f"{member.role} post={post} {period} kind={view.kind} service={view.service_code} deeper={deeper}"
        )
        SLOWEST.append((times[-1], what))
    SLOWEST.sort(reverse=True)
    del SLOWEST[5:]
    return sorted(times)


def export_run(url: str, config_path: Path, fmt: str, output: Path) -> tuple[float, int, int]:
    """Run `liaison export` for every post and the whole year in its own process: (seconds, rows, peak KB)."""
    env = {**os.environ, "LIAISON_DATABASE_URL": url, "LIAISON_CONFIG": str(config_path)}
    began = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "export",
            "--since",
            f"{(NOW - timedelta(days=366)).date()}",
            "--until",
            f"{NOW.date()}",
            "--format",
            fmt,
            "-o",
            str(output),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - began
    out = process.stdout.read().decode() if process.stdout else ""
    if status != 0:
        raise RuntimeError(f"export failed: {process.stderr.read().decode() if process.stderr else ''}")
    rows = int(out.split("wrote ")[1].split(" ")[0])
    return elapsed, rows, usage.ru_maxrss


async def digest_time(runtime: Runtime, repeats: int) -> float:
    """Compute last week's digest for the 10 posts (the figures; the chart drawn once, timed apart)."""
    times = []
    posts = [p.code for p in runtime.config.posts]
    for _ in range(repeats):
        began = time.perf_counter()
        async with runtime.db.reading() as session:
            found = await digest.compute_digest(
                session, runtime, posts=posts, cadence="weekly", zone="Africa/Niamey", now=NOW
            )
        times.append(time.perf_counter() - began)
    assert sum(f.alerts for f in found.posts) > 0
    return statistics.median(times)


async def chart_time(runtime: Runtime) -> tuple[float, float, int]:
    """Draw the weekly chart twice: the first draw pays for matplotlib's import (and, on a new machine, its
    font cache), the second is what each later digest costs."""
    from bot.i18n import translator

    async with runtime.db.reading() as session:
        found = await digest.compute_digest(
            session,
            runtime,
            posts=[p.code for p in runtime.config.posts],
            cadence="weekly",
            zone="Africa/Niamey",
            now=NOW,
        )
    began = time.perf_counter()
    png = await asyncio.to_thread(digest.render_chart, translator("fr"), runtime, found)
    first = time.perf_counter() - began
    began = time.perf_counter()
    await asyncio.to_thread(digest.render_chart, translator("en"), runtime, found)
    return first, time.perf_counter() - began, len(png)


async def sealing_cost(url: str, writers: int, per_writer: int) -> dict[str, tuple[float, float, float]]:
    """Concurrent transactions recording one entry each at the same post: commit latency p50/p95 and
    throughput, sealed (record_action) and unsealed (the same insert without the chain)."""
    database = Database(url)
    results = {}
    try:
        for mode in ("unsealed", "sealed"):
            latencies: list[float] = []

            async def writer(k: int, mode: str = mode, latencies: list[float] = latencies) -> None:
                for i in range(per_writer):
                    began = time.perf_counter()
                    async with database.transaction() as session:
                        if mode == "sealed":
                            await record_action(
                                session,
                                action="alert.seen",
                                at=NOW,
                                post_code="P00",
                                details={"service": "police", "writer": k, "i": i},
                            )
                        else:
                            session.add(
                                AuditEntry(
                                    at=NOW,
                                    action="alert.seen",
                                    post_code="P00",
                                    details={"service": "police", "writer": k, "i": i},
                                    chain="bench-unsealed",
                                )
                            )
                            await session.flush()
                    latencies.append(time.perf_counter() - began)

            began = time.perf_counter()
            await asyncio.gather(*(writer(k) for k in range(writers)))
            elapsed = time.perf_counter() - began
            latencies.sort()
            results[mode] = (
                percentile(latencies, 0.5),
                percentile(latencies, 0.95),
                len(latencies) / elapsed,
            )
    finally:
        await database.dispose()
    return results


async def private_database(server_url: str) -> str:
    """A fresh database on the PostgreSQL server of `server_url`."""
    name = f"liaison_bench_review_{uuid.uuid4().hex[:8]}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(server_url: str, url: str) -> None:
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    await engine.dispose()


async def main() -> None:
    """Run every measurement and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30,000 entries, fewer samples (smoke run)")
    parser.add_argument("--database-url", help="a PostgreSQL server URL (a private database is created)")
    parser.add_argument("--rows", type=int, help="how many entries (default 1,000,000; 30,000 with --quick)")
    parser.add_argument("--verbose", action="store_true", help="also print the slowest pages' filters")
    options = parser.parse_args()
    rows = options.rows or (30_000 if options.quick else 1_000_000)
    samples = 60 if options.quick else 400
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        config, config_path = bench_config(tmp)
        url = (
            await private_database(options.database_url)
            if options.database_url
            else f"sqlite+aiosqlite:///{tmp}/bench.db"
        )
        try:
            database = Database(url)
            await migrate.upgrade(database.engine)
            async with database.transaction() as session:
                await sync_posts_and_services(session, config=config)
            fill_time = await fill(database, config, rows)
            application = build_application(
                config, token="0:bench", database=database, start_background=False
            )
            runtime = runtime_of(application)
            await page_times(runtime, 5)  # warm-up: imports, caches, the database's own
            pages = await page_times(runtime, samples)
            weekly = await digest_time(runtime, 3 if options.quick else 5)
            chart, chart_again, png_size = await chart_time(runtime)
            await database.dispose()
            exports = {
                fmt: export_run(url, config_path, fmt, tmp / f"export.{fmt}") for fmt in ("csv", "xlsx")
            }
            sizes = {fmt: (tmp / f"export.{fmt}").stat().st_size for fmt in exports}
            sealing = await sealing_cost(url, writers=8, per_writer=25 if options.quick else 100)
        finally:
            if options.database_url:
                await drop_database(options.database_url, url)
    engine = "PostgreSQL" if options.database_url else "SQLite"
    print(f"review benchmark ({engine}, {rows:,} audit entries over {POSTS} posts and a year)")
    print(f"  fill (bulk insert, not record_action):  {fill_time:.1f} s")
    print(
        f"  /log page, random filters ({len(pages)} presses): p50 {percentile(pages, 0.5) * 1000:.1f} ms, "
        f"p95 {percentile(pages, 0.95) * 1000:.1f} ms, max {pages[-1] * 1000:.1f} ms (goal: p95 < 50 ms)"
    )
    for fmt, (seconds, count, peak) in exports.items():
        print(
            f"  export {fmt:4s} {count:,} entries: {seconds:.1f} s, {count / seconds:,.0f} entries/s, "
            f"{sizes[fmt] / 1_048_576:.1f} MB, peak RSS of the exporting process {peak / 1024:.0f} MB"
        )
    if options.verbose:
        for seconds, what in SLOWEST:
            print(f"    slowest: {seconds * 1000:.1f} ms  {what}")
    print(
        f"  weekly digest for {POSTS} posts (figures): {weekly * 1000:.0f} ms; chart: "
        f"{chart * 1000:.0f} ms first draw (matplotlib's import included), {chart_again * 1000:.0f} ms next, "
        f"{png_size / 1024:.0f} KB PNG"
    )
    for mode, (p50, p95, rate) in sealing.items():
        print(
            f"  8 concurrent writers at one post, {mode:8s}: commit p50 {p50 * 1000:.1f} ms, "
            f"p95 {p95 * 1000:.1f} ms, {rate:,.0f} transactions/s"
        )


if __name__ == "__main__":
    asyncio.run(main())
