"""The scheduler loop: sleep until the nearest due row or a wake-up, run due rows, compute the next."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.config import Config
from bot.scheduler.api import SCHEDULER_WAKE, cancel, schedule_once
from bot.scheduler.runners import Runner
from bot.scheduler.triggers import build_trigger, catch_up
from db.audit import record_action
from db.engine import Database
from db.schedules import JobState, ScheduledJob, earliest_due, lock_due_jobs
from db.types import table_of

logger = logging.getLogger(__name__)

# When due rows are held by another instance, look again this soon instead of spinning.
CONTENDED_RETRY_SECONDS = 0.2


class _RunnerFailed(Exception):
    """A runner raised on the fast path (no savepoints): the batch is redone with one savepoint per row."""


class Scheduler:
    """Runs due schedule rows exactly once, across restarts and instances."""

    def __init__(self, *, db: Database, config: Config, clock: Clock, instance_id: str, runtime: Any) -> None:
        self.db, self.config, self.clock, self.instance_id, self.runtime = (
            db,
            config,
            clock,
            instance_id,
            runtime,
        )
        self._wake = asyncio.Event()
        self._runners: dict[str, Runner] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # Completed loop passes, and whether (and until when) the loop sleeps: tests and the benchmark
        # observe the loop through these instead of guessing with real time.
        self.passes = 0
        self.parked = asyncio.Event()
        self.parked_until: datetime | None = None
        db.on_commit(SCHEDULER_WAKE, self.wake)

    def register_runner(self, kind: str, runner: Runner, *, replace: bool = False) -> None:
        """Name the coroutine that performs one kind of work (the factory registers the features' runners)."""
        if not replace and kind in self._runners and self._runners[kind] is not runner:
            raise ValueError(f"a runner is already registered for kind {kind!r}")
        self._runners[kind] = runner

    @property
    def kinds(self) -> tuple[str, ...]:
        """Every kind this scheduler can run."""
        return tuple(sorted(self._runners))

    async def start(self) -> None:
        """Start the background loop."""
        if self._task is not None and not self._task.done():
            return
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name=f"scheduler-{self.instance_id}")

    async def stop(self) -> None:
        """Stop the background loop after the batch in hand commits."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        """Re-read the earliest due time (a nearer row was added)."""
        self._wake.set()

    async def run_due(self) -> int:
        """Run every row due now; returns how many rows were handled (run or skipped)."""
        total = 0
        batch = self.config.scheduler.batch_size
        while True:
            handled = await self._run_batch(batch)
            total += handled
            if handled < batch:
                return total

    async def next_due(self) -> datetime | None:
        """The nearest due time among active rows."""
        async with self.db.reading() as session:
            return await earliest_due(session)

    async def _loop(self) -> None:
        sweep = self.config.scheduler.sweep_seconds
        while not self._stopping:
            # Cleared before looking, so a commit that lands while we work triggers another pass.
            self._wake.clear()
            delay = sweep
            try:
                began = self.clock.now()
                handled = await self.run_due()
                nearest = await self.next_due()
                if nearest is not None:
                    delay = min(sweep, (nearest - self.clock.now()).total_seconds())
                    if delay <= 0 and not handled and nearest <= began:
                        # Due before this pass began, yet nothing ran: another instance holds it.
                        delay = CONTENDED_RETRY_SECONDS
            except Exception:
                logger.exception("Scheduler pass failed; retrying after the sweep interval")
            self.passes += 1
            if self._stopping:
                return
            if delay > 0:
                await self._sleep(delay)

    async def _sleep(self, seconds: float) -> None:
        """Sleep on the injected clock until `seconds` pass or wake() is called."""
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        self.parked_until = self.clock.now() + timedelta(seconds=seconds)
        self.parked.set()
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.parked.clear()
            self.parked_until = None
            for task in (sleeper, waker):
                task.cancel()
            await asyncio.gather(sleeper, waker, return_exceptions=True)

    async def _run_batch(self, limit: int) -> int:
        now = self.clock.now()
        try:
            return await self._run_locked(limit, now, isolate=False)
        except _RunnerFailed:
            # Rare: a runner failed on the fast path, and the whole batch rolled back. Redo it with one
            # savepoint per row, so the failing row is retried later and the others go through now.
            return await self._run_locked(limit, now, isolate=True)

    async def _run_locked(self, limit: int, now: datetime, *, isolate: bool) -> int:
        """Lock due rows, run them, record their progress in one statement, commit once."""
        async with self.db.transaction() as session:
            jobs = await lock_due_jobs(session, now=now, limit=limit)
            finished: list[dict[str, Any]] = []
            for job in jobs:
                await self._run_one(session, job, now, isolate=isolate, finished=finished)
            await self._record_runs(session, finished, now)
        return len(jobs)

    async def _record_runs(
        self, session: AsyncSession, finished: list[dict[str, Any]], now: datetime
    ) -> None:
        """Next due time and state of every row the batch ran or skipped, as one executemany per kind."""
        table = table_of(ScheduledJob)
        for ran in (True, False):
            params = [f for f in finished if f["b_ran"] is ran]
            if not params:
                continue
            values: dict[str, Any] = {
                "state": bindparam("b_state"),
                "next_run_at": bindparam("b_next", type_=table.c.next_run_at.type),
                "claimed_by": self.instance_id,
                "claimed_until": None,
                "updated_at": now,
                "failures": 0,
            }
            if ran:
                values |= {"last_run_at": now, "run_count": table.c.run_count + 1}
            await session.exec(
                table.update().where(table.c.id == bindparam("b_id")).values(**values), params=params
            )

    async def _run_one(
        self,
        session: AsyncSession,
        job: ScheduledJob,
        now: datetime,
        *,
        isolate: bool,
        finished: list[dict[str, Any]],
    ) -> None:
        """Run (or skip) one locked row in the caller's transaction; note its next due time in `finished`."""
        job_id, key, kind, post_code = job.id, job.key, job.kind, job.post_code
        assert job.next_run_at is not None and job_id is not None
        try:
            trigger = build_trigger(job.trigger, job.trigger_args, job.timezone)
        except (ValueError, TypeError, KeyError) as exc:
            logger.error("Schedule %s has a broken trigger: %s", key, exc)
            await self._finish(
                session, job_id, now, state=JobState.FAILED, error=f"trigger: {exc}", ran=False
            )
            return
        position = catch_up(trigger, job.next_run_at, now)
        next_state = JobState.ACTIVE if position.next_at is not None else JobState.DONE
        lateness = (now - position.due_at).total_seconds()
        if lateness > self.config.scheduler.grace_for(kind):
            await record_action(
                session,
                action="schedule.skipped",
                at=now,
                object_type="schedule",
                object_id=job_id,
                post_code=post_code,
                details={
                    "key": key,
                    "kind": kind,
                    "due_at": position.due_at.isoformat(),
                    "missed": position.missed + 1,
                    "late_seconds": round(lateness),
                },
            )
            logger.warning("Skipped %s: due %s, %.0f s late (beyond grace)", key, position.due_at, lateness)
            finished.append(
                {"b_id": job_id, "b_state": next_state, "b_next": position.next_at, "b_ran": False}
            )
            return
        runner = self._runners.get(kind)
        if runner is None:
            await self._fail(session, job_id, now, f"no runner registered for kind {kind!r}")
            return
        late = lateness > self.config.scheduler.late_after_seconds
        if not isolate:
            try:
                await runner(session, job, runtime=self.runtime, due_at=position.due_at, late=late)
            except Exception as exc:
                raise _RunnerFailed(key) from exc
        else:
            try:
                # A savepoint: a failing runner leaves no half-written notifications, and the batch goes on.
                async with session.begin_nested():
                    await runner(session, job, runtime=self.runtime, due_at=position.due_at, late=late)
            except Exception as exc:
                logger.exception("Schedule %s failed", key)
                await self._fail(session, job_id, now, f"{type(exc).__name__}: {exc}")
                return
        finished.append({"b_id": job_id, "b_state": next_state, "b_next": position.next_at, "b_ran": True})

    async def _finish(
        self,
        session: AsyncSession,
        job_id: int,
        now: datetime,
        *,
        state: str,
        ran: bool,
        next_at: datetime | None = None,
        error: str | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "state": state,
            "next_run_at": next_at,
            "claimed_by": self.instance_id,
            "claimed_until": None,
            "updated_at": now,
            "failures": 0,
        }
        if ran:
            values["last_run_at"] = now
            values["run_count"] = ScheduledJob.run_count + 1
        if error is not None:
            values["last_error"] = error[:500]
        # A statement, not attribute writes: a rolled-back savepoint may have expired the ORM object.
        await session.exec(
            update(ScheduledJob)
            .where(col(ScheduledJob.id) == job_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def _fail(self, session: AsyncSession, job_id: int, now: datetime, error: str) -> None:
        """Retry later with a growing delay; give up after too many failures."""
        failures = (
            await session.exec(
                update(ScheduledJob)
                .where(col(ScheduledJob.id) == job_id)
                .values(failures=ScheduledJob.failures + 1)
                .returning(col(ScheduledJob.failures))
                .execution_options(synchronize_session=False)
            )
        ).scalar_one()
        if failures >= self.config.scheduler.max_failures:
            state, next_at = JobState.FAILED, None
        else:
            state, next_at = JobState.ACTIVE, now + timedelta(seconds=min(3600, 30 * 2 ** (failures - 1)))
        await session.exec(
            update(ScheduledJob)
            .where(col(ScheduledJob.id) == job_id)
            .values(
                state=state,
                next_run_at=next_at,
                last_error=error[:500],
                updated_at=now,
                claimed_by=self.instance_id,
            )
            .execution_options(synchronize_session=False)
        )


__all__ = ["Scheduler", "cancel", "schedule_once"]
