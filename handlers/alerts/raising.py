"""Raising an alert: the guided conversation (a database draft), the one-line form, and the draft's buttons.

From an open chat an urgent alert takes five actions: 🚨, the category, the severity, the text, Send. The
text, a photo (its caption is text too) and a location come in any order at one step; Send appears once there
is text. Coordinators, who belong to no post, first pick the post. A restart, a double tap or a repeated
update never loses a draft or turns it into two alerts.
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
from bot.access import is_global, may_raise_alert
from bot.callbacks import CallbackData, encode
from bot.config import Config
from bot.conversations import DraftData
from bot.features import Conversation
from bot.i18n import N_, Translator
from bot.keyboards import fitted_rows, inline, main_keyboard
from bot.replies import answer, edit_message, reply
from bot.runtime import LiaisonContext
from db.alerts import Alert, Severity
from db.drafts import Draft
from db.members import Member
from handlers.alerts import service
from handlers.alerts.render import PREFIX, alert_number, category_label, map_link, severity_label
from handlers.alerts.rules import parse_one_line

NOT_ALLOWED = N_("Only members of a post and coordinators can raise an alert.")
CANCELLED = N_("Alert cancelled. Nothing was sent.")


class Step(StrEnum):
    """Where an alert draft stands."""

    POST = "post"  # coordinators only
    CATEGORY = "category"
    SEVERITY = "severity"
    # Text, photo and location, in any order; Send once there is text.
    DETAILS = "details"
    # Kept after sending (with its alert id) so that a second tap on Send can say it was already sent.
    SENT = "sent"


class AlertDraftData(DraftData):
    """What an alert draft holds so far."""

    post: str | None = None
    category: str | None = None
    severity: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    photo_file_id: str | None = None
    text: str | None = None
    alert_id: int | None = None


def _may_raise(member: Member | None) -> bool:
    """Members of a post raise at their post; coordinators at any post they pick."""
    return member is not None and (is_global(member) or may_raise_alert(member, member.post_code))


# ----- keyboards and texts ----------------------------------------------------------------------------------


def post_keyboard(config: Config, tr: Translator, draft_id: int) -> InlineKeyboardMarkup:
    """One button per post, then Cancel (coordinators)."""
    buttons = [(post.name, encode(PREFIX, "post", draft_id, post.code)) for post in config.posts]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return inline([*rows, [(tr.gettext("❌ Cancel"), encode(PREFIX, "no", draft_id))]])


def category_keyboard(config: Config, tr: Translator, draft_id: int) -> InlineKeyboardMarkup:
    """One button per configured category, then Cancel."""
    buttons = [
        (category_label(config, tr, c.code), encode(PREFIX, "cat", draft_id, c.code))
        for c in config.alerts.categories
    ]
    # Short names two to a row (thumb-sized, one screen), long ones alone so they are read whole.
    rows = fitted_rows(buttons)
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
    """Telegram's share-location button, under the text field while the details are written."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(tr.gettext("📍 Share my location"), request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
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


def summary_text(config: Config, tr: Translator, data: AlertDraftData, *, sent: bool = False) -> str:
    """What will be sent, for a last look before Send; once `sent`, under a heading that says it went."""
    lines = [
        "<b>" + html.escape(summary_heading(tr, data, sent=sent)) + "</b>",
        tr.gettext("Category: {category}").format(
            category=html.escape(category_label(config, tr, data.category or ""))
        ),
        tr.gettext("Severity: {severity}").format(severity=severity_label(tr, data.severity or "")),
        tr.gettext("Post: {post}").format(post=html.escape(config.post_name(data.post))),
    ]
    if data.latitude is not None and data.longitude is not None:
        lines.append(map_link(data.latitude, data.longitude))
    if data.photo_file_id:
        lines.append(tr.gettext("📷 Photo attached."))
    if config.has_category(data.category or "") and config.category(data.category or "").cross_border:
        lines.append(tr.gettext("🌍 Cross-border: the partner post receives it too."))
    lines += ["", html.escape(data.text or "")]
    if not sent and data.latitude is None:
        hint = (
            tr.gettext("You can still share your location before sending.")
            if data.photo_file_id
            else tr.gettext("You can still share your location or add a photo before sending.")
        )
        lines += ["", hint]
    return "\n".join(lines)


def summary_heading(tr: Translator, data: AlertDraftData, *, sent: bool) -> str:
    """'Check your alert' while it waits for Send; 'Alert #3 sent' after (the message asks nothing more)."""
    if not sent:
        return tr.gettext("Check your alert")
    if data.alert_id is None:
        # TRANSLATORS: heading of the reviewed summary of an alert, once it was sent.
        return tr.gettext("Alert sent")
    # TRANSLATORS: heading of the reviewed summary of an alert, once it was sent; {number} reads "#3" / "n°3".
    return tr.gettext("Alert {number} sent").format(number=alert_number(tr, data.alert_id))


def sent_text(tr: Translator, alert: Alert, count: int, created: bool) -> str:
    """The author's confirmation: how many people other than them it reached."""
    number = alert_number(tr, alert.id)
    if not created:
        return tr.gettext("This alert was already sent ({number}); it was not sent twice.").format(
            number=number
        )
    if count == 0:
        return tr.gettext(
            "✅ Alert {number} recorded, but nobody else at the post has joined Liaison yet: warn them "
            "another way."
        ).format(number=number)
    return tr.ngettext(
        "✅ Alert {number} sent to {n} person.", "✅ Alert {number} sent to {n} people.", count
    ).format(number=number, n=count)


def too_long(tr: Translator, length: int, limit: int) -> str:
    """Refusal of an oversized text, stating the limit."""
    return tr.gettext(
        "This text is too long ({length} characters). The limit is {limit} characters: shorten it and "
        "send it again."
    ).format(length=tr.number(length), limit=tr.number(limit))


def one_line_help(config: Config, tr: Translator) -> str:
    """How to write the one-line form, with the words of the reader's language."""
    categories = ", ".join(c.word(tr.language) for c in config.alerts.categories)
    return tr.gettext(
        "I could not read this alert. Write: /alert &lt;severity&gt; &lt;category&gt;: &lt;text&gt;, "
        "for example <code>/alert urgent health: traveller with high fever at gate 2</code>.\n"
        "Severities: urgent, important, "
        "info. Categories: {categories}.\nOr send /alert alone to be guided."
    ).format(categories=html.escape(categories))


def details_question(tr: Translator, limit: int) -> str:
    """The one step after the severity: what is happening (a photo or a location may come too)."""
    return tr.gettext(
        "What is happening? Write it in one message (up to {limit} characters). You can also send a photo "
        "with a caption, or share your location."
    ).format(limit=tr.number(limit))


# ----- starting ---------------------------------------------------------------------------------------------


async def start_conversation(update: Update, context: LiaisonContext) -> None:
    """Open a fresh draft: the category (or, for a coordinator, the post) first."""
    member, message, tr, config = context.member, update.effective_message, context.tr, context.runtime.config
    assert message is not None
    if member is None or not _may_raise(member):
        await message.reply_text(tr.gettext(NOT_ALLOWED))
        return
    own_post = None if is_global(member) else member.post_code
    draft, fresh = await conversations.begin(
        update,
        context,
        RAISE,
        token=f"{message.chat_id}:{message.message_id}",
        step=Step.CATEGORY if own_post else Step.POST,
        data=AlertDraftData(post=own_post),
    )
    if not fresh:
        return  # the same message delivered twice: its question is already on screen
    if own_post is None:
        asked = await message.reply_text(
            tr.gettext("🚨 New alert. At which post?"), reply_markup=post_keyboard(config, tr, draft.id or 0)
        )
    else:
        asked = await message.reply_text(
            tr.gettext("🚨 New alert. What is it about?"),
            reply_markup=category_keyboard(config, tr, draft.id or 0),
        )
    await conversations.remember_prompt(context, draft.id, asked)


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
    if member is None or not _may_raise(member):
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
    if is_global(member):
        # A coordinator's one-liner: everything but the post is known; one tap on the post, then Send.
        data = AlertDraftData(category=category, severity=severity, text=text)
        draft, fresh = await conversations.begin(
            update, context, RAISE, token=f"{message.chat_id}:{message.message_id}", step=Step.POST, data=data
        )
        if fresh:
            asked = await message.reply_text(
                tr.gettext("🚨 New alert. At which post?"),
                reply_markup=post_keyboard(runtime.config, tr, draft.id or 0),
            )
            await conversations.remember_prompt(context, draft.id, asked)
        return
    async with runtime.db.transaction() as session:
        raised = await service.raise_alert(
            session,
            runtime,
            member,
            token=f"m:{message.chat_id}:{message.message_id}",
            post_code=member.post_code or "",
            category=category,
            severity=severity,
            text=text,
        )
    await message.reply_text(
        sent_text(tr, raised.alert, raised.others, raised.created), reply_markup=main_keyboard(tr)
    )


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
    """Post, category, severity, send and cancel buttons of the conversation."""
    query, tr, runtime, member = update.callback_query, context.tr, context.runtime, context.active_member
    assert query is not None
    draft_id = data.int_arg(0)
    draft = await conversations.current(context, RAISE)
    if draft is None or draft_id is None or draft.id != draft_id:
        await answer(query, tr.gettext("This draft is closed."), alert=True)
        return
    if data.action == "no" and draft.step == Step.SENT:
        # Cancel on a message from before Send: the alert went; its message must not say it was cancelled.
        await answer(query, tr.gettext("Already sent: an alert is only sent once."))
        return
    if data.action == "no":
        dropped = await conversations.close(context, draft)
        await answer(query, tr.gettext("Cancelled.") if dropped else tr.gettext("This draft is closed."))
        if dropped:
            await edit_message(query, tr.gettext(CANCELLED))
            await conversations.end_prompts(update, context, draft)
            await reply(query, tr.gettext("Ready when you need it."), reply_markup=main_keyboard(tr))
        return
    if data.action == "ok":
        await _confirm(update, context, draft)
        return
    value = data.args[1] if len(data.args) > 1 else ""
    answers = AlertDraftData.of(draft)
    # Each choice button moves the draft one step, only from the step it belongs to (a double tap is a no-op).
    if (
        data.action == "post"
        and runtime.config.find_post(value) is not None
        and may_raise_alert(member, value)
    ):
        answers.post, from_step = value, Step.POST
        to_step = Step.DETAILS if answers.text else Step.CATEGORY
    elif data.action == "cat" and runtime.config.has_category(value):
        answers.category, from_step, to_step = value, Step.CATEGORY, Step.SEVERITY
    elif data.action == "sev" and value in {s.value for s in Severity}:
        answers.severity, from_step, to_step = value, Step.SEVERITY, Step.DETAILS
    else:
        await answer(query, tr.gettext("This button is no longer valid."), alert=True)
        return
    moved = None
    if draft.step == from_step:
        moved = await conversations.advance(context, RAISE, draft, step=to_step, data=answers)
    if moved is None:
        await _not_moved(update, context, draft_id)
        return
    if not draft.focused:
        await conversations.focus(update, context, draft)
    await answer(query)
    await _after_choice(update, context, moved, data.action, value)


async def _after_choice(
    update: Update, context: LiaisonContext, draft: Draft, action: str, value: str
) -> None:
    """Show the choice made on the pressed message and ask what comes next."""
    query, tr, config = update.callback_query, context.tr, context.runtime.config
    assert query is not None and draft.id is not None
    if action == "post":
        post = html.escape(config.post_name(value))
        if draft.step == Step.DETAILS:
            await edit_message(query, tr.gettext("Post: {post}").format(post=post))
            summary = await reply(
                query, summary_text(config, tr, AlertDraftData.of(draft)), confirm_keyboard(tr, draft.id)
            )
            await conversations.remember_prompt(context, draft.id, summary)
            return
        await edit_message(
            query,
            tr.gettext("Post: {post}. What is it about?").format(post=post),
            reply_markup=category_keyboard(config, tr, draft.id),
        )
        return
    if action == "cat":
        await edit_message(
            query,
            tr.gettext("Category: {category}. How serious is it?").format(
                category=html.escape(category_label(config, tr, value))
            ),
            reply_markup=severity_keyboard(tr, draft.id),
        )
        return
    await edit_message(query, tr.gettext("Severity: {severity}.").format(severity=severity_label(tr, value)))
    await reply(
        query, details_question(tr, config.alerts.max_text_length), reply_markup=location_keyboard(tr)
    )


async def _confirm(update: Update, context: LiaisonContext, draft: Draft) -> None:
    """Send the alert once, whatever the number of taps."""
    query, member, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None and draft.id is not None
    if draft.step == Step.SENT:
        # A double tap, a repeated update, an old summary: nothing more is sent.
        await answer(query, tr.gettext("Already sent: an alert is only sent once."))
        return
    answers = AlertDraftData.of(draft)
    # The sent draft stays only to answer a second tap: its prompts are cleared below, once.
    asked = answers.take_prompts()
    if draft.step != Step.DETAILS or not answers.text or not answers.post:
        await _not_moved(update, context, draft.id)
        return
    if not may_raise_alert(member, answers.post):
        await answer(query, tr.gettext(NOT_ALLOWED), alert=True)
        return
    async with runtime.db.transaction() as session:
        # The draft leaves DETAILS and the alert is raised in one transaction: of two taps on Send, only one
        # moves it, and a crash in between leaves neither a sent draft without its alert nor the reverse.
        moved = await conversations.advance_in(
            session, context, RAISE, draft, step=Step.SENT, from_steps=(Step.DETAILS,)
        )
        alert = None
        if moved:
            raised = await service.raise_alert(
                session,
                runtime,
                member,
                token=f"d:{draft.token}",
                post_code=answers.post,
                category=answers.category or "other",
                severity=answers.severity or Severity.IMPORTANT,
                text=answers.text,
                latitude=answers.latitude,
                longitude=answers.longitude,
                photo=answers.photo_file_id,
            )
            alert, created = raised.alert, raised.created
            answers.alert_id = alert.id
            await conversations.advance_in(
                session, context, RAISE, draft, step=Step.SENT, from_steps=(Step.SENT,), data=answers
            )
            count = raised.others
    if alert is None:
        await _not_moved(update, context, draft.id)
        return
    await answer(
        query, tr.gettext("Sent.") if created else tr.gettext("Already sent: an alert is only sent once.")
    )
    # The summary stays readable, without its buttons; the alert button comes back under the text field.
    await edit_message(query, summary_text(runtime.config, tr, answers, sent=True))
    await reply(query, sent_text(tr, alert, count, created), reply_markup=main_keyboard(tr))
    # A summary sent before a later detail, and the questions, lose their buttons too.
    await conversations.end_prompts(update, context, asked)


# ----- typed answers ----------------------------------------------------------------------------------------


async def draft_input(update: Update, context: LiaisonContext, draft: Draft) -> bool:
    """Text, photo and location at the details step; a message at a button step goes on to the others."""
    if draft.step != Step.DETAILS:
        return False  # a button is expected: typed text is not for this draft
    message, runtime, tr = update.effective_message, context.runtime, context.tr
    assert message is not None
    limit = runtime.config.alerts.max_text_length
    answers = AlertDraftData.of(draft)
    words = (message.text or message.caption or "").strip()
    if message.location is not None:
        answers.latitude, answers.longitude = message.location.latitude, message.location.longitude
    elif message.photo:
        answers.photo_file_id = message.photo[-1].file_id
    elif not words:
        # A sticker, a voice note, blank text: ask again.
        await message.reply_text(details_question(tr, limit), reply_markup=location_keyboard(tr))
        return True
    if words:
        # A second message adds to the first: an agent often sends the details in two goes.
        combined = f"{answers.text}\n{words}" if answers.text else words
        if len(combined) > limit:
            # Telegram lets captions reach 1,024 characters: refuse, like typed text, rather than drop it.
            await message.reply_text(too_long(tr, len(combined), limit))
            return True
        answers.text = combined
    fresh = await conversations.advance(context, RAISE, draft, step=Step.DETAILS, data=answers)
    if fresh is None:
        return True  # a repeated update already moved it
    await _show_progress(message, context, fresh)
    return True


async def _show_progress(message: Message, context: LiaisonContext, draft: Draft) -> None:
    """After each answer: the summary with Send once there is text, else what was added and what is next."""
    tr, config = context.tr, context.runtime.config
    answers = AlertDraftData.of(draft)
    if answers.text:
        summary = await message.reply_text(
            summary_text(config, tr, answers), reply_markup=confirm_keyboard(tr, draft.id or 0)
        )
        await conversations.remember_prompt(context, draft.id, summary)
        return
    added = (
        tr.gettext("📍 Location added.") if answers.latitude is not None else tr.gettext("📷 Photo added.")
    )
    # The location button stays until a location is shared; the alert button comes back once it is sent.
    keyboard = location_keyboard(tr) if answers.latitude is None else ReplyKeyboardRemove()
    await message.reply_text(added + " " + tr.gettext("Now write what is happening."), reply_markup=keyboard)


async def on_replaced(update: Update, context: LiaisonContext, previous: Draft) -> None:
    """A new alert over an unsent one: its summary lost its buttons but still reads as a draft, and the
    location key may still be up: say it went, and put the 🚨 key back."""
    if previous.step != Step.SENT and update.effective_message is not None:
        tr = context.tr
        await update.effective_message.reply_text(
            tr.gettext("🗑 Your unsent alert was discarded. Here is a new one."),
            reply_markup=main_keyboard(tr),
        )


async def on_cancel(update: Update, context: LiaisonContext) -> None:
    """/cancel during an alert: nothing was sent; the alert button comes back."""
    assert update.effective_message is not None
    tr = context.tr
    await update.effective_message.reply_text(tr.gettext(CANCELLED), reply_markup=main_keyboard(tr))


RAISE = Conversation(
    "alert",
    draft_input,
    cancelled=CANCELLED,
    typed_steps=frozenset({Step.DETAILS}),
    on_cancel=on_cancel,
    on_replaced=on_replaced,
)
