"""One Bot API call for one outbox row, and what its answer means for the row."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

logger = logging.getLogger(__name__)


NOT_MODIFIED = "message is not modified"


class Verdict(StrEnum):
    """What to do with a row after one attempt."""

    SENT = "sent"
    RETRY = "retry"  # transient: back off and try again
    FLOOD = "flood"  # 429: try again after retry_after, and slow everything down
    FAILED = "failed"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class Job:
    """A claimed row, as much of it as sending needs."""

    id: int
    chat_id: int
    method: str
    payload: dict[str, Any] = field(hash=False)
    priority: int
    attempts: int  # this attempt's number, from 1
    member_id: int | None = None
    card_key: str | None = None
    message_id: int | None = None  # for edits: the original's message id
    fanout_rank: int = 0  # position within its fan-out: fan-outs of one priority interleave

    @property
    def sort_key(self) -> tuple[int, int, int]:
        """Priority first, then position within its fan-out, then age (as the outbox query orders them)."""
        return (self.priority, self.fanout_rank, self.id)

    @property
    def is_edit(self) -> bool:
        """True for an edit of a sent card."""
        return self.method.startswith("edit")


@dataclass(frozen=True)
class Result:
    """The answer to one attempt."""

    verdict: Verdict
    message_id: int | None = None
    error: str | None = None
    retry_after: float = 0.0


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def api_arguments(job: Job) -> dict[str, Any]:
    """The call's parameters: the stored payload plus the chat (and message, for edits)."""
    arguments = {"chat_id": job.chat_id, **job.payload}
    if job.is_edit:
        arguments["message_id"] = job.message_id
    return arguments


async def send(bot: Bot, job: Job) -> Result:
    """Make the call and classify the answer; never raises for Telegram or network errors."""
    try:
        # The stored payload is the Bot API call itself. do_api_request would warn on every known method,
        # so this uses the transport entry point underneath it (PTB is pinned exactly).
        answer = await bot._post(job.method, api_kwargs=api_arguments(job))
    except RetryAfter as exc:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seconds = _seconds(exc.retry_after)
        return Result(Verdict.FLOOD, error=str(exc), retry_after=max(seconds, 0.0))
    except Forbidden as exc:
        return Result(Verdict.UNREACHABLE, error=exc.message)
    except ChatMigrated as exc:
        return Result(Verdict.FAILED, error=f"chat migrated to {exc.new_chat_id}")
    except BadRequest as exc:
        if job.is_edit and NOT_MODIFIED in exc.message.lower():
            return Result(Verdict.SENT, message_id=job.message_id)
        return Result(Verdict.FAILED, error=exc.message)
    except TimedOut as exc:
        return Result(Verdict.RETRY, error=f"timed out: {exc.message}")
    except NetworkError as exc:
        return Result(Verdict.RETRY, error=exc.message)
    except TelegramError as exc:
        return Result(Verdict.FAILED, error=exc.message)
    message_id = answer.get("message_id") if isinstance(answer, dict) else job.message_id
    return Result(Verdict.SENT, message_id=message_id)
