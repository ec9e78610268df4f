"""The append-only, tamper-evident audit log: who did what, when, to what, from which post.

Every entry is chained to the previous entry of its post (its *chain*: the post code, "" for entries tied
to no post): `hash = H(prev_hash, entry)`, with `H` an HMAC-SHA256 under `LIAISON_AUDIT_KEY` when that
variable is set (then someone with database access but without the key cannot forge a single hash), SHA-256
otherwise. `verify_connection` recomputes every chain and names the first entry altered, inserted or removed.

Sealing happens when the transaction that recorded the entries commits, in a short step just before the
commit: the chain's head row (`audit_chains`) is locked (`FOR UPDATE` on PostgreSQL; SQLite already
serialises writers), the transaction's entries get the next sequence numbers and hashes, the head moves, the
transaction commits and the lock goes. So two instances acknowledging alerts at one post never fork its
chain, and a writer holds the post's lock only for those few statements, not for its whole transaction.
`record_action` itself takes no lock: it inserts the entry and remembers it for the seal.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint, bindparam, event, insert, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.in_lists import padded
from db.types import UTC_NOW, big_int_column, table_of, utc_column

KEY_ENV = "LIAISON_AUDIT_KEY"
# Entries recorded in a session and not sealed yet (ids), kept in the session's info until its commit.
PENDING_KEY = "liaison_audit_pending"
# A hash says how it was made: "k:" keyed (HMAC), "h:" plain SHA-256.
KEYED, PLAIN = "k:", "h:"
HASH_LENGTH = 66
# The canonical form's version: part of every hash, so a future change of form cannot pass for the old one.
FORM = 1


class AuditEntry(SQLModel, table=True):
    """One recorded action. Rows are only ever inserted (and sealed once, at their commit)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        UniqueConstraint("chain", "seq", name="uq_audit_log_chain_seq"),
        # The review log's pages: newest first within a post, an action (kind), a service, or all of them.
        Index("ix_audit_log_at_id", "at", "id"),
        Index("ix_audit_log_post_at", "post_code", "at", "id"),
        Index("ix_audit_log_action_at", "action", "at", "id"),
        Index("ix_audit_log_post_action_at", "post_code", "action", "at", "id"),
        Index("ix_audit_log_service_at", "service_code", "at", "id"),
        Index("ix_audit_log_post_service_at", "post_code", "service_code", "at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=UTC_NOW, sa_column=utc_column())
    actor_member_id: int | None = Field(default=None, foreign_key="members.id", index=True)
    actor_telegram_id: int | None = Field(default=None, sa_column=big_int_column(nullable=True))
    action: str = Field(max_length=48)
    object_type: str | None = Field(default=None, max_length=32)
    object_id: str | None = Field(default=None, max_length=64)
    post_code: str | None = Field(default=None, max_length=24)
    # The service the entry concerns (details["service"], or an action item's owner service), for filters.
    service_code: str | None = Field(default=None, max_length=24)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The chain the entry belongs to (its post code, "" for none), its place in it, and the hashes.
    chain: str = Field(default="", max_length=24, sa_column_kwargs={"server_default": ""})
    seq: int | None = None
    prev_hash: str | None = Field(default=None, sa_column=Column(String(HASH_LENGTH), nullable=True))
    hash: str | None = Field(default=None, sa_column=Column(String(HASH_LENGTH), nullable=True))


class AuditChain(SQLModel, table=True):
    """The head of one post's chain: its last sequence number and hash (removing the newest entries shows)."""

    __tablename__ = "audit_chains"

    chain: str = Field(primary_key=True, max_length=24)
    seq: int = 0
    hash: str = Field(sa_column=Column(String(HASH_LENGTH), nullable=False))


def service_of(details: dict[str, Any] | None) -> str | None:
    """The service an entry concerns, as its details say (the service acting, or owning an action item)."""
    for key in ("service", "owner_service"):
        value = (details or {}).get(key)
        if isinstance(value, str) and value:
            return value[:24]
    return None


@dataclass(frozen=True)
class Action:
    """One entry to append to the log (record_action writes one, record_actions many in one statement)."""

    action: str
    at: datetime
    actor_member_id: int | None = None
    actor_telegram_id: int | None = None
    object_type: str | None = None
    object_id: str | int | None = None
    post_code: str | None = None
    details: dict[str, Any] | None = None

    def columns(self) -> dict[str, Any]:
        """The entry's stored columns (its chain is its post's; its service comes from the details)."""
        return {
            "at": self.at,
            "actor_member_id": self.actor_member_id,
            "actor_telegram_id": self.actor_telegram_id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": None if self.object_id is None else str(self.object_id),
            "post_code": self.post_code,
            "service_code": service_of(self.details),
            "details": self.details or {},
            "chain": self.post_code or "",
        }


async def record_action(
    session: AsyncSession,
    *,
    action: str,
    at: datetime,
    actor_member_id: int | None = None,
    actor_telegram_id: int | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    post_code: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one entry to the audit log (the caller commits; the entry is sealed into its chain then)."""
    # record_actions' statement, not the ORM: a unit-of-work flush for one object cost more than the INSERT.
    action_row = Action(
        action=action,
        at=at,
        actor_member_id=actor_member_id,
        actor_telegram_id=actor_telegram_id,
        object_type=object_type,
        object_id=object_id,
        post_code=post_code,
        details=details,
    )
    await record_actions(session, [action_row])


async def record_actions(session: AsyncSession, actions: Sequence[Action]) -> int:
    """Append many entries in one statement (sealed with the transaction's others at its commit).

    The ORM inserts new objects one statement each on SQLite (it must match each generated id to its object,
    and SQLite does not promise RETURNING's order): a burst of a thousand Seen presses was a thousand INSERTs.
    The seal needs only the ids, in any order.
    """
    table = table_of(AuditEntry)
    rows = [a.columns() for a in actions]
    pending = session.sync_session.info.setdefault(PENDING_KEY, [])
    if not rows:
        return 0
    # An executemany of one statement compiled once, which SQLAlchemy sends as multi-row INSERTs; a VALUES
    # list built per call was compiled again for every burst.
    ids = (await session.exec(insert(table).returning(table.c.id), params=rows)).all()
    pending.extend(int(row_id) for (row_id,) in ids)
    return len(rows)


async def list_actions(
    session: AsyncSession, *, post_code: str | None = None, action: str | None = None, limit: int = 100
) -> list[AuditEntry]:
    """Newest audit entries first, optionally for one post or action."""
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if post_code is not None:
        query = query.where(AuditEntry.post_code == post_code)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return list((await session.exec(query)).all())


# ----- hashing ----------------------------------------------------------------------------------------------


@cache
def chain_key() -> bytes | None:
    """The HMAC key from the environment (None: plain hashes). Never logged, never stored."""
    value = os.environ.get(KEY_ENV, "")
    return value.encode() if value.strip() else None


def reset_chain_key() -> None:
    """Read the key from the environment again (tests, or a process that changed it)."""
    chain_key.cache_clear()


def _utc(moment: datetime | str) -> str:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(row: Any) -> bytes:
    """The bytes a hash covers: every column but the hashes, in a fixed form (JSON with sorted keys)."""
    details = row.details
    if isinstance(details, str):
        details = json.loads(details)
    body = [
        FORM,
        row.id,
        row.chain,
        row.seq,
        _utc(row.at),
        row.actor_member_id,
        row.actor_telegram_id,
        row.action,
        row.object_type,
        row.object_id,
        row.post_code,
        row.service_code,
        details,
    ]
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _digest(key: bytes | None, prefix: str, payload: bytes) -> str:
    if key is not None:
        return KEYED + hmac.new(key, prefix.encode() + payload, hashlib.sha256).hexdigest()
    return PLAIN + hashlib.sha256(prefix.encode() + payload).hexdigest()


def genesis(chain: str, key: bytes | None) -> str:
    """The hash a chain starts from (differs per chain: entries cannot be moved from one post to another)."""
    return _digest(key, "genesis\n", chain.encode())


def entry_hash(prev_hash: str, row: Any, key: bytes | None) -> str:
    """The hash of an entry chained to the previous one."""
    return _digest(key, prev_hash + "\n", canonical(row))


# ----- sealing ----------------------------------------------------------------------------------------------

_COLUMNS = (
    "id, at, actor_member_id, actor_telegram_id, action, object_type, object_id, post_code, service_code, "
    "details, chain, seq, prev_hash, hash"
)


@dataclass
class _Row:
    """An audit row as read back from the database (what verification will read too)."""

    id: int
    at: datetime
    actor_member_id: int | None
    actor_telegram_id: int | None
    action: str
    object_type: str | None
    object_id: str | None
    post_code: str | None
    service_code: str | None
    details: Any
    chain: str
    seq: int | None
    prev_hash: str | None
    hash: str | None


def _rows(connection: Connection, statement: str, params: dict[str, Any]) -> list[_Row]:
    table = table_of(AuditEntry)
    query = text(statement).columns(
        table.c.id,
        table.c.at,
        table.c.actor_member_id,
        table.c.actor_telegram_id,
        table.c.action,
        table.c.object_type,
        table.c.object_id,
        table.c.post_code,
        table.c.service_code,
        table.c.details,
        table.c.chain,
        table.c.seq,
        table.c.prev_hash,
        table.c.hash,
    )
    return [_Row(*row) for row in connection.execute(query, params).all()]


def _lock_head(connection: Connection, chain: str, key: bytes | None) -> tuple[int, str]:
    """The chain's head, locked until the transaction ends (created at its genesis the first time)."""
    # SQLite: the transaction already holds the database's write lock (BEGIN IMMEDIATE).
    postgresql = connection.dialect.name == "postgresql"
    select_head = text(
        "SELECT seq, hash FROM audit_chains WHERE chain = :c" + (" FOR UPDATE" if postgresql else "")
    )
    found = connection.execute(select_head, {"c": chain}).first()
    if found is None:
        conflict = "ON CONFLICT DO NOTHING" if postgresql else "ON CONFLICT (chain) DO NOTHING"
        connection.execute(
            text(f"INSERT INTO audit_chains (chain, seq, hash) VALUES (:c, 0, :h) {conflict}"),
            {"c": chain, "h": genesis(chain, key)},
        )
        found = connection.execute(select_head, {"c": chain}).one()
    return int(found[0]), str(found[1])


def _write_seals(connection: Connection, sealed: list[dict[str, Any]], heads: list[dict[str, Any]]) -> None:
    """Store the entries' places and hashes and move the heads. On PostgreSQL one statement: the post's
    lock is held from its SELECT FOR UPDATE to the commit, so every round trip in between counts."""
    if connection.dialect.name == "postgresql":
        # Arrays unnested, not a VALUES list: one SQL string whatever the number of entries, compiled and
        # prepared once (a VALUES list was a new statement for every batch size).
        connection.execute(
            text(
                "WITH sealed AS (SELECT * FROM unnest(CAST(:ids AS INTEGER[]), CAST(:seqs AS INTEGER[]), "
                "CAST(:prevs AS VARCHAR[]), CAST(:hashes AS VARCHAR[])) AS s(id, seq, prev_hash, hash)), "
                "heads AS (SELECT * FROM unnest(CAST(:chains AS VARCHAR[]), CAST(:chain_seqs AS INTEGER[]), "
                "CAST(:chain_hashes AS VARCHAR[])) AS h(chain, seq, hash)), "
                "moved AS (UPDATE audit_chains SET seq = heads.seq, hash = heads.hash FROM heads "
                "WHERE audit_chains.chain = heads.chain) "
                "UPDATE audit_log SET seq = sealed.seq, prev_hash = sealed.prev_hash, hash = sealed.hash "
                "FROM sealed WHERE audit_log.id = sealed.id AND audit_log.hash IS NULL"
            ),
            {
                "ids": [seal["b_id"] for seal in sealed],
                "seqs": [seal["b_seq"] for seal in sealed],
                "prevs": [seal["b_prev"] for seal in sealed],
                "hashes": [seal["b_hash"] for seal in sealed],
                "chains": [head["b_chain"] for head in heads],
                "chain_seqs": [head["b_seq"] for head in heads],
                "chain_hashes": [head["b_hash"] for head in heads],
            },
        )
        return
    table = table_of(AuditEntry)
    connection.execute(
        table.update()
        .where(table.c.id == bindparam("b_id"), table.c.hash.is_(None))
        .values(seq=bindparam("b_seq"), prev_hash=bindparam("b_prev"), hash=bindparam("b_hash")),
        sealed,
    )
    chains = table_of(AuditChain)
    connection.execute(
        chains.update()
        .where(chains.c.chain == bindparam("b_chain"))
        .values(seq=bindparam("b_seq"), hash=bindparam("b_hash")),
        heads,
    )


def seal_rows(connection: Connection, rows: Sequence[Any], key: bytes | None) -> int:
    """Chain these unsealed rows (in the given order within each chain) and move the heads; how many."""
    by_chain: dict[str, list[Any]] = {}
    for row in rows:
        by_chain.setdefault(row.chain, []).append(row)
    sealed: list[dict[str, Any]] = []
    heads: list[dict[str, Any]] = []
    # Always in the same order: two transactions sealing two chains cannot wait for each other in a cycle.
    for chain in sorted(by_chain):
        seq, head = _lock_head(connection, chain, key)
        for row in by_chain[chain]:
            seq += 1
            row.seq, row.prev_hash = seq, head
            row.hash = entry_hash(head, row, key)
            head = row.hash
            sealed.append({"b_id": row.id, "b_seq": row.seq, "b_prev": row.prev_hash, "b_hash": row.hash})
        heads.append({"b_chain": chain, "b_seq": seq, "b_hash": head})
    if sealed:
        _write_seals(connection, sealed, heads)
    return len(sealed)


def seal_pending(connection: Connection, ids: Sequence[int], key: bytes | None = None) -> int:
    """Seal the entries with these ids that exist and are unsealed (an entry whose savepoint rolled back is
    gone), reading them back so the hash covers exactly what is stored."""
    if not ids:
        return 0
    found: list[_Row] = []
    unique = sorted(set(ids))
    for start in range(0, len(unique), 500):
        chunk = padded(unique[start : start + 500])  # a few SQL strings, not one per count (db/in_lists.py)
        marks = ", ".join(f":i{n}" for n in range(len(chunk)))
        found += _rows(
            connection,
            f"SELECT {_COLUMNS} FROM audit_log WHERE id IN ({marks}) AND hash IS NULL",
            {f"i{n}": value for n, value in enumerate(chunk)},
        )
    found.sort(key=lambda row: row.id)
    return seal_rows(connection, found, key if key is not None else chain_key())


def seal_backlog(connection: Connection, key: bytes | None = None, batch: int = 5000) -> int:
    """Seal every unsealed entry in id order (entries written before the chain existed, bulk imports)."""
    total = 0
    while True:
        rows = _rows(
            connection,
            f"SELECT {_COLUMNS} FROM audit_log WHERE hash IS NULL ORDER BY id LIMIT :n",
            {"n": batch},
        )
        if not rows:
            return total
        total += seal_rows(connection, rows, key if key is not None else chain_key())


@event.listens_for(Session, "before_commit")
def _seal_before_commit(session: Session) -> None:
    """Seal the entries this transaction recorded, just before it commits (see the module's docstring)."""
    if not session.info.get(PENDING_KEY) or session.in_nested_transaction():
        # SQLAlchemy calls this for a savepoint's release too: the entries wait for the outermost commit,
        # where they are sealed together (a batch of presses, a savepoint each, sealed them one by one: four
        # statements per entry, a quarter of an acknowledgement's round trips).
        return
    session.flush()
    ids = session.info.pop(PENDING_KEY, [])
    seal_pending(session.connection(), ids)


@event.listens_for(Session, "after_transaction_end")
def _forget_when_done(session: Session, transaction: Any) -> None:
    """The outermost transaction ended (committed: already sealed; rolled back: nothing to seal). A savepoint
    rolling back keeps the list: the seal skips the entries that are gone."""
    if transaction.parent is None:
        session.info.pop(PENDING_KEY, None)


# ----- verification -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainProblem:
    """The first thing wrong with one chain."""

    chain: str
    # "altered" (content or hash changed), "inserted" (an entry the bot did not seal), "removed", "unkeyed"
    # (sealed without the key after keyed entries), "key" (keyed entries but no key to check them with).
    kind: str
    entry_id: int | None
    seq: int | None
    at: datetime | None
    action: str | None
    message: str


@dataclass(frozen=True)
class ChainReport:
    """What verification found: entries and chains checked, and the first problem of each broken chain."""

    entries: int
    chains: int
    problems: list[ChainProblem]
    # Chains whose oldest entries were sealed without the key (before it was set): (chain, last such entry).
    unkeyed_prefix: dict[str, int]

    @property
    def ok(self) -> bool:
        """True when every chain is intact."""
        return not self.problems


def _describe(row: _Row) -> str:
    return f"entry #{row.id} (seq {row.seq}, {_utc(row.at)[:19]} UTC, {row.action})"


def _stream_chain(connection: Connection, chain: str, batch: int) -> Iterator[_Row]:
    """A chain's sealed entries in order, a batch at a time (a year of a post fits in no memory budget)."""
    after = -1
    while True:
        rows = _rows(
            connection,
            f"SELECT {_COLUMNS} FROM audit_log WHERE chain = :c AND seq IS NOT NULL AND seq > :after "
            "ORDER BY seq, id LIMIT :n",
            {"c": chain, "after": after, "n": batch},
        )
        if not rows:
            return
        yield from rows
        after = rows[-1].seq or after
        if len(rows) < batch:
            return


def _check_chain(
    connection: Connection, chain: str, head: tuple[int, str] | None, key: bytes | None, batch: int
) -> tuple[int, ChainProblem | None, int | None]:
    """Walk one chain: (entries seen, its first problem, the last entry sealed without the key when keyed
    entries follow it)."""
    seen = 0
    last_hash: str | None = None
    previous: _Row | None = None
    # The last few hashes seen: an entry pointing at one of them skipped the entry in between.
    recent: dict[str, _Row] = {}
    keyed_seen = False
    last_plain: int | None = None

    def problem(kind: str, row: _Row | None, message: str) -> ChainProblem:
        return ChainProblem(
            chain=chain,
            kind=kind,
            entry_id=row.id if row else None,
            seq=row.seq if row else None,
            at=row.at if row else None,
            action=row.action if row else None,
            message=message,
        )

    for row in _stream_chain(connection, chain, batch):
        seen += 1
        stored = row.hash or ""
        keyed = stored.startswith(KEYED)
        if keyed and key is None:
            return seen, problem("key", row, f"{_describe(row)} is sealed with a key: set {KEY_ENV}"), None
        if keyed:
            keyed_seen = True
        elif keyed_seen:
            message = f"{_describe(row)} was sealed without the key after keyed entries"
            return seen, problem("unkeyed", row, message), None
        else:
            last_plain = row.id
        if last_hash is None:
            # The genesis is keyed or not like the first entry.
            last_hash = genesis(chain, key if keyed else None)
        expected_seq = (previous.seq or 0) + 1 if previous is not None else 1
        if head is not None and (row.seq or 0) > head[0]:
            return (
                seen,
                problem("inserted", row, f"{_describe(row)} was inserted after the chain's head"),
                None,
            )
        if (row.seq or 0) > expected_seq:
            missing = (row.seq or 0) - expected_seq
            where = f"after {_describe(previous)}" if previous else "at the start of the chain"
            plural = "entry" if missing == 1 else "entries"
            return (
                seen,
                problem("removed", row, f"{missing} {plural} removed {where}, before {_describe(row)}"),
                None,
            )
        if entry_hash(row.prev_hash or "", row, key if keyed else None) != stored:
            message = f"{_describe(row)} was altered: its content no longer matches its hash"
            return seen, problem("altered", row, message), None
        if row.prev_hash != last_hash:
            skipped = recent.get(row.prev_hash or "")
            if skipped is not None and previous is not None and skipped is not previous:
                # It follows an earlier entry: the one just before it was slipped in between.
                return seen, problem("inserted", previous, f"{_describe(previous)} was inserted"), None
            if keyed or previous is None:
                # Nobody without the key can hash an entry again: something between the two is missing.
                where = f"between {_describe(previous)} and" if previous else "before"
                return seen, problem("removed", row, f"an entry was removed {where} {_describe(row)}"), None
            message = (
                f"the chain breaks after {_describe(previous)}: an entry was removed there, or that entry "
                "was altered and its hash recomputed"
            )
            return seen, problem("altered", previous, message), None
        recent[stored] = row
        if len(recent) > 8:
            recent.pop(next(iter(recent)))
        last_hash, previous = stored, row
    last_seq = previous.seq or 0 if previous is not None else 0
    if head is not None and head[0] > last_seq:
        missing = head[0] - last_seq
        where = f"after {_describe(previous)}" if previous else "(the whole chain)"
        plural = "entry" if missing == 1 else "entries"
        return seen, problem("removed", previous, f"the newest {missing} {plural} removed {where}"), None
    if head is not None and previous is not None and head[1] != last_hash:
        return (
            seen,
            problem("altered", previous, f"{_describe(previous)} does not match the chain's head"),
            None,
        )
    return seen, None, last_plain if keyed_seen else None


def verify_connection(
    connection: Connection,
    *,
    chains: Sequence[str] | None = None,
    key: bytes | None = None,
    batch: int = 5000,
) -> ChainReport:
    """Recompute every chain (or some) and report the first problem of each; run it in one snapshot."""
    key = key if key is not None else chain_key()
    heads = {
        str(chain): (int(seq), str(head))
        for chain, seq, head in connection.execute(text("SELECT chain, seq, hash FROM audit_chains")).all()
    }
    names = set(heads) | {
        str(c) for (c,) in connection.execute(text("SELECT DISTINCT chain FROM audit_log")).all()
    }
    if chains is not None:
        names &= set(chains)
    problems: list[ChainProblem] = []
    unkeyed: dict[str, int] = {}
    total = 0
    for chain in sorted(names):
        seen, found, last_plain = _check_chain(connection, chain, heads.get(chain), key, batch)
        total += seen
        if last_plain is not None:
            unkeyed[chain] = last_plain
        if found is None and seen and chain not in heads:
            found = ChainProblem(chain, "removed", None, None, None, None, "the chain's head row was removed")
        loose = _rows(
            connection,
            f"SELECT {_COLUMNS} FROM audit_log WHERE chain = :c AND hash IS NULL ORDER BY id",
            {"c": chain},
        )
        total += len(loose)
        if loose and found is None:
            row = loose[0]
            message = (
                f"entry #{row.id} ({_utc(row.at)[:19]} UTC, {row.action}) was inserted: it was never sealed"
            )
            found = ChainProblem(chain, "inserted", row.id, None, row.at, row.action, message)
        if found is not None:
            problems.append(found)
    return ChainReport(entries=total, chains=len(names), problems=problems, unkeyed_prefix=unkeyed)


async def verify_engine(
    engine: AsyncEngine, *, chains: Sequence[str] | None = None, key: bytes | None = None
) -> ChainReport:
    """Recompute the chains in one consistent snapshot while the bot keeps writing."""
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    async with engine.connect() as connection:
        connection = await connection.execution_options(**options)
        async with connection.begin():
            return await connection.run_sync(lambda sync: verify_connection(sync, chains=chains, key=key))
