"""Alerts benchmark: 200 agents at one post raising and acknowledging alerts, beside a bare PTB echo bot.

Both bots run as their own process and talk to the same Bot API emulator over HTTP (the emulator and the
agents live in this process). Prints, for each: updates handled per second, and the p50/p99 time from an
update to its first effect (for Liaison: an alert's update to the first delivered copy; for the echo bot: a
message to its echo). Telegram's pacing is lifted in the bench config so the figures are the bots' own work;
every alert still fans out to every agent of the post, with acknowledgements editing the cards.

    python bench/bench_alerts.py [--quick] [--database-url postgresql+asyncpg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import insert

from db import migrate
from db.engine import Database
from db.members import Member
from db.posts import sync_posts_and_services
from sandbox.emulator import BotApiEmulator, EmulatedUser
from sandbox.emulator.http import serve

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "777000:BENCH-alerts-token"
POST = "NE-KONNI"
SERVICES = ("customs", "police", "health", "forests", "gendarmerie")
FIRST_ID = 500_000
# Updates waiting for the bot's answer at any moment: busy agents at a post, each waiting before acting again.
IN_FLIGHT = 16
# Alerts raised at the very same moment at one post (each fans out to every agent in one transaction).
ALERTS_IN_FLIGHT = 4
# Phase 3: alerts raised together whose copies go out while agents press Seen, that many presses a second.
FANOUT_ALERTS = 10
PRESS_RATE = 20.0


def post_codes(posts: int) -> list[str]:
    """The posts the agents are spread over: the shipped NE-KONNI alone, or that many bench posts."""
    return [POST] if posts == 1 else [f"BENCH-{n:02d}" for n in range(1, posts + 1)]


def bench_config_file(directory: Path, send_rate: float = 300, posts: int = 1) -> Path:
    """The shipped config with Telegram's pacing lifted: the bench measures the bot, not Telegram's limits."""
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    if posts > 1:
        template = dict(data["posts"][0], services=list(SERVICES))
        data["posts"] += [dict(template, code=code, name=code) for code in post_codes(posts)]
    # The shipped reminders run on the wall clock: one falling due mid-run would add its fan-out.
    data["reminders"] = []
    data["delivery"].update(
        {
            "global_per_second": send_rate,
            "per_chat_per_second": 1000,
            "per_chat_burst": 1000,
            "concurrency": 32,
        }
    )
    path = directory / "bench-config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


async def seed(url: str, config_path: Path, agents: int, posts: int = 1) -> None:
    """A migrated database with `agents` active members over `posts` posts (a chief each, five services)."""
    from bot.config import load_config

    config = load_config(config_path, environ={})
    codes = post_codes(posts)
    database = Database(url)
    try:
        await migrate.upgrade(database.engine)
        now = datetime.now(UTC)
        async with database.transaction() as session:
            await sync_posts_and_services(session, config=config)
            await session.exec(
                insert(Member),
                params=[
                    {
                        "telegram_id": FIRST_ID + n,
                        "chat_id": FIRST_ID + n,
                        "display_name": f"Agent {n}",
                        "post_code": codes[n % posts],
                        "service_code": SERVICES[n // posts % len(SERVICES)],
                        "role": "chief" if n < posts else "agent",
                        "status": "active",
                        "language": "en" if n % 3 == 0 else "fr",
                        "reachable": True,
                        "joined_at": now,
                    }
                    for n in range(agents)
                ],
            )
    finally:
        await database.dispose()


class Probe:
    """Wraps the emulator's method handler to time the bot's answers as they arrive."""

    def __init__(self, emulator: BotApiEmulator) -> None:
        self.emulator = emulator
        self.done: dict[str, float] = {}
        self.events: dict[str, asyncio.Event] = {}
        # Pressed cards (chat, message): when, by which callback query; press -> first edit after it; answers.
        self.pressed_cards: dict[tuple[int, int], float] = {}
        self.press_queries: dict[tuple[int, int], str] = {}
        self.card_edits: dict[tuple[int, int], float] = {}
        self.answers: dict[str, str] = {}
        # Copies (chat, message) of the alerts raised while presses come (phase 3), as they arrive.
        self.fresh: list[tuple[int, int]] = []
        original = emulator.handle

        async def handle(method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            result = await original(method, params)
            if method in ("sendMessage", "sendPhoto"):
                marker = _marker(str(params.get("text") or params.get("caption") or ""))
                self._seen(marker)
                if marker and marker.startswith("f") and result[0] == 200 and "al:seen:" in str(params):
                    self.fresh.append((int(params["chat_id"]), int(result[1]["result"]["message_id"])))
            elif method == "answerCallbackQuery":
                self.answers[str(params.get("callback_query_id"))] = str(params.get("text") or "")
                self._seen(str(params.get("callback_query_id")))
            elif method in ("editMessageText", "editMessageCaption") and result[0] == 200:
                card = (int(params["chat_id"]), int(params["message_id"]))
                pressed = self.pressed_cards.pop(card, None)
                if pressed is not None:
                    self.card_edits[card] = time.monotonic() - pressed
            return result

        emulator.handle = handle  # type: ignore[method-assign]

    def expect(self, key: str) -> asyncio.Event:
        """Start watching for the first effect of `key` (a text marker or a callback query id)."""
        self.events[key] = asyncio.Event()
        return self.events[key]

    def _seen(self, key: str | None) -> None:
        event = self.events.get(key or "")
        if event is not None and not event.is_set():
            self.done[key or ""] = time.monotonic()
            event.set()


def _marker(text: str) -> str | None:
    """The ⟦marker⟧ the bench wrote into a text, if any."""
    start = text.find("⟦")
    end = text.find("⟧", start)
    return text[start + 1 : end] if 0 <= start < end else None


async def press(probe: Probe, user: EmulatedUser, data: str, card: Any) -> dict[str, Any]:
    """Tap a button of an alert card, noting the moment for the card's next edit."""
    probe.pressed_cards[(user.id, card.message_id)] = time.monotonic()
    result = await user.tap(data, message_id=card.message_id)
    probe.press_queries[(user.id, card.message_id)] = str(result["callback_query"]["id"])
    return result


class ClosedLoop:
    """Keeps at most `in_flight` updates waiting for their first effect, like agents awaiting an answer."""

    def __init__(self, probe: Probe, in_flight: int, seconds: float = 120.0) -> None:
        self.probe, self.slots, self.seconds = probe, asyncio.Semaphore(in_flight), seconds
        self.latencies: list[float] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def submit(self, key: str, action: Callable[[], Awaitable[Any]]) -> None:
        """Wait for a free slot, act, and free the slot when the bot's first effect arrives."""
        await self.slots.acquire()
        event = self.probe.expect(key) if key else None
        started = time.monotonic()
        result = await action()
        if event is None:  # the key (a callback query id) is only known once the update exists
            event = self.probe.expect(str(result["callback_query"]["id"]))
            key = str(result["callback_query"]["id"])
        self.tasks.append(asyncio.create_task(self._finish(key, event, started)))

    async def _finish(self, key: str, event: asyncio.Event, started: float) -> None:
        try:
            await asyncio.wait_for(event.wait(), self.seconds)
        except TimeoutError:
            raise SystemExit(f"FAIL: no answer to {key} within {self.seconds:.0f} s") from None
        finally:
            self.slots.release()
        self.latencies.append(self.probe.done[key] - started)

    async def drain(self) -> None:
        """Wait for every submitted update's effect."""
        await asyncio.gather(*self.tasks)


async def raise_alerts(loop: ClosedLoop, authors: list[EmulatedUser]) -> None:
    """Each author raises one urgent alert (one-line form) once a slot is free, until all took effect."""
    for n, author in enumerate(authors):
        text = f"/alert urgent security: bench ⟦a{n}⟧ vehicle forcing the barrier"
        await loop.submit(f"a{n}", lambda author=author, text=text: author.send(text))
    await loop.drain()


async def wait_until(condition: Callable[[], bool], what: str, seconds: float) -> None:
    """Poll a condition with a deadline (the bot is another process)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"FAIL: timed out waiting for {what}")
        await asyncio.sleep(0.01)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of a non-empty list."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, round(q) - 1))]


async def presses_during_fanout(
    probe: Probe,
    users: list[EmulatedUser],
    rng: random.Random,
    *,
    posts: int,
    alerts: int,
    rate: float,
    pid: int,
) -> dict[str, float]:
    """Raise `alerts` urgent alerts at once; while their copies go out, press Seen on copies already
    delivered, `rate` presses a second; returns the presses' answer times and the fan-out's pace."""
    by_id = {u.id: u for u in users}
    probe.fresh.clear()
    sent_before = probe.emulator.stats.as_dict().get("sent", 0)
    started, cpu = time.monotonic(), cpu_seconds(pid)
    authors = rng.sample(users, alerts)
    raising = [
        asyncio.create_task(author.send(f"/alert urgent security: bench ⟦f{n}⟧ vehicle forcing the barrier"))
        for n, author in enumerate(authors)
    ]
    # Every member of the author's post but the author gets a copy with a Seen button.
    expected = sum(sum(1 for u in users if (u.id - a.id) % posts == 0) - 1 for a in authors)
    latencies: list[float] = []
    taps: list[asyncio.Task[None]] = []

    async def tap_seen(chat_id: int, message_id: int) -> None:
        user = by_id[chat_id]
        card = next(m for m in reversed(user.inbox) if m.message_id == message_id)
        data = next(d for d in card.button_data() if d and d.startswith("al:seen:"))
        pressed = time.monotonic()
        result = await user.tap(data, message_id=message_id)
        key = str(result["callback_query"]["id"])
        if key not in probe.answers:  # not answered yet: wait for it
            event = probe.expect(key)
            if key not in probe.answers:
                await asyncio.wait_for(event.wait(), 120)
        latencies.append(time.monotonic() - pressed)

    # Taken in random order (swap-remove), each copy pressed at most once.
    waiting: list[tuple[int, int]] = []
    taken = 0
    next_at = time.monotonic()
    while len(probe.fresh) < expected:
        if time.monotonic() - started > 300:
            raise SystemExit(f"FAIL: {len(probe.fresh)} of {expected} copies delivered in 300 s")
        waiting.extend(probe.fresh[taken:])
        taken = len(probe.fresh)
        next_at += 1 / rate
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))  # the bench's own pace, not the bot's
        if waiting:
            index = rng.randrange(len(waiting))
            waiting[index], waiting[-1] = waiting[-1], waiting[index]
            taps.append(asyncio.create_task(tap_seen(*waiting.pop())))
    busy = time.monotonic() - started
    busy_cpu = cpu_seconds(pid) - cpu
    await asyncio.gather(*raising, *taps)
    copies = probe.emulator.stats.as_dict().get("sent", 0) - sent_before
    return {
        "fan_presses": len(latencies),
        "fan_p50": percentile(latencies, 50) if latencies else math.nan,
        "fan_p99": percentile(latencies, 99) if latencies else math.nan,
        "fan_copies": copies,
        "fan_copies_per_second": copies / busy,
        "fan_busy": busy_cpu / busy,
        # The presses' work is in it too: an upper bound of what one delivered copy costs.
        "fan_cpu_per_copy": busy_cpu / max(1, copies),
    }


@contextlib.asynccontextmanager
async def private_database(url: str | None) -> AsyncIterator[str | None]:
    """A fresh PostgreSQL database next to the one given (dropped after), or None for SQLite."""
    if url is None:
        yield None
        return
    import uuid

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from db.engine import create_engine

    name = f"liaison_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def start_process(*args: str, env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    """A bot process; its log goes to a file (a pipe nobody reads would block it once full)."""
    with log.open("wb") as handle:
        return await asyncio.create_subprocess_exec(
            sys.executable, *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=handle
        )


def liaison_command(api_url: str) -> tuple[str, ...]:
    """`liaison run` against the emulator; under cProfile when LIAISON_BENCH_PROFILE names a file."""
    profile = os.environ.get("LIAISON_BENCH_PROFILE")
    prefix = ("-m", "cProfile", "-o", profile) if profile else ()
    return (*prefix, "-m", "bot.cli", "run", "--api-url", api_url)


def tail(log: Path, lines: int = 30) -> str:
    """The end of a bot's log, for a failure message."""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


async def sample_presses(pid: int) -> asyncio.subprocess.Process | None:
    """py-spy sampling the bot while it is pressed, when LIAISON_BENCH_SPY names its (raw) output file."""
    out = os.environ.get("LIAISON_BENCH_SPY")
    if not out:
        return None
    command = ("py-spy", "record", "-p", str(pid), "-r", "400", "--format", "raw", "-o", out)
    spy = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.DEVNULL)
    await asyncio.sleep(1.0)  # py-spy attaches
    return spy


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process used so far (Linux /proc), 0 when unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def resident_mib(pid: int) -> float:
    """The process's resident memory now (Linux), in MiB; 0 where /proc cannot tell."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    line = next((line for line in status.splitlines() if line.startswith("VmRSS:")), "VmRSS: 0 kB")
    return int(line.split()[1]) / 1024


async def stop_process(process: asyncio.subprocess.Process) -> None:
    """Ask the process to stop, then make sure it did."""
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()


async def liaison_started(process: asyncio.subprocess.Process, emulator: BotApiEmulator, log: Path) -> None:
    """Wait until Liaison has set its commands (it is serving), or fail with its log if it exited."""
    await wait_until(
        lambda: emulator.get_commands() != [] or process.returncode is not None, "Liaison to start", 60
    )
    if process.returncode is not None:
        raise SystemExit(f"FAIL: Liaison exited:\n{tail(log)}")


@contextlib.asynccontextmanager
async def bot_running(
    process: asyncio.subprocess.Process, emulator: BotApiEmulator, server: Any, log: Path
) -> AsyncIterator[None]:
    """Stops the bot and its emulator when the block ends; a failure prints the end of the bot's log."""
    try:
        yield
    except SystemExit:
        print(tail(log), file=sys.stderr)
        raise
    finally:
        await stop_process(process)
        await emulator.release_long_polls()
        server.stop()


async def run_liaison(
    agents: int,
    alerts: int,
    acks_per_agent: int,
    database_url: str | None,
    send_rate: float,
    alerts_in_flight: int = ALERTS_IN_FLIGHT,
    posts: int = 1,
    fanout_alerts: int = FANOUT_ALERTS,
    press_rate: float = PRESS_RATE,
) -> dict[str, float]:
    """Liaison against the emulator: raise alerts (one-line form), then acknowledge them; returns figures."""
    emulator = BotApiEmulator(TOKEN, "liaison_bench_bot")
    probe = Probe(emulator)
    server, port = await serve(emulator)
    api_url = f"http://127.0.0.1:{port}/bot"
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        config_path = bench_config_file(Path(tmp), send_rate, posts)
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await seed(url, config_path, agents, posts)
        users = [emulator.user(FIRST_ID + n, f"Agent {n}", language_code="fr") for n in range(agents)]
        for user in users:
            user.state.started = True
        env = dict(
            os.environ, TELEGRAM_BOT_TOKEN=TOKEN, LIAISON_DATABASE_URL=url, LIAISON_CONFIG=str(config_path)
        )
        log = Path(tmp) / "liaison.log"
        process = await start_process(*liaison_command(api_url), env=env, log=log)
        async with bot_running(process, emulator, server, log):
            await liaison_started(process, emulator, log)

            # Phase 1: distinct agents raise urgent alerts (one-line form); the first copy is the effect.
            loop = ClosedLoop(probe, alerts_in_flight)
            # py-spy on the alerts' phase instead of the presses' when LIAISON_BENCH_SPY_PHASE is 1.
            spy = (
                await sample_presses(process.pid or 0)
                if os.environ.get("LIAISON_BENCH_SPY_PHASE") == "1"
                else None
            )
            phase1, phase1_cpu = time.monotonic(), cpu_seconds(process.pid or 0)
            # Distinct authors while there are enough agents; an agent's post is its index modulo `posts`.
            authors = rng.sample(users, alerts) if alerts <= agents else rng.choices(users, k=alerts)
            await raise_alerts(loop, authors)
            phase1_busy = time.monotonic() - phase1
            phase1_cpu = cpu_seconds(process.pid or 0) - phase1_cpu
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                await spy.wait()
            alert_latencies = list(loop.latencies)
            raised_at = [sum(1 for a in authors if (a.id - FIRST_ID) % posts == p) for p in range(posts)]

            # Let the fan-out finish so every agent holds every copy of its post before pressing its buttons.
            def copies_in() -> bool:
                return all(
                    sum(1 for m in u.inbox if m.button_data()) >= raised_at[(u.id - FIRST_ID) % posts]
                    for u in users
                )

            await wait_until(copies_in, "every copy to be delivered", 600)

            # Phase 2: each agent acknowledges a few alerts (Seen or Taking action); the answer is the effect.
            loop = ClosedLoop(probe, IN_FLIGHT)
            spy = (
                await sample_presses(process.pid or 0)
                if os.environ.get("LIAISON_BENCH_SPY_PHASE") != "1"
                else None
            )
            phase2, phase2_cpu = time.monotonic(), cpu_seconds(process.pid or 0)
            edits_before = emulator.stats.as_dict().get("edits", 0)
            for user in users:
                cards = [
                    m for m in user.inbox if any(d and d.startswith("al:seen:") for d in m.button_data())
                ]
                for card in rng.sample(cards, min(acks_per_agent, len(cards))):
                    data = rng.choice(
                        [d for d in card.button_data() if d and d.startswith(("al:seen", "al:act"))]
                    )
                    await loop.submit(
                        "", lambda user=user, data=data, card=card: press(probe, user, data, card)
                    )
            await loop.drain()
            phase2_busy = time.monotonic() - phase2
            phase2_edits = emulator.stats.as_dict().get("edits", 0) - edits_before
            phase2_cpu = cpu_seconds(process.pid or 0) - phase2_cpu
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                await spy.wait()
            ack_latencies = list(loop.latencies)
            rss = resident_mib(process.pid)  # right after the presses, as before the card-edit probe existed
            # A press recorded as its service's acknowledgement (answered "... enregistré(e) pour <service>":
            # the agents read French) changes the presser's card; one whose service had acknowledged already
            # does not (its card changes later, with the alert handled, at bulk priority: not counted). Wait
            # until no more edits come for two seconds.
            seen_edits = -1
            while seen_edits != len(probe.card_edits):
                seen_edits = len(probe.card_edits)
                await asyncio.sleep(2.0)
            recorded = [
                card
                for card, query in probe.press_queries.items()
                if re.search("enregistrée? pour", probe.answers.get(query, ""))
            ]
            card_latencies = [probe.card_edits[c] for c in recorded if c in probe.card_edits]
            never_edited = len(recorded) - len(card_latencies)

            # Phase 3: a tap while alerts fan out. New urgent alerts are raised at once; while their copies go
            # out, agents who got one press Seen at a steady rate (open loop: a press does not wait for the
            # previous one's answer, as on a post's phones).
            fanout = await presses_during_fanout(
                probe, users, rng, posts=posts, alerts=fanout_alerts, rate=press_rate, pid=process.pid or 0
            )
    updates = len(alert_latencies) + len(ack_latencies)
    return {
        "updates": updates,
        "per_second": updates / (phase1_busy + phase2_busy),
        "alerts_per_second": len(alert_latencies) / phase1_busy,
        "acks_per_second": len(ack_latencies) / phase2_busy,
        "p50": percentile(alert_latencies, 50),
        "p99": percentile(alert_latencies, 99),
        "ack_p50": percentile(ack_latencies, 50),
        "ack_p99": percentile(ack_latencies, 99),
        "card_edited": len(card_latencies),
        "card_never": never_edited,
        "card_p50": percentile(card_latencies, 50) if card_latencies else math.nan,
        "card_p99": percentile(card_latencies, 99) if card_latencies else math.nan,
        "rss_mib": rss,
        "press_cpu": phase2_cpu / max(1, len(ack_latencies)),
        "alert_cpu": phase1_cpu / max(1, len(alert_latencies)),
        "press_busy": phase2_cpu / phase2_busy,
        "press_edits": phase2_edits / max(1, len(ack_latencies)),
        **fanout,
        "sent": emulator.stats.as_dict().get("sent", 0),
        "edits": emulator.stats.as_dict().get("edits", 0),
    }


ECHO_BOT = """
import sys
from telegram.ext import ApplicationBuilder, MessageHandler, filters

async def echo(update, context):
    await update.effective_message.reply_text(update.effective_message.text)

app = ApplicationBuilder().token(sys.argv[1]).base_url(sys.argv[2]).build()
app.add_handler(MessageHandler(filters.TEXT, echo))
app.run_polling(poll_interval=0.0, drop_pending_updates=False)
"""


async def run_echo(agents: int, messages: int) -> dict[str, float]:
    """A bare PTB echo bot against the same kind of emulator: the baseline."""
    emulator = BotApiEmulator(TOKEN, "echo_bench_bot")
    probe = Probe(emulator)
    server, port = await serve(emulator)
    users = [emulator.user(FIRST_ID + n, f"Agent {n}", language_code="fr") for n in range(agents)]
    rng = random.Random(7)
    log = Path(tempfile.gettempdir()) / f"echo-bench-{os.getpid()}.log"
    process = await start_process(
        "-c", ECHO_BOT, TOKEN, f"http://127.0.0.1:{port}/bot", env=dict(os.environ), log=log
    )
    loop = ClosedLoop(probe, IN_FLIGHT)
    try:
        await wait_until(lambda: any(c.method == "getUpdates" for c in emulator.calls), "the echo bot", 60)
        start = time.monotonic()
        for n in range(messages):
            user, text = rng.choice(users), f"bench ⟦e{n}⟧ vehicle forcing the barrier"
            await loop.submit(f"e{n}", lambda user=user, text=text: user.send(text))
        await loop.drain()
        busy = time.monotonic() - start
        rss = resident_mib(process.pid)
    finally:
        await stop_process(process)
        await emulator.release_long_polls()
        server.stop()
        log.unlink(missing_ok=True)
    return {
        "updates": messages,
        "per_second": messages / busy,
        "p50": percentile(loop.latencies, 50),
        "p99": percentile(loop.latencies, 99),
        "rss_mib": rss,
    }


async def run_floor(
    agents: int, alerts: int, posts: int, alerts_in_flight: int, database_url: str | None
) -> dict[str, float]:
    """The durable floor (bench/durable_floor_bot.py) raising the same alerts as Liaison's first phase."""
    import durable_floor_bot  # beside this script (its directory is on sys.path when run)

    emulator = BotApiEmulator(TOKEN, "floor_bench_bot")
    probe = Probe(emulator)
    server, port = await serve(emulator)
    users = [emulator.user(FIRST_ID + n, f"Agent {n}", language_code="fr") for n in range(agents)]
    for user in users:
        user.state.started = True
    codes = post_codes(posts)
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'floor.db'}"
        await durable_floor_bot.seed(url, [(FIRST_ID + n, codes[n % posts]) for n in range(agents)])
        log = Path(tmp) / "floor.log"
        script = str(ROOT / "bench" / "durable_floor_bot.py")
        process = await start_process(
            script, TOKEN, f"http://127.0.0.1:{port}/bot", url, env=dict(os.environ), log=log
        )
        loop = ClosedLoop(probe, alerts_in_flight)
        async with bot_running(process, emulator, server, log):
            await wait_until(
                lambda: any(c.method == "getUpdates" for c in emulator.calls), "the floor bot", 60
            )
            start, cpu = time.monotonic(), cpu_seconds(process.pid or 0)
            authors = rng.sample(users, alerts) if alerts <= agents else rng.choices(users, k=alerts)
            await raise_alerts(loop, authors)
            busy, cpu = time.monotonic() - start, cpu_seconds(process.pid or 0) - cpu
            rss = resident_mib(process.pid)
    return {
        "alerts_per_second": alerts / busy,
        "p50": percentile(loop.latencies, 50),
        "alert_cpu": cpu / alerts,
        "rss_mib": rss,
    }


async def main(
    quick: bool,
    database_url: str | None,
    send_rate: float,
    sizes: tuple[int, int, int] | None,
    alerts_in_flight: int = ALERTS_IN_FLIGHT,
    posts: int = 1,
    fanout_alerts: int = FANOUT_ALERTS,
    press_rate: float = PRESS_RATE,
    floor: bool = False,
) -> None:
    """Run both bots (and the durable floor when asked) and print the figures side by side."""
    # A terminated bench still stops the bot it started (the finally blocks run on cancellation).
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    agents, alerts, acks = sizes or ((30, 4, 1) if quick else (200, 20, 2))
    # PostgreSQL: a database of its own beside the one named (a previous run's or the tests' rows stay out).
    async with private_database(database_url) as url:
        liaison = await run_liaison(
            agents, alerts, acks, url, send_rate, alerts_in_flight, posts, fanout_alerts, press_rate
        )
        floor_figures = await run_floor(agents, alerts, posts, alerts_in_flight, url) if floor else None
    echo = await run_echo(agents, int(liaison["updates"]))
    backend = "PostgreSQL" if database_url else "SQLite"
    load = f"{alerts} urgent alerts ({alerts_in_flight} at a time), {acks} acknowledgement(s) per agent"
    setup = f"bots over HTTP to the emulator; database {backend}; delivery at most {send_rate:.0f} messages/s"
    where = "at one post" if posts == 1 else f"over {posts} posts of {agents // posts}"
    print(f"Alerts benchmark: {agents} agents {where}, {load}; {setup}")
    print(
        f"  Liaison : {liaison['updates']:.0f} updates, {liaison['per_second']:7.1f} updates/s; "
        f"alert update -> first delivered copy p50 {1000 * liaison['p50']:7.1f} ms, "
        f"p99 {1000 * liaison['p99']:7.1f} ms"
    )
    print(
        f"            button press -> answered p50 {1000 * liaison['ack_p50']:7.1f} ms, "
        f"p99 {1000 * liaison['ack_p99']:7.1f} ms; {liaison['sent']:.0f} messages sent, "
        f"{liaison['edits']:.0f} card edits"
    )
    print(
        f"            press -> the presser's card edited p50 {1000 * liaison['card_p50']:7.1f} ms, "
        f"p99 {1000 * liaison['card_p99']:7.1f} ms (goal p50 < 1 s; over the {liaison['card_edited']:.0f} "
        f"presses recorded for their service; {liaison['card_never']:.0f} of those never edited)"
    )
    print(
        f"            {1000 * liaison['press_cpu']:.1f} ms of CPU per press (its card edits included: "
        f"{liaison['press_edits']:.1f} a press sent meanwhile; goal <= 10); the process "
        f"{100 * liaison['press_busy']:.0f} % busy while pressed"
    )
    if liaison["fan_presses"]:
        print(
            f"            while {fanout_alerts} more alerts fan out ({liaison['fan_copies']:.0f} copies, "
            f"{liaison['fan_copies_per_second']:.0f}/s), Seen pressed {press_rate:g} times a second "
            "(open loop): "
            f"answered p50 {1000 * liaison['fan_p50']:7.1f} ms, p99 {1000 * liaison['fan_p99']:7.1f} ms over "
            f"{liaison['fan_presses']:.0f} presses; the process {100 * liaison['fan_busy']:.0f} % busy, "
            f"{1000 * liaison['fan_cpu_per_copy']:.2f} ms of CPU per copy delivered (presses included; "
            "goal <= 3)"
        )
    else:
        print(
            f"            the {fanout_alerts} more alerts' fan-out ended before a press could come "
            "(raise --fanout-alerts)"
        )
    print(
        f"            by phase: {liaison['alerts_per_second']:.1f} alerts/s "
        f"(each fanned out to {agents // posts}), "
        f"{liaison['acks_per_second']:.1f} acknowledgements/s; {1000 * liaison['alert_cpu']:.1f} ms of CPU "
        f"per alert until its first copy (copies sent meanwhile included)"
    )
    print(
        f"            alert intake {liaison['alerts_per_second'] / echo['per_second']:.2f}x the echo bot's "
        f"update rate ({alerts_in_flight} alerts waiting at a time, {IN_FLIGHT} messages for the echo bot)"
    )
    print(
        f"  PTB echo: {echo['updates']:.0f} updates, {echo['per_second']:7.1f} updates/s; "
        f"message -> echo p50 {1000 * echo['p50']:7.1f} ms, p99 {1000 * echo['p99']:7.1f} ms"
    )
    print(
        f"  Ratio   : Liaison handles {liaison['per_second'] / echo['per_second']:.2f}x the echo bot's "
        f"update rate; first-delivery p50 is {liaison['p50'] / echo['p50']:.1f}x the echo round trip"
    )
    if echo["rss_mib"]:
        print(
            f"  Memory  : resident after the run, Liaison {liaison['rss_mib']:.1f} MiB, echo bot "
            f"{echo['rss_mib']:.1f} MiB: {liaison['rss_mib'] / echo['rss_mib']:.2f}x"
        )
    if floor_figures:
        rate, rss = floor_figures["alerts_per_second"], floor_figures["rss_mib"]
        print(
            "  Floor   : PTB + SQLAlchemy Core recording each alert and its copies, then sending (no inbox, "
            f"audit, escalation or rendering): {rate:.1f} alerts/s, {rate / echo['per_second']:.2f}x "
            "the echo "
            f"bot's rate; first copy p50 {1000 * floor_figures['p50']:.1f} ms; "
            f"{1000 * floor_figures['alert_cpu']:.1f} ms of CPU per alert; {rss:.1f} MiB resident, "
            f"{rss / max(echo['rss_mib'], 1):.2f}x the echo bot's"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="30 agents, 4 alerts, the floor too: a smoke run for CI"
    )
    parser.add_argument(
        "--database-url", help="run Liaison on this database instead of a temporary SQLite file"
    )
    parser.add_argument(
        "--send-rate", type=float, default=300, help="delivery messages/s (Telegram allows ~30; default 300)"
    )
    parser.add_argument(
        "--alerts-in-flight", type=int, default=ALERTS_IN_FLIGHT, help="alerts raised at the same moment (4)"
    )
    parser.add_argument("--sizes", help="agents,alerts,acks-per-agent (default 200,20,2; --quick 30,4,1)")
    parser.add_argument("--posts", type=int, default=1, help="spread the agents over this many posts (1)")
    parser.add_argument(
        "--fanout-alerts",
        type=int,
        help=f"alerts fanning out while Seen is pressed ({FANOUT_ALERTS}; --quick 4)",
    )
    parser.add_argument(
        "--press-rate", type=float, default=PRESS_RATE, help=f"presses a second meanwhile ({PRESS_RATE:g})"
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also run the durable floor (bench/durable_floor_bot.py) on the same alerts",
    )
    arguments = parser.parse_args()
    # The emulator's access log would flood the figures; failures are reported by the bench itself.
    logging.getLogger("tornado.access").setLevel(logging.ERROR)
    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        sizes = tuple(int(n) for n in arguments.sizes.split(",")) if arguments.sizes else None
        asyncio.run(
            main(
                arguments.quick,
                arguments.database_url,
                arguments.send_rate,
                sizes,
                arguments.alerts_in_flight,
                arguments.posts,
                arguments.fanout_alerts or (4 if arguments.quick else FANOUT_ALERTS),
                arguments.press_rate,
                arguments.floor or arguments.quick,
            )  # type: ignore[arg-type]
        )
