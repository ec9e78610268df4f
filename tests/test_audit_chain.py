"""The audit log is tamper-evident: every entry is chained to the previous entry of its post, and `liaison
audit verify` names the first entry altered, inserted or removed, on both databases."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import text
from sqlmodel import col
from sqlmodel.sql.sqltypes import UTCDateTime

from bot import cli
from db import audit, migrate
from db.audit import Action, AuditChain, AuditEntry, record_action, record_actions, verify_engine
from db.engine import Database, create_engine
from tests.conftest import PG_URL
from tests.factories import post_team, raise_guided, tap
from tests.harness import Harness

pg_only = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (LIAISON_TEST_DATABASE_URL)")


@pytest.fixture(autouse=True)
def no_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests run without LIAISON_AUDIT_KEY unless they set it."""
    monkeypatch.delenv(audit.KEY_ENV, raising=False)
    audit.reset_chain_key()
    yield
    audit.reset_chain_key()


async def record(db: Database, liaison: Harness, post: str | None, n: int, action: str = "test.done") -> None:
    """n entries at a post, each in its own transaction, through record_action."""
    for i in range(n):
        async with db.transaction() as session:
            await record_action(
                session,
                action=action,
                at=liaison.clock.now() + timedelta(seconds=i),
                post_code=post,
                object_type="test",
                object_id=i,
                details={"i": i, "note": "café", "seconds": 1.5 + i},
            )


async def verify(liaison: Harness) -> audit.ChainReport:
    return await verify_engine(liaison.db.engine)


async def sql(liaison: Harness, statement: str, **params: object) -> None:
    async with liaison.db.engine.begin() as connection:
        await connection.execute(text(statement), params)


async def entries(liaison: Harness, post: str) -> list[AuditEntry]:
    rows = await liaison.rows(AuditEntry, AuditEntry.post_code == post)
    return sorted(rows, key=lambda e: e.seq or 0)


async def test_entries_written_by_the_bot_are_chained_per_post(liaison: Harness) -> None:
    customs, police, _health, _chief = await post_team(liaison)
    alert, _ = await raise_guided(liaison, customs, category="security", severity="urgent")
    await tap(liaison, police, "👁 Seen")
    await liaison.advance(timedelta(minutes=2))  # the delivery check writes alert.delivered
    konni = await entries(liaison, "NE-KONNI")
    actions = [e.action for e in konni]
    assert {"member.joined", "alert.raised", "alert.seen", "alert.delivered"} <= set(actions)
    assert [e.seq for e in konni] == list(range(1, len(konni) + 1))
    for before, after in itertools.pairwise(konni):
        assert after.prev_hash == before.hash
    assert all(e.hash and e.hash.startswith("h:") for e in konni)
    [head] = await liaison.rows(AuditChain, AuditChain.chain == "NE-KONNI")
    assert (head.seq, head.hash) == (konni[-1].seq, konni[-1].hash)
    # The acknowledgement names its service: the review log filters on it.
    assert [e.service_code for e in konni if e.action == "alert.seen"] == ["police"]
    report = await verify(liaison)
    assert report.ok and report.entries == len(await liaison.rows(AuditEntry))
    assert alert.id is not None


async def test_entries_recorded_in_savepoints_are_sealed_together_at_the_commit(liaison: Harness) -> None:
    """A batch of presses records each entry in its own savepoint; the chain is read and moved once, at the
    outermost commit (sealing at each savepoint's release cost four statements an entry), and an entry whose
    savepoint rolled back is simply not there."""
    async with liaison.db.transaction() as session:  # the chain exists (its genesis is written once)
        await record_action(session, action="post.opened", at=liaison.clock.now(), post_code="NE-KONNI")
    heads_read: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "FROM audit_chains" in statement:
            heads_read.append(statement)

    sa.event.listen(liaison.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with liaison.db.transaction() as session:
            for n in range(6):
                try:
                    async with session.begin_nested():
                        await record_action(
                            session,
                            action="alert.seen",
                            at=liaison.clock.now(),
                            post_code="NE-KONNI",
                            object_type="alert",
                            object_id=n,
                            details={"press": n},
                        )
                        if n == 3:
                            raise RuntimeError("this press fails alone")
                except RuntimeError:
                    pass
    finally:
        sa.event.remove(liaison.db.engine.sync_engine, "before_cursor_execute", count)
    assert len(heads_read) == 1, heads_read
    konni = [e for e in await entries(liaison, "NE-KONNI") if e.action == "alert.seen"]
    assert [e.details["press"] for e in konni] == [0, 1, 2, 4, 5]
    assert all(e.hash for e in konni)
    for before, after in itertools.pairwise(konni):
        assert (after.seq, after.prev_hash) == ((before.seq or 0) + 1, before.hash)
    assert (await verify(liaison)).ok


async def test_many_entries_are_one_insert_and_each_is_sealed_into_its_posts_chain(liaison: Harness) -> None:
    """A burst of Seen presses records its entries in one statement (the ORM wrote one INSERT each on SQLite);
    each still lands sealed, in its own post's chain, with the service the review filters on."""
    inserts: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_LOG"):
            inserts.append(statement)

    now = liaison.clock.now()
    actions = [
        Action(
            action="notice.seen",
            at=now,
            post_code=("NE-KONNI", "BF-KANTCHARI")[n % 2],
            object_type="notice",
            object_id=7,
            details={"service": "customs", "press": n},
        )
        for n in range(30)
    ]
    sa.event.listen(liaison.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with liaison.db.transaction() as session:
            assert await record_actions(session, actions) == 30
    finally:
        sa.event.remove(liaison.db.engine.sync_engine, "before_cursor_execute", count)
    assert len(inserts) == 1
    for post in ("NE-KONNI", "BF-KANTCHARI"):
        found = [e for e in await entries(liaison, post) if e.action == "notice.seen"]
        assert sorted(e.details["press"] for e in found) == list(range(0 if post == "NE-KONNI" else 1, 30, 2))
        assert all(e.hash and e.chain == post and e.service_code == "customs" for e in found)
    assert (await verify(liaison)).ok


async def test_tamper_with_sql_altered_inserted_removed(liaison: Harness) -> None:
    db = liaison.db
    await record(db, liaison, "NE-KONNI", 6)
    await record(db, liaison, "BF-KANTCHARI", 3)
    assert (await verify(liaison)).ok
    konni = await entries(liaison, "NE-KONNI")

    # Altered: one figure of one entry's details changed in place.
    third = konni[2]
    original = json.dumps(third.details)
    changed = json.dumps({**third.details, "seconds": 0.5})
    await sql(liaison, "UPDATE audit_log SET details = :d WHERE id = :i", d=changed, i=third.id)
    report = await verify(liaison)
    [problem] = report.problems
    assert (problem.chain, problem.kind, problem.entry_id) == ("NE-KONNI", "altered", third.id)
    assert f"entry #{third.id}" in problem.message
    await sql(liaison, "UPDATE audit_log SET details = :d WHERE id = :i", d=original, i=third.id)
    assert (await verify(liaison)).ok

    # Removed: an entry in the middle.
    await sql(liaison, "DELETE FROM audit_log WHERE id = :i", i=konni[3].id)
    [problem] = (await verify(liaison)).problems
    assert (problem.kind, problem.entry_id) == ("removed", konni[4].id)
    assert f"after entry #{konni[2].id}" in problem.message

    # Kantchari's chain is untouched: it still verifies on its own.
    assert (await verify_engine(db.engine, chains=["BF-KANTCHARI"])).ok


async def test_tamper_inserted_row_and_removed_newest(liaison: Harness) -> None:
    await record(liaison.db, liaison, "NE-KONNI", 4)
    konni = await entries(liaison, "NE-KONNI")
    # Inserted: a row written straight into the table, never sealed by the bot.
    await sql(
        liaison,
        "INSERT INTO audit_log (at, action, post_code, details, chain) "
        "VALUES (:at, 'alert.resolved', 'NE-KONNI', '{}', 'NE-KONNI')",
        at=konni[0].at,
    )
    [forged] = [e for e in await liaison.rows(AuditEntry) if e.hash is None]
    [problem] = (await verify(liaison)).problems
    assert (problem.kind, problem.entry_id) == ("inserted", forged.id)
    await sql(liaison, "DELETE FROM audit_log WHERE id = :i", i=forged.id)
    assert (await verify(liaison)).ok
    # Removed: the newest entry (the chain's head remembers it).
    await sql(liaison, "DELETE FROM audit_log WHERE id = :i", i=konni[-1].id)
    [problem] = (await verify(liaison)).problems
    assert problem.kind == "removed" and problem.entry_id == konni[-2].id
    assert "newest 1 entry removed" in problem.message


async def test_a_rewritten_entry_with_its_hash_recomputed_is_caught(liaison: Harness) -> None:
    """Without a key someone can recompute an altered entry's hash: the next entry no longer follows it."""
    await record(liaison.db, liaison, "NE-KONNI", 4)
    konni = await entries(liaison, "NE-KONNI")
    target = konni[1]
    target.details = {**target.details, "note": "rien"}
    forged_hash = audit.entry_hash(target.prev_hash or "", target, None)
    await sql(
        liaison,
        "UPDATE audit_log SET details = :d, hash = :h WHERE id = :i",
        d=json.dumps(target.details),
        h=forged_hash,
        i=target.id,
    )
    [problem] = (await verify(liaison)).problems
    assert (problem.kind, problem.entry_id) == ("altered", target.id)


async def test_with_a_key_forgery_fails_and_the_key_is_needed(
    liaison: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(audit.KEY_ENV, "s3cret-key")
    audit.reset_chain_key()
    await record(liaison.db, liaison, "NE-KONNI", 3)
    konni = await entries(liaison, "NE-KONNI")
    assert all(e.hash and e.hash.startswith("k:") for e in konni)
    assert (await verify(liaison)).ok
    # Someone with the database but not the key rewrites an entry and hashes it again: caught.
    target = konni[1]
    target.details = {**target.details, "note": "rien"}
    await sql(
        liaison,
        "UPDATE audit_log SET details = :d, hash = :h WHERE id = :i",
        d=json.dumps(target.details),
        h=audit.entry_hash(target.prev_hash or "", target, b"guessed"),
        i=target.id,
    )
    [problem] = (await verify(liaison)).problems
    assert (problem.kind, problem.entry_id) == ("altered", target.id)
    # Verifying a keyed log without the key says what is missing.
    monkeypatch.delenv(audit.KEY_ENV)
    audit.reset_chain_key()
    [problem] = (await verify(liaison)).problems
    assert problem.kind == "key" and audit.KEY_ENV in problem.message


async def test_an_entry_rolled_back_with_its_savepoint_leaves_no_gap(liaison: Harness) -> None:
    async with liaison.db.transaction() as session:
        await record_action(session, action="test.kept", at=liaison.clock.now(), post_code="NE-KONNI")
        with pytest.raises(RuntimeError):
            async with session.begin_nested():
                await record_action(session, action="test.lost", at=liaison.clock.now(), post_code="NE-KONNI")
                raise RuntimeError("the runner failed")
        await record_action(session, action="test.kept", at=liaison.clock.now(), post_code="NE-KONNI")
    konni = await entries(liaison, "NE-KONNI")
    assert [(e.action, e.seq) for e in konni] == [("test.kept", 1), ("test.kept", 2)]
    assert (await verify(liaison)).ok


async def test_a_rolled_back_transaction_does_not_move_the_chain(liaison: Harness) -> None:
    with pytest.raises(RuntimeError):
        async with liaison.db.transaction() as session:
            await record_action(session, action="test.lost", at=liaison.clock.now(), post_code="NE-KONNI")
            raise RuntimeError("boom")
    await record(liaison.db, liaison, "NE-KONNI", 1)
    assert [e.seq for e in await entries(liaison, "NE-KONNI")] == [1]
    assert (await verify(liaison)).ok


async def test_concurrent_writers_of_one_post_never_fork_its_chain(liaison: Harness) -> None:
    """Two instances (two engines) and many transactions at once, on one post: one chain, no gap."""
    other = Database(liaison.database_url)
    try:

        async def writer(db: Database, name: str, n: int) -> None:
            for i in range(n):
                async with db.transaction() as session:
                    await record_action(
                        session,
                        action="alert.seen",
                        at=liaison.clock.now(),
                        post_code="NE-KONNI",
                        details={"service": "police", "writer": name, "i": i},
                    )
                    await record_action(
                        session,
                        action="alert.seen",
                        at=liaison.clock.now(),
                        post_code="BF-KANTCHARI",
                        details={"service": "police", "writer": name, "i": i},
                    )
                    await asyncio.sleep(0)

        await asyncio.gather(*(writer(db, f"w{k}", 10) for k, db in enumerate([liaison.db, other] * 3)))
    finally:
        await other.dispose()
    for post in ("NE-KONNI", "BF-KANTCHARI"):
        chain = await entries(liaison, post)
        assert [e.seq for e in chain] == list(range(1, 61))
    assert (await verify(liaison)).ok


@pg_only
async def test_sealing_waits_only_for_the_seal_not_for_other_transactions(liaison: Harness) -> None:
    """A transaction that recorded an entry and is still working does not hold the post's chain: another
    writer of the same post commits meanwhile (the lock is taken just before commit)."""
    slow_recorded = asyncio.Event()
    release = asyncio.Event()

    async def slow() -> None:
        async with liaison.db.transaction() as session:
            await record_action(session, action="test.slow", at=liaison.clock.now(), post_code="NE-KONNI")
            slow_recorded.set()
            await release.wait()

    task = asyncio.create_task(slow())
    await slow_recorded.wait()
    await asyncio.wait_for(record(liaison.db, liaison, "NE-KONNI", 3, action="test.fast"), timeout=5)
    release.set()
    await task
    chain = await entries(liaison, "NE-KONNI")
    # Chained in commit order: the slow entry, recorded first, is sealed last.
    assert [e.action for e in chain] == ["test.fast"] * 3 + ["test.slow"]
    assert (await verify(liaison)).ok


async def test_migration_seals_entries_written_before_it(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate.downgrade(engine, "0006_drafts")
        old_log = sa.table(
            "audit_log",
            sa.column("at", UTCDateTime()),
            sa.column("action", sa.String()),
            sa.column("post_code", sa.String()),
            sa.column("details", sa.JSON()),
        )
        async with engine.begin() as connection:
            for i, post in enumerate(["NE-KONNI", None, "NE-KONNI", "BF-KANTCHARI"]):
                await connection.execute(
                    old_log.insert().values(
                        at=datetime(2026, 11, 20 + i, 10, tzinfo=UTC),
                        action="invite.created",
                        post_code=post,
                        details={"service": "customs", "i": i} if post else {},
                    )
                )
        await migrate.upgrade(engine)
        report = await verify_engine(engine)
        assert report.ok and report.entries == 4 and report.chains == 3
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT chain, seq, service_code FROM audit_log"))).all()
        assert sorted(rows, key=str) == sorted(
            [
                ("NE-KONNI", 1, "customs"),
                ("", 1, None),
                ("NE-KONNI", 2, "customs"),
                ("BF-KANTCHARI", 1, "customs"),
            ],
            key=str,
        )
    finally:
        await engine.dispose()


async def test_liaison_audit_verify_names_the_entry(
    liaison: Harness, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await record(liaison.db, liaison, "NE-KONNI", 3)
    monkeypatch.setenv("LIAISON_DATABASE_URL", liaison.database_url)
    monkeypatch.setenv("LIAISON_CONFIG", "config.yaml")
    run = asyncio.get_running_loop().run_in_executor
    assert await run(None, cli.main, ["audit", "verify"]) == 0
    assert "OK: 3 entries in 1 chains" in capsys.readouterr().out
    [second] = await liaison.rows(AuditEntry, col(AuditEntry.seq) == 2)
    await sql(liaison, "UPDATE audit_log SET action = 'alert.resolved' WHERE id = :i", i=second.id)
    assert await run(None, cli.main, ["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert f"BROKEN NE-KONNI: entry #{second.id} (seq 2," in out and "was altered" in out
