"""The post's heartbeat in schedule rows: per post and shift change, a missing-handover check and an
escalation of unaccepted ones, at the change plus the configured delays in the post's zone.

Mirrored from config.yaml at start (keys ho:beat:<post>:<HHMM>:<check>): an unchanged rule keeps its row
and due time, a changed one is updated in place, a removed one is cancelled. Each run re-reads the database.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Config
from bot.runtime import Runtime
from bot.scheduler.mirror import SyncReport, mirror_config_jobs
from handlers.handovers import shifts
from handlers.handovers.service import ESCALATION_KIND, MISSING_KIND

logger = logging.getLogger(__name__)

BEAT_PREFIX = "ho:beat:"


def beat_key(post_code: str, change: time, check: str) -> str:
    """The stable key of one check of one post's shift change."""
    return f"{BEAT_PREFIX}{post_code}:{change.hour:02d}{change.minute:02d}:{check}"


def wanted_beats(config: Config) -> dict[str, dict[str, Any]]:
    """Every heartbeat row the configuration asks for, by key."""
    checks = (
        ("missing", MISSING_KIND, config.handovers.missing_after_minutes),
        ("escalate", ESCALATION_KIND, config.handovers.escalate_after_minutes),
    )
    wanted: dict[str, dict[str, Any]] = {}
    for post in config.posts:
        for change in shifts.change_hours(config, post.code):
            for check, kind, minutes in checks:
                at = (
                    datetime.combine(datetime(2000, 1, 1).date(), change) + timedelta(minutes=minutes)
                ).time()
                wanted[beat_key(post.code, change, check)] = {
                    "kind": kind,
                    "post_code": post.code,
                    "trigger": "cron",
                    "trigger_args": {"hour": at.hour, "minute": at.minute},
                    "timezone": post.timezone,
                    "payload": {"change": f"{change.hour:02d}:{change.minute:02d}", "minutes": minutes},
                }
    return wanted


async def on_start(session: AsyncSession, runtime: Runtime) -> None:
    """At start-up: mirror the shift changes into heartbeat rows."""
    report = await sync_heartbeat(session, config=runtime.config, now=runtime.clock.now())
    logger.info("Handover heartbeat: %s", report)


async def sync_heartbeat(session: AsyncSession, *, config: Config, now: datetime) -> SyncReport:
    """Upsert the heartbeat rows by key, cancel those of shift changes no longer configured."""
    return await mirror_config_jobs(session, key_prefix=BEAT_PREFIX, wanted=wanted_beats(config), now=now)
