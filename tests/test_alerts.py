"""Alerts end to end: a real post raises, acknowledges per service, escalates and resolves over the emulator."""

from __future__ import annotations

from datetime import timedelta

from db.alerts import Alert, AlertAck, AlertDraft, AlertRecipient
from db.audit import AuditEntry
from db.outbox import Notification


async def post_team(liaison):
    """Konni: a French Customs agent, an English Police agent, a French Health agent, the (French) chief."""
    customs = await liaison.member("Awa", service="customs", language="fr")
    police = await liaison.member("John", service="police", language="en")
    health = await liaison.member("Mariama", service="health", language="fr")
    chief = await liaison.member("Ibrahim", service="gendarmerie", role="chief", language="fr")
    return customs, police, health, chief


def alert_copy(user, alert_id):
    """The user's copy of an alert (the card carrying its buttons)."""
    for message in user.inbox:
        text = message.text or ""
        if f"ALERT #{alert_id} " in text or (text.startswith("ALERTE ") and f"n°{alert_id} " in text):
            return message
    raise AssertionError(f"no copy of alert {alert_id} for {user!r}: {user.texts}")


async def raise_guided(
    liaison, user, *, category, severity, location=None, photo=False, text="Voyageur fiévreux"
):
    """Play the whole /alert conversation; returns the new alert row."""
    await user.send("/alert")
    await liaison.settle()
    await user.tap(f"al:cat:{(await draft_of(liaison, user)).id}:{category}")
    await liaison.settle()
    await user.tap(f"al:sev:{(await draft_of(liaison, user)).id}:{severity}")
    await liaison.settle()
    if location:
        await user.share_location(*location)
    else:
        await user.send("⏭ Passer" if user.state.language_code == "fr" else "⏭ Skip")
    await liaison.settle()
    if photo:
        file_id = await user.send_photo()
    else:
        await user.send("⏭ Passer")
        file_id = None
    await liaison.settle()
    await user.send(text)
    await liaison.settle()
    draft = await draft_of(liaison, user)
    await user.tap(f"al:ok:{draft.id}")
    await liaison.settle()
    alerts = await liaison.rows(Alert)
    return alerts[-1], file_id


async def draft_of(liaison, user):
    rows = await liaison.rows(AlertDraft)
    members = {m.telegram_id: m for m in await liaison.rows(__import__("db.members").members.Member)}
    draft = next(d for d in rows if d.member_id == members[user.id].id)
    return draft


async def test_urgent_health_alert_full_story(liaison):
    customs, police, health, chief = await post_team(liaison)
    alert, file_id = await raise_guided(
        liaison,
        customs,
        category="health",
        severity="urgent",
        location=(13.79512, 5.25003),
        photo=True,
        text="Voyageur avec forte fièvre à la porte 2 <b>isolé</b>",
    )
    assert alert.severity == "urgent" and alert.category == "health"
    assert alert.photo_file_id == file_id and alert.latitude == 13.79512
    assert customs.find("Alerte n°1 envoyée à 4 personnes")

    # Each reader in their own language; the free text as written (escaped); the location as a map link.
    police_copy = alert_copy(police, alert.id)
    assert "URGENT ALERT #1" in police_copy.text and "Health case" in police_copy.text
    assert "Voyageur avec forte fièvre à la porte 2 <b>isolé</b>" in police_copy.text
    assert "openstreetmap.org" in police_copy.html and "13.79512, 5.25003" in police_copy.text
    health_copy = alert_copy(health, alert.id)
    assert "ALERTE" in health_copy.text.upper() and "Cas sanitaire" in health_copy.text
    assert "09:00" in health_copy.text  # 08:00 UTC is 09:00 in Niamey
    assert any(m.photo == file_id for m in health.inbox)
    assert not police_copy.disable_notification  # urgent: with sound
    urgent = await liaison.rows(
        Notification, Notification.ref_id == alert.id, Notification.method == "sendMessage"
    )
    assert {n.priority for n in urgent} == {0}

    # Police acknowledges (at 09:02 Niamey); Health does not.
    await liaison.advance(120)
    await police.tap(f"al:seen:{alert.id}")
    await liaison.settle()
    assert "National Police" in police.callback_answers[-1]["text"]
    author_card = alert_copy(customs, alert.id)
    assert "Police nationale ✓ 09:02 (John)" in author_card.text
    assert "⏳ Police sanitaire — en attente" in author_card.text

    # Five minutes after raising: escalation to Health and the chief, not to Police.
    await liaison.advance(180)
    escalations = await liaison.rows(AuditEntry, AuditEntry.action == "alert.escalated")
    assert len(escalations) == 1 and escalations[0].details["pending"] == ["NE-KONNI/health"]
    assert "Escalade" in health.last.text and "Police sanitaire" in health.last.text
    assert any("Escalade" in t for t in chief.texts)
    assert not any("Escalation" in t for t in police.texts)

    # Health takes action: the author's and the chief's cards show everything.
    await health.tap(f"al:act:{alert.id}", message_id=health.last.message_id)
    await liaison.settle()
    acks = await liaison.rows(AlertAck)
    assert {(a.service_code, a.kind) for a in acks} == {
        ("customs", "seen"),
        ("police", "seen"),
        ("health", "action"),
    }
    health_ack = next(a for a in acks if a.service_code == "health")
    assert health_ack.seconds_to_ack == 300
    for reader in (customs, chief):
        card = alert_copy(reader, alert.id)
        assert "Police sanitaire ✓ 09:05 (Mariama)" in card.text
        assert "tous les services requis" in card.text

    # The 15-minute step was cancelled: nothing reaches coordinators.
    coordinator = await liaison.member("Coord", role="coordinator", language="en")
    await liaison.advance(timedelta(minutes=20))
    assert not any("Escalation" in t for t in coordinator.texts)

    # The chief resolves with an outcome: every copy shows it, buttons gone.
    await chief.tap(f"al:res:{alert.id}")
    await liaison.settle()
    await chief.send("Voyageur transféré au CSI de Konni")
    await liaison.settle()
    row = (await liaison.rows(Alert))[0]
    assert row.state == "resolved" and row.outcome == "Voyageur transféré au CSI de Konni"
    for reader in (customs, police, health, chief):
        card = alert_copy(reader, alert.id)
        assert "Voyageur transféré au CSI de Konni" in card.text
        assert not card.button_data()
    assert "Resolved" in alert_copy(police, alert.id).text

    # Buttons on a resolved alert answer that it is resolved.
    await police.tap_forged(f"al:act:{alert.id}", police_copy.message_id)
    await liaison.settle()
    assert "resolved" in police.callback_answers[-1]["text"]

    actions = [e.action for e in await liaison.rows(AuditEntry) if e.object_type == "alert"]
    for step in (
        "alert.raised",
        "alert.delivered",
        "alert.seen",
        "alert.escalated",
        "alert.taking_action",
        "alert.handled",
        "alert.resolved",
    ):
        assert step in actions, step
