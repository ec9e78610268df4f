"""Raising an alert in a conversation: the guided steps, the one-line form and the draft's buttons and inputs.

Commands: /alert [severity category: text]; the persistent "🚨 Alert" button.
Callback prefix: al (cat, sev, ok, no). The draft lives in the database (one per member): a restart, a double
tap or a repeated update never loses it or turns it into two alerts. The fan-out is handlers/alert_publish.py.
"""

from __future__ import annotations

import html
import logging
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import CallbackQuery, KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop

from bot.access import Action, can
from bot.callbacks import CallbackData, encode
from bot.config import Config
from bot.i18n import N_, Translator
from bot.keyboards import inline
from bot.runtime import LiaisonContext, Runtime
from bot.texts import member_translator, post_name
from db import alerts as store
from db.alerts import Alert, AlertDraft, DraftStep, Severity
from db.members import Member
from handlers.alert_cards import (
    ALERT_BUTTON_TEXTS,
    alert_keyboard,
    category_label,
    map_link,
    severity_label,
)
from handlers.alert_publish import raise_alert
from handlers.alert_rules import fold, has_category, parse_one_line

logger = logging.getLogger(__name__)

# How long the outcome question of a pressed Resolve waits for its answer.
OUTCOME_WAIT = timedelta(minutes=30)
# Steps where the draft takes the member's next typed message.
TYPED_STEPS = (DraftStep.LOCATION, DraftStep.PHOTO, DraftStep.TEXT, DraftStep.OUTCOME)
SKIP = N_("⏭ Skip")
SKIP_TEXTS = frozenset({"⏭ Skip", "⏭ Passer", "skip", "passer"})
CANCEL_TEXTS = frozenset({"/cancel", "/annuler"})
# Commands that open their own conversation: what is typed next is theirs, so they close a waiting draft.
TAKEOVER_COMMANDS = frozenset({"/remind"})


def _refuse_reason(member: Member | None) -> bool:
    return member is None or not member.post_code or not can(member, Action.RAISE_ALERT, member.post_code)


def category_keyboard(config: Config, tr: Translator, draft_id: int) -> object:
    """One button per configured category, then Cancel."""
    buttons = [
        (category_label(config, tr, c.code), encode("al", "cat", draft_id, c.code))
        for c in config.alerts.categories
    ]
    # Two to a row: thumb-sized on small phones, and the six categories fit on one screen.
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return inline([*rows, [(tr.gettext("❌ Cancel"), encode("al", "no", draft_id))]])


def severity_keyboard(tr: Translator, draft_id: int) -> object:
    """Info, important, urgent, then Cancel."""
    return inline(
        [
            [
                (severity_label(tr, s), encode("al", "sev", draft_id, s))
                for s in (Severity.INFO, Severity.IMPORTANT)
            ],
            [(severity_label(tr, Severity.URGENT), encode("al", "sev", draft_id, Severity.URGENT))],
            [(tr.gettext("❌ Cancel"), encode("al", "no", draft_id))],
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


def summary_text(config: Config, tr: Translator, draft: AlertDraft, member: Member) -> str:
    """What will be sent, for a last look before confirming."""
    lines = [
        "<b>" + html.escape(tr.gettext("Check your alert")) + "</b>",
        tr.gettext("Category: {category}").format(
            category=html.escape(category_label(config, tr, draft.category or ""))
        ),
        tr.gettext("Severity: {severity}").format(severity=severity_label(tr, draft.severity or "")),
        tr.gettext("Post: {post}").format(post=html.escape(post_name(config, member.post_code))),
    ]
    if draft.latitude is not None and draft.longitude is not None:
        lines.append(map_link(draft.latitude, draft.longitude))
    if draft.photo_file_id:
        lines.append(tr.gettext("📷 Photo attached."))
    category = config.category(draft.category or "")
    if category.cross_border:
        lines.append(tr.gettext("🌍 Cross-border: the partner post receives it too."))
    lines += ["", html.escape(draft.text or "")]
    return "\n".join(lines)


def confirm_keyboard(tr: Translator, draft_id: int) -> object:
    """Send or cancel."""
    return inline(
        [
            [
                (tr.gettext("✅ Send"), encode("al", "ok", draft_id)),
                (tr.gettext("❌ Cancel"), encode("al", "no", draft_id)),
            ]
        ]
    )


async def start_conversation(update: Update, context: LiaisonContext) -> None:
    """Open a fresh draft and ask for the category."""
    member, message = context.member, update.effective_message
    tr = member_translator(member)
    if _refuse_reason(member):
        await message.reply_text(tr.gettext("Only agents of a post can raise an alert."))
        return
    assert member is not None and member.id is not None
    runtime = context.runtime
    async with runtime.db.transaction() as session:
        draft, fresh = await store.start_draft(
            session,
            member_id=member.id,
            token=f"{message.chat_id}:{message.message_id}",
            now=runtime.clock.now(),
        )
    if not fresh:
        return  # the same message delivered twice: its question is already on screen
    await message.reply_text(
        tr.gettext("🚨 New alert. What is it about?"),
        reply_markup=category_keyboard(runtime.config, tr, draft.id or 0),
    )


async def alert_command(update: Update, context: LiaisonContext) -> None:
    """/alert: the guided conversation, or the one-line form when text follows."""
    message = update.effective_message
    # Any whitespace ends the command: "/alert\nurgent health: ..." (a phone's Enter key), a no-break space.
    parts = (message.text or "").split(None, 1)
    args = parts[1].strip() if len(parts) > 1 else ""
    if not args:
        await start_conversation(update, context)
        return
    member = context.member
    tr = member_translator(member)
    if _refuse_reason(member):
        await message.reply_text(tr.gettext("Only agents of a post can raise an alert."))
        return
    assert member is not None
    runtime = context.runtime
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
        alert, created = await raise_alert(
            session,
            runtime,
            member,
            token=f"m:{message.chat_id}:{message.message_id}",
            category=category,
            severity=severity,
            text=text,
        )
        count = await _recipient_count(session, alert)
    await message.reply_text(sent_text(tr, alert, count, created), reply_markup=alert_keyboard(tr))


async def _recipient_count(session: AsyncSession, alert: Alert) -> int:
    return len(await store.list_recipients(session, alert_id=alert.id or 0))


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


async def edit_quietly(query: CallbackQuery, text: str, reply_markup: object | None = None) -> None:
    """Edit the pressed message; an identical text (a repeated press) is not an error."""
    try:
        await query.edit_message_text(text, reply_markup=reply_markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def _not_moved(
    query: CallbackQuery, runtime: Runtime, tr: Translator, member_id: int, draft_id: int
) -> None:
    """Answer a press on a step already passed (double tap) or on a closed draft."""
    async with runtime.db.reading() as session:
        draft = await store.get_draft(session, member_id=member_id)
    if draft is not None and draft.id == draft_id:
        await query.answer(tr.gettext("Already chosen."))
    else:
        await query.answer(tr.gettext("This draft is closed."), show_alert=True)


async def draft_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """Category, severity, send and cancel buttons of the conversation."""
    query, member, runtime = update.callback_query, context.member, context.runtime
    tr = member_translator(member)
    draft_id = data.int_arg(0)
    if member is None or member.id is None or draft_id is None:
        await query.answer(tr.gettext("This button is no longer valid."), show_alert=True)
        return
    now = runtime.clock.now()
    if data.action == "no":
        async with runtime.db.transaction() as session:
            dropped = await store.drop_draft(session, member_id=member.id, draft_id=draft_id)
        await query.answer(tr.gettext("Cancelled.") if dropped else tr.gettext("This draft is closed."))
        if dropped:
            await edit_quietly(query, tr.gettext("Alert cancelled. Nothing was sent."))
            await query.message.reply_text(
                tr.gettext("Ready when you need it."), reply_markup=alert_keyboard(tr)
            )
        return
    if data.action == "ok":
        await _confirm(update, context, draft_id)
        return
    value = data.args[1] if len(data.args) > 1 else ""
    # Each choice button moves the draft one step, only from the step it belongs to (a double tap is a no-op).
    steps = {
        "cat": (DraftStep.CATEGORY, DraftStep.SEVERITY, "category", has_category(runtime.config, value)),
        "sev": (DraftStep.SEVERITY, DraftStep.LOCATION, "severity", value in {s.value for s in Severity}),
    }
    if data.action not in steps or not steps[data.action][3]:
        await query.answer(tr.gettext("This button is no longer valid."), show_alert=True)
        return
    from_step, to_step, field, _valid = steps[data.action]
    async with runtime.db.transaction() as session:
        moved = await store.advance_draft(
            session,
            draft_id=draft_id,
            member_id=member.id,
            from_steps=(from_step,),
            to_step=to_step,
            now=now,
            **{field: value},
        )
    if not moved:
        await _not_moved(query, runtime, tr, member.id, draft_id)
        return
    await query.answer()
    if data.action == "cat":
        await edit_quietly(
            query,
            tr.gettext("Category: {category}. How serious is it?").format(
                category=html.escape(category_label(runtime.config, tr, value))
            ),
            reply_markup=severity_keyboard(tr, draft_id),
        )
        return
    await edit_quietly(query, tr.gettext("Severity: {severity}.").format(severity=severity_label(tr, value)))
    await query.message.reply_text(
        tr.gettext("Where? Share your location with the button below, or skip."),
        reply_markup=location_keyboard(tr),
    )


async def _confirm(update: Update, context: LiaisonContext, draft_id: int) -> None:
    """Send the alert once, whatever the number of taps."""
    query, member, runtime = update.callback_query, context.member, context.runtime
    assert member is not None and member.id is not None
    tr = member_translator(member)
    if _refuse_reason(member):
        await query.answer(tr.gettext("Only agents of a post can raise an alert."), show_alert=True)
        return
    async with runtime.db.transaction() as session:
        draft = await store.claim_draft(session, draft_id=draft_id, member_id=member.id)
        if draft is None:
            # A double tap, a repeated update, an old summary or a cancelled draft: nothing more is sent.
            kept = await store.get_draft(session, member_id=member.id)
            sent = kept is not None and kept.id == draft_id and kept.step == DraftStep.SENT
            alert, created, count, summary = None, False, 0, ""
        else:
            summary = summary_text(runtime.config, tr, draft, member)
            alert, created = await raise_alert(
                session,
                runtime,
                member,
                token=f"d:{draft.token}",
                category=draft.category or "other",
                severity=draft.severity or Severity.IMPORTANT,
                text=draft.text or "",
                latitude=draft.latitude,
                longitude=draft.longitude,
                photo=draft.photo_file_id,
            )
            await store.link_draft(session, draft_id=draft_id, alert_id=alert.id or 0)
            count = await _recipient_count(session, alert)
    if alert is None:
        if sent:
            await query.answer(tr.gettext("Already sent: an alert is only sent once."))
        else:
            await query.answer(tr.gettext("This draft is closed."), show_alert=True)
        return
    await query.answer(
        tr.gettext("Sent.") if created else tr.gettext("Already sent: an alert is only sent once.")
    )
    # The summary stays readable, without its buttons (editMessageReplyMarkup trips PTB's parse_mode default).
    await edit_quietly(query, summary)
    await query.message.reply_text(sent_text(tr, alert, count, created), reply_markup=alert_keyboard(tr))


async def draft_input(update: Update, context: LiaisonContext) -> None:
    """Location, photo, text and outcome answers; anything else goes on to the other features."""
    member, message, runtime = context.member, update.effective_message, context.runtime
    if member is None or member.id is None or message is None:
        return
    text = message.text
    if text is not None and text.strip() in ALERT_BUTTON_TEXTS:
        return  # the alert button starts a new alert (handled in the features' group)
    command = (text.split() or [""])[0].split("@")[0].lower() if text is not None else ""
    cancelling = command in CANCEL_TEXTS
    if text is not None and text.startswith("/") and not cancelling:
        if command in TAKEOVER_COMMANDS:
            await _close_for_takeover(update, context, member)
        return  # another command (the draft stays where it is): no need to look it up
    async with runtime.db.reading() as session:
        draft = await store.get_draft(session, member_id=member.id)
    if draft is None:
        return
    tr = member_translator(member)
    if cancelling:
        async with runtime.db.transaction() as session:
            await store.drop_draft(session, member_id=member.id)
        await message.reply_text(
            tr.gettext("Alert cancelled. Nothing was sent."), reply_markup=alert_keyboard(tr)
        )
        raise ApplicationHandlerStop
    if draft.step == DraftStep.OUTCOME and runtime.clock.now() - draft.updated_at > OUTCOME_WAIT:
        # A Resolve pressed and left unanswered long ago: this message ("merci", "ok") is not the outcome.
        async with runtime.db.transaction() as session:
            await store.drop_draft(session, member_id=member.id, draft_id=draft.id)
        return  # the message goes on to the other features
    if draft.step == DraftStep.OUTCOME:
        from handlers.alerts import receive_outcome

        await receive_outcome(update, context, draft)
        raise ApplicationHandlerStop
    if draft.step not in (DraftStep.LOCATION, DraftStep.PHOTO, DraftStep.TEXT):
        return  # a button is expected: typed text is not for this draft
    await _draft_answer(update, context, draft, tr)
    raise ApplicationHandlerStop


async def _close_for_takeover(update: Update, context: LiaisonContext, member: Member) -> None:
    """Drop a draft waiting for typed input, so the next text goes to the new conversation, not the draft."""
    assert member.id is not None
    runtime, message = context.runtime, update.effective_message
    async with runtime.db.transaction() as session:
        draft = await store.get_draft(session, member_id=member.id)
        if draft is None or draft.step not in TYPED_STEPS:
            return
        await store.drop_draft(session, member_id=member.id, draft_id=draft.id)
    tr = member_translator(member)
    # Say so: otherwise the resolution (or the alert) the member started seems to be still waiting.
    if draft.step == DraftStep.OUTCOME:
        await message.reply_text(tr.gettext("Cancelled."))
    else:
        await message.reply_text(
            tr.gettext("Alert cancelled. Nothing was sent."), reply_markup=alert_keyboard(tr)
        )


async def _draft_answer(update: Update, context: LiaisonContext, draft: AlertDraft, tr: Translator) -> None:
    """Store one answer of the location, photo or text steps and ask the next question."""
    member, message, runtime = context.member, update.effective_message, context.runtime
    assert member is not None and member.id is not None and draft.id is not None
    now, limit = runtime.clock.now(), runtime.config.alerts.max_text_length
    text = (message.text or message.caption or "").strip()
    skipping = message.text is not None and fold(message.text.strip()) in {fold(s) for s in SKIP_TEXTS}
    values: dict[str, object] = {}
    if draft.step == DraftStep.LOCATION and message.location is not None:
        values = {"latitude": message.location.latitude, "longitude": message.location.longitude}
        to_step = DraftStep.PHOTO
    elif draft.step in (DraftStep.LOCATION, DraftStep.PHOTO) and skipping:
        to_step = DraftStep.PHOTO if draft.step == DraftStep.LOCATION else DraftStep.TEXT
    elif draft.step in (DraftStep.LOCATION, DraftStep.PHOTO) and message.photo:
        if len(text) > limit:
            # Telegram lets captions reach 1,024 characters: refuse, like typed text, rather than drop it.
            await message.reply_text(too_long(tr, len(text), limit))
            return
        values = {"photo_file_id": message.photo[-1].file_id}
        to_step = DraftStep.TEXT
        if text:
            # A caption is the alert's text: one step less.
            values["text"], to_step = text, DraftStep.CONFIRM
    elif text and message.location is None:
        # Text typed at any of these steps is the alert's text: the remaining optional steps are skipped.
        if len(text) > limit:
            await message.reply_text(too_long(tr, len(text), limit))
            return
        values["text"] = text
        to_step = DraftStep.CONFIRM
    else:
        await message.reply_text(
            _question(draft.step, tr, limit), reply_markup=_step_keyboard(draft.step, tr)
        )
        return
    async with runtime.db.transaction() as session:
        moved = await store.advance_draft(
            session,
            draft_id=draft.id,
            member_id=member.id,
            from_steps=(draft.step,),
            to_step=to_step,
            now=now,
            **values,
        )
        fresh = await store.get_draft(session, member_id=member.id) if moved else None
    if fresh is None:
        return  # a repeated update already moved it
    if to_step == DraftStep.CONFIRM:
        if draft.step != DraftStep.TEXT:
            # The location/photo keyboard is still up: take it down before the summary's inline buttons.
            await message.reply_text(tr.gettext("Ready."), reply_markup=ReplyKeyboardRemove())
        await message.reply_text(
            summary_text(runtime.config, tr, fresh, member), reply_markup=confirm_keyboard(tr, draft.id)
        )
        return
    await message.reply_text(_question(to_step, tr, limit), reply_markup=_step_keyboard(to_step, tr))


def _question(step: str, tr: Translator, limit: int) -> str:
    if step == DraftStep.LOCATION:
        return tr.gettext("Where? Share your location with the button below, or skip.")
    if step == DraftStep.PHOTO:
        return tr.gettext("A photo? Send one, or skip.")
    return tr.gettext("Now write what is happening (up to {limit} characters).").format(
        limit=tr.number(limit)
    )


def _step_keyboard(step: str, tr: Translator) -> object:
    if step == DraftStep.LOCATION:
        return location_keyboard(tr)
    if step == DraftStep.PHOTO:
        return skip_keyboard(tr)
    return ReplyKeyboardRemove()
