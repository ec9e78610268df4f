"""Receiving a handover: Accept, Accept with remarks, Contest (pick the item, say why).

Every press is re-checked against the database (who is pressing, on which handover, in which state); the
first member of the incoming shift to take it over wins, and the others are told who took it.
"""

from __future__ import annotations

import html
from datetime import timedelta
from enum import StrEnum

from telegram import Update

from bot import conversations
from bot.callbacks import CallbackData
from bot.conversations import DraftData
from bot.features import Conversation
from bot.replies import answer, edit_message, reply
from bot.runtime import LiaisonContext
from db.drafts import Draft
from db.handovers import HandoverState
from handlers.handovers import render, service
from handlers.handovers.service import TakeOutcome, TakeResult

BUTTONS = frozenset({"acc", "rem", "con", "cpk", "cpg", "cno", "rno"})


class ReplyStep(StrEnum):
    """Where an answer to a handover stands."""

    REMARKS = "remarks"
    REASON = "reason"
    # Kept once answered, so that the same message delivered again is recognised and ignored.
    DONE = "done"


class ReplyData(DraftData):
    """Which handover the typed answer is for, and which item a contest is about (0: the whole)."""

    handover_id: int = 0
    item: int = 0
    last_message_id: int = 0


def take_answer(context: LiaisonContext, result: TakeResult) -> str:
    """What the presser reads (a button answer: plain text, at most 200 characters)."""
    tr, config = context.tr, context.runtime.config
    handover = result.handover
    if result.outcome in (TakeOutcome.GONE, TakeOutcome.NOT_YOURS) or handover is None:
        return tr.gettext(render.NOT_YOURS)
    if result.outcome == TakeOutcome.OWN:
        return tr.gettext("You wrote this handover: someone of the incoming shift takes it over.")
    if result.outcome == TakeOutcome.NOT_INCOMING:
        return tr.gettext("Only the incoming shift of {service} takes this handover over.").format(
            service=config.service_name(handover.service_code, tr.language)
        )
    if result.outcome == TakeOutcome.MINE:
        return tr.gettext("You already took this handover over.")
    if result.outcome == TakeOutcome.TAKEN:
        return render.taken_by_text(config, tr, handover, result.taker)
    if result.outcome == TakeOutcome.RECORDED:
        return tr.gettext(
            "Nobody else of {service} was at the post when this handover was sent: it stays on record, "
            "nobody takes it over."
        ).format(service=config.service_name(handover.service_code, tr.language))
    if handover.state == HandoverState.CONTESTED:
        return tr.gettext(
            "⚠️ Contest recorded: the author and the chiefs are told. You are the incoming agent."
        )
    return tr.gettext("✅ Taken over: you are the incoming agent of record.")


async def _check(context: LiaisonContext, handover_id: int | None) -> TakeResult:
    runtime = context.runtime
    async with runtime.db.reading() as session:
        return await service.check_take(session, runtime, context.active_member, handover_id or 0)


async def card_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """The buttons of a handover's copy, of the contest picker, and of the typed answer's question."""
    query, tr, runtime = update.callback_query, context.tr, context.runtime
    assert query is not None and query.message is not None
    if data.action == "rno":
        await _cancel_reply(update, context, data.int_arg(0))
        return
    handover_id = data.int_arg(0)
    if data.action == "acc":
        async with runtime.db.transaction() as session:
            result = await service.take_over(
                session,
                runtime,
                context.active_member,
                handover_id=handover_id or 0,
                state=HandoverState.ACCEPTED,
            )
        await answer(query, take_answer(context, result), alert=result.outcome != TakeOutcome.WON)
        # A question about this handover left unanswered (remarks, a contest) would eat the next message.
        waiting = await conversations.current(context, REPLY)
        if (
            waiting is not None
            and waiting.step != ReplyStep.DONE
            and ReplyData.of(waiting).handover_id == handover_id
            and await conversations.close(context, waiting)
        ):
            await conversations.clear_prompts(context, waiting)
        return
    check = await _check(context, handover_id)
    if data.action == "cno":
        await answer(query)
        await edit_message(query, tr.gettext(render.REPLY_CANCELLED))
        return
    if check.outcome != TakeOutcome.WON or check.handover is None:
        await answer(query, take_answer(context, check), alert=True)
        return
    handover = check.handover
    if data.action == "rem":
        await _ask(update, context, handover_id or 0, ReplyStep.REMARKS, 0, token=f"rem:{handover_id}")
        return
    if data.action == "con" and not handover.items:
        await _ask(update, context, handover_id or 0, ReplyStep.REASON, 0, token=f"con:{handover_id}:0")
        return
    if data.action in ("con", "cpg"):
        page = max(0, data.int_arg(1) or 0) if data.action == "cpg" else 0
        page = min(page, max(0, (len(handover.items) - 1) // render.ITEMS_PAGE))
        async with runtime.db.reading() as session:
            view = await service.load_view(session, handover)
        text = render.contest_picker_text(runtime.config, tr, view, page)
        markup = render.contest_picker_markup(tr, handover, page)
        await answer(query)
        if data.action == "con":
            await reply(query, text, reply_markup=markup)
        else:
            await edit_message(query, text, markup)
        return
    # "cpk": the item is picked; ask why.
    item = data.int_arg(1)
    if item is None or not 0 <= item <= len(handover.items):
        await answer(query, tr.gettext("This button is no longer valid."), alert=True)
        return
    await _ask(
        update,
        context,
        handover_id or 0,
        ReplyStep.REASON,
        item,
        token=f"con:{handover_id}:{item}",
        edit=True,
    )


async def _ask(
    update: Update,
    context: LiaisonContext,
    handover_id: int,
    step: ReplyStep,
    item: int,
    *,
    token: str,
    edit: bool = False,
) -> None:
    """Open the typed answer (remarks, or why an item is contested) and ask for it."""
    query, tr = update.callback_query, context.tr
    assert query is not None and query.message is not None
    draft, fresh = await conversations.begin(
        update, context, REPLY, token=token, step=step, data=ReplyData(handover_id=handover_id, item=item)
    )
    await answer(query)
    if not fresh:
        return  # a double tap: the question is already on screen
    text = render.reply_prompt(
        tr,
        contest=step == ReplyStep.REASON,
        item=item,
        limit=context.runtime.config.handovers.max_remarks_length,
    )
    markup = render.reply_cancel_markup(tr, draft.id or 0)
    if edit:
        await edit_message(query, text, markup)
        await conversations.remember_prompt(context, draft.id, query.message)
    else:
        await conversations.remember_prompt(context, draft.id, await reply(query, text, reply_markup=markup))


async def _cancel_reply(update: Update, context: LiaisonContext, draft_id: int | None) -> None:
    query, tr = update.callback_query, context.tr
    assert query is not None
    draft = await conversations.current(context, REPLY)
    if draft is None or draft.id != draft_id or draft.step == ReplyStep.DONE:
        await answer(query, tr.gettext("This question is closed."))
        return
    await conversations.close(context, draft)
    await answer(query)
    await edit_message(query, tr.gettext(render.REPLY_CANCELLED))
    await conversations.end_prompts(update, context, draft)


def _result_text(context: LiaisonContext, result: TakeResult, *, contest: bool) -> str:
    tr = context.tr
    if result.outcome == TakeOutcome.WON:
        if contest:
            return tr.gettext(
                "⚠️ Contest recorded: the author and the chiefs are told. The handover is yours, contested."
            )
        return tr.gettext("✅ Taken over, with your remarks: every copy now shows it.")
    refused = take_answer(context, result)
    if result.outcome == TakeOutcome.TAKEN:
        refused += " " + (
            tr.gettext("Your contest was not recorded.")
            if contest
            else tr.gettext("Your remarks were not recorded.")
        )
    return refused


async def reply_input(update: Update, context: LiaisonContext, draft: Draft) -> bool:
    """The remarks (or the reason of a contest): the handover is taken over when they arrive."""
    message, tr, runtime = update.effective_message, context.tr, context.runtime
    assert message is not None
    data = ReplyData.of(draft)
    if draft.step == ReplyStep.DONE:
        # The answer's own message delivered again is swallowed; anything newer is not for this draft.
        return message.message_id <= data.last_message_id
    text = (message.text or message.caption or "").strip()
    contest = draft.step == ReplyStep.REASON
    limit = runtime.config.handovers.max_remarks_length
    if not text:
        again = await message.reply_text(
            render.reply_prompt(tr, contest=contest, item=data.item, limit=limit),
            reply_markup=render.reply_cancel_markup(tr, draft.id or 0),
        )
        await conversations.remember_prompt(context, draft.id, again)
        return True
    if len(text) > limit:
        await message.reply_text(render.text_too_long(tr, len(text), limit))
        return True
    # Kept at DONE only to recognise the message delivered again: its question's Cancel goes below, once.
    asked = data.take_prompts()
    data.last_message_id = message.message_id
    async with runtime.db.transaction() as session:
        if not await conversations.advance_in(session, context, REPLY, draft, step=ReplyStep.DONE, data=data):
            return True
        result = await service.take_over(
            session,
            runtime,
            context.active_member,
            handover_id=data.handover_id,
            state=HandoverState.CONTESTED if contest else HandoverState.ACCEPTED,
            remarks=None if contest else text,
            item=data.item if contest else None,
            reason=text if contest else None,
        )
    await message.reply_text(html.escape(_result_text(context, result, contest=contest), quote=False))
    await conversations.end_prompts(update, context, asked)
    return True


REPLY = Conversation(
    "handover_reply",
    reply_input,
    ttl=timedelta(hours=2),
    cancelled=render.REPLY_CANCELLED,
    typed_steps=frozenset({ReplyStep.REMARKS, ReplyStep.REASON}),
)
