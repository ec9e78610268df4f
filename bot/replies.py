"""Direct answers to the person who acted: edits where "not modified" is success, and refusals that fit."""

from __future__ import annotations

import logging

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

logger = logging.getLogger(__name__)

NOT_MODIFIED = "message is not modified"
# A press answered already (an update handled a second time) or too old to answer: nothing left to do.
ALREADY_ANSWERED = ("query is too old", "query id is invalid")
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


async def clear_buttons(query: CallbackQuery) -> bool:
    """Take the inline buttons off the pressed text message, its text kept; False when they were gone already
    (a repeated press), so the caller does not send its follow-up twice."""
    message = query.message
    if not isinstance(message, Message) or message.text is None:
        return True  # too old to be read back, so not editable either: only the follow-up is left
    try:
        # The text again rather than editMessageReplyMarkup: PTB adds the bot's default parse_mode to every
        # edit, and that method takes none.
        await query.edit_message_text(message.text_html, reply_markup=None)
    except BadRequest as exc:
        if NOT_MODIFIED not in str(exc).lower():
            raise
        return False
    return True


async def answer(query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    """Answer a button press (text cut to what Telegram accepts); a press answered before is success."""
    try:
        await query.answer(text[:ANSWER_LIMIT] if text else None, show_alert=alert)
    except BadRequest as exc:
        if not any(reason in str(exc).lower() for reason in ALREADY_ANSWERED):
            raise


async def reply(
    query: CallbackQuery,
    text: str,
    reply_markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None = None,
) -> Message | None:
    """Send a new message into the chat where a button was pressed (the pressed message may be too old to
    reply to: Telegram then only tells which chat it was in); the message sent."""
    if query.message is None:
        return None
    return await query.get_bot().send_message(query.message.chat.id, text, reply_markup=reply_markup)


async def remove_buttons(bot: Bot, chat_id: int, message_id: int) -> bool:
    """Take the inline buttons off an earlier message of the bot, at best; False: leave the chat alone now."""
    try:
        # Without reply_markup the keyboard goes. PTB adds the bot's default parse_mode to every message
        # call, and this method takes none: a None given here replaces it, and PTB drops None parameters.
        await bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=message_id, api_kwargs={"parse_mode": None}
        )
    except (RetryAfter, Forbidden) as exc:
        # A flood wait or a blocked bot: every further edit would be refused the same way.
        logger.debug("buttons left on message %s in chat %s: %s", message_id, chat_id, exc)
        return False
    except TelegramError as exc:
        # Too old, deleted, or without buttons already ("not modified"): a leftover never stops a flow.
        logger.debug("buttons left on message %s in chat %s: %s", message_id, chat_id, exc)
    return True
