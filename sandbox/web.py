"""The sandbox's local web server: the page, its JSON API, live events (server-sent events) and files.

Routes:
  GET  /                      the page (sandbox/page/index.html: plain HTML, CSS and JavaScript, no build)
  GET  /static/<file>         the page's files
  GET  /api/state             everything the page draws (phones and their chats, clock, scenario, posts)
  GET  /api/events            server-sent events: message, delete, toast, phone, clock, scenario, busy, reset
  POST /api/phones            add a phone {name, language, post, service, role}: it joins through an invite
  POST /api/phones/<id>/send  {text}; /tap {message_id, data}; /location {}; /photo {caption}
  POST /api/clock             {"to": "+15m" | "shift" | "07:15"}
  POST /api/scenario          {"id", "language"}: a fresh sandbox with the scenario's people
  POST /api/scenario/next     play the next step
  GET  /files/<file_id>       a photo or document the emulator keeps
  /_emulator/...              the emulator's control API (scripting: sandbox.emulator.client.EmulatorClient)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import tempfile
from pathlib import Path
from typing import Any

import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.web

from bot.config import Config
from sandbox.core import PAGE_DIR, Sandbox, SandboxError
from sandbox.emulator.http import ControlHandler

log = logging.getLogger(__name__)
KEEP_ALIVE_SECONDS = 15.0


class _Base(tornado.web.RequestHandler):
    def initialize(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(data))

    def body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise tornado.web.HTTPError(400, reason="the body is not JSON") from None
        if not isinstance(data, dict):
            raise tornado.web.HTTPError(400, reason="the body must be a JSON object")
        return data

    async def act(self, work: Any) -> None:
        """Run a page action; a refusal is a 409 with a sentence the page shows."""
        try:
            result = await work
        except SandboxError as exc:
            self.reply({"error": str(exc)}, 409)
            return
        self.reply(result if result is not None else {"ok": True})


class PageHandler(_Base):
    def get(self) -> None:
        self.set_header("Cache-Control", "no-cache")
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish((PAGE_DIR / "index.html").read_bytes())


class StaticHandler(tornado.web.StaticFileHandler):
    def set_extra_headers(self, path: str) -> None:
        # The page is served from the checkout: a trainer who edits it sees the change at the next reload.
        self.set_header("Cache-Control", "no-cache")


class StateHandler(_Base):
    def get(self) -> None:
        self.reply(self.sandbox.state())


class EventsHandler(_Base):
    """Server-sent events: one JSON object per event; on (re)connection the page fetches /api/state."""

    async def get(self) -> None:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._queue = queue
        unsubscribe = self.sandbox.subscribe(queue.put_nowait)
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Accel-Buffering", "no")
        try:
            self.write("retry: 1000\n: connected\n\n")
            await self.flush()
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), KEEP_ALIVE_SECONDS)
                except TimeoutError:
                    self.write(": keep-alive\n\n")
                else:
                    if event is None or event.get("type") == "closed":
                        break
                    self.write(f"data: {json.dumps(event)}\n\n")
                await self.flush()
        except tornado.iostream.StreamClosedError:
            pass
        finally:
            unsubscribe()
        with contextlib.suppress(Exception):
            self.finish()

    def on_connection_close(self) -> None:
        queue = getattr(self, "_queue", None)
        if queue is not None:
            queue.put_nowait(None)


class PhonesHandler(_Base):
    async def post(self) -> None:
        data = self.body()

        async def add() -> dict[str, Any]:
            phone = await self.sandbox.add_phone(
                str(data.get("name", "")),
                language=str(data.get("language", "fr")),
                post=data.get("post") or None,
                service=data.get("service") or None,
                role=str(data.get("role", "agent")),
            )
            return phone.to_dict()

        await self.act(add())


class PhoneActionHandler(_Base):
    async def post(self, phone_id: str, verb: str) -> None:
        data, sandbox = self.body(), self.sandbox
        actions = {
            "send": lambda: sandbox.send(int(phone_id), str(data.get("text", ""))),
            "tap": lambda: sandbox.tap(
                int(phone_id), int(data.get("message_id", 0)), str(data.get("data", ""))
            ),
            "location": lambda: sandbox.share_location(int(phone_id)),
            "photo": lambda: sandbox.send_photo(int(phone_id), data.get("caption")),
        }
        if verb not in actions:
            raise tornado.web.HTTPError(404)
        await self.act(actions[verb]())


class ClockHandler(_Base):
    async def post(self) -> None:
        data = self.body()

        async def move() -> dict[str, Any]:
            await self.sandbox.advance(str(data.get("to", "+15m")))
            return self.sandbox.clock_view()

        await self.act(move())


class ScenarioHandler(_Base):
    async def post(self, verb: str | None = None) -> None:
        data = self.body()
        if verb == "next":
            await self.act(self.sandbox.next_step())
            return
        if verb:
            raise tornado.web.HTTPError(404)
        await self.act(self.sandbox.load_for_page(str(data.get("id", "")), str(data.get("language", "fr"))))


class FileHandler(_Base):
    def get(self, file_id: str) -> None:
        file = self.sandbox.emulator.files.get(file_id)
        if file is None:
            raise tornado.web.HTTPError(404)
        content = file.content
        if content.startswith(b"\xff\xd8\xff"):
            kind = "image/jpeg"
        elif content.startswith(b"\x89PNG"):
            kind = "image/png"
        else:
            kind = "application/octet-stream"
            self.set_header("Content-Disposition", f'attachment; filename="{file.file_name or "document"}"')
        self.set_header("Content-Type", kind)
        self.finish(content)


def make_app(sandbox: Sandbox) -> tornado.web.Application:
    """The tornado application serving the page and its API."""
    args = {"sandbox": sandbox}
    return tornado.web.Application(
        [
            (r"/", PageHandler, args),
            (r"/static/(.*)", StaticHandler, {"path": str(PAGE_DIR)}),
            (r"/api/state", StateHandler, args),
            (r"/api/events", EventsHandler, args),
            (r"/api/phones", PhonesHandler, args),
            (r"/api/phones/(\d+)/(\w+)", PhoneActionHandler, args),
            (r"/api/clock", ClockHandler, args),
            (r"/api/scenario(?:/(\w+))?", ScenarioHandler, args),
            (r"/files/([A-Za-z0-9_-]+)", FileHandler, args),
            (r"/_emulator/(.*)", ControlHandler, {"emulator": sandbox.emulator}),
        ],
        log_function=lambda handler: None,
    )


async def serve(
    sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0
) -> tuple[tornado.httpserver.HTTPServer, int]:
    """Serve the page in the running loop; returns the server and its port (port 0 picks a free one)."""
    sockets = tornado.netutil.bind_sockets(port, host)
    server = tornado.httpserver.HTTPServer(make_app(sandbox))
    server.add_sockets(sockets)
    return server, sockets[0].getsockname()[1]


async def close(sandbox: Sandbox, server: tornado.httpserver.HTTPServer) -> None:
    """Stop serving, end the event streams, stop the bot."""
    server.stop()
    await sandbox.stop()  # publishes "closed": every event stream ends
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(server.close_all_connections(), 5)


async def run(
    config: Config,
    *,
    host: str = "127.0.0.1",
    port: int = 8088,
    directory: Path | None = None,
    scenario: str | None = "free-play",
    language: str = "fr",
    ready: Any = print,
) -> None:
    """`liaison sandbox`: start everything, print the address, serve until interrupted."""
    with contextlib.ExitStack() as stack:
        if directory is None:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="liaison-sandbox-")))
        sandbox = Sandbox(config, directory)
        if scenario is not None and scenario not in sandbox.scenarios:
            raise SandboxError(f"no scenario {scenario!r} (there are: {', '.join(sandbox.scenarios)})")
        server, bound = await serve(sandbox, host, port)
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stopped.set)
        try:
            await sandbox.start(scenario, language)
            shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
            ready(
                f"Liaison sandbox: http://{shown}:{bound}/  (database {sandbox.database_path}; Ctrl+C stops)"
            )
            await stopped.wait()
        finally:
            await close(sandbox, server)
