"""Inbox benchmark: the update handling rate of `liaison run` with the durable inbox, beside the same run
without it (PTB's own Updater, `--no-inbox`, a flag only this benchmark uses), as a ratio.

Agents at one post press buttons on an alert's card, each update waiting for its answer (a closed loop of
busy agents): "Seen" and "Taking action" (handlers that write: the inbox marks the update in the handler's
own transaction) and a stale button (a handler that only answers: the inbox marks it afterwards). Both
variants run against the same emulator over HTTP, alternately, on a fresh database each time; the figure is
the median of the runs.

    python bench/bench_inbox.py [--quick] [--runs N] [--database-url postgresql+asyncpg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench_alerts import (
    FIRST_ID,
    TOKEN,
    ClosedLoop,
    Probe,
    bench_config_file,
    bot_running,
    percentile,
    seed,
    start_process,
    tail,
    wait_until,
)
from sqlalchemy import text
from sqlalchemy.engine import make_url

from db.engine import create_engine
from sandbox.emulator import BotApiEmulator
from sandbox.emulator.http import serve

IN_FLIGHT = 16


async def _fresh_database(base_url: str | None, directory: Path, name: str) -> tuple[str, str | None]:
    """A new empty database for one run: a SQLite file, or a private PostgreSQL database (dropped after)."""
    if not base_url:
        return f"sqlite+aiosqlite:///{directory / (name + '.db')}", None
    database = f"bench_inbox_{name}_{uuid.uuid4().hex[:6]}"
    engine = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{database}"'))
    finally:
        await engine.dispose()
    return make_url(base_url).set(database=database).render_as_string(hide_password=False), database


async def _drop(base_url: str, database: str) -> None:
    engine = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    finally:
        await engine.dispose()


def press(user: Any, card: Any, step: str) -> Callable[[], Awaitable[Any]]:
    """One button press on an alert's card: Seen, Taking action, or a stale button (forged id)."""
    if step == "stale":
        return lambda: user.tap_forged("al:seen:999999", card.message_id)
    data = next(d for d in card.button_data() if d and d.startswith(step))
    return lambda: user.tap(data, message_id=card.message_id)


async def run_once(agents: int, with_inbox: bool, base_url: str | None) -> dict[str, float]:
    """One `liaison run` against the emulator; returns the handling rate of the button presses."""
    emulator = BotApiEmulator(TOKEN, "liaison_bench_bot")
    probe = Probe(emulator)
    server, port = await serve(emulator)
    with tempfile.TemporaryDirectory() as tmp:
        config_path = bench_config_file(Path(tmp))
        url, created = await _fresh_database(base_url, Path(tmp), "with" if with_inbox else "without")
        try:
            await seed(url, config_path, agents)
            users = [emulator.user(FIRST_ID + n, f"Agent {n}", language_code="fr") for n in range(agents)]
            for user in users:
                user.state.started = True
            env = dict(
                os.environ,
                TELEGRAM_BOT_TOKEN=TOKEN,
                LIAISON_DATABASE_URL=url,
                LIAISON_CONFIG=str(config_path),
            )
            args = ["-m", "bot.cli", "run", "--api-url", f"http://127.0.0.1:{port}/bot"]
            log = Path(tmp) / "liaison.log"
            process = await start_process(*args, *([] if with_inbox else ["--no-inbox"]), env=env, log=log)
            async with bot_running(process, emulator, server, log):
                await wait_until(
                    lambda: emulator.get_commands() != [] or process.returncode is not None, "Liaison", 60
                )
                if process.returncode is not None:
                    raise SystemExit(f"FAIL: Liaison exited:\n{tail(log)}")
                # One alert (not measured): every agent holds its card.
                await users[1].send("/alert urgent security: bench ⟦setup⟧ vehicle forcing the barrier")
                await wait_until(
                    lambda: all(any(m.button_data() for m in u.inbox) for u in users),
                    "the alert's copies",
                    120,
                )
                cards = {u.id: next(m for m in u.inbox if m.button_data()) for u in users}
                loop = ClosedLoop(probe, IN_FLIGHT)
                start = time.monotonic()
                for step in ("al:seen", "al:act", "stale"):
                    for user in users:
                        await loop.submit("", press(user, cards[user.id], step))
                await loop.drain()
                busy = time.monotonic() - start
        finally:
            if created and base_url:
                await _drop(base_url, created)
    updates = len(loop.latencies)
    return {
        "updates": updates,
        "per_second": updates / busy,
        "p50": percentile(loop.latencies, 50),
        "p99": percentile(loop.latencies, 99),
    }


async def main(quick: bool, runs: int, base_url: str | None) -> None:
    """Alternate the two variants and print the medians and the ratio."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    agents = 30 if quick else 150
    results: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    for _ in range(runs):
        for with_inbox in (False, True):
            results[with_inbox].append(await run_once(agents, with_inbox, base_url))

    def median(variant: bool, key: str) -> float:
        return statistics.median(r[key] for r in results[variant])

    backend = "PostgreSQL" if base_url else "SQLite"
    print(
        f"Inbox benchmark: {agents} agents press 3 buttons each ({IN_FLIGHT} presses awaiting an answer "
        f"at any time), `liaison run` over HTTP to the emulator, database {backend}, "
        f"median of {runs} run(s) each"
    )
    for variant, name in ((False, "without inbox (PTB Updater)"), (True, "with the inbox")):
        rates = ", ".join(f"{r['per_second']:.1f}" for r in results[variant])
        print(
            f"  {name:28}: {median(variant, 'per_second'):7.1f} updates/s (runs: {rates}); answer p50 "
            f"{1000 * median(variant, 'p50'):6.1f} ms, p99 {1000 * median(variant, 'p99'):6.1f} ms"
        )
    ratio = median(True, "per_second") / median(False, "per_second")
    verdict = "OK" if ratio >= 0.85 else "OVER BUDGET"
    print(
        f"  Ratio: the inbox handles {ratio:.3f}x the rate without it: "
        f"it costs {100 * (1 - ratio):.1f} % ({verdict}: < 15 %)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 agents, one run each: a smoke run for CI")
    parser.add_argument("--runs", type=int, help="runs of each variant (default 3; --quick 1)")
    parser.add_argument("--database-url", help="a PostgreSQL server to run on (a database per run)")
    arguments = parser.parse_args()
    logging.getLogger("tornado.access").setLevel(logging.ERROR)
    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(
            main(arguments.quick, arguments.runs or (1 if arguments.quick else 3), arguments.database_url)
        )
