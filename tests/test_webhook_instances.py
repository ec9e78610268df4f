"""Webhook mode end to end: Telegram (the emulator) posts a burst from many people to one URL, a round-robin
proxy spreads it over two `liaison run` instances (one on SQLite, which serves a single process), and each
update is handled once, each person's in order; forged calls are refused and logged without the secret."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web
from sqlalchemy import func
from sqlmodel import col, select
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from bot.inbox.webhook import SECRET_HEADER
from db.alerts import Alert
from db.inbox import InboxState, InboxUpdate
from db.members import Member
from db.outbox import DeliveryState, Notification
from sandbox.emulator import BotApiEmulator
from sandbox.emulator.http import serve
from tests.harness import TOKEN, Harness
from tests.test_delivery import people
from tests.test_inbox_http import SECRET, bot_process, config_file, free_port, stop, tail, wait_until

pytestmark = pytest.mark.slow

AUTHORS, ALERTS_EACH = 12, 3
# The author's confirmation, "✅ Alerte n°12 envoyée à 16 personnes." (people() are French speakers).
CONFIRMATION = re.compile(r"✅ Alerte? (?:n°|#) ?(\d+) ")


class RoundRobin(tornado.web.RequestHandler):
    """A load balancer in front of the instances: each call goes to the next one, answered as it answered."""

    def initialize(self, backends: list[str], counts: Counter[int], turn: itertools.count[int]) -> None:
        """Receive the backends and the shared counters."""
        self.backends, self.counts, self.turn = backends, counts, turn

    async def post(self) -> None:
        """Forward one call, headers and body unchanged."""
        index = next(self.turn) % len(self.backends)
        headers = {
            k: v for k, v in self.request.headers.items() if k.lower() not in ("host", "content-length")
        }
        request = HTTPRequest(
            self.backends[index] + self.request.path, method="POST", body=self.request.body, headers=headers
        )
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
            self.counts[index] += 1
            self.set_status(response.code)
        except (OSError, HTTPClientError):
            self.set_status(502)
        self.finish()


async def round_robin(backends: list[str]) -> tuple[tornado.httpserver.HTTPServer, int, Counter[int]]:
    """Serve the proxy on a free local port; returns it, its port and the calls forwarded per backend."""
    counts: Counter[int] = Counter()
    app = tornado.web.Application(
        [(r"/.*", RoundRobin, {"backends": backends, "counts": counts, "turn": itertools.count()})]
    )
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    return server, int(sockets[0].getsockname()[1]), counts


async def get(url: str) -> tuple[int, dict[str, str]]:
    """GET a JSON endpoint; (status, body), status 0 when nothing listens."""
    try:
        response = await AsyncHTTPClient().fetch(url, raise_error=False, request_timeout=5)
    except (OSError, HTTPClientError):
        return 0, {}
    return int(response.code), json.loads(response.body or b"{}")


async def test_two_instances_behind_one_webhook_handle_a_burst_once_and_in_order(
    liaison: Harness, tmp_path: Path
) -> None:
    emulator = BotApiEmulator(TOKEN, "liaison_test_bot")
    api_server, api_port = await serve(emulator)
    liaison.emulator = emulator  # members' chats live in the HTTP emulator
    instances = 1 if liaison.db.is_sqlite else 2
    ports = [free_port() for _ in range(instances)]
    proxy, proxy_port, forwarded = await round_robin([f"http://127.0.0.1:{p}" for p in ports])
    hook_url = f"http://127.0.0.1:{proxy_port}/telegram"
    config_path = config_file(tmp_path)
    logs = [tmp_path / f"bot-{i}.log" for i in range(instances)]
    authors = await people(liaison, AUTHORS, prefix="Auteur")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for i, port in enumerate(ports):
            processes.append(
                bot_process(
                    "--api-url",
                    f"http://127.0.0.1:{api_port}/bot",
                    "--webhook-url",
                    hook_url,
                    "--port",
                    str(port),
                    database_url=liaison.database_url,
                    config_path=config_path,
                    log=logs[i],
                    LIAISON_WEBHOOK_SECRET=SECRET,
                    LIAISON_INSTANCE_ID=f"hook-{i}",
                )
            )
        for process, port, log in zip(processes, ports, logs, strict=True):

            async def healthy(port: int = port) -> bool:
                return (await get(f"http://127.0.0.1:{port}/healthz"))[0] == 200

            await wait_until(healthy, f"instance on port {port} to answer /healthz", process, log, 60)

        async def webhook_set() -> bool:
            return sum(c.method == "setWebhook" for c in emulator.calls) == instances

        await wait_until(webhook_set, "every instance to set the webhook", processes[-1], logs[-1], 30)
        assert emulator.webhook_url == hook_url and emulator.webhook.secret == SECRET

        # The burst: every author raises three alerts and asks for help once, all sent before any answer.
        for k in range(ALERTS_EACH + 1):
            for i, (user, _) in enumerate(authors):
                if k == 1:
                    await user.send("/help")
                else:
                    await user.send(f"/alert urgent security: alerte ⟦{i}-{k}⟧")
        updates = AUTHORS * (ALERTS_EACH + 1)
        burst_at = time.monotonic()

        async def all_done() -> bool:
            async with liaison.session() as session:
                handled = (
                    await session.exec(
                        select(func.count()).where(col(InboxUpdate.state) == InboxState.HANDLED)
                    )
                ).one()
                unsent = (
                    await session.exec(
                        select(func.count()).where(
                            col(Notification.state).in_((DeliveryState.PENDING, DeliveryState.SENDING))
                        )
                    )
                ).one()
            return handled == updates and unsent == 0 and not emulator.updates

        await wait_until(
            all_done, "every update handled and every alert delivered", processes[0], logs[0], 120
        )
        print(f"{updates} updates handled and their alerts delivered in {time.monotonic() - burst_at:.1f} s")
        for port in ports:
            status, body = await get(f"http://127.0.0.1:{port}/healthz")
            assert status == 200 and body["worker"] == "ok" and body["database"] == "ok", body

        # Someone else posting to the webhook URL: refused by whichever instance gets it.
        forged = json.dumps({"update_id": 999999, "message": {"message_id": 1, "date": 0, "chat": {"id": 1}}})
        for secret in ("guessed-secret", None):
            headers = {"Content-Type": "application/json", **({SECRET_HEADER: secret} if secret else {})}
            request = HTTPRequest(hook_url, method="POST", body=forged, headers=headers)
            assert (await AsyncHTTPClient().fetch(request, raise_error=False)).code == 403
    finally:
        for process in processes:
            await stop(process)
        proxy.stop()
        await emulator.release_long_polls()
        api_server.stop()

    # Telegram's side: every update delivered once, overlapping calls, both instances fed.
    assert emulator.webhook.delivered == updates and emulator.webhook.failures == 0
    assert emulator.webhook.peak_connections > 1, "the emulator delivers several chats at once"
    assert all(forwarded[i] >= updates // instances // 2 for i in range(instances)), forwarded
    # The database: each update handled once (one attempt), each alert once, each author's in order.
    rows = await liaison.rows(InboxUpdate)
    assert len(rows) == updates and {r.state for r in rows} == {InboxState.HANDLED}
    assert Counter(r.attempts for r in rows) == Counter({1: updates}), "no update was handled twice"
    alerts = sorted(await liaison.rows(Alert), key=lambda a: a.id)
    assert len(alerts) == AUTHORS * ALERTS_EACH
    members = {m.id: m.telegram_id for m in await liaison.rows(Member)}
    order: dict[int, list[int]] = {}
    for alert in alerts:
        i, k = map(int, re.search(r"⟦(\d+)-(\d+)⟧", alert.text).groups())  # type: ignore[union-attr]
        assert members[alert.author_member_id] == authors[i][0].id
        order.setdefault(i, []).append(k)
    assert order == {i: [0, 2, 3] for i in range(AUTHORS)}, "each author's alerts in the order sent"
    # The phones: each author got one confirmation per alert, in order, and one /help; everyone got one copy
    # of every alert.
    by_marker = {re.search(r"⟦(\d+-\d+)⟧", a.text).group(1): a.id for a in alerts}  # type: ignore[union-attr]
    markers = set(by_marker)
    for i, (user, _) in enumerate(authors):
        confirmed = [int(m.group(1)) for t in user.texts if (m := CONFIRMATION.search(t))]
        assert confirmed == [by_marker[f"{i}-{k}"] for k in (0, 2, 3)], (i, confirmed, user.texts[:12])
        copies = Counter(m for message in user.inbox for m in markers if f"⟦{m}⟧" in (message.text or ""))
        assert set(copies) == markers and set(copies.values()) == {1}, (i, copies.most_common(3))
    # The log: refusals say who and why, never the secret.
    output = "".join(log.read_text() for log in logs)
    assert "refused: wrong secret token" in output and "refused: missing secret token" in output
    assert SECRET not in output and "guessed-secret" not in output and TOKEN not in output
    assert "Traceback" not in output, tail(logs[0])
