"""How reminders and scheduled work read in the review log."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.features import LogKind
from bot.i18n import N_, Translator
from bot.runtime import Runtime
from bot.texts import excerpt, in_language, preview
from db.audit import AuditEntry
from db.members import Member
from db.schedules import ScheduledJob, get_job
from handlers.reminders.render import describe_audience, describe_repeat, reminder_text

# A reminder is named by its words (the entry keeps them): its row id means nothing to a reader.
VERBS = {
    "reminder.paused": N_("Reminder “{text}” paused"),
    "reminder.resumed": N_("Reminder “{text}” resumed"),
    "reminder.deleted": N_("Reminder “{text}” deleted"),
}
# Entries written before they kept the words.
UNQUOTED_VERBS = {
    "reminder.paused": N_("Reminder paused"),
    "reminder.resumed": N_("Reminder resumed"),
    "reminder.deleted": N_("Reminder deleted"),
}
QUOTE_LIMIT = 40


def quoted_words(tr: Translator, details: dict[str, Any]) -> str | None:
    """The reminder's words an entry keeps, in the reader's language, cut between words (not escaped)."""
    words = in_language(details.get("text"), tr.language)
    return preview(words, QUOTE_LIMIT) if words.strip() else None


def skipped_kind(tr: Translator, runtime: Runtime, kind: str) -> str:
    """What a skipped job was, in the reader's language (its feature names it; an unknown kind as stored)."""
    label = runtime.features.job_label(kind)
    return tr.gettext(label) if label else kind


def summary(entry: AuditEntry, tr: Translator, runtime: Runtime) -> str:
    """One line for a reminder or schedule entry, in the reader's language (plain text)."""
    details = entry.details or {}
    zone = runtime.config.post_zone(entry.post_code, None)
    words = quoted_words(tr, details)
    if entry.action == "reminder.created":
        repeat = details.get("repeat") or {}
        when = html.unescape(describe_repeat(tr, repeat, zone=zone, near=entry.at)) if repeat else ""
        if words is None:
            return tr.gettext("Reminder created: {when}").format(when=when)
        return tr.gettext("Reminder “{text}” created: {when}").format(text=words, when=when)
    if entry.action in VERBS:
        if words is None:
            return tr.gettext(UNQUOTED_VERBS[entry.action])
        return tr.gettext(VERBS[entry.action]).format(text=words)
    if entry.action == "schedule.skipped":
        due = details.get("due_at")
        moment = tr.short_datetime(datetime.fromisoformat(due), zone) if due else "?"
        missed = int(details.get("missed", 1))
        return tr.ngettext(
            "Skipped while the bot was down: {kind} due {time} ({n} time)",
            "Skipped while the bot was down: {kind} due {time} ({n} times)",
            missed,
        ).format(
            kind=skipped_kind(tr, runtime, str(details.get("kind", "?"))),
            time=moment,
            n=missed,
        )
    return tr.gettext("Reminder: {action}").format(action=entry.action)


async def detail(
    session: AsyncSession, runtime: Runtime, entry: AuditEntry, tr: Translator, reader: Member
) -> str | None:
    """The reminder: its words, for whom, when it repeats, and its next time."""
    if entry.object_type != "schedule":
        return None
    try:
        job: ScheduledJob | None = await get_job(session, job_id=int(entry.object_id or ""))
    except ValueError:
        return None
    if job is None or job.kind != "reminder":
        return None
    repeat = job.payload.get("repeat") or {}
    lines = [
        "<b>" + html.escape(tr.gettext("Reminder")) + "</b>",
        html.escape(excerpt(reminder_text(job, tr.language), 500)),
        tr.gettext("For: {audience}").format(
            audience=describe_audience(runtime.config, tr, job.payload.get("audience") or {})
        ),
        describe_repeat(tr, repeat, zone=job.timezone, near=job.next_run_at or entry.at),
    ]
    if job.next_run_at is not None:
        lines.append(
            html.escape(
                tr.gettext("Next: {moment}").format(moment=tr.datetime(job.next_run_at, job.timezone))
            )
        )
    return "\n".join(lines)


LOG_KIND = LogKind(
    key="reminders",
    # TRANSLATORS: a kind of entries in the review log.
    label=N_("Reminders"),
    action_prefixes=("reminder.", "schedule."),
    summary=summary,
    detail=detail,
)
