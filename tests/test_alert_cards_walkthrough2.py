"""Fixes from a second walkthrough of alert cards: a status line that waits for nobody, truthful answers to a
repeated press, French agreement, both times of a reader of no service, an outcome typed on two lines, one
pair of brackets where zones meet."""

from __future__ import annotations

from db.alerts import Alert, AlertRecipient
from db.outbox import Notification
from tests.factories import (
    alert_copy,
    alert_with_readers,
    member_row,
    post_team,
    press,
    press_text,
    raise_health_alert,
)
from tests.harness import Harness
from tests.test_alerts import listed


async def test_an_alert_no_service_must_acknowledge_says_so_on_the_full_cards(liaison: Harness) -> None:
    """Wildlife requires Forests, which Kantchari has not: every service line reads "for information", and the
    author's card does not wait for a service."""
    chief = await liaison.member("Claire", post="BF-KANTCHARI", service=None, role="chief", language="en")
    french_chief = await liaison.member(
        "Ibrahim", post="BF-KANTCHARI", service=None, role="chief", language="fr"
    )
    customs = await liaison.member("Awa", post="BF-KANTCHARI", service="customs", language="fr")
    await chief.send("/alert urgent wildlife: charcoal sacks on a cart")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    assert alert.required == []

    lines = alert_copy(chief, alert.id).text.splitlines()
    assert "▫️ Customs · for information" in lines
    assert "🟢 Open · for information, no acknowledgement asked." in lines
    assert not any("waiting" in line for line in lines)
    assert (
        "🟢 En cours · pour information, aucun accusé de réception demandé."
        in alert_copy(french_chief, alert.id).text.splitlines()
    )
    assert "ℹ️ Pour information" in alert_copy(customs, alert.id).text
    await chief.send("/alerts")
    await liaison.settle()
    assert chief.last.text.splitlines()[1].endswith(" · for information")

    # A service reading it anyway changes nothing about what is asked.
    await liaison.advance(60)
    await press(customs, "👁 Seen", alert_copy(customs, alert.id))
    await liaison.settle()
    lines = alert_copy(chief, alert.id).text.splitlines()
    assert "🟢 Open · for information, no acknowledgement asked." in lines
    assert any(line.startswith("✅ Customs · seen") for line in lines)


async def test_a_reader_of_no_service_pressing_twice_is_told_it_was_noted_and_nothing_is_rewritten(
    liaison: Harness,
) -> None:
    customs, _chief, boss, coordinator, alert = await alert_with_readers(liaison)

    await liaison.advance(60)
    await press(boss, "👁 Seen", alert_copy(boss, alert.id))
    await liaison.settle()
    boss_row = await member_row(liaison, boss)
    [first] = await liaison.rows(AlertRecipient, AlertRecipient.member_id == boss_row.id)
    edits = len(await liaison.rows(Notification))
    card = alert_copy(customs, alert.id).text

    await liaison.advance(60)
    await press(boss, "👁 Seen", alert_copy(boss, alert.id))
    await liaison.settle()
    assert boss.callback_answers[-1]["text"] == "Déjà noté : votre lecture de cette alerte est enregistrée."
    [again] = await liaison.rows(AlertRecipient, AlertRecipient.member_id == boss_row.id)
    assert again.seen_at == first.seen_at and again.action_at is None
    assert len(await liaison.rows(Notification)) == edits  # no card rewritten
    assert alert_copy(customs, alert.id).text == card

    # A coordinator taking action twice (from /alerts): the second press is noted already.
    await coordinator.tap_forged(f"al:act:{alert.id}", coordinator.last.message_id)
    await liaison.settle()
    assert coordinator.callback_answers[-1]["text"] == (
        "Taking action: recorded. The author and the chiefs see it on their cards."
    )
    await coordinator.tap_forged(f"al:act:{alert.id}", coordinator.last.message_id)
    await liaison.settle()
    assert coordinator.callback_answers[-1]["text"] == "Already noted: you are taking action on this alert."


async def test_taking_action_is_told_in_good_french_and_a_chief_reads_the_other_chiefs(
    liaison: Harness,
) -> None:
    customs, _police, health, chief = await post_team(liaison)
    alert = await raise_health_alert(liaison, customs)
    await press(health, "✋ Taking action", alert_copy(health, alert.id))
    await liaison.settle()
    assert health.callback_answers[-1]["text"] == (
        "Prise en charge enregistrée pour Police sanitaire. "
        "La personne qui a lancé l'alerte et les chefs la voient."
    )
    # The chief (of Gendarmerie) is one of the chiefs: the others see it.
    await press(chief, "✋ Taking action", alert_copy(chief, alert.id))
    await liaison.settle()
    assert chief.callback_answers[-1]["text"] == (
        "Prise en charge enregistrée pour Gendarmerie. "
        "La personne qui a lancé l'alerte et les autres chefs la voient."
    )


async def test_a_reader_of_no_service_keeps_both_times_like_a_service_line(liaison: Harness) -> None:
    customs, _police, _health, chief = await post_team(liaison)
    boss = await liaison.member("Moussa", service=None, role="chief", language="fr")
    coordinator = await liaison.member("Claire", role="coordinator", language="en")
    alert = await raise_health_alert(liaison, customs)

    await liaison.advance(60)
    await press(boss, "👁 Seen", alert_copy(boss, alert.id))  # 09:01
    await liaison.settle()
    await liaison.advance(60)
    await coordinator.tap_forged(f"al:act:{alert.id}", coordinator.last.message_id)  # 09:02
    await liaison.settle()
    await liaison.advance(120)
    await press(boss, "✋ Taking action", alert_copy(boss, alert.id))  # 09:04
    await liaison.settle()

    lines = alert_copy(chief, alert.id).text.splitlines()
    assert "✋ Moussa · vu 09:01, prise en charge 09:04" in lines
    assert "✋ Claire · prise en charge 09:02" in lines
    assert not any("Vu aussi" in line for line in lines)


async def test_an_outcome_typed_on_two_lines_keeps_its_break_on_the_card_and_reads_joined_in_the_log(
    liaison: Harness,
) -> None:
    customs, _police, _health, chief = await post_team(liaison)
    alert = await raise_health_alert(liaison, customs)
    await liaison.advance(300)
    await press(chief, "✔️ Resolve", alert_copy(chief, alert.id))
    await liaison.settle()
    await chief.send("Courant rétabli à 09h05\n  Groupe   arrêté ")
    await liaison.settle()

    [row] = await liaison.rows(Alert)
    assert row.outcome == "Courant rétabli à 09h05\nGroupe arrêté"
    lines = alert_copy(customs, alert.id).text.splitlines()
    assert lines[-2].endswith(": Courant rétabli à 09h05") and lines[-1] == "Groupe arrêté"

    await chief.send("/log")
    await liaison.settle()
    assert "Courant rétabli à 09h05 · Groupe arrêté" in chief.last.text


async def test_a_card_opened_from_the_alerts_list_shows_the_press_made_on_it(liaison: Harness) -> None:
    """That message is no copy the alert sent (no card key follows it): the press redraws it."""
    customs, _police, _health, _chief = await post_team(liaison)
    coordinator = await liaison.member("Claire", role="coordinator", language="en")
    alert = await raise_health_alert(liaison, customs)
    await liaison.advance(60)
    await coordinator.send("/alerts")
    await liaison.settle()
    await press_text(coordinator, listed(liaison, coordinator, alert.id, "health"))
    await liaison.settle()
    opened = coordinator.last
    assert "Claire" not in opened.text

    await press(coordinator, "✋ Taking action", opened)
    await liaison.settle()
    [card] = [m for m in coordinator.inbox if m.message_id == opened.message_id]
    assert "✋ Claire · taking action 9:01\u202fAM" in card.text.splitlines()
    assert "✋ Taking action" in str(card.reply_markup)  # still pressable
    # The customs agent's full copy (the author's) shows it too, through the outbox.
    assert "✋ Claire · prise en charge 09:01" in alert_copy(customs, alert.id).text.splitlines()
