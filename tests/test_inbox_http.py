"""The inbox with a real `liaison run` over HTTP: killed with updates fetched, not handled; webhook mode."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, text
from sqlmodel import col, select
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from bot.inbox.webhook import SECRET_HEADER, serve_webhook
from db.alerts import Alert
from db.inbox import InboxState, InboxUpdate
from db.outbox import DeliveryState, Notification
from sandbox.emulator import BotApiEmulator
from sandbox.emulator.http import serve
from tests.harness import TOKEN, Harness
from tests.process_config import process_config
from tests.test_delivery import people

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cret-webhook_token"


def config_file(tmp_path: Path) -> Path:
    """The shipped config, with pacing lifted (the emulator enforces no limit here) and short sweeps."""
    return process_config(
        tmp_path,
        delivery={
            "global_per_second": 500,
            "per_chat_per_second": 100,
            "per_chat_burst": 100,
            "lease_seconds": 3,
            "sweep_seconds": 0.5,
        },
        inbox={"sweep_seconds": 1, "lease_seconds": 5},
    )


def bot_process(
    *args: str, database_url: str, config_path: Path, log: Path, **env: str
) -> subprocess.Popen[bytes]:
    """`liaison run ...` in its own process."""
    environment = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "LIAISON_DATABASE_URL": database_url,
        "LIAISON_CONFIG": str(config_path),
        "LIAISON_INSTANCE_ID": "inbox-test",  # the restarted process takes back its own claims at once
        **env,
    }
    code = "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))"
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", code, "run", *args],
            env=environment,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def wait_until(
    condition: Callable[[], Any], what: str, process: Any, log: Path, seconds: float
) -> None:
    """Wait for another process to act (bounded); fail with the bot's log."""
    deadline = time.monotonic() + seconds
    while not await condition():
        assert process.poll() is None, f"the bot exited:\n{tail(log)}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{tail(log)}"
        await asyncio.sleep(0.05)


def tail(log: Path) -> str:
    """The end of the bot's log, for a failure message."""
    return log.read_text()[-3000:]


async def count(liaison: Harness, model: Any, *where: Any) -> int:
    async with liaison.session() as session:
        return int((await session.exec(select(func.count()).select_from(model).where(*where))).one())


async def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.slow
async def test_killed_with_50_alerts_fetched_and_not_handled_loses_none(
    liaison: Harness, tmp_path: Path
) -> None:
    emulator = BotApiEmulator(TOKEN, "liaison_test_bot")
    server, port = await serve(emulator)
    liaison.emulator = emulator  # members' chats live in the HTTP emulator
    api_url = f"http://127.0.0.1:{port}/bot"
    config_path, log = config_file(tmp_path), tmp_path / "bot.log"
    authors = await people(liaison, 5, prefix="Auteur")
    readers = await people(liaison, 5, prefix="Lecteur")
    first = bot_process(
        "--api-url", api_url, database_url=liaison.database_url, config_path=config_path, log=log
    )
    second: subprocess.Popen[bytes] | None = None
    try:

        async def polling() -> bool:
            return any(c.method == "getUpdates" for c in emulator.calls)

        await wait_until(polling, "the bot to poll", first, log, 60)
        # The test makes handling slow, not the product: Telegram holds every sendMessage. Each author's first
        # alert commits, then its handler waits for its answer, with the author's next nine alerts fetched,
        # confirmed to Telegram and waiting in the inbox behind it. (Nothing reaches a phone before the kill,
        # so the outbox's own at-least-once, for sends caught in flight, stays out of this test.)
        emulator.faults.inject("delay", method="sendMessage", count=100_000, seconds=300)
        for k in range(10):
            for i, (user, _) in enumerate(authors):
                await user.send(f"/alert urgent security: alerte ⟦{i}-{k}⟧ à la barrière")

        async def fetched_not_handled() -> bool:
            return (
                not emulator.updates
                and await count(liaison, InboxUpdate) == 50
                and await count(liaison, Alert) >= 5
            )

        await wait_until(fetched_not_handled, "50 updates fetched, the first ones handled", first, log, 60)
        first.send_signal(signal.SIGKILL)
        await asyncio.to_thread(first.wait)
        alerts_at_kill = await count(liaison, Alert)
        pending_at_kill = await count(liaison, InboxUpdate, InboxUpdate.state == InboxState.PENDING)
        assert emulator.updates == [], "Telegram was told every update arrived"
        # (A held answer times out on the bot's side after a few seconds; the author's next alert then goes.
        # On a loaded machine a few rounds of those pass before the kill: a fifth at least must still wait.)
        assert alerts_at_kill + pending_at_kill == 50 and pending_at_kill >= 10, (
            alerts_at_kill,
            pending_at_kill,
            tail(log),
        )
        # Telegram answers normally again; the calls the dead process left held stay held until the end.
        emulator.faults.clear()

        second = bot_process(
            "--api-url", api_url, database_url=liaison.database_url, config_path=config_path, log=log
        )

        async def all_delivered() -> bool:
            # Every alert's copies sent, and nothing left to send (answers the dead process could not give
            # went to the outbox too: a count of sent rows alone can be reached before the last copy goes).
            waiting = (DeliveryState.PENDING, DeliveryState.SENDING)
            return (
                await count(liaison, Alert) == 50
                and await count(liaison, Notification, Notification.state == DeliveryState.SENT) >= 500
                and await count(liaison, Notification, col(Notification.state).in_(waiting)) == 0
            )

        await wait_until(all_delivered, "50 alerts delivered to 10 members", second, log, 120)
    finally:
        await stop(first)
        await stop(second)
        await emulator.release_long_polls()
        server.stop()
    alerts = await liaison.rows(Alert)
    assert len(alerts) == 50 and len({a.client_token for a in alerts}) == 50
    assert sorted(a.text for a in alerts) == sorted(
        f"alerte ⟦{i}-{k}⟧ à la barrière" for i in range(5) for k in range(10)
    )
    markers = {f"⟦{i}-{k}⟧" for i in range(5) for k in range(10)}
    for user, _ in authors + readers:
        copies = Counter(m for message in user.inbox for m in markers if m in (message.text or ""))
        assert set(copies) == markers and set(copies.values()) == {1}, (user, copies.most_common(3))
    assert await count(liaison, InboxUpdate, InboxUpdate.state != InboxState.HANDLED) == 0
    assert "ERROR bot.inbox" not in log.read_text()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def post_update(port: int, body: str, secret: str | None) -> int:
    headers = {"Content-Type": "application/json", **({SECRET_HEADER: secret} if secret is not None else {})}
    request = HTTPRequest(f"http://127.0.0.1:{port}/telegram", method="POST", body=body, headers=headers)
    response = await AsyncHTTPClient().fetch(request, raise_error=False)
    return int(response.code)


@pytest.mark.slow
async def test_webhook_mode_handles_updates_and_refuses_a_wrong_secret(
    liaison: Harness, tmp_path: Path
) -> None:
    emulator = BotApiEmulator(TOKEN, "liaison_test_bot")
    server, port = await serve(emulator)
    liaison.emulator = emulator
    config_path, log = config_file(tmp_path), tmp_path / "bot.log"
    hook = free_port()
    agents = await people(liaison, 3)
    # Sent before the bot is up: Telegram keeps them and posts them once the webhook is set.
    await agents[0][0].send("/alert urgent security: avant le webhook")
    process = bot_process(
        "--api-url",
        f"http://127.0.0.1:{port}/bot",
        "--webhook-url",
        f"http://127.0.0.1:{hook}/telegram",
        "--port",
        str(hook),
        database_url=liaison.database_url,
        config_path=config_path,
        log=log,
        LIAISON_WEBHOOK_SECRET=SECRET,
    )
    try:

        async def first_alert() -> bool:
            return await count(liaison, Alert) == 1

        await wait_until(first_alert, "the alert sent before the webhook", process, log, 60)
        assert (
            emulator.webhook_url == f"http://127.0.0.1:{hook}/telegram" and emulator.webhook.secret == SECRET
        )
        for k, (user, _) in enumerate(agents):
            await user.send(f"/alert important smuggling: camion ⟦{k}⟧")
            await user.send("/help")

        async def all_handled() -> bool:
            return await count(liaison, Alert) == 4 and not emulator.updates

        await wait_until(all_handled, "every update posted and handled", process, log, 60)
        rows = await liaison.rows(InboxUpdate)

        async def marked() -> bool:
            return await count(liaison, InboxUpdate, InboxUpdate.state == InboxState.HANDLED) == 7

        await wait_until(marked, "every update marked handled", process, log, 30)
        assert len(rows) == 7 and emulator.webhook.failures == 0
        # Someone else posting to the webhook: refused, and the secret never written to the log.
        forged = json.dumps(
            {
                "update_id": 999999,
                "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}},
            }
        )
        assert await post_update(hook, forged, "guessed-secret") == 403
        assert await post_update(hook, forged, None) == 403
        assert await count(liaison, InboxUpdate) == 7
    finally:
        await stop(process)
        await emulator.release_long_polls()
        server.stop()
    output = log.read_text()
    assert "refused: wrong secret token" in output and "refused: missing secret token" in output
    assert SECRET not in output and "guessed-secret" not in output and TOKEN not in output
    assert "Traceback" not in output


async def test_the_webhook_answers_only_once_the_update_is_in_the_inbox(
    liaison: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    agent = await liaison.member("Awa", language="en")
    inbox = liaison.runtime.inbox
    assert inbox is not None and liaison.app is not None
    hook_server, hook = await serve_webhook(
        inbox, liaison.app.bot, listen="127.0.0.1", port=0, url_path="telegram", secret=SECRET
    )
    emulator = liaison.emulator
    emulator.webhook.retry_base_seconds = emulator.webhook.retry_max_seconds = 0.05
    try:
        # The database cannot take the update: the webhook answers 500 and Telegram keeps it.
        async with liaison.db.transaction() as session:
            await session.exec(text("ALTER TABLE inbox RENAME TO inbox_away"))
        await liaison.app.bot.set_webhook(f"http://127.0.0.1:{hook}/telegram", secret_token=SECRET)
        with caplog.at_level(logging.ERROR, logger="bot.inbox"):
            await agent.send("/help")
            deadline = time.monotonic() + 10
            while emulator.webhook.failures < 2:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
        assert len(emulator.updates) == 1
        info = await liaison.app.bot.get_webhook_info()
        assert info.pending_update_count == 1 and "500" in (info.last_error_message or "")
        async with liaison.db.transaction() as session:
            await session.exec(text("ALTER TABLE inbox_away RENAME TO inbox"))
        deadline = time.monotonic() + 10
        while emulator.updates:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        await liaison.app.bot.delete_webhook()
        assert await inbox.drain() == 1
        assert "/alert" in agent.last.text
    finally:
        hook_server.stop()
        caplog.clear()
