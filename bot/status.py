"""`liaison status` and the webhook's /healthz: what the admin should know at a glance.

The status needs no running bot: it reads the configured database. The health check runs inside a webhook
instance and also looks at its own delivery worker: alive, and not sitting on due messages without progress.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.clock import Clock, SystemClock
from db import inbox
from db import status as queries
from db.engine import Database

if TYPE_CHECKING:
    from bot.delivery.worker import DeliveryWorker
    from bot.runtime import Runtime


def _moment(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value is not None else "never"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _age(now: datetime, since: datetime | None) -> float | None:
    return max(0.0, (now - since).total_seconds()) if since is not None else None


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


@dataclass
class StatusReport:
    """Everything `liaison status` prints, as plain values."""

    now: datetime
    queue: dict[str, dict[str, int]]
    oldest_pending: datetime | None
    sent_last_hour: int
    failed_last_hour: int
    waiting_429: int
    floods_last_hour: int
    unreachable: int
    unreachable_names: list[str]
    inbox: dict[str, int]
    last_update: datetime | None
    schedules_due: int
    oldest_schedule_due: datetime | None
    next_schedule: datetime | None
    set_aside: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The report as JSON-ready values (times in ISO 8601, ages in seconds)."""
        return {
            "now": _iso(self.now),
            "queue": {
                "by_priority": self.queue,
                "pending": sum(v["pending"] for v in self.queue.values()),
                "sending": sum(v["sending"] for v in self.queue.values()),
                "oldest_pending_at": _iso(self.oldest_pending),
                "oldest_pending_age_seconds": _age(self.now, self.oldest_pending),
            },
            "sent_last_hour": self.sent_last_hour,
            "failed_last_hour": self.failed_last_hour,
            "waiting_out_429": self.waiting_429,
            "answered_429_last_hour": self.floods_last_hour,
            "unreachable_members": {"count": self.unreachable, "names": self.unreachable_names},
            "inbox": {**self.inbox, "last_update_received_at": _iso(self.last_update)},
            "schedules": {
                "due": self.schedules_due,
                "oldest_due_at": _iso(self.oldest_schedule_due),
                "next_at": _iso(self.next_schedule),
            },
            "set_aside": self.set_aside,
        }

    def as_text(self) -> str:
        """The report as lines for a terminal."""
        pending = sum(v["pending"] for v in self.queue.values())
        sending = sum(v["sending"] for v in self.queue.values())
        by_priority = ", ".join(
            f"{name} {counts['pending']}" + (f" (+{counts['sending']} sending)" if counts["sending"] else "")
            for name, counts in self.queue.items()
        )
        lines = [
            f"Delivery queue: {pending} pending, {sending} being sent ({by_priority})",
            f"Oldest message waiting: {_duration(_age(self.now, self.oldest_pending))}"
            + (f" (queued {_moment(self.oldest_pending)})" if self.oldest_pending else ""),
            f"Last hour: {self.sent_last_hour} sent, {self.failed_last_hour} failed, "
            f"{self.floods_last_hour} answered 429 (Telegram's flood limit; retried); "
            f"{self.waiting_429} waiting out a 429 now",
            f"Unreachable members (blocked the bot): {self.unreachable}"
            + (f": {', '.join(self.unreachable_names)}" if self.unreachable_names else "")
            + (" ..." if self.unreachable > len(self.unreachable_names) else ""),
            f"Inbox: {self.inbox['pending']} pending, {self.inbox['handled']} handled "
            f"(kept for the retention), {self.inbox['set_aside']} set aside; "
            f"last update received: {_moment(self.last_update)}",
            f"Schedules: {self.schedules_due} due now"
            + (f" (oldest due {_moment(self.oldest_schedule_due)})" if self.schedules_due else "")
            + f"; next due {_moment(self.next_schedule)}",
        ]
        if self.set_aside:
            lines.append(
                "Updates set aside (their handler failed every time; the person's next ones went on):"
            )
            for row in self.set_aside:
                lines.append(
                    f"  update {row['update_id']}: {row['kind']} from Telegram user {row['person_id']}, "
                    f"received {row['received']}, set aside {row['set_aside']} "
                    f"after {row['attempts']} attempt(s): {row['error']}"
                )
        else:
            lines.append("No update set aside.")
        return "\n".join(lines)


async def collect_status(database: Database, *, clock: Clock | None = None) -> StatusReport:
    """Read everything the status shows, in one read session."""
    now = (clock or SystemClock()).now()
    async with database.reading() as session:
        queue = await queries.queue_depth(session)
        oldest = await queries.oldest_waiting(session)
        since = queries.hour_before(now)
        sent = await queries.sent_since(session, since=since)
        failed = await queries.failed_since(session, since=since)
        flood = await queries.waiting_out_429(session)
        floods = await queries.floods_since(session, since=since)
        unreachable, names = await queries.unreachable_members(session)
        counts = await inbox.count_by_state(session)
        last = await inbox.last_received(session)
        aside = await inbox.list_set_aside(session, limit=50)
        due, oldest_due = await queries.schedules_due(session, now=now)
        upcoming = await queries.next_schedule(session, now=now)
    return StatusReport(
        now=now,
        queue=queue,
        oldest_pending=oldest,
        sent_last_hour=sent,
        failed_last_hour=failed,
        waiting_429=flood,
        floods_last_hour=floods,
        unreachable=unreachable,
        unreachable_names=[m.display_name for m in names],
        inbox=counts,
        last_update=last,
        schedules_due=due,
        oldest_schedule_due=oldest_due,
        next_schedule=upcoming,
        set_aside=[
            {
                "update_id": row.update_id,
                "kind": row.kind,
                "person_id": row.person_id,
                "received": _moment(row.received_at),
                "set_aside": _moment(row.handled_at),
                "attempts": row.attempts,
                "error": row.error or "?",
            }
            for row in aside
        ],
    )


async def status_report(database: Database, *, as_json: bool = False, clock: Clock | None = None) -> str:
    """The status as text, or as indented JSON."""
    report = await collect_status(database, clock=clock)
    if as_json:
        return json.dumps(report.as_json(), indent=2, ensure_ascii=False)
    return report.as_text()


def _outcomes(worker: DeliveryWorker | None) -> tuple[int, ...] | None:
    """The worker's counts of answers recorded (rows deferred for pacing are no progress)."""
    if worker is None:
        return None
    stats = worker.stats
    return (stats.sent, stats.retried, stats.flood, stats.failed, stats.unreachable, stats.superseded)


class Health:
    """The health of one running instance: its database answers, its delivery worker lives and moves.

    A worker is stalled when a message has been due longer than `stall_seconds` and the worker recorded no
    outcome in that time (a long fan-out keeps it busy, not stalled: its counters move).
    """

    def __init__(self, runtime: Runtime, *, stall_seconds: float | None = None, timeout: float = 5.0) -> None:
        self.runtime = runtime
        delivery = runtime.config.delivery
        self.stall_seconds = stall_seconds or max(
            60.0, 2 * delivery.lease_seconds, 4 * delivery.sweep_seconds
        )
        self.timeout = timeout
        worker = runtime.delivery
        self._progress = _outcomes(worker)
        self._progress_at = runtime.clock.monotonic()

    def _moved(self) -> float:
        """Seconds since the worker's counters last changed (as seen by the checks)."""
        worker = self.runtime.delivery
        progress = _outcomes(worker)
        now = self.runtime.clock.monotonic()
        if progress != self._progress:
            self._progress, self._progress_at = progress, now
        return now - self._progress_at

    async def check(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, a short JSON-ready body naming what is wrong)."""
        runtime = self.runtime
        body: dict[str, Any] = {}
        overdue: datetime | None = None
        now = runtime.clock.now()
        try:
            async with asyncio.timeout(self.timeout), runtime.db.reading() as session:
                overdue = await queries.oldest_overdue(session, now=now)
            body["database"] = "ok"
        except Exception as exc:  # what went wrong, never the URL (its password) or the query
            body["database"] = f"unavailable ({type(exc).__name__})"
        worker = runtime.delivery
        waited = _age(now, overdue) or 0.0
        if worker is None or not worker.running:
            body["worker"] = "stopped"
        elif waited > self.stall_seconds and self._moved() > self.stall_seconds:
            body["worker"] = f"stalled (a message due for {int(waited)} s, no progress)"
        else:
            self._moved()
            body["worker"] = "ok"
        if runtime.inbox is not None:
            body["inbox"] = "ok" if runtime.inbox.running else "stopped"
        healthy = all(value == "ok" for value in body.values())
        return healthy, {"status": "ok" if healthy else "unavailable", **body}
