"""Shift handovers end to end: a day at Birni N'Konni (UTC+1) and Kantchari (UTC+0) over the emulator with a
frozen clock, then every forged or foreign press, duplicates and oversized input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import col

from bot.clock import FrozenClock
from bot.config import Config
from db.audit import AuditEntry
from db.handovers import Handover
from tests.factories import label, language_of, service_label
from tests.harness import Harness


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A UTC moment in November 2026 (Niamey is UTC+1, Ouagadougou UTC+0)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
async def liaison(config: Config, database_url: str) -> AsyncIterator[Harness]:
    """Liaison on Tuesday 24 November 2026 at 05:00 UTC: 06:00 in Niamey, 05:00 in Ouagadougou."""
    harness = Harness(config, database_url, clock=FrozenClock(at(24, 5)))
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def move(liaison: Harness, moment: datetime) -> None:
    """Set the clock and let the bot catch up (schedules, deliveries)."""
    liaison.clock.set(moment)
    await liaison.settle()


async def tap(liaison: Harness, user: Any, english: str, **values: Any) -> None:
    """Press the newest button labelled `english` in the user's language."""
    await user.tap(label(user, english).format(**values))
    await liaison.settle()


async def send(liaison: Harness, user: Any, text: str) -> str:
    """Type a message, let the bot answer; the newest text."""
    await user.send(text)
    await liaison.settle()
    return user.last.text or ""


async def tap_starting(liaison: Harness, user: Any, prefix: str) -> None:
    """Press the newest button whose label starts with `prefix` (an item, cut to fit the button)."""
    for message in reversed(user.inbox):
        found = [b for b in message.buttons() if b.startswith(prefix)]
        if found:
            await user.tap(found[0], message_id=message.message_id)
            await liaison.settle()
            return
    raise AssertionError(f"no button starting with {prefix!r} for {user!r}")


async def audit(liaison: Harness, action: str) -> list[AuditEntry]:
    """Audit entries of one action, oldest first."""
    rows = await liaison.rows(AuditEntry, col(AuditEntry.action) == action)
    return sorted(rows, key=lambda e: e.id or 0)


def copy_of(liaison: Harness, user: Any, service: str) -> Any:
    """The user's newest copy of a handover of `service` (the card carrying its status)."""
    title = label(user, "📋 <b>Handover · {service}</b>").format(
        service=service_label(liaison, user, service)
    )
    title = title.replace("<b>", "").replace("</b>", "")
    for message in reversed(user.inbox):
        if (message.text or "").startswith(title):
            return message
    raise AssertionError(f"no copy of the {service} handover for {user!r}: {user.texts}")


def has_copy(liaison: Harness, user: Any, service: str) -> bool:
    """Whether the user received a copy of a handover of `service`."""
    try:
        copy_of(liaison, user, service)
    except AssertionError:
        return False
    return True


async def handover(liaison: Harness, post: str, service: str) -> Handover:
    """The one handover of a service at a post (the newest)."""
    rows = await liaison.rows(Handover, Handover.post_code == post, Handover.service_code == service)
    assert rows, f"no {service} handover at {post}"
    return sorted(rows, key=lambda h: h.id or 0)[-1]


REMINDER_BUTTON = "Write your shift handover"


async def test_a_day_at_birni_nkonni_and_kantchari(liaison: Harness) -> None:
    # Birni N'Konni (Niamey, UTC+1): two incoming Customs agents, Police, Health, Gendarmerie and an
    # English chief.
    awa = await liaison.member("Awa", service="customs", language="fr")
    moussa = await liaison.member("Moussa", service="customs", language="fr")
    bintou = await liaison.member("Bintou", service="customs", language="en")
    john = await liaison.member("John", service="police", language="en")
    ali = await liaison.member("Ali", service="police", language="fr")
    mariama = await liaison.member("Mariama", service="health", language="fr")
    sani = await liaison.member("Sani", service="gendarmerie", language="fr")
    yacouba = await liaison.member("Yacouba", service="gendarmerie", language="fr")
    chief = await liaison.member("Ibrahim", service="gendarmerie", role="chief", language="en")
    # Kantchari (Ouagadougou, UTC+0): one hour behind.
    issa = await liaison.member("Issa", post="BF-KANTCHARI", service="customs", language="fr")
    paul = await liaison.member("Paul", post="BF-KANTCHARI", service="customs", language="en")
    await liaison.member("Fatou", post="BF-KANTCHARI", service="police", language="fr")
    kabore = await liaison.member(
        "Kaboré", post="BF-KANTCHARI", service="police", role="chief", language="fr"
    )

    # 06:10 in Niamey: an alert for Customs that nobody has acknowledged yet.
    await liaison.advance(10 * 60)
    await send(liaison, john, "/alert important smuggling: suspicious truck in the car park")

    # 06:45 in Niamey: the reminder with its button, in each reader's language (Kantchari's: an hour later).
    await move(liaison, at(24, 5, 45))
    for user in (awa, moussa, bintou, john, ali, mariama, sani, yacouba, chief):
        reminder = user.find("Relève de 07:00" if language_of(user) == "fr" else "07:00 shift change")
        assert reminder.buttons() == [label(user, REMINDER_BUTTON)], user
    assert awa.find("Relève de 07:00").button_data() == ["go:handover"]
    assert not any("Relève de 07:00" in t for t in issa.texts)

    # Customs: Awa opens her handover from the reminder; the open alert is listed with its status.
    await tap(liaison, awa, REMINDER_BUTTON)
    card = awa.last.text or ""
    assert "📝 Passation · Douane" in card and "relève de 07:00, 24 nov." in card
    assert "🟠 Alerte n°1 · Contrebande ou fraude douanière · en attente : Douane" in card
    # Two items in one message, one of them already settled; two things of the checklist ticked.
    answer = await send(
        liaison, awa, "Véhicule AB-123 retenu porte 2, papiers en attente\n- Camion-citerne libéré ce matin"
    )
    assert answer.startswith("✅ 2 points ajoutés.")
    await tap(liaison, awa, "✏️ Items ({n})", n=2)
    await tap_starting(liaison, awa, "2. ⏳ Camion-citerne")
    assert "2. ✔️ Camion-citerne libéré ce matin" in (awa.last.text or "")
    await tap(liaison, awa, "↩️ Back")
    await tap(liaison, awa, "☑️ Checklist {done}/{total}", done=0, total=6)
    await awa.tap("⬜ Clés du bureau et du magasin")
    await liaison.settle()
    await awa.tap("⬜ Radio chargée")
    await liaison.settle()
    await tap(liaison, awa, "↩️ Back")
    await tap(liaison, awa, "👁 Review and send")
    review = awa.last.text or ""
    assert "Vérifiez votre passation" in review and "1. ⏳ Véhicule AB-123" in review
    assert (
        "Réglé\n2. ✔️ Camion-citerne" in review and "☑️ Clés du bureau et du magasin · Radio chargée" in review
    )
    assert awa.last.buttons() == ["✅ Envoyer", "✏️ Modifier", "❌ Annuler"]
    await tap(liaison, awa, "✅ Send")
    assert "Passation envoyée à 4 personnes" in awa.texts[-2]

    # The incoming Customs agents and the chief receive it, each in their language; Police does not.
    customs = await handover(liaison, "NE-KONNI", "customs")
    assert customs.shift_change_at == at(24, 6) and customs.written_at == at(24, 5, 45)
    assert [i["text"] for i in customs.items] == [
        "Véhicule AB-123 retenu porte 2, papiers en attente",
        "Camion-citerne libéré ce matin",
    ]
    assert [a["id"] for a in customs.alerts] == [1] and customs.alerts[0]["pending"] == ["NE-KONNI/customs"]
    for user in (moussa, bintou):
        assert copy_of(liaison, user, "customs").buttons() == [
            label(user, "✅ Accept"),
            label(user, "💬 With remarks"),
            label(user, "⚠️ Contest"),
        ]
    english = copy_of(liaison, bintou, "customs").text or ""
    assert "Birni N'Konni · 7:00\u202fAM shift change, Nov 24" in english
    assert "✍️ Awa · sent at 6:45\u202fAM" in english and "To follow up\n1. ⏳ Véhicule AB-123" in english
    assert "🟠 Alert #1 · Smuggling or customs fraud · waiting for Customs" in english
    assert copy_of(liaison, chief, "customs").buttons() == []
    assert not has_copy(liaison, john, "customs") and not has_copy(liaison, mariama, "customs")
    assert not has_copy(liaison, issa, "customs")

    # Police: "nothing to report" in two taps from the reminder.
    await move(liaison, at(24, 5, 47))
    await tap(liaison, john, REMINDER_BUTTON)
    await tap(liaison, john, "✅ Nothing to report")
    police = await handover(liaison, "NE-KONNI", "police")
    assert police.nothing_to_report and police.items == []
    assert "Handover sent to 3 people" in john.texts[-2]
    assert "📋 Passation · Police nationale · RAS" in (copy_of(liaison, ali, "police").text or "")

    # Gendarmerie writes one item; nobody will take it over.
    await move(liaison, at(24, 5, 52))
    await send(liaison, sani, "/handover")
    await send(liaison, sani, "Patrouille de nuit sur la piste nord : rien d'anormal")
    await tap(liaison, sani, "👁 Review and send")
    await tap(liaison, sani, "✅ Send")

    # 07:04: Moussa accepts with a remark; Bintou's Accept, pressed right after, loses and is told who won.
    await move(liaison, at(24, 6, 4))
    await moussa.tap(
        label(moussa, "💬 With remarks"), message_id=copy_of(liaison, moussa, "customs").message_id
    )
    await liaison.settle()
    assert "Écrivez vos remarques" in (moussa.last.text or "")
    await moussa.send("Radio 2 absente du bureau à mon arrivée")
    await bintou.tap("✅ Accept", message_id=copy_of(liaison, bintou, "customs").message_id)
    await liaison.settle()
    assert moussa.last.text == "✅ Reprise, avec vos remarques : toutes les copies l'indiquent."
    assert bintou.callback_answers[-1]["text"] == "Already taken over by Moussa at 7:04\u202fAM."
    customs = await handover(liaison, "NE-KONNI", "customs")
    assert customs.state == "accepted" and customs.taken_remarks == "Radio 2 absente du bureau à mon arrivée"
    # Every copy now says who took it over, and when; the buttons are gone.
    for user in (awa, moussa, bintou, chief):
        copy = copy_of(liaison, user, "customs")
        assert label(user, "✅ <b>Taken over by {name} at {time}</b>").replace("<b>", "").replace(
            "</b>", ""
        ).format(name="Moussa", time="07:04" if user in (awa, moussa) else "7:04\u202fAM") in (
            copy.text or ""
        )
        assert copy.buttons() == []
    assert "💬 Remarques : Radio 2 absente du bureau" in (copy_of(liaison, awa, "customs").text or "")

    await move(liaison, at(24, 6, 10))
    await ali.tap("✅ Accepter", message_id=copy_of(liaison, ali, "police").message_id)
    await liaison.settle()

    # 07:15: Health wrote nothing: the chief is told (Water and Forests has no agent: not reported).
    await move(liaison, at(24, 6, 14))
    assert not any("Missing handover" in t for t in chief.texts)
    await move(liaison, at(24, 6, 15))
    missing = chief.find("Missing handover")
    assert missing.text == (
        "⚠️ Missing handover · Birni N'Konni\n"
        "7:00\u202fAM shift change, Nov 24: 15 min after the change, no handover from: Health Police."
    )
    assert not any("manquante" in t for t in kabore.texts)

    # 07:30: Gendarmerie's handover was never taken over: escalated to the chief, once.
    await move(liaison, at(24, 6, 30))
    escalation = chief.find("Handover not taken over")
    assert "Gendarmerie · Birni N'Konni" in (escalation.text or "")
    assert "sent at 6:52\u202fAM by Sani, still not taken over 30 min after the change" in (
        escalation.text or ""
    )
    assert escalation.buttons() == ["📋 Open the handover"]
    assert "⏰ Non reprise : signalée aux chefs à 07:30." in (
        copy_of(liaison, yacouba, "gendarmerie").text or ""
    )
    assert sum("Handover not taken over" in t for t in chief.texts) == 1

    # Kantchari, an hour later by the clock: its own reminders, its own heartbeat, its own chief.
    await move(liaison, at(24, 6, 45))
    await tap(liaison, issa, REMINDER_BUTTON)
    await tap(liaison, issa, "✅ Nothing to report")
    await move(liaison, at(24, 7, 2))
    await paul.tap("✅ Accept", message_id=copy_of(liaison, paul, "customs").message_id)
    await liaison.settle()
    await move(liaison, at(24, 7, 15))
    assert kabore.find("Passation manquante").text == (
        "⚠️ Passation manquante · Kantchari\n"
        "Relève de 07:00, 24 nov. : 15 min après la relève, aucune passation de : Police nationale."
    )
    assert sum("Missing handover" in t for t in chief.texts) == 1

    # The chief's /handovers at Birni N'Konni shows all of it.
    view = await send(liaison, chief, "/handovers")
    assert view == (
        "📋 Handovers · Birni N'Konni\n\n"
        "7:00\u202fAM shift change, Nov 24\n"
        "Customs: ✍️ 6:45\u202fAM Awa → ✅ 7:04\u202fAM Moussa 💬\n"
        "National Police: 🆗 nothing to report, 6:47\u202fAM John → ✅ 7:10\u202fAM Ali\n"
        "Health Police: ❌ missing\n"
        "Water and Forests: — no agent\n"
        "Gendarmerie: ✍️ 6:52\u202fAM Sani → ⏰ not taken over (reported 7:30\u202fAM)"
    ), view
    await tap(liaison, chief, "📋 {time} · {service}", time="7:00\u202fAM", service="Customs")
    opened = chief.last.text or ""
    assert "✅ Taken over by Moussa at 7:04\u202fAM" in opened and "💬 Remarks: Radio 2 absente" in opened

    # The audit log holds what the coordinators' figures need.
    written_customs, written_police, *_ = await audit(liaison, "handover.written")
    assert written_customs.post_code == "NE-KONNI" and written_customs.object_type == "handover"
    assert {
        k: written_customs.details[k]
        for k in ("service", "shift_change_at", "seconds_from_shift_change", "items", "nothing_to_report")
    } == {
        "service": "customs",
        "shift_change_at": "2026-11-24T06:00:00+00:00",
        "seconds_from_shift_change": -900.0,
        "items": 2,
        "nothing_to_report": False,
    }
    assert written_police.details["nothing_to_report"] is True and written_police.details["items"] == 0
    accepted = await audit(liaison, "handover.accepted")
    assert [
        (e.details["service"], e.details["with_remarks"], e.details["late"], e.post_code) for e in accepted
    ] == [
        ("customs", True, False, "NE-KONNI"),
        ("police", False, False, "NE-KONNI"),
        ("customs", False, False, "BF-KANTCHARI"),
    ]
    assert accepted[0].details["seconds_to_accept"] == 19 * 60
    assert [(e.post_code, e.details) for e in await audit(liaison, "handover.missing")] == [
        (
            "NE-KONNI",
            {"service": "health", "shift_change_at": "2026-11-24T06:00:00+00:00", "late_run": False},
        ),
        (
            "BF-KANTCHARI",
            {"service": "police", "shift_change_at": "2026-11-24T07:00:00+00:00", "late_run": False},
        ),
    ]
    [escalated] = await audit(liaison, "handover.escalated")
    assert (escalated.post_code, escalated.details["service"], escalated.details["minutes"]) == (
        "NE-KONNI",
        "gendarmerie",
        30,
    )

    # 18:45 in Niamey: the evening handover pre-fills Customs' open item (the settled one is not carried).
    await move(liaison, at(24, 17, 45))
    await tap(liaison, moussa, REMINDER_BUTTON)
    evening = moussa.last.text or ""
    assert "relève de 19:00, 24 nov." in evening
    carried = "1. ⏳ Véhicule AB-123 retenu porte 2, papiers en attente (depuis le 24 nov.)"
    assert f"Repris de la dernière passation\n{carried}" in evening
    assert "Camion-citerne" not in evening
    await send(liaison, moussa, "Radio 2 retrouvée au poste de garde")
    await tap(liaison, moussa, "👁 Review and send")
    await tap(liaison, moussa, "✅ Send")
    night = await handover(liaison, "NE-KONNI", "customs")
    assert night.shift_change_at == at(24, 18)
    assert [(i["text"][:12], i["carried"], i["done"]) for i in night.items] == [
        ("Véhicule AB-", True, False),
        ("Radio 2 retr", False, False),
    ]
    assert night.items[0]["since"] == "2026-11-24T06:00:00+00:00"
