"""The transport of the calls handlers make themselves (answers, replies, edits of the pressed message): a
brief retry on a 5xx or a timeout, and every message-making call counted against the bot's global budget.

The delivery worker's own sends pass through untouched (it retries through the outbox, with backoff, and
counts them itself): it marks them with IN_WORKER.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

logger = logging.getLogger(__name__)

# Set by the delivery worker around its own calls.
IN_WORKER: ContextVar[bool] = ContextVar("liaison_in_delivery_worker", default=False)
# A direct reply is what the person waits for, on the screen: a couple of quick tries, not the outbox's
# backoff. (Short waits on the event loop, not domain time.)
RETRY_DELAYS = (0.1, 0.4)
# Calls that put a message on a phone or change one: Telegram counts them against the bot's limits.
COUNTED = ("send", "edit", "copy", "forward")


class DirectRequest(BaseRequest):
    """Wraps the bot's request: retries handlers' calls briefly, and counts them against the budget."""

    def __init__(self, inner: BaseRequest) -> None:
        self.inner = inner
        # Set once the delivery worker exists: tells its global limiter of a send made outside it.
        self.on_send: Callable[[], None] | None = None
        self.retried = 0

    @property
    def read_timeout(self) -> float | None:
        """The wrapped request's read timeout."""
        return self.inner.read_timeout

    async def initialize(self) -> None:
        """Initialise the wrapped request."""
        await self.inner.initialize()

    async def shutdown(self) -> None:
        """Shut the wrapped request down."""
        await self.inner.shutdown()

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
        """Make the call; a handler's call that meets a 5xx or a timeout is tried again, twice at most."""
        api_method = url.rsplit("/", 1)[-1]
        in_worker = IN_WORKER.get()
        if not in_worker and api_method.startswith(COUNTED) and self.on_send is not None:
            self.on_send()
        tries = 1 if in_worker or api_method == "getUpdates" else 1 + len(RETRY_DELAYS)
        for attempt in range(tries):
            last = attempt + 1 >= tries
            try:
                status, body = await self.inner.do_request(
                    url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
                )
            except (TimedOut, NetworkError) as exc:
                if last:
                    raise
                logger.info("%s failed (%s); trying again", api_method, exc)
            else:
                if status < 500 or last:
                    return status, body
                logger.info("%s answered %d; trying again", api_method, status)
            self.retried += 1
            await asyncio.sleep(RETRY_DELAYS[attempt])
        raise AssertionError("unreachable")  # pragma: no cover
