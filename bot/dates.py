"""Reading times people type on a phone: "14:30", "7h", "28/11 14:30", "2026-11-28 14:30" in a post's zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

_TIME = r"(?P<hour>\d{1,2})\s*(?:[:hH.]\s*(?P<minute>\d{2})?)?"
TIME_RE = re.compile(rf"^\s*{_TIME}\s*$")
# Date and time need something between them ("28/11 14:30", "28/11 à 14h", "2026-11-28T14:30").
_JOIN = r"(?:\s*,\s*|\s*T\s*|\s+(?:(?:à|a|at)\s+)?)"
DAY_FIRST_RE = re.compile(
    rf"^\s*(?P<day>\d{{1,2}})\s*[/.-]\s*(?P<month>\d{{1,2}})(?:\s*[/.-]\s*(?P<year>\d{{2}}|\d{{4}}))?{_JOIN}{_TIME}\s*$"
)
ISO_RE = re.compile(rf"^\s*(?P<year>\d{{4}})-(?P<month>\d{{1,2}})-(?P<day>\d{{1,2}}){_JOIN}{_TIME}\s*$")
# A date typed without a year this long ago means the same date next year (e.g. "05/01" typed in December).
NEXT_YEAR_AFTER = timedelta(days=60)
# A one-off reminder further ahead than this is a typing slip ("31/12/9999"), not a plan.
FURTHEST_AHEAD = timedelta(days=366)


class TimeProblem(StrEnum):
    """Why a typed date and time was refused."""

    UNREADABLE = "unreadable"
    NONEXISTENT = "nonexistent"
    PAST = "past"
    TOO_FAR = "too_far"


class TimeRefused(ValueError):
    """A typed moment that cannot be used, with the reason."""

    def __init__(self, problem: TimeProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def parse_time_of_day(text: str) -> tuple[int, int] | None:
    """Hours and minutes from "07:30", "7h30", "19h", "7.30"; None when unreadable or out of range."""
    match = TIME_RE.match(text or "")
    if match is None:
        return None
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    if hour > 23 or minute > 59:
        return None
    return hour, minute


def parse_moment(text: str, *, zone: str, now: datetime) -> datetime:
    """A one-off moment typed in the post's zone, as UTC; raises TimeRefused."""
    match = ISO_RE.match(text or "") or DAY_FIRST_RE.match(text or "")
    if match is None:
        raise TimeRefused(TimeProblem.UNREADABLE)
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    if hour > 23 or minute > 59:
        raise TimeRefused(TimeProblem.UNREADABLE)
    tz = ZoneInfo(zone)
    local_now = now.astimezone(tz)
    year_text = match["year"]
    year = local_now.year if year_text is None else int(year_text) + (2000 if len(year_text) == 2 else 0)
    try:
        moment = datetime(year, int(match["month"]), int(match["day"]), hour, minute, tzinfo=tz)
    except ValueError:
        raise TimeRefused(TimeProblem.NONEXISTENT) from None
    if year_text is None and moment < now - NEXT_YEAR_AFTER:
        try:
            moment = moment.replace(year=year + 1)
        except ValueError:  # 29 February
            raise TimeRefused(TimeProblem.NONEXISTENT) from None
    moment_utc = moment.astimezone(UTC)
    if moment_utc <= now:
        raise TimeRefused(TimeProblem.PAST)
    if moment_utc > now + FURTHEST_AHEAD:
        raise TimeRefused(TimeProblem.TOO_FAR)
    return moment_utc


def example_moment(*, zone: str, now: datetime) -> str:
    """A valid example for the reader: tomorrow at 08:00 at the post, as "dd/mm HH:MM"."""
    tomorrow = now.astimezone(ZoneInfo(zone)) + timedelta(days=1)
    return f"{tomorrow:%d/%m} 08:00"
