"""Small builders for keyboards, and the persistent keyboard every post member carries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from bot.i18n import N_, Translator

# The persistent reply-keyboard button that raises an alert, matched in both languages whatever the reader's.
ALERT_BUTTON = N_("🚨 Alert")
ALERT_BUTTON_TEXTS = frozenset({"🚨 Alert", "🚨 Alerte"})


def inline(rows: Iterable[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, callback data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def columns(buttons: Sequence[tuple[str, str]], width: int = 2) -> InlineKeyboardMarkup:
    """Lay buttons out `width` to a row (thumb-sized on small phones)."""
    return inline(buttons[i : i + width] for i in range(0, len(buttons), width))


# The longest label two buttons side by side still show whole on a small phone (about 35 characters across).
PAIRED_LABEL = 16


def fitted_rows(buttons: Sequence[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Two short buttons to a row, a long one alone: a label cut to "Contrebande ou fr…" is a guess."""
    rows: list[list[tuple[str, str]]] = []
    for button in buttons:
        last = rows[-1] if rows else None
        if last is not None and len(last) == 1 and max(len(last[0][0]), len(button[0])) <= PAIRED_LABEL:
            last.append(button)
        else:
            rows.append([button])
    return rows


def main_keyboard(tr: Translator) -> ReplyKeyboardMarkup:
    """A post member's persistent keyboard with its one big alert button."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(tr.gettext(ALERT_BUTTON))]], resize_keyboard=True, is_persistent=True
    )
