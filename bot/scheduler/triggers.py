"""Recurrence rules: APScheduler 3 triggers rebuilt from a row's JSON, used only to compute due times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

TRIGGERS = ("date", "cron", "interval")
# Bounds the catch-up walk over missed occurrences (a minutely rule down for a week is ~10,000 steps).
MAX_CATCH_UP_STEPS = 20_000
_TICK = timedelta(microseconds=1)


def build_trigger(trigger: str, args: dict[str, Any], timezone: str) -> BaseTrigger:
    """An APScheduler trigger from its type and JSON arguments, in the given zone."""
    zone = ZoneInfo(timezone)
    if trigger == "cron":
        if "crontab" in args:
            return CronTrigger.from_crontab(args["crontab"], timezone=zone)
        return CronTrigger(timezone=zone, **args)
    if trigger == "interval":
        arguments = dict(args)
        if "start_date" in arguments:
            arguments["start_date"] = datetime.fromisoformat(arguments["start_date"])
        return IntervalTrigger(timezone=zone, **arguments)
    if trigger == "date":
        return DateTrigger(run_date=datetime.fromisoformat(args["run_date"]), timezone=zone)
    raise ValueError(f"unknown trigger {trigger!r}")


def first_fire_after(trigger: BaseTrigger, moment: datetime) -> datetime | None:
    """The first occurrence strictly after `moment`, in UTC; None when the rule is exhausted."""
    if isinstance(trigger, DateTrigger):
        run_date = trigger.run_date
        return run_date.astimezone(ZoneInfo("UTC")) if run_date > moment else None
    fire = trigger.get_next_fire_time(None, moment + _TICK)
    return None if fire is None else fire.astimezone(ZoneInfo("UTC"))


@dataclass(frozen=True)
class CatchUp:
    """Where a rule stands at `now`: its latest occurrence due, how many it passed, and the next one."""

    due_at: datetime
    missed: int
    next_at: datetime | None


def catch_up(trigger: BaseTrigger, due_at: datetime, now: datetime) -> CatchUp:
    """Walk from a row's due time to `now`: the latest occurrence not after now wins, earlier ones missed."""
    if isinstance(trigger, DateTrigger):
        return CatchUp(due_at=due_at, missed=0, next_at=None)
    latest, missed = due_at, 0
    following = first_fire_after(trigger, due_at)
    steps = 0
    while following is not None and following <= now:
        steps += 1
        if steps > MAX_CATCH_UP_STEPS:
            # Jump instead of walking further: only the occurrence closest to now matters.
            following = first_fire_after(trigger, now)
            break
        latest, missed = following, missed + 1
        following = first_fire_after(trigger, following)
    return CatchUp(due_at=latest, missed=missed, next_at=following)


def cron_args(*, hour: int, minute: int, every: str, day: str | int | None = None) -> dict[str, Any]:
    """CronTrigger arguments for the repeats /remind offers: daily, weekdays, weekly, monthly."""
    base: dict[str, Any] = {"hour": hour, "minute": minute}
    if every == "daily":
        return base
    if every == "weekdays":
        return {**base, "day_of_week": "mon-fri"}
    if every == "weekly":
        return {**base, "day_of_week": str(day)}
    if every == "monthly":
        return {**base, "day": int(day or 1)}
    raise ValueError(f"unknown repeat {every!r}")
