"""The delivery worker: claims outbox rows by priority, sends them within Telegram's limits, records outcomes.

One loop per bot process. It is woken by every commit that enqueued rows (db.on_commit), claims a small
batch (most urgent first) into memory, starts sends as the global rate, each chat's pace and the concurrency
bound allow, and hands answers to a writer task that settles rows in batches. Claims carry a lease: rows of a
process that died are taken back once it runs out (or at once by the same instance on restart).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot

from bot.clock import Clock
from bot.config import DeliveryConfig
from bot.delivery.direct import IN_WORKER
from bot.delivery.pacing import ChatPacer, GlobalLimiter
from bot.delivery.sender import JOB_ORDER, Job, Result, Verdict, send
from db.audit import record_action
from db.engine import Database
from db.members import Member, mark_unreachable
from db.outbox import (
    CARD_ACTIONS,
    EDIT_METHODS,
    OUTBOX_WAKE,
    PIN_METHODS,
    SEND_METHODS,
    DeliveryState,
)
from db.outbox import queue as outbox
from db.outbox.queue import LIVE_EDIT_STATES, Settlement

logger = logging.getLogger(__name__)

# PostgreSQL: how often a worker says it is alive and reads how many share the bot's budget.
HEARTBEAT_SECONDS = 0.25
# The background loop records answers at most this often (event-loop time, not the domain's): a paced
# fan-out gets its answers one at a time, 30 a second, and one transaction each took SQLite's write lock 30
# times a second, away from the presses, for a tenth of the CPU that recording them together takes. Rows
# answered but not yet recorded stay claimed (sending): after a crash they are what may go twice, as before.
RECORD_EVERY_SECONDS = 0.1
# While the loop runs, answers recorded for card rows let the queue be looked at again (edits waiting for
# their original may go now) at most this often: a paced fan-out of cards records ten times a second, and
# looking after each one was a fifth of its CPU per copy.
UNBLOCKED_LOOK_SECONDS = 0.5


@dataclass
class DeliveryStats:
    """Counters since start, for logs, the bench and tests."""

    sent: int = 0
    retried: int = 0
    flood: int = 0
    failed: int = 0
    unreachable: int = 0
    superseded: int = 0
    deferred: int = 0
    reclaimed: int = 0
    records: int = 0  # transactions that recorded answers
    fills: int = 0  # looks at the queue (claims)


class DeliveryWorker:
    """Sends outbox rows: urgent first, within Telegram's limits, at least once."""

    def __init__(
        self, *, db: Database, bot: Bot, config: DeliveryConfig, clock: Clock, instance_id: str
    ) -> None:
        self.db, self.bot, self.config, self.clock, self.instance_id = db, bot, config, clock, instance_id
        self.limiter = GlobalLimiter(config.global_per_second, clock)
        # Instances on one PostgreSQL database divide the bot's budget among those alive (a heartbeat row
        # each); SQLite serves one process, which keeps the whole budget.
        self.shared = not db.is_sqlite
        self.peers = 1
        # PostgreSQL, several instances alive: (index, count), this one's share of the chats. Each chat is
        # served by one instance at a time, so its own pacing (and a group's) holds across instances, and
        # its messages cannot overtake each other on two instances.
        self.partition: tuple[int, int] | None = None
        self._wanted = False
        self._bot_key = bot.token.split(":")[0]
        self._next_heartbeat = 0.0
        self.chats = ChatPacer.from_config(config, clock)
        self.stats = DeliveryStats()
        self._random = random.Random()
        # Enough claimed rows to keep about half a second of sends ready, never fewer than the concurrency.
        self._batch = max(config.concurrency * 2, math.ceil(config.global_per_second / 2))
        self._horizon = max(0.2, 2.0 / config.global_per_second)
        self._buffer: dict[int, Job] = {}
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._results: list[tuple[Job, Result]] = []
        self._woken = True  # something was committed: look now, whatever the buffer holds
        self._more = True  # the last claim was full: more rows may be ready
        self._next_due: datetime | None = None
        # Monotonic time of the last claim, and when to look again for edits unblocked by recorded originals.
        self._last_fill = -math.inf
        self._look_at: float | None = None
        self._event: asyncio.Event | None = None
        self._results_event: asyncio.Event | None = None
        self._claim_lock: asyncio.Lock | None = None
        self._write_lock: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._stopping = False
        db.on_commit(OUTBOX_WAKE, self.wake)

    # ----- public interface ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while the background loop runs."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Take back rows a previous life of this instance left claimed; start the loop and the writer."""
        self._ensure_primitives()
        self._stopping = False
        await self._recover()
        await self._heartbeat()
        self._writer = asyncio.create_task(self._write_loop(), name=f"delivery-writer-{self.instance_id}")
        self._task = asyncio.create_task(self._run(), name=f"delivery-{self.instance_id}")

    async def stop(self) -> None:
        """Stop the loop, let in-flight sends finish, record them, and give unsent claimed rows back."""
        self._ensure_primitives()
        self._stopping = True
        self.wake()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=5)
            except TimeoutError:
                self._task.cancel()
            except Exception:
                logger.exception("delivery loop ended with an error")
            self._task = None
        if self._in_flight:
            await asyncio.wait(list(self._in_flight.values()), timeout=30)
        await self._flush()
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = None
        await self._release_buffer()
        # Sends still running after the grace period above are cut off, and their leases go too, so that
        # nobody waits for them to expire.
        late = list(self._in_flight.values())
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        try:
            async with self.db.transaction() as session:
                released = await outbox.release_leases(session, instance_id=self.instance_id)
        except Exception:
            # The database is gone: the leases run out instead, and the shutdown goes on.
            logger.exception("could not hand back this instance's outbox leases")
        else:
            if released:
                logger.warning("handed back %d outbox rows whose send did not finish in time", released)
        await self._leave()

    def wake(self) -> None:
        """Look at the outbox now (called after commits that enqueued rows)."""
        self._woken = True
        if self._event is not None:
            self._event.set()

    async def drain(self, *, respect_limits: bool = False) -> int:
        """Deliver every row that is ready now (including edits unblocked on the way); returns rows handled.

        Without `respect_limits` pacing is ignored (chats still get their messages one at a time, in order),
        so tests with a frozen clock never wait; with it, rows that would break a limit are left for later.
        """
        self._ensure_primitives()
        assert self._claim_lock is not None
        handled = 0
        while True:
            await self._fill(paced=respect_limits, force=True)
            if not self._buffer and not self._in_flight:
                handled += await self._flush()
                # Writing may have unblocked edits whose original just went out.
                if not self._woken:
                    break
                continue
            launched = self._launch(paced=respect_limits)
            if self._in_flight:
                await asyncio.wait(list(self._in_flight.values()))
            handled += await self._flush()
            if not launched and not self._in_flight:
                break  # everything left is paced out: leave it to the loop (or to a later drain)
        if not self.running:
            await self._release_buffer()
        return handled

    # ----- sharing the budget with other instances ----------------------------------------------------------

    def _wants(self) -> bool:
        """True while this worker has messages to send (claimed, in flight, or more ready to claim)."""
        return bool(self._buffer or self._in_flight)

    async def _heartbeat(self) -> None:
        """PostgreSQL: say we are alive and whether we have messages to send, and keep to our share of the
        bot's budget: the rate divided among the instances that have some. One that starts having some
        while others do waits one beat first, so that they have cut their share before it sends."""
        if not self.shared:
            return
        wants = self._wants()
        async with self.db.autocommit() as session:
            found = await outbox.heartbeat(
                session,
                bot=self._bot_key,
                instance=self.instance_id,
                now=self.clock.now().timestamp(),
                alive_for=HEARTBEAT_SECONDS * 4,
                wants=wants,
            )
        self._next_heartbeat = self.clock.monotonic() + HEARTBEAT_SECONDS
        partition = found.partition(outbox.instance_key(self._bot_key, self.instance_id))
        if partition != self.partition:
            self.partition = partition
            self._woken = True  # a share grown (another instance left): its rows are claimable now
        others = found.wanting_others
        peers = others + 1
        if peers != self.peers:
            logger.info("%d delivery instance(s) share this bot's budget", peers)
        self.peers = peers
        self.limiter.set_rate(self.config.global_per_second / peers)
        if wants and not self._wanted and others:
            self.limiter.pause(HEARTBEAT_SECONDS)
        self._wanted = wants

    async def _leave(self) -> None:
        """PostgreSQL: we stop; the others take our share at once."""
        if not self.shared:
            return
        try:
            async with self.db.autocommit() as session:
                await outbox.leave(session, bot=self._bot_key, instance=self.instance_id)
        except Exception:
            logger.exception("could not withdraw from the shared budget (the others wait for it to lapse)")

    # ----- the loop ---------------------------------------------------------------------------------------

    def _ensure_primitives(self) -> None:
        if self._event is None:
            self._event = asyncio.Event()
            self._results_event = asyncio.Event()
            self._claim_lock = asyncio.Lock()
            self._write_lock = asyncio.Lock()

    async def _run(self) -> None:
        assert self._event is not None
        next_sweep = self.clock.monotonic() + self.config.sweep_seconds
        while not self._stopping:
            self._event.clear()
            try:
                now = self.clock.monotonic()
                if self.shared and now >= self._next_heartbeat:
                    await self._heartbeat()
                if now >= next_sweep:
                    await self._sweep()
                    next_sweep = now + self.config.sweep_seconds
                due = self._next_due is not None and self._next_due <= self.clock.now()
                due = due or (self._look_at is not None and self._look_at <= self.clock.monotonic())
                if self._woken or due or (self._more and len(self._buffer) < self._batch // 2):
                    await self._fill(paced=True)
                if self.shared and self._wants() != self._wanted:
                    await self._heartbeat()  # at once: the others cut their share, or take ours back
                self._launch(paced=True)
                timeout = self._next_wakeup(next_sweep) - self.clock.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database may be briefly unavailable: keep the loop alive, try again at the next sweep.
                logger.exception("delivery loop error")
                timeout = self.config.sweep_seconds
            if self._stopping:
                break
            await self._wait(timeout)

    async def _wait(self, seconds: float) -> None:
        assert self._event is not None
        if self._event.is_set():
            return
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        waiter = asyncio.ensure_future(self._event.wait())
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        try:
            await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waiter, sleeper):
                task.cancel()
            await asyncio.gather(waiter, sleeper, return_exceptions=True)

    def _next_wakeup(self, next_sweep: float) -> float:
        """Monotonic time of the next thing worth doing (an event may come sooner)."""
        now = self.clock.monotonic()
        wakeup = min(next_sweep, self._next_heartbeat) if self.shared else next_sweep
        if self._next_due is not None:
            wakeup = min(wakeup, now + (self._next_due - self.clock.now()).total_seconds())
        if self._look_at is not None:
            wakeup = min(wakeup, self._look_at)
        if self._more and len(self._buffer) < self._batch // 2:
            wakeup = now
        if self._buffer and len(self._in_flight) < self.config.concurrency:
            global_at = self.limiter.ready_at()
            for job in self._buffer.values():
                if not self.chats.busy(job.chat_id):
                    chat_at = self.chats.ready_at(job.chat_id)
                    wakeup = min(wakeup, max(global_at, chat_at))
                    if chat_at <= global_at:
                        # Nothing goes before the global budget allows: no need to look at the others (a
                        # paced fan-out wakes 30 times a second, each pass scanned the whole buffer).
                        break
        return wakeup

    async def _sweep(self) -> None:
        """Safety net: take back expired claims, renew our own, look at the queue again."""
        now = self.clock.now()
        held = list(self._buffer) + list(self._in_flight)
        async with self.db.transaction() as session:
            count = await outbox.reclaim_expired(session, now=now)
            await outbox.renew_leases(
                session,
                ids=held,
                claimed_by=self.instance_id,
                lease_until=now + timedelta(seconds=self.config.lease_seconds),
            )
        if count:
            logger.warning("took back %d outbox rows whose sender's lease ran out", count)
            self.stats.reclaimed += count
        self._woken = True
        self.chats.forget_idle()

    async def _recover(self) -> None:
        """At start: rows claimed by a previous life of this instance, or with an expired lease, go back.

        SQLite serves one bot process (several instances need PostgreSQL), so there every row still marked
        as sending was left by a process that died: it goes back at once instead of after its lease.
        """
        async with self.db.transaction() as session:
            count = await outbox.reclaim_expired(
                session, now=self.clock.now(), also_claimed_by=self.instance_id, everything=self.db.is_sqlite
            )
        if count:
            logger.warning("took back %d outbox rows left in flight by a previous run", count)
            self.stats.reclaimed += count
        self._woken = True

    # ----- claiming ---------------------------------------------------------------------------------------

    async def _fill(self, *, paced: bool, force: bool = False) -> None:
        """Claim the most urgent ready rows into the buffer; paced-out chats get their rows pushed back."""
        assert self._claim_lock is not None
        async with self._claim_lock:
            self._woken = False
            self._look_at = None
            self._last_fill = self.clock.monotonic()
            self.stats.fills += 1
            room = self._batch - len(self._buffer)
            if force:
                room = max(room, self._batch)
            elif room <= 0:
                # A wake may mean urgent rows: make some room above the usual batch for them.
                room = max(1, self._batch // 2)
            now = self.clock.now()
            mono = self.clock.monotonic()
            horizon = self._horizon if paced else math.inf
            lease_until = now + timedelta(seconds=self.config.lease_seconds)
            claimed: list[Job] = []
            async with self.db.transaction() as session:
                await self._supersede_held_edits(session)
                rows = await outbox.select_ready(
                    session, now=now, limit=room, lock=not self.db.is_sqlite, partition=self.partition
                )
                context = await outbox.card_context(
                    session, card_keys={r.card_key for r in rows if r.method in CARD_ACTIONS and r.card_key}
                )
                # Each card's rows, looked up once per row below (scanning the whole context for each edit
                # of a batch was quadratic: a tenth of the loop's time while alert cards were redrawn).
                cards: dict[str | None, list[Row[Any]]] = {}
                for other in context:
                    cards.setdefault(other.card_key, []).append(other)
                deferred: dict[int, datetime] = {}
                closed: list[Settlement] = []
                # Per chat, the priorities of the rows ahead: only as urgent or more urgent ones come before a
                # row, so a chat's backlog of routine messages never holds back an urgent one to that chat.
                queued: dict[int, list[int]] = {}
                for held in self._buffer.values():
                    queued.setdefault(held.chat_id, []).append(held.priority)
                for row in rows:
                    job = self._resolve(row, cards.get(row.card_key, []))
                    if isinstance(job, Settlement):
                        closed.append(job)
                        continue
                    before = queued.setdefault(job.chat_id, [])
                    ahead = sum(1 for priority in before if priority <= job.priority)
                    ready = self.chats.ready_at(job.chat_id, ahead) if paced else mono
                    # Deferred rows count as queued too: a chatty chat's rows come back one slot apart.
                    before.append(job.priority)
                    if ready > mono + horizon:
                        deferred[job.id] = now + timedelta(seconds=ready - mono)
                        continue
                    claimed.append(job)
                await outbox.claim_rows(
                    session, ids=[j.id for j in claimed], claimed_by=self.instance_id, lease_until=lease_until
                )
                await outbox.defer_rows(session, until=deferred)
                await outbox.settle_rows(session, outcomes=closed)
                self._more = len(rows) >= room
                self._next_due = None if self._more else await outbox.next_due(session, now=now)
                if self._next_due is not None and self._next_due <= now and not rows:
                    # Due rows we could not see are locked by another worker: look again soon, not in a spin.
                    self._next_due = now + timedelta(seconds=0.1)
            for job in claimed:
                self._buffer[job.id] = job
            self.stats.deferred += len(deferred)
            self.stats.superseded += sum(1 for c in closed if c.state == DeliveryState.SUPERSEDED)
            self.stats.failed += sum(1 for c in closed if c.state == DeliveryState.FAILED)

    async def _supersede_held_edits(self, session: AsyncSession) -> None:
        """Drop the edits claimed but not yet sent whose card has a newer edit waiting.

        The newer edit carries the card's current text, and it cannot be claimed while an older edit of its
        card is held: a presser's own card waited up to 9 s behind a bulk edit of that card, itself held in
        the buffer behind more urgent sends.
        """
        held = {j.card_key: j for j in self._buffer.values() if j.method in EDIT_METHODS and j.card_key}
        if not held:
            return
        newer = await outbox.newest_pending_edits(session, card_keys=set(held))
        closed: list[Settlement] = []
        for card_key, newest in newer.items():
            job = held[card_key]
            # Still in the buffer (not launched meanwhile, nor closed with its chat): nothing was sent.
            if newest > job.id and self._buffer.pop(job.id, None) is not None:
                closed.append(Settlement(job.id, DeliveryState.SUPERSEDED, error="a newer edit replaced it"))
        await outbox.settle_rows(session, outcomes=closed)
        self.stats.superseded += len(closed)

    def _resolve(self, row: Row[Any], card: list[Row[Any]]) -> Job | Settlement:
        """A job for the row, or how to close it (an edit or a pin that is stale or whose original never went
        out); `card` holds the stored rows of the row's card."""
        if row.id is None:
            raise ValueError("outbox row without an id: the worker only handles stored rows")
        job = Job(
            id=row.id,
            chat_id=row.chat_id,
            method=row.method,
            payload=dict(row.payload),
            priority=row.priority,
            attempts=row.attempts + 1,
            member_id=row.member_id,
            card_key=row.card_key,
            fanout_rank=row.fanout_rank,
        )
        if row.attempts >= self.config.max_attempts:
            # Claimed that often without an answer (the process died each time): stop, say why.
            error = f"gave up after {row.attempts} attempts: never confirmed"
            return Settlement(row.id, DeliveryState.FAILED, error=error)
        if row.method not in CARD_ACTIONS:
            return job
        original = next((r for r in card if r.method in SEND_METHODS), None)
        # Only the newest text of a card is ever sent (an older one could land after it); likewise only its
        # newest pin or unpin.
        kind = EDIT_METHODS if row.method in EDIT_METHODS else PIN_METHODS
        newer = [r for r in card if r.method in kind and (r.id or 0) > row.id and r.state in LIVE_EDIT_STATES]
        if newer:
            what = "edit" if kind is EDIT_METHODS else "pin or unpin"
            return Settlement(row.id, DeliveryState.SUPERSEDED, error=f"a newer {what} replaced it")
        if original is None or original.state != DeliveryState.SENT or original.telegram_message_id is None:
            return Settlement(row.id, DeliveryState.FAILED, error="original message not delivered")
        return replace(job, message_id=original.telegram_message_id)

    # ----- sending ----------------------------------------------------------------------------------------

    def _launch(self, *, paced: bool) -> int:
        """Start every send the limits allow now, most urgent first; returns how many started."""
        started = 0
        if not self._buffer or len(self._in_flight) >= self.config.concurrency:
            return 0
        if paced and self.limiter.ready_at() > self.clock.monotonic():
            return 0  # the global budget holds everything back: no need to sort the buffer
        for job in sorted(self._buffer.values(), key=JOB_ORDER):
            if len(self._in_flight) >= self.config.concurrency:
                break
            if self.chats.busy(job.chat_id):
                continue
            if paced:
                # ready_at() reads the clock itself: compare with a reading taken after it, never before.
                if self.chats.ready_at(job.chat_id) > self.clock.monotonic():
                    continue
                if self.limiter.ready_at() > self.clock.monotonic():
                    break
            del self._buffer[job.id]
            self.chats.start(job.chat_id)
            if paced:
                self.limiter.start()
            self._in_flight[job.id] = asyncio.create_task(self._send(job, paced), name=f"deliver-{job.id}")
            started += 1
        return started

    async def _send(self, job: Job, paced: bool) -> None:
        # This task's own context: the call is the worker's (counted here, retried through the outbox).
        IN_WORKER.set(True)
        try:
            result = await send(self.bot, job)
        except Exception as exc:  # a bug or an unexpected transport error: retry like a network error
            logger.exception("unexpected error delivering outbox row %s", job.id)
            result = Result(Verdict.RETRY, error=f"{type(exc).__name__}: {exc}")
        finally:
            self.chats.finish(job.chat_id)
            if paced:
                self.limiter.finish()
            self._in_flight.pop(job.id, None)
        if result.verdict == Verdict.UNREACHABLE:
            # The chat blocked us: its other claimed rows are closed without a call (no 403 storm).
            for other in [j for j in self._buffer.values() if j.chat_id == job.chat_id]:
                del self._buffer[other.id]
                self._results.append((other, Result(Verdict.UNREACHABLE, error=result.error)))
        if result.verdict == Verdict.FLOOD:
            # The row (and its chat) waits retry_after and keeps its priority. A chat's own limit stops only
            # that chat; a 429 that means the whole bot slows everyone down, or stops everyone for
            # retry_after when such 429s keep coming.
            recent = self.chats.recent(job.chat_id)
            if self.limiter.flood(result.retry_after, chat_id=job.chat_id, chat_recent=recent):
                logger.warning("429 again: every send paused for %.1f s", result.retry_after)
            self.chats.penalise(job.chat_id, result.retry_after)
        self._results.append((job, result))
        assert self._results_event is not None and self._event is not None
        self._results_event.set()
        self._event.set()

    # ----- recording outcomes ---------------------------------------------------------------------------

    async def _write_loop(self) -> None:
        assert self._results_event is not None
        loop = asyncio.get_running_loop()
        last = -math.inf
        while True:
            await self._results_event.wait()
            pause = last + RECORD_EVERY_SECONDS - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
            self._results_event.clear()
            last = loop.time()
            try:
                await self._flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("could not record delivery outcomes; retrying")
                # Not a timing of the domain: just let a briefly locked database breathe.
                await asyncio.sleep(0.2)
                self._results_event.set()

    async def _flush(self) -> int:
        """Write every answer received so far in one transaction; returns how many."""
        assert self._write_lock is not None
        async with self._write_lock:
            batch, self._results = self._results, []
            if not batch:
                return 0
            try:
                await self._record(batch)
            except BaseException:
                self._results[:0] = batch
                raise
            return len(batch)

    def _backoff(self, attempts: int) -> float:
        """Exponential backoff with jitter: half fixed, half random, so retries of a fan-out spread out."""
        delay = min(self.config.backoff_max_seconds, self.config.backoff_base_seconds * 2.0 ** (attempts - 1))
        return delay / 2 + self._random.uniform(0, delay / 2)

    async def _record(self, batch: list[tuple[Job, Result]]) -> None:
        now = self.clock.now()
        outcomes: list[Settlement] = []
        blocked: dict[int, tuple[Job, Result]] = {}
        # Any settled card row (an original, or an edit no longer in flight) may unblock that card's edits.
        unblocks_edits = any(job.card_key is not None for job, _ in batch)
        for job, result in batch:
            if result.verdict == Verdict.SENT:
                outcomes.append(
                    Settlement(job.id, DeliveryState.SENT, message_id=result.message_id, sent_at=now)
                )
                self.stats.sent += 1
            elif result.verdict == Verdict.FLOOD:
                # Telegram pacing us is not a failed attempt.
                outcomes.append(
                    Settlement(
                        job.id,
                        DeliveryState.PENDING,
                        error=result.error,
                        not_before=now + timedelta(seconds=result.retry_after),
                        attempts=job.attempts - 1,
                    )
                )
                self.stats.flood += 1
            elif result.verdict == Verdict.RETRY and job.attempts < self.config.max_attempts:
                outcomes.append(
                    Settlement(
                        job.id,
                        DeliveryState.PENDING,
                        error=result.error,
                        not_before=now + timedelta(seconds=self._backoff(job.attempts)),
                    )
                )
                self.stats.retried += 1
            elif result.verdict == Verdict.UNREACHABLE:
                outcomes.append(Settlement(job.id, DeliveryState.UNREACHABLE, error=result.error))
                blocked[job.chat_id] = (job, result)
                self.stats.unreachable += 1
            else:
                error = result.error or "failed"
                if result.verdict == Verdict.RETRY:
                    error = f"gave up after {job.attempts} attempts: {error}"
                outcomes.append(Settlement(job.id, DeliveryState.FAILED, error=error))
                self.stats.failed += 1
                logger.warning("outbox row %s to chat %s failed: %s", job.id, job.chat_id, error)
        floods = sum(1 for _, result in batch if result.verdict == Verdict.FLOOD)
        async with self.db.transaction() as session:
            await outbox.settle_rows(session, outcomes=outcomes)
            if floods:
                await outbox.count_floods(session, now=now, answers=floods)
            for chat_id, (job, result) in blocked.items():
                await self._record_unreachable(
                    session, chat_id=chat_id, job=job, error=result.error or "", at=now
                )
        self.stats.records += 1
        retry_times = [o.not_before for o in outcomes if o.not_before is not None]
        if retry_times:
            # The loop sleeps until the earliest retry is due.
            earliest = min(retry_times)
            self._next_due = earliest if self._next_due is None else min(self._next_due, earliest)
            if self._event is not None:
                self._event.set()
        if unblocks_edits:
            self._unblocked()

    def _unblocked(self) -> None:
        """Recorded originals may let their edits go: look now (drain), or soon without looking too often."""
        if not self.running:
            self.wake()  # drain() goes on at once
            return
        self._look_at = max(self.clock.monotonic(), self._last_fill + UNBLOCKED_LOOK_SECONDS)
        if self._event is not None:
            self._event.set()  # the loop takes the new wake-up time into account

    async def _record_unreachable(
        self, session: AsyncSession, *, chat_id: int, job: Job, error: str, at: datetime
    ) -> None:
        """A 403: close the chat's other pending rows, flag the member, and write it to the audit log."""
        closed = await outbox.mark_chat_unreachable(session, chat_id=chat_id, error=error)
        self.stats.unreachable += len(closed)
        if await mark_unreachable(session, chat_id=chat_id, at=at):
            member = (await session.exec(select(Member).where(col(Member.chat_id) == chat_id))).first()
            await record_action(
                session,
                action="member.unreachable",
                at=at,
                object_type="member",
                object_id=member.id if member is not None else None,
                post_code=member.post_code if member is not None else None,
                details={"chat_id": chat_id, "error": error[:200], "outbox_id": job.id},
            )
            logger.info("chat %s blocked the bot: member marked unreachable", chat_id)

    async def _release_buffer(self) -> None:
        """Give claimed but unsent rows back to the queue so nobody waits for our lease to run out."""
        ids = list(self._buffer)
        self._buffer.clear()
        if ids:
            async with self.db.transaction() as session:
                await outbox.release_rows(session, ids=ids, claimed_by=self.instance_id)
