"""Fallback: unknown commands, free text outside a conversation and stale buttons get a short answer.

The factory installs these last in the features' group: PTB runs only the first matching handler of a group,
so they answer exactly what no feature claimed.
"""

from __future__ import annotations

from telegram import Update

from bot.replies import answer
from bot.runtime import LiaisonContext


async def unknown_command(update: Update, context: LiaisonContext) -> None:
    """Point to /help when a command is unknown."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        context.tr.gettext("Unknown command. Send /help to see what you can do.")
    )


async def free_text(update: Update, context: LiaisonContext) -> None:
    """Explain that free text is not read outside a conversation."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        context.tr.gettext(
            "I only understand commands here. To raise an alert send /alert; for everything else, /help."
        )
    )


async def stale_button(update: Update, context: LiaisonContext) -> None:
    """Answer a button nobody handles (an old message, or forged data)."""
    assert update.callback_query is not None
    await answer(update.callback_query, context.tr.gettext("This button is no longer valid."), alert=True)
