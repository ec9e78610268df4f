"""Writing a notice (/notice): a database draft walked with buttons and typed answers, then one Send.

Chiefs write to their post (everyone, some services, or the chiefs); coordinators first choose the posts.
The summary shows what readers will get and lets the sender change the text, add the version in the other
language, a photo or a document, the importance and the validity. A restart, a double tap or a repeated
update never loses the draft or sends it twice.
"""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Message, Update

from bot import conversations
from bot.access import is_global, notice_posts
from bot.callbacks import CallbackData, encode
from bot.config import Config
from bot.conversations import DraftData
from bot.dates import TimeProblem, TimeRefused, example_moment, parse_moment
from bot.features import Conversation
from bot.i18n import N_, Translator
from bot.keyboards import inline
from bot.replies import answer, edit_message, reply
from bot.runtime import LiaisonContext
from bot.texts import excerpt
from db.drafts import Draft
from db.members import Member
from db.outbox import Priority, enqueue_message
from handlers.notices import service
from handlers.notices.render import (
    CAPTION_LIMIT,
    PREFIX,
    TEXT_LIMIT,
    NoticeView,
    audience_label,
    card_clock,
    posts_label,
    render_copy,
    text_room,
)

NOT_ALLOWED = N_("Only post chiefs and coordinators send notices.")
CANCELLED = N_("Notice cancelled. Nothing was sent.")
LANGUAGE_NAMES = {"fr": N_("French"), "en": N_("English")}
VALIDITY_DAYS = (1, 3, 7, 30)
# The summary shows the text as readers get it, cut so that the summary itself fits in one message.
PREVIEW = 1800
PREVIEW_SECOND = 900
MOMENT_PROBLEMS = {
    TimeProblem.UNREADABLE: N_(
        "I could not read this date. Send the day/month and the time, for example {example} "
        "(or 2026-11-28 14:30)."
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
    """Where a notice draft stands."""

    POSTS = "posts"  # coordinators: which posts
    AUDIENCE = "audience"  # who at the posts
    TEXT = "text"
    CONFIRM = "confirm"  # the summary, with its options and Send
    EDIT_TEXT = "edit_text"
    SECOND = "second"  # the version in the other language
    ATTACH = "attach"
    EXPIRY = "expiry"
    # Kept after sending (with the notice id), so that another tap on Send says it was already sent.
    SENT = "sent"


TYPED_STEPS = (Step.TEXT, Step.EDIT_TEXT, Step.SECOND, Step.ATTACH, Step.EXPIRY)
OPTION_STEPS = {"text": Step.EDIT_TEXT, "alt": Step.SECOND, "att": Step.ATTACH, "exp": Step.EXPIRY}


class NoticeDraftData(DraftData):
    """What a notice draft holds so far."""

    posts: list[str] = []
    audience: str | None = None  # everyone | services | chiefs
    services: list[str] = []
    language: str = "fr"
    text: str | None = None
    second: str | None = None
    attachment_kind: str | None = None  # photo | document
    attachment_file_id: str | None = None
    attachment_name: str | None = None
    important: bool = False
    expires_at: str | None = None  # ISO, UTC; none: the default validity
    notice_id: int | None = None

    @property
    def other_language(self) -> str:
        """The language of the optional second version."""
        return "en" if self.language == "fr" else "fr"

    def audience_payload(self) -> dict[str, Any]:
        """The audience as the notice stores it."""
        if self.audience == "services":
            return {"kind": "services", "services": list(self.services)}
        return {"kind": self.audience or "everyone"}

    def texts(self) -> dict[str, str]:
        """The versions by language."""
        texts = {self.language: self.text or ""}
        if self.second:
            texts[self.other_language] = self.second
        return texts


def _refused(member: Member | None, config: Config) -> bool:
    return member is None or not notice_posts(member, [p.code for p in config.posts])


def draft_view(context: LiaisonContext, data: NoticeDraftData, **changes: Any) -> NoticeView:
    """The notice as it would be sent now (for the summary and the length checks)."""
    member, runtime = context.active_member, context.runtime
    now = runtime.clock.now()
    expires = datetime.fromisoformat(data.expires_at) if data.expires_at else None
    view = NoticeView(
        posts=tuple(data.posts),
        audience=data.audience_payload(),
        language=data.language,
        texts=data.texts(),
        important=data.important,
        sent_at=now,
        expires_at=service.validity_end(runtime, now, expires),
        author_name=member.display_name,
        author_role=member.role,
        author_service_code=member.service_code,
        attachment_kind=data.attachment_kind,
        attachment_name=data.attachment_name,
    )
    return replace(view, **changes) if changes else view


def too_long(tr: Translator, length: int, room: int, *, attachment: bool) -> str:
    """Refusal of a text a copy cannot hold, with the limit and by how much to shorten it."""
    if attachment:
        message = tr.gettext(
            "This text is too long for a notice with a photo or a document: {length} characters. Telegram "
            "limits a caption to {limit} characters, heading included, which leaves {room} for your text: "
            "shorten it by {excess}, or send the notice without the attachment."
        )
        limit = CAPTION_LIMIT
    else:
        message = tr.gettext(
            "This text is too long: {length} characters. Telegram limits a message to {limit} characters, "
            "heading included, which leaves {room} for your text: shorten it by {excess}."
        )
        limit = TEXT_LIMIT
    return message.format(
        length=tr.number(length),
        limit=tr.number(limit),
        room=tr.number(room),
        excess=tr.number(length - room),
    )


def check_fit(context: LiaisonContext, data: NoticeDraftData) -> str | None:
    """None when every version fits a copy; else the refusal to show."""
    view = draft_view(context, data)
    room = text_room(context.runtime.config, view)
    longest = max((len(t) for t in data.texts().values() if t), default=0)
    if longest <= room:
        return None
    return too_long(context.tr, longest, room, attachment=data.attachment_kind is not None)


# ----- keyboards and texts ----------------------------------------------------------------------------------


def posts_keyboard(
    config: Config, tr: Translator, data: NoticeDraftData, draft_id: int, allowed: list[str]
) -> Any:
    """A toggle per post, "All posts", then Next and Cancel."""
    buttons = []
    for code in allowed:
        chosen = code in data.posts
        label = ("☑️ " if chosen else "☐ ") + config.post_name(code)
        buttons.append((label, encode(PREFIX, "post", draft_id, code, 0 if chosen else 1)))
    rows: list[list[tuple[str, str]]] = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([(tr.gettext("🌍 All posts"), encode(PREFIX, "allp", draft_id))])
    rows.append(
        [
            (tr.gettext("Next ▶"), encode(PREFIX, "next", draft_id)),
            (tr.gettext("❌ Cancel"), encode(PREFIX, "no", draft_id)),
        ]
    )
    return inline(rows)


def posts_question(config: Config, tr: Translator, data: NoticeDraftData) -> str:
    """Which posts, and which are chosen so far."""
    text = tr.gettext("📢 New notice. To which posts? Tick them, then press Next.")
    if data.posts:
        text += "\n" + tr.gettext("Chosen: {posts}").format(posts=posts_label(config, tr, data.posts))
    return text


def service_choices(config: Config, data: NoticeDraftData) -> list[str]:
    """The services present at the chosen posts, in config order."""
    present = {code for post in data.posts if config.find_post(post) for code in config.post_services(post)}
    return [s.code for s in config.services if s.code in present]


def audience_keyboard(config: Config, tr: Translator, data: NoticeDraftData, draft_id: int) -> Any:
    """Everyone, the chiefs, or a toggle per service (then Next), and Cancel."""
    rows: list[list[tuple[str, str]]] = [
        [
            (tr.gettext("👥 Everyone"), encode(PREFIX, "aud", draft_id, "everyone")),
            (tr.gettext("⭐ The post chiefs"), encode(PREFIX, "aud", draft_id, "chiefs")),
        ]
    ]
    buttons = []
    for code in service_choices(config, data):
        chosen = code in data.services
        label = ("☑️ " if chosen else "☐ ") + config.service_name(code, tr.language)
        buttons.append((label, encode(PREFIX, "svc", draft_id, code, 0 if chosen else 1)))
    rows += [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(
        [
            (tr.gettext("Next ▶"), encode(PREFIX, "next", draft_id)),
            (tr.gettext("❌ Cancel"), encode(PREFIX, "no", draft_id)),
        ]
    )
    return inline(rows)


def audience_question(config: Config, tr: Translator, data: NoticeDraftData) -> str:
    """Who at the posts."""
    lines = [
        tr.gettext("📢 Notice to {posts}. Who should receive it?").format(
            posts=posts_label(config, tr, data.posts)
        ),
        tr.gettext("Everyone, the post chiefs, or tick one or more services and press Next."),
    ]
    if data.text:
        lines.append(tr.gettext("✍️ Your text is kept."))
    return "\n".join(lines)


def text_question(tr: Translator, data: NoticeDraftData) -> str:
    """Ask for the text (in the sender's language), a photo or a document being welcome."""
    language = tr.gettext(LANGUAGE_NAMES.get(data.language, data.language))
    if data.attachment_kind:
        return tr.gettext("Now write the text of the notice in {language}.").format(language=language)
    return tr.gettext(
        "✍️ Write the notice in {language}. To add a photo or a document, send it with the text as its "
        "caption."
    ).format(language=language)


def validity_keyboard(tr: Translator, draft_id: int) -> Any:
    """Usual validities, then Back."""
    days = [
        (tr.ngettext("{n} day", "{n} days", n).format(n=n), encode(PREFIX, "exp", draft_id, n))
        for n in VALIDITY_DAYS
    ]
    return inline([days[:2], days[2:], [(tr.gettext("↩️ Back"), encode(PREFIX, "back", draft_id))]])


def back_keyboard(tr: Translator, draft_id: int, remove: tuple[str, str] | None = None) -> Any:
    """Back to the summary (and a remove button when there is something to remove)."""
    rows = [[(tr.gettext("↩️ Back"), encode(PREFIX, "back", draft_id))]]
    if remove is not None:
        rows.insert(0, [(remove[0], encode(PREFIX, remove[1], draft_id))])
    return inline(rows)


def option_prompt(
    context: LiaisonContext, data: NoticeDraftData, step: str, draft_id: int
) -> tuple[str, Any]:
    """The question of an option step and its buttons."""
    tr, runtime = context.tr, context.runtime
    config = runtime.config
    other = tr.gettext(LANGUAGE_NAMES.get(data.other_language, data.other_language))
    if step == Step.EDIT_TEXT:
        return text_question(tr, data), back_keyboard(tr, draft_id)
    if step == Step.SECOND:
        remove = (
            (tr.gettext("🗑 Remove the {language} version").format(language=other), "rmalt")
            if data.second
            else None
        )
        text = tr.gettext(
            "🌐 Write the {language} version. Readers who read {language} get it; the others get yours."
        ).format(language=other)
        return text, back_keyboard(tr, draft_id, remove)
    if step == Step.ATTACH:
        remove = (tr.gettext("🗑 Remove the attachment"), "rmatt") if data.attachment_kind else None
        text = tr.gettext(
            "📎 Send the photo, or the document (PDF, spreadsheet...) as a file. With one, a notice holds "
            "{limit} characters in all (Telegram's caption limit)."
        ).format(limit=tr.number(CAPTION_LIMIT))
        return text, back_keyboard(tr, draft_id, remove)
    zone_post = data.posts[0] if data.posts else None
    zone = config.post_zone(zone_post)
    text = tr.gettext(
        "📅 Until when is it valid? Choose, or send a date and time ({post} time), for example {example}. "
        "Without a choice it stays valid {days} days."
    ).format(
        post=html.escape(config.post_name(zone_post)),
        example=example_moment(zone=zone, now=runtime.clock.now()),
        days=tr.number(config.notices.default_validity_days),
    )
    return text, validity_keyboard(tr, draft_id)


def validity_note(config: Config, tr: Translator, named: str | None, *, default: bool) -> str:
    """ " (Birni N'Konni time, by default)": whose time it is, when that needs saying, and whether the sender
    left the default."""
    parts = [tr.gettext("{post} time").format(post=html.escape(config.post_name(named)))] if named else []
    if default:
        parts.append(tr.gettext("by default"))
    return " (" + ", ".join(parts) + ")" if parts else ""


def summary_keyboard(tr: Translator, data: NoticeDraftData, draft_id: int) -> InlineKeyboardMarkup:
    """The options (text, other language, attachment, validity, importance), then Send and Cancel."""
    other = tr.gettext(LANGUAGE_NAMES.get(data.other_language, data.other_language))
    second = (
        tr.gettext("🌐 Change the {language} version")
        if data.second
        else tr.gettext("🌐 Add the {language} version")
    ).format(language=other)
    attachment = (
        tr.gettext("📎 Change the attachment") if data.attachment_kind else tr.gettext("📎 Photo or document")
    )
    importance = (
        (tr.gettext("🔕 Make it routine"), encode(PREFIX, "imp", draft_id, 0))
        if data.important
        else (tr.gettext("⚠️ Make it important"), encode(PREFIX, "imp", draft_id, 1))
    )
    return inline(
        [
            [
                (tr.gettext("✏️ Text"), encode(PREFIX, "opt", draft_id, "text")),
                (second, encode(PREFIX, "opt", draft_id, "alt")),
            ],
            [
                (attachment, encode(PREFIX, "opt", draft_id, "att")),
                (tr.gettext("📅 Validity"), encode(PREFIX, "opt", draft_id, "exp")),
            ],
            [importance],
            [
                (tr.gettext("✅ Send"), encode(PREFIX, "ok", draft_id)),
                (tr.gettext("❌ Cancel"), encode(PREFIX, "no", draft_id)),
            ],
        ]
    )


def _preview(text: str, limit: int) -> str:
    return html.escape(excerpt(text, limit))


def summary_text(context: LiaisonContext, data: NoticeDraftData, count: int) -> str:
    """What will be sent, to whom, how: a last look before Send."""
    tr, config = context.tr, context.runtime.config
    view = draft_view(context, data)
    zone, named = card_clock(config, data.posts, context.active_member.post_code)
    language = tr.gettext(LANGUAGE_NAMES.get(data.language, data.language))
    other = tr.gettext(LANGUAGE_NAMES.get(data.other_language, data.other_language))
    lines = [
        "<b>" + html.escape(tr.gettext("Check your notice")) + "</b>",
        tr.gettext("To: {audience} · {posts}").format(
            audience=audience_label(config, tr, view.audience), posts=posts_label(config, tr, data.posts)
        )
        + " — "
        + tr.ngettext("{n} person", "{n} people", count).format(n=tr.number(count)),
        tr.gettext("⚠️ Important: with sound, ahead of routine messages, pinned until it expires.")
        if data.important
        else tr.gettext("🔕 Routine: delivered silently."),
        tr.gettext("📅 Valid until {time}").format(time=tr.short_datetime(view.expires_at, zone))
        + validity_note(config, tr, named, default=not data.expires_at),
    ]
    if data.attachment_kind == "photo":
        lines.append(tr.gettext("📷 With a photo."))
    elif data.attachment_kind == "document":
        lines.append(
            tr.gettext("📄 With a document: {name}").format(
                name=html.escape(data.attachment_name or "document")
            )
        )
    if data.second:
        lines.append(
            tr.gettext("🌐 In {language} and in {other}: each reader gets their language.").format(
                language=language, other=other
            )
        )
    else:
        lines.append(tr.gettext("🌐 In {language} only, for every reader.").format(language=language))
    text = data.text or ""
    preview = render_copy(
        config,
        replace(view, texts={data.language: excerpt(text, PREVIEW)}),
        language=data.language,
        post_code=data.posts[0] if data.posts else "",
    )
    lines += ["", "<b>" + html.escape(tr.gettext("What readers get:")) + "</b>", preview]
    if data.second:
        version = tr.gettext("The {language} version:").format(language=other)
        lines += ["", f"<i>{html.escape(version)}</i>", _preview(data.second, PREVIEW_SECOND)]
    return "\n".join(lines)


async def recipient_count(context: LiaisonContext, data: NoticeDraftData) -> int:
    """How many people the notice would reach now."""
    runtime, member = context.runtime, context.active_member
    async with runtime.db.reading() as session:
        members = await service.audience_members(
            session, posts=data.posts, audience=data.audience_payload(), author_id=member.id
        )
    return len(members)


def sent_text(config: Config, tr: Translator, result: service.SendResult) -> str:
    """The sender's confirmation."""
    assert result.notice is not None
    if result.outcome == service.SendOutcome.ALREADY:
        return tr.gettext("This notice was already sent (#{id}); it was not sent twice.").format(
            id=result.notice.id
        )
    people = tr.ngettext("{n} person", "{n} people", result.recipients).format(n=tr.number(result.recipients))
    posts = tr.ngettext("{n} post", "{n} posts", result.posts).format(n=result.posts)
    text = tr.gettext(
        "✅ Notice #{id} sent to {people} ({posts}). The card above counts who has read it."
    ).format(id=result.notice.id, people=people, posts=posts)
    if result.unreached:
        names = tr.all_of([html.escape(config.post_name(code)) for code in result.unreached])
        text += "\n" + tr.gettext(
            "Nobody it is meant for has joined at {posts} yet: it reached nobody there."
        ).format(posts=names)
    return text


async def queue_confirmation(
    session: AsyncSession,
    config: Config,
    member: Member,
    tr: Translator,
    result: service.SendResult,
    *,
    now: datetime,
) -> None:
    """Queue the sender's confirmation right behind their card, in the transaction that queued the card.

    The outbox sends a chat's messages one at a time, in order, so the card is always just above it; a
    direct reply raced the delivery worker, and landed above or below the card depending on the network.
    """
    await enqueue_message(
        session,
        chat_id=member.chat_id,
        member_id=member.id,
        text=sent_text(config, tr, result),
        priority=Priority.NORMAL,  # the card's: behind it in the chat's queue, never ahead
        now=now,
    )


# ----- starting ---------------------------------------------------------------------------------------------


async def notice_command(update: Update, context: LiaisonContext) -> None:
    """/notice [text]: open a draft; chiefs choose who at their post, coordinators first the posts."""
    member, message, tr, runtime = (
        context.active_member,
        update.effective_message,
        context.tr,
        context.runtime,
    )
    assert message is not None
    config = runtime.config
    allowed = notice_posts(member, [p.code for p in config.posts])
    if not allowed:
        await message.reply_text(tr.gettext(NOT_ALLOWED))
        return
    parts = (message.text or "").split(None, 1)
    typed = parts[1].strip() if len(parts) > 1 else ""
    coordinator = is_global(member)
    data = NoticeDraftData(posts=[] if coordinator else [member.post_code or ""], language=tr.language)
    refusal = None
    if typed:
        data.text = typed
        refusal = check_fit(context, data)
        if refusal is not None:
            data.text = None
    step = Step.POSTS if coordinator else Step.AUDIENCE
    draft, fresh = await conversations.begin(
        update, context, CONVERSATION, token=f"{message.chat_id}:{message.message_id}", step=step, data=data
    )
    if not fresh:
        return  # the same message delivered twice: its question is already on screen
    if refusal is not None:
        await message.reply_text(refusal)
    if step == Step.POSTS:
        asked = await message.reply_text(
            posts_question(config, tr, data),
            reply_markup=posts_keyboard(config, tr, data, draft.id or 0, allowed),
        )
    else:
        asked = await message.reply_text(
            audience_question(config, tr, data),
            reply_markup=audience_keyboard(config, tr, data, draft.id or 0),
        )
    await conversations.remember_prompt(context, draft.id, asked)


# ----- buttons ----------------------------------------------------------------------------------------------

BUTTON_ACTIONS = frozenset(
    {"post", "allp", "next", "aud", "svc", "opt", "imp", "exp", "back", "rmatt", "rmalt", "ok", "no"}
)


async def _stale(update: Update, context: LiaisonContext, draft_id: int | None) -> None:
    """Answer a press on a step already passed (a double tap) or on a closed draft."""
    query = update.callback_query
    assert query is not None
    draft = await conversations.current(context, CONVERSATION)
    if draft is not None and draft.id == draft_id:
        await answer(query, context.tr.gettext("Already done."))
    else:
        await answer(query, context.tr.gettext("This draft is closed."), alert=True)


async def _move(
    update: Update,
    context: LiaisonContext,
    draft: Draft,
    data: NoticeDraftData,
    *,
    from_step: str,
    to_step: str,
) -> Draft | None:
    """Move the draft one step (only from where the press expects it): None when a double tap moved it."""
    if draft.step != from_step:
        await _stale(update, context, draft.id)
        return None
    fresh = await conversations.advance(context, CONVERSATION, draft, step=to_step, data=data)
    if fresh is None:
        await _stale(update, context, draft.id)
    return fresh


async def draft_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """Every button of the /notice draft."""
    query, tr, runtime = update.callback_query, context.tr, context.runtime
    assert query is not None and query.message is not None
    config = runtime.config
    member = context.active_member
    draft_id = data.int_arg(0)
    draft = await conversations.current(context, CONVERSATION)
    if draft is None or draft_id is None or draft.id != draft_id:
        await answer(query, tr.gettext("This draft is closed."), alert=True)
        return
    if _refused(member, config):
        await answer(query, tr.gettext(NOT_ALLOWED), alert=True)
        return
    if draft.step == Step.SENT:
        # A button of a message from before Send (Cancel, a choice): the notice went; nothing changes.
        await answer(query, tr.gettext("Already sent: a notice is only sent once."))
        return
    answers = NoticeDraftData.of(draft)
    allowed = notice_posts(member, [p.code for p in config.posts])
    value = data.args[1] if len(data.args) > 1 else ""
    flag = data.int_arg(2) if data.action in ("post", "svc") else data.int_arg(1)
    action = data.action

    if action == "no":
        dropped = await conversations.close(context, draft)
        await answer(query, tr.gettext("Cancelled.") if dropped else tr.gettext("This draft is closed."))
        if dropped:
            await edit_message(query, tr.gettext(CANCELLED))
            await conversations.end_prompts(update, context, draft)
        return
    if action == "ok":
        await _send(update, context, draft)
        return

    if action in ("post", "allp") and draft.step == Step.POSTS:
        if action == "allp":
            answers.posts = list(allowed)
        elif value in allowed:
            chosen = [p for p in answers.posts if p != value]
            answers.posts = [p for p in allowed if p in chosen or (p == value and flag == 1)]
        else:
            await answer(query, tr.gettext("This button is no longer valid."), alert=True)
            return
        if await _move(update, context, draft, answers, from_step=Step.POSTS, to_step=Step.POSTS) is None:
            return
        await answer(query)
        await edit_message(
            query, posts_question(config, tr, answers), posts_keyboard(config, tr, answers, draft_id, allowed)
        )
        return

    if action == "next" and draft.step == Step.POSTS:
        if not answers.posts:
            await answer(query, tr.gettext("Tick at least one post."), alert=True)
            return
        answers.services = [s for s in answers.services if s in service_choices(config, answers)]
        if await _move(update, context, draft, answers, from_step=Step.POSTS, to_step=Step.AUDIENCE) is None:
            return
        await answer(query)
        await edit_message(
            query, audience_question(config, tr, answers), audience_keyboard(config, tr, answers, draft_id)
        )
        return

    if action == "svc" and draft.step == Step.AUDIENCE:
        if value not in service_choices(config, answers):
            await answer(query, tr.gettext("This button is no longer valid."), alert=True)
            return
        chosen = [s for s in answers.services if s != value]
        answers.services = [
            s for s in service_choices(config, answers) if s in chosen or (s == value and flag == 1)
        ]
        if (
            await _move(update, context, draft, answers, from_step=Step.AUDIENCE, to_step=Step.AUDIENCE)
            is None
        ):
            return
        await answer(query)
        await edit_message(
            query, audience_question(config, tr, answers), audience_keyboard(config, tr, answers, draft_id)
        )
        return

    if action in ("aud", "next") and draft.step == Step.AUDIENCE:
        if action == "aud" and value in ("everyone", "chiefs"):
            answers.audience, answers.services = value, []
        elif action == "next" and answers.services:
            answers.audience = "services"
        elif action == "next":
            await answer(query, tr.gettext("Tick at least one service, or choose Everyone."), alert=True)
            return
        else:
            await answer(query, tr.gettext("This button is no longer valid."), alert=True)
            return
        await _chose_audience(update, context, draft, answers)
        return

    if action == "opt" and draft.step == Step.CONFIRM and value in OPTION_STEPS:
        step = OPTION_STEPS[value]
        if await _move(update, context, draft, answers, from_step=Step.CONFIRM, to_step=step) is None:
            return
        await answer(query)
        text, markup = option_prompt(context, answers, step, draft_id)
        await edit_message(query, text, markup)
        return

    if action == "imp" and draft.step == Step.CONFIRM and flag in (0, 1):
        answers.important = flag == 1
        if await _move(update, context, draft, answers, from_step=Step.CONFIRM, to_step=Step.CONFIRM) is None:
            return
        await answer(query)
        await edit_message(
            query,
            summary_text(context, answers, await recipient_count(context, answers)),
            summary_keyboard(tr, answers, draft_id),
        )
        return

    if action == "exp" and draft.step == Step.EXPIRY and (flag or 0) in VALIDITY_DAYS:
        answers.expires_at = (runtime.clock.now() + timedelta(days=flag or 0)).isoformat()
        await _back_to_summary(update, context, draft, answers, from_step=Step.EXPIRY)
        return

    if action in ("back", "rmatt", "rmalt") and draft.step in (
        Step.EDIT_TEXT,
        Step.SECOND,
        Step.ATTACH,
        Step.EXPIRY,
    ):
        if action == "rmatt" and draft.step == Step.ATTACH:
            answers.attachment_kind = answers.attachment_file_id = answers.attachment_name = None
        elif action == "rmalt" and draft.step == Step.SECOND:
            answers.second = None
        elif action != "back":
            await _stale(update, context, draft.id)
            return
        await _back_to_summary(update, context, draft, answers, from_step=draft.step)
        return
    await _stale(update, context, draft.id)


async def _chose_audience(
    update: Update, context: LiaisonContext, draft: Draft, answers: NoticeDraftData
) -> None:
    """Audience chosen: ask for the text, or show the summary when the text came first."""
    query, tr = update.callback_query, context.tr
    assert query is not None and draft.id is not None
    to_step = Step.CONFIRM if answers.text else Step.TEXT
    if await _move(update, context, draft, answers, from_step=Step.AUDIENCE, to_step=to_step) is None:
        return
    await answer(query)
    config = context.runtime.config
    chosen = tr.gettext("To: {audience} · {posts}").format(
        audience=audience_label(config, tr, answers.audience_payload()),
        posts=posts_label(config, tr, answers.posts),
    )
    if to_step == Step.TEXT:
        await edit_message(
            query, chosen + "\n\n" + text_question(tr, answers), back_keyboard_cancel(tr, draft.id)
        )
        return
    await edit_message(
        query,
        summary_text(context, answers, await recipient_count(context, answers)),
        summary_keyboard(tr, answers, draft.id),
    )


def back_keyboard_cancel(tr: Translator, draft_id: int) -> Any:
    """Only Cancel (while the first text is awaited)."""
    return inline([[(tr.gettext("❌ Cancel"), encode(PREFIX, "no", draft_id))]])


async def _back_to_summary(
    update: Update, context: LiaisonContext, draft: Draft, answers: NoticeDraftData, *, from_step: str
) -> None:
    """From an option step back to the summary, in place of the option's question."""
    query = update.callback_query
    assert query is not None and draft.id is not None
    if await _move(update, context, draft, answers, from_step=from_step, to_step=Step.CONFIRM) is None:
        return
    await answer(query)
    await edit_message(
        query,
        summary_text(context, answers, await recipient_count(context, answers)),
        summary_keyboard(context.tr, answers, draft.id),
    )


async def _send(update: Update, context: LiaisonContext, draft: Draft) -> None:
    """Send the notice once, whatever the number of taps."""
    query, member, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None and query.message is not None and draft.id is not None
    if draft.step == Step.SENT:
        # A double tap, a repeated update, an old summary: nothing more is sent.
        await answer(query, tr.gettext("Already sent: a notice is only sent once."))
        return
    if draft.step != Step.CONFIRM:
        await _stale(update, context, draft.id)
        return
    answers = NoticeDraftData.of(draft)
    # The sent draft stays only to answer a second tap: its prompts are cleared below, once.
    asked = answers.take_prompts()
    expires = datetime.fromisoformat(answers.expires_at) if answers.expires_at else None
    if expires is not None and expires <= runtime.clock.now():
        await answer(
            query, tr.gettext("The validity chosen has passed: choose it again (📅 Validity)."), alert=True
        )
        return
    new = service.NewNotice(
        token=f"d:{draft.token}",
        posts=list(answers.posts),
        audience=answers.audience_payload(),
        language=answers.language,
        texts=answers.texts(),
        important=answers.important,
        attachment_kind=answers.attachment_kind,
        attachment_file_id=answers.attachment_file_id,
        attachment_name=answers.attachment_name,
        expires_at=expires,
    )
    async with runtime.db.transaction() as session:
        result = await service.send_notice(session, runtime, member, new)
        if result.outcome in (service.SendOutcome.SENT, service.SendOutcome.ALREADY):
            # The draft moves to SENT with the notice, in the same transaction: a crash in between leaves
            # neither a sent draft without its notice nor a notice whose draft could send it again.
            assert result.notice is not None
            answers.notice_id = result.notice.id
            if result.outcome == service.SendOutcome.SENT:
                await queue_confirmation(session, runtime.config, member, tr, result, now=runtime.clock.now())
            await conversations.advance_in(
                session,
                context,
                CONVERSATION,
                draft,
                step=Step.SENT,
                from_steps=(Step.CONFIRM, Step.SENT),
                data=answers,
            )
    if result.outcome == service.SendOutcome.NOT_ALLOWED:
        await answer(query, tr.gettext(NOT_ALLOWED), alert=True)
        return
    if result.outcome == service.SendOutcome.NOBODY:
        await answer(
            query, tr.gettext("Nobody at these posts matches this audience: choose another."), alert=True
        )
        return
    if result.outcome == service.SendOutcome.TOO_LONG:
        await answer(query, tr.gettext("The text no longer fits: shorten it (✏️ Text)."), alert=True)
        return
    await answer(
        query,
        tr.gettext("Notice sent.")
        if result.outcome == service.SendOutcome.SENT
        else tr.gettext("Already sent: a notice is only sent once."),
    )
    # The summary stays readable, without its buttons; the earlier questions lose theirs.
    await edit_message(query, summary_text(context, answers, result.recipients))
    await conversations.end_prompts(update, context, asked)
    if result.outcome == service.SendOutcome.ALREADY:
        await reply(
            query, sent_text(runtime.config, tr, result)
        )  # no new card: nothing to keep it in order with


# ----- typed answers ----------------------------------------------------------------------------------------


def _attachment(message: Message) -> tuple[str, str, str | None] | None:
    """(kind, file id, file name) of a photo or a document in a message."""
    if message.photo:
        return "photo", message.photo[-1].file_id, None
    if message.document is not None:
        return "document", message.document.file_id, message.document.file_name
    return None


async def draft_input(update: Update, context: LiaisonContext, draft: Draft) -> bool:
    """Typed answers: the text (a photo or a document with it), the other version, an attachment, a date."""
    message, tr, runtime = update.effective_message, context.tr, context.runtime
    assert message is not None
    answers = NoticeDraftData.of(draft)
    attached = _attachment(message)
    text = (message.text if message.text is not None else message.caption or "").strip()
    step = draft.step

    if step in (Step.POSTS, Step.AUDIENCE, Step.TEXT, Step.EDIT_TEXT):
        if attached is None and not text:
            await message.reply_text(
                text_question(tr, answers)
                if step in (Step.TEXT, Step.EDIT_TEXT)
                else tr.gettext("Choose who receives it with the buttons above.")
            )
            return True
        if attached is not None:
            answers.attachment_kind, answers.attachment_file_id, answers.attachment_name = attached
        if text:
            answers.text = text
        refusal = check_fit(context, answers)
        if refusal is not None:
            await message.reply_text(refusal)
            return True
        if step in (Step.POSTS, Step.AUDIENCE):
            # Written before saying to whom: kept, and the question above still waits.
            if await conversations.advance(context, CONVERSATION, draft, step=step, data=answers) is not None:
                await message.reply_text(
                    tr.gettext("✍️ Kept. Now choose who receives it with the buttons above.")
                )
            return True
        to_step = Step.CONFIRM if answers.text else Step.TEXT
        await _typed_move(update, context, draft, answers, to_step)
        return True

    if step == Step.SECOND:
        if not text or attached is not None:
            await message.reply_text(option_prompt(context, answers, step, draft.id or 0)[0])
            return True
        answers.second = text
        refusal = check_fit(context, answers)
        if refusal is not None:
            await message.reply_text(refusal)
            return True
        await _typed_move(update, context, draft, answers, Step.CONFIRM)
        return True

    if step in (Step.ATTACH, Step.CONFIRM):
        if attached is None:
            hint = (
                option_prompt(context, answers, step, draft.id or 0)[0]
                if step == Step.ATTACH
                else tr.gettext("To change the text, press ✏️ Text on the summary; to send it, ✅ Send.")
            )
            await message.reply_text(hint)
            return True
        answers.attachment_kind, answers.attachment_file_id, answers.attachment_name = attached
        refusal = check_fit(context, answers)
        if refusal is not None:
            await message.reply_text(refusal)
            return True
        await _typed_move(update, context, draft, answers, Step.CONFIRM)
        return True

    if step == Step.EXPIRY:
        zone, now = runtime.config.post_zone(answers.posts[0] if answers.posts else None), runtime.clock.now()
        try:
            moment = parse_moment(text, zone=zone, now=now)
        except TimeRefused as refused:
            example = example_moment(zone=zone, now=now)
            await message.reply_text(tr.gettext(MOMENT_PROBLEMS[refused.problem]).format(example=example))
            return True
        answers.expires_at = moment.isoformat()
        await _typed_move(update, context, draft, answers, Step.CONFIRM)
        return True
    return False  # SENT: the message is not for this draft


async def _typed_move(
    update: Update, context: LiaisonContext, draft: Draft, answers: NoticeDraftData, to_step: str
) -> None:
    """Move after a typed answer and show what comes next."""
    message, tr = update.effective_message, context.tr
    assert message is not None and draft.id is not None
    fresh = await conversations.advance(context, CONVERSATION, draft, step=to_step, data=answers)
    if fresh is None:
        return  # a repeated update already moved it
    if to_step == Step.TEXT:
        await message.reply_text(tr.gettext("📎 Received. Now write the text of the notice."))
        return
    summary = await message.reply_text(
        summary_text(context, answers, await recipient_count(context, answers)),
        reply_markup=summary_keyboard(tr, answers, draft.id),
    )
    await conversations.remember_prompt(context, draft.id, summary)


CONVERSATION = Conversation("notice", draft_input, cancelled=CANCELLED, typed_steps=frozenset(TYPED_STEPS))
