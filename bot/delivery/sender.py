"""One Bot API call for one outbox row, and what its answer means for the row."""

from __future__ import annotations

import base64
import logging
import os
import re
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from operator import attrgetter
from typing import Any

from telegram import Bot, InputFile, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBUserWarning

from bot.delivery.transport import JsonBody
from db.outbox.model import UPLOAD_DATA, UPLOAD_NAME

logger = logging.getLogger(__name__)

# PTB 22 warns, whenever Telegram answers 429, that RetryAfter.retry_after will become a timedelta in its
# next major version (the warning comes from RetryAfter's constructor, inside PTB's request code, so no
# catch_warnings around our own read can reach it). PTB's documented opt-in to the new type is this
# variable; _seconds() takes both types, and nothing else here reads a PTB time period. setdefault: an
# operator's explicit choice wins.
os.environ.setdefault("PTB_TIMEDELTA", "true")
# getUpdates (bot/inbox/intake.py) goes through Bot.do_api_request on purpose: PTB's advice to use its
# typed method is noise there.
warnings.filterwarnings(
    "ignore", message=r"Please use 'Bot\.\w+' instead of 'Bot\.do_api_request", category=PTBUserWarning
)

NOT_MODIFIED = "message is not modified"
# Job.sort_key read at C speed: the worker sorts its buffer, hundreds of jobs under a burst, at every launch.
JOB_ORDER = attrgetter("priority", "fanout_rank", "id")


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
        return JOB_ORDER(self)

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


class BadPayload(Exception):
    """A stored payload that cannot make its call: sending it again would not help."""


# A file parameter names a file Telegram holds (its file id) or a URL. PTB reads any other string that names
# an existing path from this server's disk and uploads it: a stored row must never do that.
_FILE_REFERENCE = re.compile(r"[A-Za-z0-9_-]+|https?://\S+")


# The stored payload is the whole call. The application's bot carries Defaults meant for handlers
# (parse_mode=HTML...), which PTB adds to every call that leaves such a parameter unset, even where the method
# has none (parse_mode on sendLocation). A None in api_kwargs overrides a default, and PTB drops None values.
_NO_DEFAULTS: dict[str, Any] = dict.fromkeys(
    ("parse_mode", "disable_notification", "protect_content", "link_preview_options"), None
)


class Call:
    """The arguments of one row's call: what the typed Bot method takes by name, the rest as api_kwargs."""

    __slots__ = ("chat_id", "message_id", "rest")

    def __init__(self, job: Job) -> None:
        self.chat_id = job.chat_id
        self.rest = {**_NO_DEFAULTS, **job.payload}
        stored = self.rest.pop("message_id", None)
        # Edits target the card's original, resolved at claim time; other calls carry their message id.
        self.message_id: int | None = job.message_id if job.message_id is not None else stored

    def take(self, name: str) -> Any:
        """A parameter the method takes by name, removed from the rest."""
        try:
            return self.rest.pop(name)
        except KeyError:
            raise BadPayload(f"payload lacks {name!r}") from None

    def file(self, name: str) -> str | InputFile:
        """A file parameter: a file id or a URL, or bytes stored in the row (uploaded); never a path on
        this server."""
        value = self.take(name)
        if isinstance(value, dict) and isinstance(value.get(UPLOAD_DATA), str):
            try:
                data = base64.b64decode(value[UPLOAD_DATA], validate=True)
            except ValueError:
                raise BadPayload(f"{name}: the stored upload is not base64") from None
            return InputFile(data, filename=str(value.get(UPLOAD_NAME) or name))
        if not isinstance(value, str) or not _FILE_REFERENCE.fullmatch(value):
            raise BadPayload(f"{name} is neither a file id nor a URL")
        return value

    def target(self) -> int:
        """The message the call acts on."""
        if self.message_id is None:
            raise BadPayload("no message to act on")
        return self.message_id


def _plain(method: str, *required: str, target: bool = False) -> Callable[[Bot, Call], Awaitable[Any]]:
    """A call whose payload is plain Bot API JSON, sent as it is through Bot.do_api_request.

    PTB's typed method would build a Message object of every answer, where the worker reads only the message
    id: under a fan-out that parsing was a good part of each send's CPU. Its answer is the call's result
    as plain JSON.
    """

    def call(bot: Bot, c: Call) -> Awaitable[Any]:
        # The parameters are checked here, before any call is made (a broken row fails without one).
        params = {name: c.take(name) for name in required}
        params.update(c.rest, chat_id=c.chat_id)
        params["message_id"] = c.target() if target else c.message_id
        # Straight to PTB's request seam, as one JSON body (Bot.do_api_request built and encoded each
        # parameter apart, and warned about the method's name on every call); PTB's post() still turns
        # Telegram's errors into its exceptions, classified below.
        return bot.request.post(f"{bot.base_url}/{method}", request_data=JsonBody(params))

    return call


# How each stored Bot API method is made: plain JSON as it is (above); a file through PTB's typed method,
# which uploads stored bytes. Required parameters by name, the rest of the payload (already Bot API JSON:
# keyboards, link preview options...) passed through as api_kwargs, which PTB sends as they are. A new kind
# of row is one line here.
CALLS: dict[str, Callable[[Bot, Call], Awaitable[Any]]] = {
    "sendMessage": _plain("sendMessage", "text"),
    "sendPhoto": lambda bot, c: bot.send_photo(c.chat_id, c.file("photo"), api_kwargs=c.rest),
    "sendDocument": lambda bot, c: bot.send_document(c.chat_id, c.file("document"), api_kwargs=c.rest),
    "sendLocation": _plain("sendLocation", "latitude", "longitude"),
    "editMessageText": _plain("editMessageText", "text", target=True),
    "editMessageCaption": _plain("editMessageCaption", target=True),
    "pinChatMessage": _plain("pinChatMessage", target=True),
    "unpinChatMessage": _plain("unpinChatMessage"),
    "deleteMessage": _plain("deleteMessage", target=True),
}


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def send(bot: Bot, job: Job) -> Result:
    """Make the call and classify the answer; never raises for Telegram or network errors."""
    make = CALLS.get(job.method)
    if make is None:
        return Result(Verdict.FAILED, error=f"no way to send {job.method}")
    try:
        pending = make(bot, Call(job))
    except BadPayload as exc:
        return Result(Verdict.FAILED, error=f"{job.method}: {exc}")
    try:
        answer = await pending
    except RetryAfter as exc:
        return Result(Verdict.FLOOD, error=str(exc), retry_after=max(_seconds(exc.retry_after), 0.0))
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
    if isinstance(answer, Message):
        return Result(Verdict.SENT, message_id=answer.message_id)
    if isinstance(answer, dict) and isinstance(answer.get("message_id"), int):
        return Result(Verdict.SENT, message_id=answer["message_id"])
    return Result(Verdict.SENT, message_id=job.message_id)
