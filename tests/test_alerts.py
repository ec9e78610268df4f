"""Alerts end to end: a real post raises, acknowledges per service, escalates and resolves (emulator)."""

from __future__ import annotations

from datetime import timedelta

from telegram import Update

from bot.config import EscalationStep
from db.alerts import Alert, AlertAck, AlertRecipient
from db.audit import AuditEntry
from db.drafts import Draft
from db.members import Member, MemberStatus, set_member_status
from db.outbox import Notification
from db.schedules import ScheduledJob
from sandbox.emulator import EmulatedUser
from tests.factories import (
    alert_copy,
    category_button,
    draft_of,
    draft_to_details,
    member_row,
    post_team,
    press,
    press_label,
    press_text,
    raise_guided,
    severity_button,
    tap,
    tap_text,
)
from tests.harness import Harness


def listed(liaison: Harness, user: EmulatedUser, alert_id: int | None, category: str) -> str:
    """An alert's button in /alerts as the user reads it: its number, then its category."""
    return f"{press_label(user, '#{id}', id=alert_id)} · {category_button(liaison, user, category)}"


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
    # Sent to the three others of the post (the author's own copy is not counted).
    assert customs.find("Alerte n°1 envoyée à 3 personnes")

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
    # The service that must act is queued first, the chief next, the author (who knows) last.
    order = [n.chat_id for n in sorted(urgent, key=lambda n: n.id)]
    assert order == [health.id, chief.id, police.id, customs.id]

    # Police acknowledges (at 09:02 Niamey); Health does not.
    await liaison.advance(120)
    await press(police, "👁 Seen", alert_copy(police, alert.id))
    await liaison.settle()
    assert "National Police" in police.callback_answers[-1]["text"]
    assert (
        "✅ National Police · seen 9:02\u202fAM (John)" in alert_copy(police, alert.id).text
    )  # their own copy too
    assert (
        "appuyez sur un bouton" in alert_copy(health, alert.id).text
    )  # others' copies wait for a change of state
    assert "Handled" not in alert_copy(police, alert.id).text  # Health has not acknowledged yet
    author_card = alert_copy(customs, alert.id)
    assert "✅ Police nationale · vu 09:02 (John)" in author_card.text
    assert "⏳ Police sanitaire · en attente" in author_card.text
    # The three others, as her confirmation counted them (her own copy is not news to her).
    assert "📬 Reçue par 3 sur 3 personnes." in author_card.text
    delivered = (await liaison.rows(AuditEntry, AuditEntry.action == "alert.delivered"))[0].details
    # The log counts the same three people as the card.
    assert delivered["sent"] == 3 and delivered["pending"] == 0 and delivered["seconds_to_last_delivery"] == 0

    # Five minutes after raising: escalation to Health and the chief, not to Police.
    await liaison.advance(180)
    escalations = await liaison.rows(AuditEntry, AuditEntry.action == "alert.escalated")
    assert len(escalations) == 1 and escalations[0].details["pending"] == ["NE-KONNI/health"]
    assert "Escalade" in health.last.text and "Police sanitaire" in health.last.text
    assert any("Escalade" in t for t in chief.texts)
    assert not any("Escalation" in t for t in police.texts)

    # Health takes action: the author's and the chief's cards show everything.
    await press(health, "✋ Taking action", health.last)  # on the escalation notice
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
        # One press said both "seen" and "taking action": the line names the person and the time once.
        assert "✋ Police sanitaire · prise en charge 09:05 (Mariama)" in card.text.splitlines()
        assert "tous les services requis" in card.text
    # Ordinary agents' copies (neither the author's nor a chief's) are edited too and say it is handled:
    # Police's, whose last edit was its own press (no status line then), and Health's, each in its language.
    assert "🟢 Handled: every required service has acknowledged." in alert_copy(police, alert.id).text
    assert (
        "🟢 Prise en compte : tous les services requis ont accusé réception."
        in alert_copy(health, alert.id).text
    )

    # Police, who had only seen it, now takes action: both moments stay on the line.
    await press(police, "✋ Taking action", alert_copy(police, alert.id))
    await liaison.settle()
    assert (
        "✋ Police nationale · vu 09:02, prise en charge 09:05 (John)" in alert_copy(customs, alert.id).text
    )

    # The 15-minute step was cancelled: nothing reaches coordinators.
    coordinator = await liaison.member("Coord", role="coordinator", language="en")
    await liaison.advance(timedelta(minutes=20))
    assert not any("Escalation" in t for t in coordinator.texts)

    # The chief resolves with an outcome: every copy shows it, buttons gone.
    await press(chief, "✔️ Resolve", alert_copy(chief, alert.id))
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


async def test_cross_border_alert_reaches_the_partner_post_in_its_own_time_zone(liaison):
    ne_police = await liaison.member("Moussa", post="NE-MAKALONDI", service="police", language="fr")
    ne_customs = await liaison.member("Fatou", post="NE-MAKALONDI", service="customs", language="en")
    bf_police = await liaison.member("Issa", post="BF-KANTCHARI", service="police", language="fr")
    bf_chief = await liaison.member(
        "Aminata", post="BF-KANTCHARI", service="customs", role="chief", language="en"
    )
    konni = await liaison.member("Awa", post="NE-KONNI", service="police", language="fr")

    await ne_customs.send("/alert urgent migration: group of about 40 people crossing north of the post")
    await liaison.settle()
    alert = (await liaison.rows(Alert))[0]
    assert alert.posts == ["NE-MAKALONDI", "BF-KANTCHARI"]
    assert alert.required == ["NE-MAKALONDI/police", "BF-KANTCHARI/police"]

    # 08:00 UTC: 09:00 in Makalondi (UTC+1), 08:00 in Kantchari (UTC+0); each reader in their language.
    assert "23 nov., 09:00" in alert_copy(ne_police, alert.id).text
    partner = alert_copy(bf_police, alert.id)
    assert "23 nov., 08:00" in partner.text and "Flux migratoire irrégulier" in partner.text
    chief_card = alert_copy(bf_chief, alert.id)
    assert "Nov 23, 8:00" in chief_card.text and "Irregular migration flow" in chief_card.text
    assert "Kantchari" in chief_card.text and "Makalondi" in chief_card.text
    assert not konni.texts[1:]  # another post that is not a partner hears nothing

    # The partner's Police acknowledges: its line appears on the author's card, in the author's own clock,
    # every time naming its zone since two zones meet on this alert.
    await liaison.advance(60)
    await press(bf_police, "👁 Seen", alert_copy(bf_police, alert.id))
    await liaison.settle()
    author_card = alert_copy(ne_customs, alert.id)
    assert "National Police · seen 9:01\u202fAM UTC+1 (Issa)" in author_card.text
    assert "Makalondi · Nov 23, 9:00\u202fAM (UTC+1)" in author_card.text
    partner_chief_card = alert_copy(bf_chief, alert.id)
    assert "National Police · seen 8:01\u202fAM UTC+0 (Issa)" in partner_chief_card.text
    assert "⏳ National Police · pending" in author_card.text  # Makalondi's own Police has not yet

    # Five minutes: only Makalondi's Police (and its chief, none here) is escalated, not the partner's.
    await liaison.advance(240)
    escalated = await liaison.rows(AuditEntry, AuditEntry.action == "alert.escalated")
    assert escalated[0].details["pending"] == ["NE-MAKALONDI/police"]
    assert "Escalade" in ne_police.last.text
    assert not any("Escalade" in t for t in bf_police.texts)

    await press(ne_police, "✋ Taking action", alert_copy(ne_police, alert.id))
    await liaison.settle()
    assert "Handled" in alert_copy(ne_customs, alert.id).text
    assert (
        "prise en compte" in alert_copy(bf_chief, alert.id).text.lower()
        or "Handled" in alert_copy(bf_chief, alert.id).text
    )

    # A partner chief may acknowledge but not resolve another post's alert.
    await bf_chief.tap_forged(f"al:res:{alert.id}", alert_copy(bf_chief, alert.id).message_id)
    await liaison.settle()
    assert "Only the author" in bf_chief.callback_answers[-1]["text"]


async def test_forged_foreign_suspended_and_stranger_presses_change_nothing(liaison):
    customs, police, health, _chief = await post_team(liaison)
    other_post = await liaison.member("Kader", post="NE-MAKALONDI", service="health", language="fr")
    await customs.send("/alert urgent santé: voyageur fiévreux porte 2")
    await liaison.settle()
    alert = (await liaison.rows(Alert))[0]
    copy = alert_copy(health, alert.id)

    # A member of another post forges a press on an alert that was never sent to them.
    other_message = other_post.last.message_id
    await other_post.tap_forged(f"al:seen:{alert.id}", other_message)
    await other_post.tap_forged(f"al:act:{alert.id}", other_message)
    await other_post.tap_forged(f"al:res:{alert.id}", other_message)
    await other_post.tap_forged(f"al:open:{alert.id}", other_message)
    await liaison.settle()
    assert all("ne vous a pas été adressée" in a["text"] for a in other_post.callback_answers[-4:])

    # Garbage, unknown ids, someone else's draft.
    for data in (
        "al:seen:99999",
        "al:seen:abc",
        "al:act:-1",
        "al:zap:1",
        "al:ok:424242",
        "al:cat:1:health",
        "al:sev:1:urgent",
        "al:no:1",
        "al",
        "al:open:0",
        "al:res:abc",
    ):
        await health.tap_forged(data, copy.message_id)
    await liaison.settle()
    assert len(health.callback_answers) == 11

    # A suspended member's press is turned away by the gate.
    police_row = await member_row(liaison, police)
    async with liaison.db.transaction() as session:
        await set_member_status(session, member_id=police_row.id, status=MemberStatus.SUSPENDED)
    await press(police, "👁 Seen", alert_copy(police, alert.id))
    await liaison.settle()
    assert (
        "suspendu" in police.callback_answers[-1]["text"]
        or "suspended" in police.callback_answers[-1]["text"]
    )

    # A stranger replaying a forwarded button gets how to join, nothing else.
    stranger = liaison.user("Eve", language="en")
    await stranger.start()
    await liaison.settle()
    await stranger.tap_forged(f"al:seen:{alert.id}", stranger.last.message_id)
    await liaison.settle()
    assert "invite" in stranger.callback_answers[-1]["text"]

    # Only the author's own service acknowledgement exists; nobody else's press was stored.
    acks = await liaison.rows(AlertAck)
    assert [(a.service_code, a.member_id) for a in acks] == [
        ("customs", (await member_row(liaison, customs)).id)
    ]
    recipients = await liaison.rows(AlertRecipient)
    assert all(r.seen_at is None for r in recipients)
    assert (await liaison.rows(Alert))[0].state == "open"

    # An agent who is not the author cannot resolve.
    await health.tap_forged(f"al:res:{alert.id}", copy.message_id)
    await liaison.settle()
    assert "Seuls l'auteur" in health.callback_answers[-1]["text"]


async def test_every_alert_button_fits_in_callback_data(liaison):
    customs, police, health, chief = await post_team(liaison)
    await customs.send("/alert")
    await liaison.settle()
    await chief.send("/alert info other: " + "x" * 20)
    await liaison.settle()
    for user in (customs, police, health, chief):
        for message in user.inbox:
            for data in message.button_data():
                assert data is None or len(data.encode()) <= 32, data


async def test_double_tap_resent_message_and_repeated_update_make_one_alert(liaison):
    customs, police, health, _chief = await post_team(liaison)

    # Double tap on Send: the second press answers "already sent".
    await customs.send("/alert")
    await liaison.settle()
    question = customs.last
    await press_text(customs, category_button(liaison, customs, "security"), question)
    await press_text(customs, category_button(liaison, customs, "security"), question)
    await liaison.settle()
    await press_text(customs, severity_button(customs, "important"))
    await liaison.settle()
    await customs.send("Véhicule suspect garé devant le poste")
    await liaison.settle()
    summary = customs.last
    await press(customs, "✅ Send", summary)
    await press(customs, "✅ Send", summary)
    await liaison.settle()
    assert len(await liaison.rows(Alert)) == 1
    assert "Déjà envoyée" in customs.callback_answers[-1]["text"]
    assert sum("ALERTE" in t for t in police.texts) == 0  # police reads English
    assert sum(t.startswith("🟠 IMPORTANT ALERT #1") for t in police.texts) == 1
    # Cancel pressed on a message from before Send: already sent, and no message says it was cancelled.
    [sent] = await liaison.rows(Draft)
    shown = [m.text for m in customs.inbox]
    await customs.tap_forged(f"al:no:{sent.id}", question.message_id)
    await liaison.settle()
    assert "Déjà envoyée" in customs.callback_answers[-1]["text"]
    assert [m.text for m in customs.inbox] == shown and len(await liaison.rows(Alert)) == 1

    # The same message delivered twice (a redelivered update) and a resent identical one-liner.
    update = await police.send("/alert urgent security: armed man at the barrier")
    await liaison.settle()
    await liaison.app.process_update(Update.de_json(update, liaison.app.bot))
    await police.send("/alert urgent security: armed man at the barrier")
    await liaison.settle()
    alerts = await liaison.rows(Alert)
    assert len(alerts) == 2
    assert "already sent (#2)" in police.last.text
    assert sum(t.startswith("🔴 URGENT ALERT #2") for t in police.texts) == 1

    # A redelivered /alert does not restart the conversation.
    update = await health.send("/alert")
    await liaison.settle()
    await liaison.app.process_update(Update.de_json(update, liaison.app.bot))
    await liaison.settle()
    assert sum("Nouvelle alerte" in t for t in health.texts) == 1


async def test_oversized_and_hostile_texts(liaison):
    customs, police, _health, _chief = await post_team(liaison)
    await draft_to_details(liaison, customs, "other", "info")

    # 5,000 characters: refused with the limit stated, and the conversation stays at the details step.
    await customs.send("é" * 5000)
    await liaison.settle()
    assert "5\u202f000 caractères" in customs.last.text and "1\u202f000" in customs.last.text
    kept = await draft_of(liaison, customs)
    assert kept.step == "details" and "text" not in kept.data

    hostile = (
        "<script>alert('x')</script> & <b>gras</b> </i> 🚨🔥👮🏾‍♀️ "
        "\u202eالمهاجرون عند البوابة\u202c שלום &amp; &lt;"
    )
    await customs.send(hostile)
    await liaison.settle()
    await press(customs, "✅ Send")
    await liaison.settle()
    alert = (await liaison.rows(Alert))[0]
    assert alert.text == hostile.strip()
    copy = alert_copy(police, alert.id)
    assert hostile.strip() in copy.text
    assert copy.disable_notification  # info: silent

    # Exactly the limit is accepted through the one-line form; one more is refused.
    await police.send("/alert info other: " + "a" * 1000)
    await liaison.settle()
    assert len(await liaison.rows(Alert)) == 2
    await police.send("/alert info other: " + "b" * 1001)
    await liaison.settle()
    assert "1,000 characters" in police.last.text and len(await liaison.rows(Alert)) == 2

    # Unreadable one-liners get the form explained.
    await police.send("/alert whatever: something")
    await liaison.settle()
    assert "/alert urgent health" in police.last.text


async def test_alerts_list_opens_one_and_forgets_resolved_ones(liaison):
    customs, police, health, _chief = await post_team(liaison)
    await customs.send("/alert info other: Réunion annulée")
    await liaison.advance(60)
    await police.send("/alert important smuggling: truck with false bottom")
    await liaison.settle()
    await health.send("/alerts")
    await liaison.settle()
    listing = health.last
    assert listing.text.index("n°2") < listing.text.index("n°1")  # newest first, numbered the French way
    assert "1 service en attente" in listing.text
    await press_text(health, listed(liaison, health, 2, "smuggling"))
    await liaison.settle()
    assert health.last.text.startswith("ALERTE 🟠 IMPORTANT n°2")

    # Resolve #1 as its author; it leaves the list.
    await press(customs, "✔️ Resolve", alert_copy(customs, 1))
    await liaison.settle()
    await customs.send("Fausse alerte")
    await liaison.settle()
    await health.send("/alerts")
    await liaison.settle()
    assert "n°1" not in health.last.text and "n°2" in health.last.text

    # Someone who joins the post later opens #2 from /alerts and acknowledges it for their service.
    newcomer = await liaison.member("Zara", service="customs", language="en")
    await newcomer.send("/alerts")
    await liaison.settle()
    await press_text(newcomer, listed(liaison, newcomer, 2, "smuggling"))
    await liaison.settle()
    await press(newcomer, "👁 Seen", alert_copy(newcomer, 2))
    await liaison.settle()
    assert newcomer.callback_answers[-1]["text"] == "Seen: recorded for Customs."
    customs_ack = next(
        a for a in await liaison.rows(AlertAck) if a.alert_id == 2 and a.service_code == "customs"
    )
    assert customs_ack.member_id == (await member_row(liaison, newcomer)).id

    # Another post sees none of Konni's alerts.
    other = await liaison.member("Kader", post="NE-MAKALONDI", service="health", language="fr")
    await other.send("/alerts")
    await liaison.settle()
    assert "Aucune alerte" in other.last.text


async def test_escalation_reaches_coordinators_and_a_late_ack_never_escalates(liaison):
    _customs, police, health, _chief = await post_team(liaison)
    coordinator = await liaison.member("Coord", role="coordinator", language="en")
    await police.send("/alert urgent health: unconscious traveller in the waiting room")
    await liaison.settle()
    await liaison.advance(timedelta(minutes=15))
    assert any("Escalation" in t for t in coordinator.texts)
    card = alert_copy(coordinator, 1)
    assert "Reminders sent: 2." in card.text
    steps = [
        e.details["step"] for e in await liaison.rows(AuditEntry, AuditEntry.action == "alert.escalated")
    ]
    assert steps == [1, 2]

    # A second alert: Health acknowledges at 4:59, right before the first step would run.
    await police.send("/alert urgent health: second case at gate 1")
    await liaison.settle()
    await liaison.advance(299)
    await press(health, "👁 Seen", alert_copy(health, 2))
    await liaison.settle()
    await liaison.advance(3600)
    steps = [e.object_id for e in await liaison.rows(AuditEntry, AuditEntry.action == "alert.escalated")]
    assert steps == ["1", "1"]
    ack = next(a for a in await liaison.rows(AlertAck) if a.alert_id == 2 and a.service_code == "health")
    assert ack.seconds_to_ack == 299


async def test_a_draft_survives_a_restart(liaison):
    customs = await liaison.member("Awa", service="customs", language="fr")
    police = await liaison.member("John", service="police", language="en")
    await customs.send("🚨 Alerte")
    await liaison.settle()
    await press_text(customs, category_button(liaison, customs, "wildlife"))
    await liaison.settle()
    await liaison.restart()
    await press_text(customs, severity_button(customs, "important"))
    await liaison.settle()
    await customs.send("Camion de bois de rose sans permis")
    await liaison.settle()
    await press(customs, "✅ Send")
    await liaison.settle()
    assert alert_copy(police, 1).text.startswith("🟠 IMPORTANT ALERT #1 · Wildlife or forest offence")


async def test_cancel_blank_text_and_other_commands_during_a_draft(liaison):
    customs = await liaison.member("Awa", service="customs", language="fr")
    draft = await draft_to_details(liaison, customs, "security", "urgent")
    await customs.send("   ")  # blank: the question is asked again
    await liaison.settle()
    assert customs.last.text.startswith("Que se passe-t-il ?")
    await customs.send("/help")  # another command still works and leaves the draft alone
    await liaison.settle()
    assert "Ce que vous pouvez faire" in customs.last.text
    assert (await draft_of(liaison, customs)).step == "details"
    await customs.send("/cancel")
    await liaison.settle()
    assert customs.last.text == "Alerte annulée. Rien n'a été envoyé."
    assert customs.last.buttons() == ["🚨 Alerte"]
    assert await liaison.rows(Draft) == [] and await liaison.rows(Alert) == []
    await customs.tap_forged(f"al:ok:{draft.id}", customs.last.message_id)
    await liaison.settle()
    assert (
        customs.callback_answers[-1]["text"] == "Ce brouillon est fermé." and await liaison.rows(Alert) == []
    )


async def test_an_urgent_alert_takes_five_actions_and_details_come_in_any_order(liaison):
    customs = await liaison.member("Awa", service="customs", language="fr")
    police = await liaison.member("John", service="police", language="en")
    health = await liaison.member("Mariama", service="health", language="fr")

    # 🚨, category, severity, the text, Send: five actions from an open chat to an urgent alert on its way.
    actions_before = liaison.emulator._next_update_id
    await customs.send("🚨 Alerte")
    await liaison.settle()
    await tap_text(liaison, customs, "Cas sanitaire")
    await tap_text(liaison, customs, "🔴 Urgent")
    await customs.send("Voyageur inconscient à la porte 2")
    await liaison.settle()
    await tap(liaison, customs, "✅ Send")
    assert liaison.emulator._next_update_id - actions_before == 5  # updates the phone sent
    [first] = await liaison.rows(Alert)
    assert first.severity == "urgent" and first.text == "Voyageur inconscient à la porte 2"
    assert alert_copy(health, first.id)

    # The same step takes a location, a photo whose caption is text, and more text, in any order.
    await draft_to_details(liaison, customs, "smuggling", "important")
    await customs.share_location(13.79512, 5.25003)
    await liaison.settle()
    assert customs.last.text == "📍 Position ajoutée. Écrivez maintenant ce qui se passe."
    await customs.send_photo(caption="Cartons de cigarettes sous la bâche")
    await liaison.settle()
    assert customs.last.text.startswith("Vérifiez votre alerte") and "📷 Photo jointe." in customs.last.text
    await customs.send("Camion immatriculé NE 4512")
    await liaison.settle()
    summary = customs.last.text
    assert "Cartons de cigarettes sous la bâche\nCamion immatriculé NE 4512" in summary
    await tap(liaison, customs, "✅ Send")
    second = (await liaison.rows(Alert))[-1]
    assert second.text == "Cartons de cigarettes sous la bâche\nCamion immatriculé NE 4512"
    assert second.photo_file_id and second.latitude == 13.79512
    assert any(m.photo == second.photo_file_id for m in police.inbox)
    # After Send the alert button is back under the text field.
    assert customs.find("Alerte n°2 envoyée").buttons() == ["🚨 Alerte"]


async def test_escalation_survives_a_restart_and_important_alerts_climb_slower(liaison):
    customs, _police, health, chief = await post_team(liaison)
    await customs.send("/alert important health: suspected cholera case in the waiting room")
    await liaison.settle()
    await liaison.restart()
    await liaison.advance(timedelta(minutes=29))
    assert not await liaison.rows(AuditEntry, AuditEntry.action == "alert.escalated")
    await liaison.advance(timedelta(minutes=1))
    escalated = await liaison.rows(AuditEntry, AuditEntry.action == "alert.escalated")
    assert [e.details["step"] for e in escalated] == [1]
    assert "Escalade" in health.last.text and "30 minutes" in health.last.text
    assert any("Escalade" in t for t in chief.texts)
    copy = alert_copy(health, 1)
    assert copy.text.startswith("ALERTE 🟠 IMPORTANT n°1") and not copy.disable_notification


async def test_one_line_alert_after_a_line_break_or_odd_spaces(liaison: Harness) -> None:
    customs = await liaison.member("Awa", service="customs", language="en")
    await customs.send("/alert\nurgent health: fever at gate 2")
    await liaison.settle()
    await customs.send("/alert\u00a0 info  security :  lorry parked at the barrier")
    await liaison.settle()
    # The line break used to swallow "info", and this was raised as an urgent alert: it must be refused.
    await customs.send("/alert\ninfo health urgent: cough")
    await liaison.settle()
    assert [(a.severity, a.category, a.text) for a in await liaison.rows(Alert)] == [
        ("urgent", "health", "fever at gate 2"),
        ("info", "security", "lorry parked at the barrier"),
    ]
    assert "I could not read this alert" in customs.last.text


STICKER = {
    "file_id": "CAACAgIAAx0CStickerFileId",
    "file_unique_id": "AgADSticker",
    "type": "regular",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
}


async def send_sticker(user: EmulatedUser) -> None:
    """A sticker in the private chat (the emulator has no helper for it)."""
    await user._message(user.chat, sticker=STICKER)


async def test_stickers_photos_and_locations_always_get_an_answer(liaison: Harness) -> None:
    customs = await liaison.member("Awa", service="customs", language="en")
    chief = await liaison.member("Chef", service="police", role="chief", language="en")

    # Outside any conversation: a hint, not silence.
    for send in (
        lambda: send_sticker(customs),
        lambda: customs.send_photo(),
        lambda: customs.share_location(13.79, 5.25),
    ):
        before = len(customs.inbox)
        await send()
        await liaison.settle()
        assert len(customs.inbox) == before + 1
        assert "I only understand commands here" in customs.last.text

    # At the details step of an alert: the question again, and the draft stays where it was.
    await draft_to_details(liaison, customs, "other", "info")
    await send_sticker(customs)
    await liaison.settle()
    assert "share your location" in customs.last.text
    data = (await draft_of(liaison, customs)).data
    assert {k: v for k, v in data.items() if k != "prompts"} == {
        "post": "NE-KONNI",
        "category": "other",
        "severity": "info",
    }
    await customs.send("Lorry parked at the barrier")
    await liaison.settle()
    await press(customs, "✅ Send")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)

    # Waiting for a resolution's outcome line: a sticker is not an outcome.
    await press(chief, "✔️ Resolve", alert_copy(chief, alert.id))
    await liaison.settle()
    await send_sticker(chief)
    await liaison.settle()
    assert "Send the outcome as text" in chief.last.text
    [still_open] = await liaison.rows(Alert)
    assert still_open.state == "open"


async def test_coordinator_alert_list_shows_each_alert_in_its_post_time(liaison: Harness) -> None:
    coordinator = await liaison.member("Coord", role="coordinator", language="en")
    konni = await liaison.member("Awa", post="NE-KONNI", service="customs", language="en")
    kantchari = await liaison.member("Issa", post="BF-KANTCHARI", service="customs", language="en")
    # 08:00 UTC: 9:00 AM in Niamey (UTC+1), 8:00 AM in Ouagadougou (UTC+0).
    await konni.send("/alert info other: lorry parked at the barrier")
    await kantchari.send("/alert info other: stray cattle on the road")
    await liaison.settle()
    await coordinator.send("/alerts")
    await liaison.settle()
    lines = {line.split(" · ")[2]: line for line in coordinator.last.text.splitlines()[1:]}
    # Two zones side by side: each time names its zone.
    assert "9:00\u202fAM (UTC+1)" in lines["Birni N'Konni"], lines
    assert "8:00\u202fAM (UTC+0)" in lines["Kantchari"], lines


async def test_a_coordinator_raises_an_alert_for_the_post_they_pick(liaison: Harness) -> None:
    coordinator = await liaison.member("Coord", role="coordinator", language="en")
    health = await liaison.member("Kader", post="NE-MAKALONDI", service="health", language="fr")
    konni = await liaison.member("Awa", post="NE-KONNI", service="health", language="fr")
    await coordinator.send("/help")
    await liaison.settle()
    assert "/alert — Raise an alert" in coordinator.last.text

    # Guided: the post first, then as everyone.
    await coordinator.send("🚨 Alert")
    await liaison.settle()
    assert coordinator.last.text == "🚨 New alert. At which post?"
    await tap_text(liaison, coordinator, "Makalondi")
    await tap_text(liaison, coordinator, "Health case")
    await tap_text(liaison, coordinator, "🔴 Urgent")
    await coordinator.send("Cholera suspected in the bus from Niamey, 12 passengers")
    await liaison.settle()
    assert "Post: Makalondi" in coordinator.last.text
    await tap(liaison, coordinator, "✅ Send")
    [alert] = await liaison.rows(Alert)
    assert alert.post_code == "NE-MAKALONDI" and alert.author_service_code is None
    copy = alert_copy(health, alert.id).text
    assert "Cholera suspected" in copy
    # A coordinator belongs to no service: the card names them, with no empty brackets.
    assert "De : Coord (coordination)\n" in copy and "(—)" not in copy
    assert all("Cholera" not in t for t in konni.texts)

    # One line: only the post is asked, then Send.
    await coordinator.send("/alert important smuggling: convoy of fuel drums heading for the river")
    await liaison.settle()
    await tap_text(liaison, coordinator, "Birni N'Konni")
    assert (
        coordinator.last.text.startswith("Check your alert")
        and "Post: Birni N'Konni" in coordinator.last.text
    )
    await tap(liaison, coordinator, "✅ Send")
    second = (await liaison.rows(Alert))[-1]
    assert second.post_code == "NE-KONNI" and second.category == "smuggling"

    # A forged post button (a post that does not exist) changes nothing.
    await coordinator.send("🚨 Alert")
    await liaison.settle()
    draft = await draft_of(liaison, coordinator)
    await coordinator.tap_forged(f"al:post:{draft.id}:XX-NOWHERE", coordinator.last.message_id)
    await liaison.settle()
    assert coordinator.callback_answers[-1].get("show_alert")
    assert (await draft_of(liaison, coordinator)).step == "post"


async def test_the_one_line_help_speaks_the_reader_words(liaison: Harness) -> None:
    customs = await liaison.member("Awa", service="customs", language="fr")
    police = await liaison.member("John", service="police", language="en")
    await customs.send("/alert n'importe quoi")
    await police.send("/alert whatever")
    await liaison.settle()
    french, english = customs.last.text, police.last.text
    assert "sécurité, santé, migration, contrebande, faune, épidémie, autre" in french
    assert "security, health, migration, smuggling, wildlife, epidemic, other" in english
    # The reader's words work, in either language.
    await customs.send("/alert urgente contrebande: camion-citerne sans plombs")
    await police.send("/alert info wildlife: charcoal sacks on a cart")
    await liaison.settle()
    assert [(a.severity, a.category) for a in await liaison.rows(Alert)] == [
        ("urgent", "smuggling"),
        ("info", "wildlife"),
    ]


async def test_escalations_count_minutes_and_seconds_in_the_reader_language(liaison: Harness, config) -> None:
    ladder = (
        EscalationStep(after_minutes=0.5, notify=("service",)),
        EscalationStep(after_minutes=1, notify=("chief",)),
    )
    alerts = config.alerts.model_copy(update={"escalation": {"urgent": ladder}})
    await liaison.restart(config.model_copy(update={"alerts": alerts}))
    _customs, police, health, chief = await post_team(liaison)
    await police.send("/alert urgent health: unconscious traveller in the waiting room")
    await liaison.settle()
    await liaison.advance(30)
    assert "Toujours sans accusé de réception après 30 secondes : Police sanitaire." in health.last.text
    await liaison.advance(30)
    assert "Toujours sans accusé de réception après 1 minute : Police sanitaire." in chief.last.text


async def test_a_member_who_blocked_the_bot_gets_the_open_urgent_alerts_when_back(liaison: Harness) -> None:
    _customs, police, health, _chief = await post_team(liaison)
    await health.block()
    await liaison.settle()
    await police.send("/alert urgent health: unconscious traveller in the waiting room")
    await police.send("/alert info other: lorry parked at the barrier")
    await liaison.settle()
    assert all("voyageur" not in t.lower() for t in health.texts)
    await health.unblock()
    await liaison.settle()
    urgent = alert_copy(health, 1)
    assert "unconscious traveller" in urgent.text and urgent.button_data()
    assert all("lorry" not in t for t in health.texts)  # info alerts are not replayed
    # The new copy is the one kept up to date: Health acknowledges on it, and it shows.
    await press(health, "👁 Seen", urgent)
    await liaison.settle()
    assert "✅ Police sanitaire · vu" in alert_copy(health, 1).text
    assert await liaison.rows(AuditEntry, AuditEntry.action == "alert.caught_up")


async def test_a_member_who_blocked_the_bot_gets_the_open_important_alerts_when_back(
    liaison: Harness,
) -> None:
    _customs, police, health, _chief = await post_team(liaison)
    await health.block()
    await liaison.settle()
    await police.send("/alert important smuggling: truck with a false bottom at the barrier")
    await police.send("/alert important security: lorry without papers at the barrier")
    await liaison.settle()
    # The second one is resolved while Health is away: only what is still open comes back.
    await press(police, "✔️ Resolve", alert_copy(police, 2))
    await liaison.settle()
    await police.send("Papers found in the cab")
    await liaison.settle()
    assert all("truck" not in t for t in health.texts)

    await health.unblock()
    await liaison.settle()
    important = alert_copy(health, 1)
    assert (
        important.text.startswith("ALERTE 🟠 IMPORTANT n°1") and "truck with a false bottom" in important.text
    )
    assert not important.disable_notification and important.buttons() == ["👁 Vu", "✋ J'interviens"]
    assert all("lorry without papers" not in t for t in health.texts)  # resolved: not replayed
    caught_up = await liaison.rows(AuditEntry, AuditEntry.action == "alert.caught_up")
    assert [e.object_id for e in caught_up] == ["1"]
    # The new copy is the one kept up to date: Health acknowledges on it, and it shows.
    await press(health, "👁 Seen", important)
    await liaison.settle()
    assert "✅ Police sanitaire · vu" in alert_copy(health, 1).text


async def test_a_removed_member_no_longer_follows_the_alerts_of_the_post(liaison: Harness) -> None:
    customs = await liaison.member("Awa", service="customs", language="en")
    police = await liaison.member("John", service="police", language="en")
    chief = await liaison.member("Chef", service="gendarmerie", role="chief", language="en")
    await customs.send("/alert urgent security: armed men seen near the river")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    police_copy = next(m for m in police.inbox if f"ALERT #{alert.id}" in (m.text or ""))
    assert "RESOLVED" not in police_copy.text.upper()

    # The chief removes the police agent through /members.
    [john] = await liaison.rows(Member, Member.display_name == "John")
    await chief.send("/members")
    await liaison.settle()
    await press_text(chief, f"⚙ {john.display_name}")
    await liaison.settle()
    await press(chief, "Remove")
    await liaison.settle()
    await press(chief, "Yes, remove")
    await liaison.settle()

    # The chief resolves the alert with a sensitive outcome: every member's copy shows it, not John's.
    await press(chief, "✔️ Resolve", alert_copy(chief, alert.id))
    await liaison.settle()
    await chief.send("Two suspects arrested by the gendarmerie")
    await liaison.settle()
    customs_copy = next(m for m in customs.inbox if f"ALERT #{alert.id}" in (m.text or ""))
    assert "Two suspects arrested" in customs_copy.text
    police_copy = next(m for m in police.inbox if m.message_id == police_copy.message_id)
    assert "Two suspects arrested" not in police_copy.text
    assert all("Two suspects arrested" not in text for text in police.texts)


async def test_an_old_unanswered_resolve_does_not_take_the_next_message(liaison: Harness) -> None:
    customs = await liaison.member("Awa", service="customs", language="en")
    chief = await liaison.member("Chef", service="gendarmerie", role="chief", language="en")
    await customs.send("/alert important security: lorry without papers at the barrier")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    await press(chief, "✔️ Resolve", alert_copy(chief, alert.id))
    await liaison.settle()
    # Hours later the chief thanks the bot: that is not the outcome of the alert.
    await liaison.advance(timedelta(hours=3))
    await chief.send("thanks")
    await liaison.settle()
    assert "I only understand commands here" in chief.last.text
    [still_open] = await liaison.rows(Alert)
    assert still_open.state == "open" and still_open.outcome is None
    assert await liaison.rows(Draft) == []
    # A fresh press still works as before.
    await press(chief, "✔️ Resolve", alert_copy(chief, alert.id))
    await liaison.settle()
    await chief.send("Papers found in the cab")
    await liaison.settle()
    [resolved] = await liaison.rows(Alert)
    assert resolved.state == "resolved" and resolved.outcome == "Papers found in the cab"


async def test_an_over_long_photo_caption_is_refused_at_the_photo_step(liaison: Harness) -> None:
    customs = await liaison.member("Awa", service="customs", language="en")
    await draft_to_details(liaison, customs, "smuggling", "important")
    await customs.send_photo(caption="x" * 1010)  # Telegram allows 1,024; alerts allow 1,000
    await liaison.settle()
    assert customs.last.text == (
        "This text is too long (1,010 characters). The limit is 1,000 characters: "
        "shorten it and send it again."
    )
    kept = await draft_of(liaison, customs)
    assert kept.step == "details" and "photo_file_id" not in kept.data and "text" not in kept.data
    await customs.send_photo(caption="Cigarette cartons under the tarpaulin")
    await liaison.settle()
    assert (customs.last.text or "").startswith("Check your alert")
    # The photo is there: the hint offers only what is still missing.
    assert (customs.last.text or "").endswith("You can still share your location before sending.")
    await press(customs, "✅ Send")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    assert alert.text == "Cigarette cartons under the tarpaulin" and alert.photo_file_id


async def test_a_partner_post_newcomer_sees_and_opens_an_open_cross_border_alert(liaison: Harness) -> None:
    author = await liaison.member("Fatou", post="NE-MAKALONDI", service="customs", language="en")
    await author.send("/alert urgent migration: group of about 40 people crossing north of the post")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    assert alert.posts == ["NE-MAKALONDI", "BF-KANTCHARI"]
    newcomer = await liaison.member("Issa", post="BF-KANTCHARI", service="police", language="en")
    outsider = await liaison.member("Awa", post="NE-KONNI", service="police", language="en")

    await newcomer.send("/alerts")
    await liaison.settle()
    assert f"#{alert.id}" in (newcomer.last.text or "")
    assert f"al:open:{alert.id}" in str(newcomer.last.reply_markup)
    await press_text(newcomer, listed(liaison, newcomer, alert.id, "migration"))
    await liaison.settle()
    assert not newcomer.callback_answers[-1].get("show_alert")
    card = newcomer.last
    assert f"ALERT #{alert.id} " in (card.text or "") and "group of about 40 people" in (card.text or "")
    await press(newcomer, "👁 Seen", card)
    await liaison.settle()
    assert newcomer.callback_answers[-1]["text"].startswith("Seen: recorded")

    # A post that is not a partner still sees nothing of it.
    await outsider.send("/alerts")
    await liaison.settle()
    assert f"#{alert.id}" not in (outsider.last.text or "")
    await outsider.tap_forged(f"al:open:{alert.id}", outsider.last.message_id)
    await liaison.settle()
    assert outsider.callback_answers[-1].get("show_alert")


async def handled_entries(liaison: Harness, alert_id: int | None) -> list[AuditEntry]:
    return await liaison.rows(
        AuditEntry, AuditEntry.action == "alert.handled", AuditEntry.object_id == str(alert_id)
    )


async def test_an_alert_only_the_authors_service_must_acknowledge_is_handled_as_it_is_raised(
    liaison: Harness,
) -> None:
    """Health raising a health case: handled at once (recorded, no ladder), never "handled" again later."""
    _customs, police, health, _chief = await post_team(liaison)
    coordinator = await liaison.member("Coord", role="coordinator", language="en")
    await health.send("/alert urgent health: fièvre forte à la porte 2")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    assert alert.required == ["NE-KONNI/health"]
    assert alert.handled_at == alert.raised_at
    [handled] = await handled_entries(liaison, alert.id)
    assert handled.details == {"seconds": 0.0}
    jobs = await liaison.rows(ScheduledJob)
    assert not [j for j in jobs if j.key.startswith(f"al:{alert.id}:esc:")]
    assert "Handled" in alert_copy(police, alert.id).text

    # Police, not required, presses 11 seconds later: its line shows, and nothing is "handled" again.
    await liaison.advance(11)
    await press(police, "👁 Seen", alert_copy(police, alert.id))
    await liaison.settle()
    assert len(await handled_entries(liaison, alert.id)) == 1
    [row] = await liaison.rows(Alert)
    assert row.handled_at == alert.raised_at
    await liaison.advance(timedelta(minutes=30))
    assert not any("Escalation" in t for t in coordinator.texts)


async def test_the_authors_confirmation_counts_the_others_and_says_when_nobody_else_is_there(
    liaison: Harness,
) -> None:
    """Alone at the post, the author is told to warn people another way (not "sent to 1 person": that
    person was themself); once a colleague has joined, "sent to 1 person", in each author's language."""
    awa = await liaison.member("Awa", service="customs", language="en")
    await awa.send("/alert urgent security: vehicle forcing the barrier")
    await liaison.settle()
    assert awa.find("Alert #1 recorded, but nobody else at the post has joined Liaison yet")
    assert not any("sent to" in t for t in awa.texts)
    [copy] = await liaison.rows(AlertRecipient)
    [member] = await liaison.rows(Member, Member.telegram_id == awa.id)
    assert copy.member_id == member.id  # her own card all the same

    ali = await liaison.member("Ali", service="police", language="fr")
    await ali.send("/alert urgent security: a second vehicle at the barrier")
    await liaison.settle()
    assert ali.find("✅ Alerte n°2 envoyée à 1 personne.")
    assert len(await liaison.rows(AlertRecipient, AlertRecipient.alert_id == 2)) == 2


async def test_a_service_the_alert_only_informs_is_not_asked_to_press(liaison: Harness) -> None:
    """Security requires Police: the Police agent's copy asks for a press; Health's (in French and English)
    says it is for information; a Health press is still recorded (Health may act) and handles nothing."""
    customs = await liaison.member("Awa", service="customs", language="fr")
    police = await liaison.member("John", service="police", language="en")
    mariama = await liaison.member("Mariama", service="health", language="fr")
    mary = await liaison.member("Mary", service="health", language="en")
    await customs.send("/alert urgent security: vehicle forcing the barrier")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    assert "NE-KONNI/police" in alert.required and "NE-KONNI/health" not in alert.required
    assert "press a button below" in alert_copy(police, alert.id).text
    assert (
        "ℹ️ Pour information : votre service n'est pas tenu d'accuser réception de cette alerte."
        in alert_copy(mariama, alert.id).text.splitlines()
    )
    assert (
        "ℹ️ For information: your service is not asked to acknowledge this alert."
        in alert_copy(mary, alert.id).text.splitlines()
    )
    await press(mary, "👁 Seen", alert_copy(mary, alert.id))
    await liaison.settle()
    assert [(a.service_code, a.kind) for a in await liaison.rows(AlertAck) if a.service_code == "health"] == [
        ("health", "seen")
    ]
    [row] = await liaison.rows(Alert)
    assert row.handled_at is None


async def test_a_required_service_with_nobody_at_the_post_is_left_out(liaison: Harness) -> None:
    """Security requires Police and Gendarmerie: with no gendarme at the post, Police is waited for, the
    full cards say why, and the alert is handled once a chief (or a coordinator) answers for Gendarmerie:
    Police's acknowledgement alone is not every required service's."""
    customs = await liaison.member("Awa", service="customs", language="en")
    police = await liaison.member("John", service="police", language="en")
    chief = await liaison.member("Ibrahim", service="customs", role="chief", language="fr")
    coordinator = await liaison.member("Coord", role="coordinator", language="en")
    await customs.send("/alert urgent security: vehicle forcing the barrier")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    assert alert.required == ["NE-KONNI/police"] and alert.handled_at is None
    [raised] = await liaison.rows(AuditEntry, AuditEntry.action == "alert.raised")
    assert raised.details["unstaffed"] == ["NE-KONNI/gendarmerie"]
    assert "Gendarmerie · no member at this post" in alert_copy(customs, alert.id).text
    assert "Gendarmerie · aucun membre à ce poste" in alert_copy(chief, alert.id).text
    # A service the alert reaches without asking it to acknowledge says so (a bare dash read as blank).
    assert "▫️ Health Police · for information" in alert_copy(customs, alert.id).text.splitlines()
    assert "▫️ Police sanitaire · pour information" in alert_copy(chief, alert.id).text.splitlines()
    assert "no member" not in alert_copy(police, alert.id).text  # an agent's card shows no service lines
    assert "waiting for 1 required service" in alert_copy(customs, alert.id).text

    await liaison.advance(60)
    await press(police, "👁 Seen", alert_copy(police, alert.id))
    await liaison.settle()
    [row] = await liaison.rows(Alert)
    assert row.handled_at is None and not await handled_entries(liaison, alert.id)
    assert alert_copy(customs, alert.id).text.splitlines()[-1] == (
        "⏳ Open: nobody at the post for Gendarmerie: a post chief or a coordinator answers (Seen)."
    )
    # The chief answers for Gendarmerie: handled, and nothing escalates.
    await press(chief, "👁 Vu", alert_copy(chief, alert.id))
    await liaison.settle()
    [row] = await liaison.rows(Alert)
    assert row.handled_at is not None
    [handled] = await handled_entries(liaison, alert.id)
    assert handled.details["stood_in_for"] == ["NE-KONNI/gendarmerie"]
    assert "Handled" in alert_copy(customs, alert.id).text
    await liaison.advance(timedelta(minutes=30))
    assert not any("Escalation" in t for t in coordinator.texts)


async def test_an_alert_no_present_service_is_required_for_waits_for_a_chief_or_a_coordinator(
    liaison: Harness,
) -> None:
    """At Makalondi (no gendarme) with no policeman, security requires nobody who can acknowledge: raised by
    Customs it is not handled at once but waits for a chief or a coordinator; raised by the chief of no
    service, a service the category does not require acknowledging does not handle it either."""
    customs = await liaison.member("Fatou", post="NE-MAKALONDI", service="customs", language="en")
    chief = await liaison.member("Moussa", post="NE-MAKALONDI", service=None, role="chief", language="en")
    health = await liaison.member("Aïcha", post="NE-MAKALONDI", service="health", language="en")
    await customs.send("/alert urgent security: vehicle forcing the barrier")
    await liaison.settle()
    [first] = await liaison.rows(Alert)
    assert first.required == [] and first.handled_at is None
    assert not await handled_entries(liaison, first.id)
    assert "Police · no member at this post" in alert_copy(chief, first.id).text

    await chief.send("/alert urgent security: shots heard north of the post")
    await liaison.settle()
    second = next(a for a in await liaison.rows(Alert) if a.id != first.id)
    assert second.required == [] and second.handled_at is None
    assert "a post chief or a coordinator answers (Seen)" in alert_copy(chief, second.id).text
    # Waiting for someone: the escalation ladder runs.
    assert [j for j in await liaison.rows(ScheduledJob) if j.key.startswith(f"al:{second.id}:esc:")]
    await liaison.advance(30)
    await press(health, "👁 Seen", alert_copy(health, second.id))
    await liaison.settle()
    [row] = [a for a in await liaison.rows(Alert) if a.id == second.id]
    assert row.handled_at is None and not await handled_entries(liaison, second.id)
    assert "Handled" not in alert_copy(chief, second.id).text
    # The chief who raised it answers for Police herself (she reaches them by other means): handled.
    await press(chief, "👁 Seen", alert_copy(chief, second.id))
    await liaison.settle()
    [row] = [a for a in await liaison.rows(Alert) if a.id == second.id]
    assert row.handled_at is not None
    assert chief.callback_answers[-1]["text"] == (
        "Recorded: you answered for the services with no member at the post, so the alert is handled."
    )
    assert alert_copy(chief, second.id).text.splitlines()[-1] == (
        "🟢 Handled: a post chief or a coordinator answered for National Police (nobody at the post)."
    )
