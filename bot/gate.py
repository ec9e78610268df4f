"""The gate: every update meets it first; it loads the member and stops strangers and suspended people."""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.ext import ApplicationHandlerStop

from bot.access import asks_post_chief
from bot.features import MemberEvent
from bot.inbox.dispatcher import CURRENT_ATTEMPT
from bot.replies import answer
from bot.runtime import LiaisonContext
from bot.texts import HOW_TO_JOIN, SHORT_HOW_TO_JOIN, bilingual
from db.members import (
    Member,
    MemberStatus,
    get_member_by_telegram_id,
    mark_reachable,
    mark_unreachable,
    status_decided_by,
)

logger = logging.getLogger(__name__)


def _is_start_with_payload(message: Message | None) -> bool:
    # A payload is a word after /start: "/start " followed by blanks only is a bare /start (members only).
    return bool(
        message and message.text and message.text.startswith("/start ") and len(message.text.split()) > 1
    )


async def gate(update: Update, context: LiaisonContext) -> None:
    """Load the member; let members through, answer everyone else with how to join."""
    user = update.effective_user
    if user is None or user.is_bot:
        raise ApplicationHandlerStop
    context.telegram_language = user.language_code
    if update.my_chat_member is not None:
        await _track_block(update, context)
        raise ApplicationHandlerStop
    if update.effective_chat is not None and update.effective_chat.type != "private":
        # Liaison works in private chats only: in a group, "/start <code>" would make the group the member's
        # chat (every alert then goes to the group), and /members, /invite or /delivery would show a post's
        # roster, an invite link or who is unreachable to everyone in it.
        raise ApplicationHandlerStop
    runtime = context.runtime
    attempt = CURRENT_ATTEMPT.get()
    known = attempt.person if attempt is not None else None
    if known is not None and known.telegram_id == user.id:
        member = known.member  # read by the inbox's claim of this update, moments ago
    else:
        # Read without the write lock, and write only in the rare case there is news.
        async with runtime.db.reading() as session:
            member = await get_member_by_telegram_id(session, telegram_id=user.id)
    if member is not None and not member.reachable:
        await _returned(context, member)
    context.member = member if member is not None and member.is_active else None
    if context.member is not None or _is_start_with_payload(update.message):
        return
    await _turn_away(update, context, member)
    raise ApplicationHandlerStop


async def _returned(context: LiaisonContext, member: Member) -> None:
    """A member who had blocked the bot talks again: reachable, and the features may catch them up."""
    runtime = context.runtime
    # Bookkeeping, not the update's effect (and safe to repeat): it does not mark the update handled.
    async with runtime.db.transaction(guarded=False) as session:
        if await mark_reachable(session, telegram_id=member.telegram_id) and member.is_active:
            member.reachable, member.unreachable_since = True, None
            await runtime.features.emit(session, runtime, MemberEvent.RETURNED, member)
    member.reachable = True


async def _turn_away(update: Update, context: LiaisonContext, member: Member | None) -> None:
    """Tell a stranger how to join, or a suspended/removed member why nothing works."""
    suspended = member is not None and member.status == MemberStatus.SUSPENDED
    if suspended and member is not None:
        context.member = member  # for the reader's language only
        assert member.id is not None
        # Whom to ask is whom the access note named: the post chief only for an agent a chief suspended.
        async with context.runtime.db.reading() as session:
            decided_by = await status_decided_by(session, member_id=member.id, status=MemberStatus.SUSPENDED)
        text = (
            context.tr.gettext("Your access to Liaison is suspended. Contact your post chief.")
            if asks_post_chief(member, decided_by=decided_by)
            else context.tr.gettext("Your access to Liaison is suspended. Contact a coordinator.")
        )
        context.member = None
    if update.callback_query is not None:
        await answer(update.callback_query, text if suspended else bilingual(SHORT_HOW_TO_JOIN), alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text if suspended else bilingual(HOW_TO_JOIN))


async def _track_block(update: Update, context: LiaisonContext) -> None:
    """Record that a person blocked (or unblocked) the bot."""
    change = update.my_chat_member
    assert change is not None
    runtime = context.runtime
    if change.new_chat_member.status in ("kicked", "left"):
        async with runtime.db.transaction() as session:
            await mark_unreachable(session, chat_id=change.chat.id, at=runtime.clock.now())
        return
    async with runtime.db.reading() as session:
        member = await get_member_by_telegram_id(session, telegram_id=change.from_user.id)
    if member is not None and not member.reachable:
        await _returned(context, member)
