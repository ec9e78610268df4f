"""/remind: a chief creates a reminder step by step (what, when, for whom), in a database draft.

The draft survives a restart: a chief interrupted between two answers picks up where they were.
"""

from __future__ import annotations

import html
import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import get_day_names
from telegram import InlineKeyboardMarkup, Message, Update

from bot import conversations
from bot.access import Action, can, is_global
from bot.callbacks import CallbackData, encode
from bot.conversations import DraftData
from bot.dates import TimeProblem, TimeRefused, example_moment, parse_moment, parse_time_of_day
from bot.features import Conversation
from bot.i18n import N_
from bot.keyboards import columns, inline
from bot.replies import answer, edit_message
from bot.runtime import LiaisonContext
from db.drafts import Draft
from db.members import Role
from handlers.reminders import service
from handlers.reminders.render import REPEAT_LABELS, REPEATS, WEEKDAYS, describe_audience, describe_repeat

PREFIX = "rm"
NOT_ALLOWED = N_("Only post chiefs and coordinators can create or change reminders.")
USE_BUTTONS = N_("Please choose with the buttons above, or send /cancel to stop.")
NEED_TEXT = N_("Please answer with a text message, or send /cancel to stop.")
CANCELLED = N_("Cancelled: no reminder was created.")
TIME_EXAMPLE = N_("I could not read this time. Send hours and minutes, for example 07:30 or 19:00.")
MONTHDAY_EXAMPLE = N_(
    "Send a day between 1 and 28, for example 25 (the 29th to 31st do not exist every month)."
)


def iso_example(*, zone: str, now: datetime) -> str:
    """A second example, year first as the parser also reads it: tomorrow at the post, 14:30 (never a date
    already past, as a fixed one would become)."""
    tomorrow = now.astimezone(ZoneInfo(zone)) + timedelta(days=1)
    return f"{tomorrow:%Y-%m-%d} 14:30"


MOMENT_PROBLEMS = {
    TimeProblem.UNREADABLE: N_(
        "I could not read this date. Send the day/month and the time, for example {example} "
        "(or {iso_example})."
    ),
    TimeProblem.NONEXISTENT: N_("This date does not exist. For example: {example}."),
    TimeProblem.PAST: N_(
        "This moment has already passed. Send a moment in the future, for example {example}."
    ),
    TimeProblem.TOO_FAR: N_(
        "This moment is more than a year away. Send a moment within the next twelve months, for example "
        "{example}."
    ),
}


class Step(StrEnum):
    """Where a /remind draft stands."""

    POST = "post"
    TEXT = "text"
    REPEAT = "repeat"
    WEEKDAY = "weekday"
    MONTHDAY = "monthday"
    TIME = "time"
    ONCE_AT = "once_at"
    AUDIENCE = "audience"
    CONFIRM = "confirm"
    SAVED = "saved"


TYPED_STEPS = frozenset({Step.TEXT, Step.MONTHDAY, Step.TIME, Step.ONCE_AT})


class RemindData(DraftData):
    """What a /remind draft holds so far."""

    key: str
    post: str | None = None
    text: str | None = None
    every: str | None = None
    day: str | int | None = None
    hour: int | None = None
    minute: int | None = None
    run_at: str | None = None
    audience: dict[str, Any] | None = None

    def repeat(self) -> dict[str, Any]:
        """The repeat rule as stored in the reminder's payload."""
        keys = ("every", "day", "hour", "minute", "run_at")
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}


# ----- questions --------------------------------------------------------------------------------------------


async def _ask(
    update: Update, context: LiaisonContext, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message:
    """Ask the next question in the chat (after acknowledging a button press)."""
    if update.callback_query is not None:
        await answer(update.callback_query)
    assert update.effective_chat is not None
    return await update.effective_chat.send_message(text, reply_markup=markup)


async def _ask_for(update: Update, context: LiaisonContext, draft: Draft) -> None:
    """Ask the question of the draft's step (its buttons go when the conversation ends)."""
    question = _question(context, draft)
    if question is None:
        return
    text, markup = question
    asked = await _ask(update, context, text, markup)
    if markup is not None:
        await conversations.remember_prompt(context, draft.id, asked)


def _question(context: LiaisonContext, draft: Draft) -> tuple[str, InlineKeyboardMarkup | None] | None:
    """The question of the draft's step and its buttons (None at a step that asks nothing)."""
    tr, runtime = context.tr, context.runtime
    data = RemindData.of(draft)
    draft_id = draft.id or 0
    post = data.post or ""
    step = draft.step
    if step == Step.POST:
        buttons = [(p.name, encode(PREFIX, "post", draft_id, p.code)) for p in runtime.config.posts]
        return tr.gettext("For which post is this reminder?"), columns(buttons, 2)
    if step == Step.TEXT:
        text = tr.gettext(
            "What should the reminder say? Send the text (at most {limit} characters), or /cancel."
        )
        return text.format(limit=service.MAX_TEXT_LENGTH), None
    if step == Step.REPEAT:
        buttons = [(tr.gettext(REPEAT_LABELS[r]), encode(PREFIX, "rep", draft_id, r)) for r in REPEATS]
        return tr.gettext("When? Once, or repeating?"), columns(buttons, 2)
    if step == Step.WEEKDAY:
        names = get_day_names("abbreviated", locale=tr.language)
        buttons = [(str(names[i]), encode(PREFIX, "day", draft_id, day)) for i, day in enumerate(WEEKDAYS)]
        return tr.gettext("On which day of the week?"), columns(buttons, 4)
    if step == Step.MONTHDAY:
        buttons = [(str(d), encode(PREFIX, "mday", draft_id, d)) for d in range(1, 29)]
        return tr.gettext("On which day of the month (1 to 28)?"), columns(buttons, 7)
    if step == Step.TIME:
        text = tr.gettext("At what time, in the time of {post}? Send hours and minutes, for example 07:30.")
        return text.format(post=html.escape(runtime.config.post_name(post))), None
    if step == Step.ONCE_AT:
        zone, now = runtime.config.post_zone(post), runtime.clock.now()
        text = tr.gettext(
            "Send the date and time, in the time of {post}. For example: {example} or {iso_example}."
        )
        return text.format(
            post=html.escape(runtime.config.post_name(post)),
            example=example_moment(zone=zone, now=now),
            iso_example=iso_example(zone=zone, now=now),
        ), None
    if step == Step.AUDIENCE:
        buttons = [(tr.gettext("Whole post"), encode(PREFIX, "aud", draft_id, "post"))]
        buttons += [
            (runtime.config.service_name(code, tr.language), encode(PREFIX, "aud", draft_id, "svc", code))
            for code in runtime.config.post_services(post)
        ]
        buttons.append((tr.gettext("Post chiefs"), encode(PREFIX, "aud", draft_id, "chief")))
        return tr.gettext("Who should receive it?"), columns(buttons, 2)
    if step == Step.CONFIRM:
        return _summary(context, data), _confirm_keyboard(context, draft_id)
    return None


def _summary(context: LiaisonContext, data: RemindData) -> str:
    tr, runtime = context.tr, context.runtime
    post = data.post or ""
    zone = runtime.config.post_zone(post)
    return "\n".join(
        [
            "<b>"
            + tr.gettext("New reminder for {post}").format(post=html.escape(runtime.config.post_name(post)))
            + "</b>",
            html.escape(data.text or ""),
            tr.gettext("When: {when}").format(
                when=describe_repeat(tr, data.repeat(), zone=zone, near=runtime.clock.now())
            ),
            tr.gettext("For: {audience}").format(
                audience=describe_audience(runtime.config, tr, data.audience or {})
            ),
        ]
    )


def _confirm_keyboard(context: LiaisonContext, draft_id: int) -> InlineKeyboardMarkup:
    tr = context.tr
    return inline(
        [
            [
                (tr.gettext("✅ Save"), encode(PREFIX, "ok", draft_id)),
                (tr.gettext("✖ Cancel"), encode(PREFIX, "no", draft_id)),
            ]
        ]
    )


async def _move(update: Update, context: LiaisonContext, draft: Draft, data: RemindData, step: Step) -> None:
    """Store the answer, move to `step` and ask its question (a repeated update changes nothing)."""
    fresh = await conversations.advance(context, REMIND, draft, step=step, data=data)
    if fresh is None:
        if update.callback_query is not None:
            await answer(update.callback_query, context.tr.gettext("Already chosen."))
        return
    await _ask_for(update, context, fresh)


def _after_repeat(data: RemindData) -> Step:
    """The question that follows the choice of repetition."""
    return {"once": Step.ONCE_AT, "weekly": Step.WEEKDAY, "monthly": Step.MONTHDAY}.get(
        data.every or "", Step.TIME
    )


# ----- entry ------------------------------------------------------------------------------------------------


async def remind_command(update: Update, context: LiaisonContext) -> None:
    """Start a new reminder: pick the post (coordinators), then the text."""
    member, message, tr = context.active_member, update.effective_message, context.tr
    assert message is not None
    if not can(member, Action.MANAGE_REMINDERS, member.post_code):
        await message.reply_text(tr.gettext(NOT_ALLOWED))
        return
    own_post = member.post_code if member.post_code and not is_global(member) else None
    data = RemindData(key=uuid.uuid4().hex[:12], post=own_post)
    draft, fresh = await conversations.begin(
        update,
        context,
        REMIND,
        token=f"{message.chat_id}:{message.message_id}",
        step=Step.TEXT if own_post else Step.POST,
        data=data,
    )
    if fresh:
        await _ask_for(update, context, draft)


# ----- buttons ----------------------------------------------------------------------------------------------

# Which step each button belongs to.
BUTTON_STEPS = {
    "post": Step.POST,
    "rep": Step.REPEAT,
    "day": Step.WEEKDAY,
    "mday": Step.MONTHDAY,
    "aud": Step.AUDIENCE,
    "ok": Step.CONFIRM,
    "no": Step.CONFIRM,
}


async def draft_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """A /remind step's button, re-checked against the draft (closed, stale and forged presses refused)."""
    query, tr, runtime, member = update.callback_query, context.tr, context.runtime, context.active_member
    assert query is not None
    draft = await conversations.current(context, REMIND)
    draft_id = data.int_arg(0)
    if draft is None or draft.id != draft_id:
        await answer(query, tr.gettext("This draft is closed."), alert=True)
        return
    if draft.step == Step.SAVED and data.action == "ok":
        await answer(query, tr.gettext("Already saved."))
        return
    if BUTTON_STEPS.get(data.action) != draft.step:
        await answer(query, tr.gettext(USE_BUTTONS), alert=True)
        return
    if not draft.focused:
        await conversations.focus(update, context, draft)
    answers = RemindData.of(draft)
    value = data.args[1] if len(data.args) > 1 else ""
    if data.action == "post":
        if runtime.config.find_post(value) is None or not can(member, Action.MANAGE_REMINDERS, value):
            await answer(query, tr.gettext(NOT_ALLOWED), alert=True)
            return
        answers.post = value
        await _move(update, context, draft, answers, Step.TEXT)
    elif data.action == "rep" and value in REPEATS:
        answers.every = value
        await _move(update, context, draft, answers, _after_repeat(answers))
    elif data.action == "day" and value in WEEKDAYS:
        answers.day = value
        await _move(update, context, draft, answers, Step.TIME)
    elif data.action == "mday":
        await _take_monthday(update, context, draft, value)
    elif data.action == "aud":
        audience = _audience(context, answers.post or "", data.args[1:])
        if audience is None:
            await answer(query, tr.gettext("This button is no longer valid."), alert=True)
            return
        answers.audience = audience
        await _move(update, context, draft, answers, Step.CONFIRM)
    elif data.action == "ok":
        await _save(update, context, draft)
    elif data.action == "no":
        await conversations.close(context, draft)
        await answer(query)
        await edit_message(query, f"{_summary(context, answers)}\n✖")
        assert update.effective_chat is not None
        await update.effective_chat.send_message(tr.gettext(CANCELLED))
        await conversations.end_prompts(update, context, draft)
    else:
        await answer(query, tr.gettext("This button is no longer valid."), alert=True)


def _audience(context: LiaisonContext, post: str, args: tuple[str, ...]) -> dict[str, Any] | None:
    if not args:
        return None
    if args[0] == "post":
        return service.audience_payload()
    if args[0] == "chief":
        return service.audience_payload(role=Role.CHIEF)
    if args[0] == "svc" and len(args) > 1 and args[1] in context.runtime.config.post_services(post):
        return service.audience_payload(service=args[1])
    return None


async def _save(update: Update, context: LiaisonContext, draft: Draft) -> None:
    """Save the reminder once, whatever the number of taps."""
    query, tr, runtime, member = update.callback_query, context.tr, context.runtime, context.active_member
    assert query is not None and update.effective_chat is not None
    data = RemindData.of(draft)
    if not data.post or not can(member, Action.MANAGE_REMINDERS, data.post):
        await answer(query, tr.gettext(NOT_ALLOWED), alert=True)
        return
    # The saved draft stays only to answer a second tap: its prompts are cleared below, once.
    asked = data.take_prompts()
    reminder = service.NewReminder(
        draft_id=data.key,
        post_code=data.post,
        text=data.text or "",
        audience=data.audience or {},
        repeat=data.repeat(),
    )
    async with runtime.db.transaction() as session:
        if not await conversations.advance_in(
            session, context, REMIND, draft, step=Step.SAVED, from_steps=(Step.CONFIRM,), data=data
        ):
            job = None
        else:
            job = await service.save_reminder(session, runtime, member, reminder)
    if job is None:
        await answer(query, tr.gettext("Already saved."))
        return
    await answer(query, tr.gettext("Saved"))
    await edit_message(query, f"{_summary(context, data)}\n✅")
    zone = runtime.config.post_zone(data.post)
    next_text = tr.short_datetime(job.next_run_at, zone) if job.next_run_at else "—"
    await update.effective_chat.send_message(
        tr.gettext("Reminder saved. Next: {moment}. See /reminders to pause or delete it.").format(
            moment=next_text
        )
    )
    await conversations.end_prompts(update, context, asked)


# ----- typed answers ----------------------------------------------------------------------------------------


async def draft_input(update: Update, context: LiaisonContext, draft: Draft) -> bool:
    """A typed answer at the text, day, time or date steps; elsewhere, a pointer to the buttons."""
    message, tr, runtime = update.effective_message, context.tr, context.runtime
    assert message is not None
    if draft.step == Step.SAVED:
        return False
    if draft.step not in TYPED_STEPS:
        await message.reply_text(tr.gettext(USE_BUTTONS))
        return True
    text = (message.text or "").strip()
    if message.text is None:
        await message.reply_text(tr.gettext(NEED_TEXT))
        return True
    answers = RemindData.of(draft)
    if draft.step == Step.TEXT:
        if not text:
            await message.reply_text(tr.gettext("The text is empty. Send the words of the reminder."))
            return True
        if len(text) > service.MAX_TEXT_LENGTH:
            await message.reply_text(
                tr.gettext(
                    "This text has {length} characters; the limit is {limit}. Send a shorter text."
                ).format(length=tr.number(len(text)), limit=tr.number(service.MAX_TEXT_LENGTH))
            )
            return True
        answers.text = text
        await _move(update, context, draft, answers, Step.REPEAT)
    elif draft.step == Step.MONTHDAY:
        await _take_monthday(update, context, draft, text)
    elif draft.step == Step.TIME:
        parsed = parse_time_of_day(text)
        if parsed is None:
            await message.reply_text(tr.gettext(TIME_EXAMPLE))
            return True
        answers.hour, answers.minute = parsed
        await _move(update, context, draft, answers, Step.AUDIENCE)
    elif draft.step == Step.ONCE_AT:
        zone, now = runtime.config.post_zone(answers.post), runtime.clock.now()
        try:
            moment = parse_moment(text, zone=zone, now=now)
        except TimeRefused as refused:
            example = example_moment(zone=zone, now=now)
            await message.reply_text(
                tr.gettext(MOMENT_PROBLEMS[refused.problem]).format(
                    example=example, iso_example=iso_example(zone=zone, now=now)
                )
            )
            return True
        answers.run_at = moment.isoformat()
        await _move(update, context, draft, answers, Step.AUDIENCE)
    return True


async def _take_monthday(update: Update, context: LiaisonContext, draft: Draft, raw: str) -> None:
    """The day of the month, from a button or typed: 1 to 28."""
    raw = raw.strip()
    # isdecimal, not isdigit: "²" is a digit that int() refuses.
    day = int(raw) if raw.isdecimal() and len(raw) <= 2 else None
    if day is None or not 1 <= day <= 28:
        if update.callback_query is not None:
            await answer(update.callback_query)
        assert update.effective_chat is not None
        await update.effective_chat.send_message(context.tr.gettext(MONTHDAY_EXAMPLE))
        return
    answers = RemindData.of(draft)
    answers.day = day
    await _move(update, context, draft, answers, Step.TIME)


REMIND = Conversation("remind", draft_input, cancelled=CANCELLED, typed_steps=TYPED_STEPS)
