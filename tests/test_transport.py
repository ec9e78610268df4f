"""The bot's own transport (aiohttp behind PTB's request seam), the inbox's raw intake, and the read pool."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, literal
from sqlmodel import select
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import NetworkError, TimedOut

from bot.app import build_application
from bot.config import Config
from bot.delivery import transport as transport_module
from bot.delivery.direct import DirectRequest
from bot.delivery.transport import AiohttpRequest, JsonBody
from bot.inbox import inbox_row
from bot.inbox.intake import Poller
from db.engine import READ_CONNECTIONS, Database
from sandbox.emulator import BotApiEmulator
from sandbox.emulator.http import serve

TOKEN = "424242:transport-token"


@pytest.fixture
async def served() -> AsyncIterator[tuple[BotApiEmulator, str]]:
    """An emulator over HTTP on a free port, and its Bot API base URL."""
    emulator = BotApiEmulator(TOKEN, "liaison_transport_bot")
    server, port = await serve(emulator)
    yield emulator, f"http://127.0.0.1:{port}/bot"
    await emulator.release_long_polls()
    server.stop()


async def test_calls_go_out_over_aiohttp_text_keyboards_and_uploads(
    served: tuple[BotApiEmulator, str],
) -> None:
    """What PTB's typed methods send (form fields, JSON keyboards, an upload) reaches Telegram whole."""
    emulator, url = served
    user = emulator.user(9001, "Awa", language_code="fr")
    user.state.started = True
    bot = Bot(TOKEN, base_url=url, request=AiohttpRequest())
    await bot.initialize()
    try:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Vu", callback_data="al:seen:1")]])
        sent = await bot.send_message(
            user.id, "<b>Alerte</b> à Konni", parse_mode="HTML", reply_markup=keyboard
        )
        await bot.send_document(
            user.id, InputFile(b"date;poste\n2026-11-30;NE-KONNI\n", filename="journal.csv"), caption="Export"
        )
        await bot.edit_message_text(
            "<b>Alerte</b> close",
            chat_id=user.id,
            message_id=sent.message_id,
            parse_mode="HTML",
            reply_markup=keyboard,
        )
    finally:
        await bot.shutdown()
    card, document = user.inbox
    assert (card.text, card.html, card.button_data()) == (
        "Alerte close",
        "<b>Alerte</b> close",
        ["al:seen:1"],
    )
    assert (document.kind, document.document_name, document.text) == ("document", "journal.csv", "Export")
    assert emulator.files[document.document or ""].content == b"date;poste\n2026-11-30;NE-KONNI\n"


async def test_a_hung_call_times_out_and_an_unreachable_api_is_a_network_error(
    served: tuple[BotApiEmulator, str],
) -> None:
    """PTB's error types come out as with its own transport: the worker and the retries rely on them."""
    emulator, url = served
    user = emulator.user(9002, "Ibrahim")
    user.state.started = True
    emulator.timeout_response_delay = 5.0
    emulator.faults.inject("timeout", method="sendMessage")
    request = AiohttpRequest(read_timeout=0.3)
    bot = Bot(TOKEN, base_url=url, request=request)
    await bot.initialize()
    try:
        with pytest.raises(TimedOut):
            await bot.send_message(user.id, "bonjour")
    finally:
        await emulator.release_long_polls()
        await bot.shutdown()
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    unreachable = AiohttpRequest()
    nowhere = Bot(TOKEN, base_url=f"http://127.0.0.1:{closed}/bot", request=unreachable)
    await unreachable.initialize()
    try:
        with pytest.raises(NetworkError, match="aiohttp"):
            await nowhere.get_me()
    finally:
        await unreachable.shutdown()
    # An error that quotes the URL never carries the token.
    invalid = AiohttpRequest()
    await invalid.initialize()
    try:
        with pytest.raises(NetworkError) as refused:
            await invalid.do_request(f"http://[::1/bot{TOKEN}/getMe", "POST")
    finally:
        await invalid.shutdown()
    assert TOKEN not in str(refused.value) and "/bot<token>/" in str(refused.value)
    with pytest.raises(RuntimeError, match="not initialized"):
        await AiohttpRequest().do_request(url, "POST")


async def test_a_proxy_named_in_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTPS_PROXY / HTTP_PROXY are honoured, as with PTB's own transport: some posts reach Telegram only
    through one. The proxy here answers getMe itself; the API's host does not even resolve."""
    seen: list[str] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        seen.append(head.split("\r\n", 1)[0])
        length = next(
            (
                int(line.split(":", 1)[1])
                for line in head.split("\r\n")
                if line.lower().startswith("content-length")
            ),
            0,
        )
        await reader.readexactly(length)
        me = {"id": 424242, "is_bot": True, "first_name": "Liaison", "username": "l_bot"}
        body = json.dumps({"ok": True, "result": me}).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        writer.write(body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    request = AiohttpRequest()
    bot = Bot(TOKEN, base_url="http://api.telegram.invalid/bot", request=request)
    await request.initialize()
    try:
        me = await bot.get_me()
    finally:
        await request.shutdown()
        server.close()
        await server.wait_closed()
    assert me.username == "l_bot"
    assert seen == [f"POST http://api.telegram.invalid/bot{TOKEN}/getMe HTTP/1.1"]


async def test_the_environment_is_read_for_a_proxy_once_per_host_not_on_every_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """aiohttp's trust_env parsed the whole environment on each call (an eighth of the bot's CPU in a burst
    of presses); the transport looks up a host's proxy once."""
    lookups: list[str] = []
    real = transport_module.get_env_proxy_for_url

    def counted(url: Any) -> Any:
        lookups.append(str(url.host))
        return real(url)

    monkeypatch.setattr(transport_module, "get_env_proxy_for_url", counted)
    emulator = BotApiEmulator(TOKEN, "liaison_test_bot")
    server, port = await serve(emulator)
    request = AiohttpRequest()
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
    await request.initialize()
    try:
        for _ in range(20):
            assert (await bot.get_me()).username == "liaison_test_bot"
    finally:
        await request.shutdown()
        server.stop()
    assert lookups == ["127.0.0.1"]


async def test_the_application_uses_it_for_every_call_and_for_polling(
    config: Config, database_url: str
) -> None:
    """Built without an injected transport (as `liaison run` builds it), the bot speaks through aiohttp."""
    database = Database(database_url)
    application = build_application(config, token=TOKEN, database=database, api_url="http://127.0.0.1:1/bot")
    await database.dispose()
    calls, polling = application.bot.request, application.bot._request[0]
    assert isinstance(calls, DirectRequest) and isinstance(calls.inner, AiohttpRequest)
    assert isinstance(polling, AiohttpRequest) and polling.connections == 1


async def test_polling_stores_each_update_as_telegram_sent_it(served: tuple[BotApiEmulator, str]) -> None:
    """The poller hands the inbox the JSON itself (no Update built and turned back into JSON on the way)."""
    emulator, url = served
    user = emulator.user(9003, "Mariam", language_code="fr")
    await user.send("/start")
    stored: list[dict[str, Any]] = []

    class Inbox:
        async def receive(self, rows: list[dict[str, Any]]) -> int:
            stored.extend(rows)
            return len(rows)

    bot = Bot(TOKEN, base_url=url, request=AiohttpRequest())
    await bot.initialize()
    try:
        poller = Poller(bot, Inbox(), timeout=0)  # type: ignore[arg-type]
        assert await poller.fetch_once() == 1
        [row] = stored
        assert poller.offset == row["update_id"] + 1
        assert (row["person_id"], row["kind"]) == (user.id, "message")
        assert row["payload"]["message"]["text"] == "/start"
    finally:
        await bot.shutdown()


@pytest.mark.parametrize(
    ("payload", "person", "kind"),
    [
        ({"update_id": 1, "message": {"from": {"id": 7}, "chat": {"id": 7}}}, 7, "message"),
        (
            {"update_id": 2, "callback_query": {"from": {"id": 8}, "message": {"chat": {"id": 8}}}},
            8,
            "callback_query",
        ),
        ({"update_id": 3, "my_chat_member": {"from": {"id": 9}, "chat": {"id": 9}}}, 9, "my_chat_member"),
        ({"update_id": 4, "poll_answer": {"user": {"id": 10}, "poll_id": "p"}}, 10, "poll_answer"),
        ({"update_id": 5, "channel_post": {"chat": {"id": -100}}}, -100, "channel_post"),
        ({"update_id": 6, "poll": {"id": "p"}}, 0, "poll"),
    ],
)
def test_whose_update_it_is_is_read_off_its_json(payload: dict[str, Any], person: int, kind: str) -> None:
    """As Update.effective_user, else effective_chat: each person's updates are handled in order by it."""
    row = inbox_row(payload)
    assert (row["update_id"], row["person_id"], row["kind"], row["payload"]) == (
        payload["update_id"],
        person,
        kind,
        payload,
    )


async def test_readers_share_a_fixed_set_of_sqlite_connections(tmp_path: Any) -> None:
    """A burst of readers waits for a pooled connection instead of opening (and closing) one each."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'reads.db'}")
    opened = 0

    @event.listens_for(database.read_engine.sync_engine, "connect")
    def count(*_: Any) -> None:
        nonlocal opened
        opened += 1

    async def read() -> int:
        async with database.reading() as session:
            value = (await session.exec(select(literal(1)))).one()
            await asyncio.sleep(0)  # hold the connection across a turn of the loop, as a handler does
            return int(value)

    try:
        for _ in range(3):
            assert await asyncio.gather(*(read() for _ in range(40))) == [1] * 40
    finally:
        await database.dispose()
    assert opened == READ_CONNECTIONS


async def test_calls_go_as_one_json_body_and_uploads_as_multipart() -> None:
    """The transport encodes a call as one JSON object (PTB encoded each value, then the form, and aiohttp
    built a multipart writer for each call): Telegram must receive the same values, typed; uploads still go
    as multipart; the worker's stored rows as they are."""
    from aiohttp import web
    from telegram.request import RequestData
    from telegram.request._requestparameter import RequestParameter

    received: list[tuple[str, dict[str, str]]] = []

    async def record(request: web.Request) -> web.Response:
        if request.content_type == "application/json":
            received.append((request.content_type, await request.json()))
        else:
            form = await request.post()
            fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
            received.append((request.content_type, fields))
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_post("/call", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    request = AiohttpRequest()
    await request.initialize()
    try:
        markup = {"inline_keyboard": [[{"text": "Vu & lu", "callback_data": "nt:seen:1"}]]}
        plain = RequestData(
            [
                RequestParameter("chat_id", -100123, None),
                RequestParameter("text", "Réunion à 08:00 — salle 2 & 3 ?", None),
                RequestParameter("reply_markup", markup, None),
            ]
        )
        status, _ = await request.do_request(f"http://127.0.0.1:{port}/call", "POST", plain)
        assert status == 200
        upload = RequestData(
            [
                RequestParameter("chat_id", 5, None),
                RequestParameter.from_input("document", InputFile(b"a;b\n", filename="log.csv")),
            ]
        )
        status, _ = await request.do_request(f"http://127.0.0.1:{port}/call", "POST", upload)
        assert status == 200
        # The delivery worker's stored rows: one JSON body, nothing encoded twice, None left out.
        stored = {"chat_id": 7, "text": "<b>Alerte</b> & suite", "reply_markup": markup, "thread": None}
        status, _ = await request.do_request(f"http://127.0.0.1:{port}/call", "POST", JsonBody(stored))
        assert status == 200
    finally:
        await request.shutdown()
        await runner.cleanup()
    (plain_type, plain_form), (upload_type, upload_form), (json_type, json_body) = received
    assert json_type == "application/json"
    assert json_body == {"chat_id": 7, "text": "<b>Alerte</b> & suite", "reply_markup": markup}
    assert plain_type == "application/json"
    assert plain_form == {
        "chat_id": -100123,
        "text": "Réunion à 08:00 — salle 2 & 3 ?",
        "reply_markup": markup,
    }
    assert upload_type == "multipart/form-data" and upload_form == {"chat_id": "5"}
