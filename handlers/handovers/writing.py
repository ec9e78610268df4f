"""Writing a handover: /handover (typed, or opened from the shift-change reminder's button), the draft's
buttons and the typed items, remarks and photo.

The draft lives in the database: it survives a restart, stays when another conversation takes the focus,
and /handover brings it back. One tap sends "nothing to report"; a double tap, a redelivered update or two
agents of the service sending together never make two handovers.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from telegram import Message, Update

from bot import conversations
from bot.access import may_write_handover
from bot.callbacks import CallbackData
from bot.conversations import DraftData
from bot.features import Conversation
from bot.replies import answer, edit_message, reply
from bot.runtime import LiaisonContext
from db import handovers as store
from db.drafts import Draft
from db.handovers import Handover
from handlers.handovers import render, service
from handlers.handovers.render import DraftView, HandoverView
from handlers.handovers.service import SendOutcome, SendResult

# A second press of the reminder's button within this window is a double tap: the draft is on screen.
REPEAT_WINDOW = timedelta(seconds=30)
DRAFT_TTL = timedelta(hours=12)
# A bullet or a number an agent types before an item ("- ", "• ", "2) ").
BULLET = re.compile(r"^\s*(?:[-•*·–—]+|\d{1,2}[.)])\s+")


class Step(StrEnum):
    """Where a handover draft stands."""

    COMPOSE = "compose"
    REMARKS = "remarks"
    # Kept after sending (with the handover's id) so that a second tap on Send says it was already sent.
    SENT = "sent"


class HandoverDraftData(DraftData):
    """What a handover draft holds so far."""

    post_code: str = ""
    service_code: str = ""
    shift_change_at: str = ""
    # [{"text", "done", "carried", "since"}]: carried ones first (pre-filled), then those written.
    items: list[dict[str, Any]] = []
    ticked: list[str] = []
    remarks: str | None = None
    photo_file_id: str | None = None
    # The newest message taken as input: a redelivered update never adds its items twice.
    last_message_id: int = 0
    handover_id: int | None = None

    @property
    def change_at(self) -> datetime:
        """The shift change the draft is written for."""
        return datetime.fromisoformat(self.shift_change_at)

    @property
    def new_items(self) -> int:
        """Items written in this draft."""
        return sum(1 for item in self.items if not item.get("carried"))

    @property
    def nothing_to_report(self) -> bool:
        """Nothing new, nothing settled, no remarks."""
        return not self.new_items and not any(i.get("done") for i in self.items) and not self.remarks


def _view(data: HandoverDraftData, alerts: list[dict[str, Any]]) -> DraftView:
    return DraftView(
        post_code=data.post_code,
        service_code=data.service_code,
        shift_change_at=data.change_at,
        items=data.items,
        ticked=data.ticked,
        remarks=data.remarks,
        photo=bool(data.photo_file_id),
        alerts=alerts,
    )


async def _alerts(context: LiaisonContext) -> list[dict[str, Any]]:
    async with context.runtime.db.reading() as session:
        return await service.open_alerts(session, context.active_member)


def parse_items(text: str) -> list[str]:
    """One item per non-empty line, without the bullet or number typed before it."""
    return [BULLET.sub("", line).strip() for line in text.splitlines() if BULLET.sub("", line).strip()]


# ----- /handover --------------------------------------------------------------------------------------------


async def handover_command(update: Update, context: LiaisonContext) -> None:
    """/handover (or the reminder's button): resume the draft, start one, or show the one already sent."""
    member, tr, runtime = context.active_member, context.tr, context.runtime
    message, query = update.effective_message, update.callback_query
    assert message is not None
    if not may_write_handover(member):
        await message.reply_text(tr.gettext(render.NOT_ALLOWED))
        return
    # Opened from a button, the message is the reminder: its text is not read, only where it is.
    token = f"{'go' if query else 'm'}:{message.chat_id}:{message.message_id}"
    now = runtime.clock.now()
    change_at = service.change_for(runtime, member)
    draft = await conversations.current(context, WRITE)
    if draft is not None:
        data = HandoverDraftData.of(draft)
        if draft.step == Step.SENT or (data.post_code, data.service_code) != (
            member.post_code,
            member.service_code,
        ):
            await conversations.close(context, draft)
            await conversations.clear_prompts(context, draft)
            draft = None
        elif draft.token == token and (not query or now - draft.updated_at < REPEAT_WINDOW):
            return  # the same update again, or a double tap on the reminder: the draft is on screen
    async with runtime.db.reading() as session:
        existing = await store.get_for_shift(
            session,
            post_code=member.post_code or "",
            service_code=member.service_code or "",
            shift_change_at=change_at,
        )
        sent = (
            render.already_sent_text(
                runtime.config,
                tr,
                existing,
                (await service.load_view(session, existing)).names.get(existing.author_member_id, "?"),
                reader_id=member.id,
            )
            if existing is not None
            else None
        )
        carried = await service.carried_items(
            session,
            post_code=member.post_code or "",
            service_code=member.service_code or "",
            change_at=change_at,
        )
    if draft is not None:
        # A colleague's handover may have gone meanwhile: the draft comes back, with a word about it.
        await _resume(update, context, draft, change_at, note=sent)
        return
    if existing is not None and sent is not None:
        await message.reply_text(sent, reply_markup=render.open_markup(tr, existing.id or 0))
        return
    data = HandoverDraftData(
        post_code=member.post_code or "",
        service_code=member.service_code or "",
        shift_change_at=change_at.isoformat(),
        items=carried,
        last_message_id=0 if query else message.message_id,
    )
    draft, fresh = await conversations.begin(
        update, context, WRITE, token=token, step=Step.COMPOSE, data=data
    )
    if not fresh:
        return
    await _show_draft(message, context, draft.id or 0, data)


async def _resume(
    update: Update, context: LiaisonContext, draft: Draft, change_at: datetime, *, note: str | None = None
) -> None:
    """Bring a kept draft back (for the coming shift change) and give it the focus."""
    message = update.effective_message
    assert message is not None
    data = HandoverDraftData.of(draft)
    if data.shift_change_at != change_at.isoformat():
        # Kept past its shift change: it is now for the coming one, with that one's carried-over items (the
        # settled marks the agent made are kept).
        async with context.runtime.db.reading() as session:
            carried = await service.carried_items(
                session, post_code=data.post_code, service_code=data.service_code, change_at=change_at
            )
        marks = {item["text"]: item.get("done", False) for item in data.items if item.get("carried")}
        for item in carried:
            item["done"] = marks.get(item["text"], False)
        data.items = [*carried, *(item for item in data.items if not item.get("carried"))]
        data.shift_change_at = change_at.isoformat()
    fresh = await conversations.advance(
        context, WRITE, draft, step=Step.COMPOSE, from_steps=(Step.COMPOSE, Step.REMARKS), data=data
    )
    if fresh is None:
        return
    if not draft.focused:
        await conversations.focus(update, context, fresh)
    await _show_draft(message, context, fresh.id or 0, data, resumed=True, note=note)


async def _show_draft(
    message: Message,
    context: LiaisonContext,
    draft_id: int,
    data: HandoverDraftData,
    *,
    resumed: bool = False,
    note: str | None = None,
) -> None:
    config, tr = context.runtime.config, context.tr
    view = _view(data, await _alerts(context))
    text = render.draft_text(config, tr, view, resumed=resumed)
    shown = await message.reply_text(
        f"⚠️ {note}\n\n{text}" if note else text, reply_markup=render.draft_markup(config, tr, draft_id, view)
    )
    await conversations.remember_prompt(context, draft_id, shown)


# ----- the draft's buttons ----------------------------------------------------------------------------------


BUTTONS = frozenset({"ras", "ed", "it", "del", "ck", "ct", "bk", "rmk", "rv", "ok", "no"})


async def draft_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """Every button of a handover draft: checked against the member's live draft first."""
    query, tr = update.callback_query, context.tr
    assert query is not None
    draft_id = data.int_arg(0)
    draft = await conversations.current(context, WRITE)
    if draft is None or draft_id is None or draft.id != draft_id:
        await answer(query, tr.gettext("This draft is closed."), alert=True)
        return
    if draft.step == Step.SENT:
        if data.action in ("ok", "ras"):
            await answer(query, tr.gettext("Already sent: a handover is sent only once."))
        else:
            await answer(
                query, tr.gettext("This handover was sent: it can no longer be changed."), alert=True
            )
        return
    answers = HandoverDraftData.of(draft)
    if data.action == "no":
        await _cancel(update, context, draft)
    elif data.action in ("ok", "ras"):
        if data.action == "ras" and answers.new_items:
            await answer(query, tr.gettext("You wrote items: review and send them."), alert=True)
            return
        await _send(update, context, draft, answers)
    elif data.action == "rv":
        await _review(update, context, draft, answers)
    elif data.action in ("ed", "it", "del"):
        await _items(update, context, draft, answers, data)
    elif data.action in ("ck", "ct"):
        await _checklist(update, context, draft, answers, data)
    elif data.action == "rmk":
        if await _move(context, draft, Step.REMARKS, answers) is None:
            await answer(query, tr.gettext("Already done."))
            return
        if not draft.focused:
            await conversations.focus(update, context, draft)
        await answer(query)
        limit = context.runtime.config.handovers.max_remarks_length
        await edit_message(query, render.remarks_prompt(tr, limit), render.back_markup(tr, draft.id or 0))
    else:  # "bk": back to the main view
        if await _move(context, draft, Step.COMPOSE, answers) is None:
            await answer(query, tr.gettext("Already done."))
            return
        if not draft.focused:
            await conversations.focus(update, context, draft)
        await answer(query)
        view = _view(answers, await _alerts(context))
        config = context.runtime.config
        await edit_message(
            query, render.draft_text(config, tr, view), render.draft_markup(config, tr, draft.id or 0, view)
        )


async def _move(
    context: LiaisonContext, draft: Draft, step: Step, answers: HandoverDraftData
) -> Draft | None:
    """Save the draft's answers at `step`, if it is still where this press found it."""
    return await conversations.advance(
        context, WRITE, draft, step=step, from_steps=(draft.step,), data=answers
    )


async def _cancel(update: Update, context: LiaisonContext, draft: Draft) -> None:
    query, tr = update.callback_query, context.tr
    assert query is not None
    dropped = await conversations.close(context, draft)
    await answer(query, tr.gettext("Cancelled.") if dropped else tr.gettext("This draft is closed."))
    if dropped:
        await edit_message(query, tr.gettext(render.CANCELLED))
        await conversations.end_prompts(update, context, draft, settled=tr.gettext(render.CANCELLED))


class _NotSent(Exception):
    """Rolls the draft's move back when nothing was sent (already sent, or no longer allowed)."""

    def __init__(self, result: SendResult | None) -> None:
        super().__init__()
        self.result = result


async def _send(update: Update, context: LiaisonContext, draft: Draft, answers: HandoverDraftData) -> None:
    """Send once: the draft leaves its step and the handover is written in one transaction."""
    query, member, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None and query.message is not None
    # The sent draft stays only to answer a second tap: its prompts are cleared below, once.
    asked = answers.take_prompts()
    try:
        async with runtime.db.transaction() as session:
            if not await conversations.advance_in(
                session, context, WRITE, draft, step=Step.SENT, from_steps=(Step.COMPOSE, Step.REMARKS)
            ):
                raise _NotSent(None)
            result = await service.send_handover(
                session,
                runtime,
                member,
                post_code=answers.post_code,
                service_code=answers.service_code,
                change_at=answers.change_at,
                items=answers.items,
                ticked=answers.ticked,
                remarks=answers.remarks,
                photo=answers.photo_file_id,
                nothing_to_report=answers.nothing_to_report,
            )
            if result.outcome != SendOutcome.SENT or result.handover is None:
                if result.handover is not None:
                    # Kept readable after the rollback that puts the draft back where it was.
                    session.expunge(result.handover)
                raise _NotSent(result)
            answers.handover_id = result.handover.id
            await conversations.advance_in(
                session, context, WRITE, draft, step=Step.SENT, from_steps=(Step.SENT,), data=answers
            )
    except _NotSent as refused:
        await _not_sent(update, context, refused.result)
        return
    await answer(query, tr.gettext("Sent."))
    await edit_message(
        query,
        render.sent_text(tr, result.recipients)
        if result.incoming
        else render.sent_alone_text(context.runtime.config, tr, answers.service_code),
    )
    settled = render.settled_prompt_text(tr, result.recipients if result.incoming else None)
    await conversations.end_prompts(update, context, asked, settled=settled)


async def _not_sent(update: Update, context: LiaisonContext, result: SendResult | None) -> None:
    query, tr, config = update.callback_query, context.tr, context.runtime.config
    assert query is not None and query.message is not None
    if result is None:
        await answer(query, tr.gettext("Already sent: a handover is sent only once."))
    elif result.outcome == SendOutcome.ALREADY and result.handover is not None:
        await answer(query, tr.gettext("Your service's handover was already sent."), alert=True)
        await reply(
            query,
            render.already_sent_text(
                config, tr, result.handover, result.author, reader_id=context.active_member.id
            )
            + "\n"
            + tr.gettext("Yours was not sent; your draft is kept (/handover, or ❌ Cancel)."),
            reply_markup=render.open_markup(tr, result.handover.id or 0),
        )
    else:
        await answer(query, tr.gettext(render.NOT_ALLOWED), alert=True)


async def _review(update: Update, context: LiaisonContext, draft: Draft, answers: HandoverDraftData) -> None:
    """The summary as the readers will see it, with Send / Edit / Cancel."""
    query, member, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None and member.id is not None
    preview = Handover(
        post_code=answers.post_code,
        service_code=answers.service_code,
        shift_change_at=answers.change_at,
        written_at=runtime.clock.now(),
        author_member_id=member.id,
        nothing_to_report=answers.nothing_to_report,
        items=sorted(answers.items, key=lambda item: bool(item.get("done"))),
        checklist=[
            {"code": e.code, "fr": e.label.fr, "en": e.label.en, "done": e.code in answers.ticked}
            for e in runtime.config.handovers.checklist(answers.service_code)
        ],
        alerts=await _alerts(context),
        remarks=answers.remarks,
        photo_file_id=answers.photo_file_id,
        accept_by=answers.change_at,
    )
    text, _ = render.render_copy(
        runtime.config, tr, HandoverView(preview, {member.id: member.display_name}), preview=True
    )
    await answer(query)
    await edit_message(query, text, render.review_markup(tr, draft.id or 0))


async def _items(
    update: Update, context: LiaisonContext, draft: Draft, answers: HandoverDraftData, data: CallbackData
) -> None:
    """The item editor: a page of items; mark settled or to follow up, remove a written one."""
    query, tr, config = update.callback_query, context.tr, context.runtime.config
    assert query is not None
    number = data.int_arg(1)
    if data.action == "ed":
        page = max(0, number or 0)
    else:
        index = (number or 0) - 1
        tag = data.args[2] if len(data.args) > 2 else ""
        # The item's fingerprint: a double tap on 🗑 never removes the next item too.
        if (
            not 0 <= index < len(answers.items)
            or render.item_tag(str(answers.items[index].get("text"))) != tag
        ):
            await answer(query, tr.gettext("Already done."))
            return
        if data.action == "del":
            if answers.items[index].get("carried"):
                await answer(
                    query, tr.gettext("A carried-over item is marked settled, not removed."), alert=True
                )
                return
            del answers.items[index]
        else:
            answers.items[index]["done"] = data.args[3:4] == ("1",)
        if await _move(context, draft, Step(draft.step), answers) is None:
            await answer(query, tr.gettext("Already done."))
            return
        page = max(0, min(index, len(answers.items) - 1)) // render.ITEMS_PAGE
    await answer(query)
    view = _view(answers, [])
    if not answers.items:
        view = _view(answers, await _alerts(context))
        await edit_message(
            query, render.draft_text(config, tr, view), render.draft_markup(config, tr, draft.id or 0, view)
        )
        return
    pages = max(1, -(-len(answers.items) // render.ITEMS_PAGE))
    page = min(page, pages - 1)
    await edit_message(
        query, render.items_text(config, tr, view, page), render.items_markup(tr, draft.id or 0, view, page)
    )


async def _checklist(
    update: Update, context: LiaisonContext, draft: Draft, answers: HandoverDraftData, data: CallbackData
) -> None:
    """The checklist: one toggle per entry of the service's checklist."""
    query, tr, config = update.callback_query, context.tr, context.runtime.config
    assert query is not None
    codes = {e.code for e in config.handovers.checklist(answers.service_code)}
    if data.action == "ct":
        code = data.args[1] if len(data.args) > 1 else ""
        if code not in codes:
            await answer(query, tr.gettext("This button is no longer valid."), alert=True)
            return
        tick = data.args[2:3] == ("1",)
        answers.ticked = sorted((set(answers.ticked) | {code}) if tick else (set(answers.ticked) - {code}))
        if await _move(context, draft, Step(draft.step), answers) is None:
            await answer(query, tr.gettext("Already done."))
            return
    elif not codes:
        await answer(query, tr.gettext("Your service has no checklist."), alert=True)
        return
    await answer(query)
    view = _view(answers, [])
    await edit_message(
        query,
        render.checklist_text(config, tr, view),
        render.checklist_markup(config, tr, draft.id or 0, view),
    )


# ----- typed input ------------------------------------------------------------------------------------------


async def draft_input(update: Update, context: LiaisonContext, draft: Draft) -> bool:
    """Items (one per line, in one or several messages), a photo, or the remarks."""
    if draft.step not in (Step.COMPOSE, Step.REMARKS):
        return False
    message, tr, config = update.effective_message, context.tr, context.runtime.config
    assert message is not None
    answers = HandoverDraftData.of(draft)
    if message.message_id <= answers.last_message_id:
        return True  # a redelivered update: already taken
    limits = config.handovers
    if draft.step == Step.REMARKS:
        text = (message.text or message.caption or "").strip()
        if not text:
            asked = await message.reply_text(
                render.remarks_prompt(tr, limits.max_remarks_length),
                reply_markup=render.back_markup(tr, draft.id or 0),
            )
            await conversations.remember_prompt(context, draft.id, asked)
            return True
        if len(text) > limits.max_remarks_length:
            await message.reply_text(render.text_too_long(tr, len(text), limits.max_remarks_length))
            return True
        answers.remarks, answers.last_message_id = text, message.message_id
        if await _move(context, draft, Step.COMPOSE, answers) is None:
            return True
        view = _view(answers, [])
        saved = await message.reply_text(
            tr.gettext("💬 Remarks saved ({n} characters).").format(n=tr.number(len(text)))
            + "\n"
            + render.draft_counts(config, tr, view),
            reply_markup=render.draft_markup(config, tr, draft.id or 0, view),
        )
        await conversations.remember_prompt(context, draft.id, saved)
        return True
    text = message.text if message.text is not None else (message.caption or "")
    if not message.photo and message.text is None:
        await message.reply_text(tr.gettext("Write the items as text, one per line, or send a photo."))
        return True
    lines = parse_items(text)
    if not lines and not message.photo:
        await message.reply_text(tr.gettext("Write the items as text, one per line, or send a photo."))
        return True
    for number, line in enumerate(lines, 1):
        if len(line) > limits.max_item_length:
            await message.reply_text(render.item_too_long(tr, number, len(line), limits.max_item_length))
            return True
    if len(answers.items) + len(lines) > limits.max_items:
        await message.reply_text(render.too_many_items(tr, len(answers.items) + len(lines), limits.max_items))
        return True
    answers.items = [*answers.items, *({"text": line, "done": False, "carried": False} for line in lines)]
    if message.photo:
        answers.photo_file_id = message.photo[-1].file_id
    answers.last_message_id = message.message_id
    if await _move(context, draft, Step.COMPOSE, answers) is None:
        return True
    view = _view(answers, [])
    reply = (
        render.added_text(config, tr, view, len(lines))
        if lines
        else tr.gettext("📷 Photo attached.") + "\n" + render.draft_counts(config, tr, view)
    )
    added = await message.reply_text(reply, reply_markup=render.draft_markup(config, tr, draft.id or 0, view))
    await conversations.remember_prompt(context, draft.id, added)
    return True


async def on_left(update: Update, context: LiaisonContext, draft: Draft) -> None:
    """Another conversation took the focus: the draft is kept, and /handover brings it back."""
    if draft.step not in (Step.COMPOSE, Step.REMARKS) or update.effective_message is None:
        return
    if draft.step == Step.REMARKS:
        await conversations.advance(context, WRITE, draft, step=Step.COMPOSE, from_steps=(Step.REMARKS,))
    await update.effective_message.reply_text(
        context.tr.gettext("📝 Your handover draft is kept: /handover to continue it.")
    )


WRITE = Conversation(
    "handover",
    draft_input,
    ttl=DRAFT_TTL,
    cancelled=render.CANCELLED,
    typed_steps=frozenset({Step.COMPOSE, Step.REMARKS}),
    on_left=on_left,
)
