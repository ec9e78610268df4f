"""Shift changes in each post's zone: which one a handover is written for, and which ones a day holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import Config


def change_hours(config: Config, post_code: str) -> tuple[time, ...]:
    """The post's shift change hours (local), earliest first."""
    return config.shifts.changes_for(post_code)


def changes_on(config: Config, post_code: str, day: date) -> list[datetime]:
    """The post's shift changes on one local day, in UTC, earliest first."""
    zone = ZoneInfo(config.post_zone(post_code))
    return [
        datetime.combine(day, hour, tzinfo=zone).astimezone(UTC) for hour in change_hours(config, post_code)
    ]


def nearest_change(config: Config, post_code: str, moment: datetime) -> datetime:
    """The shift change a handover written at `moment` is for: the nearest one, the coming one on a tie.

    At 06:45 it is 07:00's; at 07:20 (a late handover) still 07:00's; past midway to the next, the next's.
    """
    local_day = moment.astimezone(ZoneInfo(config.post_zone(post_code))).date()
    candidates = [
        change
        for offset in (-1, 0, 1)
        for change in changes_on(config, post_code, local_day + timedelta(days=offset))
    ]
    return min(candidates, key=lambda change: (abs((change - moment).total_seconds()), change < moment))


def local_day(config: Config, post_code: str, moment: datetime) -> date:
    """The calendar day of a moment at a post."""
    return moment.astimezone(ZoneInfo(config.post_zone(post_code))).date()


def day_view(config: Config, post_code: str, moment: datetime) -> list[datetime]:
    """The shift changes a chief's view shows at `moment`: those of the current change's local day, up to
    and including it (the morning's and the evening's by night, only the morning's at 07:10)."""
    current = nearest_change(config, post_code, moment)
    return [c for c in changes_on(config, post_code, local_day(config, post_code, current)) if c <= current]
