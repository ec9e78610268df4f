"""Every screen a French reader meets comes from the French catalog.

The harness fails a test when the bot looks up a message the catalogs do not translate (a string that escaped
extraction, like an f-string inside gettext, reaches a French reader in English): here French readers walk
through the screens of every feature, so that class of defect fails this test.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.i18n import translator
from tests.factories import alert_copy, link_code, tap, tap_text
from tests.harness import Harness

# English words that never appear in French screens (names of people, posts and services aside).
ENGLISH = re.compile(r"\b(the|your|you|and|with|Next|Cancel|Send|Save|Seen|pending|received|people)\b")


def assert_french(text: str) -> None:
    """No English word of the interface in a French reader's message."""
    for word in ("Birni N'Konni", "Makalondi", "Kantchari"):
        text = text.replace(word, "")
    found = ENGLISH.findall(text)
    assert not found, (found, text)


async def test_a_french_post_walks_through_every_screen(liaison: Harness) -> None:
    coordinator = await liaison.member("Coordinatrice", role="coordinator", language="fr")
    chief = await liaison.member("Chef", service="gendarmerie", role="chief", language="fr")
    agent = await liaison.member("Awa", service="customs", language="fr")
    health = await liaison.member("Mariama", service="health", language="fr")

    for person, command in (
        (agent, "/help"),
        (agent, "/alerts"),
        (agent, "/reminders"),
        (agent, "/members"),
        (chief, "/members"),
        (chief, "/delivery"),
        (chief, "/reminders"),
        (coordinator, "/delivery"),
        (coordinator, "/reminders"),
        (coordinator, "/members"),
        (agent, "/cancel"),
        (agent, "/inconnue"),
        (agent, "bonjour"),
    ):
        await person.send(command)
        await liaison.settle()
        assert_french(person.last.text or "")

    # An alert from the button to its resolution, an escalation on the way.
    await agent.send("🚨 Alerte")
    await liaison.settle()
    await tap_text(liaison, agent, "Cas sanitaire")
    await tap_text(liaison, agent, "🔴 Urgent")
    assert_french(agent.last.text or "")
    await agent.send("Voyageur avec forte fièvre à la porte 2")
    await liaison.settle()
    assert_french(agent.last.text or "")
    await tap(liaison, agent, "✅ Send")
    await liaison.advance(timedelta(minutes=5))
    assert_french(health.last.text or "")
    await health.tap("👁 Vu", message_id=alert_copy(health, 1).message_id)
    await liaison.settle()
    assert_french(health.callback_answers[-1]["text"])
    await chief.tap("✔️ Résoudre", message_id=alert_copy(chief, 1).message_id)
    await liaison.settle()
    await chief.send("Voyageur transféré au centre de santé")
    await liaison.settle()
    for person in (agent, health, chief):
        assert_french(alert_copy(person, 1).text or "")

    # A reminder created step by step, listed, paused.
    await chief.send("/remind")
    await liaison.settle()
    await chief.send("Point de coordination")
    await liaison.settle()
    await tap(liaison, chief, "Every week")
    await tap_text(liaison, chief, "jeu.")
    await chief.send("10:00")
    await liaison.settle()
    await tap(liaison, chief, "Whole post")
    assert_french(chief.last.text or "")
    await tap(liaison, chief, "✅ Save")
    assert_french(chief.last.text or "")
    await chief.send("/reminders")
    await liaison.settle()
    assert_french(chief.last.text or "")

    # An invite, used: the inviter's note, the newcomer's welcome.
    await chief.send("/invite")
    await liaison.settle()
    await tap_text(liaison, chief, "Police nationale")
    assert_french(chief.last.text or "")
    newcomer = liaison.user("Issa", language="fr")
    await newcomer.start(link_code(chief.last.text or ""))
    await liaison.settle()
    assert_french(newcomer.last.text or "")
    assert_french(chief.find("Issa a rejoint").text or "")
    assert translator("fr").gettext("Next: {moment}") != "Next: {moment}"


async def test_french_screens_call_the_coordinators_coordinateurs(liaison: Harness) -> None:
    chief = await liaison.member("Chef", service="gendarmerie", role="chief", language="fr")
    agent = await liaison.member("Awa", service="customs", language="fr")
    await chief.send("/notice")
    await liaison.settle()
    await tap(liaison, chief, "👥 Everyone")
    await chief.send("Contrôle renforcé à la porte 2.")
    await liaison.settle()
    await tap(liaison, chief, "✅ Send")

    # Every refusal that names the role names it the same way (the catalog's word: "coordinateur").
    refusals = []
    for command in ("/notice", "/meeting", "/log", "/digest", "/remind"):
        await agent.send(command)
        await liaison.settle()
        refusals.append(agent.last.text or "")
    await agent.tap_forged("nt:who:1", agent.last.message_id)
    await liaison.settle()
    refusals.append(agent.callback_answers[-1]["text"] or "")
    assert refusals == [
        "Seuls les chefs de poste et les coordinateurs envoient des avis.",
        "Seuls les chefs de poste et les coordinateurs rédigent les comptes rendus de réunion.",
        "Seuls les chefs de poste et les coordinateurs peuvent consulter le journal.",
        "Seuls les chefs de poste et les coordinateurs peuvent consulter la synthèse.",
        "Seuls les chefs de poste et les coordinateurs peuvent créer ou modifier des rappels.",
        "Seuls l'auteur, les chefs du poste et les coordinateurs suivent cet avis.",
    ]
