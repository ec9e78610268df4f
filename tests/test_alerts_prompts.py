"""Raising and resolving an alert: once the alert is sent or the outcome given, or the conversation cancelled
or started afresh, its questions and summaries keep no button on the phone; the alert's copies keep theirs."""

from __future__ import annotations

from db.alerts import Alert
from db.drafts import Draft
from sandbox.emulator import EmulatedUser, ReceivedMessage
from tests.factories import alert_copy, draft_to_details, label, no_buttons, press, tap, with_buttons
from tests.harness import Harness


async def raised(liaison: Harness, author: EmulatedUser) -> Alert:
    """An urgent alert raised in one line."""
    await author.send("/alert urgent security: armed men seen near the river")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    return alert


async def ask_outcome(liaison: Harness, user: EmulatedUser, alert: Alert) -> ReceivedMessage:
    """Press Resolve on the user's copy: the question for the outcome."""
    await press(user, "✔️ Resolve", alert_copy(user, alert.id))
    await liaison.settle()
    assert user.last.buttons() == [label(user, "❌ Cancel")]
    return user.last


async def test_the_outcome_sent_takes_the_cancel_off_its_question(liaison: Harness) -> None:
    author = await liaison.member("John", service="police", language="en")
    chief = await liaison.member("Ibrahim", service="gendarmerie", role="chief", language="fr")
    alert = await raised(liaison, author)
    asked = await ask_outcome(liaison, chief, alert)

    await chief.send("Individus interpellés par la gendarmerie, zone sécurisée.")
    await liaison.settle()

    assert chief.last.text == f"Alerte n°{alert.id} résolue. Tous les exemplaires l'indiquent désormais."
    assert no_buttons(asked)
    [resolved] = await liaison.rows(Alert)
    assert resolved.state == "resolved"
    assert resolved.outcome == "Individus interpellés par la gendarmerie, zone sécurisée."
    assert await liaison.rows(Draft) == []


async def test_a_question_cancelled_or_asked_again_keeps_no_cancel(liaison: Harness) -> None:
    author = await liaison.member("John", service="police", language="en")
    chief = await liaison.member("Ibrahim", service="gendarmerie", role="chief", language="en")
    alert = await raised(liaison, author)
    first = await ask_outcome(liaison, chief, alert)

    # Resolve pressed again: the new question replaces the first, whose Cancel goes.
    second = await ask_outcome(liaison, chief, alert)
    assert second.message_id != first.message_id and no_buttons(first)
    await press(chief, "❌ Cancel", second)
    await liaison.settle()
    assert chief.callback_answers[-1]["text"] == "Cancelled."
    assert second.text == "Cancelled." and no_buttons(second)

    # Asked once more, then /cancel typed.
    third = await ask_outcome(liaison, chief, alert)
    await chief.send("/cancel")
    await liaison.settle()
    assert no_buttons(third)

    [still_open] = await liaison.rows(Alert)
    assert still_open.state == "open" and still_open.outcome is None
    assert await liaison.rows(Draft) == []
    # The alert's own buttons are untouched.
    assert label(chief, "✔️ Resolve") in alert_copy(chief, alert.id).buttons()


async def test_a_sent_alert_leaves_buttons_only_on_its_copy(liaison: Harness) -> None:
    """Awa writes her alert in two messages (two summaries, each with Send): once sent, only her copy of
    the alert shows buttons; the questions and the earlier summary show none."""
    awa = await liaison.member("Awa", service="customs", language="fr")
    await liaison.member("John", service="police", language="en")
    await draft_to_details(liaison, awa, "security", "urgent")
    await awa.send("Véhicule qui force la barrière")
    await liaison.settle()
    first_summary = awa.last
    await awa.send("Deux occupants, direction Birni")
    await liaison.settle()
    assert awa.last.message_id != first_summary.message_id
    assert with_buttons(awa)[-2:] == [first_summary, awa.last]

    await tap(liaison, awa, "✅ Send")

    [alert] = await liaison.rows(Alert)
    assert alert.text == "Véhicule qui force la barrière\nDeux occupants, direction Birni"
    assert with_buttons(awa) == [alert_copy(awa, alert.id or 0)]


async def test_an_alert_started_again_or_cancelled_leaves_no_button(liaison: Harness) -> None:
    """/alert twice, then /cancel, then a summary's Cancel: no question or summary keeps a button."""
    john = await liaison.member("John", service="police", language="en")
    await john.send("/alert")
    await liaison.settle()
    first = john.last
    await john.send("/alert")
    await liaison.settle()
    assert john.last.message_id != first.message_id and no_buttons(first)
    await john.send("/cancel")
    await liaison.settle()
    assert with_buttons(john) == []

    await draft_to_details(liaison, john, "security", "urgent")
    await john.send("Armed men near the river")
    await liaison.settle()
    await tap(liaison, john, "❌ Cancel")
    assert with_buttons(john) == []
    assert await liaison.rows(Alert) == [] and await liaison.rows(Draft) == []


async def test_long_category_names_get_a_row_of_their_own(liaison: Harness) -> None:
    """On a phone about 35 characters wide, two buttons of a row show some 16 characters each: a long
    category name ("Contrebande ou fraude douanière") gets its own row, in French and in English."""
    for name, language in (("Awa", "fr"), ("John", "en")):
        user = await liaison.member(name, service="customs", language=language)
        await user.send("/alert")
        await liaison.settle()
        rows = [[b["text"] for b in row] for row in (user.last.reply_markup or {})["inline_keyboard"]]
        assert all(len(row) == 1 or max(map(len, row)) <= 16 for row in rows), rows
        long_names = [label for row in rows for label in row if len(label) > 16]
        assert long_names and all([label] in rows for label in long_names), rows


async def test_an_unsent_alert_replaced_by_a_new_one_is_said_discarded(liaison: Harness) -> None:
    """Fatima's draft is at its details (the location key up): /alert again tells her the unsent one was
    discarded and brings the 🚨 key back before the new question; nothing was sent."""
    fatima = await liaison.member("Fatima", service="health", language="fr")
    await draft_to_details(liaison, fatima, "health", "urgent")
    assert (fatima.last.reply_markup or {}).get("keyboard")  # the location key
    await fatima.send("/alert")
    await liaison.settle()
    told, question = fatima.inbox[-2:]
    assert told.text == "🗑 Votre alerte non envoyée a été abandonnée. En voici une nouvelle."
    assert [k["text"] for row in (told.reply_markup or {})["keyboard"] for k in row] == ["🚨 Alerte"]
    assert "De quoi s'agit-il" in (question.text or "")
    assert await liaison.rows(Alert) == []
    [draft] = await liaison.rows(Draft)
    assert draft.step == "category"
