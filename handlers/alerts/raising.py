"""Raising an alert: the guided conversation (a database draft), the one-line form, and the draft's buttons.

A restart, a double tap or a repeated update never loses a draft or turns it into two alerts.
"""

from __future__ import annotations

import html
from enum import StrEnum

from telegram import (
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

from bot import conversations
from bot.access import may_raise_alert
from bot.callbacks import CallbackData, encode
from bot.config import Config
from bot.conversations import DraftData
from bot.features import Conversation
from bot.i18n import N_, Translator
from bot.keyboards import inline, main_keyboard
from bot.replies import answer, edit_message, reply
from bot.runtime import LiaisonContext
from db.alerts import Alert, Severity
from db.drafts import Draft
from db.members import Member
from handlers.alerts import service
from handlers.alerts.render import PREFIX, category_label, map_link, severity_label
from handlers.alerts.rules import fold, parse_one_line

SKIP = N_("⏭ Skip")
SKIP_TEXTS = frozenset({"⏭ Skip", "⏭ Passer", "skip", "passer"})
NOT_ALLOWED = N_("Only agents of a post can raise an alert.")
CANCELLED = N_("Alert cancelled. Nothing was sent.")


class Step(StrEnum):
    """Where an alert draft stands."""

    CATEGORY = "category"
    SEVERITY = "severity"
    LOCATION = "location"
    PHOTO = "photo"
    TEXT = "text"
    CONFIRM = "confirm"
    # Kept after sending (with its alert id) so that a second tap on Send can say it was already sent.
    SENT = "sent"


TYPED_STEPS = (Step.LOCATION, Step.PHOTO, Step.TEXT)


class AlertDraftData(DraftData):
    """What an alert draft holds so far."""

    category: str | None = None
    severity: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    photo_file_id: str | None = None
    text: str | None = None
    alert_id: int | None = None


def _refused(member: Member | None) -> bool:
    return member is None or not may_raise_alert(member, member.post_code)


# ----- keyboards and texts ----------------------------------------------------------------------------------


def category_keyboard(config: Config, tr: Translator, draft_id: int) -> InlineKeyboardMarkup:
    """One button per configured category, then Cancel."""
    buttons = [
        (category_label(config, tr, c.code), encode(PREFIX, "cat", draft_id, c.code))
        for c in config.alerts.categories
    ]
    # Two to a row: thumb-sized on small phones, and the six categories fit on one screen.
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return inline([*rows, [(tr.gettext("❌ Cancel"), encode(PREFIX, "no", draft_id))]])


def severity_keyboard(tr: Translator, draft_id: int) -> InlineKeyboardMarkup:
    """Info, important, urgent, then Cancel."""
    return inline(
        [
            [
                (severity_label(tr, s), encode(PREFIX, "sev", draft_id, s))
                for s in (Severity.INFO, Severity.IMPORTANT)
            ],
            [(severity_label(tr, Severity.URGENT), encode(PREFIX, "sev", draft_id, Severity.URGENT))],
            [(tr.gettext("❌ Cancel"), encode(PREFIX, "no", draft_id))],
        ]
    )


def location_keyboard(tr: Translator) -> ReplyKeyboardMarkup:
    """Telegram's share-location button and Skip."""
    return ReplyKeyboardMarkup(
        [
            [KeyboardButton(tr.gettext("📍 Share my location"), request_location=True)],
            [KeyboardButton(tr.gettext(SKIP))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def skip_keyboard(tr: Translator) -> ReplyKeyboardMarkup:
    """Just Skip."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(tr.gettext(SKIP))]], resize_keyboard=True, one_time_keyboard=True
    )


def confirm_keyboard(tr: Translator, draft_id: int) -> InlineKeyboardMarkup:
    """Send or cancel."""
    return inline(
        [
            [
                (tr.gettext("✅ Send"), encode(PREFIX, "ok", draft_id)),
                (tr.gettext("❌ Cancel"), encode(PREFIX, "no", draft_id)),
            ]
        ]
    )


def summary_text(config: Config, tr: Translator, data: AlertDraftData, member: Member) -> str:
    """What will be sent, for a last look before confirming."""
    lines = [
        "<b>" + html.escape(tr.gettext("Check your alert")) + "</b>",
        tr.gettext("Category: {category}").format(
            category=html.escape(category_label(config, tr, data.category or ""))
        ),
        tr.gettext("Severity: {severity}").format(severity=severity_label(tr, data.severity or "")),
        tr.gettext("Post: {post}").format(post=html.escape(config.post_name(member.post_code))),
    ]
    if data.latitude is not None and data.longitude is not None:
        lines.append(map_link(data.latitude, data.longitude))
    if data.photo_file_id:
        lines.append(tr.gettext("📷 Photo attached."))
    if config.has_category(data.category or "") and config.category(data.category or "").cross_border:
        lines.append(tr.gettext("🌍 Cross-border: the partner post receives it too."))
    lines += ["", html.escape(data.text or "")]
    return "\n".join(lines)


def sent_text(tr: Translator, alert: Alert, count: int, created: bool) -> str:
    """The author's confirmation."""
    if not created:
        return tr.gettext("This alert was already sent (#{id}); it was not sent twice.").format(id=alert.id)
    return tr.ngettext(
        "✅ Alert #{id} sent to {n} person.", "✅ Alert #{id} sent to {n} people.", count
    ).format(id=alert.id, n=count)


def too_long(tr: Translator, length: int, limit: int) -> str:
    """Refusal of an oversized text, stating the limit."""
    return tr.gettext(
        "This text is too long ({length} characters). The limit is {limit} characters: shorten it and "
        "send it again."
    ).format(length=tr.number(length), limit=tr.number(limit))


def one_line_help(config: Config, tr: Translator) -> str:
    """How to write the one-line form."""
    categories = ", ".join(c.code for c in config.alerts.categories)
    return tr.gettext(
        "I could not read this alert. Write: /alert &lt;severity&gt; &lt;category&gt;: &lt;text&gt;, "
        "for example <code>/alert urgent health: traveller with high fever at gate 2</code>.\n"
        "Severities: urgent, important, "
        "info. Categories: {categories}.\nOr send /alert alone to be guided."
    ).format(categories=html.escape(categories))


def _question(step: str, tr: Translator, limit: int) -> str:
    if step == Step.LOCATION:
        return tr.gettext("Where? Share your location with the button below, or skip.")
    if step == Step.PHOTO:
        return tr.gettext("A photo? Send one, or skip.")
    return tr.gettext("Now write what is happening (up to {limit} characters).").format(
        limit=tr.number(limit)
    )


def _step_keyboard(step: str, tr: Translator) -> ReplyKeyboardMarkup | ReplyKeyboardRemove:
    if step == Step.LOCATION:
        return location_keyboard(tr)
    if step == Step.PHOTO:
        return skip_keyboard(tr)
    return ReplyKeyboardRemove()


# ----- starting ---------------------------------------------------------------------------------------------


async def start_conversation(update: Update, context: LiaisonContext) -> None:
    """Open a fresh draft and ask for the category."""
    member, message, tr = context.member, update.effective_message, context.tr
    assert message is not None
    if _refused(member):
        await message.reply_text(tr.gettext(NOT_ALLOWED))
        return
    draft, fresh = await conversations.begin(
        update, context, RAISE, token=f"{message.chat_id}:{message.message_id}", step=Step.CATEGORY
    )
    if not fresh:
        return  # the same message delivered twice: its question is already on screen
    await message.reply_text(
        tr.gettext("🚨 New alert. What is it about?"),
        reply_markup=category_keyboard(context.runtime.config, tr, draft.id or 0),
    )


async def alert_command(update: Update, context: LiaisonContext) -> None:
    """/alert: the guided conversation, or the one-line form when text follows."""
    message = update.effective_message
    assert message is not None
    # Any whitespace ends the command: "/alert\nurgent health: ..." (a phone's Enter key), a no-break space.
    parts = (message.text or "").split(None, 1)
    args = parts[1].strip() if len(parts) > 1 else ""
    if not args:
        await start_conversation(update, context)
        return
    member, tr, runtime = context.member, context.tr, context.runtime
    if member is None or _refused(member):
        await message.reply_text(tr.gettext(NOT_ALLOWED))
        return
    parsed = parse_one_line(runtime.config, args)
    if parsed is None:
        await message.reply_text(one_line_help(runtime.config, tr))
        return
    severity, category, text = parsed
    limit = runtime.config.alerts.max_text_length
    if len(text) > limit:
        await message.reply_text(too_long(tr, len(text), limit))
        return
    async with runtime.db.transaction() as session:
        alert, created = await service.raise_alert(
            session,
            runtime,
            member,
            token=f"m:{message.chat_id}:{message.message_id}",
            category=category,
            severity=severity,
            text=text,
        )
        count = await service.recipient_count(session, alert)
    await message.reply_text(sent_text(tr, alert, count, created), reply_markup=main_keyboard(tr))


# ----- buttons ----------------------------------------------------------------------------------------------


async def _not_moved(update: Update, context: LiaisonContext, draft_id: int) -> None:
    """Answer a press on a step already passed (double tap) or on a closed draft."""
    query = update.callback_query
    assert query is not None
    draft = await conversations.current(context, RAISE)
    if draft is not None and draft.id == draft_id:
        await answer(query, context.tr.gettext("Already chosen."))
    else:
        await answer(query, context.tr.gettext("This draft is closed."), alert=True)


async def draft_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """Category, severity, send and cancel buttons of the conversation."""
    query, tr, runtime = update.callback_query, context.tr, context.runtime
    assert query is not None and query.message is not None
    draft_id = data.int_arg(0)
    draft = await conversations.current(context, RAISE)
    if draft is None or draft_id is None or draft.id != draft_id:
        await answer(query, tr.gettext("This draft is closed."), alert=True)
        return
    if data.action == "no":
        dropped = await conversations.close(context, draft)
        await answer(query, tr.gettext("Cancelled.") if dropped else tr.gettext("This draft is closed."))
        if dropped:
            await edit_message(query, tr.gettext(CANCELLED))
            await reply(query, tr.gettext("Ready when you need it."), reply_markup=main_keyboard(tr))
        return
    if data.action == "ok":
        await _confirm(update, context, draft)
        return
    value = data.args[1] if len(data.args) > 1 else ""
    answers = AlertDraftData.of(draft)
    # Each choice button moves the draft one step, only from the step it belongs to (a double tap is a no-op).
    if data.action == "cat" and runtime.config.has_category(value):
        answers.category, from_step, to_step = value, Step.CATEGORY, Step.SEVERITY
    elif data.action == "sev" and value in {s.value for s in Severity}:
        answers.severity, from_step, to_step = value, Step.SEVERITY, Step.LOCATION
    else:
        await answer(query, tr.gettext("This button is no longer valid."), alert=True)
        return
    if (
        draft.step != from_step
        or await conversations.advance(context, RAISE, draft, step=to_step, data=answers) is None
    ):
        await _not_moved(update, context, draft_id)
        return
    if not draft.focused:
        await conversations.focus(update, context, draft)
    await answer(query)
    if to_step == Step.SEVERITY:
        await edit_message(
            query,
            tr.gettext("Category: {category}. How serious is it?").format(
                category=html.escape(category_label(runtime.config, tr, value))
            ),
            reply_markup=severity_keyboard(tr, draft_id),
        )
        return
    await edit_message(query, tr.gettext("Severity: {severity}.").format(severity=severity_label(tr, value)))
    await reply(
        query,
        _question(Step.LOCATION, tr, runtime.config.alerts.max_text_length),
        reply_markup=location_keyboard(tr),
    )


async def _confirm(update: Update, context: LiaisonContext, draft: Draft) -> None:
    """Send the alert once, whatever the number of taps."""
    query, member, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None and query.message is not None and draft.id is not None
    if _refused(member):
        await answer(query, tr.gettext(NOT_ALLOWED), alert=True)
        return
    if draft.step == Step.SENT:
        # A double tap, a repeated update, an old summary: nothing more is sent.
        await answer(query, tr.gettext("Already sent: an alert is only sent once."))
        return
    answers = AlertDraftData.of(draft)
    async with runtime.db.transaction() as session:
        # The draft leaves CONFIRM and the alert is raised in one transaction: of two taps on Send, only one
        # moves it, and a crash in between leaves neither a sent draft without its alert nor the reverse.
        if not await conversations.advance_in(
            session, context, RAISE, draft, step=Step.SENT, from_steps=(Step.CONFIRM,)
        ):
            alert = None
        else:
            alert, created = await service.raise_alert(
                session,
                runtime,
                member,
                token=f"d:{draft.token}",
                category=answers.category or "other",
                severity=answers.severity or Severity.IMPORTANT,
                text=answers.text or "",
                latitude=answers.latitude,
                longitude=answers.longitude,
                photo=answers.photo_file_id,
            )
            answers.alert_id = alert.id
            await conversations.advance_in(
                session, context, RAISE, draft, step=Step.SENT, from_steps=(Step.SENT,), data=answers
            )
            count = await service.recipient_count(session, alert)
    if alert is None:
        await _not_moved(update, context, draft.id)
        return
    await answer(
        query, tr.gettext("Sent.") if created else tr.gettext("Already sent: an alert is only sent once.")
    )
    # The summary stays readable, without its buttons.
    await edit_message(query, summary_text(runtime.config, tr, answers, member))
    await reply(query, sent_text(tr, alert, count, created), reply_markup=main_keyboard(tr))


# ----- typed answers ----------------------------------------------------------------------------------------


async def draft_input(update: Update, context: LiaisonContext, draft: Draft) -> bool:
    """Location, photo and text answers; a message at a button step goes on to the other features."""
    if draft.step not in TYPED_STEPS:
        return False  # a button is expected: typed text is not for this draft
    member, message, runtime, tr = (
        context.active_member,
        update.effective_message,
        context.runtime,
        context.tr,
    )
    assert message is not None
    limit = runtime.config.alerts.max_text_length
    text = (message.text or message.caption or "").strip()
    skipping = message.text is not None and fold(message.text.strip()) in {fold(s) for s in SKIP_TEXTS}
    answers = AlertDraftData.of(draft)
    if draft.step == Step.LOCATION and message.location is not None:
        answers.latitude, answers.longitude = message.location.latitude, message.location.longitude
        to_step = Step.PHOTO
    elif draft.step in (Step.LOCATION, Step.PHOTO) and skipping:
        to_step = Step.PHOTO if draft.step == Step.LOCATION else Step.TEXT
    elif draft.step in (Step.LOCATION, Step.PHOTO) and message.photo:
        if len(text) > limit:
            # Telegram lets captions reach 1,024 characters: refuse, like typed text, rather than drop it.
            await message.reply_text(too_long(tr, len(text), limit))
            return True
        answers.photo_file_id = message.photo[-1].file_id
        to_step = Step.TEXT
        if text:
            # A caption is the alert's text: one step less.
            answers.text, to_step = text, Step.CONFIRM
    elif text and message.location is None:
        # Text typed at any of these steps is the alert's text: the remaining optional steps are skipped.
        if len(text) > limit:
            await message.reply_text(too_long(tr, len(text), limit))
            return True
        answers.text, to_step = text, Step.CONFIRM
    else:
        await message.reply_text(
            _question(draft.step, tr, limit), reply_markup=_step_keyboard(draft.step, tr)
        )
        return True
    fresh = await conversations.advance(context, RAISE, draft, step=to_step, data=answers)
    if fresh is None:
        return True  # a repeated update already moved it
    if to_step == Step.CONFIRM:
        await _ask_confirmation(message, context, fresh, member, took_keyboard=draft.step != Step.TEXT)
        return True
    await message.reply_text(_question(to_step, tr, limit), reply_markup=_step_keyboard(to_step, tr))
    return True


async def _ask_confirmation(
    message: Message, context: LiaisonContext, draft: Draft, member: Member, *, took_keyboard: bool
) -> None:
    tr = context.tr
    if took_keyboard:
        # The location/photo keyboard is still up: take it down before the summary's inline buttons.
        await message.reply_text(tr.gettext("Ready."), reply_markup=ReplyKeyboardRemove())
    await message.reply_text(
        summary_text(context.runtime.config, tr, AlertDraftData.of(draft), member),
        reply_markup=confirm_keyboard(tr, draft.id or 0),
    )


async def on_cancel(update: Update, context: LiaisonContext) -> None:
    """/cancel during an alert: nothing was sent; the alert button comes back."""
    assert update.effective_message is not None
    tr = context.tr
    await update.effective_message.reply_text(tr.gettext(CANCELLED), reply_markup=main_keyboard(tr))


RAISE = Conversation(
    "alert", draft_input, cancelled=CANCELLED, typed_steps=frozenset(TYPED_STEPS), on_cancel=on_cancel
)
