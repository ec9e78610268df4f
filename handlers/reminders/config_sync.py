"""Mirror config.yaml reminders into schedule rows: upsert by key, cancel what the file no longer lists."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Config
from bot.runtime import Runtime
from bot.scheduler.triggers import build_trigger, first_fire_after
from db.schedules import JobSource, JobState, insert_jobs_if_absent, list_jobs
from handlers.reminders.service import KIND as REMINDER
from handlers.reminders.service import audience_payload

logger = logging.getLogger(__name__)

CONFIG_PREFIX = "config:"
NO_POST = "global"


def config_key(reminder_id: str, post_code: str | None) -> str:
    """The stable key of one config reminder at one post."""
    return f"{CONFIG_PREFIX}{reminder_id}:{post_code or NO_POST}"


@dataclass(frozen=True)
class SyncReport:
    """What a sync changed."""

    created: int
    updated: int
    unchanged: int
    cancelled: int


def wanted_rows(config: Config) -> dict[str, dict[str, Any]]:
    """Every schedule row the config asks for, by key."""
    wanted: dict[str, dict[str, Any]] = {}
    all_posts = tuple(p.code for p in config.posts)
    for reminder in config.reminders:
        posts: tuple[str | None, ...] = all_posts if reminder.posts == "all" else reminder.posts
        for post_code in posts or (None,):
            zone = reminder.timezone or (config.post(post_code).timezone if post_code else "UTC")
            wanted[config_key(reminder.id, post_code)] = {
                "kind": REMINDER,
                "post_code": post_code,
                "trigger": "cron",
                "trigger_args": {"crontab": reminder.cron},
                "timezone": zone,
                "payload": {
                    "text": {"fr": reminder.text.fr, "en": reminder.text.en},
                    "audience": audience_payload(
                        service=reminder.audience.service, role=reminder.audience.role
                    ),
                    "priority": reminder.priority,
                    "reminder_id": reminder.id,
                    # Only when set: reminders without a button keep the payload (and the row) they had.
                    **({"opens": reminder.opens} if reminder.opens else {}),
                },
            }
    return wanted


async def on_start(session: AsyncSession, runtime: Runtime) -> None:
    """At start-up: mirror the configured reminders into schedule rows."""
    for reminder in runtime.config.reminders:
        command = runtime.features.command(reminder.opens) if reminder.opens else None
        if reminder.opens and (command is None or not command.openable):
            logger.warning(
                "Reminder %s opens /%s, which no feature offers as openable: it is sent without a button",
                reminder.id,
                reminder.opens,
            )
    report = await sync_config_reminders(session, config=runtime.config, now=runtime.clock.now())
    logger.info("Config reminders: %s", report)


async def sync_config_reminders(session: AsyncSession, *, config: Config, now: datetime) -> SyncReport:
    """Upsert config reminders; an unchanged rule keeps its due time so missed runs are caught up at start."""
    wanted = wanted_rows(config)
    every_state = tuple(JobState)
    existing = {
        job.key: job for job in await list_jobs(session, key_prefix=CONFIG_PREFIX, states=every_state)
    }
    updated = unchanged = cancelled = 0
    new_rows: list[dict[str, Any]] = []
    for key, spec in wanted.items():
        trigger = build_trigger(spec["trigger"], spec["trigger_args"], spec["timezone"])
        row = existing.pop(key, None)
        if row is None:
            next_at = first_fire_after(trigger, now)
            new_rows.append(
                {
                    "key": key,
                    **spec,
                    "next_run_at": next_at,
                    "state": JobState.ACTIVE if next_at else JobState.DONE,
                    "source": JobSource.CONFIG,
                    "created_at": now,
                    "updated_at": now,
                    "run_count": 0,
                    "failures": 0,
                }
            )
            continue
        same_rule = (row.trigger, row.trigger_args, row.timezone) == (
            spec["trigger"],
            spec["trigger_args"],
            spec["timezone"],
        )
        same = same_rule and row.payload == spec["payload"] and row.post_code == spec["post_code"]
        revived = row.state not in (JobState.ACTIVE, JobState.PAUSED)
        if same and not revived:
            unchanged += 1
            continue
        row.kind, row.post_code, row.payload = spec["kind"], spec["post_code"], spec["payload"]
        row.trigger, row.trigger_args, row.timezone = spec["trigger"], spec["trigger_args"], spec["timezone"]
        if revived or not same_rule:
            # A new rule starts from its next occurrence; a paused row stays paused.
            row.next_run_at = first_fire_after(trigger, now)
            if revived:
                row.state = JobState.ACTIVE if row.next_run_at else JobState.DONE
                row.failures, row.last_error = 0, None
        row.updated_at = now
        session.add(row)
        updated += 1
    for row in existing.values():
        if row.state in (JobState.ACTIVE, JobState.PAUSED):
            row.state, row.next_run_at, row.updated_at = JobState.CANCELLED, None, now
            session.add(row)
            cancelled += 1
    # One statement; ON CONFLICT DO NOTHING because instances starting together both try to create them.
    created = await insert_jobs_if_absent(session, rows=new_rows)
    await session.flush()
    return SyncReport(created=created, updated=updated, unchanged=unchanged, cancelled=cancelled)
