"""Shift handovers: once a draft is sent or cancelled (or a question to the incoming shift answered), none of
its earlier messages keeps a button on the phone; a button left behind still gets its clear answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.clock import FrozenClock
from bot.config import Config
from db.drafts import PROMPTS_KEY
from db.handovers import Handover
from sandbox.emulator import EmulatedUser, ReceivedMessage
from tests.factories import drafts_of, label, no_buttons, press, press_text, type_in, with_buttons
from tests.harness import Harness


@pytest.fixture
async def liaison(config: Config, database_url: str) -> AsyncIterator[Harness]:
    """Liaison on Tuesday 24 November 2026 at 05:00 UTC: 06:00 in Niamey, an hour before the shift change."""
    harness = Harness(config, database_url, clock=FrozenClock(datetime(2026, 11, 24, 5, tzinfo=UTC)))
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def write_two_messages(liaison: Harness, agent: EmulatedUser) -> list[ReceivedMessage]:
    """Open /handover, tick a checklist entry, type items twice: the three draft messages, oldest first."""
    opened = await type_in(liaison, agent, "/handover")
    assert label(agent, "✅ Nothing to report") in opened.buttons()
    await press_text(agent, label(agent, "☑️ Checklist {done}/{total}").format(done=0, total=6), opened)
    await liaison.settle()
    await press_text(
        agent, "⬜ " + ("Radio chargée" if agent.state.language_code == "fr" else "Radio charged")
    )
    await liaison.settle()
    await press(agent, "↩️ Back", opened)
    await liaison.settle()
    first = await type_in(liaison, agent, "Véhicule AB-123 retenu porte 2")
    second = await type_in(liaison, agent, "Radio 2 en charge")
    return [opened, first, second]


async def test_a_sent_handover_leaves_no_button_on_its_draft(liaison: Harness) -> None:
    awa = await liaison.member("Awa", service="customs", language="fr")
    moussa = await liaison.member("Moussa", service="customs", language="fr")
    opened, first, second = await write_two_messages(liaison, awa)
    # Mid-way, every message of the draft still works.
    assert not no_buttons(opened) and not no_buttons(first) and not no_buttons(second)

    await press(awa, "👁 Review and send", second)
    await liaison.settle()
    await press(awa, "✅ Send", second)
    await liaison.settle()

    assert no_buttons(opened, first, second)
    assert with_buttons(awa) == []
    assert awa.callback_answers[-1]["text"] == "Envoyée."
    [handover] = await liaison.rows(Handover)
    assert [i["text"] for i in handover.items] == ["Véhicule AB-123 retenu porte 2", "Radio 2 en charge"]
    assert [c["code"] for c in handover.checklist if c["done"]] == ["radio"]
    # The draft stays to answer a second tap, with nothing more to clear.
    [draft] = await drafts_of(liaison, awa)
    assert draft.step == "sent" and PROMPTS_KEY not in draft.data
    # The incoming shift's copy keeps its buttons: it is not the draft's.
    assert label(moussa, "✅ Accept") in moussa.last.buttons()


async def test_a_cancelled_handover_leaves_no_button_on_its_draft(liaison: Harness) -> None:
    bintou = await liaison.member("Bintou", service="customs", language="en")
    await liaison.member("Moussa", service="customs", language="fr")
    opened, first, second = await write_two_messages(liaison, bintou)

    await press(bintou, "❌ Cancel", first)
    await liaison.settle()

    assert bintou.callback_answers[-1]["text"] == "Cancelled."
    assert first.text == "Handover cancelled. Nothing was sent."
    assert no_buttons(opened, first, second) and with_buttons(bintou) == []
    assert await drafts_of(liaison, bintou) == [] and await liaison.rows(Handover) == []


async def test_a_handover_cancelled_by_typing_leaves_no_button(liaison: Harness) -> None:
    awa = await liaison.member("Awa", service="customs", language="fr")
    messages = await write_two_messages(liaison, awa)

    assert (await type_in(liaison, awa, "/annuler")).text == label(
        awa, "Handover cancelled. Nothing was sent."
    )
    assert no_buttons(*messages) and with_buttons(awa) == []
    assert await drafts_of(liaison, awa) == [] and await liaison.rows(Handover) == []


async def test_a_button_left_behind_still_says_the_handover_went(liaison: Harness) -> None:
    awa = await liaison.member("Awa", service="customs", language="fr")
    await liaison.member("Moussa", service="customs", language="fr")
    opened, first, second = await write_two_messages(liaison, awa)
    await press(awa, "👁 Review and send", second)
    await liaison.settle()
    # The pressed message reads as sent; Telegram refuses both edits of the oldest one (it is too old, say):
    # the handover goes all the same.
    liaison.emulator.faults.inject("delay", method="editMessageText", seconds=0.001)
    liaison.emulator.faults.inject(400, method="editMessageText")
    liaison.emulator.faults.inject(400, method="editMessageReplyMarkup")

    await press(awa, "✅ Send", second)
    await liaison.settle()

    assert len(await liaison.rows(Handover)) == 1
    assert not no_buttons(opened) and no_buttons(first, second)
    await press(awa, "✅ Nothing to report", opened)
    await liaison.settle()
    assert awa.callback_answers[-1]["text"] == "Déjà envoyée : une passation ne part qu'une fois."
    assert len(await liaison.rows(Handover)) == 1


async def sent_nothing_to_report(liaison: Harness, author: EmulatedUser) -> Handover:
    """The author sends "nothing to report" in two taps."""
    opened = await type_in(liaison, author, "/handover")
    await press(author, "✅ Nothing to report", opened)
    await liaison.settle()
    [handover] = await liaison.rows(Handover)
    return handover


async def test_remarks_sent_leave_no_cancel_on_their_questions(liaison: Harness) -> None:
    awa = await liaison.member("Awa", service="customs", language="fr")
    moussa = await liaison.member("Moussa", service="customs", language="fr")
    await sent_nothing_to_report(liaison, awa)
    copy = moussa.last

    await press(moussa, "💬 With remarks", copy)
    await liaison.settle()
    asked = moussa.last
    await moussa.send_photo()  # not remarks: asked again
    await liaison.settle()
    again = moussa.last
    assert asked.buttons() == again.buttons() == [label(moussa, "❌ Cancel")]
    await type_in(liaison, moussa, "Radio 2 à recharger avant midi")

    assert no_buttons(asked, again)
    assert with_buttons(moussa) == []  # the copy is now a card saying who took it over
    [handover] = await liaison.rows(Handover)
    assert handover.state == "accepted" and handover.taken_remarks == "Radio 2 à recharger avant midi"
    [draft] = await drafts_of(liaison, moussa)
    assert draft.step == "done" and PROMPTS_KEY not in draft.data


async def test_a_contest_cancelled_leaves_no_cancel_on_its_question(liaison: Harness) -> None:
    awa = await liaison.member("Awa", service="customs", language="fr")
    paul = await liaison.member("Paul", service="customs", language="en")
    await sent_nothing_to_report(liaison, awa)

    await press(paul, "⚠️ Contest", paul.last)
    await liaison.settle()
    asked = paul.last
    assert asked.buttons() == [label(paul, "❌ Cancel")]
    assert (await type_in(liaison, paul, "/cancel")).text == "Nothing was recorded."

    assert no_buttons(asked)
    [handover] = await liaison.rows(Handover)
    assert handover.state == "pending" and await drafts_of(liaison, paul) == []


async def test_a_flood_wait_stops_the_clearing_not_the_cancel(liaison: Harness) -> None:
    awa = await liaison.member("Awa", service="customs", language="fr")
    opened, first, second = await write_two_messages(liaison, awa)
    # Telegram asks to wait: no further edit is tried now (each would be refused the same way).
    # (The pressed message's own edit goes through first.)
    liaison.emulator.faults.inject("delay", method="editMessageText", seconds=0.001)
    flood = liaison.emulator.faults.inject(429, method="editMessageText", retry_after=3, count=2)

    await press(awa, "❌ Cancel", second)
    await liaison.settle()

    assert awa.callback_answers[-1]["text"] == "Annulé."
    assert second.text == label(awa, "Handover cancelled. Nothing was sent.") and no_buttons(second)
    assert not no_buttons(opened) and not no_buttons(first)
    assert flood.count == 1  # one edit tried, none after the refusal
    assert await drafts_of(liaison, awa) == []
    await press(awa, "✅ Nothing to report", opened)
    await liaison.settle()
    answered = awa.callback_answers[-1]
    assert answered["text"] == "Ce brouillon est fermé." and answered["show_alert"]
    assert await liaison.rows(Handover) == []
