"""PTB transport that talks to an in-process BotApiEmulator instead of the network."""

from __future__ import annotations

import json
from typing import Any

from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

from sandbox.emulator.core import BotApiEmulator
from sandbox.emulator.errors import ApiError, EmulatedTimeout
from sandbox.emulator.spec import UploadedFile, resolve_attachments


def split_url(url: str) -> tuple[str, str]:
    """Return (token, method) from ``.../bot<token>/<method>``."""
    head, _, method = url.rstrip("/").rpartition("/")
    _, _, token = head.rpartition("/bot")
    return token, method


def decode_request_data(request_data: RequestData | None) -> dict[str, Any]:
    """Parameters as PTB would put them on the wire: JSON text values plus uploaded files."""
    if request_data is None:
        return {}
    params: dict[str, Any] = dict(request_data.json_parameters)
    for part, (filename, content, mimetype) in request_data.multipart_data.items():
        data = content if isinstance(content, bytes) else content.read()
        params[part] = UploadedFile(filename or part, data, mimetype or "application/octet-stream")
    return params


class EmulatorRequest(BaseRequest):
    """A ``telegram.request.BaseRequest`` answering from a BotApiEmulator (no sockets)."""

    def __init__(self, emulator: BotApiEmulator, read_timeout: float | None = 5.0) -> None:
        """Bind the transport to ``emulator``."""
        self.emulator = emulator
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> float | None:
        """Default read timeout (PTB adds it to long-poll timeouts)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        """Route the call to the emulator and return its (status, JSON bytes)."""
        token, api_method = split_url(url)
        if token != self.emulator.token:
            body: dict[str, Any] = ApiError(401, "Unauthorized").to_json()
            return 401, json.dumps(body).encode()
        params = resolve_attachments(decode_request_data(request_data))
        try:
            status, body = await self.emulator.handle(api_method, params)
        except EmulatedTimeout as exc:
            raise TimedOut(f"Timed out (emulated fault on {exc})") from exc
        return status, json.dumps(body).encode()
