"""Long polling into the inbox: the next batch, which confirms the previous one, is asked for only after
that batch is in the database.

PTB's Updater confirms a batch (the next getUpdates offset) as soon as it has fetched it, so an update in
memory dies with the process. The webhook's side is `bot/inbox/webhook.py`.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.delivery import sender  # noqa: F401  (registers the filter of do_api_request's advice)
from bot.inbox.dispatcher import Inbox, inbox_row

logger = logging.getLogger(__name__)

# Beyond the long poll's own wait, how long an answer may take (PTB's default read timeout).
READ_TIMEOUT = 5.0


class Poller:
    """Long polling that confirms a batch only once it is in the inbox."""

    def __init__(self, bot: Bot, inbox: Inbox, *, timeout: int = 10) -> None:
        self.bot, self.inbox, self.timeout = bot, inbox, timeout
        # None at start: Telegram then hands back whatever was never confirmed, which the inbox ignores
        # if it already holds it.
        self.offset: int | None = None
        self._stopping = False

    async def fetch_once(self, poll_seconds: int | None = None) -> int:
        """Fetch one batch (confirming the previous one), write it to the inbox; returns its size."""
        timeout = self.timeout if poll_seconds is None else poll_seconds
        # The updates' JSON as Telegram sent it: the inbox stores it, and the Update is built once, when the
        # update is handled (Bot.get_updates would build each one here too, then be turned back into JSON).
        payloads = await self.bot.do_api_request(
            "getUpdates",
            api_kwargs={"offset": self.offset, "timeout": timeout},
            read_timeout=READ_TIMEOUT + timeout,
        )
        if not isinstance(payloads, list) or not payloads:
            return 0
        await self.inbox.receive([inbox_row(payload) for payload in payloads])
        # Only now may Telegram forget them: the next getUpdates carries this offset.
        self.offset = int(payloads[-1]["update_id"]) + 1
        return len(payloads)

    async def confirm(self) -> None:
        """Tell Telegram the last batch arrived (at shutdown; otherwise the next fetch does it)."""
        if self.offset is not None:
            await self.bot.get_updates(offset=self.offset, timeout=0)

    async def run(self) -> None:
        """Poll until stopped; network trouble is retried with backoff, never fatal."""
        await self.bot.delete_webhook(drop_pending_updates=False)
        delay = 1.0
        while not self._stopping:
            try:
                await self.fetch_once()
                delay = 1.0
            except asyncio.CancelledError:
                raise
            except InvalidToken:
                raise
            except RetryAfter as exc:
                retry = exc.retry_after
                await asyncio.sleep(retry if isinstance(retry, int | float) else retry.total_seconds())
            except Conflict:
                logger.warning(
                    "Another process polls this bot token (409 Conflict); retrying in %.0f s", delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
            except (NetworkError, TelegramError) as exc:
                logger.warning("getUpdates failed (%s); retrying in %.0f s", exc.message, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
            except Exception:
                logger.exception("Could not write fetched updates to the inbox; fetching them again shortly")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    def stop(self) -> None:
        """Stop after the current fetch."""
        self._stopping = True
