"""/meeting asks each step in a new message: once the minutes are published or deleted (or started over), and
once a correction is sent or cancelled, none of the draft's messages keeps a button on the phone."""

from __future__ import annotations

from db.drafts import PROMPTS_KEY
from db.meetings import Meeting, MeetingAddendum
from sandbox.emulator import EmulatedUser, ReceivedMessage
from tests.factories import button_data, drafts_of, label, minutes_to_notes, no_buttons, type_in, with_buttons
from tests.harness import Harness


async def first_button(liaison: Harness, user: EmulatedUser) -> ReceivedMessage:
    """Press the first button of the newest message (Next, Add these items...); the bot's next message."""
    await user.tap(user.last.buttons()[0], message_id=user.last.message_id)
    await liaison.settle()
    return user.last


async def pressed(liaison: Harness, user: EmulatedUser, english: str) -> ReceivedMessage:
    """Press the newest button labelled `english` as the user reads it; the bot's next message."""
    await user.tap(label(user, english))
    await liaison.settle()
    return user.last


async def to_summary(liaison: Harness, chief: EmulatedUser) -> list[ReceivedMessage]:
    """Write minutes with notes, a decision and an action item up to the summary; every message of the draft
    so far (those before it included)."""
    await minutes_to_notes(liaison, chief, present=("customs", "police"))
    await type_in(liaison, chief, "Saisie de 12 véhicules.")
    await first_button(liaison, chief)  # Next: decisions
    await type_in(liaison, chief, "Renforcer les patrouilles de nuit.")
    await first_button(liaison, chief)  # Next: action items
    await type_in(liaison, chief, "Douane — transmettre la liste des véhicules saisis — vendredi")
    await first_button(liaison, chief)  # Add this item
    await pressed(liaison, chief, "➡️ Next: next meeting")
    await pressed(liaison, chief, "⏭ No date")
    # Each answered step's question lost its buttons as the next one came: only the summary shows any.
    assert [m.message_id for m in with_buttons(chief)] == [chief.last.message_id]
    return list(chief.inbox)


async def test_published_minutes_leave_buttons_only_on_the_copies(liaison: Harness) -> None:
    chief = await liaison.member("Ibrahim", service="customs", role="chief", language="fr")
    await liaison.member("John", service="police", language="en")
    draft_messages = await to_summary(liaison, chief)

    await pressed(liaison, chief, "📤 Publish")

    assert chief.callback_answers[-1]["text"] == "Publié."
    assert no_buttons(*draft_messages)
    [meeting] = await liaison.rows(Meeting)
    assert meeting.decisions == ["Renforcer les patrouilles de nuit."]
    # Only what publishing sent keeps buttons: the chief's copy (a correction) and the item's card.
    assert {m.message_id for m in with_buttons(chief)}.isdisjoint(m.message_id for m in draft_messages)
    [draft] = await drafts_of(liaison, chief)
    assert draft.step == "published" and PROMPTS_KEY not in draft.data

    # A correction previewed, then /annuler: the preview keeps no Send.
    await pressed(liaison, chief, "📎 Add a correction")
    preview = await type_in(liaison, chief, "Lire 14 véhicules saisis, et non 12.")
    assert label(chief, "📤 Send the correction") in preview.buttons()
    await type_in(liaison, chief, "/annuler")
    assert no_buttons(preview) and await liaison.rows(MeetingAddendum) == []


async def test_deleted_minutes_leave_no_button(liaison: Harness) -> None:
    chief = await liaison.member("Grace", service="health", role="chief", language="en")
    draft_messages = await to_summary(liaison, chief)

    await pressed(liaison, chief, "🗑 Delete the draft")
    deleted = await pressed(liaison, chief, "🗑 Yes, delete")

    assert deleted.text == "🗑 Minutes draft deleted. Nothing was published."
    assert no_buttons(*draft_messages, deleted) and with_buttons(chief) == []
    assert await drafts_of(liaison, chief) == [] and await liaison.rows(Meeting) == []


async def test_starting_over_takes_the_buttons_off_the_first_draft(liaison: Harness) -> None:
    chief = await liaison.member("Ibrahim", service="customs", role="chief", language="fr")
    await minutes_to_notes(liaison, chief, present=("customs",))
    notes = await type_in(liaison, chief, "Premier point.")
    stale = button_data(notes, notes.buttons()[0])
    offer = await type_in(liaison, chief, "/meeting")
    first_draft_messages = list(chief.inbox)

    fresh = await pressed(liaison, chief, "🆕 Start over (deletes the draft)")

    assert no_buttons(*first_draft_messages, offer)
    assert [m.message_id for m in with_buttons(chief)] == [fresh.message_id]
    [draft] = await drafts_of(liaison, chief)
    assert draft.data["notes"] == [] and draft.data[PROMPTS_KEY] == [[chief.id, fresh.message_id]]
    # A phone that still shows a button of the first draft: it is closed, and the new one is untouched.
    await chief.tap_forged(stale, notes.message_id)
    await liaison.settle()
    assert chief.callback_answers[-1]["text"] == "Ce brouillon est fermé."
    assert [d.id for d in await drafts_of(liaison, chief)] == [draft.id]
