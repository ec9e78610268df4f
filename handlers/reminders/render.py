"""Rendering of reminders: each copy in its reader's language, and descriptions of when and for whom."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel.dates import get_day_names
from telegram import InlineKeyboardMarkup

from bot.callbacks import OPEN_PREFIX, encode
from bot.config import Config
from bot.features import Command
from bot.i18n import N_, Translator, translator
from bot.keyboards import inline
from bot.texts import in_language, preview
from db.members import Role
from db.schedules import ScheduledJob

HEADER = N_("🔔 <b>Reminder</b>")
LATE = N_("⏰ Sent late: it was due at {time}, while the bot was unavailable.")
FROM = N_("From {name}")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
REPEATS = ("once", "daily", "weekdays", "weekly", "monthly")
REPEAT_LABELS = {
    "once": N_("Once"),
    "daily": N_("Every day"),
    "weekdays": N_("Monday to Friday"),
    "weekly": N_("Every week"),
    "monthly": N_("Every month"),
}


def reminder_text(job: ScheduledJob, language: str) -> str:
    """The reminder's words in `language` (config reminders carry both; a chief's is as written)."""
    return in_language(job.payload.get("text"), language)


def render_copy(job: ScheduledJob, *, language: str, due_at: datetime, late: bool) -> str:
    """One reader's copy of a reminder (HTML)."""
    tr = translator(language)
    _ = tr.gettext
    lines = [_(HEADER), html.escape(reminder_text(job, tr.language))]
    if job.payload.get("author"):
        lines.append("<i>" + html.escape(_(FROM).format(name=job.payload["author"])) + "</i>")
    if late:
        lines.append(_(LATE).format(time=html.escape(tr.short_datetime(due_at, job.timezone))))
    return "\n".join(lines)


def open_markup(tr: Translator, command: Command | None) -> InlineKeyboardMarkup | None:
    """The button under a reminder that opens a command, labelled with its menu entry in the reader's
    language (None when the command is not offered as openable)."""
    if command is None or not command.openable:
        return None
    return inline([[(tr.gettext(command.description), encode(OPEN_PREFIX, command.name))]])


def day_name(
    tr: Translator, day: str, width: Literal["abbreviated", "narrow", "short", "wide"] = "wide"
) -> str:
    """A day of the week in the reader's language."""
    return str(get_day_names(width, locale=tr.language)[WEEKDAYS.index(day)])


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
            moment=tr.datetime(datetime.fromisoformat(repeat["run_at"]), zone)
        )
    if every == "daily":
        return _("Every day at {time}").format(time=at)
    if every == "weekdays":
        return _("Monday to Friday at {time}").format(time=at)
    if every == "weekly":
        return _("Every {day} at {time}").format(day=day_name(tr, repeat["day"]), time=at)
    if every == "monthly":
        return _("Every month on day {day} at {time}").format(day=repeat["day"], time=at)
    # TRANSLATORS: a reminder whose schedule comes from config.yaml.
    return _("Set by the configuration")


def describe_audience(config: Config, tr: Translator, audience: dict[str, Any]) -> str:
    """'Whole post', a service's name, or a role, in the reader's language (HTML-safe)."""
    _ = tr.gettext
    if audience.get("service"):
        return html.escape(config.service_name(audience["service"], tr.language))
    role = audience.get("role")
    if role == Role.CHIEF:
        return _("Post chiefs")
    if role in (Role.COORDINATOR, Role.ADMIN):
        return _("Coordinators")
    if role == Role.AGENT:
        return _("Agents")
    return _("Whole post")


def shorten(text: str, limit: int = 60) -> str:
    """A reminder's words on one line, as /reminders lists them (not escaped)."""
    return preview(text, limit)
