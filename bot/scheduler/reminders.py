"""The "reminder" kind: who receives a reminder and how each copy reads in its reader's language."""

from __future__ import annotations

import html
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import N_, translator
from bot.scheduler.runners import register_runner
from db.members import Member, Role, list_coordinators, list_members
from db.outbox import Priority, build_message, enqueue_many
from db.schedules import ScheduledJob

if TYPE_CHECKING:
    from bot.runtime import Runtime

KIND = "reminder"
AUDIENCE_CACHE = "reminder_audiences"
MAX_TEXT_LENGTH = 500

HEADER = N_("🔔 <b>Reminder</b>")
LATE = N_("⏰ Sent late: it was due at {time}, while the bot was unavailable.")
FROM = N_("From {name}")


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
    role = audience.get("role")
    if post_code is None or role in (Role.COORDINATOR, Role.ADMIN):
        return await list_coordinators(session)
    if audience.get("service"):
        return await list_members(session, post_code=post_code, service_code=audience["service"])
    if role:
        return await list_members(session, post_code=post_code, roles=(role,))
    return await list_members(session, post_code=post_code)


def render(job: ScheduledJob, *, language: str, due_at: datetime, late: bool) -> str:
    """One reader's copy of a reminder (HTML)."""
    tr = translator(language)
    _ = tr.gettext
    text = job.payload.get("text")
    body = (text.get(tr.language) or text.get("fr") or "") if isinstance(text, dict) else str(text or "")
    lines = [_(HEADER), html.escape(body)]
    if job.payload.get("author"):
        lines.append("<i>" + html.escape(_(FROM).format(name=job.payload["author"])) + "</i>")
    if late:
        lines.append(_(LATE).format(time=html.escape(tr.short_datetime(due_at, job.timezone))))
    return "\n".join(lines)


async def run_reminder(
    session: AsyncSession, job: ScheduledJob, *, runtime: Runtime, due_at: datetime, late: bool
) -> None:
    """Queue one copy per recipient, in their language, in the job's transaction."""
    now = runtime.clock.now()
    audience = job.payload.get("audience") or {}
    # Many reminders of one batch share a post and audience: look members up once per transaction.
    # Plain tuples, not ORM objects: a savepoint rolled back by another job may expire those.
    cache: dict[tuple[str | None, str], list[tuple[int, int, str | None]]] = session.info.setdefault(
        AUDIENCE_CACHE, {}
    )
    cache_key = (job.post_code, json.dumps(audience, sort_keys=True))
    if cache_key not in cache:
        found = await audience_members(session, post_code=job.post_code, audience=audience)
        cache[cache_key] = [(m.id or 0, m.chat_id, m.language) for m in found]
    recipients = cache[cache_key]
    priority = Priority.parse(job.payload.get("priority", "normal"))
    default_language = runtime.config.bot.default_language
    copies = [
        build_message(
            chat_id=chat_id,
            member_id=member_id,
            text=render(job, language=language or default_language, due_at=due_at, late=late),
            priority=priority,
            ref=("schedule", job.id or 0),
            now=now,
        )
        for member_id, chat_id, language in recipients
    ]
    await enqueue_many(session, copies)


register_runner(KIND, run_reminder)
