"""Mirror rows that config.yaml decides (reminders, shift-change checks, digests) into the schedule table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.scheduler.triggers import build_trigger, first_fire_after
from db.schedules import JobSource, JobState, insert_jobs_if_absent, list_jobs

LIVE = (JobState.ACTIVE, JobState.PAUSED)


@dataclass(frozen=True)
class SyncReport:
    """What a sync changed."""

    created: int
    updated: int
    unchanged: int
    cancelled: int


async def mirror_config_jobs(
    session: AsyncSession, *, key_prefix: str, wanted: dict[str, dict[str, Any]], now: datetime
) -> SyncReport:
    """Upsert the wanted rows by key and cancel the live rows under `key_prefix` no longer wanted.

    `wanted` maps a key to kind, trigger, trigger_args, timezone, payload and post_code. An unchanged rule
    keeps its due time, so runs missed while the bot was down are caught up at start; a changed or revived
    rule starts from its next occurrence; a paused row stays paused.
    """
    existing = {
        job.key: job for job in await list_jobs(session, key_prefix=key_prefix, states=tuple(JobState))
    }
    updated = unchanged = cancelled = 0
    new_rows: list[dict[str, Any]] = []
    for key, wanted_spec in wanted.items():
        spec = {"post_code": None, **wanted_spec}
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
        same = same_rule and (row.kind, row.payload, row.post_code) == (
            spec["kind"],
            spec["payload"],
            spec["post_code"],
        )
        revived = row.state not in LIVE
        if same and not revived:
            unchanged += 1
            continue
        row.kind, row.post_code, row.payload = spec["kind"], spec["post_code"], spec["payload"]
        row.trigger, row.trigger_args, row.timezone = spec["trigger"], spec["trigger_args"], spec["timezone"]
        if revived or not same_rule:
            row.next_run_at = first_fire_after(trigger, now)
            if revived:
                row.state = JobState.ACTIVE if row.next_run_at else JobState.DONE
                row.failures, row.last_error = 0, None
        row.updated_at = now
        session.add(row)
        updated += 1
    for row in existing.values():
        if row.state in LIVE:
            row.state, row.next_run_at, row.updated_at = JobState.CANCELLED, None, now
            session.add(row)
            cancelled += 1
    # One statement; ON CONFLICT DO NOTHING because instances starting together both try to create them.
    created = await insert_jobs_if_absent(session, rows=new_rows)
    await session.flush()
    return SyncReport(created=created, updated=updated, unchanged=unchanged, cancelled=cancelled)
