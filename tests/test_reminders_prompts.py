"""/remind asks each question in a new message: once the reminder is saved or cancelled (or /remind starts
again), none of those questions keeps a button on the phone."""

from __future__ import annotations

from babel.dates import get_day_names

from db.drafts import PROMPTS_KEY
from handlers.reminders.render import WEEKDAYS
from sandbox.emulator import EmulatedUser, ReceivedMessage
from tests.factories import (
    button_data,
    chief_reminders,
    drafts_of,
    label,
    language_of,
    no_buttons,
    press,
    press_text,
    service_label,
    type_in,
    with_buttons,
)
from tests.harness import Harness


async def choose(liaison: Harness, user: EmulatedUser, text: str) -> ReceivedMessage:
    """Press the button showing `text` on the newest message; the bot's next question."""
    await press_text(user, text)
    await liaison.settle()
    return user.last


async def test_a_saved_reminder_leaves_no_button_on_its_questions(liaison: Harness) -> None:
    chief = await liaison.member("Chef", service="customs", role="chief", language="fr")
    await type_in(liaison, chief, "/remind")
    when = await type_in(liaison, chief, "Point sécurité avec la gendarmerie")
    day = await choose(liaison, chief, label(chief, "Every week"))
    tuesday = str(get_day_names("abbreviated", locale=language_of(chief))[WEEKDAYS.index("tue")])
    await choose(liaison, chief, tuesday)
    who = await type_in(liaison, chief, "10h30")
    summary = await choose(liaison, chief, service_label(liaison, chief, "police"))
    assert not no_buttons(when) and not no_buttons(day) and not no_buttons(who)

    await press(chief, "✅ Save", summary)
    await liaison.settle()

    assert chief.callback_answers[-1]["text"] == label(chief, "Saved")
    assert no_buttons(when, day, who, summary) and with_buttons(chief) == []
    [row] = await chief_reminders(liaison)
    assert row.trigger_args == {"hour": 10, "minute": 30, "day_of_week": "tue"}
    [draft] = await drafts_of(liaison, chief)
    assert draft.step == "saved" and PROMPTS_KEY not in draft.data


async def test_a_cancelled_reminder_leaves_no_button_and_old_ones_say_closed(liaison: Harness) -> None:
    coordinator = await liaison.member("Claire", role="coordinator", language="en")
    post = await type_in(liaison, coordinator, "/remind")
    await choose(liaison, coordinator, liaison.config.post_name("NE-KONNI"))
    when = await type_in(liaison, coordinator, "Border evaluation visit")
    stale = button_data(when, "Every week")
    await choose(liaison, coordinator, "Once")
    who = await type_in(liaison, coordinator, "28/11 09:00")
    summary = await choose(liaison, coordinator, "Whole post")

    await press(coordinator, "✖ Cancel", summary)
    await liaison.settle()

    assert coordinator.last.text == "Cancelled: no reminder was created."
    assert no_buttons(post, when, who, summary) and with_buttons(coordinator) == []
    assert await chief_reminders(liaison) == [] and await drafts_of(liaison, coordinator) == []
    # A phone that still shows an old button: the press is answered, and changes nothing.
    await coordinator.tap_forged(stale, when.message_id)
    await liaison.settle()
    assert coordinator.callback_answers[-1]["text"] == "This draft is closed."
    assert await drafts_of(liaison, coordinator) == []


async def test_a_fresh_remind_takes_the_buttons_off_the_first_draft(liaison: Harness) -> None:
    chief = await liaison.member("Chef", service="customs", role="chief", language="fr")
    await type_in(liaison, chief, "/remind")
    when = await type_in(liaison, chief, "Premier rappel")

    await type_in(liaison, chief, "/remind")

    assert no_buttons(when) and with_buttons(chief) == []
    [draft] = await drafts_of(liaison, chief)
    assert draft.step == "text" and PROMPTS_KEY not in draft.data
