"""What features call to schedule and cancel work; every function joins the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.scheduler.triggers import build_trigger, first_fire_after
from db.engine import request_wake
from db.schedules import (
    JobSource,
    JobState,
    ScheduledJob,
    cancel_jobs,
    insert_job_if_absent,
    insert_jobs_if_absent,
    set_job_state,
)

SCHEDULER_WAKE = "scheduler"


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("scheduled times must be time-zone aware")
    return moment.astimezone(UTC)


async def _post_zone(session: AsyncSession, post_code: str | None) -> str:
    """The post's zone from the mirrored posts table (UTC when there is no post)."""
    if post_code is None:
        return "UTC"
    from db.posts import Post

    post = await session.get(Post, post_code)
    return post.timezone if post is not None else "UTC"


@dataclass(frozen=True)
class Once:
    """One run of `kind` at `run_at`, under a unique key."""

    key: str
    kind: str
    run_at: datetime
    payload: dict[str, Any]


async def schedule_once(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    run_at: datetime,
    payload: dict[str, Any],
    post_code: str | None = None,
    source: str = JobSource.SYSTEM,
    created_by: int | None = None,
    now: datetime | None = None,
) -> None:
    """Schedule one run of `kind` at `run_at`; a second call with the same key changes nothing."""
    await schedule_all_once(
        session,
        [Once(key, kind, run_at, payload)],
        post_code=post_code,
        source=source,
        created_by=created_by,
        now=now,
    )


async def schedule_all_once(
    session: AsyncSession,
    jobs: list[Once],
    *,
    post_code: str | None = None,
    source: str = JobSource.SYSTEM,
    created_by: int | None = None,
    now: datetime | None = None,
    timezone: str | None = None,
) -> None:
    """Schedule several single runs for one post in one statement; keys that exist change nothing.

    `timezone`: the post's zone when the caller has it from the config (saves reading the post's row).
    """
    if not jobs:
        return
    stamp = now or datetime.now(UTC)
    zone = timezone or await _post_zone(session, post_code)
    rows = [
        {
            "key": job.key,
            "kind": job.kind,
            "post_code": post_code,
            "payload": job.payload,
            "trigger": "date",
            "trigger_args": {"run_date": _aware(job.run_at).isoformat()},
            "timezone": zone,
            "next_run_at": _aware(job.run_at),
            "state": JobState.ACTIVE,
            "source": source,
            "created_by": created_by,
            "created_at": stamp,
            "updated_at": stamp,
            "run_count": 0,
            "failures": 0,
        }
        for job in jobs
    ]
    await insert_jobs_if_absent(session, rows=rows)
    request_wake(session, SCHEDULER_WAKE)


async def schedule_recurring(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    trigger: str,
    trigger_args: dict[str, Any],
    timezone: str,
    payload: dict[str, Any],
    now: datetime,
    post_code: str | None = None,
    source: str = JobSource.SYSTEM,
    created_by: int | None = None,
) -> ScheduledJob | None:
    """Schedule a recurring rule (first run: its first occurrence after now); None when the key exists."""
    next_at = first_fire_after(build_trigger(trigger, trigger_args, timezone), now)
    inserted = await insert_job_if_absent(
        session,
        values={
            "key": key,
            "kind": kind,
            "post_code": post_code,
            "payload": payload,
            "trigger": trigger,
            "trigger_args": trigger_args,
            "timezone": timezone,
            "next_run_at": next_at,
            "state": JobState.ACTIVE if next_at is not None else JobState.DONE,
            "source": source,
            "created_by": created_by,
            "created_at": now,
            "updated_at": now,
            "run_count": 0,
            "failures": 0,
        },
    )
    request_wake(session, SCHEDULER_WAKE)
    if not inserted:
        return None
    from db.schedules import get_job_by_key

    return await get_job_by_key(session, key=key)


async def cancel(session: AsyncSession, *, key: str | None = None, key_prefix: str | None = None) -> int:
    """Cancel pending (active or paused) rows by key or key prefix; returns how many were cancelled."""
    count = await cancel_jobs(session, now=datetime.now(UTC), key=key, key_prefix=key_prefix)
    if count:
        request_wake(session, SCHEDULER_WAKE)
    return count


async def pause(session: AsyncSession, *, job_id: int, now: datetime) -> bool:
    """Pause an active row; True when this call paused it."""
    return await set_job_state(
        session, job_id=job_id, from_states=(JobState.ACTIVE,), state=JobState.PAUSED, now=now
    )


@dataclass(frozen=True)
class Resumed:
    """What `resume` did: whether this call changed the row, and for a one-off whose time passed while
    paused and that `run_missed_once` made due now, the time it missed (None otherwise)."""

    changed: bool
    missed_at: datetime | None = None


async def resume(
    session: AsyncSession, *, job: ScheduledJob, now: datetime, run_missed_once: bool = False
) -> Resumed:
    """Resume a paused row from its next occurrence after now (what fell due while paused is not sent).

    A one-off row whose time passed while paused has no next occurrence: it finishes unrun, unless
    `run_missed_once`, when it becomes due now (the caller tells the person who resumed it).
    """
    next_at = first_fire_after(build_trigger(job.trigger, job.trigger_args, job.timezone), now)
    missed_at = None
    if next_at is None and run_missed_once and job.trigger == "date":
        next_at = now
        missed_at = datetime.fromisoformat(job.trigger_args["run_date"])
    if next_at is None:
        return Resumed(
            await set_job_state(
                session, job_id=job.id or 0, from_states=(JobState.PAUSED,), state=JobState.DONE, now=now
            )
        )
    changed = await set_job_state(
        session,
        job_id=job.id or 0,
        from_states=(JobState.PAUSED,),
        state=JobState.ACTIVE,
        now=now,
        next_run_at=next_at,
    )
    if changed:
        request_wake(session, SCHEDULER_WAKE)
    return Resumed(changed, missed_at if changed else None)


async def delete(session: AsyncSession, *, job_id: int, now: datetime) -> bool:
    """Cancel a live row by id (rows are kept for the record); True when this call cancelled it."""
    return await set_job_state(
        session,
        job_id=job_id,
        from_states=(JobState.ACTIVE, JobState.PAUSED),
        state=JobState.CANCELLED,
        now=now,
    )
