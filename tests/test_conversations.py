"""One conversation mechanism: drafts per member and flow, the input router, focus moving between features."""

from __future__ import annotations

from db.alerts import Alert
from db.drafts import Draft
from tests.factories import alert_copy, draft_to_details, press
from tests.harness import Harness


async def test_remind_after_an_unanswered_resolve_does_not_resolve_the_alert(liaison: Harness) -> None:
    customs = await liaison.member("Awa", service="customs", language="en")
    chief = await liaison.member("Chef", service="gendarmerie", role="chief", language="en")
    await customs.send("/alert urgent security: armed men seen near the river")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    # The chief presses Resolve, then moves on to something else without answering.
    await press(chief, "✔️ Resolve", alert_copy(chief, alert.id))
    await liaison.settle()
    assert "Send the outcome" in chief.last.text
    await chief.send("/remind")
    await liaison.settle()
    await chief.send("Coordination meeting on Thursday")
    await liaison.settle()
    # The text belongs to the reminder: the alert is still open and nobody was told it was resolved.
    assert "When? Once, or repeating?" in chief.last.text
    [still_open] = await liaison.rows(Alert)
    assert still_open.state == "open" and still_open.outcome is None
    assert all("Coordination meeting" not in text for text in customs.texts)
    assert [d.flow for d in await liaison.rows(Draft)] == ["remind"]  # only the reminder's


async def test_remind_after_a_half_written_alert_gets_its_own_text(liaison: Harness) -> None:
    chief = await liaison.member("Chef", service="gendarmerie", role="chief", language="en")
    await draft_to_details(liaison, chief, "other", "info")
    await chief.send("/remind")
    await liaison.settle()
    assert "Alert cancelled. Nothing was sent." in chief.texts
    await chief.send("Coordination meeting on Thursday")
    await liaison.settle()
    assert "When? Once, or repeating?" in chief.last.text
    assert [d.flow for d in await liaison.rows(Draft)] == ["remind"] and await liaison.rows(Alert) == []


async def test_a_fresh_start_reads_the_draft_it_replaces_once(liaison: Harness) -> None:
    """Starting a conversation again replaces its draft: the replaced one (its prompts lose their buttons) is
    the one open_draft read and deleted, not read a second time."""
    import sqlalchemy as sa

    chief = await liaison.member("Chef", service="gendarmerie", role="chief", language="en")
    await chief.send("/remind")
    await liaison.settle()
    first = chief.last
    statements: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(" ".join(statement.split()))

    sa.event.listen(liaison.db.engine.sync_engine, "before_cursor_execute", note)
    try:
        await chief.send("/remind")
        await liaison.settle()
    finally:
        sa.event.remove(liaison.db.engine.sync_engine, "before_cursor_execute", note)
    [draft] = await liaison.rows(Draft)
    assert draft.flow == "remind" and chief.last.message_id != first.message_id
    reads = [s for s in statements if s.startswith("SELECT drafts.")]
    assert len(reads) == 2, reads  # open_draft's, and unfocus_drafts' of the other flows
