"""Corrections to published minutes: sent as an addendum to everyone who received them; the minutes themselves
are never changed."""

from __future__ import annotations

import html
import uuid
from datetime import timedelta

from telegram import Update

from bot import conversations
from bot.callbacks import CallbackData, encode
from bot.conversations import DraftData
from bot.features import Conversation
from bot.i18n import N_
from bot.keyboards import inline
from bot.replies import answer, edit_message
from bot.runtime import LiaisonContext
from bot.texts import preview
from db import drafts as draft_store
from db import meetings as store
from db.drafts import Draft
from handlers.meetings import service
from handlers.meetings.render import PREFIX, render_addendum

CANCELLED = N_("No correction was sent.")
NOT_ALLOWED = N_("Only the author of these minutes and the post's chiefs can correct them.")


class FixData(DraftData):
    """Which minutes a correction is for, its text, and its idempotency key."""

    meeting_id: int
    key: str
    text: str | None = None


async def fix_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """The card's "Add a correction", and the correction's Send / Cancel."""
    if data.action == "fix":
        await _begin(update, context, data.int_arg(0))
    else:
        await _confirm(update, context, data)


async def _begin(update: Update, context: LiaisonContext, meeting_id: int | None) -> None:
    query, member, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None and update.effective_chat is not None
    async with runtime.db.reading() as session:
        meeting = await store.get_meeting(session, meeting_id=meeting_id) if meeting_id is not None else None
    if meeting is None or meeting.id is None or not service.may_correct(runtime, member, meeting):
        await answer(query, tr.gettext(NOT_ALLOWED), alert=True)
        return
    _, fresh = await conversations.begin(
        update,
        context,
        FIX,
        token=f"q:{query.id}",
        step="text",
        data=FixData(meeting_id=meeting.id, key=uuid.uuid4().hex),
    )
    await answer(query)
    if not fresh:
        return
    await update.effective_chat.send_message(
        tr.gettext(
            "📎 Correction to the minutes “{title}”. Send it in one message (at most {limit} characters), "
            "or /cancel. The minutes stay as they are: the correction goes to everyone who received them."
        ).format(
            title=html.escape(preview(meeting.title, 80)),
            limit=tr.number(runtime.config.meetings.max_addendum_chars),
        )
    )


async def fix_input(update: Update, context: LiaisonContext, draft: Draft) -> bool:
    """The correction's text, shown back with Send and Cancel."""
    message, runtime, tr = update.effective_message, context.runtime, context.tr
    assert message is not None
    if draft.step != "text":
        await message.reply_text(tr.gettext("Please use the buttons above, or /cancel."))
        return True
    text = (message.text or "").strip()
    if not text:
        await message.reply_text(tr.gettext("Please send the correction as text, or /cancel."))
        return True
    limit = runtime.config.meetings.max_addendum_chars
    if len(text) > limit:
        await message.reply_text(
            tr.gettext(
                "This correction has {length} characters; the limit is {limit}. Send a shorter one."
            ).format(length=tr.number(len(text)), limit=tr.number(limit))
        )
        return True
    data = FixData.of(draft)
    data.text = text
    fresh = await conversations.advance(context, FIX, draft, step="confirm", data=data)
    if fresh is None:
        return True
    async with runtime.db.reading() as session:
        meeting = await store.get_meeting(session, meeting_id=data.meeting_id)
    if meeting is None:
        await conversations.close(context, fresh)
        return True
    preview = render_addendum(
        runtime.config,
        tr,
        meeting,
        text,
        author=context.active_member.display_name,
        reader_post=service.reader_post(context.active_member, meeting),
    )
    markup = inline(
        [
            [
                (tr.gettext("📤 Send the correction"), encode(PREFIX, "fixok", fresh.id)),
                (tr.gettext("✖ Cancel"), encode(PREFIX, "fixno", fresh.id)),
            ]
        ]
    )
    await conversations.remember_prompt(
        context, fresh.id, await message.reply_text(preview, reply_markup=markup)
    )
    return True


async def _confirm(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """Send the correction once (the draft is consumed in the same transaction), or drop it."""
    query, member, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None and member.id is not None
    draft = await conversations.current(context, FIX)
    if draft is None or draft.id != data.int_arg(0) or draft.step != "confirm":
        await answer(query, tr.gettext("This correction was already sent or cancelled."))
        return
    fix = FixData.of(draft)
    if data.action == "fixno":
        await conversations.close(context, draft)
        await answer(query)
        await edit_message(query, tr.gettext(CANCELLED))
        await conversations.end_prompts(update, context, draft)
        return
    assert draft.id is not None and member.id is not None
    async with runtime.db.transaction() as session:
        taken = await draft_store.consume_draft(
            session, draft_id=draft.id, member_id=member.id, step="confirm"
        )
        if taken is None:
            addendum, readers = None, -1
        else:
            addendum, readers = await service.publish_addendum(
                session,
                runtime,
                member,
                meeting_id=fix.meeting_id,
                text=fix.text or "",
                token=f"fx:{fix.key}",
            )
    if readers < 0:
        await answer(query, tr.gettext("This correction was already sent or cancelled."))
        return
    if addendum is None:
        await answer(query, tr.gettext(NOT_ALLOWED), alert=True)
        return
    await answer(query, tr.gettext("Correction sent."))
    # The preview gives way to the outcome: the correction itself arrives like everyone else's copy.
    await edit_message(
        query,
        tr.ngettext("📎 Correction sent to {n} person.", "📎 Correction sent to {n} people.", readers).format(
            n=readers
        ),
    )
    if taken is not None:
        await conversations.end_prompts(update, context, taken)


FIX = Conversation(
    "meeting_fix",
    fix_input,
    ttl=timedelta(hours=2),
    cancelled=CANCELLED,
    typed_steps=frozenset({"text"}),
)
