"""Notices: once a draft is sent, cancelled or started afresh, none of its earlier questions keeps a button on
the phone (the sender's card, which is not the draft's, keeps its own)."""

from __future__ import annotations

from db.drafts import PROMPTS_KEY
from db.notices import Notice
from sandbox.emulator import EmulatedUser, ReceivedMessage
from tests.factories import (
    button_data,
    drafts_of,
    label,
    no_buttons,
    post_team,
    press,
    press_text,
    type_in,
    with_buttons,
)
from tests.harness import Harness


async def pressed(liaison: Harness, user: EmulatedUser, english: str, message: ReceivedMessage) -> None:
    """Press a button of `message` as the user reads it, and let the bot answer."""
    await press(user, english, message)
    await liaison.settle()


async def test_a_sent_notice_leaves_buttons_only_on_its_card(liaison: Harness) -> None:
    customs, _police, _health, chief = await post_team(liaison)
    asked = await type_in(liaison, chief, "/notice")
    await pressed(liaison, chief, "👥 Everyone", asked)
    assert asked.buttons() == [label(chief, "❌ Cancel")]  # now asking for the text
    summary = await type_in(liaison, chief, "Réunion de coordination demain à 9 h.")
    await pressed(liaison, chief, "✏️ Text", summary)
    assert summary.buttons() == [label(chief, "↩️ Back")]
    second = await type_in(liaison, chief, "Réunion de coordination demain à 10 h.")
    await pressed(liaison, chief, "⚠️ Make it important", second)
    await pressed(liaison, chief, "✅ Send", second)

    assert chief.callback_answers[-1]["text"] == "Avis envoyé."
    assert no_buttons(asked, summary, second)
    [notice] = await liaison.rows(Notice)
    [card] = with_buttons(chief)
    assert f"n°{notice.id}" in (card.text or "").split("\n", 1)[0]
    assert notice.texts == {"fr": "Réunion de coordination demain à 10 h."} and notice.important
    [draft] = await drafts_of(liaison, chief)
    assert draft.step == "sent" and PROMPTS_KEY not in draft.data
    assert any("demain à 10 h." in text for text in customs.texts)


async def test_a_cancelled_notice_leaves_no_button(liaison: Harness) -> None:
    await liaison.member("Awa", post="NE-KONNI", service="customs", language="fr")
    coordinator = await liaison.member("Claire", role="coordinator", language="en")
    asked = await type_in(liaison, coordinator, "/notice")
    await press_text(coordinator, "☐ " + liaison.config.post_name("NE-KONNI"), asked)
    await liaison.settle()
    await pressed(liaison, coordinator, "Next ▶", asked)
    await pressed(liaison, coordinator, "👥 Everyone", asked)
    summary = await type_in(liaison, coordinator, "Evaluation mission next week.")
    await pressed(liaison, coordinator, "📅 Validity", summary)
    assert label(coordinator, "↩️ Back") in summary.buttons()
    second = await type_in(liaison, coordinator, "28/11 18:00")
    assert label(coordinator, "✅ Send") in second.buttons()

    await pressed(liaison, coordinator, "❌ Cancel", second)

    assert second.text == "Notice cancelled. Nothing was sent."
    assert no_buttons(asked, summary, second) and with_buttons(coordinator) == []
    assert await drafts_of(liaison, coordinator) == [] and await liaison.rows(Notice) == []


async def test_a_fresh_notice_takes_the_buttons_off_the_first_draft(liaison: Harness) -> None:
    _customs, _police, _health, chief = await post_team(liaison)
    asked = await type_in(liaison, chief, "/notice")
    await pressed(liaison, chief, "👥 Everyone", asked)
    summary = await type_in(liaison, chief, "Premier brouillon.")
    stale = button_data(summary, label(chief, "❌ Cancel"))

    fresh = await type_in(liaison, chief, "/notice")

    assert no_buttons(asked, summary)
    assert [m.message_id for m in with_buttons(chief)] == [fresh.message_id]
    [draft] = await drafts_of(liaison, chief)
    assert draft.step == "audience" and draft.data[PROMPTS_KEY] == [[chief.id, fresh.message_id]]
    # A press on a button the phone still shows finds the first draft closed, in the reader's words.
    await chief.tap_forged(stale, summary.message_id)
    await liaison.settle()
    assert chief.callback_answers[-1]["text"] == "Ce brouillon est fermé."
    assert [d.id for d in await drafts_of(liaison, chief)] == [draft.id]
