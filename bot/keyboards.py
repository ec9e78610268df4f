"""Small builders for inline keyboards."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup


def inline(rows: Iterable[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, callback data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def columns(buttons: Sequence[tuple[str, str]], width: int = 2) -> InlineKeyboardMarkup:
    """Lay buttons out `width` to a row (thumb-sized on small phones)."""
    return inline(buttons[i : i + width] for i in range(0, len(buttons), width))
