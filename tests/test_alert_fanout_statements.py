"""Raising an alert writes its fan-out in a fixed number of statements, whatever the size of the post: the
copies in one INSERT, the escalation ladder and the delivery check in one, the author's service
acknowledgement written and never read back, the post's zone taken from the config."""

from __future__ import annotations

import sqlalchemy as sa

from db.alerts import Alert, AlertRecipient
from db.schedules import ScheduledJob
from tests.harness import Harness


async def raise_and_count(liaison: Harness, readers: int) -> list[str]:
    """The statements run while handling one urgent alert at a post of `readers` agents and its author."""
    services = ("customs", "police", "health", "forests")
    for n in range(readers):
        await liaison.member(f"Agent{n}", service=services[n % 4], language="en")
    author = await liaison.member("Awa", service="customs", language="en")
    statements: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(" ".join(statement.split()))

    await author.send("/alert urgent security: vehicle forcing the barrier")
    sa.event.listen(liaison.db.engine.sync_engine, "before_cursor_execute", note)
    try:
        await liaison.process_updates()
    finally:
        sa.event.remove(liaison.db.engine.sync_engine, "before_cursor_execute", note)
    await liaison.settle()
    return statements


async def test_an_alert_to_thirty_agents_is_written_in_as_many_statements_as_one_to_three(
    liaison: Harness,
) -> None:
    statements = await raise_and_count(liaison, 30)
    [alert] = await liaison.rows(Alert)
    # Every agent and the author hold a copy, each with a card; the ladder and the delivery check are due.
    copies = await liaison.rows(AlertRecipient, AlertRecipient.alert_id == alert.id)
    assert len(copies) == 31 and len({c.card_key for c in copies}) == 31
    jobs = await liaison.rows(ScheduledJob)
    assert {j.key for j in jobs} >= {f"al:{alert.id}:esc:1", f"al:{alert.id}:dlv:1"}
    assert {j.timezone for j in jobs if j.key.startswith(f"al:{alert.id}:")} == {"Africa/Niamey"}
    assert sum(s.startswith("INSERT INTO alert_recipients") for s in statements) == 1
    assert sum(s.startswith("INSERT INTO schedules") for s in statements) == 1
    # The post's zone, stamped on the ladder's jobs, comes from the config: no read of the post's row.
    assert sum(s.startswith("SELECT posts.") for s in statements) == 0
    # The two ways an alert may already exist (its update again, the same text resent) are one query.
    assert sum(s.startswith("SELECT alerts.") for s in statements) == 1
    # The author's service acknowledgement is the alert's only one: written, never read back.
    assert sum(s.startswith("INSERT INTO alert_acks") for s in statements) == 1
    assert sum(s.startswith("SELECT alert_acks.") for s in statements) == 0
    assert len(statements) <= 25, statements
