"""Direct answers to the person who acted: edits where "not modified" is success, and refusals that fit."""

from __future__ import annotations

from telegram import CallbackQuery, InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove
from telegram.error import BadRequest

NOT_MODIFIED = "message is not modified"
# Telegram caps the text of a callback answer at 200 characters.
ANSWER_LIMIT = 200


async def edit_message(
    query: CallbackQuery, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    """Edit the pressed message; the same text again (a repeated press) is success, not an error."""
    try:
        await query.edit_message_text(text, reply_markup=reply_markup)
    except BadRequest as exc:
        if NOT_MODIFIED not in str(exc).lower():
            raise


async def answer(query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    """Answer a button press, cutting the text to what Telegram accepts."""
    await query.answer(text[:ANSWER_LIMIT] if text else None, show_alert=alert)


async def reply(
    query: CallbackQuery,
    text: str,
    reply_markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None = None,
) -> None:
    """Send a new message into the chat where a button was pressed (the pressed message may be too old to
    reply to: Telegram then only tells which chat it was in)."""
    if query.message is None:
        return
    await query.get_bot().send_message(query.message.chat.id, text, reply_markup=reply_markup)
