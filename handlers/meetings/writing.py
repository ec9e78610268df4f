"""/meeting: a chief writes the minutes step by step in a database draft, and publishes them.

Title, date and time, attendance by service, notes (several messages), decisions (one per line), action items
(typed lines read back for confirmation, or buttons), the next meeting, then a summary to publish, edit or
delete. The draft is long: it survives restarts and other conversations, and /meeting offers to continue it.
"""

from __future__ import annotations

import html
import re
import uuid
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field
from telegram import InlineKeyboardMarkup, Update

from bot import conversations
from bot.access import is_global, may_write_minutes
from bot.callbacks import CallbackData, encode
from bot.config import Config
from bot.conversations import DraftData
from bot.dates import (
    Direction,
    TimeProblem,
    TimeRefused,
    check_day,
    fold,
    local_today,
    parse_day,
    parse_day_and_time,
)
from bot.features import Conversation
from bot.i18n import N_, Translator
from bot.keyboards import columns, inline
from bot.replies import answer, edit_message
from bot.runtime import LiaisonContext
from bot.texts import fit_lines, preview
from db import drafts as draft_store
from db.drafts import Draft
from db.members import Member, list_members
from db.schedules import list_jobs
from handlers.meetings import service
from handlers.meetings.parsing import SERVICE, LineProblem, Owner, Owners, Person, ReadLine, read_lines
from handlers.meetings.render import PREFIX, day_label, labelled, moment_label

DRAFT_TTL = timedelta(days=3)
# Message ids and button presses already taken, kept to refuse a redelivered update (newest last).
REMEMBERED = 200
PEOPLE_PAGE = 8
NOT_ALLOWED = N_("Only post chiefs and coordinators write meeting minutes.")
CANCELLED = N_("🗑 Minutes draft deleted. Nothing was published.")
KEPT = N_("📋 Your minutes draft is kept. Send /meeting to continue it.")
CLOSED = N_("This draft is closed.")
EARLIER = N_("This button belongs to an earlier step.")
USE_BUTTONS = N_("Please use the buttons of the last message, or send /cancel to delete the draft.")
MEETING_WORDS = re.compile(r"reunion|meeting|coordination|concertation")


class Step(StrEnum):
    """Where a minutes draft stands."""

    POST = "post"
    JOINT = "joint"
    TITLE = "title"
    WHEN = "when"
    ATTENDANCE = "attendance"
    NOTES = "notes"
    DECISIONS = "decisions"
    ACTIONS = "actions"
    OWNER = "owner"
    WHAT = "what"
    DUE = "due"
    REMOVE = "remove"
    NEXT = "next"
    CONFIRM = "confirm"
    EDIT = "edit"
    CLEAR = "clear"
    DELETE = "delete"
    PUBLISHED = "published"


TYPED_STEPS = frozenset(
    {Step.TITLE, Step.WHEN, Step.NOTES, Step.DECISIONS, Step.ACTIONS, Step.WHAT, Step.DUE, Step.NEXT}
)
ORDER = (
    Step.TITLE,
    Step.WHEN,
    Step.ATTENDANCE,
    Step.NOTES,
    Step.DECISIONS,
    Step.ACTIONS,
    Step.NEXT,
    Step.CONFIRM,
)
SECTIONS = {
    Step.TITLE: N_("📋 Title"),
    Step.WHEN: N_("🕘 Date and time"),
    Step.ATTENDANCE: N_("👥 Attendance"),
    Step.NOTES: N_("📝 Notes"),
    Step.DECISIONS: N_("✅ Decisions"),
    Step.ACTIONS: N_("📌 Action items"),
    Step.NEXT: N_("📅 Next meeting"),
}
NEXT_LABELS = {
    Step.NOTES: N_("➡️ Next: decisions"),
    Step.DECISIONS: N_("➡️ Next: action items"),
    Step.ACTIONS: N_("➡️ Next: next meeting"),
}
CLEAR_QUESTIONS = {
    Step.NOTES: N_("Clear all the notes written so far?"),
    Step.DECISIONS: N_("Clear all the decisions written so far?"),
    Step.ACTIONS: N_("Clear all the action items written so far?"),
}
DATE_PROBLEMS = {
    TimeProblem.UNREADABLE: N_("I could not read “{text}” as a date."),
    TimeProblem.NONEXISTENT: N_("“{text}” is not a date that exists."),
    TimeProblem.CONTRADICTS: N_("“{text}”: the weekday does not match the date."),
    TimeProblem.PAST: N_("“{text}” has already passed."),
    TimeProblem.TOO_FAR: N_("“{text}” is too far ahead."),
    TimeProblem.TOO_OLD: N_("“{text}” is too far back."),
}


class MinutesData(DraftData):
    """What a minutes draft holds so far (the author's text as written)."""

    key: str
    post: str | None = None
    partner: str | None = None
    title: str | None = None
    offers: list[str] = Field(default_factory=list)
    held_at: str | None = None
    present: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    decisions: list[str] = Field(default_factory=list)
    # Items: {"owner": Owner.dump(), "text": ..., "due": "2026-11-27"}; pending: read, awaiting confirmation.
    items: list[dict[str, Any]] = Field(default_factory=list)
    pending: list[dict[str, Any]] = Field(default_factory=list)
    guided: dict[str, Any] | None = None
    next_at: str | None = None
    next_offer: str | None = None
    # Once the summary was shown, each section edited goes back to it.
    editing: bool = False
    clearing: str | None = None
    taken: list[str] = Field(default_factory=list)
    meeting_id: int | None = None

    def notes_text(self) -> str:
        """The notes as one text, messages separated by a blank line (paragraph boundaries)."""
        return "\n\n".join(self.notes)

    def posts(self) -> list[str]:
        """The meeting's post, and the partner's for a joint meeting."""
        return [self.post or "", *([self.partner] if self.partner else [])]

    def remember(self, token: str) -> bool:
        """Note an update as taken; False when it was already (a redelivered update)."""
        if token in self.taken:
            return False
        self.taken = [*self.taken[-REMEMBERED + 1 :], token]
        return True


def _owner(data: dict[str, Any]) -> Owner:
    return Owner(**{k: data[k] for k in ("post_code", "service_code", "member_id", "name") if k in data})


def _item(owner: Owner, text: str, due: date) -> dict[str, Any]:
    return {"owner": owner.dump(), "text": text, "due": due.isoformat()}


# ----- shared helpers ---------------------------------------------------------------------------------------


def _zone(context: LiaisonContext, data: MinutesData) -> str:
    return context.runtime.config.post_zone(data.post)


def _limits(context: LiaisonContext) -> Any:
    return context.runtime.config.meetings


async def _send(
    update: Update, context: LiaisonContext, d: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Say something in the chat (after answering a pressed button); draft d's buttons go when it ends."""
    if update.callback_query is not None:
        await answer(update.callback_query)
    assert update.effective_chat is not None
    sent = await update.effective_chat.send_message(text, reply_markup=markup)
    if markup is not None:
        await conversations.remember_prompt(context, d, sent)


def _person_label(config: Config, tr: Translator, person: Person, *, with_post: bool) -> str:
    """'Awa · Customs' on an owner button; a chief of no service by name alone (never 'Ibrahim · —')."""
    parts = [person.name]
    if person.service_code:
        parts.append(config.service_name(person.service_code, tr.language))
    if with_post:
        parts.append(config.post_name(person.post_code))
    return " · ".join(parts)


async def _people(context: LiaisonContext, data: MinutesData) -> list[Person]:
    """Members of the meeting's posts, who may own an action item."""
    async with context.runtime.db.reading() as session:
        members: list[Member] = []
        for post in data.posts():
            members += await list_members(session, post_code=post)
    return [Person(m.id or 0, m.display_name, m.post_code or "", m.service_code) for m in members]


def _owner_name(context: LiaisonContext, tr: Translator, owner: Owner, *, joint: bool) -> str:
    """An owner as the writer reads it (not escaped)."""
    config = context.runtime.config
    if owner.member_id is not None:
        base = owner.name or "?"
    else:
        base = config.service_name(owner.service_code, tr.language)
    return f"{base} · {config.post_name(owner.post_code)}" if joint else base


def _item_line(context: LiaisonContext, number: int, item: dict[str, Any], data: MinutesData) -> str:
    tr = context.tr
    today = local_today(zone=_zone(context, data), now=context.runtime.clock.now())
    return tr.gettext("{n}. <b>{owner}</b> — {task} — {due}").format(
        n=number,
        owner=html.escape(_owner_name(context, tr, _owner(item["owner"]), joint=data.partner is not None)),
        task=html.escape(item["text"]),
        due=day_label(tr, date.fromisoformat(item["due"]), today=today),
    )


def _pairs(context: LiaisonContext, data: MinutesData) -> list[str]:
    return service.all_pairs(context.runtime, data.posts())


def _pair_label(context: LiaisonContext, pair: str, data: MinutesData) -> str:
    post, code = pair.split("/", 1)
    name = context.runtime.config.service_name(code, context.tr.language)
    return f"{name} · {context.runtime.config.post_name(post)}" if data.partner else name


def _after(data: MinutesData, step: Step) -> Step:
    """The step after `step`: the next section, or the summary once it was shown."""
    if data.editing:
        return Step.CONFIRM
    return ORDER[ORDER.index(step) + 1] if step in ORDER[:-1] else Step.CONFIRM


def _date_problem(tr: Translator, problem: TimeProblem, text: str) -> str:
    return tr.gettext(DATE_PROBLEMS[problem]).format(text=html.escape(preview(text, 60)))


def _day_examples(tr: Translator) -> str:
    # TRANSLATORS: examples of due dates people may type.
    return tr.gettext("12/12, 12/12/2026, Friday, tomorrow, today")


# ----- questions --------------------------------------------------------------------------------------------


async def _title_offers(context: LiaisonContext, data: MinutesData) -> list[str]:
    """Titles from the post's recurring meeting reminders ("Réunion de coordination hebdomadaire")."""
    language = context.tr.language
    async with context.runtime.db.reading() as session:
        jobs = await list_jobs(session, kind=service.REMINDER_KIND, post_code=data.post)
    offers: list[str] = []
    for job in jobs:
        if job.trigger != "cron":
            continue
        text = job.payload.get("text")
        text = str(text.get(language) or text.get("fr") or "") if isinstance(text, dict) else str(text or "")
        if not MEETING_WORDS.search(fold(text)):
            continue
        # "Réunion de coordination hebdomadaire à 09:00 : tous les services..." -> its first clause, timeless.
        text = re.sub(r"\s+(?:à|a|at)\s+\d{1,2}\s*[:hH]\s*\d{0,2}", "", text)
        title = re.split(r"\s*[:.\n!?]", text, maxsplit=1)[0].strip()
        if title and len(title) <= 60 and title not in offers:
            offers.append(title)
    return offers[:4]


async def _ask_for(update: Update, context: LiaisonContext, draft: Draft, intro: str = "") -> None:
    """Ask the question of the draft's step, with its buttons."""
    tr, runtime = context.tr, context.runtime
    data = MinutesData.of(draft)
    d = draft.id or 0
    config = runtime.config
    now = runtime.clock.now()
    lines = [intro] if intro else []
    buttons: list[list[tuple[str, str]]] = []
    step = draft.step
    if step == Step.POST:
        lines.append(tr.gettext("For which post are these minutes?"))
        posts = [
            p
            for p in config.posts
            if may_write_minutes(context.active_member, p.code, writers=config.meetings.writers)
        ]
        markup = columns([(p.name, encode(PREFIX, "post", d, p.code)) for p in posts], 2)
        await _send(update, context, d, "\n".join(lines), markup)
        return
    if step == Step.JOINT:
        partner = config.post(data.post or "").partners[0]
        lines.append(
            tr.gettext("Was it a joint cross-border meeting with {partner}?").format(
                partner=html.escape(config.post_name(partner))
            )
        )
        buttons = [
            [
                (
                    tr.gettext("{post} only").format(post=config.post_name(data.post)),
                    encode(PREFIX, "joint", d, 0),
                )
            ],
            [
                (
                    tr.gettext("🤝 Joint, with {partner}").format(partner=config.post_name(partner)),
                    encode(PREFIX, "joint", d, 1),
                )
            ],
        ]
    elif step == Step.TITLE:
        lines.append(
            tr.gettext(
                "What meeting was it? Choose below or type a title (at most {limit} characters)."
            ).format(limit=tr.number(_limits(context).max_title_chars))
        )
        buttons = [[(offer, encode(PREFIX, "title", d, i))] for i, offer in enumerate(data.offers)]
    elif step == Step.WHEN:
        zone = _zone(context, data)
        lines.append(
            tr.gettext(
                "🕘 When was it held? Tap “Now” or type the day and time in the time of {post}, for example "
                "{example} or “{yesterday}”."
            ).format(
                post=html.escape(config.post_name(data.post)),
                example=f"{now.astimezone(ZoneInfo(zone)):%d/%m} 09:00",
                yesterday=tr.gettext("yesterday 3 pm"),
            )
        )
        buttons = [
            [
                (
                    tr.gettext("🕘 Now · {moment}").format(moment=tr.short_datetime(now, zone)),
                    encode(PREFIX, "now", d),
                )
            ]
        ]
    elif step == Step.ATTENDANCE:
        lines.append(
            tr.gettext("👥 Who attended? Tick the services present; the others are recorded as absent.")
        )
        await _send(update, context, d, "\n".join(lines), _attendance_markup(context, data, d))
        return
    elif step == Step.NOTES:
        limit = _limits(context).max_notes_chars
        if data.notes:
            lines.append(
                tr.gettext("📝 Notes: {n} of {limit} characters. Send more, or tap Next.").format(
                    n=tr.number(len(data.notes_text())), limit=tr.number(limit)
                )
            )
        else:
            lines.append(
                tr.gettext(
                    "📝 Notes: send them in one or several messages (at most {limit} characters in all)."
                ).format(limit=tr.number(limit))
            )
        buttons = _section_buttons(context, data, d, Step.NOTES, bool(data.notes))
    elif step == Step.DECISIONS:
        if data.decisions:
            lines.append(
                tr.ngettext("✅ {n} decision:", "✅ {n} decisions:", len(data.decisions)).format(
                    n=len(data.decisions)
                )
            )
            lines += fit_lines(
                tr, [f"{i}. {html.escape(t)}" for i, t in enumerate(data.decisions, 1)], budget=2500
            )
            lines.append(tr.gettext("Send more (one per line), or tap Next."))
        else:
            lines.append(tr.gettext("✅ Decisions: send them, one per line."))
        buttons = _section_buttons(context, data, d, Step.DECISIONS, bool(data.decisions))
    elif step == Step.ACTIONS:
        lines += _actions_lines(context, data)
        buttons = _section_buttons(context, data, d, Step.ACTIONS, bool(data.items or data.pending))
    elif step == Step.OWNER:
        lines.append(tr.gettext("Who owns this action item? A service, or a person."))
        buttons = [
            [(_pair_label(context, p, data), encode(PREFIX, "aown", d, "s", i))]
            for i, p in enumerate(_pairs(context, data))
        ]
        buttons.append([(tr.gettext("👤 A person"), encode(PREFIX, "apg", d, 0))])
        buttons.append([(tr.gettext("⬅️ Back"), encode(PREFIX, "aback", d))])
    elif step == Step.WHAT:
        owner = _owner((data.guided or {}).get("owner", {"post_code": data.post}))
        lines.append(
            tr.gettext("What must {owner} do? Send it in one message (at most {limit} characters).").format(
                owner=html.escape(_owner_name(context, tr, owner, joint=data.partner is not None)),
                limit=tr.number(_limits(context).max_action_chars),
            )
        )
        buttons = [[(tr.gettext("⬅️ Back"), encode(PREFIX, "aback", d))]]
    elif step == Step.DUE:
        lines.append(
            tr.gettext("By when? Tap a day or type a date ({examples}).").format(examples=_day_examples(tr))
        )
        buttons = _due_buttons(context, data, d)
    elif step == Step.REMOVE:
        lines.append(tr.gettext("Which action item should be removed?"))
        lines += fit_lines(
            tr, [_item_line(context, i, it, data) for i, it in enumerate(data.items, 1)], budget=3000
        )
        numbers = [(str(i), encode(PREFIX, "arm", d, i)) for i in range(1, len(data.items) + 1)]
        buttons = [numbers[i : i + 6] for i in range(0, len(numbers), 6)]
        buttons.append([(tr.gettext("⬅️ Back"), encode(PREFIX, "aback", d))])
    elif step == Step.NEXT:
        zone = _zone(context, data)
        lines.append(
            tr.gettext(
                "📅 The next meeting? Tap the date below, type a day and time (for example {example}), "
                "or skip."
            ).format(example=tr.gettext("Monday 09:00"))
        )
        if data.next_offer:
            offer = datetime.fromisoformat(data.next_offer)
            buttons.append([("📅 " + moment_label(tr, offer, zone), encode(PREFIX, "nm", d))])
        buttons.append([(tr.gettext("⏭ No date"), encode(PREFIX, "nmno", d))])
    elif step == Step.CONFIRM:
        await _send(update, context, d, await _summary(context, data), _confirm_markup(tr, d))
        return
    elif step == Step.EDIT:
        lines.append(tr.gettext("✏️ What do you want to change?"))
        labels = [
            (tr.gettext(label), encode(PREFIX, "ed", d, section.value)) for section, label in SECTIONS.items()
        ]
        buttons = [labels[i : i + 2] for i in range(0, len(labels), 2)]
        buttons.append([(tr.gettext("⬅️ Back to the summary"), encode(PREFIX, "back", d))])
    elif step == Step.CLEAR:
        what = Step(data.clearing or Step.NOTES)
        lines.append(tr.gettext(CLEAR_QUESTIONS.get(what, CLEAR_QUESTIONS[Step.NOTES])))
        buttons = [
            [
                (tr.gettext("🗑 Yes, clear"), encode(PREFIX, "clrok", d)),
                (tr.gettext("⬅️ No, keep"), encode(PREFIX, "clrno", d)),
            ]
        ]
    elif step == Step.DELETE:
        lines.append(tr.gettext("Delete this draft? Everything written in it will be lost."))
        buttons = [
            [
                (tr.gettext("🗑 Yes, delete"), encode(PREFIX, "delok", d)),
                (tr.gettext("⬅️ No, keep it"), encode(PREFIX, "delno", d)),
            ]
        ]
    await _send(update, context, d, "\n".join(lines), inline(buttons) if buttons else None)


def _section_buttons(
    context: LiaisonContext, data: MinutesData, d: int, step: Step, filled: bool
) -> list[list[tuple[str, str]]]:
    tr = context.tr
    if data.pending and step == Step.ACTIONS:
        return [
            [
                (
                    tr.ngettext("✅ Add this item", "✅ Add these {n} items", len(data.pending)).format(
                        n=len(data.pending)
                    ),
                    encode(PREFIX, "aok", d),
                ),
                (tr.gettext("✖ Discard"), encode(PREFIX, "ano", d)),
            ]
        ]
    if data.editing:
        forward = tr.gettext("✅ Back to the summary")
    elif filled:
        forward = tr.gettext(NEXT_LABELS[step])
    else:
        forward = {
            Step.NOTES: tr.gettext("⏭ No notes"),
            Step.DECISIONS: tr.gettext("⏭ No decisions"),
            Step.ACTIONS: tr.gettext("⏭ No action items"),
        }[step]
    rows: list[list[tuple[str, str]]] = []
    if step == Step.ACTIONS:
        row = [(tr.gettext("➕ Add with buttons"), encode(PREFIX, "aadd", d))]
        if data.items:
            row.append((tr.gettext("➖ Remove one"), encode(PREFIX, "arm", d)))
        rows.append(row)
    rows.append([(forward, encode(PREFIX, "fwd", d, step.value))])
    if filled:
        rows.append([(tr.gettext("🗑 Clear"), encode(PREFIX, "clr", d, step.value))])
    return rows


def _actions_lines(context: LiaisonContext, data: MinutesData) -> list[str]:
    tr = context.tr
    lines: list[str] = []
    if data.items:
        count = len(data.items)
        lines.append(tr.ngettext("📌 {n} action item:", "📌 {n} action items:", count).format(n=count))
        lines += fit_lines(
            tr, [_item_line(context, i, it, data) for i, it in enumerate(data.items, 1)], budget=3000
        )
        lines.append("")
        lines.append(tr.gettext("Send more lines (owner — task — date), or use the buttons."))
        return lines
    lines.append(
        tr.gettext(
            "📌 Action items: one per line, owner — task — due date. For example:\n<code>{example}</code>"
        ).format(example=html.escape(_example_line(context, data)))
    )
    lines.append(
        tr.gettext(
            "The owner is a service or a person of the post; the date: {examples}. Or use the buttons."
        ).format(examples=_day_examples(tr))
    )
    return lines


def _example_line(context: LiaisonContext, data: MinutesData) -> str:
    tr = context.tr
    services = context.runtime.config.post_services(data.post or "")
    service_name = context.runtime.config.service_name(services[0] if services else None, tr.language)
    return tr.gettext("Action: {service} — send the list of seized vehicles — {day}").format(
        service=service_name, day=tr.pgettext("due date", "Friday")
    )


def _attendance_markup(context: LiaisonContext, data: MinutesData, d: int) -> InlineKeyboardMarkup:
    tr = context.tr
    present = set(data.present)
    toggles = [
        (("✅ " if pair in present else "▫️ ") + _pair_label(context, pair, data), encode(PREFIX, "att", d, i))
        for i, pair in enumerate(_pairs(context, data))
    ]
    # Two a row only when every name fits half a small screen.
    narrow = all(len(label) <= 16 for label, _ in toggles)
    rows = [toggles[i : i + 2] for i in range(0, len(toggles), 2)] if narrow else [[t] for t in toggles]
    rows.append(
        [
            (
                tr.gettext("✅ Back to the summary") if data.editing else tr.gettext("➡️ Continue"),
                encode(PREFIX, "attok", d),
            )
        ]
    )
    return inline(rows)


def _due_buttons(context: LiaisonContext, data: MinutesData, d: int) -> list[list[tuple[str, str]]]:
    tr = context.tr
    today = local_today(zone=_zone(context, data), now=context.runtime.clock.now())
    friday = today + timedelta(days=(4 - today.weekday() - 1) % 7 + 1)
    options = [(tr.pgettext("due date", "Tomorrow"), today + timedelta(days=1))]
    if friday != today + timedelta(days=1):
        # TRANSLATORS: a due-date button: the coming Friday.
        options.append((tr.gettext("This Friday"), friday))
    options += [
        (tr.gettext("In a week"), today + timedelta(days=7)),
        (tr.gettext("In two weeks"), today + timedelta(days=14)),
    ]
    buttons = [
        (f"{label} · {day_label(tr, day, today=today)}", encode(PREFIX, "adue", d, f"{day:%Y%m%d}"))
        for label, day in options
    ]
    # One a row: "In two weeks · Mon, Dec 7" is cut short on a small screen when two share a row.
    rows = [[button] for button in buttons]
    rows.append([(tr.gettext("⬅️ Back"), encode(PREFIX, "aback", d))])
    return rows


def _confirm_markup(tr: Translator, d: int) -> InlineKeyboardMarkup:
    return inline(
        [
            [
                (tr.gettext("📤 Publish"), encode(PREFIX, "pub", d)),
                (tr.gettext("✏️ Edit"), encode(PREFIX, "edit", d)),
            ],
            [(tr.gettext("🗑 Delete the draft"), encode(PREFIX, "del", d))],
        ]
    )


async def _summary(context: LiaisonContext, data: MinutesData) -> str:
    """Everything the minutes hold, for a last look (long parts shortened to fit one message)."""
    tr, config = context.tr, context.runtime.config
    zone = _zone(context, data)
    where = html.escape(config.post_name(data.post))
    if data.partner:
        where = tr.gettext("Joint meeting {post} – {partner}").format(
            post=where, partner=html.escape(config.post_name(data.partner))
        )
    present = set(data.present)
    pairs = _pairs(context, data)
    lines = [
        "<b>" + html.escape(tr.gettext("📋 Check the minutes before publishing")) + "</b>",
        f"<b>{html.escape(data.title or '')}</b>",
        where
        + " · "
        + (moment_label(tr, datetime.fromisoformat(data.held_at), zone) if data.held_at else "—"),
        labelled(
            tr,
            "<b>" + html.escape(tr.pgettext("attendance", "Present")) + "</b>",
            html.escape(", ".join(_pair_label(context, p, data) for p in pairs if p in present)) or "—",
        ),
        labelled(
            tr,
            "<b>" + html.escape(tr.pgettext("attendance", "Absent")) + "</b>",
            html.escape(", ".join(_pair_label(context, p, data) for p in pairs if p not in present)) or "—",
        ),
        "",
    ]
    notes = data.notes_text()
    if notes:
        lines.append(
            tr.gettext("📝 Notes: {n} characters").format(n=tr.number(len(notes)))
            + "\n<i>"
            + html.escape(preview(notes, 300))
            + "</i>"
        )
    else:
        lines.append(tr.gettext("📝 No notes"))
    lines.append("")
    lines.append(
        tr.ngettext("✅ {n} decision", "✅ {n} decisions", len(data.decisions)).format(n=len(data.decisions))
    )
    lines += fit_lines(
        tr, [f"{i}. {html.escape(preview(t, 150))}" for i, t in enumerate(data.decisions, 1)], budget=900
    )
    lines.append("")
    lines.append(
        tr.ngettext("📌 {n} action item", "📌 {n} action items", len(data.items)).format(n=len(data.items))
    )
    short = [dict(item, text=preview(item["text"], 100)) for item in data.items]
    lines += fit_lines(tr, [_item_line(context, i, it, data) for i, it in enumerate(short, 1)], budget=1500)
    lines.append("")
    if data.next_at:
        lines.append(
            tr.gettext("📅 Next meeting: {moment}").format(
                moment=moment_label(tr, datetime.fromisoformat(data.next_at), zone)
            )
        )
    async with context.runtime.db.reading() as session:
        readers = {m.id for post in data.posts() for m in await list_members(session, post_code=post)}
    readers.add(context.active_member.id)
    lines.append(
        tr.ngettext(
            "📤 Publishing sends the minutes to {n} person.",
            "📤 Publishing sends the minutes to {n} people.",
            len(readers),
        ).format(n=len(readers))
    )
    return "\n".join(lines)


# ----- starting and resuming --------------------------------------------------------------------------------


async def meeting_command(update: Update, context: LiaisonContext) -> None:
    """/meeting: continue the minutes in progress, or start new ones."""
    message, tr = update.effective_message, context.tr
    assert message is not None
    draft = await conversations.current(context, MEETING)
    if draft is not None and draft.step != Step.PUBLISHED:
        data = MinutesData.of(draft)
        title = data.title or tr.gettext("untitled")
        zone = _zone(context, data) if data.post else "UTC"
        offered = await message.reply_text(
            tr.gettext("📋 You have minutes in progress: “{title}”, started {moment}.").format(
                title=html.escape(preview(title, 80)), moment=tr.short_datetime(draft.created_at, zone)
            ),
            reply_markup=inline(
                [
                    [(tr.gettext("▶️ Continue"), encode(PREFIX, "cont", draft.id))],
                    [(tr.gettext("🆕 Start over (deletes the draft)"), encode(PREFIX, "new", draft.id))],
                ]
            ),
        )
        await conversations.remember_prompt(context, draft.id, offered)
        return
    await _start(update, context, token=f"{message.chat_id}:{message.message_id}")


async def _start(update: Update, context: LiaisonContext, *, token: str) -> bool:
    """Open a new draft (replacing the one in progress) and ask its first question; False for a repeat."""
    member, config = context.active_member, context.runtime.config
    own = member.post_code if member.post_code and not is_global(member) else None
    data = MinutesData(key=uuid.uuid4().hex, post=own)
    step = Step.POST
    if own is not None:
        step = Step.JOINT if config.post(own).partners else Step.TITLE
        data.offers = await _title_offers(context, data) if step == Step.TITLE else []
    draft, fresh = await conversations.begin(update, context, MEETING, token=token, step=step, data=data)
    if not fresh:
        return False
    intro = context.tr.gettext(
        "📋 <b>New minutes</b>. The draft is kept as you go: /meeting brings you back to it, "
        "/cancel deletes it."
    )
    await _ask_for(update, context, draft, intro)
    return True


# ----- buttons ----------------------------------------------------------------------------------------------

# The step each button belongs to (None: checked by the handler itself).
BUTTON_STEPS: dict[str, tuple[Step, ...] | None] = {
    "post": (Step.POST,),
    "joint": (Step.JOINT,),
    "title": (Step.TITLE,),
    "now": (Step.WHEN,),
    "att": (Step.ATTENDANCE,),
    "attok": (Step.ATTENDANCE,),
    "fwd": None,
    "clr": None,
    "clrok": (Step.CLEAR,),
    "clrno": (Step.CLEAR,),
    "aok": (Step.ACTIONS,),
    "ano": (Step.ACTIONS,),
    "aadd": (Step.ACTIONS,),
    "aown": (Step.OWNER,),
    "apg": (Step.OWNER,),
    "aback": (Step.OWNER, Step.WHAT, Step.DUE, Step.REMOVE),
    "adue": (Step.DUE,),
    "arm": (Step.ACTIONS, Step.REMOVE),
    "nm": (Step.NEXT,),
    "nmno": (Step.NEXT,),
    "pub": (Step.CONFIRM,),
    "edit": (Step.CONFIRM,),
    "del": (Step.CONFIRM,),
    "ed": (Step.EDIT,),
    "back": (Step.EDIT,),
    "delok": (Step.DELETE,),
    "delno": (Step.DELETE,),
    "cont": None,
    "new": None,
}


async def draft_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """A minutes draft's button, checked against the draft (closed, stale, repeated and forged presses)."""
    query, tr = update.callback_query, context.tr
    assert query is not None
    draft = await conversations.current(context, MEETING)
    d = data.int_arg(0)
    if draft is None or d is None or draft.id != d:
        await answer(query, tr.gettext(CLOSED), alert=True)
        return
    if not may_write_minutes(
        context.active_member,
        None if draft.step == Step.POST else MinutesData.of(draft).post,
        writers=context.runtime.config.meetings.writers,
    ):
        await answer(query, tr.gettext(NOT_ALLOWED), alert=True)
        return
    verb = data.action
    if draft.step == Step.PUBLISHED:
        await answer(query, tr.gettext("Already published: minutes are only published once."))
        return
    if verb == "cont":
        if not draft.focused:
            await conversations.focus(update, context, draft)
        await _ask_for(update, context, draft)
        return
    if verb == "new":
        if not await _start(update, context, token=f"q:{query.id}"):
            await answer(query)
        return
    steps = BUTTON_STEPS.get(verb, ())
    if verb in ("fwd", "clr"):
        steps = (
            (Step(data.args[1]),) if len(data.args) > 1 and data.args[1] in {s.value for s in Step} else ()
        )
    if not steps or draft.step not in steps:
        await answer(query, tr.gettext(EARLIER))
        return
    if not draft.focused:
        await conversations.focus(update, context, draft)
    answers = MinutesData.of(draft)
    if not answers.remember(f"q:{query.id}"):
        await answer(query)
        return
    handler = _BUTTONS.get(verb)
    if handler is None:
        await answer(query, tr.gettext("This button is no longer valid."), alert=True)
        return
    await handler(update, context, draft, answers, data)


async def _move(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, step: Step, intro: str = ""
) -> None:
    """Store the answers, move to `step` (only from where the draft was) and ask its question."""
    if step == Step.CONFIRM:
        data.editing = True
    if step == Step.TITLE and not data.offers:
        data.offers = await _title_offers(context, data)
    if step == Step.NEXT and data.held_at:
        # The same day and hour next week, when that is still ahead (the date may have been edited).
        offer = datetime.fromisoformat(data.held_at) + timedelta(days=7)
        data.next_offer = offer.isoformat() if offer > context.runtime.clock.now() else None
    # The next question comes in a new message: the answered ones keep no live button behind it.
    answered = data.take_prompts()
    fresh = await conversations.advance(context, MEETING, draft, step=step, data=data)
    if fresh is None:
        if update.callback_query is not None:
            await answer(update.callback_query, context.tr.gettext("Already chosen."))
        return
    await conversations.clear_prompts(context, answered)
    await _ask_for(update, context, fresh, intro)


async def _stay(update: Update, context: LiaisonContext, draft: Draft, data: MinutesData) -> Draft | None:
    """Store new answers without moving (the draft must still be at its step)."""
    return await conversations.advance(context, MEETING, draft, step=draft.step, data=data)


async def _on_post(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    config = context.runtime.config
    code = cb.args[1] if len(cb.args) > 1 else ""
    if config.find_post(code) is None or not may_write_minutes(
        context.active_member, code, writers=config.meetings.writers
    ):
        assert update.callback_query is not None
        await answer(update.callback_query, context.tr.gettext(NOT_ALLOWED), alert=True)
        return
    data.post = code
    await _move(update, context, draft, data, Step.JOINT if config.post(code).partners else Step.TITLE)


async def _on_joint(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    partners = context.runtime.config.post(data.post or "").partners
    data.partner = partners[0] if cb.int_arg(1) == 1 and partners else None
    await _move(update, context, draft, data, Step.TITLE)


async def _on_title(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    index = cb.int_arg(1)
    if index is None or not 0 <= index < len(data.offers):
        assert update.callback_query is not None
        await answer(update.callback_query, context.tr.gettext("This button is no longer valid."), alert=True)
        return
    data.title = data.offers[index]
    await _move(update, context, draft, data, _after(data, Step.TITLE))


async def _on_now(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    data.held_at = context.runtime.clock.now().isoformat()
    await _move(update, context, draft, data, _after(data, Step.WHEN))


async def _on_toggle(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    query = update.callback_query
    assert query is not None
    pairs = _pairs(context, data)
    index = cb.int_arg(1)
    if index is None or not 0 <= index < len(pairs):
        await answer(query, context.tr.gettext("This button is no longer valid."), alert=True)
        return
    pair = pairs[index]
    data.present = [p for p in data.present if p != pair] if pair in data.present else [*data.present, pair]
    fresh = await _stay(update, context, draft, data)
    await answer(query)
    if fresh is not None:
        await edit_message(
            query,
            context.tr.gettext(
                "👥 Who attended? Tick the services present; the others are recorded as absent."
            ),
            _attendance_markup(context, data, draft.id or 0),
        )


async def _on_attendance_done(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    if not data.present:
        assert update.callback_query is not None
        await answer(
            update.callback_query, context.tr.gettext("Tick at least one service present."), alert=True
        )
        return
    await _move(update, context, draft, data, _after(data, Step.ATTENDANCE))


async def _on_forward(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    step = Step(draft.step)
    if step == Step.ACTIONS and data.pending:
        assert update.callback_query is not None
        await answer(
            update.callback_query,
            context.tr.gettext("First add or discard the items read above."),
            alert=True,
        )
        return
    await _move(update, context, draft, data, _after(data, step))


async def _on_clear(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    data.clearing = draft.step
    await _move(update, context, draft, data, Step.CLEAR)


async def _on_clear_answer(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    section = Step(data.clearing or Step.NOTES)
    if cb.action == "clrok":
        if section == Step.NOTES:
            data.notes = []
        elif section == Step.DECISIONS:
            data.decisions = []
        elif section == Step.ACTIONS:
            data.items, data.pending = [], []
    data.clearing = None
    await _move(update, context, draft, data, section)


async def _on_pending(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    query = update.callback_query
    assert query is not None
    if not data.pending:
        await answer(query, context.tr.gettext("Already chosen."))
        return
    if cb.action == "aok":
        room = _limits(context).max_actions - len(data.items)
        data.items += data.pending[:room]
    data.pending = []
    await _move(update, context, draft, data, Step.ACTIONS)


async def _on_add(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    if len(data.items) >= _limits(context).max_actions:
        assert update.callback_query is not None
        await answer(
            update.callback_query,
            context.tr.gettext("The limit is {limit} action items per meeting.").format(
                limit=_limits(context).max_actions
            ),
            alert=True,
        )
        return
    data.guided = {}
    await _move(update, context, draft, data, Step.OWNER)


async def _on_owner(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    query = update.callback_query
    assert query is not None
    kind, index = (cb.args[1] if len(cb.args) > 1 else ""), cb.int_arg(2)
    owner: Owner | None = None
    if kind == "s" and index is not None:
        pairs = _pairs(context, data)
        if 0 <= index < len(pairs):
            post, code = pairs[index].split("/", 1)
            owner = Owner(post_code=post, service_code=code)
    elif kind == "m" and index is not None:
        person = next((p for p in await _people(context, data) if p.member_id == index), None)
        if person is not None:
            owner = Owner(post_code=person.post_code, member_id=person.member_id, name=person.name)
    if owner is None:
        await answer(query, context.tr.gettext("This button is no longer valid."), alert=True)
        return
    data.guided = {"owner": owner.dump()}
    await _move(update, context, draft, data, Step.WHAT)


async def _on_people(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    """A page of the posts' people, to pick a person owner (edited in place)."""
    query, tr = update.callback_query, context.tr
    assert query is not None
    people = sorted(await _people(context, data), key=lambda p: (p.post_code != data.post, fold(p.name)))
    pages = max(1, (len(people) + PEOPLE_PAGE - 1) // PEOPLE_PAGE)
    page = min(max(cb.int_arg(1) or 0, 0), pages - 1)
    d = draft.id or 0
    config = context.runtime.config
    rows = [
        [
            (
                _person_label(config, tr, p, with_post=bool(data.partner)),
                encode(PREFIX, "aown", d, "m", p.member_id),
            )
        ]
        for p in people[page * PEOPLE_PAGE : (page + 1) * PEOPLE_PAGE]
    ]
    nav = []
    if page > 0:
        nav.append(("◀️", encode(PREFIX, "apg", d, page - 1)))
    if page + 1 < pages:
        nav.append(("▶️", encode(PREFIX, "apg", d, page + 1)))
    if nav:
        rows.append(nav)
    rows.append([(tr.gettext("⬅️ Back"), encode(PREFIX, "aback", d))])
    await answer(query)
    await edit_message(
        query,
        tr.gettext("👤 Who owns this action item? ({page}/{pages})").format(page=page + 1, pages=pages),
        inline(rows),
    )


async def _on_back(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    data.guided = None
    await _move(update, context, draft, data, Step.ACTIONS)


async def _on_due(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    raw = cb.args[1] if len(cb.args) > 1 else ""
    query = update.callback_query
    assert query is not None
    try:
        day = datetime.strptime(raw, "%Y%m%d").date()
        check_day(day, zone=_zone(context, data), now=context.runtime.clock.now())
    except (ValueError, TimeRefused):
        await answer(query, context.tr.gettext("This button is no longer valid."), alert=True)
        return
    await _take_guided_due(update, context, draft, data, day)


async def _take_guided_due(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, day: date
) -> None:
    guided = data.guided or {}
    if "owner" not in guided or "text" not in guided:
        await _move(update, context, draft, data, Step.ACTIONS)
        return
    if len(data.items) >= _limits(context).max_actions:
        data.guided = None
        await _move(update, context, draft, data, Step.ACTIONS)
        return
    data.items = [*data.items, _item(_owner(guided["owner"]), guided["text"], day)]
    data.guided = None
    await _move(update, context, draft, data, Step.ACTIONS, context.tr.gettext("📌 Added."))


async def _on_remove(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    number = cb.int_arg(1)
    if draft.step == Step.ACTIONS:
        await _move(update, context, draft, data, Step.REMOVE)
        return
    if number is None or not 1 <= number <= len(data.items):
        assert update.callback_query is not None
        await answer(update.callback_query, context.tr.gettext("This button is no longer valid."), alert=True)
        return
    data.items = [item for i, item in enumerate(data.items, 1) if i != number]
    await _move(update, context, draft, data, Step.ACTIONS, context.tr.gettext("➖ Removed."))


async def _on_next_meeting(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    if (
        cb.action == "nm"
        and data.next_offer
        and datetime.fromisoformat(data.next_offer) > context.runtime.clock.now()
    ):
        data.next_at = data.next_offer
    elif cb.action == "nmno":
        data.next_at = None
    else:
        assert update.callback_query is not None
        await answer(update.callback_query, context.tr.gettext("This button is no longer valid."), alert=True)
        return
    await _move(update, context, draft, data, Step.CONFIRM)


async def _on_edit(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    await _move(update, context, draft, data, Step.EDIT)


async def _on_edit_section(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    section = cb.args[1] if len(cb.args) > 1 else ""
    if section not in {s.value for s in SECTIONS}:
        assert update.callback_query is not None
        await answer(update.callback_query, context.tr.gettext("This button is no longer valid."), alert=True)
        return
    await _move(update, context, draft, data, Step(section))


async def _on_back_to_summary(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    await _move(update, context, draft, data, Step.CONFIRM)


async def _on_delete(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    query = update.callback_query
    assert query is not None
    if cb.action == "del":
        await _move(update, context, draft, data, Step.DELETE)
    elif cb.action == "delno":
        await _move(update, context, draft, data, Step.CONFIRM)
    elif await conversations.close(context, draft):
        await answer(query)
        await edit_message(query, context.tr.gettext(CANCELLED))
        await conversations.end_prompts(update, context, draft)
    else:
        await answer(query, context.tr.gettext(CLOSED))


async def _on_publish(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, cb: CallbackData
) -> None:
    """Publish once, whatever the number of taps: the draft leaves the summary in the same transaction."""
    query, tr, runtime, member = update.callback_query, context.tr, context.runtime, context.active_member
    assert query is not None and member.id is not None
    missing = next(
        (
            s
            for s, v in ((Step.TITLE, data.title), (Step.WHEN, data.held_at), (Step.ATTENDANCE, data.present))
            if not v
        ),
        None,
    )
    if missing is not None:
        await _move(update, context, draft, data, missing)
        return
    minutes = service.NewMinutes(
        token=f"mt:{data.key}",
        post_code=data.post or "",
        partner_post_code=data.partner,
        title=data.title or "",
        held_at=datetime.fromisoformat(data.held_at or ""),
        present=data.present,
        notes=data.notes_text(),
        decisions=data.decisions,
        items=[
            service.NewItem(_owner(i["owner"]), i["text"], date.fromisoformat(i["due"])) for i in data.items
        ],
        next_meeting_at=datetime.fromisoformat(data.next_at) if data.next_at else None,
    )
    # The published draft stays only to answer a second tap: its prompts are cleared below, once.
    asked = data.take_prompts()
    try:
        async with runtime.db.transaction() as session:
            if not await conversations.advance_in(
                session, context, MEETING, draft, step=Step.PUBLISHED, from_steps=(Step.CONFIRM,)
            ):
                published = None
            else:
                published = await service.publish(session, runtime, member, minutes)
                data.meeting_id = published.meeting.id
                await conversations.advance_in(
                    session,
                    context,
                    MEETING,
                    draft,
                    step=Step.PUBLISHED,
                    from_steps=(Step.PUBLISHED,),
                    data=data,
                )
                # A published draft takes no more typed messages (it stays only to answer a second tap).
                await draft_store.unfocus_drafts(session, member_id=member.id)
    except service.MinutesRefused:
        await answer(
            query,
            tr.gettext("These minutes can no longer be published as they are: check them with ✏️ Edit."),
            alert=True,
        )
        return
    if published is None:
        await answer(query, tr.gettext("Already published: minutes are only published once."))
        return
    await answer(query, tr.gettext("Published."))
    await edit_message(
        query, await _summary(context, data) + "\n\n✅ " + html.escape(tr.gettext("Published."))
    )
    text = tr.ngettext(
        "✅ Minutes published to {n} person.", "✅ Minutes published to {n} people.", published.readers
    ).format(n=published.readers)
    if data.items:
        text += "\n" + tr.ngettext(
            "📌 {n} action item sent to its owners: follow it with /actions.",
            "📌 {n} action items sent to their owners: follow them with /actions.",
            len(data.items),
        ).format(n=len(data.items))
    assert update.effective_chat is not None
    await update.effective_chat.send_message(text)
    await conversations.end_prompts(update, context, asked)


_BUTTONS = {
    "post": _on_post,
    "joint": _on_joint,
    "title": _on_title,
    "now": _on_now,
    "att": _on_toggle,
    "attok": _on_attendance_done,
    "fwd": _on_forward,
    "clr": _on_clear,
    "clrok": _on_clear_answer,
    "clrno": _on_clear_answer,
    "aok": _on_pending,
    "ano": _on_pending,
    "aadd": _on_add,
    "aown": _on_owner,
    "apg": _on_people,
    "aback": _on_back,
    "adue": _on_due,
    "arm": _on_remove,
    "nm": _on_next_meeting,
    "nmno": _on_next_meeting,
    "edit": _on_edit,
    "ed": _on_edit_section,
    "back": _on_back_to_summary,
    "del": _on_delete,
    "delok": _on_delete,
    "delno": _on_delete,
    "pub": _on_publish,
}


# ----- typed answers ----------------------------------------------------------------------------------------


async def draft_input(update: Update, context: LiaisonContext, draft: Draft) -> bool:
    """Typed answers at the title, date, notes, decisions, action items and next-meeting steps."""
    message, tr = update.effective_message, context.tr
    assert message is not None
    if draft.step == Step.PUBLISHED:
        return False
    if draft.step not in TYPED_STEPS:
        await message.reply_text(tr.gettext(USE_BUTTONS))
        return True
    if message.text is None:
        await message.reply_text(
            tr.gettext("Please send text here (photos, voice notes and files are not kept).")
        )
        return True
    data = MinutesData.of(draft)
    if not data.remember(f"m:{message.message_id}"):
        return True  # the same message delivered again
    text = message.text
    step = Step(draft.step)
    if step == Step.TITLE:
        await _typed_title(update, context, draft, data, text)
    elif step == Step.WHEN:
        await _typed_when(update, context, draft, data, text)
    elif step == Step.NOTES:
        await _typed_notes(update, context, draft, data, text)
    elif step == Step.DECISIONS:
        await _typed_decisions(update, context, draft, data, text)
    elif step == Step.ACTIONS:
        await _typed_actions(update, context, draft, data, text)
    elif step == Step.WHAT:
        await _typed_what(update, context, draft, data, text)
    elif step == Step.DUE:
        await _typed_due(update, context, draft, data, text)
    elif step == Step.NEXT:
        await _typed_next(update, context, draft, data, text)
    return True


async def _reply(update: Update, text: str) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(text)


def _too_long(tr: Translator, length: int, limit: int) -> str:
    return tr.gettext("This text has {length} characters; the limit is {limit}. Send a shorter one.").format(
        length=tr.number(length), limit=tr.number(limit)
    )


async def _typed_title(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, text: str
) -> None:
    title = " ".join(text.split())
    limit = _limits(context).max_title_chars
    if not title:
        await _reply(update, context.tr.gettext("The title is empty. Send the meeting's name."))
        return
    if len(title) > limit:
        await _reply(update, _too_long(context.tr, len(title), limit))
        return
    data.title = title
    await _move(update, context, draft, data, _after(data, Step.TITLE))


async def _typed_when(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, text: str
) -> None:
    tr, now, zone = context.tr, context.runtime.clock.now(), _zone(context, data)
    try:
        moment = parse_day_and_time(text, zone=zone, now=now, direction=Direction.PAST)
        if moment > now + timedelta(hours=1):
            # Minutes are of a meeting held: a time later today is a slip.
            raise TimeRefused(TimeProblem.TOO_FAR)
        check_day(
            local_today(zone=zone, now=moment),
            zone=zone,
            now=now,
            back_days=_limits(context).max_days_back,
            ahead_days=1,
        )
    except TimeRefused as refused:
        hint = (
            tr.gettext("Send the day and the time, for example “{example}”.").format(
                example=tr.gettext("yesterday 3 pm")
            )
            if refused.problem == TimeProblem.UNREADABLE
            else tr.gettext("Minutes may be dated at most {days} days back.").format(
                days=_limits(context).max_days_back
            )
            if refused.problem == TimeProblem.TOO_OLD
            else ""
        )
        await _reply(update, (_date_problem(tr, refused.problem, text) + " " + hint).strip())
        return
    data.held_at = moment.isoformat()
    await _move(update, context, draft, data, _after(data, Step.WHEN))


async def _typed_notes(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, text: str
) -> None:
    tr, limit = context.tr, _limits(context).max_notes_chars
    if not text.strip():
        return
    total = len(data.notes_text()) + (2 if data.notes else 0) + len(text)
    if total > limit:
        await _reply(
            update,
            tr.gettext(
                "Not added: the notes would reach {total} characters; the limit is {limit}. "
                "Send a shorter part, or clear the notes."
            ).format(total=tr.number(total), limit=tr.number(limit)),
        )
        return
    data.notes = [*data.notes, text.strip("\n")]
    fresh = await _stay(update, context, draft, data)
    if fresh is not None:
        await _ask_for(update, context, fresh)


_BULLET = re.compile(r"^\s*(?:[-•*▪►·]+\s*|\d{1,2}[.)]\s+)")


async def _typed_decisions(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, text: str
) -> None:
    tr, limits = context.tr, _limits(context)
    refused: list[str] = []
    added = 0
    for raw in text.splitlines():
        line = _BULLET.sub("", raw).strip()
        if not line:
            continue
        if len(line) > limits.max_decision_chars:
            refused.append(
                tr.gettext("“{line}”: {length} characters, the limit is {limit}.").format(
                    line=html.escape(preview(line, 60)),
                    length=tr.number(len(line)),
                    limit=tr.number(limits.max_decision_chars),
                )
            )
        elif len(data.decisions) >= limits.max_decisions:
            refused.append(
                tr.gettext("“{line}”: over the limit of {limit} decisions.").format(
                    line=html.escape(preview(line, 60)), limit=limits.max_decisions
                )
            )
        else:
            data.decisions = [*data.decisions, line]
            added += 1
    intro = ""
    if refused:
        intro = tr.gettext("⚠️ Not added:") + "\n" + "\n".join(fit_lines(tr, refused, budget=1200))
    fresh = await _stay(update, context, draft, data) if added else draft
    if fresh is not None:
        await _ask_for(update, context, fresh, intro)


def _problem_text(context: LiaisonContext, line: ReadLine) -> str:
    tr = context.tr
    problem = line.problem
    if problem == LineProblem.SHAPE:
        return tr.gettext("separate the owner, the task and the date with — or :")
    if problem == LineProblem.OWNER_UNKNOWN:
        return tr.gettext("“{owner}” is neither a service nor a person of the post").format(
            owner=html.escape(preview(line.owner_text, 40))
        )
    if problem == LineProblem.OWNER_AMBIGUOUS:
        return tr.gettext("“{owner}” could be {names}: write the full name").format(
            owner=html.escape(preview(line.owner_text, 40)),
            names=html.escape(
                # "Police nationale ou Police sanitaire": the reader's own way of offering a choice.
                tr.either(
                    [
                        context.runtime.config.service_name(c.removeprefix(SERVICE), tr.language)
                        if c.startswith(SERVICE)
                        else c
                        for c in line.candidates
                    ]
                )
            ),
        )
    if problem == LineProblem.NO_TASK:
        return tr.gettext("the task is missing")
    if problem == LineProblem.TOO_LONG:
        return tr.gettext("the task has {length} characters, the limit is {limit}").format(
            length=tr.number(len(line.task)), limit=tr.number(_limits(context).max_action_chars)
        )
    if problem == LineProblem.LIMIT:
        return tr.gettext("over the limit of {limit} action items per meeting").format(
            limit=_limits(context).max_actions
        )
    assert line.date_problem is not None
    return _date_problem(tr, line.date_problem, line.due_text or "")


async def _typed_actions(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, text: str
) -> None:
    tr, runtime = context.tr, context.runtime
    limits = _limits(context)
    owners = Owners(runtime.config, data.posts(), await _people(context, data))
    read = read_lines(
        text,
        owners,
        zone=_zone(context, data),
        now=runtime.clock.now(),
        max_chars=limits.max_action_chars,
        room=limits.max_actions - len(data.items) - len(data.pending),
    )
    good = [line for line in read if line.problem is None and line.owner is not None and line.due is not None]
    bad = [line for line in read if line.problem is not None]
    data.pending = [
        *data.pending,
        *(_item(line.owner, line.task, line.due) for line in good if line.owner and line.due),
    ]
    lines: list[str] = []
    if data.pending:
        lines.append(
            tr.ngettext("I read {n} action item:", "I read {n} action items:", len(data.pending)).format(
                n=len(data.pending)
            )
        )
        lines += fit_lines(
            tr,
            [_item_line(context, i, it, data) for i, it in enumerate(data.pending, len(data.items) + 1)],
            budget=2000,
        )
    if bad:
        if lines:
            lines.append("")
        lines.append(
            tr.ngettext("⚠️ I could not read {n} line:", "⚠️ I could not read {n} lines:", len(bad)).format(
                n=len(bad)
            )
        )
        lines += fit_lines(
            tr,
            [
                tr.gettext("• “{line}”: {problem}").format(
                    line=html.escape(preview(line.line, 80)), problem=_problem_text(context, line)
                )
                for line in bad
            ],
            budget=1200,
        )
        lines.append(
            tr.gettext("Example: <code>{example}</code>").format(
                example=html.escape(_example_line(context, data))
            )
        )
    if data.pending:
        lines.append("")
        lines.append(tr.gettext("Check the items read, then add them."))
    fresh = await _stay(update, context, draft, data) if good else draft
    if fresh is None:
        return
    d = draft.id or 0
    markup = inline(_section_buttons(context, data, d, Step.ACTIONS, bool(data.items or data.pending)))
    assert update.effective_message is not None
    shown = await update.effective_message.reply_text(
        "\n".join(lines) or tr.gettext(USE_BUTTONS), reply_markup=markup
    )
    await conversations.remember_prompt(context, d, shown)


async def _typed_what(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, text: str
) -> None:
    task = text.strip()
    limit = _limits(context).max_action_chars
    if not task:
        return
    if len(task) > limit:
        await _reply(update, _too_long(context.tr, len(task), limit))
        return
    data.guided = {**(data.guided or {}), "text": task}
    await _move(update, context, draft, data, Step.DUE)


async def _typed_due(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, text: str
) -> None:
    tr, zone, now = context.tr, _zone(context, data), context.runtime.clock.now()
    try:
        day = check_day(parse_day(text, zone=zone, now=now, direction=Direction.FUTURE), zone=zone, now=now)
    except TimeRefused as refused:
        await _reply(
            update,
            _date_problem(tr, refused.problem, text)
            + " "
            + tr.gettext("For example: {examples}.").format(examples=_day_examples(tr)),
        )
        return
    await _take_guided_due(update, context, draft, data, day)


async def _typed_next(
    update: Update, context: LiaisonContext, draft: Draft, data: MinutesData, text: str
) -> None:
    tr, zone, now = context.tr, _zone(context, data), context.runtime.clock.now()
    held = datetime.fromisoformat(data.held_at) if data.held_at else now
    try:
        moment = parse_day_and_time(
            text,
            zone=zone,
            now=now,
            direction=Direction.FUTURE,
            default_time=held.astimezone(ZoneInfo(zone)).time(),
        )
        if moment <= now:
            raise TimeRefused(TimeProblem.PAST)
        check_day(local_today(zone=zone, now=moment), zone=zone, now=now)
    except TimeRefused as refused:
        await _reply(
            update,
            _date_problem(tr, refused.problem, text)
            + " "
            + tr.gettext("For example: “{example}”.").format(example=tr.gettext("Monday 09:00")),
        )
        return
    data.next_at = moment.isoformat()
    await _move(update, context, draft, data, Step.CONFIRM)


# ----- leaving and cancelling -------------------------------------------------------------------------------


async def on_left(update: Update, context: LiaisonContext, draft: Draft) -> None:
    """Another conversation took the focus: the minutes stay, and the author is told how to come back."""
    if draft.step == Step.PUBLISHED:
        return
    assert update.effective_chat is not None
    await update.effective_chat.send_message(context.tr.gettext(KEPT))


MEETING = Conversation(
    "meeting",
    draft_input,
    ttl=DRAFT_TTL,
    cancelled=CANCELLED,
    typed_steps=TYPED_STEPS,
    on_left=on_left,
)
