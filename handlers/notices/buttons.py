"""The notices feature's buttons: Seen on a copy, a reminder or the list; reading a copy again; the sender's
"Who has not read it?", "Remind them" and the count.

Every press is re-checked against the database: is this person a recipient (Seen), may they follow this
notice (the others)? Forged and foreign presses get a clear answer and change nothing.
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.error import BadRequest

from bot.callbacks import CallbackData
from bot.replies import NOT_MODIFIED, answer, edit_message, reply
from bot.runtime import LiaisonContext
from db import notices as store
from handlers.notices import listing, service, writing
from handlers.notices.batching import batcher
from handlers.notices.render import (
    card_clock,
    clock_note,
    copy_markup,
    render_card,
    render_copy,
    render_unread,
)
from handlers.notices.service import Press, RemindOutcome, SeenOutcome


async def on_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """Route every nt: button; each path answers the callback query."""
    query = update.callback_query
    assert query is not None
    if data.action in writing.BUTTON_ACTIONS:
        await writing.draft_button(update, context, data)
    elif data.action == "seen":
        await seen_button(update, context, data)
    elif data.action == "read":
        await read_button(update, context, data.int_arg(0))
    elif data.action == "who":
        await who_button(update, context, data.int_arg(0))
    elif data.action == "rem":
        await remind_button(update, context, data.int_arg(0))
    elif data.action == "cnt":
        await count_button(update, context, data.int_arg(0), refresh=len(data.args) > 1)
    else:
        await answer(query, context.tr.gettext("This button is no longer valid."), alert=True)


def not_yours(context: LiaisonContext) -> str:
    """The answer to someone pressing on a notice that is not theirs (forged or forwarded)."""
    return context.tr.gettext("This notice was not sent to you.")


def not_followed(context: LiaisonContext) -> str:
    """The answer to someone asking who read a notice they may not follow."""
    return context.tr.gettext("Only the sender, the post's chiefs and the coordinators follow this notice.")


async def seen_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """Seen: recorded once; the answer says so at once, the copy and the sender's card follow."""
    query, member, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None
    notice_id = data.int_arg(0)
    origin = data.args[1] if len(data.args) > 1 else None
    if notice_id is None:
        await answer(query, not_yours(context), alert=True)
        return
    # Committed with the other presses waiting at this moment (a burst costs one unit of work per batch).
    result = await batcher(runtime).submit(Press(notice_id, member))
    if result.outcome == SeenOutcome.NOT_YOURS:
        await answer(query, not_yours(context), alert=True)
        return
    assert result.seen_at is not None
    zone = runtime.config.post_zone(result.post_code, member.post_code)
    if result.outcome == SeenOutcome.ALREADY:
        await answer(
            query,
            tr.gettext("Already confirmed at {time}: nothing more to do.").format(
                time=tr.time(result.seen_at, zone)
            ),
        )
    else:
        await answer(
            query, tr.gettext("✓ Seen at {time}. Thank you.").format(time=tr.time(result.seen_at, zone))
        )
    # A copy is edited through the outbox; the list and a copy opened again are this person's own screen.
    if origin == "l":
        await listing.refresh_list(update, context)
    elif origin == "o" and result.view is not None and result.post_code is not None:
        text = render_copy(
            runtime.config,
            result.view,
            language=tr.language,
            post_code=result.post_code,
            seen_at=result.seen_at,
        )
        await edit_own_copy(update, text)


async def edit_own_copy(update: Update, text: str) -> None:
    """Show "✓ Seen" on a copy opened again from /notices (a caption when it carries a photo or a file)."""
    query = update.callback_query
    assert query is not None
    message = query.message
    if message is None or not isinstance(message, Message):
        return
    try:
        if message.photo or message.document is not None:
            await query.edit_message_caption(text, reply_markup=None)
        else:
            await query.edit_message_text(text, reply_markup=None)
    except BadRequest as exc:
        if NOT_MODIFIED not in str(exc).lower():
            raise


async def read_button(update: Update, context: LiaisonContext, notice_id: int | None) -> None:
    """Send a member's copy again (from /notices), with its Seen button while unread."""
    query, member, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None and query.message is not None
    async with runtime.db.reading() as session:
        found = await service.reopen(session, runtime, notice_id=notice_id or 0, member=member)
    if found is None:
        await answer(query, not_yours(context), alert=True)
        return
    notice, view, recipient = found
    await answer(query)
    text = render_copy(
        runtime.config, view, language=tr.language, post_code=recipient.post_code, seen_at=recipient.seen_at
    )
    markup = copy_markup(tr, notice.id or 0, "o") if recipient.seen_at is None else None
    chat_id, bot = query.message.chat.id, query.get_bot()
    if notice.attachment_kind == "photo" and notice.attachment_file_id:
        await bot.send_photo(chat_id, notice.attachment_file_id, caption=text, reply_markup=markup)
    elif notice.attachment_kind == "document" and notice.attachment_file_id:
        await bot.send_document(chat_id, notice.attachment_file_id, caption=text, reply_markup=markup)
    else:
        await reply(query, text, markup)


async def who_button(update: Update, context: LiaisonContext, notice_id: int | None) -> None:
    """Names of those who have not read it, by service (and post), in one message."""
    query, member, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None and query.message is not None
    async with runtime.db.reading() as session:
        found = await service.unread(session, runtime, notice_id=notice_id or 0, member=member)
    if found is None:
        await answer(query, not_followed(context), alert=True)
        return
    await answer(query)
    await reply(query, render_unread(runtime.config, tr, found.view, found.names, found.total))


async def remind_button(update: Update, context: LiaisonContext, notice_id: int | None) -> None:
    """Remind the non-readers now (at most once per configured interval)."""
    query, member, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None
    async with runtime.db.transaction() as session:
        result = await service.remind(session, runtime, notice_id=notice_id or 0, member=member)
        notice = await store.get_notice(session, notice_id=notice_id or 0)
    # The notice's post clock (the presser's own post when it is one of them), named when it may be taken for
    # another zone's: a coordinator has no post, and a post's zone is not UTC.
    zone, named = card_clock(runtime.config, notice.posts if notice is not None else (), member.post_code)
    if result.outcome == RemindOutcome.NOT_ALLOWED:
        await answer(query, not_followed(context), alert=True)
    elif result.outcome == RemindOutcome.EXPIRED:
        await answer(query, tr.gettext("This notice has expired: no more reminders."), alert=True)
    elif result.outcome == RemindOutcome.NOBODY:
        await answer(query, tr.gettext("✅ Everyone has read it."))
    elif result.outcome == RemindOutcome.TOO_SOON:
        when = tr.time(result.next_at, zone) if result.next_at else "?"
        when += clock_note(runtime.config, tr, named, plain=True)
        await answer(
            query,
            tr.gettext(
                "They were reminded less than {minutes} minutes ago. Next reminder possible at {time}."
            ).format(minutes=tr.number(runtime.config.notices.remind_interval_minutes), time=when),
            alert=True,
        )
    else:
        await answer(
            query,
            tr.ngettext(
                "🔔 Reminder sent to {n} person.", "🔔 Reminder sent to {n} people.", result.count
            ).format(n=tr.number(result.count)),
        )


async def count_button(
    update: Update, context: LiaisonContext, notice_id: int | None, *, refresh: bool
) -> None:
    """The current count of a notice (from /notices), refreshed in place by its own button."""
    query, member, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None and query.message is not None
    async with runtime.db.reading() as session:
        found = await service.follow(session, runtime, notice_id=notice_id or 0, member=member)
    if found is None:
        await answer(query, not_followed(context), alert=True)
        return
    view, tally = found
    now = runtime.clock.now()
    text = render_card(
        runtime.config, view, tally, language=tr.language, reader_post=member.post_code, now=now
    )
    markup = listing.count_markup(tr, view, tally, now=now)
    await answer(query)
    if refresh:
        await edit_message(query, text, markup)
    else:
        await reply(query, text, markup)
