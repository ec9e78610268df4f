"""The gate: every update meets it first; it loads the member and stops strangers and suspended people."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.runtime import LiaisonContext
from bot.texts import HOW_TO_JOIN, SHORT_HOW_TO_JOIN, bilingual, member_translator
from db.members import Member, MemberStatus, get_member_by_telegram_id, mark_reachable, mark_unreachable

logger = logging.getLogger(__name__)
GATE_GROUP = -10


def _is_start_with_payload(update: Update) -> bool:
    message = update.message
    # A payload is a word after /start: "/start " followed by blanks only is a bare /start (members only).
    return bool(
        message and message.text and message.text.startswith("/start ") and len(message.text.split()) > 1
    )


async def gate(update: Update, context: LiaisonContext) -> None:
    """Load the member; let members through, answer everyone else with how to join."""
    user = update.effective_user
    if user is None or user.is_bot:
        raise ApplicationHandlerStop
    runtime = context.runtime
    if update.my_chat_member is not None:
        await _track_block(update, context)
        raise ApplicationHandlerStop
    if update.effective_chat is not None and update.effective_chat.type != "private":
        # Liaison works in private chats only: in a group, "/start <code>" would make the group the member's
        # chat (every alert then goes to the group), and /members, /invite or /delivery would show a post's
        # roster, an invite link or who is unreachable to everyone in it.
        raise ApplicationHandlerStop
    # Every update passes here: read without the write lock, and write only in the rare case there is news.
    async with runtime.db.reading() as session:
        member = await get_member_by_telegram_id(session, telegram_id=user.id)
    if member is not None and not member.reachable:
        async with runtime.db.transaction() as session:
            await mark_reachable(session, telegram_id=user.id)
        member.reachable = True
    context.member = member if member is not None and member.is_active else None
    if context.member is not None or _is_start_with_payload(update):
        return
    await _turn_away(update, member)
    raise ApplicationHandlerStop


async def _turn_away(update: Update, member: Member | None) -> None:
    """Tell a stranger how to join, or a suspended/removed member why nothing works."""
    suspended = member is not None and member.status == MemberStatus.SUSPENDED
    if suspended:
        tr = member_translator(member, update.effective_user.language_code if update.effective_user else None)
        text = tr.gettext("Your access to Liaison is suspended. Contact your post chief.")
    if update.callback_query is not None:
        short = text if suspended else bilingual(SHORT_HOW_TO_JOIN)
        await update.callback_query.answer(short, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text if suspended else bilingual(HOW_TO_JOIN))


async def _track_block(update: Update, context: LiaisonContext) -> None:
    """Record that a person blocked (or unblocked) the bot."""
    change = update.my_chat_member
    assert change is not None
    async with context.runtime.db.transaction() as session:
        if change.new_chat_member.status in ("kicked", "left"):
            await mark_unreachable(session, chat_id=change.chat.id, at=context.runtime.clock.now())
        else:
            await mark_reachable(session, telegram_id=change.from_user.id)


def register(application: Application) -> None:
    """Install the gate before every feature."""
    application.add_handler(TypeHandler(Update, gate), group=GATE_GROUP)
