"""The one error handler: log with context (never the token), tell the person nothing was lost."""

from __future__ import annotations

import logging

from telegram import Update

from bot.runtime import LiaisonContext
from bot.texts import member_translator

logger = logging.getLogger(__name__)


async def on_error(update: object, context: LiaisonContext) -> None:
    """Log the failure first, then tell the person in their language."""
    summary = "no update"
    if isinstance(update, Update):
        user = update.effective_user
        summary = f"update {update.update_id} from user {user.id if user else '?'}"
    logger.error("Handler failed for %s", summary, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    user = update.effective_user
    tr = member_translator(getattr(context, "member", None), user.language_code if user else None)
    text = tr.gettext(
        "Something went wrong on our side. Nothing you sent was lost; please try again in a moment."
    )
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text[:200], show_alert=True)
        else:
            await context.bot.send_message(update.effective_chat.id, text)
    except Exception:  # the error path must never raise: it would hide the original failure
        logger.warning("Could not tell the user about the failure", exc_info=True)
