"""Callback data: short namespaced text like 'al:ack:17', parsed in one place and never trusted."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BYTES = 64
# "go:<command>": a button that opens a command (a reminder's "Write the handover", say).
OPEN_PREFIX = "go"
MAX_ID = 2**31 - 1  # ids are 32-bit integer columns (SERIAL on PostgreSQL)
_PART = re.compile(r"^[A-Za-z0-9_.+-]{1,24}$")


@dataclass(frozen=True)
class CallbackData:
    """A parsed button press: feature prefix, action, arguments."""

    prefix: str
    action: str
    args: tuple[str, ...]

    def int_arg(self, index: int) -> int | None:
        """The argument at `index` as a row id, or None when absent, not a number or beyond any id."""
        try:
            value = int(self.args[index])
        except (IndexError, ValueError):
            return None
        # Forged data can carry any number: one past a 32-bit id would make the database driver raise.
        return value if -MAX_ID <= value <= MAX_ID else None


def encode(prefix: str, action: str, *args: object) -> str:
    """Build callback data; refuses anything Telegram would reject."""
    parts = [prefix, action, *(str(a) for a in args)]
    for part in parts:
        if not _PART.match(part):
            raise ValueError(f"bad callback part {part!r}")
    data = ":".join(parts)
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def parse(data: str | None) -> CallbackData | None:
    """Parse callback data; None for anything malformed (forged presses included)."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    parts = data.split(":")
    if len(parts) < 2 or not all(_PART.match(p) for p in parts):
        return None
    return CallbackData(parts[0], parts[1], tuple(parts[2:]))


def pattern(prefix: str) -> str:
    """Regex for CallbackQueryHandler matching one feature's prefix."""
    return rf"^{re.escape(prefix)}:"
