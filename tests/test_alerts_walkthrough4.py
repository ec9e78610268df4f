"""Fixes from a fourth walkthrough of alerts: an alert whose required services have nobody at the post is not
"handled" until a chief or a coordinator answers for them, the log says "prise en compte" for handled, a
card opened from /alerts does not stay stale once resolved, truthful answers to an author of no service
and to a service that knows already, and the role of an author of no service."""

from __future__ import annotations

from datetime import timedelta

from bot.i18n import translator
from db.alerts import Alert
from db.audit import AuditEntry
from db.schedules import ScheduledJob
from handlers.alerts.log import summary
from sandbox.emulator import EmulatedUser, ReceivedMessage
from tests.factories import alert_copy, post_team, press, press_text, raise_health_alert
from tests.harness import Harness
from tests.test_alerts import listed

WAITING_FR = (
    "⏳ En cours : personne au poste pour Police nationale (Makalondi), Police nationale (Kantchari) : "
    "un chef de poste ou un coordinateur répond (Vu)."
)


async def handled_entries(liaison: Harness, alert_id: int | None) -> list[AuditEntry]:
    """The alert.handled entries of an alert."""
    entries = await liaison.rows(AuditEntry, AuditEntry.action == "alert.handled")
    return [e for e in entries if e.object_id == str(alert_id)]


async def test_an_alert_nobody_at_the_posts_can_acknowledge_waits_for_a_chief_or_a_coordinator(
    liaison: Harness,
) -> None:
    """Migration at Makalondi (cross-border with Kantchari) requires Police, which neither post has: raised
    by Customs it is not handled (it was, at once), its cards say who is missing and whom it waits for, the
    ladder reaches the chief and then the coordinator, and the coordinator's Seen handles it."""
    customs = await liaison.member("Boubacar", post="NE-MAKALONDI", service="customs", language="fr")
    chief = await liaison.member("Moussa", post="NE-MAKALONDI", service=None, role="chief", language="fr")
    health = await liaison.member("Kader", post="NE-MAKALONDI", service="health", language="fr")
    coordinator = await liaison.member("Claire", role="coordinator", language="en")
    await customs.send("/alert important migration: groupe de 15 personnes sans documents")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    assert alert.required == [] and alert.handled_at is None
    assert not await handled_entries(liaison, alert.id)
    [raised] = await liaison.rows(AuditEntry, AuditEntry.action == "alert.raised")
    assert raised.details["unstaffed"] == ["NE-MAKALONDI/police", "BF-KANTCHARI/police"]
    for reader in (customs, chief):
        lines = alert_copy(reader, alert.id).text.splitlines()
        assert "▫️ Police nationale · aucun membre à ce poste" in lines
        assert lines[-1] == WAITING_FR
        assert not any("Prise en compte" in line for line in lines)
    assert "Prise en compte" not in alert_copy(health, alert.id).text
    await customs.send("/alerts")
    await liaison.settle()
    assert "en attente d'un chef de poste ou d'un coordinateur" in (customs.last.text or ""), (
        customs.last.text
    )

    # Nobody acknowledges: the ladder runs as for any alert (chief at 30 minutes, coordinators at 120).
    assert len([j for j in await liaison.rows(ScheduledJob) if j.key.startswith(f"al:{alert.id}:esc:")]) == 2
    await liaison.advance(timedelta(minutes=30))
    assert any(t.startswith("⏰ Escalade") and "Police nationale" in t for t in chief.texts)
    # The chief reached is told how to answer for the services nobody at the post can acknowledge.
    [escalation] = [t for t in chief.texts if t.startswith("⏰ Escalade")]
    assert (
        "Personne au poste pour Police nationale (Makalondi), Police nationale (Kantchari) : appuyez sur "
        "« Vu » pour répondre à leur place."
    ) in escalation.splitlines()
    await liaison.advance(timedelta(minutes=90))
    assert any(t.startswith("⏰ Escalation") for t in coordinator.texts)
    assert (await liaison.rows(Alert))[0].handled_at is None

    # The coordinator answers for Police: now it is handled, and says how.
    await press(coordinator, "👁 Seen", alert_copy(coordinator, alert.id))
    await liaison.settle()
    [row] = await liaison.rows(Alert)
    assert row.handled_at is not None
    [handled] = await handled_entries(liaison, alert.id)
    assert handled.details["stood_in_for"] == ["NE-MAKALONDI/police", "BF-KANTCHARI/police"]
    assert coordinator.callback_answers[-1]["text"] == (
        "Recorded: you answered for the services with no member at the post, so the alert is handled."
    )
    assert alert_copy(customs, alert.id).text.splitlines()[-1] == (
        "🟢 Prise en compte : un chef de poste ou un coordinateur a répondu pour Police nationale "
        "(Makalondi), Police nationale (Kantchari) (personne au poste)."
    )
    assert summary(handled, translator("fr"), liaison.runtime) == (
        "Alerte n°1 prise en compte après 2\u202fh : aucun membre au poste pour Police nationale, un chef de "
        "poste ou un coordinateur a répondu à leur place"
    )


async def test_one_required_service_acknowledging_is_not_all_when_the_other_has_nobody(
    liaison: Harness,
) -> None:
    """Security at Konni requires Police and Gendarmerie; nobody of Gendarmerie: Police's Seen does not
    read as "every required service acknowledged" (card, log), until the chief answers for Gendarmerie."""
    customs = await liaison.member("Awa", service="customs", language="fr")
    police = await liaison.member("John", service="police", language="en")
    chief = await liaison.member("Moussa", service=None, role="chief", language="fr")
    await customs.send("/alert urgent sécurité: véhicule qui force la barrière")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    await liaison.advance(60)
    await press(police, "👁 Seen", alert_copy(police, alert.id))
    await liaison.settle()
    [row] = await liaison.rows(Alert)
    assert row.handled_at is None and not await handled_entries(liaison, alert.id)
    lines = alert_copy(customs, alert.id).text.splitlines()
    assert lines[-1] == (
        "⏳ En cours : personne au poste pour Gendarmerie : un chef de poste ou un coordinateur répond (Vu)."
    )
    assert not any("tous les services requis" in line for line in lines)
    # The police agent's own card does not say handled either.
    assert "Handled" not in alert_copy(police, alert.id).text

    await liaison.advance(60)
    await press(chief, "👁 Seen", alert_copy(chief, alert.id))
    await liaison.settle()
    assert chief.callback_answers[-1]["text"] == (
        "Enregistré : vous avez répondu pour les services sans membre au poste, l'alerte est donc prise en "
        "compte."
    )
    [handled] = await handled_entries(liaison, alert.id)
    assert handled.details == {"seconds": 120.0, "stood_in_for": ["NE-KONNI/gendarmerie"]}
    assert (
        "🟢 Handled: a post chief or a coordinator answered for Gendarmerie (nobody at the post)."
        in alert_copy(police, alert.id).text.splitlines()
    )
    # The escalation was stopped.
    await liaison.advance(timedelta(minutes=20))
    assert not any("Escalade" in t for t in chief.texts)


async def test_the_log_says_prise_en_compte_for_handled(liaison: Harness) -> None:
    """On cards "prise en charge" is Taking action: handled reads "prise en compte" in the log too."""
    customs, _police, health, _chief = await post_team(liaison)
    alert = await raise_health_alert(liaison, customs)
    await liaison.advance(5)
    await press(health, "👁 Seen", alert_copy(health, alert.id))
    await liaison.settle()
    [handled] = await handled_entries(liaison, alert.id)
    assert summary(handled, translator("fr"), liaison.runtime) == (
        "Alerte n°1 prise en compte : tous les services requis ont accusé réception, après 5\u202fs"
    )


async def open_from_alerts(liaison: Harness, reader: EmulatedUser, alert_id: int | None) -> ReceivedMessage:
    """The alert's card as `reader` opens it from /alerts."""
    await reader.send("/alerts")
    await liaison.settle()
    await press_text(reader, listed(liaison, reader, alert_id, "health"))
    await liaison.settle()
    return reader.last


async def test_a_card_opened_from_alerts_is_redrawn_when_pressed_after_someone_resolved(
    liaison: Harness,
) -> None:
    """The coordinator's copy opened from /alerts read "Handled" with its buttons after the chief resolved:
    a press (Resolve, or Seen) answers and redraws that message as resolved, without buttons."""
    customs, _police, health, chief = await post_team(liaison)
    coordinator = await liaison.member("Claire", role="coordinator", language="en")
    alert = await raise_health_alert(liaison, customs)
    await press(health, "👁 Seen", alert_copy(health, alert.id))
    await liaison.settle()
    first = await open_from_alerts(liaison, coordinator, alert.id)
    second = await open_from_alerts(liaison, coordinator, alert.id)
    assert "🟢 Handled" in first.text and first.button_data()
    await press(chief, "✔️ Resolve", alert_copy(chief, alert.id))
    await liaison.settle()
    await chief.send("Voyageur transféré au CSI")
    await liaison.settle()
    for label, opened in (("✔️ Resolve", first), ("👁 Seen", second)):
        await press(coordinator, label, opened)
        await liaison.settle()
        assert coordinator.callback_answers[-1]["text"] == "This alert is resolved: nothing more to do."
        [card] = [m for m in coordinator.inbox if m.message_id == opened.message_id]
        assert "✔️ Resolved" in card.text and "Voyageur transféré au CSI" in card.text
        assert not card.button_data()


async def coordinator_raises(liaison: Harness, coordinator: EmulatedUser) -> None:
    """The coordinator raises an urgent health alert at Konni (guided: she picks the post)."""
    await coordinator.send("🚨 Alert")
    await liaison.settle()
    for label in ("Birni N'Konni", "Health case", "🔴 Urgent"):
        await press_text(coordinator, label)
        await liaison.settle()
    await coordinator.send("Traveller with high fever, gate 2")
    await liaison.settle()
    await press_text(coordinator, "✅ Send")
    await liaison.settle()


async def test_an_author_of_no_service_is_shown_with_her_role(liaison: Harness) -> None:
    customs, _police, _health, _chief = await post_team(liaison)
    coordinator = await liaison.member("Claire", role="coordinator", language="en")
    await coordinator_raises(liaison, coordinator)
    [alert] = await liaison.rows(Alert)
    assert alert.id is not None
    assert "From: Claire (coordination)" in alert_copy(coordinator, alert.id).text.splitlines()
    assert "De : Claire (coordination)" in alert_copy(customs, alert.id).text.splitlines()
    # A chief of no service reads the same way.
    chief = await liaison.member("Moussa", service=None, role="chief", language="en")
    await chief.send("/alert urgent health: second traveller with fever")
    await liaison.settle()
    assert "From: Moussa (post chief)" in alert_copy(chief, 2).text.splitlines()


async def test_the_author_of_no_service_pressing_seen_is_not_called_the_author(liaison: Harness) -> None:
    _customs, _police, _health, _chief = await post_team(liaison)
    coordinator = await liaison.member("Claire", role="coordinator", language="en")
    await coordinator_raises(liaison, coordinator)
    [alert] = await liaison.rows(Alert)
    await press(coordinator, "👁 Seen", alert_copy(coordinator, alert.id))
    await liaison.settle()
    assert coordinator.callback_answers[-1]["text"] == "Seen: recorded. The chiefs see it on their cards."


async def test_a_service_that_knows_already_is_named_without_an_article(liaison: Harness) -> None:
    customs, police, _health, _chief = await post_team(liaison)
    colleague = await liaison.member("Issa", service="customs", language="fr")
    partner = await liaison.member("Mary", service="police", language="fr")
    alert = await raise_health_alert(liaison, customs)
    await press(colleague, "👁 Seen", alert_copy(colleague, alert.id))
    await liaison.settle()
    assert colleague.callback_answers[-1]["text"] == (
        "Votre service (Douane) est déjà au courant : Awa a lancé cette alerte à 09:00. "
        "Votre propre lecture est enregistrée."
    )
    await press(police, "👁 Seen", alert_copy(police, alert.id))
    await liaison.settle()
    await press(partner, "👁 Seen", alert_copy(partner, alert.id))
    await liaison.settle()
    assert partner.callback_answers[-1]["text"] == (
        "Votre service (Police nationale) en a déjà accusé réception : John, 09:00. "
        "Votre propre lecture est enregistrée."
    )
