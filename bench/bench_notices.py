"""Notices benchmark: a coordinator's notice to 1,000 members across three posts, then 1,000 Seen presses in a
burst, beside a bare PTB bot answering the same presses.

Both bots run as their own process and talk to a Bot API emulator over HTTP (the emulator and the people live
in this process). The notice is written through the real /notice conversation; its fan-out is timed until the
last copy is delivered. Then every reader presses Seen as fast as the bot answers (at most --in-flight presses
waiting for their answer at any moment): printed are the presses answered per second and the p50/p99 time from
a press to its answer, for Liaison and for a bare PTB bot that only answers callback queries, and how many
times the coordinator's card was edited. Telegram's pacing is lifted (--send-rate) so the figures are the
bots' own work. With --database-url (PostgreSQL), a private database is created there and dropped after.

    python bench/bench_notices.py [--quick] [--database-url postgresql+asyncpg://...] [--in-flight N]

To see where the bot's time goes during the presses only: LIAISON_BENCH_SPY=<file> samples it with py-spy
(installed by hand) into a raw flame graph file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_alerts import (
    bench_config_file,
    bot_running,
    cpu_seconds,
    liaison_command,
    liaison_started,
    percentile,
    private_database,
    sample_presses,
    start_process,
    wait_until,
)
from sqlalchemy import insert

from db import migrate
from db.engine import Database
from db.members import Member
from db.posts import sync_posts_and_services
from sandbox.emulator import BotApiEmulator, EmulatedUser
from sandbox.emulator.http import serve

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "777001:BENCH-notices-token"
POSTS = ("NE-KONNI", "NE-MAKALONDI", "BF-KANTCHARI")
SERVICES = ("customs", "police", "health", "gendarmerie")
FIRST_ID = 600_000
COORDINATOR_ID = FIRST_ID - 1
# Presses waiting for their answer at any moment (people who pressed and watch their screen).
IN_FLIGHT = 32
NOTICE_TEXT = (
    "Exercice conjoint de contrôle aux frontières jeudi à 08:00 : chaque service désigne deux agents."
)


async def seed(url: str, config_path: Path, members: int) -> None:
    """A migrated database with `members` agents spread over three posts, and one coordinator."""
    from bot.config import load_config

    config = load_config(config_path, environ={})
    database = Database(url)
    try:
        await migrate.upgrade(database.engine)
        now = datetime.now(UTC)
        rows = [
            {
                "telegram_id": FIRST_ID + n,
                "chat_id": FIRST_ID + n,
                "display_name": f"Agent {n}",
                "post_code": POSTS[n % len(POSTS)],
                "service_code": SERVICES[(n // len(POSTS)) % len(SERVICES)],
                "role": "agent",
                "status": "active",
                "language": "en" if n % 3 == 0 else "fr",
                "reachable": True,
                "joined_at": now,
            }
            for n in range(members)
        ]
        rows.append(
            {
                "telegram_id": COORDINATOR_ID,
                "chat_id": COORDINATOR_ID,
                "display_name": "Claire",
                "post_code": None,
                "service_code": None,
                "role": "coordinator",
                "status": "active",
                "language": "en",
                "reachable": True,
                "joined_at": now,
            }
        )
        async with database.transaction() as session:
            await sync_posts_and_services(session, config=config)
            await session.exec(insert(Member), params=rows)
    finally:
        await database.dispose()


class Probe:
    """Wraps the emulator's method handler to time callback answers as they arrive."""

    def __init__(self, emulator: BotApiEmulator) -> None:
        self.done: dict[str, float] = {}
        self.events: dict[str, asyncio.Event] = {}
        self.calls: dict[str, int] = {}
        # Edits of one chat's messages (the coordinator's card), timed.
        self.watched_chat: int | None = None
        self.watched_edits: list[float] = []
        original = emulator.handle

        async def handle(method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            result = await original(method, params)
            self.calls[method] = self.calls.get(method, 0) + 1
            if method in ("editMessageText", "editMessageCaption") and str(params.get("chat_id")) == str(
                self.watched_chat
            ):
                self.watched_edits.append(time.monotonic())
            if method == "answerCallbackQuery":
                key = str(params.get("callback_query_id"))
                event = self.events.get(key)
                if event is not None and not event.is_set():
                    self.done[key] = time.monotonic()
                    event.set()
            return result

        emulator.handle = handle  # type: ignore[method-assign]

    def expect(self, key: str) -> asyncio.Event:
        """Watch for the answer to one callback query."""
        self.events[key] = asyncio.Event()
        return self.events[key]


async def press_all(
    probe: Probe, presses: list[Callable[[], Awaitable[dict[str, Any]]]], in_flight: int
) -> tuple[list[float], float]:
    """Press every button with at most `in_flight` presses unanswered; returns latencies and the busy time."""
    slots = asyncio.Semaphore(in_flight)
    latencies: list[float] = []
    tasks: list[asyncio.Task[None]] = []

    async def finish(key: str, event: asyncio.Event, started: float) -> None:
        try:
            await asyncio.wait_for(event.wait(), 120)
        except TimeoutError:
            raise SystemExit(f"FAIL: press {key} never answered") from None
        finally:
            slots.release()
        latencies.append(probe.done[key] - started)

    start = time.monotonic()
    for press in presses:
        await slots.acquire()
        started = time.monotonic()
        update = await press()
        key = str(update["callback_query"]["id"])
        tasks.append(asyncio.create_task(finish(key, probe.expect(key), started)))
    await asyncio.gather(*tasks)
    return latencies, time.monotonic() - start


def keep_log(log: Path) -> None:
    """Keep the bot's log (LIAISON_BENCH_LOG=<file>) to see what it did during the run."""
    if os.environ.get("LIAISON_BENCH_LOG"):
        Path(os.environ["LIAISON_BENCH_LOG"]).write_bytes(log.read_bytes())


def has_button(user: EmulatedUser, label: str) -> bool:
    """Whether one of the user's messages shows this button."""
    return any(label in m.buttons() for m in user.inbox)


async def step(user: EmulatedUser, label: str, then: str, what: str) -> None:
    """Tap a button and wait for the next one to appear."""
    await user.tap(label)
    await wait_until(lambda: has_button(user, then), what, 30)


def seen_copy(user: EmulatedUser) -> Any:
    """The reader's copy of the notice (its Seen button), or None."""
    return next((m for m in user.inbox if "nt:seen:1" in m.button_data()), None)


async def run_liaison(
    members: int, database_url: str | None, send_rate: float, in_flight: int
) -> dict[str, float]:
    """Liaison: the notice through /notice, its fan-out, then every reader presses Seen."""
    emulator = BotApiEmulator(TOKEN, "liaison_bench_bot")
    probe = Probe(emulator)
    server, port = await serve(emulator)
    api_url = f"http://127.0.0.1:{port}/bot"
    with tempfile.TemporaryDirectory() as tmp:
        config_path = bench_config_file(Path(tmp), send_rate)
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await seed(url, config_path, members)
        readers = [
            emulator.user(FIRST_ID + n, f"Agent {n}", language_code="en" if n % 3 == 0 else "fr")
            for n in range(members)
        ]
        coordinator = emulator.user(COORDINATOR_ID, "Claire", language_code="en")
        for user in (*readers, coordinator):
            user.state.started = True
        env = dict(
            os.environ, TELEGRAM_BOT_TOKEN=TOKEN, LIAISON_DATABASE_URL=url, LIAISON_CONFIG=str(config_path)
        )
        log = Path(tmp) / "liaison.log"
        # LIAISON_BENCH_PROFILE=<file>: run the bot under cProfile, to see where its time goes.
        process = await start_process(*liaison_command(api_url), env=env, log=log)
        # The log is kept once the bot has stopped (bot_running stops it).
        try:
            async with bot_running(process, emulator, server, log):
                await liaison_started(process, emulator, log)

                # The coordinator writes the notice: every post, everyone, the text, Send.
                await coordinator.send("/notice")
                await wait_until(lambda: has_button(coordinator, "🌍 All posts"), "the posts question", 30)
                await step(coordinator, "🌍 All posts", "☑️ Birni N'Konni", "the posts ticked")
                await step(coordinator, "Next ▶", "👥 Everyone", "the audience question")
                await coordinator.tap("👥 Everyone")
                await wait_until(
                    lambda: any("Write the notice" in t for t in coordinator.texts), "the text question", 30
                )
                await coordinator.send(NOTICE_TEXT)
                await wait_until(lambda: has_button(coordinator, "✅ Send"), "the summary", 30)
                sent_at, fan_out_cpu_before = time.monotonic(), cpu_seconds(process.pid or 0)
                await coordinator.tap("✅ Send")
                await wait_until(lambda: all(seen_copy(u) is not None for u in readers), "every copy", 600)
                fan_out = time.monotonic() - sent_at
                fan_out_cpu = cpu_seconds(process.pid or 0) - fan_out_cpu_before
                card = next(m for m in coordinator.inbox if (m.text or "").startswith("📢 Notice #1"))
                edits_before = len(card.edits)

                # Every reader presses Seen, as fast as the bot answers.
                probe.watched_chat = COORDINATOR_ID
                spy = await sample_presses(process.pid or 0)
                pressed_at = time.monotonic()
                cpu_before = cpu_seconds(process.pid or 0)
                copies = [seen_copy(user) for user in readers]
                presses = [
                    (lambda user=user, copy=copy: user.tap("nt:seen:1", message_id=copy.message_id))
                    for user, copy in zip(readers, copies, strict=True)
                ]
                latencies, busy = await press_all(probe, presses, in_flight)
                cpu_busy = cpu_seconds(process.pid or 0) - cpu_before
                if spy is not None:
                    spy.send_signal(signal.SIGINT)
                    await spy.wait()
                # The card catches up within one interval after the last press.
                await wait_until(
                    lambda: f"👁 Seen {members} / {members}" in (card.text or ""),
                    f"the final count ({card.text!r})",
                    60,
                )
                await wait_until(
                    lambda: all(
                        not any("nt:seen:1" in (d or "") for m in u.inbox for d in m.button_data())
                        for u in readers
                    ),
                    "every copy to show Seen",
                    120,
                )
        finally:
            keep_log(log)
    return {
        "presses": len(latencies),
        "per_second": len(latencies) / busy,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "fan_out": fan_out,
        "fan_out_cpu": fan_out_cpu,
        "card_edits": len(card.edits) - edits_before,
        "card_gap": min(
            (b - a for a, b in zip(probe.watched_edits, probe.watched_edits[1:], strict=False)), default=0.0
        ),
        "card_last": (probe.watched_edits[-1] - pressed_at - busy) if probe.watched_edits else 0.0,
        "cpu": cpu_busy,
        "busy": busy,
    }


BARE_BOT = """
import sys
from telegram.ext import ApplicationBuilder, CallbackQueryHandler

async def seen(update, context):
    await update.callback_query.answer("Seen")

app = ApplicationBuilder().token(sys.argv[1]).base_url(sys.argv[2]).build()
app.add_handler(CallbackQueryHandler(seen))
app.run_polling(poll_interval=0.0, drop_pending_updates=False)
"""


async def run_bare(members: int, in_flight: int) -> dict[str, float]:
    """A bare PTB bot that only answers callback queries, pressed the same way: the baseline."""
    emulator = BotApiEmulator(TOKEN, "bare_bench_bot")
    server, port = await serve(emulator)
    users = [emulator.user(FIRST_ID + n, f"Agent {n}", language_code="fr") for n in range(members)]
    copies = []
    for user in users:
        user.state.started = True
        markup = {"inline_keyboard": [[{"text": "Seen", "callback_data": "nt:seen:1"}]]}
        status, body = await emulator.handle(
            "sendMessage", {"chat_id": user.id, "text": NOTICE_TEXT, "reply_markup": markup}
        )
        assert status == 200, body
        copies.append(body["result"]["message_id"])
    probe = Probe(emulator)
    log = Path(tempfile.gettempdir()) / f"bare-bench-{os.getpid()}.log"
    process = await start_process(
        "-c", BARE_BOT, TOKEN, f"http://127.0.0.1:{port}/bot", env=dict(os.environ), log=log
    )
    try:
        async with bot_running(process, emulator, server, log):
            await wait_until(
                lambda: any(c.method == "getUpdates" for c in emulator.calls), "the bare bot", 60
            )
            cpu_before = cpu_seconds(process.pid or 0)
            presses = [
                (lambda user=user, message_id=message_id: user.tap("nt:seen:1", message_id=message_id))
                for user, message_id in zip(users, copies, strict=True)
            ]
            latencies, busy = await press_all(probe, presses, in_flight)
            cpu_busy = cpu_seconds(process.pid or 0) - cpu_before
    finally:
        log.unlink(missing_ok=True)
    return {
        "presses": len(latencies),
        "per_second": len(latencies) / busy,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "cpu": cpu_busy,
        "busy": busy,
    }


async def main(
    quick: bool, database_url: str | None, send_rate: float, members: int | None, in_flight: int
) -> None:
    """Run both bots and print the figures side by side."""
    # A terminated bench still stops the bot it started (the finally blocks run on cancellation).
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    count = members or (90 if quick else 1000)
    async with private_database(database_url) as url:
        liaison = await run_liaison(count, url, send_rate, in_flight)
    bare = await run_bare(count, in_flight)
    backend = "PostgreSQL" if database_url else "SQLite"
    print(
        f"Notices benchmark: a coordinator's notice to {count} members at {len(POSTS)} posts, then "
        f"{count} Seen presses ({in_flight} waiting at any moment); bots over HTTP to the emulator; "
        f"database {backend}; delivery at most {send_rate:.0f} messages/s"
    )
    print(
        f"  Liaison : fan-out of {count} copies delivered in {liaison['fan_out']:.2f} s; "
        f"{liaison['per_second']:7.1f} presses answered/s; "
        f"press -> answer p50 {1000 * liaison['p50']:6.1f} ms, p99 {1000 * liaison['p99']:6.1f} ms; "
        f"the coordinator's card edited {liaison['card_edits']:.0f} times while {count} copies showed Seen "
        + (f"(at least {liaison['card_gap']:.1f} s apart; " if liaison["card_edits"] > 1 else "(")
        + f"the last {liaison['card_last']:.1f} s after the last press)"
    )
    print(
        f"  Bare PTB: {bare['per_second']:7.1f} presses answered/s; "
        f"press -> answer p50 {1000 * bare['p50']:6.1f} ms, p99 {1000 * bare['p99']:6.1f} ms"
    )
    print(
        f"  Ratio   : Liaison answers {liaison['per_second'] / bare['per_second']:.2f}x the bare bot's rate "
        f"(goal >= 0.5); p99 {'under' if liaison['p99'] < 1 else 'OVER'} 1 s (goal)"
    )
    per_press = 1000 * liaison["cpu"] / max(1, liaison["presses"])
    print(
        f"  CPU     : Liaison process {liaison['cpu']:.1f} s over {liaison['busy']:.1f} s of presses "
        f"({per_press:.1f} ms per press, sending the edits included); "
        f"bare bot {bare['cpu']:.1f} s over {bare['busy']:.1f} s"
    )
    per_copy = 1000 * liaison["fan_out_cpu"] / max(1, count)
    print(
        f"            {liaison['fan_out_cpu']:.2f} s during the fan-out: "
        f"{per_copy:.1f} ms per copy delivered (goal <= 3 ms; the notice's own transaction included)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="90 members: a smoke run for CI")
    parser.add_argument(
        "--database-url", help="run Liaison on this database instead of a temporary SQLite file"
    )
    parser.add_argument(
        "--send-rate", type=float, default=300, help="delivery messages/s (Telegram allows ~30; default 300)"
    )
    parser.add_argument(
        "--members", type=int, help="members reached by the notice (default 1000; --quick 90)"
    )
    parser.add_argument(
        "--in-flight", type=int, default=IN_FLIGHT, help=f"presses awaiting an answer ({IN_FLIGHT})"
    )
    arguments = parser.parse_args()
    # The emulator's access log would flood the figures; failures are reported by the bench itself.
    logging.getLogger("tornado.access").setLevel(logging.ERROR)
    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(
            main(
                arguments.quick,
                arguments.database_url,
                arguments.send_rate,
                arguments.members,
                arguments.in_flight,
            )
        )
