"""Reading times people type on a phone: "14:30", "7h", "28/11 14:30", "2026-11-28 14:30" in a post's zone,
and days typed in French or English: "12/12", "12/12/2026", "vendredi", "Friday", "demain", "today"..."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal
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
    # A day further back than the caller accepts (minutes of a meeting held months ago, say).
    TOO_OLD = "too_old"
    # A weekday and a date that disagree ("vendredi 28/11" when the 28th is a Saturday): never guessed.
    CONTRADICTS = "contradicts"


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


# ----- days typed in French or English --------------------------------------------------------------------


class Direction(StrEnum):
    """Which way a bare weekday or a date without a year points: a due date looks ahead, minutes look back."""

    FUTURE = "future"
    PAST = "past"


def fold(text: str) -> str:
    """Lower case without accents, one space between words, curly apostrophes made straight."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    bare = bare.replace("\u2019", "'").replace("\u02bc", "'").replace("`", "'").casefold()
    return " ".join(bare.split())


_WEEKDAY_NAMES = (
    ("lundi", "lun", "monday", "mon"),
    ("mardi", "mar", "tuesday", "tue", "tues"),
    ("mercredi", "mer", "wednesday", "wed"),
    ("jeudi", "jeu", "thursday", "thu", "thur", "thurs"),
    ("vendredi", "ven", "friday", "fri"),
    ("samedi", "sam", "saturday", "sat"),
    ("dimanche", "dim", "sunday", "sun"),
)
WEEKDAY_WORDS: dict[str, int] = {name: day for day, names in enumerate(_WEEKDAY_NAMES) for name in names}
_MONTH_NAMES = (
    ("janvier", "janv", "jan", "january"),
    ("fevrier", "fevr", "fev", "february", "feb"),
    ("mars", "march", "mar"),
    ("avril", "avr", "april", "apr"),
    ("mai", "may"),
    ("juin", "june", "jun"),
    ("juillet", "juil", "july", "jul"),
    ("aout", "august", "aug"),
    ("septembre", "sept", "sep", "september"),
    ("octobre", "oct", "october"),
    ("novembre", "nov", "november"),
    ("decembre", "dec", "december"),
)
MONTH_WORDS: dict[str, int] = {name: month for month, names in enumerate(_MONTH_NAMES, 1) for name in names}
# Days named relative to today, folded.
RELATIVE_DAYS: dict[str, int] = {
    "aujourd'hui": 0,
    "aujourd hui": 0,
    "aujourdhui": 0,
    "auj": 0,
    "today": 0,
    "demain": 1,
    "tomorrow": 1,
    "apres-demain": 2,
    "apres demain": 2,
    "day after tomorrow": 2,
    "the day after tomorrow": 2,
    "hier": -1,
    "yesterday": -1,
    "avant-hier": -2,
    "avant hier": -2,
    "day before yesterday": -2,
    "the day before yesterday": -2,
}
# Words around a weekday: "ce vendredi", "on Friday" change nothing; "vendredi prochain", "next Friday" look
# ahead and "vendredi dernier", "last Friday" look back, whatever the caller's direction.
_FILLER = {"ce", "cette", "le", "la", "this", "on", "the"}
_AHEAD = {"prochain", "prochaine", "next"}
_BEHIND = {"dernier", "derniere", "last"}
_NUMERIC_DAY = re.compile(
    r"^(?P<day>\d{1,2})\s*[/.-]\s*(?P<month>\d{1,2})(?:\s*[/.-]\s*(?P<year>\d{2}|\d{4}))?$"
)
_ISO_DAY = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})$")
_DAY_MONTH_WORDS = re.compile(
    r"^(?P<day>\d{1,2})(?:er|st|nd|rd|th)?\s+(?:de\s+)?(?P<month>[a-z]+)\.?(?:\s*,?\s*(?P<year>\d{4}))?$"
)
_MONTH_DAY_WORDS = re.compile(
    r"^(?P<month>[a-z]+)\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?(?:\s*,?\s*(?P<year>\d{4}))?$"
)
_IN_DAYS = re.compile(r"^(?:dans|in)\s+(?P<n>\d{1,3})\s+(?P<unit>jours?|days?|semaines?|weeks?)$")
_DAYS_AGO = re.compile(
    r"^(?:il y a\s+(?P<n1>\d{1,3})\s+(?P<u1>jours?|semaines?)|(?P<n2>\d{1,3})\s+(?P<u2>days?|weeks?)\s+ago)$"
)
# A time at the end of a day: "... 14:30", "... à 9h", "... at 3 pm", "... 15h30".
_TRAILING_TIME = re.compile(
    r"(?:^|[\s,])(?:(?:a|at|vers|des)\s+)?(?P<hour>\d{1,2})"
    r"(?:\s*(?P<sep>[:h])\s*(?P<minute>\d{2})?)?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)?$"
)
# A date typed without a year is read in the year that puts it nearest in the expected direction, unless it
# falls this far the other way (a due date of "20/11" typed on the 23rd is a past date, not next year's).
YEAR_SLACK = timedelta(days=60)


def local_today(*, zone: str, now: datetime) -> date:
    """Today's date at the post."""
    return now.astimezone(ZoneInfo(zone)).date()


def _strip(text: str) -> str:
    """Folded, without the punctuation a phone adds at the end ("vendredi.", "12/12 !")."""
    return fold(text).strip(" .,;:!?")


def _weekday(words: list[str], direction: Direction) -> tuple[int, Direction] | None:
    """The weekday named by words like ["vendredi", "prochain"], and which way they point (None when the
    words say something else)."""
    bare = [w.rstrip(".") for w in words if w.rstrip(".") not in _FILLER]
    if any(w in _AHEAD for w in bare) and not any(w in _BEHIND for w in bare):
        direction = Direction.FUTURE
    elif any(w in _BEHIND for w in bare) and not any(w in _AHEAD for w in bare):
        direction = Direction.PAST
    named = [w for w in bare if w not in _AHEAD | _BEHIND]
    if len(named) != 1 or named[0] not in WEEKDAY_WORDS or len(bare) - len(named) > 1:
        return None
    return WEEKDAY_WORDS[named[0]], direction


def _with_year(day: int, month: int, year_text: str | None, today: date, direction: Direction) -> date:
    """The calendar day, the year inferred when not typed; raises TimeRefused(NONEXISTENT)."""
    if year_text is not None:
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        try:
            return date(year, month, day)
        except ValueError:
            raise TimeRefused(TimeProblem.NONEXISTENT) from None
    step = 1 if direction == Direction.FUTURE else -1
    for year in (today.year, today.year + step):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if year == today.year and (
            (direction == Direction.FUTURE and candidate < today - YEAR_SLACK)
            or (direction == Direction.PAST and candidate > today + YEAR_SLACK)
        ):
            continue
        return candidate
    raise TimeRefused(TimeProblem.NONEXISTENT)


def _calendar_day(text: str, today: date, direction: Direction) -> date | None:
    """A day written as numbers or with a month name; None when it is not written that way."""
    match = _ISO_DAY.match(text)
    if match:
        return _with_year(int(match["day"]), int(match["month"]), match["year"], today, direction)
    match = _NUMERIC_DAY.match(text)
    if match:
        return _with_year(int(match["day"]), int(match["month"]), match["year"], today, direction)
    for pattern in (_DAY_MONTH_WORDS, _MONTH_DAY_WORDS):
        match = pattern.match(text)
        if match and match["month"] in MONTH_WORDS:
            return _with_year(int(match["day"]), MONTH_WORDS[match["month"]], match["year"], today, direction)
    return None


def parse_day(text: str, *, zone: str, now: datetime, direction: Direction = Direction.FUTURE) -> date:
    """A day typed in French or English, read at the post (its zone says what "today" is).

    Understood: "12/12", "12/12/2026", "12.12.26", "2026-12-12", "12 décembre", "Dec 12", "vendredi",
    "Friday", "ven.", "vendredi prochain", "demain", "tomorrow", "aujourd'hui", "today", "hier",
    "yesterday", "après-demain", "dans 3 jours", "in 2 weeks", "vendredi 27/11". A bare weekday means the
    next one after today (FUTURE) or the last one before today (PAST); "prochain"/"next" and
    "dernier"/"last" say which; "aujourd'hui" / "today" is today. Raises TimeRefused: UNREADABLE,
    NONEXISTENT (31/11), CONTRADICTS (a weekday that is not the date's). Whether the day is too early or too
    late is the caller's rule (see `check_day`).
    """
    today = local_today(zone=zone, now=now)
    folded = _strip(text)
    if not folded:
        raise TimeRefused(TimeProblem.UNREADABLE)
    if folded in RELATIVE_DAYS:
        return today + timedelta(days=RELATIVE_DAYS[folded])
    match = _IN_DAYS.match(folded)
    if match:
        weeks = match["unit"].startswith(("sem", "week"))
        return today + timedelta(days=int(match["n"]) * (7 if weeks else 1))
    match = _DAYS_AGO.match(folded)
    if match:
        n, unit = (match["n1"], match["u1"]) if match["n1"] else (match["n2"], match["u2"])
        return today - timedelta(days=int(n) * (7 if unit.startswith(("sem", "week")) else 1))
    words = folded.replace(",", " ").split()
    named = _weekday(words, direction)
    if named is not None:
        weekday, direction = named
        if direction == Direction.FUTURE:
            return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
        return today - timedelta(days=(today.weekday() - weekday - 1) % 7 + 1)
    # "vendredi 27/11", "ven. 27 nov.", "Friday, Nov 27": the weekday must agree with the date.
    named_day = WEEKDAY_WORDS.get(words[0].rstrip(".")) if words else None
    rest = " ".join(words[1:]) if named_day is not None else folded
    day = _calendar_day(rest.strip(" .,"), today, direction)
    if day is None:
        raise TimeRefused(TimeProblem.UNREADABLE)
    if named_day is not None and day.weekday() != named_day:
        raise TimeRefused(TimeProblem.CONTRADICTS)
    return day


def check_day(day: date, *, zone: str, now: datetime, back_days: int = 0, ahead_days: int = 366) -> date:
    """The day if it lies between `back_days` before today and `ahead_days` after; else TimeRefused
    (PAST when no past day is accepted, TOO_OLD when it is further back than that, TOO_FAR)."""
    today = local_today(zone=zone, now=now)
    if day < today - timedelta(days=back_days):
        raise TimeRefused(TimeProblem.PAST if back_days == 0 else TimeProblem.TOO_OLD)
    if day > today + timedelta(days=ahead_days):
        raise TimeRefused(TimeProblem.TOO_FAR)
    return day


def _split_time(folded: str) -> tuple[str, tuple[int, int] | None]:
    """("day words", (hour, minute)) from "vendredi 14:30"; (text, None) when no time ends it."""
    match = _TRAILING_TIME.search(folded)
    if match is None or (match["sep"] is None and match["ampm"] is None):
        return folded, None
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    ampm = (match["ampm"] or "").replace(".", "")
    if ampm:
        if not 1 <= hour <= 12:
            raise TimeRefused(TimeProblem.UNREADABLE)
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59:
        raise TimeRefused(TimeProblem.UNREADABLE)
    return folded[: match.start()].strip(" ,"), (hour, minute)


def parse_day_and_time(
    text: str,
    *,
    zone: str,
    now: datetime,
    direction: Direction = Direction.PAST,
    default_time: time | None = None,
) -> datetime:
    """A day and a time typed in the post's zone, as UTC: "23/11 09:00", "hier 15h", "today 8:30 am",
    "vendredi à 10h", "14:30" (today). A day without a time takes `default_time` (else UNREADABLE).
    Raises TimeRefused like `parse_day`; ranges are the caller's to check."""
    folded = _strip(text)
    day_text, clock = _split_time(folded)
    day_text = re.sub(r"\s+(?:a|at)$", "", day_text).strip()
    if clock is None:
        if default_time is None:
            raise TimeRefused(TimeProblem.UNREADABLE)
        clock = (default_time.hour, default_time.minute)
    day = parse_day(day_text, zone=zone, now=now, direction=direction) if day_text else None
    day = day or local_today(zone=zone, now=now)
    return datetime(day.year, day.month, day.day, clock[0], clock[1], tzinfo=ZoneInfo(zone)).astimezone(UTC)


def at_local_time(day: date, moment: time, *, zone: str) -> datetime:
    """A day's wall-clock time at the post, as UTC (for "09:00 on the due day, post time")."""
    return datetime(
        day.year, day.month, day.day, moment.hour, moment.minute, tzinfo=ZoneInfo(zone)
    ).astimezone(UTC)


# ----- days typed in the reader's format (a period to read: "16/11 22/11", "11/16/2026 - 11/22/2026") ------

# The reader's order of day and month: French writes 16/11/2026, English (Babel's "en", US) 11/16/2026.
DAY_FIRST_LANGUAGES = ("fr",)
_ISO_DAY_PART = r"(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})"
_LOCAL_DAY = r"(?P<a>\d{1,2})[/.](?P<b>\d{1,2})(?:[/.](?P<y>\d{4}|\d{2}))?"
DAY_RE = re.compile(rf"(?<![\d/.-])(?:{_ISO_DAY_PART}|{_LOCAL_DAY})(?![\d/.])")
# What may stand around and between the days: "du 16/11 au 22/11", "from 11/16 to 11/22", "16/11 - 22/11".
_RANGE_FILLER = re.compile(
    r"^(?:\s|[-–—,;:]|\b(?:du|au|de|à|a|et|le|from|to|and|until|till)\b)*$", re.IGNORECASE
)


class DayProblem(StrEnum):
    """Why typed days were refused."""

    UNREADABLE = "unreadable"
    NONEXISTENT = "nonexistent"
    FUTURE = "future"
    TOO_OLD = "too_old"


class DayRefused(ValueError):
    """Typed days that cannot be used, with the reason."""

    def __init__(self, problem: DayProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def _day_of(match: re.Match[str], language: str, today: date) -> date:
    if match["iy"]:
        year, month, day = int(match["iy"]), int(match["im"]), int(match["id"])
        typed_year = True
    else:
        first, second = int(match["a"]), int(match["b"])
        day, month = (first, second) if language in DAY_FIRST_LANGUAGES else (second, first)
        typed_year = match["y"] is not None
        year = today.year
        if typed_year:
            year = int(match["y"]) + (2000 if len(match["y"]) == 2 else 0)
    try:
        found = date(year, month, day)
    except ValueError:
        raise DayRefused(DayProblem.NONEXISTENT) from None
    if not typed_year and (found - today).days > 31:
        # "28/12" typed in January is the December just past ("24/11" typed on the 23rd is a slip: refused).
        try:
            found = found.replace(year=year - 1)
        except ValueError:
            raise DayRefused(DayProblem.NONEXISTENT) from None
    return found


def parse_day_range(
    text: str, *, language: str, zone: str, now: datetime, max_days: int
) -> tuple[date, date]:
    """A first and a last day (or one day) typed in the reader's format, within the last `max_days` days
    of the zone's today (so never a longer period); raises DayRefused. Days typed in the wrong order are put
    right."""
    matches = list(DAY_RE.finditer(text or ""))
    leftover = DAY_RE.sub(" ", text or "")
    if not 1 <= len(matches) <= 2 or not _RANGE_FILLER.match(leftover):
        raise DayRefused(DayProblem.UNREADABLE)
    today = now.astimezone(ZoneInfo(zone)).date()
    days = sorted(_day_of(m, language, today) for m in matches)
    first, last = days[0], days[-1]
    if last > today:
        raise DayRefused(DayProblem.FUTURE)
    if first < today - timedelta(days=max_days - 1):
        raise DayRefused(DayProblem.TOO_OLD)
    return first, last


def format_day(language: str, day: date) -> str:
    """A day the way the reader types it: 16/11/2026 (French) or 11/16/2026 (English)."""
    if language in DAY_FIRST_LANGUAGES:
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    return f"{day.month}/{day.day}/{day.year}"


def day_example(language: str, *, zone: str, now: datetime) -> str:
    """A valid example for the reader: the last seven days, as they would type them."""
    today = now.astimezone(ZoneInfo(zone)).date()
    return f"{format_day(language, today - timedelta(days=6))} {format_day(language, today)}"


# ----- days shown to the reader ----------------------------------------------------------------------------

# Babel's named date formats: their pattern depends on the language.
NamedFormat = Literal["short", "medium", "long", "full"]
NAMED_FORMATS: tuple[NamedFormat, ...] = ("short", "medium", "long", "full")
# Languages that write the first of a month as an ordinal: "1er déc." (never "1 déc."), other days plainly.
FIRST_DAY_SUFFIX = {"fr": "er"}


def first_day_pattern(pattern: str, language: str, day: int) -> str:
    """A Babel date pattern whose day number reads "1er" on the first of a month in French, when the month is
    written in words ("1er déc.", "lun. 1er déc. 2026"); digits only ("01/12/2026") and English unchanged."""
    suffix = FIRST_DAY_SUFFIX.get(language)
    if suffix is None or day != 1:
        return pattern
    # Outside quoted literals only: a lone "d" (not "dd") beside a month in words ("MMM" or longer).
    pieces = re.split(r"('(?:[^']|'')*')", pattern)
    if not any("MMM" in piece for piece in pieces[::2]):
        return pattern
    for index in range(0, len(pieces), 2):
        marked = re.sub(r"(?<!d)d(?!d)", f"d'{suffix}'", pieces[index], count=1)
        if marked != pieces[index]:
            pieces[index] = marked
            break
    return "".join(pieces)


def format_local_date(moment: date | datetime, fmt: str, language: str) -> str:
    """A calendar day in the reader's language: a named format ("medium") or a pattern ("d MMM"), with
    French's "1er" for the first of a month. A datetime is shown as it is (convert it to the zone first)."""
    from babel.dates import format_date, get_date_format

    named = next((name for name in NAMED_FORMATS if name == fmt), None)
    pattern = fmt if named is None else str(get_date_format(named, locale=language).pattern)
    return format_date(moment, first_day_pattern(pattern, language, moment.day), locale=language)


def format_local_interval(first: date, last: date, skeleton: str, language: str) -> str:
    """Two days as Babel joins them ("1–7 déc. 2026" / "Dec 1 – 7, 2026"), with French's "1er" for a first of
    a month when the month is written in words ("1er–7 déc. 2026")."""
    from babel.dates import format_interval

    text = str(format_interval(first, last, skeleton, locale=language))
    suffix = FIRST_DAY_SUFFIX.get(language)
    if suffix is None or "MMM" not in skeleton or 1 not in (first.day, last.day):
        return text
    # A day number stands alone (a year has four digits): only the day "1" can read "1".
    return re.sub(r"(?<![\d])1(?![\d])", f"1{suffix}", text)
