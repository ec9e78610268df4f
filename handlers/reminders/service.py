"""What the reminders feature does, without Telegram: who receives a reminder, saving and changing reminders,
and running a due one (the "reminder" kind of scheduled work)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup

from bot.access import (
    is_global,
    may_change_reminder,
    reminder_addressed_to,
    reminder_for_coordinators,
    sees_every_reminder,
)
from bot.i18n import translator
from bot.runtime import Runtime
from bot.scheduler import api
from bot.scheduler.triggers import cron_args
from db.audit import record_action
from db.members import Member, list_coordinators, list_members
from db.outbox import Priority, build_message, enqueue_many
from db.schedules import JobSource, JobState, ScheduledJob, get_job, get_job_by_key, list_jobs
from handlers.reminders.render import open_markup, render_copy

KIND = "reminder"
AUDIENCE_CACHE = "reminder_audiences"
MAX_TEXT_LENGTH = 500
# A page of /reminders: what a phone screen holds with its buttons.
PAGE_SIZE = 8


def audience_payload(*, service: str | None = None, role: str | None = None) -> dict[str, Any]:
    """The JSON form of an audience: the whole post, one service, or one role."""
    if service:
        return {"service": service}
    if role:
        return {"role": role}
    return {}


async def audience_members(
    session: AsyncSession, *, post_code: str | None, audience: dict[str, Any]
) -> list[Member]:
    """Active members a reminder goes to; coordinator audiences (and post-less reminders) span every post."""
    if reminder_for_coordinators(post_code=post_code, audience=audience):
        return await list_coordinators(session)
    if audience.get("service"):
        return await list_members(session, post_code=post_code, service_code=audience["service"])
    if audience.get("role"):
        return await list_members(session, post_code=post_code, roles=(audience["role"],))
    return await list_members(session, post_code=post_code)


async def run_reminder(
    session: AsyncSession, job: ScheduledJob, *, runtime: Runtime, due_at: datetime, late: bool
) -> None:
    """Queue one copy per recipient, in their language, in the job's transaction."""
    now = runtime.clock.now()
    audience = job.payload.get("audience") or {}
    # Many reminders of one batch share a post and audience: look members up once per transaction.
    # Plain tuples, not ORM objects: a savepoint rolled back by another job may expire those.
    cache: dict[tuple[str | None, str, str], list[tuple[int, int, str | None, bool]]] = (
        session.info.setdefault(AUDIENCE_CACHE, {})
    )
    opens = runtime.features.command(job.payload["opens"]) if job.payload.get("opens") else None
    cache_key = (job.post_code, json.dumps(audience, sort_keys=True), opens.name if opens else "")
    if cache_key not in cache:
        found = await audience_members(session, post_code=job.post_code, audience=audience)
        # The button goes only to those the command would serve: a chief of no service gets the shift
        # reminder, not a /handover button that would refuse them.
        cache[cache_key] = [
            (m.id or 0, m.chat_id, m.language, opens is not None and runtime.features.may_use(m, opens))
            for m in found
        ]
    priority = Priority.parse(job.payload.get("priority", "normal"))
    default_language = runtime.config.bot.default_language
    rendered: dict[tuple[str, bool], tuple[str, InlineKeyboardMarkup | None]] = {}
    copies = []
    done = (
        await opens.done_for(session, runtime, job.post_code, due_at)
        if opens is not None and opens.done_for is not None
        else set()
    )
    for member_id, chat_id, language, may_open in cache[cache_key]:
        if member_id in done:
            continue
        language = language or default_language
        if (language, may_open) not in rendered:
            rendered[language, may_open] = (
                render_copy(job, language=language, due_at=due_at, late=late),
                open_markup(translator(language), opens if may_open else None),
            )
        text, markup = rendered[language, may_open]
        copies.append(
            build_message(
                chat_id=chat_id,
                member_id=member_id,
                text=text,
                priority=priority,
                reply_markup=markup,
                ref=("schedule", job.id or 0),
                now=now,
            )
        )
    await enqueue_many(session, copies)


@dataclass(frozen=True)
class NewReminder:
    """A chief's reminder, as the /remind conversation collected it."""

    draft_id: str
    post_code: str
    text: str
    audience: dict[str, Any]
    repeat: dict[str, Any]


async def save_reminder(
    session: AsyncSession, runtime: Runtime, member: Member, reminder: NewReminder
) -> ScheduledJob:
    """Schedule a chief's reminder (once, or recurring in the post's zone); the same draft saves once."""
    now = runtime.clock.now()
    zone = runtime.config.post_zone(reminder.post_code)
    key = f"chief:{reminder.post_code}:{reminder.draft_id}"
    payload = {
        "text": reminder.text,
        "audience": reminder.audience,
        "priority": "normal",
        "author": member.display_name,
        "repeat": reminder.repeat,
    }
    repeat = reminder.repeat
    if repeat["every"] == "once":
        await api.schedule_once(
            session,
            key=key,
            kind=KIND,
            run_at=datetime.fromisoformat(repeat["run_at"]),
            payload=payload,
            post_code=reminder.post_code,
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
                hour=repeat["hour"], minute=repeat["minute"], every=repeat["every"], day=repeat.get("day")
            ),
            timezone=zone,
            payload=payload,
            now=now,
            post_code=reminder.post_code,
            source=JobSource.CHIEF,
            created_by=member.id,
        )
    job = await get_job_by_key(session, key=key)
    assert job is not None
    await record_action(
        session,
        action="reminder.created",
        at=now,
        actor_member_id=member.id,
        object_type="schedule",
        object_id=job.id,
        post_code=reminder.post_code,
        # The text lets the log quote the reminder instead of naming its row.
        details={"key": key, "repeat": repeat, "text": reminder.text},
    )
    return job


async def listed_reminders(session: AsyncSession, runtime: Runtime, member: Member) -> list[ScheduledJob]:
    """The reminders a member may list: all of their posts' for chiefs and coordinators, else theirs."""
    posts: list[str | None] = (
        [None, *(p.code for p in runtime.config.posts)]
        if is_global(member)
        else [member.post_code]
        if member.post_code
        else []
    )
    jobs: list[ScheduledJob] = []
    for post in posts:
        found = await list_jobs(session, kind=KIND, post_code=post, without_post=post is None)
        jobs += [
            job
            for job in found
            if sees_every_reminder(member)
            or reminder_addressed_to(
                member, post_code=job.post_code, audience=job.payload.get("audience") or {}
            )
        ]
    return jobs


def may_change(member: Member, job: ScheduledJob) -> bool:
    """Whether `member` may pause, resume or delete this reminder."""
    return job.kind == KIND and may_change_reminder(member, post_code=job.post_code)


async def reminder_to_delete(
    session: AsyncSession, member: Member, *, job_id: int
) -> tuple[ScheduledJob | None, bool]:
    """The reminder a member asks to delete, if they may and it is still scheduled (None otherwise); and
    whether it was a one-off, one they may change, that went out already (nothing left to delete)."""
    job = await get_job(session, job_id=job_id)
    if job is None or not may_change(member, job):
        return None, False
    if job.state == JobState.DONE:
        return None, True
    scheduled = job.source != JobSource.CONFIG and job.state in (JobState.ACTIVE, JobState.PAUSED)
    return (job if scheduled else None), False


async def change_reminder(
    session: AsyncSession, runtime: Runtime, member: Member, *, job_id: int, verb: str
) -> tuple[ScheduledJob | None, bool, datetime | None]:
    """Pause, resume or delete a reminder, checked again: (the job, None if refused; whether it changed;
    for a one-off resumed after its time, that time: it is sent now rather than finished unsent)."""
    now = runtime.clock.now()
    job = await get_job(session, job_id=job_id)
    if job is None or not may_change(member, job) or (verb == "deleted" and job.source == JobSource.CONFIG):
        return None, False, None
    missed: datetime | None = None
    if verb == "paused":
        changed = await api.pause(session, job_id=job_id, now=now)
    elif verb == "resumed":
        resumed = await api.resume(session, job=job, now=now, run_missed_once=True)
        changed, missed = resumed.changed, resumed.missed_at
    elif verb == "deleted":
        changed = await api.delete(session, job_id=job_id, now=now)
    else:
        return None, False, None
    if changed:
        details: dict[str, Any] = {"text": job.payload.get("text")}
        if missed is not None:
            details["sent_late"] = {"due_at": missed.isoformat()}
        await record_action(
            session,
            action=f"reminder.{verb}",
            at=now,
            actor_member_id=member.id,
            object_type="schedule",
            object_id=job.id,
            post_code=job.post_code,
            details=details,
        )
    return job, changed, missed
