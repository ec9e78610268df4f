"""The bot's HTTP transport to the Bot API: PTB's request seam (BaseRequest) over an aiohttp client session.

PTB's own transport (httpx) spent more CPU on each call than the bot spent on the work around it: building
the request and its headers, and walking every pooled connection each time a call starts or ends (with the
60-odd connections the delivery worker and the handlers keep open under load, a quarter of the event loop's
time in a profile of 400 notice presses). aiohttp makes the same call for a fraction of that.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import yarl
from aiohttp.helpers import BasicAuth, get_env_proxy_for_url
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# The token's place in a Bot API URL (…/bot<token>/<method>, …/file/bot<token>/<path>).
_TOKEN_IN_URL = re.compile(r"/bot[^/\s'\"]+/")

# PTB's defaults for its own transport, in seconds.
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
MEDIA_WRITE_TIMEOUT = 20.0

JSON_HEADERS = {"Content-Type": "application/json"}


# PTB marks RequestData final for type checkers; BaseRequest.post() only takes a RequestData, and this one
# keeps its whole interface (json_parameters, contains_files, multipart_data), so every transport reads it.
class JsonBody(RequestData):  # type: ignore[misc]
    """A call's parameters (Bot API JSON already) sent as one JSON body.

    The delivery worker's calls carry stored Bot API JSON: PTB's typed path wrapped each parameter in an
    object, encoded it on its own and warned about the call's name, for every message of a fan-out. Other
    transports (the in-process emulator's) still read it as PTB's form fields.
    """

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__()
        self.params = {name: value for name, value in params.items() if value is not None}

    @property
    def parameters(self) -> dict[str, Any]:
        """The parameters as given (the aiohttp transport sends them as one JSON body)."""
        return self.params

    @property
    def json_parameters(self) -> dict[str, str]:
        """Each parameter JSON-encoded on its own (strings as they are), as PTB's RequestData gives them."""
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in self.params.items()}


def _given(value: Any, default: float | None) -> float | None:
    """A timeout the caller gave (None: no limit), else this transport's default."""
    return default if isinstance(value, type(BaseRequest.DEFAULT_NONE)) else value


def _encode(
    request_data: RequestData | None,
) -> tuple[aiohttp.FormData | bytes | None, dict[str, str] | None, bool]:
    """A call's body and headers, and whether it uploads files: uploads as multipart, the rest as one JSON
    object (the Bot API takes both).

    PTB's values are JSON already: encoding each apart, then the form (and, given a dict, aiohttp built a
    FormData and a multipart writer with a random boundary for every call) was a twentieth of the bot's CPU
    in a burst of presses.
    """
    if request_data is None:
        return None, None, False
    if not request_data.contains_files:
        return json.dumps(request_data.parameters).encode(), JSON_HEADERS, False
    form = aiohttp.FormData(request_data.json_parameters)
    for name, part in request_data.multipart_data.items():
        if isinstance(part, tuple):
            filename, content, *mimetype = part
            form.add_field(name, content, filename=filename, content_type=mimetype[0] if mimetype else None)
        else:
            form.add_field(name, part, filename=name)
    return form, None, True


class AiohttpRequest(BaseRequest):
    """Bot API calls through one aiohttp session, at most `connections` open at once."""

    def __init__(self, connections: int = 256, read_timeout: float | None = READ_TIMEOUT) -> None:
        self.connections = connections
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None
        # The environment's proxy for each (scheme, host), looked up once: aiohttp's own trust_env reads
        # and parses the whole environment on every call (an eighth of the bot's CPU under a burst of
        # presses in a profile).
        self._proxies: dict[tuple[str, str], tuple[str | None, BasicAuth | None]] = {}

    @property
    def read_timeout(self) -> float | None:
        """Seconds an answer may take unless a call says otherwise."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (on the running event loop)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.connections, limit_per_host=self.connections)
            # HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured as PTB's httpx honoured them (a post whose
            # network reaches Telegram only through a proxy keeps working): see `_proxy`.
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}, auto_decompress=True
            )
            self._proxies.clear()

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Make one call; timeouts raise TimedOut, other transport failures NetworkError (as PTB's own)."""
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        body, headers, files = _encode(request_data)
        read = _given(read_timeout, self._read_timeout)
        write = _given(write_timeout, MEDIA_WRITE_TIMEOUT if files else WRITE_TIMEOUT)
        connect = _given(connect_timeout, CONNECT_TIMEOUT)
        pool = _given(pool_timeout, POOL_TIMEOUT)
        # aiohttp has no write timeout of its own: the whole call is bounded by all the phases together.
        phases = [read, write, connect, pool]
        timeout = aiohttp.ClientTimeout(
            total=None if None in phases else sum(p or 0.0 for p in phases),
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=read,
        )
        proxy, proxy_auth = self._proxy(url)
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout, proxy=proxy, proxy_auth=proxy_auth
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except (aiohttp.ClientError, OSError) as exc:
            # Some aiohttp errors quote the URL, which holds the bot's token: never let it reach a log.
            message = _TOKEN_IN_URL.sub("/bot<token>/", str(exc))
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {message}") from exc

    def _proxy(self, url: str) -> tuple[str | None, BasicAuth | None]:
        """The environment's proxy for this URL's scheme and host (None: connect directly), cached."""
        try:
            parts = urlsplit(url)
            key = (parts.scheme, parts.hostname or "")
        except ValueError:
            return None, None  # a malformed URL: aiohttp refuses it with its own error
        found = self._proxies.get(key)
        if found is None:
            try:
                proxy, auth = get_env_proxy_for_url(yarl.URL(url))
                found = (str(proxy), auth)
            except LookupError:
                found = (None, None)
            self._proxies[key] = found
        return found
