"""Fixes from a walkthrough: one shape for an alert's service lines, truthful answers to Seen / Taking action
(the author's, a reader of no service's), a one-off reminder that went out, and the 🚨 key at joining."""

from __future__ import annotations

from datetime import timedelta

from db.alerts import AlertRecipient
from db.schedules import JobState
from tests.factories import (
    alert_copy,
    alert_with_readers,
    member_row,
    post_team,
    press,
    press_label,
    raise_health_alert,
    say,
    tap,
)
from tests.harness import Harness
from tests.test_onboarding import reply_keys
from tests.test_reminders import chief_rows, start_reminder


async def test_every_service_line_reads_the_same_way_in_both_languages(liaison: Harness) -> None:
    customs, police, health, chief = await post_team(liaison)
    second_police = await liaison.member("Paul", service="police", language="en")
    alert = await raise_health_alert(liaison, customs)

    await liaison.advance(60)
    await press(police, "👁 Seen", alert_copy(police, alert.id))  # 09:01 in Niamey
    await liaison.settle()
    await liaison.advance(60)
    await press(second_police, "✋ Taking action", alert_copy(second_police, alert.id))  # 09:02
    await liaison.settle()
    await liaison.advance(60)
    await press(customs, "✋ Taking action", alert_copy(customs, alert.id))  # the author, at 09:03
    await liaison.settle()
    await press(
        health, "✋ Taking action", alert_copy(health, alert.id)
    )  # 09:03: handled, every card redrawn
    await liaison.settle()

    lines = alert_copy(chief, alert.id).text.splitlines()
    # Each line: the service, what it did, when, who; a name or a time said once when once is enough.
    # The author's service: she raised it (nobody pressed Seen), then took action.
    assert "✋ Douane · signalée 09:00, prise en charge 09:03 (Awa)" in lines
    assert "✋ Police nationale · vu 09:01 (John), prise en charge 09:02 (Paul)" in lines
    assert "✋ Police sanitaire · prise en charge 09:03 (Mariama)" in lines
    assert "⏳ Gendarmerie · pending" not in lines and "▫️ Gendarmerie · pour information" in lines
    # An English reader's own service line, in the same shape.
    assert (
        "✋ National Police · seen 9:01\u202fAM (John), taking action 9:02\u202fAM (Paul)"
        in alert_copy(police, alert.id).text.splitlines()
    )
    assert "✅" not in "\n".join(line for line in lines if "·" in line and "prise en charge" in line)


async def test_a_seen_line_and_a_pending_line(liaison: Harness) -> None:
    customs, police, _health, chief = await post_team(liaison)
    alert = await raise_health_alert(liaison, customs)
    await liaison.advance(120)
    await press(police, "👁 Seen", alert_copy(police, alert.id))
    await liaison.settle()
    lines = alert_copy(chief, alert.id).text.splitlines()
    assert "✅ Douane · signalée 09:00 (Awa)" in lines
    assert "✅ Police nationale · vu 09:02 (John)" in lines
    assert "⏳ Police sanitaire · en attente" in lines
    assert "✅ National Police · seen 9:02\u202fAM (John)" in alert_copy(police, alert.id).text.splitlines()


async def test_the_author_taking_action_is_told_who_sees_it(liaison: Harness) -> None:
    customs, police, _health, _chief = await post_team(liaison)
    await liaison.advance(0)
    alert = await raise_health_alert(liaison, customs)
    await press(customs, "✋ Taking action", alert_copy(customs, alert.id))
    await liaison.settle()
    assert customs.callback_answers[-1]["text"] == (
        "Prise en charge enregistrée pour Douane. Les chefs la voient sur leur carte."
    )
    # Anyone else is told that the author and the chiefs see it.
    await press(police, "✋ Taking action", alert_copy(police, alert.id))
    await liaison.settle()
    assert police.callback_answers[-1]["text"] == (
        "Taking action: recorded for National Police. The author and the chiefs see it."
    )


async def test_seen_by_a_chief_of_no_service_or_a_coordinator_shows_on_the_full_cards(
    liaison: Harness,
) -> None:
    customs, chief, boss, coordinator, alert = await alert_with_readers(liaison)

    await liaison.advance(60)
    await press(boss, "👁 Seen", alert_copy(boss, alert.id))
    await liaison.settle()
    assert boss.callback_answers[-1]["text"] == (
        "Vu : c'est enregistré. "
        "La personne qui a lancé l'alerte et les autres chefs le voient sur leur carte."
    )
    assert "👁 Moussa · vu 09:01" in alert_copy(customs, alert.id).text.splitlines()
    assert "👁 Moussa · vu 09:01" in alert_copy(boss, alert.id).text.splitlines()
    assert "👁 Moussa · vu 09:01" in alert_copy(chief, alert.id).text.splitlines()
    receipt = (
        await liaison.rows(AlertRecipient, AlertRecipient.member_id == (await member_row(liaison, boss)).id)
    )[0]
    assert receipt.seen_at is not None

    # A coordinator, from /alerts, takes action: no service acknowledges, but the cards say who.
    await liaison.advance(60)
    await coordinator.tap_forged(f"al:act:{alert.id}", coordinator.last.message_id)
    await liaison.settle()
    assert coordinator.callback_answers[-1]["text"] == (
        "Taking action: recorded. The author and the chiefs see it on their cards."
    )
    lines = alert_copy(customs, alert.id).text.splitlines()
    assert "👁 Moussa · vu 09:01" in lines and "✋ Coord · prise en charge 09:02" in lines
    # A second press changes nothing, and says so.
    await press(boss, "👁 Seen", alert_copy(boss, alert.id))
    await liaison.settle()
    assert boss.callback_answers[-1]["text"] == "Déjà noté : votre lecture de cette alerte est enregistrée."
    assert alert_copy(customs, alert.id).text.splitlines() == lines


async def test_a_one_off_reminder_that_went_out_says_so_and_loses_its_buttons(liaison: Harness) -> None:
    chief = await liaison.member("Chef", post="NE-KONNI", service="customs", role="chief", language="fr")
    await start_reminder(liaison, chief, "Rapport")
    await tap(liaison, chief, "Once")
    await say(liaison, chief, "2026-11-23 10:00")
    await tap(liaison, chief, "Whole post")
    await tap(liaison, chief, "✅ Save")
    went_out = "Ce rappel a déjà été envoyé : il n'y a plus rien à modifier."

    # Two lists shown before 10:00, when it goes out; then a press on each.
    listings = []
    for _ in range(2):
        await say(liaison, chief, "/reminders")
        listings.append(chief.last)
        assert "Rapport" in chief.last.text
    await liaison.advance(timedelta(hours=2))  # 10:00 in Konni
    [row] = await chief_rows(liaison)
    assert row.state == JobState.DONE
    for button, listing in zip(("🗑 Delete {n}", "⏸ Pause {n}"), listings, strict=True):
        await chief.tap(press_label(chief, button, n=1), message_id=listing.message_id)
        await liaison.settle()
        assert chief.callback_answers[-1]["text"] == went_out
        # The page is drawn again: the reminder that went out and its buttons are gone.
        assert "Rapport" not in listing.text
        assert press_label(chief, "🗑 Delete {n}", n=1) not in listing.buttons()

    # The confirmation shown before it went out says the same.
    await start_reminder(liaison, chief, "Inventaire")
    await tap(liaison, chief, "Once")
    await say(liaison, chief, "2026-11-23 12:00")
    await tap(liaison, chief, "Whole post")
    await tap(liaison, chief, "✅ Save")
    await say(liaison, chief, "/reminders")
    listing = chief.last
    await chief.tap(press_label(chief, "🗑 Delete {n}", n=1), message_id=listing.message_id)
    await liaison.settle()
    await liaison.advance(timedelta(hours=2))
    await chief.tap(press_label(chief, "Yes, delete"), message_id=listing.message_id)
    await liaison.settle()
    assert chief.callback_answers[-1]["text"] == went_out
    assert "Inventaire" not in listing.text


async def test_coordinators_and_chiefs_get_the_alert_key_when_they_join(liaison: Harness) -> None:
    coordinator = await liaison.member("Moussa", role="coordinator", language="fr")
    assert reply_keys(coordinator.last) == ["🚨 Alerte"]
    boss = await liaison.member("Aïcha", service=None, role="chief", language="en")
    assert reply_keys(boss.last) == ["🚨 Alert"]
    agent = await liaison.member("Awa", language="fr")
    assert reply_keys(agent.last) == ["🚨 Alerte"]
    # The key works for the coordinator: they pick the post first.
    await coordinator.send("🚨 Alerte")
    await liaison.settle()
    assert "À quel poste" in coordinator.last.text
    # A bare /start greets them again with the key.
    await coordinator.send("/start")
    await liaison.settle()
    assert reply_keys(coordinator.last) == ["🚨 Alerte"]
