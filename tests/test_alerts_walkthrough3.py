"""Fixes from a third walkthrough of alerts: the reviewed summary reads as sent once sent, the author's
service line says it raised the alert (no Seen was pressed), and the delivery count stays true after an
escalation."""

from __future__ import annotations

from datetime import timedelta

from db.alerts import Alert, AlertAck
from db.audit import AuditEntry
from db.schedules import ScheduledJob
from tests.factories import alert_copy, member_row, post_team, press, press_text, raise_guided
from tests.harness import Harness
from tests.test_alerts import listed


async def test_the_reviewed_summary_reads_as_sent_once_sent_in_both_languages(liaison: Harness) -> None:
    customs, police, _health, _chief = await post_team(liaison)
    alert, _ = await raise_guided(
        liaison, customs, category="health", severity="urgent", text="Voyageur fiévreux"
    )
    [summary] = [m.text or "" for m in customs.inbox if "Catégorie" in (m.text or "")]
    # The message she reviewed no longer asks her to check it, and has no button left to tap.
    assert summary.startswith("Alerte n°1 envoyée\nCatégorie : Cas sanitaire")
    assert "Vérifiez votre alerte" not in summary and "Voyageur fiévreux" in summary
    assert not [m for m in customs.inbox if "Catégorie" in (m.text or "") and m.reply_markup]
    assert alert.id == 1 and alert.text == "Voyageur fiévreux"

    await raise_guided(liaison, police, category="health", severity="info", text="Cough at gate 1")
    [english] = [m.text or "" for m in police.inbox if "Category" in (m.text or "")]
    assert english.startswith("Alert #2 sent\nCategory: Health case") and "Check your alert" not in english
    assert [a.text for a in await liaison.rows(Alert)] == ["Voyageur fiévreux", "Cough at gate 1"]


async def test_the_author_service_line_says_it_raised_the_alert_until_someone_takes_action(
    liaison: Harness,
) -> None:
    customs, police, _health, chief = await post_team(liaison)
    colleague = await liaison.member("Issa", service="customs", language="en")
    await customs.send("/alert urgent santé: voyageur fiévreux porte 2")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    # Stored as before: her service counts as acknowledged, by her, when raised.
    [ack] = await liaison.rows(AlertAck)
    author = await member_row(liaison, customs)
    assert (ack.service_code, ack.member_id, ack.kind, ack.seconds_to_ack) == (
        "customs",
        author.id,
        "seen",
        0,
    )

    await liaison.advance(60)
    await press(police, "👁 Seen", alert_copy(police, alert.id))
    await liaison.settle()
    lines = alert_copy(chief, alert.id).text.splitlines()
    assert "✅ Douane · signalée 09:00 (Awa)" in lines
    assert not any("Douane · vu" in line for line in lines)
    # Her colleague's copy shows their service's line the same way, in English.
    assert "✅ Customs · raised 9:00\u202fAM (Awa)" in alert_copy(colleague, alert.id).text.splitlines()

    # Her colleague's Seen is told the truth: the service knows because she raised it.
    await press(colleague, "👁 Seen", alert_copy(colleague, alert.id))
    await liaison.settle()
    assert colleague.callback_answers[-1]["text"] == (
        "Your service (Customs) already knows: Awa raised this alert at 9:00\u202fAM. "
        "Your own reading is recorded."
    )
    # A colleague really takes action: the line keeps who raised it and adds who acts.
    await liaison.advance(60)
    await press(colleague, "✋ Taking action", alert_copy(colleague, alert.id))
    await liaison.settle()
    assert "✋ Douane · signalée 09:00 (Awa), prise en charge 09:02 (Issa)" in (
        alert_copy(customs, alert.id).text.splitlines()
    )
    assert not any("Douane · vu" in line for line in alert_copy(chief, alert.id).text.splitlines())


async def test_the_author_taking_action_herself_keeps_raised_on_her_line(liaison: Harness) -> None:
    customs, _police, _health, chief = await post_team(liaison)
    await customs.send("/alert urgent santé: voyageur fiévreux porte 2")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    await liaison.advance(60)
    # Her Seen adds nothing and says why (it read "You already acknowledged", though she never pressed).
    await press(customs, "👁 Seen", alert_copy(customs, alert.id))
    await liaison.settle()
    assert customs.callback_answers[-1]["text"] == (
        "Vous avez lancé cette alerte : elle compte comme vue pour votre service (Douane)."
    )
    [ack] = await liaison.rows(AlertAck)
    assert ack.kind == "seen" and ack.seconds_to_ack == 0  # nothing recorded by the press
    await press(customs, "✋ Taking action", alert_copy(customs, alert.id))
    await liaison.settle()
    lines = alert_copy(chief, alert.id).text.splitlines()
    assert "✋ Douane · signalée 09:00, prise en charge 09:01 (Awa)" in lines
    # In /alerts, opening the alert shows the same line.
    await chief.send("/alerts")
    await liaison.settle()
    await press_text(chief, listed(liaison, chief, alert.id, "health"))
    await liaison.settle()
    assert "✋ Douane · signalée 09:00, prise en charge 09:01 (Awa)" in (chief.last.text or "").splitlines()


async def test_the_delivery_count_is_true_after_an_escalation_brings_a_coordinator(liaison: Harness) -> None:
    customs, police, _health, _chief = await post_team(liaison)
    coordinator = await liaison.member("Coord", role="coordinator", language="en")
    await customs.send("/alert urgent santé: voyageur fiévreux porte 2")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    await liaison.advance(60)
    await press(police, "👁 Seen", alert_copy(police, alert.id))
    await liaison.settle()
    assert "📬 Reçue par 3 sur 3 personnes." in alert_copy(customs, alert.id).text.splitlines()

    # Health never acknowledges: at 15 minutes the coordinator gets a copy of their own, which the author's
    # card, redrawn by the escalation, counts while it is on its way.
    await liaison.advance(timedelta(minutes=15))
    assert alert_copy(coordinator, alert.id)
    assert "📬 Reçue par 3 sur 4 personnes." in alert_copy(customs, alert.id).text.splitlines()
    # A minute later the count is redrawn as it stands: the coordinator's copy was delivered.
    await liaison.advance(60)
    assert "📬 Reçue par 4 sur 4 personnes." in alert_copy(customs, alert.id).text.splitlines()
    checks = await liaison.rows(AuditEntry, AuditEntry.action == "alert.delivered")
    after = [e.details for e in checks if e.details.get("escalation") == 2]
    assert len(after) == 1 and after[0]["sent"] == 4 and after[0]["pending"] == 0
    # No further look is scheduled once every copy arrived.
    jobs = await liaison.rows(ScheduledJob, ScheduledJob.kind == "alert_delivery")
    assert sorted(j.key for j in jobs if ":e2:" in j.key) == [f"al:{alert.id}:dlv:e2:1"]


async def test_the_author_sees_the_delivery_count_a_minute_later_though_nobody_pressed(
    liaison: Harness,
) -> None:
    customs, police, health, chief = await post_team(liaison)
    await customs.send("/alert urgent santé: voyageur fiévreux porte 2")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    # Raised: the count is not known yet, so her card does not show one.
    assert not any(line.startswith("📬") for line in alert_copy(customs, alert.id).text.splitlines())
    chief_card = alert_copy(chief, alert.id)
    assert not any(line.startswith("📬") for line in chief_card.text.splitlines())

    # Nobody presses: the delivery check a minute later writes the log and redraws the full cards (hers,
    # the chief's) with the count as it stands; the agents' own copies are left alone.
    police_copy = alert_copy(police, alert.id).text
    await liaison.advance(60)
    assert "📬 Reçue par 3 sur 3 personnes." in alert_copy(customs, alert.id).text.splitlines()
    assert "📬 Reçue par 3 sur 3 personnes." in alert_copy(chief, alert.id).text.splitlines()
    assert alert_copy(police, alert.id).text == police_copy
    [check] = await liaison.rows(AuditEntry, AuditEntry.action == "alert.delivered")
    assert check.details["sent"] == 3 and check.details["pending"] == 0
    assert alert_copy(health, alert.id).edits == []
