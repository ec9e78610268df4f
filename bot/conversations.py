"""One conversation mechanism: database drafts per member and flow, and the router that hands a typed message
to the draft waiting for it.

A feature declares its conversations (`bot.features.Conversation`); it opens a draft with `begin`, moves it
with `advance`, and receives the member's typed messages in `on_input` while its draft has the focus.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import MaybeInaccessibleMessage, Update
from telegram.error import Forbidden, RetryAfter, TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.features import Command, Conversation
from bot.i18n import N_
from bot.replies import remove_buttons
from bot.runtime import LiaisonContext, Runtime
from db import drafts as store
from db.drafts import Draft

logger = logging.getLogger(__name__)

CANCEL_WORDS = ("cancel", "annuler")
# The newest prompts a draft remembers: a long conversation's oldest questions lost their use long before.
PROMPTS_KEPT = 40


class DraftData(BaseModel):
    """Base of a conversation's typed answers, stored as the draft's JSON data."""

    model_config = ConfigDict(extra="ignore")

    # The bot's messages carrying this draft's buttons, (chat id, message id), stored under
    # db.drafts.PROMPTS_KEY: their buttons are taken off when the conversation ends (clear_prompts).
    prompts: list[tuple[int, int]] | None = None

    @classmethod
    def of(cls, draft: Draft) -> Self:
        """Read a draft's answers (unknown keys from an older version are ignored)."""
        return cls.model_validate(draft.data or {})

    def dump(self) -> dict[str, Any]:
        """The JSON form stored in the draft."""
        return self.model_dump(mode="json", exclude_none=True)

    def take_prompts(self) -> DraftData:
        """Take the prompts out of these answers, which the draft's last step writes back without them: the
        ones taken are cleared once, by `end_prompts`, when the outcome is shown."""
        taken, self.prompts = DraftData(prompts=self.prompts), None
        return taken


def expiry(runtime: Runtime, conversation: Conversation) -> datetime:
    """When a draft touched now goes stale."""
    return runtime.clock.now() + conversation.ttl


async def begin(
    update: Update,
    context: LiaisonContext,
    conversation: Conversation,
    *,
    token: str,
    step: str,
    data: DraftData | None = None,
) -> tuple[Draft, bool]:
    """Open a focused draft for the member (replacing their previous one of this flow).

    Returns (draft, False) when the same message or press already opened it (a repeated update). Drafts of
    other conversations lose the focus; each is told, so it can drop itself and say so, or stay resumable.
    """
    member, runtime = context.active_member, context.runtime
    assert member.id is not None
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        draft, fresh, previous = await store.open_draft(
            session,
            member_id=member.id,
            flow=conversation.flow,
            token=token,
            step=step,
            data=data.dump() if data is not None else {},
            now=now,
            expires_at=now + conversation.ttl,
        )
        left = await store.unfocus_drafts(session, member_id=member.id, keep_id=draft.id) if fresh else []
    await _tell_left(update, context, left)
    if fresh and previous is not None:
        # The fresh start replaced the draft: the buttons of its questions would only say it is closed.
        await clear_prompts(context, previous)
        if conversation.on_replaced is not None:
            await conversation.on_replaced(update, context, previous)
    return draft, fresh


async def focus(update: Update, context: LiaisonContext, draft: Draft) -> None:
    """Give an existing draft the focus again (the member came back to it)."""
    member, runtime = context.active_member, context.runtime
    assert member.id is not None and draft.id is not None
    async with runtime.db.transaction() as session:
        left = await store.focus_draft(session, draft_id=draft.id, member_id=member.id)
    await _tell_left(update, context, left)


async def _tell_left(update: Update, context: LiaisonContext, left: list[Draft]) -> None:
    """Each conversation that lost the focus keeps its draft, or drops one that waited for typed input."""
    for other in left:
        conversation = context.runtime.features.conversation(other.flow)
        if conversation is None:
            continue
        if conversation.on_left is not None:
            await conversation.on_left(update, context, other)
        elif other.step in conversation.typed_steps and await close(context, other):
            await say_cancelled(update, context, conversation)
            await clear_prompts(context, other)


async def say_cancelled(update: Update, context: LiaisonContext, conversation: Conversation) -> None:
    """Tell the member their conversation was cancelled (the feature may bring its keyboard back)."""
    if conversation.on_cancel is not None:
        await conversation.on_cancel(update, context)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(context.tr.gettext(conversation.cancelled))


async def advance_in(
    session: AsyncSession,
    context: LiaisonContext,
    conversation: Conversation,
    draft: Draft,
    *,
    step: str,
    from_steps: tuple[str, ...] | None = None,
    data: DraftData | None = None,
) -> bool:
    """Move a draft to `step` in the caller's transaction, if it is still where it was (False: it moved)."""
    member, runtime = context.active_member, context.runtime
    assert member.id is not None and draft.id is not None
    now = runtime.clock.now()
    return await store.advance_draft(
        session,
        draft_id=draft.id,
        member_id=member.id,
        from_steps=from_steps or (draft.step,),
        step=step,
        now=now,
        expires_at=now + conversation.ttl,
        data=data.dump() if data is not None else None,
    )


async def advance(
    context: LiaisonContext,
    conversation: Conversation,
    draft: Draft,
    *,
    step: str,
    from_steps: tuple[str, ...] | None = None,
    data: DraftData | None = None,
) -> Draft | None:
    """Move a draft to `step` (with new answers) if it is still where it was; the fresh draft, or None."""
    member = context.active_member
    assert member.id is not None
    async with context.runtime.db.transaction() as session:
        if not await advance_in(
            session, context, conversation, draft, step=step, from_steps=from_steps, data=data
        ):
            return None
        return await store.get_draft(session, member_id=member.id, flow=conversation.flow)


async def current(context: LiaisonContext, conversation: Conversation) -> Draft | None:
    """The member's live draft of a conversation (None when absent or stale)."""
    member, runtime = context.active_member, context.runtime
    assert member.id is not None
    async with runtime.db.reading() as session:
        draft = await store.get_draft(session, member_id=member.id, flow=conversation.flow)
    if draft is None or draft.expires_at <= runtime.clock.now():
        return None
    return draft


async def close(context: LiaisonContext, draft: Draft) -> bool:
    """Delete a draft (finished or abandoned); False when it was already gone.

    Its prompts keep their buttons until the caller, once it has answered, calls end_prompts.
    """
    member = context.active_member
    assert member.id is not None and draft.id is not None
    async with context.runtime.db.transaction() as session:
        return await store.drop_draft(session, member_id=member.id, draft_id=draft.id)


async def remember_prompt(
    context: LiaisonContext, draft_id: int | None, message: MaybeInaccessibleMessage | None
) -> None:
    """Note a message just sent with a draft's buttons, so that they can be taken off when the draft ends."""
    member = context.active_member
    if message is None or draft_id is None or member.id is None:
        return
    async with context.runtime.db.transaction() as session:
        await store.add_prompt(
            session,
            draft_id=draft_id,
            member_id=member.id,
            chat_id=message.chat.id,
            message_id=message.message_id,
            keep=PROMPTS_KEPT,
        )


def prompts_of(source: Draft | DraftData) -> list[tuple[int, int]]:
    """The (chat id, message id) of the prompts a draft (or its answers) remembers."""
    raw = source.prompts if isinstance(source, DraftData) else (source.data or {}).get(store.PROMPTS_KEY)
    return [(int(chat_id), int(message_id)) for chat_id, message_id in raw or []]


def pressed_message_id(update: Update) -> int | None:
    """The message whose button made this update, if it is a press (its handler edits that one itself)."""
    query = update.callback_query
    return query.message.message_id if query is not None and query.message is not None else None


async def clear_prompts(
    context: LiaisonContext, source: Draft | DraftData, *, keep: int | None = None
) -> None:
    """The conversation ended: take the buttons off its prompts (but `keep`), so none is left to press."""
    for chat_id, message_id in prompts_of(source):
        if message_id != keep and not await remove_buttons(context.bot, chat_id, message_id):
            return  # a flood wait or a blocked bot: the rest would be refused the same way


async def end_prompts(
    update: Update, context: LiaisonContext, source: Draft | DraftData, *, settled: str | None = None
) -> None:
    """The conversation ended (sent, saved, cancelled): take the buttons off its prompts, but not off the
    pressed message, which the handler has just edited to show the outcome; with `settled`, the prompts also
    say so in that one line (left as they were, they read as questions still waiting)."""
    keep = pressed_message_id(update)
    if settled is None:
        await clear_prompts(context, source, keep=keep)
        return
    for chat_id, message_id in prompts_of(source):
        if message_id == keep:
            continue
        try:
            await context.bot.edit_message_text(settled, chat_id=chat_id, message_id=message_id)
        except (RetryAfter, Forbidden):
            return  # a flood wait or a blocked bot: the rest would be refused the same way
        except TelegramError:
            # Too old, deleted, or reading so already: a leftover never stops the flow; buttons go at best.
            if not await remove_buttons(context.bot, chat_id, message_id):
                return


def _command_of(text: str) -> str | None:
    """The command word of a message ('/Cancel@bot now' -> 'cancel'), or None."""
    if not text.startswith("/"):
        return None
    return (text.split() or [""])[0][1:].split("@")[0].lower()


async def route_input(update: Update, context: LiaisonContext) -> None:
    """Hand a typed message (text, photo, location...) to the member's focused draft, if one waits for it.

    Commands and reply-keyboard buttons go on to the features; so does a message no draft wants.
    """
    member, message, runtime = context.member, update.effective_message, context.runtime
    if member is None or member.id is None or message is None:
        return
    text = message.text
    if text is not None and (text.strip() in runtime.features.trigger_texts or _command_of(text)):
        return
    async with runtime.db.reading() as session:
        draft = await store.get_focused_draft(session, member_id=member.id)
    if draft is None:
        return
    conversation = runtime.features.conversation(draft.flow)
    if conversation is None or draft.expires_at <= runtime.clock.now():
        # A stale draft (or one of a feature no longer installed) takes nothing: the message goes on.
        async with runtime.db.transaction() as session:
            await store.drop_draft(session, member_id=member.id, draft_id=draft.id)
        return
    if await conversation.on_input(update, context, draft) is not False:
        raise ApplicationHandlerStop


async def cancel_command(update: Update, context: LiaisonContext) -> None:
    """/cancel: drop the conversation in progress and say so."""
    member, runtime, message = context.active_member, context.runtime, update.effective_message
    assert member.id is not None and message is not None
    async with runtime.db.transaction() as session:
        draft = await store.get_focused_draft(session, member_id=member.id)
        dropped = draft is not None and await store.drop_draft(
            session, member_id=member.id, draft_id=draft.id
        )
    conversation = runtime.features.conversation(draft.flow) if draft is not None and dropped else None
    if draft is None or conversation is None:
        await message.reply_text(context.tr.gettext("Nothing to cancel."))
        return
    await say_cancelled(update, context, conversation)
    await clear_prompts(context, draft)


CANCEL = Command("cancel", N_("Cancel what you are doing"), cancel_command, aliases=CANCEL_WORDS[1:])
