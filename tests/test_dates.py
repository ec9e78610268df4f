"""Days and times typed in French and English, read in a post's zone (bot/dates.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from bot.dates import (
    Direction,
    TimeProblem,
    TimeRefused,
    at_local_time,
    check_day,
    fold,
    format_local_date,
    local_today,
    parse_day,
    parse_day_and_time,
)

NIAMEY = "Africa/Niamey"  # UTC+1
OUAGA = "Africa/Ouagadougou"  # UTC+0
# Monday 23 November 2026, 09:00 in Niamey (the frozen clock's start).
MONDAY = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def day(text: str, direction: Direction = Direction.FUTURE, *, zone: str = NIAMEY, now: datetime = MONDAY):
    return parse_day(text, zone=zone, now=now, direction=direction)


def refused(text: str, direction: Direction = Direction.FUTURE) -> TimeProblem:
    with pytest.raises(TimeRefused) as caught:
        day(text, direction)
    return caught.value.problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12/12", date(2026, 12, 12)),
        ("12/12/2026", date(2026, 12, 12)),
        ("12/12/26", date(2026, 12, 12)),
        ("12.12.2026", date(2026, 12, 12)),
        ("12-12-2026", date(2026, 12, 12)),
        ("2026-12-12", date(2026, 12, 12)),
        (" 12/12. ", date(2026, 12, 12)),
        ("12 décembre", date(2026, 12, 12)),
        ("12 decembre 2026", date(2026, 12, 12)),
        ("1er décembre", date(2026, 12, 1)),
        ("12 déc.", date(2026, 12, 12)),
        ("Dec 12", date(2026, 12, 12)),
        ("December 12, 2026", date(2026, 12, 12)),
        ("12th December", date(2026, 12, 12)),
        ("vendredi", date(2026, 11, 27)),
        ("Vendredi", date(2026, 11, 27)),
        ("ven.", date(2026, 11, 27)),
        ("vendredi prochain", date(2026, 11, 27)),
        ("ce vendredi", date(2026, 11, 27)),
        ("Friday", date(2026, 11, 27)),
        ("fri", date(2026, 11, 27)),
        ("next Friday", date(2026, 11, 27)),
        ("on Friday", date(2026, 11, 27)),
        ("vendredi 27/11", date(2026, 11, 27)),
        ("ven. 27 nov.", date(2026, 11, 27)),
        ("Friday, Nov 27", date(2026, 11, 27)),
        # A bare weekday never means today: "lundi" said on a Monday is next Monday.
        ("lundi", date(2026, 11, 30)),
        ("Monday", date(2026, 11, 30)),
        ("demain", date(2026, 11, 24)),
        ("Demain !", date(2026, 11, 24)),
        ("tomorrow", date(2026, 11, 24)),
        ("aujourd'hui", date(2026, 11, 23)),
        ("aujourd’hui", date(2026, 11, 23)),
        ("Aujourd'hui", date(2026, 11, 23)),
        ("today", date(2026, 11, 23)),
        ("après-demain", date(2026, 11, 25)),
        ("day after tomorrow", date(2026, 11, 25)),
        ("hier", date(2026, 11, 22)),
        ("yesterday", date(2026, 11, 22)),
        ("dans 3 jours", date(2026, 11, 26)),
        ("dans 2 semaines", date(2026, 12, 7)),
        ("in 2 weeks", date(2026, 12, 7)),
        ("in 1 day", date(2026, 11, 24)),
        # Typed in November without a year: January is next year's.
        ("05/01", date(2027, 1, 5)),
        # A few days ago stays this year (the caller refuses it as past); never silently next year.
        ("20/11", date(2026, 11, 20)),
    ],
)
def test_days_ahead_in_french_and_english(text: str, expected: date) -> None:
    assert day(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vendredi", date(2026, 11, 20)),
        ("Friday", date(2026, 11, 20)),
        ("vendredi dernier", date(2026, 11, 20)),
        ("last Friday", date(2026, 11, 20)),
        # Said while writing minutes, "next Friday" still looks ahead.
        ("vendredi prochain", date(2026, 11, 27)),
        ("next Friday", date(2026, 11, 27)),
        ("lundi", date(2026, 11, 16)),
        ("hier", date(2026, 11, 22)),
        ("3 days ago", date(2026, 11, 20)),
        ("il y a 1 semaine", date(2026, 11, 16)),
        ("05/01", date(2026, 1, 5)),
        ("28/12", date(2026, 12, 28)),
    ],
)
def test_days_behind_for_minutes(text: str, expected: date) -> None:
    assert day(text, Direction.PAST) == expected


def test_a_date_typed_late_in_the_year_looks_back_to_last_year() -> None:
    january = datetime(2027, 1, 5, 10, 0, tzinfo=UTC)
    assert day("28/12", Direction.PAST, now=january) == date(2026, 12, 28)
    assert day("28/12", Direction.FUTURE, now=january) == date(2027, 12, 28)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", TimeProblem.UNREADABLE),
        ("   ", TimeProblem.UNREADABLE),
        ("bientôt", TimeProblem.UNREADABLE),
        ("soon", TimeProblem.UNREADABLE),
        ("vendredi ou samedi", TimeProblem.UNREADABLE),
        ("vendredi prochain dernier", TimeProblem.UNREADABLE),
        ("next next friday", TimeProblem.UNREADABLE),
        ("12/12/12/12", TimeProblem.UNREADABLE),
        ("99999999999999999999", TimeProblem.UNREADABLE),
        ("<b>12/12</b>", TimeProblem.UNREADABLE),
        ("31/11", TimeProblem.NONEXISTENT),
        ("12/13", TimeProblem.NONEXISTENT),
        ("00/12", TimeProblem.NONEXISTENT),
        ("29/02/2027", TimeProblem.NONEXISTENT),
        ("30 février", TimeProblem.NONEXISTENT),
        ("vendredi 28/11", TimeProblem.CONTRADICTS),
        ("Saturday, Nov 27", TimeProblem.CONTRADICTS),
    ],
)
def test_unreadable_days_are_refused_with_the_reason(text: str, problem: TimeProblem) -> None:
    assert refused(text) == problem


def test_today_is_the_posts_today() -> None:
    # 23:30 UTC on Monday: already Tuesday in Niamey, still Monday in Ouagadougou.
    late = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    assert local_today(zone=NIAMEY, now=late) == date(2026, 11, 24)
    assert local_today(zone=OUAGA, now=late) == date(2026, 11, 23)
    assert day("demain", now=late) == date(2026, 11, 25)
    assert day("demain", zone=OUAGA, now=late) == date(2026, 11, 24)
    assert day("vendredi", zone=OUAGA, now=late) == date(2026, 11, 27)


def test_check_day_states_why_a_day_is_refused() -> None:
    today = date(2026, 11, 23)
    assert check_day(today, zone=NIAMEY, now=MONDAY) == today
    with pytest.raises(TimeRefused) as past:
        check_day(date(2026, 11, 22), zone=NIAMEY, now=MONDAY)
    assert past.value.problem == TimeProblem.PAST
    with pytest.raises(TimeRefused) as old:
        check_day(date(2026, 8, 1), zone=NIAMEY, now=MONDAY, back_days=60)
    assert old.value.problem == TimeProblem.TOO_OLD
    with pytest.raises(TimeRefused) as far:
        check_day(date(2028, 1, 1), zone=NIAMEY, now=MONDAY)
    assert far.value.problem == TimeProblem.TOO_FAR
    assert check_day(date(2026, 10, 1), zone=NIAMEY, now=MONDAY, back_days=60) == date(2026, 10, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("23/11 09:00", datetime(2026, 11, 23, 8, 0, tzinfo=UTC)),
        ("23/11 à 9h", datetime(2026, 11, 23, 8, 0, tzinfo=UTC)),
        ("23/11/2026 9h30", datetime(2026, 11, 23, 8, 30, tzinfo=UTC)),
        ("2026-11-20 14:30", datetime(2026, 11, 20, 13, 30, tzinfo=UTC)),
        ("hier 15h", datetime(2026, 11, 22, 14, 0, tzinfo=UTC)),
        ("aujourd'hui 8:30", datetime(2026, 11, 23, 7, 30, tzinfo=UTC)),
        ("today 8:30 am", datetime(2026, 11, 23, 7, 30, tzinfo=UTC)),
        ("yesterday at 3 pm", datetime(2026, 11, 22, 14, 0, tzinfo=UTC)),
        ("vendredi à 10h", datetime(2026, 11, 20, 9, 0, tzinfo=UTC)),
        ("Friday 10:00", datetime(2026, 11, 20, 9, 0, tzinfo=UTC)),
        ("12 h 30", datetime(2026, 11, 23, 11, 30, tzinfo=UTC)),
        ("14:30", datetime(2026, 11, 23, 13, 30, tzinfo=UTC)),
    ],
)
def test_day_and_time_in_the_posts_zone(text: str, expected: datetime) -> None:
    assert parse_day_and_time(text, zone=NIAMEY, now=MONDAY, direction=Direction.PAST) == expected


def test_day_and_time_ahead_and_in_another_zone() -> None:
    moment = parse_day_and_time("lundi 9h", zone=OUAGA, now=MONDAY, direction=Direction.FUTURE)
    assert moment == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    # A day alone takes the default time when the caller gives one.
    assert parse_day_and_time(
        "demain", zone=NIAMEY, now=MONDAY, direction=Direction.FUTURE, default_time=time(9, 0)
    ) == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["lundi", "demain", "24:00", "9:75", "13 pm", "quand vous voulez", ""])
def test_day_and_time_refused(text: str) -> None:
    with pytest.raises(TimeRefused):
        parse_day_and_time(text, zone=NIAMEY, now=MONDAY)


def test_local_time_on_a_day_and_folding() -> None:
    assert at_local_time(date(2026, 11, 27), time(9, 0), zone=NIAMEY) == datetime(
        2026, 11, 27, 8, 0, tzinfo=UTC
    )
    assert at_local_time(date(2026, 11, 27), time(9, 0), zone=OUAGA) == datetime(
        2026, 11, 27, 9, 0, tzinfo=UTC
    )
    assert fold("  Eaux   et FORÊTS ") == "eaux et forets"
    assert fold("Aujourd’hui") == "aujourd'hui"


@pytest.mark.parametrize(
    ("fmt", "language", "first", "second"),
    [
        ("medium", "fr", "1er déc. 2026", "2 déc. 2026"),
        ("long", "fr", "1er décembre 2026", "2 décembre 2026"),
        ("full", "fr", "mardi 1er décembre 2026", "mercredi 2 décembre 2026"),
        ("d MMM", "fr", "1er déc.", "2 déc."),
        ("EEE d MMM", "fr", "mar. 1er déc.", "mer. 2 déc."),
        ("EEE d MMM y", "fr", "mar. 1er déc. 2026", "mer. 2 déc. 2026"),
        # Digits only: no ordinal ("01/12/2026").
        ("short", "fr", "01/12/2026", "02/12/2026"),
        ("medium", "en", "Dec 1, 2026", "Dec 2, 2026"),
        ("MMM d", "en", "Dec 1", "Dec 2"),
        ("EEE, MMM d, y", "en", "Tue, Dec 1, 2026", "Wed, Dec 2, 2026"),
    ],
)
def test_the_first_of_a_month_reads_1er_in_french_only(
    fmt: str, language: str, first: str, second: str
) -> None:
    assert format_local_date(date(2026, 12, 1), fmt, language) == first
    assert format_local_date(date(2026, 12, 2), fmt, language) == second


def test_the_readers_dates_and_times_say_1er_on_the_first() -> None:
    from bot.i18n import translator

    moment = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)  # 09:30 in Niamey
    fr, en = translator("fr"), translator("en")
    assert fr.short_datetime(moment, NIAMEY) == "1er déc., 09:30"
    assert fr.datetime(moment, NIAMEY) == "1er déc. 2026, 09:30"
    assert fr.date(moment, NIAMEY, "long") == "1er décembre 2026"
    assert fr.date(moment, NIAMEY, "short") == "01/12/2026"
    assert en.short_datetime(moment, NIAMEY) == "Dec 1, 9:30\u202fAM"
    # The day is the post's: 23:30 UTC on 30 November is already the 1st in Niamey.
    assert fr.short_datetime(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), NIAMEY) == "1er déc., 00:30"


def test_the_review_days_and_windows_say_1er_on_the_first() -> None:
    from bot.i18n import translator
    from handlers.review.render import day_label, window_text

    fr, en = translator("fr"), translator("en")
    first = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    assert day_label(fr, first, NIAMEY) == "mar. 1er déc."
    assert day_label(fr, datetime(2026, 12, 2, 8, 30, tzinfo=UTC), NIAMEY) == "mer. 2 déc."
    assert day_label(en, first, NIAMEY) == "Tue, Dec 1"
    # [since, until): the days from the 1st to the 7th, then a window that ends on a first.
    since, until = datetime(2026, 11, 30, 23, 0, tzinfo=UTC), datetime(2026, 12, 7, 23, 0, tzinfo=UTC)
    assert window_text(fr, since, until, NIAMEY) == "1er–7 déc. 2026"
    assert window_text(en, since, until, NIAMEY) == "Dec 1\u2009–\u20097, 2026"
    november = datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    assert window_text(fr, november, until, NIAMEY) == "1er nov.\u2009–\u20097 déc. 2026"
    assert (
        window_text(
            fr, datetime(2026, 11, 10, 23, 0, tzinfo=UTC), datetime(2026, 12, 1, 23, 0, tzinfo=UTC), NIAMEY
        )
        == "11 nov.\u2009–\u20091er déc. 2026"
    )
    assert (
        window_text(
            fr, datetime(2026, 11, 10, 23, 0, tzinfo=UTC), datetime(2026, 11, 17, 23, 0, tzinfo=UTC), NIAMEY
        )
        == "11–17 nov. 2026"
    )
