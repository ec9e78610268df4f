"""How the review log shows meetings and action items: one line per audit entry, and the object in full."""

from __future__ import annotations

import html
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import Translator
from bot.runtime import Runtime
from bot.texts import preview
from db import meetings as store
from db.audit import AuditEntry
from db.meetings import CopyKind
from db.members import Member
from handlers.meetings import service
from handlers.meetings.render import (
    MinutesReader,
    day_label,
    render_addendum,
    render_item,
    render_minutes,
)


def _owner(entry: AuditEntry, tr: Translator, runtime: Runtime) -> str:
    details = entry.details or {}
    if details.get("owner_member_id") is not None:
        return str(details.get("owner_name") or "?")
    return runtime.config.service_name(details.get("owner_service"), tr.language)


def summary(entry: AuditEntry, tr: Translator, runtime: Runtime) -> str:
    """One line of the review log, in the reader's language (plain text)."""
    details = entry.details or {}
    title = preview(str(details.get("title") or ""), 60)
    if entry.action == "meeting.published":
        present, absent = len(details.get("attendees") or []), len(details.get("absent") or [])
        decisions, actions = int(details.get("decisions") or 0), int(details.get("actions") or 0)
        counts = [
            tr.ngettext("{n} service present", "{n} services present", present).format(n=present),
            tr.ngettext("{n} absent", "{n} absent", absent).format(n=absent),
            tr.ngettext("{n} decision", "{n} decisions", decisions).format(n=decisions),
            tr.ngettext("{n} action item", "{n} action items", actions).format(n=actions),
        ]
        line = tr.gettext("Minutes “{title}”: {counts}").format(title=title, counts=", ".join(counts))
        return line + (" · " + tr.gettext("joint meeting") if details.get("joint") else "")
    if entry.action == "meeting.addendum":
        return tr.gettext("Correction to the minutes “{title}”").format(title=title)
    owner = _owner(entry, tr, runtime)
    due = details.get("due")
    due_text = day_label(tr, date.fromisoformat(due)) if isinstance(due, str) else "—"
    if entry.action == "action.created":
        return tr.gettext("Action item for {owner}, due {due}: {text}").format(
            owner=owner, due=due_text, text=preview(str(details.get("text") or ""), 80)
        )
    if entry.action == "action.progress":
        return tr.gettext("Progress on an action item of {owner}: {note}").format(
            owner=owner, note=preview(str(details.get("note") or ""), 80)
        )
    if entry.action == "action.done":
        late = int(details.get("days_late") or 0)
        if details.get("on_time"):
            return tr.gettext("Action item of {owner} done on time (due {due})").format(
                owner=owner, due=due_text
            )
        return tr.ngettext(
            "Action item of {owner} done {n} day late (due {due})",
            "Action item of {owner} done {n} days late (due {due})",
            late,
        ).format(owner=owner, n=late, due=due_text)
    if entry.action == "action.overdue":
        days = int(details.get("days") or 0)
        return tr.ngettext(
            "Action item of {owner} overdue by {n} day (due {due})",
            "Action item of {owner} overdue by {n} days (due {due})",
            days,
        ).format(owner=owner, n=days, due=due_text)
    return entry.action


async def detail(
    session: AsyncSession, runtime: Runtime, entry: AuditEntry, tr: Translator, member: Member
) -> str | None:
    """The minutes in full (with their corrections), or an action item with its state and progress notes;
    None when the reader may not see it. HTML; minutes may run past one message (the caller splits)."""
    try:
        object_id = int(entry.object_id or "")
    except ValueError:
        return None
    now = runtime.clock.now()
    if entry.object_type == "meeting":
        meeting = await store.get_meeting(session, meeting_id=object_id)
        if meeting is None or not await service.may_read(session, member, meeting):
            return None
        items = await store.list_items(session, meeting_id=object_id)
        addenda = await store.list_addenda(session, meeting_id=object_id)
        names = await service.names_of(
            session, [meeting.author_member_id, *(a.author_member_id for a in addenda)]
        )
        post = service.reader_post(member, meeting)
        parts = render_minutes(
            runtime.config,
            tr,
            meeting,
            items,
            reader=MinutesReader(tr.language, post, card=True),
            author=names.get(meeting.author_member_id, "?"),
            now=now,
            addenda=len(addenda),
        )
        corrections = [
            render_addendum(
                runtime.config,
                tr,
                meeting,
                a.text,
                author=names.get(a.author_member_id, "?"),
                reader_post=post,
            )
            for a in addenda
        ]
        return "\n\n".join([*parts, *corrections])
    if entry.object_type == "action_item":
        found = await service.load_item(session, object_id)
        if found is None or not service.may_see(member, *found):
            return None
        item, meeting = found
        notes = await store.list_notes(session, item_id=object_id)
        names = await service.names_of(
            session, [item.done_by_member_id, item.last_note_by_member_id, *(n.member_id for n in notes)]
        )
        post = service.reader_post(member, meeting)
        text = render_item(
            runtime.config, tr, item, meeting, kind=CopyKind.ITEM, reader_post=post, now=now, names=names
        )
        zone = runtime.config.post_zone(post, item.post_code)
        history = [
            tr.gettext("📝 {name}, {moment}: {note}").format(
                name=html.escape(names.get(n.member_id, "?")),
                moment=tr.short_datetime(n.created_at, zone),
                note=html.escape(n.text),
            )
            for n in notes
        ]
        return "\n\n".join([text, *(["\n".join(history)] if history else [])])
    return None
