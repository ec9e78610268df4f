"""HTTP face of the emulator (tornado): Bot API at /bot<token>/<method>, control API at /_emulator/."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import re
import socket
from dataclasses import asdict
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from sandbox.emulator.core import CALLER_GONE, BotApiEmulator
from sandbox.emulator.errors import ApiError, CallerGone, EmulatedTimeout
from sandbox.emulator.limits import FloodLimits
from sandbox.emulator.spec import UploadedFile, resolve_attachments
from sandbox.emulator.users import EmulatedUser

log = logging.getLogger(__name__)
access_log = logging.getLogger("sandbox.emulator.http.access")


def _jsonable(value: Any) -> Any:
    """Make recorded params JSON-safe (uploads become a short description)."""
    if isinstance(value, UploadedFile):
        return {"upload": value.filename, "size": len(value.content)}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


class BotApiHandler(tornado.web.RequestHandler):
    """``/bot<token>/<method>``: GET query, form-urlencoded, JSON or multipart, as PTB and others send."""

    def initialize(self, emulator: BotApiEmulator) -> None:
        """Receive the emulator from the route."""
        self.emulator = emulator
        self._gone = False

    def on_connection_close(self) -> None:
        """The bot hung up (or died) while its call was in progress."""
        self._gone = True

    def _caller_gone(self) -> bool:
        """True when the caller closed its connection (tornado may not have noticed: peek at the socket)."""
        stream = getattr(self.request.connection, "stream", None)
        if self._gone or stream is None or stream.closed():
            return True
        try:
            return bool(stream.socket.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"")
        except BlockingIOError:
            return False
        except OSError:
            return True

    def _params(self) -> dict[str, Any]:
        """Collect parameters from the query string and whichever body encoding was used."""
        params: dict[str, Any] = {k: v[-1].decode() for k, v in self.request.query_arguments.items()}
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.startswith("application/json") and self.request.body:
            body = json.loads(self.request.body)
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: JSON body must be an object")
            params.update(body)
        else:
            # tornado already parsed form-urlencoded and multipart bodies.
            params.update({k: v[-1].decode() for k, v in self.request.body_arguments.items()})
            for name, files in self.request.files.items():
                part = files[-1]
                upload = UploadedFile(part.filename or name, part.body, part.content_type)
                params[name] = upload
        return resolve_attachments(params)

    async def _answer(self, token: str, method: str) -> None:
        """Run one API call and write Telegram's JSON answer."""
        if token != self.emulator.token:
            status, body = 401, ApiError(401, "Unauthorized").to_json()
        else:
            try:
                params = self._params()
            except (ValueError, ApiError) as exc:
                err = exc if isinstance(exc, ApiError) else ApiError(400, f"Bad Request: {exc}")
                status, body = err.code, err.to_json()
            else:
                CALLER_GONE.set(self._caller_gone)
                try:
                    status, body = await self.emulator.handle(method, params)
                except CallerGone:
                    return  # nobody to answer: the call was dropped
                except EmulatedTimeout:
                    # Hang like an overloaded server so the client's own read timeout fires.
                    await self.emulator.hang(self.emulator.timeout_response_delay)
                    status, body = 504, ApiError(504, "Gateway Timeout").to_json()
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    async def get(self, token: str, method: str) -> None:
        """GET call."""
        await self._answer(token, method)

    async def post(self, token: str, method: str) -> None:
        """POST call."""
        await self._answer(token, method)


class FileHandler(tornado.web.RequestHandler):
    """``/file/bot<token>/<file_path>``: download files the emulator knows."""

    def initialize(self, emulator: BotApiEmulator) -> None:
        """Receive the emulator from the route."""
        self.emulator = emulator

    def get(self, token: str, path: str) -> None:
        """Serve the file content or 404."""
        found = next((f for f in self.emulator.files.values() if f.file_path == path), None)
        if token != self.emulator.token or found is None:
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", "application/octet-stream")
        self.finish(found.content)


class ControlHandler(tornado.web.RequestHandler):
    """``/_emulator/...``: drive emulated users and inspect the emulator over JSON."""

    def initialize(self, emulator: BotApiEmulator) -> None:
        """Receive the emulator from the route."""
        self.emulator = emulator

    def _body(self) -> dict[str, Any]:
        """The JSON request body (empty object when absent)."""
        return json.loads(self.request.body) if self.request.body else {}

    def _user(self, user_id: str) -> EmulatedUser:
        """An existing user, or 404."""
        uid = int(user_id)
        if uid not in self.emulator.users:
            raise tornado.web.HTTPError(404, reason=f"unknown user {uid}")
        return self.emulator.user(uid)

    def _reply(self, data: Any, status: int = 200) -> None:
        """Write a JSON answer."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(_jsonable(data)))

    async def get(self, path: str) -> None:
        """Read-only views: inbox, callback answers, stats, calls."""
        parts = path.strip("/").split("/")
        em = self.emulator
        if parts == ["stats"]:
            return self._reply(em.stats.as_dict())
        if parts == ["calls"]:
            n = int(self.get_query_argument("n", "50"))
            return self._reply(
                [
                    {"method": c.method, "params": c.params, "status": c.status, "response": c.response}
                    for c in em.calls[-n:]
                ]
            )
        if len(parts) == 3 and parts[0] == "users" and parts[2] == "inbox":
            return self._reply([m.to_dict() for m in self._user(parts[1]).inbox])
        if len(parts) == 3 and parts[0] == "users" and parts[2] == "callback_answers":
            return self._reply(self._user(parts[1]).callback_answers)
        raise tornado.web.HTTPError(404)

    async def post(self, path: str) -> None:
        """Actions: users, groups, limits, faults, reset."""
        try:
            result = await self._action(path.strip("/").split("/"), self._body())
        except AssertionError as exc:
            return self._reply({"error": str(exc)}, 409)
        except (KeyError, TypeError, ValueError) as exc:
            return self._reply({"error": f"bad control request: {exc!r}"}, 400)
        self._reply(result)

    async def _action(self, parts: list[str], body: dict[str, Any]) -> Any:
        """Dispatch one control action."""
        em = self.emulator
        if parts == ["users"]:
            user = em.user(
                body.get("user_id"),
                body.get("first_name", "Agent"),
                language_code=body.get("language_code", "fr"),
                username=body.get("username"),
            )
            return user.state.to_json()
        if parts == ["groups"]:
            return {"id": em.group(body.get("title", "Group")).id}
        if len(parts) == 3 and parts[0] == "groups" and parts[2] == "add":
            chat = em.chats[int(parts[1])]
            chat.members.add(int(body["user_id"]))
            return True
        if len(parts) == 3 and parts[0] == "users":
            return await self._user_action(self._user(parts[1]), parts[2], body)
        if parts == ["limits"]:
            em.limits = FloodLimits(**{"enabled": True, **body})
            return asdict(em.limits)
        if parts == ["faults"]:
            em.faults.inject(
                body["error"],
                method=body.get("method"),
                chat_id=body.get("chat_id"),
                count=body.get("count", 1),
                retry_after=body.get("retry_after", 1),
                delivered=body.get("delivered", False),
                seconds=body.get("seconds", 0.0),
            )
            return True
        if parts == ["faults", "random"]:
            em.faults.random(body["rate"], body.get("error", 502), body.get("seed", 0))
            return True
        if parts == ["faults", "clear"]:
            em.faults.clear()
            return True
        if parts == ["reset"]:
            await em.release_long_polls()  # waiters sit on the condition reset() replaces
            em.reset()
            return True
        raise tornado.web.HTTPError(404)

    async def _user_action(self, user: EmulatedUser, verb: str, body: dict[str, Any]) -> Any:
        """Run one EmulatedUser verb."""
        em = self.emulator
        if verb == "start":
            return await user.start(body.get("payload"))
        if verb == "send":
            return await user.send(body["text"])
        if verb == "send_in":
            from sandbox.emulator.users import EmulatedGroup

            return await user.send_in(EmulatedGroup(em, em.chats[int(body["group_id"])]), body["text"])
        if verb == "tap":
            return await user.tap(body["label"], message_id=body.get("message_id"))
        if verb == "tap_forged":
            return await user.tap_forged(body["data"], int(body["message_id"]))
        if verb == "share_location":
            return await user.share_location(body["latitude"], body["longitude"])
        if verb == "send_photo":
            return {"file_id": await user.send_photo(body.get("caption"))}
        if verb == "block":
            return await user.block()
        if verb == "unblock":
            return await user.unblock()
        raise tornado.web.HTTPError(404)


_TOKEN_IN_PATH = re.compile(r"/bot[^/]+/")


def _log_request(handler: tornado.web.RequestHandler) -> None:
    """Access log line with the token cut out of the path (tornado's default would print it)."""
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    path = _TOKEN_IN_PATH.sub("/bot<token>/", handler.request.path)
    took = 1000.0 * handler.request.request_time()
    access_log.log(level, "%d %s %s %.2fms", status, handler.request.method, path, took)


def make_app(emulator: BotApiEmulator) -> tornado.web.Application:
    """The tornado application serving ``emulator``."""
    args = {"emulator": emulator}
    return tornado.web.Application(
        [
            (r"/bot([^/]+)/([A-Za-z0-9_]+)/?", BotApiHandler, args),
            (r"/file/bot([^/]+)/(.+)", FileHandler, args),
            (r"/_emulator/(.*)", ControlHandler, args),
        ],
        log_function=_log_request,
    )


async def serve(
    emulator: BotApiEmulator, host: str = "127.0.0.1", port: int = 0
) -> tuple[tornado.httpserver.HTTPServer, int]:
    """Start serving in the running loop; returns the server and the bound port (port=0 picks one)."""
    sockets = tornado.netutil.bind_sockets(port, host)
    server = tornado.httpserver.HTTPServer(make_app(emulator))
    server.add_sockets(sockets)
    bound = sockets[0].getsockname()[1]
    return server, bound


async def _serve_forever(host: str, port: int, token: str, bot_username: str) -> None:
    """Run an emulator until cancelled."""
    emulator = BotApiEmulator(token, bot_username)
    server, bound = await serve(emulator, host, port)
    # The URL only, never the token (even a fake one: habits leak).
    log.info(
        "Bot API emulator on http://%s:%d (base_url http://%s:%d/bot, control /_emulator/)",
        host,
        bound,
        host,
        bound,
    )
    try:
        await asyncio.Event().wait()
    finally:
        server.stop()
        await emulator.release_long_polls()


def main(
    host: str = "127.0.0.1",
    port: int = 8081,
    token: str = "123456:TEST",
    bot_username: str = "liaison_test_bot",
) -> None:
    """Blocking entry point for the CLI (``liaison emulator``)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(host, port, token, bot_username))


run = main


def cli(argv: list[str] | None = None) -> None:
    """``python -m sandbox.emulator.http [--host H] [--port N] [--token T] [--bot-username U]``."""
    parser = argparse.ArgumentParser(description="Run the Telegram Bot API emulator over HTTP.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST")
    parser.add_argument("--bot-username", default="liaison_test_bot")
    args = parser.parse_args(argv)
    main(args.host, args.port, args.token, args.bot_username)


if __name__ == "__main__":
    cli()
