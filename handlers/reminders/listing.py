"""/reminders: the reminders a member follows, a page at a time, with pause, resume and delete for chiefs."""

from __future__ import annotations

import html

from telegram import InlineKeyboardMarkup, Update

from bot.access import is_global
from bot.callbacks import CallbackData, encode
from bot.i18n import N_
from bot.keyboards import inline
from bot.replies import answer, edit_message
from bot.runtime import LiaisonContext
from db.members import Member
from db.schedules import JobSource, JobState, ScheduledJob
from handlers.reminders import service
from handlers.reminders.conversation import PREFIX
from handlers.reminders.render import describe_audience, describe_repeat, reminder_text, shorten

# "del" only asks; "delok" (the confirmation, carrying the reminder's id) deletes.
VERBS = {"pause": "paused", "resume": "resumed", "delok": "deleted"}
ACTIONS = ("pg", "del", *VERBS)
CANNOT_CHANGE = N_("You cannot change this reminder.")
# A one-off reminder sent since the list was shown: its buttons are dead.
WENT_OUT = N_("This reminder has already been sent: there is nothing left to change.")
# A one-off reminder resumed after its time: sent now rather than dropped unsent.
SENT_NOW = N_("Resumed. Its time ({time}) passed while it was paused: it is being sent now.")


def render_page(
    context: LiaisonContext, member: Member, jobs: list[ScheduledJob], page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of the list and, for those who may change them, pause/resume/delete buttons."""
    tr, runtime = context.tr, context.runtime
    config = runtime.config
    if not jobs:
        return tr.gettext("No reminders at your post. Chiefs create them with /remind."), None
    pages = (len(jobs) + service.PAGE_SIZE - 1) // service.PAGE_SIZE
    page = min(max(page, 0), pages - 1)
    first = page * service.PAGE_SIZE
    header = tr.gettext("Reminders")
    if pages > 1:
        header += " · " + tr.gettext("page {page} of {pages}").format(page=page + 1, pages=pages)
    lines = ["<b>" + html.escape(header) + "</b>"]
    rows: list[list[tuple[str, str]]] = []
    for index, job in enumerate(jobs[first : first + service.PAGE_SIZE], start=first + 1):
        if job.state == JobState.PAUSED:
            when = tr.gettext("Paused")
        else:
            # A coordinator reads reminders of posts in several zones: each time names its zone.
            moment = (
                tr.short_datetime_in(job.next_run_at, job.timezone, named=is_global(member))
                if job.next_run_at
                else "—"
            )
            when = tr.gettext("Next: {moment}").format(moment=moment)
        parts = [when, describe_audience(config, tr, job.payload.get("audience") or {})]
        if is_global(member):
            parts.append(
                html.escape(config.post_name(job.post_code)) if job.post_code else tr.gettext("All posts")
            )
        parts.append(
            describe_repeat(
                tr,
                job.payload.get("repeat") or {},
                zone=job.timezone,
                near=job.next_run_at or runtime.clock.now(),
            )
        )
        lines.append(
            f"{index}. {html.escape(shorten(reminder_text(job, tr.language)))}\n   " + " · ".join(parts)
        )
        if service.may_change(member, job):
            row = [
                (tr.gettext("▶ Resume {n}").format(n=index), encode(PREFIX, "resume", job.id, page))
                if job.state == JobState.PAUSED
                else (tr.gettext("⏸ Pause {n}").format(n=index), encode(PREFIX, "pause", job.id, page))
            ]
            if job.source != JobSource.CONFIG:
                row.append((tr.gettext("🗑 Delete {n}").format(n=index), encode(PREFIX, "del", job.id, page)))
            rows.append(row)
    if pages > 1:
        navigation = []
        if page > 0:
            navigation.append((tr.gettext("◀ Previous"), encode(PREFIX, "pg", page - 1)))
        if page < pages - 1:
            navigation.append((tr.gettext("Next ▶"), encode(PREFIX, "pg", page + 1)))
        rows.append(navigation)
    return "\n".join(lines), inline(rows) if rows else None


async def _jobs(context: LiaisonContext, member: Member) -> list[ScheduledJob]:
    async with context.runtime.db.reading() as session:
        return await service.listed_reminders(session, context.runtime, member)


async def reminders_command(update: Update, context: LiaisonContext) -> None:
    """List the reminders the member follows, with their next time in local time."""
    member, message = context.active_member, update.effective_message
    assert message is not None
    text, markup = render_page(context, member, await _jobs(context, member), 0)
    await message.reply_text(text, reply_markup=markup)


async def list_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """Turn a page, or pause, resume or delete one reminder after checking the row and the person again."""
    query, member, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None
    if data.action == "pg":
        await answer(query)
        text, markup = render_page(context, member, await _jobs(context, member), data.int_arg(0) or 0)
        await edit_message(query, text, markup)
        return
    job_id, page = data.int_arg(0), data.int_arg(1) or 0
    if data.action == "del":
        await ask_delete(update, context, job_id or 0, page)
        return
    verb = VERBS[data.action]
    async with runtime.db.transaction() as session:
        job, changed, missed = await service.change_reminder(
            session, runtime, member, job_id=job_id or 0, verb=verb
        )
    if job is None:
        await answer(query, tr.gettext(CANNOT_CHANGE), alert=True)
        return
    if not changed and job.state == JobState.DONE:
        await went_out_answer(update, context, page)
        return
    if verb == "deleted" and not changed:
        # A confirmation shown before the reminder was deleted (twice tapped, or deleted from another list).
        await answer_and_redraw(
            update,
            context,
            page,
            tr.gettext("This reminder was already deleted: nothing changed."),
            alert=True,
        )
        return
    if missed is not None:
        # A one-off resumed after its time: it goes out now, late, and the chief is told so.
        late = tr.gettext(SENT_NOW).format(
            time=tr.short_datetime_in(missed, job.timezone, named=is_global(member))
        )
        await answer_and_redraw(update, context, page, late, alert=True)
        return
    done = {
        "paused": tr.gettext("Paused"),
        "resumed": tr.gettext("Resumed"),
        "deleted": tr.gettext("Deleted"),
    }
    await answer_and_redraw(update, context, page, done[verb] if changed else tr.gettext("Already done."))


async def went_out_answer(update: Update, context: LiaisonContext, page: int) -> None:
    """A press on a one-off reminder sent since: say so, and redraw the page without its dead buttons."""
    await answer_and_redraw(update, context, page, context.tr.gettext(WENT_OUT), alert=True)


async def answer_and_redraw(
    update: Update, context: LiaisonContext, page: int, text: str, *, alert: bool = False
) -> None:
    """Answer the press, then redraw the list page it was made on, as it stands now."""
    query, member = update.callback_query, context.active_member
    assert query is not None
    await answer(query, text, alert=alert)
    page_text, markup = render_page(context, member, await _jobs(context, member), page)
    await edit_message(query, page_text, markup)


async def ask_delete(update: Update, context: LiaisonContext, job_id: int, page: int) -> None:
    """Ask before deleting: the question quotes the reminder, Yes carries its id (never its number)."""
    query, member, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None
    async with runtime.db.reading() as session:
        job, sent = await service.reminder_to_delete(session, member, job_id=job_id)
    if sent:
        await went_out_answer(update, context, page)
        return
    if job is None or job.id is None:
        await answer(query, tr.gettext(CANNOT_CHANGE), alert=True)
        return
    await answer(query)
    question = tr.gettext("Delete the reminder “{text}”?").format(
        text=html.escape(shorten(reminder_text(job, tr.language)))
    )
    markup = inline(
        [
            [
                (tr.gettext("Yes, delete"), encode(PREFIX, "delok", job.id, page)),
                (tr.gettext("No"), encode(PREFIX, "pg", page)),
            ]
        ]
    )
    await edit_message(query, question, markup)
