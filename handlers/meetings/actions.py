"""Action items after publication: /actions, opening an item, Done, and progress notes.

Every press is re-checked against the database: the item, its meeting, and the presser's right to it now.
"""

from __future__ import annotations

import html
from datetime import timedelta

from telegram import Update

from bot import conversations
from bot.access import is_global
from bot.callbacks import CallbackData, encode
from bot.conversations import DraftData
from bot.features import Conversation
from bot.i18n import N_
from bot.keyboards import inline
from bot.replies import answer, edit_message, reply
from bot.runtime import LiaisonContext
from bot.texts import preview
from db import drafts as draft_store
from db.drafts import Draft
from db.meetings import CopyKind
from handlers.meetings import service
from handlers.meetings.render import PREFIX, days_late, item_markup, listing_line, render_item
from handlers.meetings.service import ItemOutcome, ItemResult

PAGE_SIZE = 8
NOT_YOURS = N_("This action item is not yours to change.")
GONE = N_("This action item no longer exists.")
NOTE_CANCELLED = N_("No note was added.")


# ----- /actions ---------------------------------------------------------------------------------------------


async def actions_command(update: Update, context: LiaisonContext) -> None:
    """/actions: my open items and my service's; a chief's: the whole post's; overdue first."""
    await _show(update, context, page=0)


async def _show(update: Update, context: LiaisonContext, *, page: int) -> None:
    member, runtime, tr = context.active_member, context.runtime, context.tr
    config = runtime.config
    async with runtime.db.reading() as session:
        found, whole = await service.open_items_for(session, runtime, member)
    if not found:
        text = (
            tr.gettext("📌 No open action item at your post.")
            if whole
            else tr.gettext("📌 You and your service have no open action item.")
        )
        await _answer_with(update, context, text, None)
        return
    pages = (len(found) + PAGE_SIZE - 1) // PAGE_SIZE
    page = min(max(page, 0), pages - 1)
    now = runtime.clock.now()
    late = sum(1 for item, _ in found if days_late(config, item, now))
    if is_global(member):
        title = tr.gettext("📌 <b>Open action items</b> · every post")
    elif whole:
        title = tr.gettext("📌 <b>Open action items</b> · {post}").format(
            post=html.escape(config.post_name(member.post_code))
        )
    else:
        title = tr.gettext("📌 <b>Your open action items</b> (yours and your service's)")
    lines = [title]
    count = tr.ngettext("{n} open", "{n} open", len(found)).format(n=len(found))
    if late:
        count += " · " + tr.ngettext("⏰ {n} overdue", "⏰ {n} overdue", late).format(n=late)
    lines.append(count)
    if pages > 1:
        lines.append(tr.gettext("Page {page} of {pages}").format(page=page + 1, pages=pages))
    lines.append("")
    buttons = []
    start = page * PAGE_SIZE
    for number, (item, meeting) in enumerate(found[start : start + PAGE_SIZE], start + 1):
        lines.append(
            listing_line(
                config, tr, number, item, meeting, me=member.id or 0, now=now, every_post=is_global(member)
            )
        )
        icon = "⏰ " if days_late(config, item, now) else ""
        buttons.append((f"{icon}{number}", encode(PREFIX, "open", item.id)))
    lines += ["", tr.gettext("Tap a number to open the item: Done, or a progress note.")]
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    nav = []
    if page > 0:
        nav.append(("◀️", encode(PREFIX, "pg", page - 1)))
    if page + 1 < pages:
        nav.append(("▶️", encode(PREFIX, "pg", page + 1)))
    if nav:
        rows.append(nav)
    await _answer_with(update, context, "\n".join(lines), inline(rows))


async def _answer_with(update: Update, context: LiaisonContext, text: str, markup: object) -> None:
    """Send a listing, or turn the page in place."""
    query = update.callback_query
    if query is not None:
        await answer(query)
        await edit_message(query, text, markup)  # type: ignore[arg-type]
        return
    assert update.effective_message is not None
    await update.effective_message.reply_text(text, reply_markup=markup)  # type: ignore[arg-type]


# ----- buttons ----------------------------------------------------------------------------------------------


async def item_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """Done, Progress note, opening an item from /actions, and /actions pages."""
    if data.action == "pg":
        await _show(update, context, page=data.int_arg(0) or 0)
    elif data.action == "open":
        await _open(update, context, data.int_arg(0))
    elif data.action == "done":
        await _done(update, context, data.int_arg(0), opened=data.args[1:2] == ("o",))
    elif data.action == "note":
        await _note(update, context, data.int_arg(0))


def _refusal(context: LiaisonContext, result: ItemResult) -> str | None:
    tr = context.tr
    if result.outcome == ItemOutcome.GONE:
        return tr.gettext(GONE)
    if result.outcome == ItemOutcome.NOT_ALLOWED:
        return tr.gettext(NOT_YOURS)
    return None


def _item_text(context: LiaisonContext, result: ItemResult, names: dict[int, str]) -> str:
    assert result.item is not None and result.meeting is not None
    member = context.active_member
    return render_item(
        context.runtime.config,
        context.tr,
        result.item,
        result.meeting,
        kind=CopyKind.ITEM,
        reader_post=service.reader_post(member, result.meeting),
        now=context.runtime.clock.now(),
        names=names,
    )


async def _open(update: Update, context: LiaisonContext, item_id: int | None) -> None:
    """Show one item (only to someone who may see it), with its buttons for those who may act."""
    query, member, runtime = update.callback_query, context.active_member, context.runtime
    assert query is not None and query.message is not None
    async with runtime.db.reading() as session:
        found = await service.load_item(session, item_id)
        if found is None or not service.may_see(member, *found):
            await answer(query, context.tr.gettext(GONE if found is None else NOT_YOURS), alert=True)
            return
        item, meeting = found
        names = await service.names_of(session, (item.done_by_member_id, item.last_note_by_member_id))
    result = ItemResult(ItemOutcome.NOTED, item, meeting)
    markup = item_markup(context.tr, item, opened=True) if service.may_update(member, item, meeting) else None
    await answer(query)
    await reply(query, _item_text(context, result, names), reply_markup=markup)


async def _done(update: Update, context: LiaisonContext, item_id: int | None, *, opened: bool) -> None:
    """Done: recorded once; the presser is told who closed it first when it was already done."""
    query, member, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None
    async with runtime.db.transaction() as session:
        result = await service.mark_item_done(session, runtime, member, item_id)
        names = (
            await service.names_of(
                session, (result.item.done_by_member_id, result.item.last_note_by_member_id)
            )
            if result.item is not None
            else {}
        )
    refusal = _refusal(context, result)
    if refusal is not None:
        await answer(query, refusal, alert=True)
        return
    assert result.item is not None and result.meeting is not None
    if result.outcome == ItemOutcome.ALREADY:
        zone = runtime.config.post_zone(member.post_code, result.item.post_code)
        done_at = result.item.done_at
        await answer(
            query,
            tr.gettext("Already done: {name}, {moment}.").format(
                name=result.by or "?", moment=tr.short_datetime(done_at, zone) if done_at else "—"
            ),
        )
    else:
        await answer(query, tr.gettext("✅ Done. The minutes' author and the chiefs see it."))
    if opened:
        # A copy opened from /actions is not a card: it is brought up to date here.
        await edit_message(query, _item_text(context, result, names))


async def _note(update: Update, context: LiaisonContext, item_id: int | None) -> None:
    """Progress note: ask for one message (a short-lived draft)."""
    query, member, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None and update.effective_chat is not None
    async with runtime.db.reading() as session:
        checked = await service.check_note(session, member, item_id)
    refusal = _refusal(context, checked)
    if refusal is not None:
        await answer(query, refusal, alert=True)
        return
    if checked.outcome == ItemOutcome.ALREADY:
        await answer(query, tr.gettext("This action item is done: no more notes."), alert=True)
        return
    assert checked.item is not None
    _draft, fresh = await conversations.begin(
        update, context, NOTE, token=f"q:{query.id}", step="text", data=NoteData(item_id=checked.item.id or 0)
    )
    await answer(query)
    if not fresh:
        return
    await update.effective_chat.send_message(
        tr.gettext(
            "📝 Progress on “{task}”. Send your note in one message (at most {limit} characters), or /cancel."
        ).format(
            task=html.escape(preview(checked.item.text, 100)),
            limit=tr.number(runtime.config.meetings.max_progress_note_chars),
        )
    )


# ----- the progress note ------------------------------------------------------------------------------------


class NoteData(DraftData):
    """Which item a progress note is for."""

    item_id: int


async def note_input(update: Update, context: LiaisonContext, draft: Draft) -> bool:
    """The progress note itself: recorded once, shown on the item's cards, sent to the minutes' author."""
    message, member, runtime, tr = (
        update.effective_message,
        context.active_member,
        context.runtime,
        context.tr,
    )
    assert message is not None and member.id is not None
    text = (message.text or "").strip()
    if not text:
        await message.reply_text(tr.gettext("Please send the note as text, or /cancel."))
        return True
    limit = runtime.config.meetings.max_progress_note_chars
    if len(text) > limit:
        await message.reply_text(
            tr.gettext("This note has {length} characters; the limit is {limit}. Send a shorter one.").format(
                length=tr.number(len(text)), limit=tr.number(limit)
            )
        )
        return True
    async with runtime.db.transaction() as session:
        result = await service.add_progress_note(
            session,
            runtime,
            member,
            item_id=NoteData.of(draft).item_id,
            text=text,
            token=f"{message.chat_id}:{message.message_id}",
        )
        await draft_store.drop_draft(session, member_id=member.id, draft_id=draft.id)
    if result.outcome == ItemOutcome.DUPLICATE:
        return True
    refusal = _refusal(context, result)
    if refusal is not None:
        await message.reply_text(refusal)
    elif result.outcome == ItemOutcome.ALREADY:
        await message.reply_text(tr.gettext("This action item is done: no more notes."))
    else:
        await message.reply_text(tr.gettext("📝 Note recorded. The minutes' author sees it."))
    return True


NOTE = Conversation(
    "action_note",
    note_input,
    ttl=timedelta(minutes=30),
    cancelled=NOTE_CANCELLED,
    typed_steps=frozenset({"text"}),
)
