"""Fallback: unknown commands and free text outside a conversation get a short hint, not silence.

Commands: none of its own. Callback prefixes: none (answers stale or unknown buttons).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from bot.runtime import LiaisonContext
from bot.texts import member_translator

# Same group as the features and registered last: PTB runs only the first matching handler of a group,
# so these answer exactly what no feature claimed.
FALLBACK_GROUP = 0


async def unknown_command(update: Update, context: LiaisonContext) -> None:
    """Point to /help when a command is unknown."""
    tr = member_translator(context.member)
    await update.effective_message.reply_text(
        tr.gettext("Unknown command. Send /help to see what you can do.")
    )


async def free_text(update: Update, context: LiaisonContext) -> None:
    """Explain that free text is not read outside a conversation."""
    tr = member_translator(context.member)
    await update.effective_message.reply_text(
        tr.gettext(
            "I only understand commands here. To raise an alert send /alert; for everything else, /help."
        )
    )


async def stale_button(update: Update, context: LiaisonContext) -> None:
    """Answer a button nobody handles (an old message, or forged data)."""
    tr = member_translator(context.member)
    await update.callback_query.answer(tr.gettext("This button is no longer valid."), show_alert=True)


def register(application: Application) -> None:
    """Register the catch-alls; handlers/__init__.py calls this last."""
    private = filters.ChatType.PRIVATE
    application.add_handler(MessageHandler(private & filters.COMMAND, unknown_command), group=FALLBACK_GROUP)
    application.add_handler(
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, free_text), group=FALLBACK_GROUP
    )
    # Stickers, photos, locations, voice notes... outside a conversation get the same hint as free text.
    application.add_handler(
        MessageHandler(private & ~filters.TEXT & ~filters.COMMAND & ~filters.StatusUpdate.ALL, free_text),
        group=FALLBACK_GROUP,
    )
    application.add_handler(CallbackQueryHandler(stale_button), group=FALLBACK_GROUP)
