"""From a walkthrough on the phone, in French and English: a sent or cancelled handover's draft reads as done,
French service names without a bad article, French prompts naming /annuler, capitalised invite roles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.clock import FrozenClock
from bot.config import Config
from db.drafts import PROMPTS_KEY
from db.handovers import Handover
from tests.factories import drafts_of, label, no_buttons, press, tap, type_in, with_buttons
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


# ----- a handover's draft once sent or cancelled ------------------------------------------------------------


async def test_a_sent_handover_draft_no_longer_reads_as_a_question(liaison: Harness) -> None:
    """The draft message, edited into the remarks question, still asked for remarks once the handover went."""
    issa = await liaison.member("Issa", service="customs", language="fr")
    await liaison.member("Awa", service="customs", language="fr")
    opened = await type_in(liaison, issa, "/handover")
    await press(issa, "💬 Remarks", opened)
    await liaison.settle()
    assert (opened.text or "").startswith("💬 Écrivez vos remarques")
    saved = await type_in(liaison, issa, "Nuit calme. Le scanner du magasin redémarre tout seul.")
    await press(issa, "👁 Review and send", saved)
    await liaison.settle()
    await press(issa, "✅ Send", saved)
    await liaison.settle()

    assert opened.text == "✅ Passation envoyée à 1 personne."
    assert (saved.text or "").startswith("✅ Passation envoyée à 1 personne. Votre copie suit")
    assert no_buttons(opened, saved) and with_buttons(issa) == []
    [handover] = await liaison.rows(Handover)
    assert handover.remarks == "Nuit calme. Le scanner du magasin redémarre tout seul."


async def test_a_cancelled_handover_draft_says_so_on_every_message(liaison: Harness) -> None:
    john = await liaison.member("John", service="police", language="en")
    opened = await type_in(liaison, john, "/handover")
    assert "Nothing to report? One tap: ✅ Nothing to report." in (opened.text or "")
    added = await type_in(liaison, john, "Radio battery 2 is faulty")

    await press(john, "❌ Cancel", added)
    await liaison.settle()

    assert opened.text == added.text == "Handover cancelled. Nothing was sent."
    assert no_buttons(opened, added) and await liaison.rows(Handover) == []


async def test_a_handover_sent_alone_names_the_service_in_good_french(liaison: Harness) -> None:
    """'Personne d'autre de Police sanitaire' read badly."""
    fatima = await liaison.member("Fatima", service="health", language="fr")
    opened = await type_in(liaison, fatima, "/handover")
    await press(fatima, "✅ Nothing to report", opened)
    await liaison.settle()

    assert (opened.text or "").startswith(
        "✅ Passation enregistrée. ⚠️ Personne d'autre de votre service (Police sanitaire) n'est au poste "
        "pour la reprendre"
    )
    [handover] = await liaison.rows(Handover)
    assert handover.service_code == "health" and handover.nothing_to_report


# ----- French prompts name /annuler -------------------------------------------------------------------------


async def test_french_reminder_questions_name_annuler(liaison: Harness) -> None:
    chief = await liaison.member("Moussa", service="customs", role="chief", language="fr")
    asked = await type_in(liaison, chief, "/remind")
    assert (asked.text or "").endswith("ou /annuler.") and "/cancel" not in (asked.text or "")
    await chief.send_photo()
    await liaison.settle()
    assert chief.last.text == "Répondez par un message texte, ou envoyez /annuler pour arrêter."
    assert (await type_in(liaison, chief, "/annuler")).text == "Annulé : aucun rappel n'a été créé."


async def test_french_log_dates_question_names_annuler(liaison: Harness) -> None:
    chief = await liaison.member("Moussa", service="customs", role="chief", language="fr")
    await type_in(liaison, chief, "/log")
    await tap(liaison, chief, "📅 Period")
    await tap(liaison, chief, "✏️ Other dates")
    await chief.send_photo()
    await liaison.settle()
    assert chief.last.text == "Répondez avec les dates, ou envoyez /annuler pour arrêter."


# ----- invites ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "roles"), [("en", ["Agent", "Post chief"]), ("fr", ["Agent", "Chef de poste"])]
)
async def test_invite_role_buttons_start_with_a_capital(
    liaison: Harness, language: str, roles: list[str]
) -> None:
    coordinator = await liaison.member("Claire", role="coordinator", language=language)
    asked = await type_in(liaison, coordinator, "/invite")
    assert asked.buttons()[: len(roles)] == roles
    await coordinator.tap(roles[1])
    await liaison.settle()
    assert coordinator.last.text == label(coordinator, "Which post?")


# ----- the minutes wizard -----------------------------------------------------------------------------------


async def test_an_answered_meeting_step_keeps_no_live_button(liaison: Harness) -> None:
    """The title offers stayed pressable after the title was chosen, until the draft was cancelled."""
    chief = await liaison.member("Moussa", service="customs", role="chief", language="fr")
    asked = await type_in(liaison, chief, "/meeting")
    offered = asked.buttons()[0]
    await chief.tap(offered)
    await liaison.settle()
    when = chief.last

    assert no_buttons(asked) and [m.message_id for m in with_buttons(chief)] == [when.message_id]
    [draft] = await drafts_of(liaison, chief)
    assert draft.step == "when" and draft.data["title"] == offered
    assert draft.data[PROMPTS_KEY] == [[chief.id, when.message_id]]
    await chief.send("hier 15h")
    await liaison.settle()
    assert no_buttons(when) and [m.message_id for m in with_buttons(chief)] == [chief.last.message_id]


async def test_a_handover_lists_an_alert_waiting_for_a_chief_as_not_handled(liaison: Harness) -> None:
    """Every required service with members acknowledged, one with nobody at the post still waits for a chief
    or a coordinator to answer for it: the handover must not call that alert handled."""
    from bot.i18n import translator
    from handlers.handovers.render import alert_line

    alert = {"id": 5, "category": "health", "severity": "important", "post_code": "NE-KONNI", "pending": []}
    waiting = alert_line(liaison.config, translator("fr"), {**alert, "handled": False}, "NE-KONNI")
    assert (
        "en attente d'un chef de poste ou d'un coordinateur" in waiting and "prise en compte" not in waiting
    )
    assert alert_line(liaison.config, translator("en"), {**alert, "handled": True}, "NE-KONNI").endswith(
        "handled"
    )
    # A handover written before the key was kept reads as it did.
    assert alert_line(liaison.config, translator("en"), alert, "NE-KONNI").endswith("handled")
