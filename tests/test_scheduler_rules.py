"""Recurrence and typed times without the bot: catch-up over missed runs, DST edges, what people type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.dates import TimeProblem, TimeRefused, parse_moment, parse_time_of_day
from bot.scheduler.triggers import build_trigger, catch_up, cron_args, first_fire_after

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_catch_up_keeps_only_the_latest_missed_occurrence() -> None:
    daily = build_trigger("cron", {"crontab": "45 6 * * *"}, "Africa/Niamey")
    due = datetime(2026, 11, 24, 5, 45, tzinfo=UTC)
    position = catch_up(daily, due, datetime(2026, 11, 27, 6, 0, tzinfo=UTC))
    assert position.due_at == datetime(2026, 11, 27, 5, 45, tzinfo=UTC)
    assert position.missed == 3
    assert position.next_at == datetime(2026, 11, 28, 5, 45, tzinfo=UTC)


def test_catch_up_on_time_misses_nothing_and_one_off_ends() -> None:
    hourly = build_trigger("interval", {"hours": 1, "start_date": "2026-11-27T00:00:00+00:00"}, "UTC")
    position = catch_up(hourly, NOW, NOW)
    assert (position.due_at, position.missed, position.next_at) == (NOW, 0, NOW + timedelta(hours=1))
    once = build_trigger("date", {"run_date": NOW.isoformat()}, "Africa/Niamey")
    assert catch_up(once, NOW, NOW + timedelta(minutes=5)).next_at is None
    assert first_fire_after(once, NOW) is None and first_fire_after(once, NOW - timedelta(seconds=1)) == NOW


def test_a_minutely_rule_down_for_weeks_still_catches_up() -> None:
    minutely = build_trigger("cron", {"crontab": "* * * * *"}, "UTC")
    position = catch_up(minutely, NOW - timedelta(days=30), NOW)
    assert position.next_at is not None and position.next_at > NOW


def test_brussels_rules_across_both_dst_changes() -> None:
    weekly = build_trigger("cron", cron_args(hour=9, minute=0, every="weekly", day="mon"), "Europe/Brussels")
    autumn = first_fire_after(weekly, datetime(2026, 10, 19, 7, 0, tzinfo=UTC))
    assert autumn == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # CEST -> CET
    spring = first_fire_after(weekly, datetime(2027, 3, 22, 8, 0, tzinfo=UTC))
    assert spring == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)  # CET -> CEST
    # 02:30 does not exist on 28 March 2027 in Brussels: the rule still yields a real moment.
    nightly = build_trigger("cron", {"crontab": "30 2 * * *"}, "Europe/Brussels")
    after = first_fire_after(nightly, datetime(2027, 3, 27, 12, 0, tzinfo=UTC))
    assert after is not None and after > datetime(2027, 3, 28, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("07:30", (7, 30)), ("7h30", (7, 30)), ("19h", (19, 0)), ("7.05", (7, 5)), (" 23:59 ", (23, 59))],
)
def test_times_of_day_people_type(typed: str, expected: tuple[int, int]) -> None:
    assert parse_time_of_day(typed) == expected


@pytest.mark.parametrize("typed", ["24:00", "7:60", "noon", "", "12:3", "1230", "-1:00"])
def test_times_of_day_refused(typed: str) -> None:
    assert parse_time_of_day(typed) is None


@pytest.mark.parametrize(
    ("typed", "zone", "expected"),
    [
        ("28/11 14:30", "Africa/Niamey", datetime(2026, 11, 28, 13, 30, tzinfo=UTC)),
        ("28/11 14:30", "Africa/Ouagadougou", datetime(2026, 11, 28, 14, 30, tzinfo=UTC)),
        ("2026-11-28 14:30", "Africa/Niamey", datetime(2026, 11, 28, 13, 30, tzinfo=UTC)),
        ("28/11/26 à 14h", "Africa/Niamey", datetime(2026, 11, 28, 13, 0, tzinfo=UTC)),
        ("5/1 8:00", "Africa/Niamey", datetime(2027, 1, 5, 7, 0, tzinfo=UTC)),  # January: next year
        ("2026-12-01T09:00", "Europe/Brussels", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
    ],
)
def test_moments_read_in_the_post_zone(typed: str, zone: str, expected: datetime) -> None:
    assert parse_moment(typed, zone=zone, now=NOW) == expected


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("tomorrow", TimeProblem.UNREADABLE),
        ("28/11", TimeProblem.UNREADABLE),
        ("28/11 25:00", TimeProblem.UNREADABLE),
        ("31/11 10:00", TimeProblem.NONEXISTENT),
        ("29/02/2027 10:00", TimeProblem.NONEXISTENT),
        ("27/11 10:59", TimeProblem.PAST),  # 09:59 UTC in Niamey, a minute ago
        ("2025-12-01 10:00", TimeProblem.PAST),
    ],
)
def test_moments_refused_with_a_reason(typed: str, problem: TimeProblem) -> None:
    with pytest.raises(TimeRefused) as refused:
        parse_moment(typed, zone="Africa/Niamey", now=NOW)
    assert refused.value.problem == problem
