"""Handling updates from the inbox: each person's in order, once, and never blocked by a poison update.

The loop claims the oldest pending update of each person nobody is serving (db.inbox.claim_heads) and runs it
through the Application in a task of its own, with the update as the commit guard of every write transaction
(db.engine.COMMIT_GUARD): the handler's changes and the "handled" mark commit together. A handler that only
answers is marked once it returns. A failure is tried again at once, up to `inbox.max_attempts` (a crash
while handling counts as an attempt too); then the update is set aside, logged and audited, and the person's
next update goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop

from bot.clock import Clock
from bot.config import InboxConfig
from db import inbox as store
from db.audit import record_action
from db.engine import COMMIT_GUARD, Database
from db.inbox import Claimed, Handling, UpdateAlreadyHandled
from db.members import Member, get_member_by_telegram_id, get_members_by_telegram_ids

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class KnownPerson:
    """Who sent an update, read in the transaction that claimed it (None: not a member)."""

    telegram_id: int
    member: Member | None


@dataclass
class Attempt:
    """One attempt at an update, as the error handler sees it."""

    handling: Handling
    final: bool
    failures: list[BaseException] = field(default_factory=list)
    already_handled: bool = False
    # The sender's member row as the claim found it, for the gate (first attempts only: a retry reads afresh).
    person: KnownPerson | None = None


# How soon updates waiting behind another instance's update of the same person are looked at again.
BLOCKED_RETRY_SECONDS = 0.25

CURRENT_ATTEMPT: ContextVar[Attempt | None] = ContextVar("liaison_inbox_attempt", default=None)


def describe(error: BaseException) -> str:
    """A short, secret-free description of a failure for the inbox row and the audit log."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def inbox_row(payload: dict[str, Any]) -> dict[str, Any]:
    """What the inbox stores of an update (its JSON, as Telegram sent it): id, whose it is, kind, payload."""
    kind = next((key for key in payload if key != "update_id"), "unknown")
    body = payload.get(kind)
    person = 0
    if isinstance(body, dict):
        # Update.effective_user, else effective_chat, read off the JSON (no Update is built for this).
        user = body.get("from") or body.get("user")
        message = body.get("message")
        chat = body.get("chat") or (message.get("chat") if isinstance(message, dict) else None)
        if isinstance(user, dict):
            person = int(user.get("id", 0))
        elif isinstance(chat, dict):
            person = int(chat.get("id", 0))
    return {"update_id": payload["update_id"], "person_id": person, "kind": kind, "payload": payload}


async def on_handler_error(update: object, context: Any) -> None:
    """First error handler: decide whether the update is tried again (then nobody else hears of it yet)."""
    attempt = CURRENT_ATTEMPT.get()
    if attempt is None:
        return  # not an update from the inbox (a test replaying one by hand)
    error = context.error
    if isinstance(error, UpdateAlreadyHandled):
        # Another attempt committed this update's effects: this one stops here, silently.
        attempt.already_handled = True
        raise ApplicationHandlerStop
    attempt.failures.append(error)
    if attempt.handling.committed or attempt.final:
        # Its effects are in, or it is the last try: the usual error handling logs it and tells the person.
        return
    logger.warning(
        "Update %s failed (attempt %d), trying again: %s",
        attempt.handling.update_id,
        attempt.handling.attempt,
        describe(error),
    )
    raise ApplicationHandlerStop


class Inbox:
    """Writes fetched updates to the database and handles them from there."""

    def __init__(
        self,
        *,
        db: Database,
        application: Application[Any, Any, Any, Any, Any, Any],
        config: InboxConfig,
        clock: Clock,
        instance_id: str,
    ) -> None:
        self.db, self.application, self.config = db, application, config
        self.clock, self.instance_id = clock, instance_id
        self._active: dict[int, asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._event: asyncio.Event | None = None
        self._woken = True
        self._stopping = False
        # Updates received here and not claimed yet (a hint: only then is a finished update worth a new claim;
        # the sweep finds what other instances received).
        self._unclaimed = 0
        # Handled updates that only answered: marked together with the next claim, in one transaction.
        self._answered: list[int] = []
        self._flushing: list[int] = []
        # Senders of claimed updates not yet handled, read with the claim: one query per claim for the gate
        # instead of one per update (a burst of presses is mostly the gate's reads otherwise).
        self._people: dict[int, KnownPerson] = {}
        self.handled = 0
        self.set_aside = 0

    # ----- intake -------------------------------------------------------------------------------------------

    async def receive(self, rows: Sequence[dict[str, Any]]) -> int:
        """Write a batch of updates (`inbox_row`s) in one statement and wake the handling; returns new ones.

        Only once this returns may Telegram be told the batch arrived (the next getUpdates offset, or the
        webhook's answer).
        """
        if not rows:
            return 0
        free = self.config.concurrency - len(self._active) if self.running else 0
        try:
            # Each statement stands alone: once the batch is written it is safe; the claim may follow.
            async with self.db.autocommit() as session:
                added = await store.store_updates(session, rows=rows, now=self.clock.now())
                claimed = await self._claim_in(session, free) if free > 0 else []
        except BaseException:
            self._unflushed()
            raise
        self._unclaimed = max(0, self._unclaimed + added - len(claimed))
        self._flushing = []
        for item in claimed:
            self._launch(item)
        if self._unclaimed:
            self.wake()
        return added

    # ----- running ------------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while the background loop runs."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Take back updates a previous life of this instance held, then handle the backlog and what comes."""
        self._event = asyncio.Event()
        self._stopping = False
        async with self.db.transaction(guarded=False) as session:
            # SQLite serves one process: every claim left is a dead one. PostgreSQL: only our own name's.
            released = await store.release_claims(
                session, instance_id=None if self.db.is_sqlite else self.instance_id
            )
        if released:
            logger.info("Took back %d update(s) left in hand by a previous run", released)
        self._task = asyncio.create_task(self._run(), name=f"inbox-{self.instance_id}")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop claiming, let updates in hand finish (bounded), and give back any that did not."""
        self._stopping = True
        self.wake()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._active:
            await asyncio.wait(list(self._active.values()), timeout=grace_seconds)
        late = {task for task in self._active.values() if not task.done()}
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        with contextlib.suppress(Exception):
            async with self.db.transaction(guarded=False) as session:
                await self._flush_answered(session)
                if late:
                    await store.release_claims(session, instance_id=self.instance_id)
            self._flushing = []
        self._people.clear()

    def wake(self) -> None:
        """Look at the inbox now (new updates, or a person's update finished)."""
        self._woken = True
        if self._event is not None:
            self._event.set()

    async def drain(self) -> int:
        """Handle every claimable update now, one at a time in Telegram's order (tests); returns how many."""
        count = 0
        while True:
            claimed = await self._claim(1)
            if not claimed:
                return count
            await self._handle(claimed[0])
            count += 1

    async def _run(self) -> None:
        assert self._event is not None
        next_sweep = self.clock.monotonic()
        while not self._stopping:
            self._event.clear()
            timeout = self.config.sweep_seconds
            try:
                if self.clock.monotonic() >= next_sweep:
                    await self._sweep()
                    next_sweep = self.clock.monotonic() + min(
                        self.config.sweep_seconds, self.config.lease_seconds / 2
                    )
                    self._woken = True  # updates written by another instance, or whose lease ran out
                free = self.config.concurrency - len(self._active)
                if self._woken and free > 0:
                    self._woken = False
                    claimed = await self._claim(free)
                    for item in claimed:
                        self._launch(item)
                    if len(claimed) == free:
                        self._woken = True  # there may be more once a slot frees
                timeout = max(0.0, next_sweep - self.clock.monotonic())
                if self._unclaimed and free > 0:
                    # Some wait behind a person's update that another instance (or a lease) holds: look again
                    # soon rather than at the next sweep.
                    self._woken = True
                    timeout = min(timeout, BLOCKED_RETRY_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database may be briefly unavailable: keep the loop alive and try again shortly.
                logger.exception("inbox loop error")
                self._woken = True
            await self._wait(timeout)

    async def _wait(self, seconds: float) -> None:
        assert self._event is not None
        if self._event.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout=seconds)

    def _launch(self, claimed: Claimed) -> None:
        task = asyncio.create_task(self._handle(claimed), name=f"inbox-update-{claimed.update_id}")
        self._active[claimed.update_id] = task

        def done(_task: asyncio.Task[None]) -> None:
            self._active.pop(claimed.update_id, None)
            if self._unclaimed or self._answered:
                self.wake()  # the person's next update may be claimed now

        task.add_done_callback(done)

    async def _claim(self, limit: int) -> list[Claimed]:
        try:
            async with self.db.autocommit() as session:
                claimed = await self._claim_in(session, limit)
        except BaseException:
            self._unflushed()
            raise
        self._unclaimed = max(0, self._unclaimed - len(claimed))
        self._flushing = []
        return claimed

    async def _claim_in(self, session: Any, limit: int) -> list[Claimed]:
        """Mark the updates that only answered, then claim the next heads, in the caller's transaction."""
        await self._flush_answered(session)
        now = self.clock.now()
        claimed = await store.claim_heads(
            session,
            instance_id=self.instance_id,
            now=now,
            lease_until=now + timedelta(seconds=self.config.lease_seconds),
            limit=limit,
        )
        senders = {c.person_id for c in claimed if c.person_id}
        if senders:
            members = await get_members_by_telegram_ids(session, telegram_ids=senders)
            for item in claimed:
                if item.person_id:
                    self._people[item.update_id] = KnownPerson(item.person_id, members.get(item.person_id))
        return claimed

    async def _flush_answered(self, session: Any) -> None:
        """Write the marks of updates that only answered (kept in `_flushing` until the commit)."""
        if self._answered:
            self._flushing, self._answered = self._flushing + self._answered, []
            await store.mark_answered(session, update_ids=self._flushing, now=self.clock.now())

    def _unflushed(self) -> None:
        """The transaction carrying the marks failed: they go with the next one."""
        self._answered, self._flushing = self._flushing + self._answered, []

    async def _sweep(self) -> None:
        """Keep the leases of updates in hand; prune handled updates past their retention."""
        now = self.clock.now()
        async with self.db.transaction(guarded=False) as session:
            await store.renew_leases(
                session,
                instance_id=self.instance_id,
                update_ids=list(self._active),
                lease_until=now + timedelta(seconds=self.config.lease_seconds),
            )
            pruned = await store.prune_handled(
                session, before=now - timedelta(hours=self.config.retention_hours)
            )
            # Updates other instances took in count too: they are claimed here as soon as their turn comes.
            self._unclaimed = await store.count_unclaimed(session)
        if pruned:
            logger.info("Pruned %d handled update(s) from the inbox", pruned)

    # ----- handling one update ------------------------------------------------------------------------------

    async def _handle(self, claimed: Claimed) -> None:
        """Try an update until it is handled or set aside."""
        attempt, error = claimed.attempt, None
        # Only the first attempt right after the claim trusts the claim's read of the sender; a retry reads
        # afresh.
        person = self._people.pop(claimed.update_id, None)
        try:
            while True:
                if attempt > self.config.max_attempts:
                    # Earlier attempts never finished: the process died while handling it.
                    await self._set_aside(
                        claimed, attempt - 1, error or "the process stopped while handling it"
                    )
                    return
                error = await self._attempt(claimed, attempt, person if attempt == claimed.attempt else None)
                if error is None:
                    self.handled += 1
                    return
                if attempt >= self.config.max_attempts:
                    await self._set_aside(claimed, attempt, error)
                    return
                async with self.db.transaction(guarded=False) as session:
                    next_attempt = await store.next_attempt(
                        session,
                        update_id=claimed.update_id,
                        instance_id=self.instance_id,
                        lease_until=self.clock.now() + timedelta(seconds=self.config.lease_seconds),
                    )
                if next_attempt is None:
                    return  # no longer ours (another instance took it over after our lease ran out)
                attempt = next_attempt
        except asyncio.CancelledError:
            raise
        except Exception:
            # The inbox itself failed (the database went away): give the update back for a later try.
            logger.exception("Could not handle update %s from the inbox", claimed.update_id)
            with contextlib.suppress(Exception):
                async with self.db.transaction(guarded=False) as session:
                    await store.release(
                        session, update_id=claimed.update_id, instance_id=self.instance_id, error=error
                    )

    async def _attempt(self, claimed: Claimed, attempt: int, person: KnownPerson | None = None) -> str | None:
        """Run the update through the Application once; None when it is handled, else what went wrong."""
        handling = Handling(claimed.update_id, attempt, self.clock.now)
        current = Attempt(handling, final=attempt >= self.config.max_attempts, person=person)
        guard_token = COMMIT_GUARD.set(handling)
        attempt_token = CURRENT_ATTEMPT.set(current)
        try:
            update = Update.de_json(claimed.payload, self.application.bot)
            await self.application.process_update(update)
        except Exception as exc:  # the update could not even be read, or PTB itself failed
            current.failures.append(exc)
        finally:
            COMMIT_GUARD.reset(guard_token)
            CURRENT_ATTEMPT.reset(attempt_token)
        if current.already_handled or handling.committed:
            return None
        if current.failures:
            return describe(current.failures[0])
        # The handler only answered (or wrote nothing): marked with the next claim, in one statement for all
        # such updates (a crash before then answers them again: nothing else was done).
        self._answered.append(claimed.update_id)
        return None

    async def _set_aside(self, claimed: Claimed, attempts: int, error: str) -> None:
        """Take a poison update out of the way, log it and write it to the audit log."""
        now = self.clock.now()
        async with self.db.transaction(guarded=False) as session:
            row = await store.set_aside(session, update_id=claimed.update_id, now=now, error=error)
            if row is None:
                return
            member = (
                await get_member_by_telegram_id(session, telegram_id=claimed.person_id)
                if claimed.person_id
                else None
            )
            await record_action(
                session,
                action="update.set_aside",
                at=now,
                actor_member_id=member.id if member is not None else None,
                actor_telegram_id=claimed.person_id or None,
                object_type="update",
                object_id=claimed.update_id,
                post_code=member.post_code if member is not None else None,
                details={"kind": row.kind, "attempts": attempts, "error": error[:200]},
            )
        self.set_aside += 1
        logger.error(
            "Update %s (%s from %s) set aside after %d attempt(s): %s",
            claimed.update_id,
            row.kind,
            claimed.person_id,
            attempts,
            error,
        )
