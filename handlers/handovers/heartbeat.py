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
from bot.scheduler.triggers import build_trigger, first_fire_after
from db.schedules import JobSource, JobState, insert_jobs_if_absent, list_jobs
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
    created, updated, cancelled = await sync_heartbeat(
        session, config=runtime.config, now=runtime.clock.now()
    )
    logger.info("Handover heartbeat: %d created, %d updated, %d cancelled", created, updated, cancelled)


async def sync_heartbeat(session: AsyncSession, *, config: Config, now: datetime) -> tuple[int, int, int]:
    """Upsert the heartbeat rows by key; returns (created, updated, cancelled)."""
    wanted = wanted_beats(config)
    existing = {
        job.key: job for job in await list_jobs(session, key_prefix=BEAT_PREFIX, states=tuple(JobState))
    }
    updated = cancelled = 0
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
                    "state": JobState.ACTIVE,
                    "source": JobSource.CONFIG,
                    "created_at": now,
                    "updated_at": now,
                    "run_count": 0,
                    "failures": 0,
                }
            )
            continue
        same_rule = (row.trigger_args, row.timezone) == (spec["trigger_args"], spec["timezone"])
        live = row.state == JobState.ACTIVE
        if same_rule and live and (row.kind, row.payload) == (spec["kind"], spec["payload"]):
            continue
        row.kind, row.payload, row.post_code = spec["kind"], spec["payload"], spec["post_code"]
        row.trigger, row.trigger_args, row.timezone = spec["trigger"], spec["trigger_args"], spec["timezone"]
        if not same_rule or not live:
            row.next_run_at = first_fire_after(trigger, now)
            row.state, row.failures, row.last_error = JobState.ACTIVE, 0, None
        row.updated_at = now
        session.add(row)
        updated += 1
    for row in existing.values():
        if row.state in (JobState.ACTIVE, JobState.PAUSED):
            row.state, row.next_run_at, row.updated_at = JobState.CANCELLED, None, now
            session.add(row)
            cancelled += 1
    created = await insert_jobs_if_absent(session, rows=new_rows)
    await session.flush()
    return created, updated, cancelled
