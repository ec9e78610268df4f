"""The real `liaison run` process against the emulator over HTTP: a full onboarding, as people would do it."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from sandbox.emulator import BotApiEmulator, EmulatedUser
from sandbox.emulator.http import serve

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "654321:HTTP-e2e-token"
LINK = re.compile(r"start=([A-Za-z0-9_-]+)")
pytestmark = pytest.mark.slow


async def wait_for(condition: Callable[[], bool], what: str, deadline_seconds: float = 20.0) -> None:
    """Wait for another process to act, with a deadline (this test crosses process boundaries)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_seconds
    while not _holds(condition):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        await asyncio.sleep(0.05)


def _holds(condition: Callable[[], bool]) -> bool:
    try:
        return condition()
    except AssertionError:  # e.g. `user.last` before anything arrived
        return False


@pytest.fixture
async def emulator() -> AsyncIterator[tuple[BotApiEmulator, str]]:
    """An emulator served over HTTP on a free local port."""
    emulator = BotApiEmulator(TOKEN, "liaison_e2e_bot")
    server, port = await serve(emulator)
    yield emulator, f"http://127.0.0.1:{port}/bot"
    await emulator.release_long_polls()
    server.stop()


def environment(database_url: str) -> dict[str, str]:
    """The environment an administrator would set."""
    env = dict(os.environ)
    env.update({"TELEGRAM_BOT_TOKEN": TOKEN, "LIAISON_DATABASE_URL": database_url})
    return env


async def run_cli(*args: str, env: dict[str, str]) -> str:
    """Run a `liaison` command to completion and return its output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def step(user: EmulatedUser, action: object, expect: Callable[[], bool], what: str) -> None:
    """Do something as a user, then wait until the bot has answered."""
    await action
    await wait_for(expect, what)


async def test_full_onboarding_over_http(emulator: tuple[BotApiEmulator, str], database_url: str) -> None:
    em, api_url = emulator
    env = environment(database_url)
    printed = await run_cli("create-coordinator", "--api-url", api_url, env=env)
    assert "https://t.me/liaison_e2e_bot?start=" in printed
    coordinator_code = LINK.search(printed).group(1)

    bot = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        "--api-url",
        api_url,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await wait_for(lambda: em.get_commands(language_code="en") != [], "the bot to publish its commands")

        coordinator = em.user(first_name="Moussa", language_code="en")
        await step(
            coordinator,
            coordinator.start(coordinator_code),
            lambda: any("Welcome to Liaison, Moussa." in t for t in coordinator.texts),
            "coordinator welcome",
        )

        await step(
            coordinator,
            coordinator.send("/invite"),
            lambda: "Post chief" in coordinator.last.buttons(),
            "role question",
        )
        await step(
            coordinator,
            coordinator.tap("Post chief"),
            lambda: "Kantchari" in coordinator.last.buttons(),
            "post question",
        )
        await step(
            coordinator,
            coordinator.tap("Kantchari"),
            lambda: "Customs" in coordinator.last.buttons(),
            "service question",
        )
        await step(
            coordinator,
            coordinator.tap("Customs"),
            lambda: "start=" in (coordinator.last.text or ""),
            "chief invite",
        )
        chief_code = LINK.search(coordinator.last.text).group(1)

        chief = em.user(first_name="Aminata", language_code="fr")
        await step(
            chief,
            chief.start(chief_code),
            lambda: any("Bienvenue sur Liaison, Aminata." in t for t in chief.texts),
            "chief welcome",
        )
        await step(
            chief, chief.send("/invite"), lambda: "Gendarmerie" in chief.last.buttons(), "service choice"
        )
        await step(
            chief, chief.tap("Gendarmerie"), lambda: "start=" in (chief.last.text or ""), "agent invite"
        )
        agent_code = LINK.search(chief.last.text).group(1)

        agent = em.user(first_name="Yusuf", language_code="ha")  # Hausa: neither French nor English
        await step(
            agent, agent.start(agent_code), lambda: "🇬🇧 English" in agent.last.buttons(), "language question"
        )
        await step(
            agent,
            agent.tap("🇬🇧 English"),
            lambda: any("You are an agent of Gendarmerie at the Kantchari post." in t for t in agent.texts),
            "agent welcome",
        )

        # Each sees only what their role allows.
        await step(
            agent,
            agent.send("/members"),
            lambda: agent.last.text == "You are not allowed to do this.",
            "agent refused /members",
        )
        await step(
            chief,
            chief.send("/members"),
            lambda: "Kantchari : 2 membres" in (chief.last.text or ""),
            "chief roster",
        )
        assert "Moussa" not in chief.last.text
        # The coordinator hears, through the delivery worker, that both invites were used.
        await wait_for(lambda: any("Aminata joined" in t for t in coordinator.texts), "coordinator notified")
        await wait_for(lambda: any("Yusuf a rejoint" in t for t in chief.texts), "chief notified")
    finally:
        bot.terminate()
        _, err = await asyncio.wait_for(bot.communicate(), timeout=30)
    assert TOKEN not in err.decode(), "the token leaked into the bot's log"
    assert "Traceback" not in err.decode(), err.decode()


async def test_a_wrong_token_or_an_unreachable_api_is_one_clear_line(
    emulator: tuple[BotApiEmulator, str], database_url: str
) -> None:
    _em, api_url = emulator
    env = environment(database_url) | {"TELEGRAM_BOT_TOKEN": "999:not-the-emulators-token"}
    for url, code, expected in (
        (api_url, 2, "the Bot API rejected TELEGRAM_BOT_TOKEN (Unauthorized)"),
        ("http://127.0.0.1:9/bot", 1, "cannot reach the Bot API (http://127.0.0.1:9/bot)"),
    ):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            "--api-url",
            url,
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(process.communicate(), timeout=60)
        last = err.decode().strip().splitlines()[-1]
        assert process.returncode == code and expected in last, err.decode()
        assert "Traceback" not in err.decode() and "not-the-emulators-token" not in err.decode()
