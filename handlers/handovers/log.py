"""How handovers read in the review log: one line per audit entry, and the handover in full."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import Translator
from bot.runtime import Runtime
from db import handovers as store
from db.audit import AuditEntry
from db.members import Member
from handlers.handovers import render, service


def _seconds(seconds: object) -> float:
    try:
        return float(seconds)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


def summary(entry: AuditEntry, tr: Translator, runtime: Runtime) -> str:
    """One line, in the reader's language (plain text)."""
    config, details = runtime.config, entry.details or {}
    service_name = config.service_name(details.get("service"), tr.language)
    zone = config.post_zone(entry.post_code)
    change = details.get("shift_change_at")
    shift = tr.time(datetime.fromisoformat(change), zone) if isinstance(change, str) else "?"
    action = entry.action
    if action == "handover.written":
        if details.get("nothing_to_report"):
            return tr.gettext("{service} handover for the {time} shift change: nothing to report").format(
                service=service_name, time=shift
            )
        items = int(details.get("items") or 0)
        if items:
            line = tr.ngettext(
                "{service} handover for the {time} shift change: {n} item",
                "{service} handover for the {time} shift change: {n} items",
                items,
            ).format(service=service_name, time=shift, n=items)
        else:
            # Remarks only: "0 items" read as an empty handover.
            line = tr.gettext("{service} handover for the {time} shift change: no items").format(
                service=service_name, time=shift
            )
        if details.get("remarks"):
            line += " · " + tr.gettext("with remarks")
        return line
    if action == "handover.accepted":
        line = tr.gettext("{service} handover taken over after {delay}").format(
            service=service_name, delay=tr.duration(_seconds(details.get("seconds_to_accept")))
        )
        if details.get("with_remarks"):
            line += " · " + tr.gettext("with remarks")
        if details.get("late"):
            line += " · " + tr.gettext("late")
        return line
    if action == "handover.contested":
        item = int(details.get("item") or 0)
        if item:
            return tr.gettext("{service} handover contested (item {n})").format(service=service_name, n=item)
        return tr.gettext("{service} handover contested as a whole").format(service=service_name)
    if action == "handover.missing":
        return tr.gettext("{service} handover missing for the {time} shift change").format(
            service=service_name, time=shift
        )
    if action == "handover.escalated":
        return tr.gettext("{service} handover not taken over {delay} after the change: chiefs told").format(
            service=service_name, delay=tr.duration(int(details.get("minutes") or 0) * 60)
        )
    return action


async def detail(
    session: AsyncSession, runtime: Runtime, entry: AuditEntry, tr: Translator, member: Member
) -> str | None:
    """The handover in full with its acceptance (HTML), for a reader allowed to read it. Nothing is cut, so
    it may be longer than one message: its lines are short, and `render.pack` cuts it into messages."""
    try:
        handover_id = int(entry.object_id or "")
    except ValueError:
        return None
    handover = await store.get_handover(session, handover_id=handover_id)
    if handover is None or not service.may_read(runtime, member, handover):
        return None
    view = await service.load_view(session, handover)
    return "\n".join(render.full_lines(runtime.config, tr, view))
