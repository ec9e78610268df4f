"""Reminders: chiefs create them step by step with /remind; /reminders lists a post's reminders.

Commands: /remind (a conversation; /cancel leaves it), /reminders.
Callback prefixes: rm (the /remind steps), rl (pause, resume and delete buttons under /reminders).
The unfinished /remind draft lives in memory (user_data), like the conversation state itself: a restart of the
bot loses a draft that was not yet confirmed, and the chief starts /remind again. Saved reminders are rows.
"""

from __future__ import annotations

import contextlib
import html
import uuid
import warnings
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import get_day_names
from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import callbacks
from bot.access import Action, can, is_global
from bot.i18n import N_, Translator
from bot.keyboards import columns, inline
from bot.runtime import LiaisonContext, Runtime
from bot.scheduler import api
from bot.scheduler.parsing import (
    TimeProblem,
    TimeRefused,
    example_moment,
    parse_moment,
    parse_time_of_day,
)
from bot.scheduler.reminders import KIND, MAX_TEXT_LENGTH, audience_payload
from bot.scheduler.triggers import cron_args
from bot.texts import member_translator, post_name, service_name
from db.audit import record_action
from db.members import Member, Role
from db.schedules import JobSource, JobState, ScheduledJob, get_job, list_jobs

PREFIX, LIST_PREFIX = "rm", "rl"
DRAFT = "remind_draft"
POST, TEXT, REPEAT, WEEKDAY, MONTHDAY, TIME, ONCE_AT, AUDIENCE, CONFIRM = range(9)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
REPEATS = ("once", "daily", "weekdays", "weekly", "monthly")
MAX_LISTED = 20

REPEAT_LABELS = {
    "once": N_("Once"),
    "daily": N_("Every day"),
    "weekdays": N_("Monday to Friday"),
    "weekly": N_("Every week"),
    "monthly": N_("Every month"),
}
NOT_ALLOWED = N_("Only post chiefs and coordinators can create or change reminders.")
USE_BUTTONS = N_("Please choose with the buttons above, or send /cancel to stop.")
TIME_EXAMPLE = N_("I could not read this time. Send hours and minutes, for example 07:30 or 19:00.")
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


# --- rendering ------------------------------------------------------------------------------------------


def _day_name(tr: Translator, day: str) -> str:
    return get_day_names("wide", locale=tr.language)[WEEKDAYS.index(day)]


def _time_of_day(tr: Translator, repeat: dict[str, Any], *, zone: str, near: datetime) -> str:
    """The repeat's hour and minute as the reader writes times ('9:00 AM', '09:00'), on `near`'s day."""
    local = near.astimezone(ZoneInfo(zone))
    moment = local.replace(hour=int(repeat.get("hour", 0)), minute=int(repeat.get("minute", 0)), second=0)
    return tr.time(moment, zone)


def describe_repeat(tr: Translator, repeat: dict[str, Any], *, zone: str, near: datetime) -> str:
    """'Every Monday at 9:00 AM' (or the one-off moment) in the reader's language; `near`: the next run."""
    _ = tr.gettext
    every = repeat.get("every")
    at = _time_of_day(tr, repeat, zone=zone, near=near) if every != "once" else ""
    if every == "once":
        return _("Once, on {moment}").format(
            moment=tr.datetime(datetime.fromisoformat(repeat["run_at"]), zone, "short")
        )
    if every == "daily":
        return _("Every day at {time}").format(time=at)
    if every == "weekdays":
        return _("Monday to Friday at {time}").format(time=at)
    if every == "weekly":
        return _("Every {day} at {time}").format(day=_day_name(tr, repeat["day"]), time=at)
    if every == "monthly":
        return _("Every month on day {day} at {time}").format(day=repeat["day"], time=at)
    # TRANSLATORS: a reminder whose schedule comes from config.yaml.
    return _("Set by the configuration")


def describe_audience(runtime: Runtime, tr: Translator, audience: dict[str, Any]) -> str:
    """'Whole post', a service's name, or a role, in the reader's language."""
    _ = tr.gettext
    if audience.get("service"):
        return html.escape(service_name(runtime.config, tr, audience["service"]))
    role = audience.get("role")
    if role == Role.CHIEF:
        return _("Post chiefs")
    if role in (Role.COORDINATOR, Role.ADMIN):
        return _("Coordinators")
    if role == Role.AGENT:
        return _("Agents")
    return _("Whole post")


def _reminder_text(tr: Translator, job: ScheduledJob) -> str:
    text = job.payload.get("text")
    if isinstance(text, dict):
        return text.get(tr.language) or text.get("fr") or ""
    return str(text or "")


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- /remind ----------------------------------------------------------------------------------------------


def _tr(context: LiaisonContext) -> Translator:
    return member_translator(context.member)


def _draft(context: LiaisonContext) -> dict[str, Any]:
    return context.user_data.setdefault(DRAFT, {})


def _zone(runtime: Runtime, post_code: str) -> str:
    return runtime.config.post(post_code).timezone


async def _reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Answer in the chat (and acknowledge a button press)."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    await update.effective_chat.send_message(text, reply_markup=markup)


async def remind_start(update: Update, context: LiaisonContext) -> int:
    """Start a new reminder: pick the post (coordinators), then the text."""
    member, tr = context.member, _tr(context)
    context.user_data.pop(DRAFT, None)
    if member is None or not can(member, Action.MANAGE_REMINDERS, member.post_code):
        await update.effective_message.reply_text(tr.gettext(NOT_ALLOWED))
        return ConversationHandler.END
    draft = _draft(context)
    draft["id"] = uuid.uuid4().hex[:12]
    if member.post_code and not is_global(member):
        draft["post"] = member.post_code
        return await _ask_text(update, context)
    buttons = [(p.name, callbacks.encode(PREFIX, "post", p.code)) for p in context.runtime.config.posts]
    await _reply(update, tr.gettext("For which post is this reminder?"), columns(buttons, 2))
    return POST


async def remind_post(update: Update, context: LiaisonContext) -> int:
    """Record the post a coordinator chose."""
    data = callbacks.parse(update.callback_query.data)
    codes = {p.code for p in context.runtime.config.posts}
    code = data.args[0] if data and data.args else None
    if code not in codes or not can(context.member, Action.MANAGE_REMINDERS, code):
        await update.callback_query.answer(_tr(context).gettext(NOT_ALLOWED), show_alert=True)
        return POST
    _draft(context)["post"] = code
    return await _ask_text(update, context)


async def _ask_text(update: Update, context: LiaisonContext) -> int:
    tr = _tr(context)
    await _reply(
        update,
        tr.gettext(
            "What should the reminder say? Send the text (at most {limit} characters), or /cancel."
        ).format(limit=MAX_TEXT_LENGTH),
    )
    return TEXT


async def remind_text(update: Update, context: LiaisonContext) -> int:
    """Take the reminder's text, then ask when."""
    tr = _tr(context)
    text = (update.effective_message.text or "").strip()
    if not text:
        await _reply(update, tr.gettext("The text is empty. Send the words of the reminder."))
        return TEXT
    if len(text) > MAX_TEXT_LENGTH:
        await _reply(
            update,
            tr.gettext(
                "This text has {length} characters; the limit is {limit}. Send a shorter text."
            ).format(length=len(text), limit=MAX_TEXT_LENGTH),
        )
        return TEXT
    _draft(context)["text"] = text
    buttons = [(tr.gettext(REPEAT_LABELS[r]), callbacks.encode(PREFIX, "rep", r)) for r in REPEATS]
    await _reply(update, tr.gettext("When? Once, or repeating?"), columns(buttons, 2))
    return REPEAT


async def remind_repeat(update: Update, context: LiaisonContext) -> int:
    """Record once/daily/weekdays/weekly/monthly and ask the matching detail."""
    tr, runtime = _tr(context), context.runtime
    data = callbacks.parse(update.callback_query.data)
    every = data.args[0] if data and data.args else None
    if every not in REPEATS:
        await update.callback_query.answer(tr.gettext("This button is no longer valid."), show_alert=True)
        return REPEAT
    draft = _draft(context)
    draft["every"] = every
    if every == "once":
        zone = _zone(runtime, draft["post"])
        await _reply(
            update,
            tr.gettext(
                "Send the date and time, in the time of {post} ({zone}). "
                "For example: {example} or 2026-11-28 14:30."
            ).format(
                post=html.escape(post_name(runtime.config, draft["post"])),
                zone=zone,
                example=example_moment(zone=zone, now=runtime.clock.now()),
            ),
        )
        return ONCE_AT
    if every == "weekly":
        names = get_day_names("abbreviated", locale=tr.language)
        buttons = [(names[i], callbacks.encode(PREFIX, "day", day)) for i, day in enumerate(WEEKDAYS)]
        await _reply(update, tr.gettext("On which day of the week?"), columns(buttons, 4))
        return WEEKDAY
    if every == "monthly":
        buttons = [(str(d), callbacks.encode(PREFIX, "mday", d)) for d in range(1, 29)]
        await _reply(update, tr.gettext("On which day of the month (1 to 28)?"), columns(buttons, 7))
        return MONTHDAY
    return await _ask_time(update, context)


async def remind_weekday(update: Update, context: LiaisonContext) -> int:
    """Record the day of the week."""
    data = callbacks.parse(update.callback_query.data)
    day = data.args[0] if data and data.args else None
    if day not in WEEKDAYS:
        await update.callback_query.answer(
            _tr(context).gettext("This button is no longer valid."), show_alert=True
        )
        return WEEKDAY
    _draft(context)["day"] = day
    return await _ask_time(update, context)


async def remind_monthday(update: Update, context: LiaisonContext) -> int:
    """Record the day of the month, from a button or typed."""
    tr = _tr(context)
    if update.callback_query is not None:
        data = callbacks.parse(update.callback_query.data)
        day = data.int_arg(0) if data else None
    else:
        raw = (update.effective_message.text or "").strip()
        # isdecimal, not isdigit: "²" is a digit that int() refuses.
        day = int(raw) if raw.isdecimal() and len(raw) <= 2 else None
    if day is None or not 1 <= day <= 28:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await update.effective_chat.send_message(
            tr.gettext(
                "Send a day between 1 and 28, for example 25 (the 29th to 31st do not exist every month)."
            )
        )
        return MONTHDAY
    _draft(context)["day"] = day
    return await _ask_time(update, context)


async def _ask_time(update: Update, context: LiaisonContext) -> int:
    tr, runtime = _tr(context), context.runtime
    post = _draft(context)["post"]
    await _reply(
        update,
        tr.gettext("At what time, in the time of {post}? Send hours and minutes, for example 07:30.").format(
            post=html.escape(post_name(runtime.config, post))
        ),
    )
    return TIME


async def remind_time(update: Update, context: LiaisonContext) -> int:
    """Read the time of day of a repeating reminder."""
    parsed = parse_time_of_day(update.effective_message.text or "")
    if parsed is None:
        await _reply(update, _tr(context).gettext(TIME_EXAMPLE))
        return TIME
    draft = _draft(context)
    draft["hour"], draft["minute"] = parsed
    return await _ask_audience(update, context)


async def remind_once_at(update: Update, context: LiaisonContext) -> int:
    """Read the date and time of a one-off reminder, in the post's zone."""
    tr, runtime = _tr(context), context.runtime
    draft = _draft(context)
    zone, now = _zone(runtime, draft["post"]), runtime.clock.now()
    try:
        moment = parse_moment(update.effective_message.text or "", zone=zone, now=now)
    except TimeRefused as refused:
        example = example_moment(zone=zone, now=now)
        await _reply(update, tr.gettext(MOMENT_PROBLEMS[refused.problem]).format(example=example))
        return ONCE_AT
    draft["run_at"] = moment.isoformat()
    return await _ask_audience(update, context)


async def _ask_audience(update: Update, context: LiaisonContext) -> int:
    tr, runtime = _tr(context), context.runtime
    post = _draft(context)["post"]
    buttons = [(tr.gettext("Whole post"), callbacks.encode(PREFIX, "aud", "post"))]
    buttons += [
        (service_name(runtime.config, tr, code), callbacks.encode(PREFIX, "aud", "svc", code))
        for code in runtime.config.post_services(post)
    ]
    buttons.append((tr.gettext("Post chiefs"), callbacks.encode(PREFIX, "aud", "chief")))
    await _reply(update, tr.gettext("Who should receive it?"), columns(buttons, 2))
    return AUDIENCE


def _audience_from(data: callbacks.CallbackData | None, runtime: Runtime, post: str) -> dict[str, Any] | None:
    if data is None or not data.args:
        return None
    if data.args[0] == "post":
        return audience_payload()
    if data.args[0] == "chief":
        return audience_payload(role=Role.CHIEF)
    if data.args[0] == "svc" and len(data.args) > 1 and data.args[1] in runtime.config.post_services(post):
        return audience_payload(service=data.args[1])
    return None


def _repeat(draft: dict[str, Any]) -> dict[str, Any]:
    keys = ("every", "day", "hour", "minute", "run_at")
    return {k: draft[k] for k in keys if k in draft}


async def remind_audience(update: Update, context: LiaisonContext) -> int:
    """Record who receives it and show the summary to confirm."""
    tr, runtime = _tr(context), context.runtime
    _ = tr.gettext
    draft = _draft(context)
    audience = _audience_from(callbacks.parse(update.callback_query.data), runtime, draft["post"])
    if audience is None:
        await update.callback_query.answer(_("This button is no longer valid."), show_alert=True)
        return AUDIENCE
    draft["audience"] = audience
    zone = _zone(runtime, draft["post"])
    summary = "\n".join(
        [
            "<b>"
            + _("New reminder for {post}").format(post=html.escape(post_name(runtime.config, draft["post"])))
            + "</b>",
            html.escape(draft["text"]),
            _("When: {when}").format(
                when=describe_repeat(tr, _repeat(draft), zone=zone, near=runtime.clock.now())
            ),
            _("For: {audience}").format(audience=describe_audience(runtime, tr, audience)),
        ]
    )
    markup = inline(
        [[(_("✅ Save"), callbacks.encode(PREFIX, "ok")), (_("✖ Cancel"), callbacks.encode(PREFIX, "no"))]]
    )
    await _reply(update, summary, markup)
    return CONFIRM


async def remind_confirm(update: Update, context: LiaisonContext) -> int:
    """Save the reminder (or drop it) and end the conversation."""
    tr, runtime, member = _tr(context), context.runtime, context.member
    _ = tr.gettext
    query = update.callback_query
    data = callbacks.parse(query.data)
    draft = context.user_data.pop(DRAFT, {})
    if data is None or data.action != "ok":
        await query.answer()
        await _close_summary(query, "✖")
        await update.effective_chat.send_message(_("Cancelled: no reminder was created."))
        return ConversationHandler.END
    post = draft.get("post")
    if not post or not can(member, Action.MANAGE_REMINDERS, post):
        await query.answer(_(NOT_ALLOWED), show_alert=True)
        return ConversationHandler.END
    assert member is not None
    now, zone = runtime.clock.now(), _zone(runtime, post)
    key = f"chief:{post}:{draft['id']}"
    payload = {
        "text": draft["text"],
        "audience": draft["audience"],
        "priority": "normal",
        "author": member.display_name,
        "repeat": _repeat(draft),
    }
    async with runtime.db.transaction() as session:
        if draft["every"] == "once":
            await api.schedule_once(
                session,
                key=key,
                kind=KIND,
                run_at=datetime.fromisoformat(draft["run_at"]),
                payload=payload,
                post_code=post,
                source=JobSource.CHIEF,
                created_by=member.id,
                now=now,
            )
        else:
            await api.schedule_recurring(
                session,
                key=key,
                kind=KIND,
                trigger="cron",
                trigger_args=cron_args(
                    hour=draft["hour"], minute=draft["minute"], every=draft["every"], day=draft.get("day")
                ),
                timezone=zone,
                payload=payload,
                now=now,
                post_code=post,
                source=JobSource.CHIEF,
                created_by=member.id,
            )
        from db.schedules import get_job_by_key

        job = await get_job_by_key(session, key=key)
        assert job is not None
        await record_action(
            session,
            action="reminder.created",
            at=now,
            actor_member_id=member.id,
            object_type="schedule",
            object_id=job.id,
            post_code=post,
            details={"key": key, "repeat": payload["repeat"]},
        )
    await query.answer(_("Saved"))
    await _close_summary(query, "✅")
    next_text = tr.short_datetime(job.next_run_at, zone) if job.next_run_at else "—"
    await update.effective_chat.send_message(
        _("Reminder saved. Next: {moment}. See /reminders to pause or delete it.").format(moment=next_text)
    )
    return ConversationHandler.END


async def _close_summary(query: Any, mark: str) -> None:
    """Drop the summary's buttons so it cannot be pressed again (keeping its text)."""
    if query.message is None or not getattr(query.message, "text_html", None):
        return
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(f"{query.message.text_html}\n{mark}", reply_markup=None)


async def remind_cancel(update: Update, context: LiaisonContext) -> int:
    """Leave /remind without saving."""
    context.user_data.pop(DRAFT, None)
    await update.effective_message.reply_text(_tr(context).gettext("Cancelled: no reminder was created."))
    return ConversationHandler.END


async def remind_use_buttons(update: Update, context: LiaisonContext) -> None:
    """Typed text where a button was expected: say so, stay in the same step."""
    await update.effective_message.reply_text(_tr(context).gettext(USE_BUTTONS))


async def remind_need_text(update: Update, context: LiaisonContext) -> None:
    """A photo, sticker or location where words were expected: ask for text, stay in the same step."""
    await update.effective_message.reply_text(
        _tr(context).gettext("Please answer with a text message, or send /cancel to stop.")
    )


async def remind_stale_button(update: Update, context: LiaisonContext) -> None:
    """A button of another step (an older message): keep the current step."""
    await update.callback_query.answer(_tr(context).gettext(USE_BUTTONS), show_alert=True)


# --- /reminders -------------------------------------------------------------------------------------------


def _visible_posts(runtime: Runtime, member: Member) -> list[str | None]:
    if is_global(member):
        return [None, *(p.code for p in runtime.config.posts)]
    return [member.post_code] if member.post_code else []


def addressed_to(member: Member, job: ScheduledJob) -> bool:
    """Whether `member` is among the reminder's recipients (the rule of audience_members)."""
    audience = job.payload.get("audience") or {}
    role = audience.get("role")
    if job.post_code is None or role in (Role.COORDINATOR, Role.ADMIN):
        return is_global(member)
    if member.post_code != job.post_code:
        return False
    if audience.get("service"):
        return member.service_code == audience["service"]
    return not role or member.role == role


def _sees_all(member: Member) -> bool:
    """Chiefs and coordinators follow every reminder of their posts; agents only their own."""
    return is_global(member) or member.role == Role.CHIEF


async def _listed_jobs(runtime: Runtime, member: Member) -> list[ScheduledJob]:
    sees_all = _sees_all(member)
    async with runtime.db.reading() as session:
        jobs: list[ScheduledJob] = []
        for post in _visible_posts(runtime, member):
            found = await list_jobs(
                session,
                kind=KIND,
                post_code=post,
                without_post=post is None,
                # Agents' rows are filtered here, so the cap applies after the filter.
                limit=MAX_LISTED + 1 if sees_all else None,
            )
            jobs += found if sees_all else [job for job in found if addressed_to(member, job)]
        return jobs if sees_all else jobs[: MAX_LISTED + 1]


def render_list(
    runtime: Runtime, member: Member, jobs: list[ScheduledJob]
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The reminders list and, for those who may change them, pause/resume/delete buttons."""
    tr = member_translator(member)
    _ = tr.gettext
    if not jobs:
        return _("No reminders at your post. Chiefs create them with /remind."), None
    lines = ["<b>" + _("Reminders") + "</b>"]
    rows: list[list[tuple[str, str]]] = []
    for index, job in enumerate(jobs[:MAX_LISTED], start=1):
        where = html.escape(post_name(runtime.config, job.post_code)) if job.post_code else _("All posts")
        when = (
            _("paused")
            if job.state == JobState.PAUSED
            else tr.short_datetime(job.next_run_at, job.timezone)
            if job.next_run_at
            else "—"
        )
        lines.append(
            f"{index}. {html.escape(_short(_reminder_text(tr, job)))}\n"
            f"   {_('Next: {moment}').format(moment=when)} · "
            f"{describe_audience(runtime, tr, job.payload.get('audience') or {})}"
            + (f" · {where}" if is_global(member) else "")
            + " · "
            + describe_repeat(
                tr,
                job.payload.get("repeat") or {},
                zone=job.timezone,
                near=job.next_run_at or runtime.clock.now(),
            )
        )
        if can(member, Action.MANAGE_REMINDERS, job.post_code) and (job.post_code or is_global(member)):
            row = [
                (_("▶ Resume {n}").format(n=index), callbacks.encode(LIST_PREFIX, "r", job.id))
                if job.state == JobState.PAUSED
                else (_("⏸ Pause {n}").format(n=index), callbacks.encode(LIST_PREFIX, "p", job.id))
            ]
            if job.source != JobSource.CONFIG:
                row.append((_("🗑 Delete {n}").format(n=index), callbacks.encode(LIST_PREFIX, "d", job.id)))
            rows.append(row)
    if len(jobs) > MAX_LISTED:
        lines.append(_("…and more."))
    return "\n".join(lines), inline(rows) if rows else None


async def reminders_list(update: Update, context: LiaisonContext) -> None:
    """List the post's reminders with their next time in local time."""
    member, runtime = context.member, context.runtime
    if member is None:
        return
    text, markup = render_list(runtime, member, await _listed_jobs(runtime, member))
    await update.effective_message.reply_text(text, reply_markup=markup)


async def reminders_button(update: Update, context: LiaisonContext) -> None:
    """Pause, resume or delete one reminder, after checking the row and the person again."""
    query, member, runtime = update.callback_query, context.member, context.runtime
    tr = _tr(context)
    _ = tr.gettext
    data = callbacks.parse(query.data)
    job_id = data.int_arg(0) if data else None
    action = data.action if data else None
    now = runtime.clock.now()
    done: str | None = None
    async with runtime.db.transaction() as session:
        job = await get_job(session, job_id=job_id) if job_id is not None else None
        allowed = (
            job is not None
            and member is not None
            and job.kind == KIND
            and action in ("p", "r", "d")
            and can(member, Action.MANAGE_REMINDERS, job.post_code)
            and (job.post_code is not None or is_global(member))
            and not (action == "d" and job.source == JobSource.CONFIG)
        )
        if allowed:
            assert job is not None and member is not None
            if action == "p" and await api.pause(session, job_id=job.id or 0, now=now):
                done = _("Paused")
            elif action == "r" and await api.resume(session, job=job, now=now):
                done = _("Resumed")
            elif action == "d" and await api.delete(session, job_id=job.id or 0, now=now):
                done = _("Deleted")
            if done:
                verb = {"p": "paused", "r": "resumed", "d": "deleted"}[action]
                await record_action(
                    session,
                    action=f"reminder.{verb}",
                    at=now,
                    actor_member_id=member.id,
                    object_type="schedule",
                    object_id=job.id,
                    post_code=job.post_code,
                )
    if not allowed:
        await query.answer(_("You cannot change this reminder."), show_alert=True)
        return
    if done is None:
        await query.answer(_("Already done."))
    else:
        await query.answer(done)
    assert member is not None
    text, markup = render_list(runtime, member, await _listed_jobs(runtime, member))
    # "Message is not modified" when the list already shows this state.
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(text, reply_markup=markup)


def register(application: Application) -> None:
    """Register /remind (conversation), /reminders and the list buttons."""
    texts = filters.TEXT & ~filters.COMMAND
    not_text = ~filters.TEXT & ~filters.COMMAND

    def step(pattern: str, callback: Any) -> CallbackQueryHandler:
        return CallbackQueryHandler(callback, pattern=rf"^{PREFIX}:{pattern}(:|$)")

    with warnings.catch_warnings():
        # Buttons are tracked per user and chat, not per message, on purpose: any step's latest buttons count.
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        conversation = ConversationHandler(
            entry_points=[CommandHandler("remind", remind_start, filters=filters.ChatType.PRIVATE)],
            states={
                POST: [step("post", remind_post)],
                TEXT: [MessageHandler(texts, remind_text), MessageHandler(not_text, remind_need_text)],
                REPEAT: [step("rep", remind_repeat), MessageHandler(texts, remind_use_buttons)],
                WEEKDAY: [step("day", remind_weekday), MessageHandler(texts, remind_use_buttons)],
                MONTHDAY: [step("mday", remind_monthday), MessageHandler(texts, remind_monthday)],
                TIME: [MessageHandler(texts, remind_time), MessageHandler(not_text, remind_need_text)],
                ONCE_AT: [MessageHandler(texts, remind_once_at), MessageHandler(not_text, remind_need_text)],
                AUDIENCE: [step("aud", remind_audience), MessageHandler(texts, remind_use_buttons)],
                CONFIRM: [step("(ok|no)", remind_confirm), MessageHandler(texts, remind_use_buttons)],
            },
            fallbacks=[
                CommandHandler("cancel", remind_cancel),
                CallbackQueryHandler(remind_stale_button, pattern=callbacks.pattern(PREFIX)),
                MessageHandler(filters.ALL & ~filters.COMMAND, remind_use_buttons),
            ],
            per_user=True,
            per_chat=True,
            allow_reentry=True,
            name="remind",
        )
    application.add_handler(conversation)
    application.add_handler(CommandHandler("reminders", reminders_list))
    application.add_handler(CallbackQueryHandler(reminders_button, pattern=callbacks.pattern(LIST_PREFIX)))
