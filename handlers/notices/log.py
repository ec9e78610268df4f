"""How notices read in the review log: one line per audit entry, and the notice in full with its count.

Audit entries (object type "notice", one entry per post for a notice to several posts):
notice.sent {recipients, posts, importance, bilingual, audience[, services][, attachment]},
notice.delivered {sent, pending, failed, unreachable[, seconds_to_last_delivery], check},
notice.seen {seconds_from_sent, service, reminded}, notice.reminded {recipients, automatic},
notice.expired {recipients, seen}.
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import Translator
from bot.runtime import Runtime
from db import notices as store
from db.audit import AuditEntry
from db.members import Member
from handlers.notices import service
from handlers.notices.render import render_card

# The review log shows the text of a notice cut to this (the count follows it in the same message).
DETAIL_TEXT = 2000


def duration(tr: Translator, seconds: float) -> str:
    """ "under a minute", "12 min", "3 h 05", "2 days"."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return tr.gettext("under a minute")
    if minutes < 60:
        return tr.gettext("{n} min").format(n=minutes)
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return tr.gettext("{h} h {m:02d}").format(h=hours, m=rest)
    days = hours // 24
    return tr.ngettext("{n} day", "{n} days", days).format(n=days)


def _people(tr: Translator, n: int) -> str:
    return tr.ngettext("{n} person", "{n} people", n).format(n=tr.number(n))


def summary(entry: AuditEntry, tr: Translator, runtime: Runtime) -> str:
    """One audit entry as a line of the review log (plain text)."""
    details: dict[str, Any] = entry.details or {}
    notice_id = entry.object_id or "?"
    if entry.action == "notice.sent":
        line = tr.gettext("Notice #{id} sent to {people}").format(
            id=notice_id, people=_people(tr, int(details.get("recipients", 0)))
        )
        audience = details.get("audience")
        if audience == "chiefs":
            line += " · " + tr.gettext("the post chiefs")
        elif audience == "services":
            names = ", ".join(
                runtime.config.service_name(code, tr.language) for code in details.get("services") or []
            )
            line += " · " + names
        if details.get("importance") == "important":
            line += " · " + tr.gettext("important")
        if details.get("bilingual"):
            line += " · " + tr.gettext("in French and English")
        return line
    if entry.action == "notice.seen":
        return tr.gettext("Notice #{id} confirmed as read, {duration} after it was sent").format(
            id=notice_id, duration=duration(tr, float(details.get("seconds_from_sent", 0)))
        )
    if entry.action == "notice.reminded":
        how = tr.gettext("automatic") if details.get("automatic") else tr.gettext("by hand")
        return tr.gettext("Notice #{id}: reminder to {people} ({how})").format(
            id=notice_id, people=_people(tr, int(details.get("recipients", 0))), how=how
        )
    if entry.action == "notice.expired":
        return tr.gettext("Notice #{id} expired: read by {seen} of {total}").format(
            id=notice_id, seen=details.get("seen", 0), total=details.get("recipients", 0)
        )
    if entry.action == "notice.delivered":
        total = sum(int(details.get(k, 0)) for k in ("sent", "pending", "failed", "unreachable"))
        return tr.gettext("Notice #{id} delivered to {sent} of {total}").format(
            id=notice_id, sent=details.get("sent", 0), total=total
        )
    return entry.action


async def detail(
    session: AsyncSession, runtime: Runtime, entry: AuditEntry, tr: Translator, reader: Member
) -> str | None:
    """The notice of an entry in full, with its Seen count by service (and post), for those who follow it."""
    try:
        notice_id = int(entry.object_id or "")
    except ValueError:
        return None
    notice = await store.get_notice(session, notice_id=notice_id)
    if notice is None or not service.may_follow(reader, notice):
        return None
    view = await service.view_of(session, runtime, notice)
    tally = await service.tally_of(session, notice_id)
    now = runtime.clock.now()
    return render_card(
        runtime.config,
        view,
        tally,
        language=tr.language,
        reader_post=reader.post_code,
        now=now,
        full_text=DETAIL_TEXT,
    )
