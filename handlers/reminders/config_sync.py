"""Mirror config.yaml reminders into schedule rows: upsert by key, cancel what the file no longer lists."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Config
from bot.runtime import Runtime
from bot.scheduler.mirror import SyncReport, mirror_config_jobs
from handlers.reminders.service import KIND as REMINDER
from handlers.reminders.service import audience_payload

logger = logging.getLogger(__name__)

CONFIG_PREFIX = "config:"
NO_POST = "global"


def config_key(reminder_id: str, post_code: str | None) -> str:
    """The stable key of one config reminder at one post."""
    return f"{CONFIG_PREFIX}{reminder_id}:{post_code or NO_POST}"


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
    return await mirror_config_jobs(session, key_prefix=CONFIG_PREFIX, wanted=wanted_rows(config), now=now)
