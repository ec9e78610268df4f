"""Delivery benchmark: fan-out speed, urgent-over-bulk latency (vs PTB's AIORateLimiter FIFO), and faults.

Runs the real DeliveryWorker (SQLite file database in a temp dir, real clock) against the Bot API emulator
served over HTTP from another process, with Telegram's flood limits enforced (30/s overall, 1/s per chat).

    python bench/bench_delivery.py           # full run (600 / 900 members), about two minutes
    python bench/bench_delivery.py --quick   # smoke run with fewer members
    python bench/bench_delivery.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
        # on PostgreSQL (a throwaway database created beside the one named, dropped after), plus two
        # instances sharing the bot's budget beside one, as ratios to the 30/s floor
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, update
from sqlmodel import col, select
from telegram import Bot
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from bot.delivery.transport import AiohttpRequest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.delivery_emulator import TOKEN  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.delivery.worker import DeliveryWorker  # noqa: E402
from db import migrate  # noqa: E402
from db.engine import Database  # noqa: E402
from db.members import Member  # noqa: E402
from db.outbox import DeliveryState, Notification, Priority, enqueue_message  # noqa: E402
from db.posts import sync_posts_and_services  # noqa: E402
from sandbox.emulator.client import EmulatorClient  # noqa: E402

TELEGRAM_RATE = 30.0  # messages per second overall: the floor of any fan-out


@dataclass
class FanOut:
    """What one fan-out measured."""

    members: int
    seconds: float
    sent: int
    lost: int
    answered_429: int  # 429 answers the worker got (flood control and injected ones), all rescheduled
    unhandled_429: int
    duplicates: int

    @property
    def floor(self) -> float:
        """The fastest Telegram allows."""
        return self.members / TELEGRAM_RATE

    @property
    def ratio(self) -> float:
        """Wall time over the floor."""
        return self.seconds / self.floor


class Bench:
    """The database, the emulator process, its members, and one delivery worker."""

    def __init__(self, members: int, workdir: Path, database_url: str | None = None) -> None:
        self.count = members
        self.workdir = workdir
        self.config = load_config(ROOT / "config.yaml", environ={})
        self.url = database_url or f"sqlite+aiosqlite:///{workdir / 'liaison.db'}"
        self.db = Database(self.url)
        self.process: subprocess.Popen[str] | None = None
        self.port = 0
        self.chat_ids: list[int] = []
        self.member_ids: list[int] = []
        self.client: EmulatorClient | None = None
        self.worker: DeliveryWorker | None = None
        self._ref = 0

    async def setup(self) -> None:
        """Migrate, start the emulator, create the members, start the worker."""
        await migrate.upgrade(self.db.engine)
        async with self.db.transaction() as session:
            await sync_posts_and_services(session, config=self.config)
        self.process = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is measured
            [sys.executable, str(ROOT / "bench" / "delivery_emulator.py"), str(self.count)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert self.process.stdout is not None
        line = await asyncio.to_thread(self.process.stdout.readline)
        port, first = (int(x) for x in line.split())
        self.port = port
        self.client = EmulatorClient(f"http://127.0.0.1:{port}")
        self.chat_ids = [first + i for i in range(self.count)]
        async with self.db.transaction() as session:
            for i, chat_id in enumerate(self.chat_ids):
                member = Member(
                    telegram_id=chat_id,
                    chat_id=chat_id,
                    display_name=f"Agent{i}",
                    post_code="NE-KONNI",
                    service_code="customs",
                    language="fr",
                )
                session.add(member)
                await session.flush()
                assert member.id is not None
                self.member_ids.append(member.id)
        # The transport the bot ships with (bot/delivery/transport.py).
        bot = Bot(TOKEN, base_url=self.api_url, request=AiohttpRequest())
        await bot.initialize()
        self.worker = DeliveryWorker(
            db=self.db, bot=bot, config=self.config.delivery, clock=SystemClock(), instance_id="bench"
        )
        await self.worker.start()

    @property
    def api_url(self) -> str:
        """The emulator's Bot API base URL."""
        return f"http://127.0.0.1:{self.port}/bot"

    async def teardown(self) -> None:
        """Stop everything."""
        if self.worker is not None:
            await self.worker.stop()
            await self.worker.bot.shutdown()
        if self.client is not None:
            await self.client.aclose()
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        await self.db.dispose()

    async def fresh_limits(self) -> None:
        """Forget past traffic in the emulator's flood control (between scenarios)."""
        assert self.client is not None
        await self.client.limits()
        await self.client.faults_clear()

    async def enqueue(
        self, indices: range | list[int], text: str, priority: Priority
    ) -> tuple[int, datetime]:
        """Queue one message per member in one transaction; returns the ref id and the commit time."""
        self._ref += 1
        async with self.db.transaction() as session:
            for i in indices:
                await enqueue_message(
                    session,
                    chat_id=self.chat_ids[i],
                    member_id=self.member_ids[i],
                    text=text,
                    priority=priority,
                    ref=("bench", self._ref),
                    now=datetime.now(UTC),
                )
        return self._ref, datetime.now(UTC)

    async def settled(self, ref: int) -> tuple[int, int, datetime | None]:
        """(rows settled, rows sent, last sent_at) for one ref."""
        async with self.db.sessions() as session:
            rows = (
                await session.exec(
                    select(Notification.state, func.count(), func.max(Notification.sent_at))
                    .where(Notification.ref_type == "bench", Notification.ref_id == ref)
                    .group_by(Notification.state)
                )
            ).all()
        done = sum(n for state, n, _ in rows if state not in (DeliveryState.PENDING, DeliveryState.SENDING))
        sent = sum(n for state, n, _ in rows if state == DeliveryState.SENT)
        last = max((at for state, _, at in rows if state == DeliveryState.SENT and at), default=None)
        return done, sent, last

    async def wait_settled(self, ref: int, total: int, budget: float) -> tuple[int, datetime | None]:
        """Poll until every row of `ref` is settled (for at most `budget` s); returns (sent, last sent_at)."""
        deadline = time.monotonic() + budget
        while True:
            done, sent, last = await self.settled(ref)
            if done >= total or time.monotonic() > deadline:
                return sent, last
            await asyncio.sleep(0.02)

    async def unhandled_429(self, ref: int) -> int:
        """Rows that ended failed because of a 429 (the engine should never let that happen)."""
        async with self.db.sessions() as session:
            return int(
                (
                    await session.exec(
                        select(func.count())
                        .select_from(Notification)
                        .where(
                            Notification.ref_type == "bench",
                            Notification.ref_id == ref,
                            Notification.state == DeliveryState.FAILED,
                            col(Notification.last_error).contains("Too Many Requests"),
                        )
                    )
                ).one()
            )

    async def fan_out(self, members: int, text: str, *, budget: float) -> FanOut:
        """One notice to `members` people; measured from commit to the last delivery recorded."""
        assert self.client is not None
        await self.fresh_limits()
        assert self.worker is not None
        before, floods = await self.client.stats(), self.worker.stats.flood
        ref, committed = await self.enqueue(range(members), text, Priority.NORMAL)
        sent, last = await self.wait_settled(ref, members, budget)
        after = await self.client.stats()
        seconds = (last - committed).total_seconds() if last else float("inf")
        return FanOut(
            members=members,
            seconds=seconds,
            sent=sent,
            lost=members - sent,
            answered_429=self.worker.stats.flood - floods,
            unhandled_429=await self.unhandled_429(ref),
            duplicates=(after["sent"] - before["sent"]) - sent,
        )


async def delivery_cpu(bench: Bench, members: int) -> tuple[float, float]:
    """CPU seconds of this process per message of a paced fan-out: with its queueing, and delivery alone.

    Waits on the worker's own counter, not by querying the database (fan_out polls it every 20 ms: that
    polling cost more than the delivery it watched)."""
    assert bench.worker is not None
    await bench.fresh_limits()
    target = bench.worker.stats.sent + members
    start = time.process_time()
    await bench.enqueue(range(members), "CPU", Priority.NORMAL)
    queued_at = time.process_time()
    for _ in range(int((members / TELEGRAM_RATE * 3 + 30) / 0.25)):  # the budget, in quarter seconds
        if bench.worker.stats.sent >= target:
            break
        await asyncio.sleep(0.25)
    end = time.process_time()
    return (end - start) / members, (end - queued_at) / members


async def two_instances(bench: Bench, members: int) -> tuple[FanOut, FanOut]:
    """The same fan-out by one instance, then by two sharing the bot's budget through the database."""
    assert bench.worker is not None
    single = await bench.fan_out(members, "Une instance", budget=members / TELEGRAM_RATE * 3 + 30)
    database = Database(bench.url)
    bot = Bot(TOKEN, base_url=bench.api_url, request=AiohttpRequest())
    await bot.initialize()
    other = DeliveryWorker(
        db=database, bot=bot, config=bench.config.delivery, clock=SystemClock(), instance_id="bench-2"
    )
    await other.start()
    try:
        # Let both see each other before measuring (each takes its share from its next heartbeat).
        await asyncio.sleep(1.2)
        floods = other.stats.flood
        double = await bench.fan_out(members, "Deux instances", budget=members / TELEGRAM_RATE * 3 + 30)
        double.answered_429 += other.stats.flood - floods
    finally:
        await other.stop()
        await bot.shutdown()
        await database.dispose()
    return single, double


async def throwaway_database(server_url: str) -> tuple[str, str]:
    """A fresh database on the PostgreSQL server of `server_url`: (its URL, its name)."""
    import uuid

    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"liaison_bench_{uuid.uuid4().hex[:10]}"
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False), name


async def drop_database(server_url: str, name: str) -> None:
    """Drop the bench's throwaway database."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


async def pickup_latency(bench: Bench, samples: int = 5) -> list[float]:
    """Seconds from the commit of one urgent message on an idle queue to its delivery being recorded."""
    await bench.fresh_limits()
    latencies = []
    for i in range(samples):
        ref, committed = await bench.enqueue([i], "Ping", Priority.URGENT)
        sent, last = await bench.wait_settled(ref, 1, budget=10)
        assert sent == 1 and last is not None
        latencies.append((last - committed).total_seconds())
        await asyncio.sleep(0.2)
    return latencies


async def urgent_over_bulk(bench: Bench, bulk: int, urgent: int) -> float:
    """Bulk to `bulk` members, 2 s later urgent to `urgent` of them: seconds until all urgent arrived."""
    await bench.fresh_limits()
    bulk_ref, _ = await bench.enqueue(range(bulk), "Note de service (bulk)", Priority.BULK)
    await asyncio.sleep(2.0)
    targets = list(range(bulk - urgent, bulk))  # the members a FIFO would serve last
    ref, committed = await bench.enqueue(targets, "ALERTE urgente", Priority.URGENT)
    sent, last = await bench.wait_settled(ref, urgent, budget=60)
    assert sent == urgent and last is not None, "urgent alert not delivered"
    # The rest of the bulk notice is not what is measured here: cancel it so the next scenario starts clean.
    async with bench.db.transaction() as session:
        await session.exec(
            update(Notification)
            .where(
                col(Notification.ref_id) == bulk_ref,
                col(Notification.ref_type) == "bench",
                col(Notification.state) == DeliveryState.PENDING,
            )
            .values(state=DeliveryState.SUPERSEDED)
        )
    await bench.wait_settled(bulk_ref, bulk, budget=10)
    return (last - committed).total_seconds()


async def fifo_baseline(bench: Bench, bulk: int, urgent: int, concurrency: int) -> float:
    """The same scenario with a plain FIFO queue sending through PTB's AIORateLimiter."""
    await bench.fresh_limits()
    limiter = AIORateLimiter(max_retries=5)
    bot = ExtBot(
        TOKEN,
        base_url=bench.api_url,
        request=HTTPXRequest(connection_pool_size=64),
        rate_limiter=limiter,
    )
    await bot.initialize()
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    urgent_done: list[float] = []

    async def consume() -> None:
        while True:
            chat_id, text = await queue.get()
            try:
                await bot.send_message(chat_id, text)
                if text.startswith("ALERTE"):
                    urgent_done.append(time.monotonic())
            except Exception as exc:  # a FIFO sender that gave up: the alert would be lost
                logging.getLogger("fifo").warning("FIFO send failed: %s", exc)
            finally:
                queue.task_done()

    consumers = [asyncio.create_task(consume()) for _ in range(concurrency)]
    for i in range(bulk):
        queue.put_nowait((bench.chat_ids[i], "Note de service (bulk)"))
    await asyncio.sleep(2.0)
    started = time.monotonic()
    for i in range(bulk - urgent, bulk):
        queue.put_nowait((bench.chat_ids[i], "ALERTE urgente"))
    await queue.join()
    for task in consumers:
        task.cancel()
    await asyncio.gather(*consumers, return_exceptions=True)
    await bot.shutdown()
    if len(urgent_done) < urgent:
        return float("inf")
    return max(urgent_done) - started


async def under_faults(bench: Bench, members: int) -> FanOut:
    """The fan-out again with 10% 5xx answers and a 429 every three seconds."""
    assert bench.client is not None
    await bench.fresh_limits()
    await bench.client.faults_random(0.10, 502, seed=7)
    stop = asyncio.Event()

    async def periodic_429() -> None:
        assert bench.client is not None
        while not stop.is_set():
            await bench.client.faults(429, retry_after=1)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 3.0)

    injector = asyncio.create_task(periodic_429())
    try:
        assert bench.worker is not None
        before, floods = await bench.client.stats(), bench.worker.stats.flood
        ref, committed = await bench.enqueue(range(members), "Avis (pannes)", Priority.NORMAL)
        sent, last = await bench.wait_settled(ref, members, budget=members / TELEGRAM_RATE * 4 + 30)
        after = await bench.client.stats()
    finally:
        stop.set()
        await injector
        await bench.client.faults_clear()
    return FanOut(
        members=members,
        seconds=(last - committed).total_seconds() if last else float("inf"),
        sent=sent,
        lost=members - sent,
        answered_429=bench.worker.stats.flood - floods,
        unhandled_429=await bench.unhandled_429(ref),
        duplicates=(after["sent"] - before["sent"]) - sent,
    )


def show_fan_out(title: str, result: FanOut, target: float) -> None:
    """Print one fan-out's figures."""
    print(f"\n{title}")
    print(f"  members                 {result.members}")
    print(f"  wall time               {result.seconds:.2f} s  (floor {result.floor:.2f} s at 30/s)")
    verdict = "OK" if result.ratio <= target else "OVER TARGET"
    print(f"  ratio to floor          {result.ratio:.3f}  (target <= {target:.2f}: {verdict})")
    print(f"  delivered / lost        {result.sent} / {result.lost}")
    print(f"  429 answers             {result.answered_429} (rescheduled), unhandled {result.unhandled_429}")
    print(f"  duplicates              {result.duplicates}")


async def run(quick: bool, database_url: str | None = None) -> int:
    """Run the scenarios and print their figures; exit status 1 when a hard guarantee broke."""
    fan, bulk, urgent = (90, 150, 10) if quick else (600, 900, 10)
    shared = 300 if quick else 900
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    throwaway = await throwaway_database(database_url) if database_url else None
    with tempfile.TemporaryDirectory(prefix="liaison-bench-") as tmp:
        bench = Bench(max(fan, bulk, shared), Path(tmp), throwaway[0] if throwaway else None)
        started = time.monotonic()
        await bench.setup()
        try:
            print(
                f"Delivery benchmark ({'quick' if quick else 'full'}): emulator over HTTP with Telegram's "
                f"limits, {'PostgreSQL' if throwaway else 'SQLite file'} database, real clock"
            )
            pickup = await pickup_latency(bench)
            print("\n0. Pick-up: one urgent message on an idle queue, commit to delivery recorded")
            print(
                f"  median {sorted(pickup)[len(pickup) // 2] * 1000:.1f} ms, max {max(pickup) * 1000:.1f} ms "
                f"over {len(pickup)} (target: picked up within 100 ms of commit)"
            )
            first = await bench.fan_out(fan, "Avis à tout le poste", budget=fan / TELEGRAM_RATE * 3 + 30)
            show_fan_out(f"1. Fan-out to {fan} members", first, 1.10)

            ours = await urgent_over_bulk(bench, bulk, urgent)
            assert bench.worker is not None
            fifo = await fifo_baseline(bench, bulk, urgent, bench.config.delivery.concurrency)
            print(f"\n2. Urgent overtakes bulk (bulk to {bulk}, 2 s later urgent to {urgent})")
            verdict = "OK" if ours < 1.5 else "OVER TARGET"
            print(
                f"  Liaison delivery engine {ours:.3f} s until all {urgent} urgent delivered "
                f"(target < 1.5 s: {verdict})"
            )
            print(f"  PTB AIORateLimiter FIFO {fifo:.3f} s (baseline, same run)")
            print(f"  speed-up                {fifo / ours:.1f}x")

            faults = await under_faults(bench, fan)
            show_fan_out(f"3. Fan-out to {fan} under faults (10% 502, a 429 every 3 s)", faults, 1.5)

            queued, delivered = await delivery_cpu(bench, fan)
            print(f"\n4. CPU of this process per delivered message (paced fan-out to {fan}):")
            print(f"  delivery alone  {delivered * 1000:.2f} ms  (target <= 3)")
            print(f"  with queueing   {queued * 1000:.2f} ms  (the {fan} rows written by enqueue_message)")
            if throwaway:
                await bench.fresh_limits()
                single, double = await two_instances(bench, shared)
                print(f"\n5. Fan-out to {shared}: one instance, then two sharing the bot's budget (same run)")
                for label, result in (("one instance ", single), ("two instances", double)):
                    print(
                        f"  {label}  {result.seconds:6.2f} s, ratio to the 30/s floor {result.ratio:.3f}; "
                        f"delivered {result.sent}/{result.members}, 429 answers {result.answered_429}, "
                        f"unhandled {result.unhandled_429}, duplicates {result.duplicates}"
                    )
                print(
                    f"  two / one     {double.seconds / single.seconds:.3f}x (target: about 1, within 1.10)"
                )
            stats = bench.worker.stats
            print(
                f"\nWorker counters: sent {stats.sent}, retried {stats.retried}, 429 {stats.flood}, "
                f"failed {stats.failed}, deferred {stats.deferred}"
            )
            print(f"Total bench time {time.monotonic() - started:.1f} s")
        finally:
            await bench.teardown()
            if throwaway and database_url:
                await drop_database(database_url, throwaway[1])
    broken = first.lost or faults.lost or first.unhandled_429 or faults.unhandled_429
    return 1 if broken else 0


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer members, for a smoke run in tests/CI")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server URL: run on a throwaway database there, and add the two-instance fan-out",
    )
    args = parser.parse_args()
    raise SystemExit(asyncio.run(run(args.quick, args.database_url)))


if __name__ == "__main__":
    main()
