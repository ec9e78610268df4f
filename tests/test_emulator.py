"""The Bot API emulator behaves like Telegram for the calls the bot makes, in-process and over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from sandbox.emulator import BotApiEmulator, FloodLimits, validate_call
from sandbox.emulator.client import EmulatorClient
from sandbox.emulator.gen_spec import DEFAULT_OUT, DEFAULT_SOURCE
from sandbox.emulator.gen_spec import main as gen_spec_main
from sandbox.emulator.html import parse_html
from sandbox.emulator.http import serve
from sandbox.emulator.request import EmulatorRequest


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        """Start at an arbitrary instant."""
        self.now = start

    def __call__(self) -> float:
        """Current time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


# ----- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    """Hand-driven monotonic clock."""
    return FakeClock()


@pytest.fixture
def emulator(clock: FakeClock) -> BotApiEmulator:
    """A fresh emulator on the fake clock."""
    return BotApiEmulator(clock=clock, wall_clock=lambda: 1_790_000_000.0)


def build_echo_app(builder: ApplicationBuilder, errors: list[BaseException]) -> Application:
    """A tiny bot: /start and /echo answer, /ask shows a keyboard, taps get answered."""
    app = builder.build()

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        payload = " ".join(context.args or [])
        await update.effective_message.reply_text(f"<b>Hello</b> {payload}".strip(), parse_mode="HTML")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(" ".join(context.args or []) or "empty")

    async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Oui", callback_data="yes")]])
        await update.effective_message.reply_text("Confirm?", reply_markup=keyboard)

    async def tapped(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer(f"got {query.data}")
        await query.edit_message_text(f"Confirmed: {query.data}")

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        errors.append(context.error)  # type: ignore[arg-type]

    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("echo", echo))
    app.add_handler(CommandHandler("ask", ask))
    app.add_handler(CallbackQueryHandler(tapped))
    app.add_error_handler(on_error)
    return app


@pytest_asyncio.fixture
async def app(emulator: BotApiEmulator) -> AsyncIterator[Application]:
    """A real PTB Application wired to the emulator in-process; fails the test on handler errors."""
    errors: list[BaseException] = []
    builder = (
        ApplicationBuilder()
        .token(emulator.token)
        .request(EmulatorRequest(emulator))
        .get_updates_request(EmulatorRequest(emulator))
    )
    application = build_echo_app(builder, errors)
    async with application:
        yield application
    assert not errors, f"handler errors: {errors!r}"


async def wait_until(predicate: Callable[[], Any], within: float = 3.0) -> None:
    """Bounded wait for polling tests (process_update tests need none)."""
    async with asyncio.timeout(within):
        # The bot runs in its own polling task: nothing to await on but the observable result.
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


# ----- spec ----------------------------------------------------------------------------------------


def test_generator_reproduces_committed_spec(tmp_path: Path) -> None:
    """The committed compact spec is exactly what the generator makes from the official reference."""
    if not DEFAULT_SOURCE.exists():
        pytest.skip("../shared/telegram-bot-api/api.json is not available")
    out = tmp_path / "spec.json"
    gen_spec_main(["--out", str(out)])
    assert out.read_text(encoding="utf-8") == DEFAULT_OUT.read_text(encoding="utf-8")
    spec = json.loads(DEFAULT_OUT.read_text(encoding="utf-8"))
    assert spec["methods"]["sendMessage"]["params"]["text"] == {"types": ["String"], "required": True}
    assert "subtypes" in spec["types"]["BotCommandScope"]


@pytest.mark.parametrize(
    ("method", "params", "expected"),
    [
        ("sendMessage", {"chat_id": "5", "text": "hi"}, None),
        ("SENDMESSAGE", {"chat_id": 5, "text": "hi"}, None),
        ("sendMesage", {"chat_id": 5, "text": "hi"}, "Not Found"),
        ("sendMessage", {"chat_id": 5}, 'parameter "text" is required'),
        ("sendMessage", {"chat_id": 5, "text": "x", "colour": "red"}, 'unknown parameter "colour"'),
        ("deleteMessage", {"chat_id": 5, "message_id": "abc"}, 'parameter "message_id" is invalid'),
        ("sendMessage", {"chat_id": 5, "text": "x", "disable_notification": "maybe"}, "expected Boolean"),
        (
            "sendMessage",
            {
                "chat_id": 5,
                "text": "x",
                "reply_markup": '{"inline_keyboard": [[{"text": "a", "data": "b"}]]}',
            },
            "unknown field of InlineKeyboardButton",
        ),
        (
            "sendMessage",
            {
                "chat_id": 5,
                "text": "x",
                "reply_markup": '{"keyboard": [[{"text": "a", "request_location": 1}]]}',
            },
            "expected Boolean",
        ),
        (
            "sendMessage",
            {
                "chat_id": 5,
                "text": "x",
                "reply_markup": '{"keyboard": [[{"text": "a", "request_location": true}]]}',
            },
            None,
        ),
        (
            "setMyCommands",
            {"commands": '[{"command": "a", "description": "b"}]', "scope": '{"type": "default"}'},
            None,
        ),
        ("sendLocation", {"chat_id": 5, "latitude": "13.5", "longitude": "2.1"}, None),
    ],
)
def test_validate_call(method: str, params: dict[str, Any], expected: str | None) -> None:
    """Calls are checked against the spec after coercing PTB's form values."""
    error = validate_call(method, params)
    if expected is None:
        assert error is None
    else:
        assert error is not None and expected in error.description


def test_html_parser_is_strict() -> None:
    """Telegram's HTML subset parses to plain text plus entities; anything else is refused."""
    plain, entities = parse_html('<b>Poste</b> &amp; <a href="https://x.org/?a=1&amp;b=2">lien</a> &#128512;')
    assert plain == "Poste & lien 😀"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 5},
        {"type": "text_link", "url": "https://x.org/?a=1&b=2", "offset": 8, "length": 4},
    ]
    plain, entities = parse_html('<pre><code class="language-py">x</code></pre><tg-spoiler>s</tg-spoiler>')
    assert entities[0] == {"type": "pre", "language": "py", "offset": 0, "length": 1}
    for bad in ["<script>x</script>", "a < b", "Tom & Jerry", "<b>x</i>", "<b>open", "<span>x</span>"]:
        with pytest.raises(Exception, match=r"(?i)can't parse entities"):
            parse_html(bad)


# ----- PTB round trips -----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_echo_bot_in_process(emulator: BotApiEmulator, app: Application) -> None:
    """A real Application answers through the emulator with process_update."""
    agent = emulator.user(first_name="Awa")
    await agent.start("post42")
    await agent.send("/echo bonjour")
    assert await emulator.deliver(app) == 2
    assert agent.texts == ["Hello post42", "bonjour"]
    assert agent.inbox[0].html == "<b>Hello</b> post42"
    with pytest.raises(ValueError, match="deep-link payload"):
        await agent.start("has space")
    assert agent.inbox[0].entities == [{"type": "bold", "offset": 0, "length": 5}]
    assert [c.method for c in emulator.calls] == ["getMe", "sendMessage", "sendMessage"]
    assert emulator.sent_count == 2


@pytest.mark.asyncio
async def test_echo_bot_with_real_polling(emulator: BotApiEmulator, app: Application) -> None:
    """The same bot polls getUpdates; confirmed updates are dropped."""
    agent = emulator.user()
    await app.updater.start_polling(poll_interval=0, timeout=1)
    await app.start()
    try:
        await agent.start()
        await agent.send("/echo un")
        await wait_until(lambda: len(agent.inbox) == 2)
    finally:
        await app.updater.stop()
        await app.stop()
    assert agent.texts == ["Hello", "un"]
    assert emulator.updates == []  # the stop-time getUpdates confirmed the offset
    assert "deleteWebhook" in [c.method for c in emulator.calls]


@pytest.mark.asyncio
async def test_wrong_calls_from_ptb_are_rejected(emulator: BotApiEmulator, app: Application) -> None:
    """Over-long text, unknown methods, oversized callback_data and raw '<' fail like on Telegram."""
    agent = emulator.user()
    await agent.start()
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await app.bot.send_message(agent.id, "x" * 5000)
    with pytest.raises(BadRequest, match=r"(?i)text is empty"):
        await app.bot.send_message(agent.id, "<b> </b>", parse_mode="HTML")
    with pytest.raises(EndPointNotFound):
        await app.bot.do_api_request("sendMesage", api_kwargs={"chat_id": agent.id, "text": "x"})
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await app.bot.send_message(agent.id, "pick", reply_markup=keyboard)
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await app.bot.send_message(agent.id, "Hi <script>alert(1)</script>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await app.bot.send_message(999_999, "hello")
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await app.bot.send_photo(agent.id, await agent.send_photo(), caption="c" * 1025)
    assert agent.inbox == []


@pytest.mark.asyncio
async def test_wrong_token_is_unauthorized(emulator: BotApiEmulator) -> None:
    """A request with another token gets 401, which PTB reports as InvalidToken."""
    bot_app = ApplicationBuilder().token("999:OTHER").request(EmulatorRequest(emulator)).build()
    with pytest.raises(InvalidToken):
        await bot_app.bot.get_me()


@pytest.mark.asyncio
async def test_forbidden_until_start_and_after_block(emulator: BotApiEmulator, app: Application) -> None:
    """No message before Start; blocking gives 403 and a my_chat_member update; unblocking restores."""
    agent = emulator.user()
    with pytest.raises(Forbidden, match=r"(?i)can't initiate conversation"):
        await app.bot.send_message(agent.id, "hello")
    await agent.start()
    await app.bot.send_message(agent.id, "hello")
    update = await agent.block()
    assert update["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
        await app.bot.send_message(agent.id, "again")
    with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
        await app.bot.send_chat_action(agent.id, "typing")
    await agent.unblock()
    await app.bot.send_message(agent.id, "back")
    assert agent.texts == ["hello", "back"]


# ----- flood limits --------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")
@pytest.mark.asyncio
async def test_per_chat_flood_limit(emulator: BotApiEmulator, app: Application, clock: FakeClock) -> None:
    """A burst of 3 passes, the 4th gets 429 with retry_after; time heals it."""
    emulator.limits = FloodLimits(enabled=True, per_chat_per_second=1.0, per_chat_burst=3)
    agent = emulator.user()
    await agent.start()
    for i in range(3):
        await app.bot.send_message(agent.id, f"m{i}")
    with pytest.raises(RetryAfter):
        await app.bot.send_message(agent.id, "m3")
    last = emulator.calls[-1]
    assert last.status == 429
    assert last.response["parameters"]["retry_after"] == 1
    assert last.response["description"] == "Too Many Requests: retry after 1"
    clock.advance(1.0)
    await app.bot.send_message(agent.id, "m3")
    assert emulator.stats.rejected_429 == 1
    assert agent.texts == ["m0", "m1", "m2", "m3"]


@pytest.mark.asyncio
async def test_global_and_group_flood_limits(emulator: BotApiEmulator, clock: FakeClock) -> None:
    """30 messages per second overall; 20 per minute per group with retry_after from the window."""
    emulator.limits = FloodLimits(enabled=True)
    agents = [emulator.user() for _ in range(31)]
    for agent in agents:
        await agent.start()
    for agent in agents[:30]:
        assert (await emulator.handle("sendMessage", {"chat_id": agent.id, "text": "x"}))[0] == 200
    status, body = await emulator.handle("sendMessage", {"chat_id": agents[30].id, "text": "x"})
    assert status == 429 and body["parameters"]["retry_after"] == 1
    clock.advance(1.0)
    group = emulator.group("Poste")
    for _ in range(20):
        clock.advance(1.0)  # stay under the global and per-chat limits
        assert (await emulator.handle("sendMessage", {"chat_id": group.id, "text": "g"}))[0] == 200
    clock.advance(1.0)
    status, body = await emulator.handle("sendMessage", {"chat_id": group.id, "text": "g"})
    assert status == 429
    assert body["parameters"]["retry_after"] == 60 - 20  # the first of the 20 leaves the window then
    assert len(group.inbox) == 20


# ----- faults --------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")
@pytest.mark.asyncio
async def test_injected_faults(emulator: BotApiEmulator, app: Application) -> None:
    """5xx becomes NetworkError, timeouts TimedOut (delivered or not), and faults are counted."""
    agent = emulator.user()
    await agent.start()
    emulator.faults.inject(502, method="sendMessage")
    with pytest.raises(NetworkError):
        await app.bot.send_message(agent.id, "lost")
    emulator.faults.inject("timeout", chat_id=agent.id)
    with pytest.raises(TimedOut):
        await app.bot.send_message(agent.id, "timed out, not delivered")
    emulator.faults.inject("timeout", delivered=True)
    with pytest.raises(TimedOut):
        await app.bot.send_message(agent.id, "timed out, delivered")
    emulator.faults.inject(429, retry_after=7)
    with pytest.raises(RetryAfter):
        await app.bot.send_message(agent.id, "flooded")
    await app.bot.send_message(agent.id, "fine")
    assert agent.texts == ["timed out, delivered", "fine"]
    assert emulator.stats.faults_injected == 4
    emulator.faults.random(0.5, error=500, seed=1)
    outcomes = [
        (await emulator.handle("sendMessage", {"chat_id": agent.id, "text": "r"}))[0] for _ in range(40)
    ]
    assert 5 < outcomes.count(500) < 35 and outcomes.count(200) + outcomes.count(500) == 40
    emulator.faults.clear()
    assert (await emulator.handle("sendMessage", {"chat_id": agent.id, "text": "r"}))[0] == 200


# ----- edits, buttons, callback queries ------------------------------------------------------------


@pytest.mark.asyncio
async def test_edits_keep_history_and_refuse_no_op(emulator: BotApiEmulator, app: Application) -> None:
    """Edits are recorded with history; identical content and unknown messages fail like Telegram."""
    agent = emulator.user()
    await agent.start()
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
    sent = await app.bot.send_message(agent.id, "v1", reply_markup=keyboard)
    await app.bot.edit_message_text("v2", agent.id, sent.message_id, reply_markup=keyboard)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await app.bot.edit_message_text("v2", agent.id, sent.message_id, reply_markup=keyboard)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await app.bot.edit_message_text("v3", agent.id, 9999)
    await app.bot.edit_message_text("<i>v3</i>", agent.id, sent.message_id, parse_mode="HTML")
    msg = agent.last
    assert (msg.text, msg.html, msg.edits) == ("v3", "<i>v3</i>", ["v1", "v2"])
    assert msg.reply_markup is None  # editing text without reply_markup drops the keyboard, as on Telegram
    await app.bot.edit_message_reply_markup(agent.id, sent.message_id, reply_markup=keyboard)
    assert agent.buttons() == ["Go"]
    assert emulator.stats.edits == 3
    await app.bot.delete_message(agent.id, sent.message_id)
    assert agent.inbox == []
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await app.bot.delete_message(agent.id, sent.message_id)


@pytest.mark.asyncio
async def test_tap_gives_answerable_callback_query(
    emulator: BotApiEmulator, app: Application, clock: FakeClock
) -> None:
    """Tapping a button reaches the bot's handler; a second answer, or an expired query, is refused."""
    agent = emulator.user()
    await agent.send("/ask")
    await emulator.deliver(app)
    assert agent.buttons() == ["Oui"]
    update = await agent.tap("Oui")
    await emulator.deliver(app)
    assert agent.callback_answers[0]["text"] == "got yes"
    assert agent.last.text == "Confirmed: yes" and agent.last.edits == ["Confirm?"]
    query_id = update["callback_query"]["id"]
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await app.bot.answer_callback_query(query_id)
    with pytest.raises(AssertionError, match=r"(?i)no inline button"):
        await agent.tap("Oui")  # the edit removed the keyboard
    forged = await agent.tap_forged("admin:delete_all", agent.last.message_id)
    clock.advance(emulator.callback_query_ttl + 1)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await app.bot.answer_callback_query(forged["callback_query"]["id"])
    assert [q.data for q in emulator.unanswered_callbacks] == ["admin:delete_all"]


@pytest.mark.asyncio
async def test_other_methods(emulator: BotApiEmulator, app: Application) -> None:
    """Commands per language, photos, locations, getChat, getFile, and loud gaps."""
    await app.bot.set_my_commands([("start", "Démarrer")], language_code="fr")
    await app.bot.set_my_commands([("start", "Start")])
    assert emulator.get_commands(language_code="fr") == [{"command": "start", "description": "Démarrer"}]
    assert [c.command for c in await app.bot.get_my_commands()] == ["start"]
    await app.bot.set_my_description("Liaison", language_code="fr")
    assert (await app.bot.get_my_description(language_code="fr")).description == "Liaison"
    agent = emulator.user(username="awa")
    file_id = await agent.send_photo(caption="pont")
    sent = await app.bot.send_photo(agent.id, file_id, caption="<b>vu</b>", parse_mode="HTML")
    assert sent.photo[-1].file_id == file_id and agent.last.text == "vu"
    await app.bot.edit_message_caption(agent.id, sent.message_id, caption="revu")
    assert agent.last.text == "revu" and agent.last.edits == ["vu"]
    with pytest.raises(BadRequest, match=r"(?i)no text in the message"):
        await app.bot.edit_message_text("x", agent.id, sent.message_id)
    uploaded = await app.bot.send_photo(agent.id, InputFile(b"\xff\xd8 jpeg", filename="p.jpg"))
    assert (await app.bot.get_file(uploaded.photo[-1].file_id)).file_path
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await app.bot.send_photo(agent.id, "nope")
    await app.bot.send_location(agent.id, 13.51, 2.11)
    assert agent.last.location == {"latitude": 13.51, "longitude": 2.11}
    chat = await app.bot.get_chat(agent.id)
    assert chat.username == "awa" and chat.type == "private"
    with pytest.raises(NetworkError, match=r"(?i)Not emulated: sendDice"):
        await app.bot.send_dice(agent.id)
    await app.bot.set_webhook("https://example.org/hook")
    assert (await app.bot.get_webhook_info()).url == "https://example.org/hook"
    with pytest.raises(Conflict):
        await app.bot.get_updates()
    await app.bot.delete_webhook()
    group = emulator.group("Poste frontière")
    group.add(agent)
    await agent.send_in(group, "/echo groupe")
    await emulator.deliver(app)
    assert group.texts == ["groupe"]


@pytest.mark.asyncio
async def test_get_updates_offset_and_long_poll(emulator: BotApiEmulator) -> None:
    """Offsets confirm updates; a long poll wakes up when an update arrives."""
    agent = emulator.user()
    await agent.send("a")
    await agent.send("b")
    status, body = await emulator.handle("getUpdates", {"offset": "0", "limit": "1"})
    assert status == 200 and [u["message"]["text"] for u in body["result"]] == ["a"]
    first = body["result"][0]["update_id"]
    _, body = await emulator.handle("getUpdates", {"offset": first + 1})
    assert [u["message"]["text"] for u in body["result"]] == ["b"]
    poll = asyncio.create_task(emulator.handle("getUpdates", {"offset": first + 2, "timeout": 5}))
    await asyncio.sleep(0.01)
    await agent.send("c")
    _, body = await asyncio.wait_for(poll, 1)
    assert [u["message"]["text"] for u in body["result"]] == ["c"]


# ----- over HTTP -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_echo_bot_over_http(emulator: BotApiEmulator) -> None:
    """A PTB bot with base_url polls the tornado server; a remote client plays the user."""
    server, port = await serve(emulator, port=0)
    base = f"http://127.0.0.1:{port}"
    errors: list[BaseException] = []
    builder = ApplicationBuilder().token(emulator.token).base_url(f"{base}/bot")
    application = build_echo_app(builder, errors)
    try:
        async with EmulatorClient(base) as client, application:
            await application.updater.start_polling(poll_interval=0, timeout=1)
            await application.start()
            agent = await client.user(first_name="Ibrahim")
            await agent.start("p1")
            await agent.send("/ask")
            await client.wait_for(lambda: agent.inbox(), timeout=5)
            await client.wait_for(lambda: _has_buttons(agent), timeout=5)
            await agent.tap("yes")
            await client.wait_for(lambda: agent.callback_answers(), timeout=5)
            assert (await agent.texts()) == ["Hello p1", "Confirmed: yes"]
            photo = await application.bot.send_photo(agent.id, InputFile(b"jpeg", filename="a.jpg"))
            assert photo.photo
            with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
                await application.bot.send_message(agent.id, "a < b", parse_mode="HTML")
            await client.faults(503, method="sendMessage")
            with pytest.raises(NetworkError):
                await application.bot.send_message(agent.id, "x")
            emulator.timeout_response_delay = 5.0
            await client.faults("timeout", method="sendMessage")
            with pytest.raises(TimedOut):
                await application.bot.send_message(agent.id, "slow", read_timeout=0.1)
            assert (await client.stats())["faults_injected"] == 2
            assert any(c["method"] == "sendPhoto" for c in await client.calls(10))
            await application.updater.stop()
            await application.stop()
        async with httpx.AsyncClient() as http:
            response = await http.post(f"{base}/bot1:WRONG/getMe")
            assert response.status_code == 401
            response = await http.get(f"{base}/bot{emulator.token}/getMe")
            assert response.json()["result"]["username"] == "liaison_test_bot"
            url = f"{base}/bot{emulator.token}/sendMessage"
            response = await http.post(url, json={"chat_id": agent.id, "text": "via json"})
            assert response.status_code == 200 and emulator.user(agent.id).last.text == "via json"
            response = await http.post(url, json={"chat_id": agent.id, "text": "x", "message_id": 1})
            assert response.status_code == 400
    finally:
        server.stop()
        await emulator.release_long_polls()
        await server.close_all_connections()
    assert not errors


@pytest.mark.asyncio
async def test_control_api_drives_users(emulator: BotApiEmulator) -> None:
    """Every control verb works over HTTP and reflects the emulator's state."""
    server, port = await serve(emulator, port=0)
    try:
        async with EmulatorClient(f"http://127.0.0.1:{port}") as client:
            agent = await client.user(77, "Moussa", username="moussa")
            assert agent.id == 77 and emulator.users[77].username == "moussa"
            await agent.start("deep")
            file_id = await agent.send_photo("photo")
            await agent.share_location(13.5, 2.1)
            assert file_id in emulator.files
            keyboard = {"inline_keyboard": [[{"text": "Valider", "callback_data": "ok:1"}]]}
            status, body = await emulator.handle(
                "sendMessage", {"chat_id": "77", "text": "Choisir", "reply_markup": json.dumps(keyboard)}
            )
            assert status == 200
            tapped = await agent.tap("Valider")
            assert tapped["callback_query"]["data"] == "ok:1"
            forged = await agent.tap_forged("evil", body["result"]["message_id"])
            assert forged["callback_query"]["data"] == "evil"
            with pytest.raises(AssertionError, match="no inline button"):
                await agent.tap("Absent")
            await emulator.handle(
                "answerCallbackQuery", {"callback_query_id": tapped["callback_query"]["id"]}
            )
            assert len(await agent.callback_answers()) == 1
            assert (await agent.last()).buttons() == ["Valider"]
            await agent.block()
            assert (await emulator.handle("sendMessage", {"chat_id": 77, "text": "x"}))[0] == 403
            await agent.unblock()
            await client.limits(per_chat_burst=1)
            assert (await emulator.handle("sendMessage", {"chat_id": 77, "text": "x"}))[0] == 200
            assert (await emulator.handle("sendMessage", {"chat_id": 77, "text": "y"}))[0] == 429
            assert (await client.stats())["rejected_429"] == 1
            await client.faults_random(1.0, error=500)
            await client.faults_clear()
            assert [c["status"] for c in await client.calls(2)] == [200, 429]
            group_id = await client.group("Poste")
            await client.add_to_group(group_id, agent)
            await agent.send_in(group_id, "salut")
            assert emulator.chats[group_id].messages[1]["text"] == "salut"
            await client.reset()
            assert emulator.users == {}
    finally:
        server.stop()
        await server.close_all_connections()


async def _has_buttons(agent: Any) -> bool:
    """True once the newest message shows an inline keyboard."""
    inbox = await agent.inbox()
    return bool(inbox and inbox[-1].reply_markup)


def test_spec_file_is_packaged() -> None:
    """The spec ships next to the code (the project must not need ../shared at run time)."""
    assert (Path(__file__).resolve().parents[1] / "sandbox" / "emulator" / "botapi_spec.json").exists()


async def test_documents_and_pins_behave_as_telegram() -> None:
    import io

    from telegram import Bot, InputFile
    from telegram.error import BadRequest

    from sandbox.emulator import BotApiEmulator
    from sandbox.emulator.request import EmulatorRequest

    emulator = BotApiEmulator("123:TOKEN")
    user = emulator.user(first_name="Awa", language_code="fr")
    await user.start()
    async with Bot("123:TOKEN", request=EmulatorRequest(emulator)) as bot:
        upload = InputFile(io.BytesIO(b"date;type\n23/11;alerte"), filename="journal.csv")
        sent = await bot.send_document(user.id, document=upload, caption="<b>Journal</b>", parse_mode="HTML")
        assert sent.document is not None and sent.document.file_name == "journal.csv"
        assert user.last.document == sent.document.file_id and user.last.text == "Journal"
        again = await bot.send_document(user.id, document=sent.document.file_id)
        assert again.document is not None and again.document.file_name == "journal.csv"
        await bot.pin_chat_message(user.id, sent.message_id)
        assert user.chat.pinned == [sent.message_id] and user.inbox[-2].pinned
        await bot.unpin_chat_message(user.id, sent.message_id)
        assert user.chat.pinned == [] and not user.inbox[-2].pinned
        assert await bot.unpin_chat_message(user.id, again.message_id)  # not pinned: still True
        with pytest.raises(BadRequest, match=r"(?i)message to pin not found"):
            await bot.pin_chat_message(user.id, 999)
