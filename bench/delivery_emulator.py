"""Bench helper: the Bot API emulator over HTTP in its own process, with N users who pressed Start.

Usage: python bench/delivery_emulator.py USERS  → prints "PORT FIRST_USER_ID" on stdout, serves until killed.
Telegram's flood limits are enforced; faults are set through the control API (/_emulator/faults...).
"""

from __future__ import annotations

import asyncio
import logging
import sys

from sandbox.emulator import BotApiEmulator, FloodLimits
from sandbox.emulator.http import serve

TOKEN = "123456:BENCH"
FIRST_USER_ID = 100_001


async def main(users: int) -> None:
    """Serve an emulator whose users can all receive messages."""
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("tornado.access").setLevel(logging.ERROR)
    # Injected 5xx answers are logged as errors by the access log: the bench expects them.
    logging.getLogger("sandbox.emulator.http.access").setLevel(logging.CRITICAL)
    emulator = BotApiEmulator(TOKEN, "liaison_bench_bot")
    emulator.limits = FloodLimits(enabled=True)
    for i in range(users):
        user = emulator.user(FIRST_USER_ID + i, f"Agent{i}")
        user.state.started = True
        emulator.private_chat(user.state)
    _server, port = await serve(emulator)
    print(port, FIRST_USER_ID, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
