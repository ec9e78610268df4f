"""Shift handovers end to end: a day at Birni N'Konni (UTC+1) and Kantchari (UTC+0) over the emulator with a
frozen clock, then every forged or foreign press, duplicates and oversized input."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col
from telegram import Update

from bot.clock import FrozenClock
from bot.config import (
    Config,
    ConfigError,
    HandoverServiceConfig,
    LocalizedText,
    ReminderConfig,
    parse_config,
)
from bot.i18n import translator
from db.audit import AuditEntry
from db.handovers import Handover
from db.members import MemberStatus, set_member_status
from db.outbox import Notification, Priority, enqueue_card_edit, enqueue_card_edits, enqueue_message
from db.schedules import ScheduledJob
from handlers.handovers.shifts import nearest_change
from tests.factories import draft_of, drafts_of, label, language_of, member_row, service_label
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
        reminder = user.find("Relève de 07:00" if language_of(user) == "fr" else "7:00 AM shift change")
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
    # Moussa, Bintou and the chief: the count leaves out Awa, who needs no telling that she has her copy.
    assert "Passation envoyée à 3 personnes" in awa.texts[-2]

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
    # Ali and the chief (John's own copy is not counted).
    assert "Handover sent to 2 people" in john.texts[-2]
    nothing = copy_of(liaison, ali, "police").text or ""
    assert "📋 Passation · Police nationale · RAS" in nothing
    assert "\n\n\n" not in nothing  # no item: no empty section left on the phone

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
        "Relève de 07:00, 24 nov. : 15\xa0min après la relève, aucune passation de : Police nationale."
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
        "Water and Forests: no agent at the post\n"
        "Gendarmerie: ✍️ 6:52\u202fAM Sani → ⏰ not taken over (reported 7:30\u202fAM)"
    ), view
    await chief.tap("📋 7:00\u202fAM · Customs")
    await liaison.settle()
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


# ----- helpers for the tests below --------------------------------------------------------------------------


async def customs_team(liaison: Harness) -> tuple[Any, Any, Any, Any]:
    """Konni: Awa (outgoing, fr), Moussa and Bintou (incoming, fr / en), the chief Ibrahim (en)."""
    awa = await liaison.member("Awa", service="customs", language="fr")
    moussa = await liaison.member("Moussa", service="customs", language="fr")
    bintou = await liaison.member("Bintou", service="customs", language="en")
    chief = await liaison.member("Ibrahim", service="gendarmerie", role="chief", language="en")
    return awa, moussa, bintou, chief


async def write(liaison: Harness, user: Any, *messages: str) -> Handover:
    """/handover, type each message, review, send; the handover sent."""
    await send(liaison, user, "/handover")
    for message in messages:
        await send(liaison, user, message)
    await tap(liaison, user, "👁 Review and send")
    await tap(liaison, user, "✅ Send")
    member = await member_row(liaison, user)
    return await handover(liaison, member.post_code or "", member.service_code or "")


async def process_together(liaison: Harness) -> None:
    """Process every pending update at once, as concurrent handlers (two people tapping together)."""
    assert liaison.app is not None
    updates = await liaison.app.bot.get_updates(offset=liaison._offset, timeout=0)
    if updates:
        liaison._offset = updates[-1].update_id + 1
        await asyncio.gather(*(liaison.app.process_update(u) for u in updates))
    await liaison.settle()


async def redeliver(liaison: Harness, update: dict[str, Any]) -> None:
    """Hand the bot the same update again (Telegram redelivers after a crash)."""
    assert liaison.app is not None
    await liaison.app.process_update(Update.de_json(update, liaison.app.bot))
    await liaison.settle()


# ----- racing, forged and foreign presses -------------------------------------------------------------------


async def test_two_agents_accepting_together_exactly_one_wins(liaison: Harness) -> None:
    awa, moussa, bintou, _chief = await customs_team(liaison)
    sent = await write(liaison, awa, "Clés du magasin chez le chef")
    await move(liaison, at(24, 6, 3))
    await moussa.tap("✅ Accepter", message_id=copy_of(liaison, moussa, "customs").message_id)
    await bintou.tap("✅ Accept", message_id=copy_of(liaison, bintou, "customs").message_id)
    await process_together(liaison)
    row = await handover(liaison, "NE-KONNI", "customs")
    assert row.id == sent.id and row.state == "accepted" and row.taken_at == at(24, 6, 3)
    winner, loser = (
        (moussa, bintou)
        if row.taken_by_member_id == (await member_row(liaison, moussa)).id
        else (bintou, moussa)
    )
    assert winner.callback_answers[-1]["show_alert"] is False
    assert loser.callback_answers[-1]["show_alert"] is True
    name = (await member_row(liaison, winner)).display_name
    assert name in (loser.callback_answers[-1]["text"] or "")
    assert len(await audit(liaison, "handover.accepted")) == 1
    # The loser's second try, and the winner's, say the same and change nothing.
    await winner.tap_forged(f"ho:acc:{row.id}", copy_of(liaison, winner, "customs").message_id)
    await liaison.settle()
    assert winner.callback_answers[-1]["text"] == label(winner, "You already took this handover over.")
    assert len(await audit(liaison, "handover.accepted")) == 1


async def test_forged_foreign_and_stale_presses_change_nothing(liaison: Harness) -> None:
    awa, moussa, _bintou, chief = await customs_team(liaison)
    police = await liaison.member("John", service="police", language="en")
    foreign = await liaison.member("Issa", post="BF-KANTCHARI", service="customs", language="fr")
    foreign_chief = await liaison.member("Kaboré", post="BF-KANTCHARI", service="police", role="chief")
    coordinator = await liaison.member("Marc", role="coordinator", language="en")
    suspended = await liaison.member("Adamou", service="customs", language="fr")
    stranger = liaison.user("Inconnu")
    await stranger.send("bonjour")
    await liaison.settle()
    sent = await write(liaison, awa, "Véhicule AB-123 retenu porte 2")
    hid = sent.id
    async with liaison.db.transaction() as session:
        await set_member_status(
            session, member_id=(await member_row(liaison, suspended)).id, status=MemberStatus.SUSPENDED
        )

    async def press(user: Any, data: str) -> dict[str, Any]:
        await user.tap_forged(
            data, user.last.message_id if user.inbox else user.chat.messages and max(user.chat.messages)
        )
        await liaison.settle()
        return user.callback_answers[-1]

    for data in (
        f"ho:acc:{hid}",
        f"ho:rem:{hid}",
        f"ho:con:{hid}",
        f"ho:cpk:{hid}:1",
        f"ho:open:{hid}",
        f"ho:full:{hid}",
    ):
        # Another service of the post, another post: not theirs to read, let alone take over.
        assert (await press(police, data))["text"] == "This handover is not for you.", data
        assert (await press(foreign, data))["text"] == "Cette passation ne vous concerne pas.", data
    # The post's chief reads it but is not of the incoming shift; the coordinator neither.
    for user in (chief, coordinator):
        answer = await press(user, f"ho:acc:{hid}")
        assert (
            answer["text"] == "Only the incoming shift of Customs takes this handover over."
            and answer["show_alert"]
        )
    # The author does not take over her own handover.
    assert "Vous avez rédigé cette passation" in (await press(awa, f"ho:acc:{hid}"))["text"]
    # Suspended members and strangers are stopped at the gate.
    assert "suspendu" in (await press(suspended, f"ho:acc:{hid}"))["text"]
    await stranger.tap_forged(f"ho:acc:{hid}", stranger.last.message_id)
    await liaison.settle()
    assert "Liaison" in (stranger.callback_answers[-1]["text"] or "")
    # Chiefs' views of another post, or by an agent; malformed and huge ids.
    assert (await press(foreign_chief, "ho:post:NE-KONNI"))[
        "text"
    ] == "Vous n'êtes pas autorisé à faire cela."
    assert (await press(moussa, "ho:post:NE-KONNI"))["text"] == "Vous n'êtes pas autorisé à faire cela."
    assert (await press(moussa, "ho:posts"))["show_alert"]
    assert (await press(chief, "ho:svc:NE-KONNI:nope:0"))["text"] == "This button is no longer valid."
    assert (await press(moussa, f"ho:cpk:{hid}:99"))["text"] == "Ce bouton n'est plus valable."
    for data in ("ho:zzz:1", f"ho:acc:{'9' * 20}", f"ho:ok:{'9' * 20}", "ho:acc", f"ho:open:{2**31}"):
        assert (await press(moussa, data))["show_alert"], data
    # Somebody else's draft, and stale or forged draft buttons.
    await send(liaison, police, "/handover")
    draft = await draft_of(liaison, police, "handover")
    for data in (f"ho:ok:{draft.id}", f"ho:ras:{draft.id}", f"ho:it:{draft.id}:1:abcdef:1"):
        assert (await press(moussa, data))["text"] == "Ce brouillon est fermé.", data
    assert (await press(police, f"ho:ct:{draft.id}:unknown:1"))["text"] == "This button is no longer valid."
    assert (await press(police, f"ho:it:{draft.id}:7:abcdef:1"))["text"] == "Already done."
    assert (await press(police, f"ho:del:{draft.id}:1:abcdef"))["text"] == "Already done."
    assert await liaison.rows(Handover, Handover.service_code == "police") == []
    # Nothing changed: one handover, pending, no copy for anyone outside Customs and the chiefs.
    row = await handover(liaison, "NE-KONNI", "customs")
    assert row.state == "pending" and row.taken_by_member_id is None
    assert (
        await audit(liaison, "handover.accepted") == [] and await audit(liaison, "handover.contested") == []
    )
    assert not has_copy(liaison, police, "customs") and not has_copy(liaison, foreign, "customs")
    assert not any("Véhicule AB-123" in t for t in police.texts + foreign.texts + coordinator.texts)
    # A coordinator opens it from /handovers (every post's), and cannot write one.
    await send(liaison, coordinator, "/handovers")
    await tap_starting(liaison, coordinator, "Birni N'Konni")
    assert "Customs: ✍️" in (coordinator.last.text or "")
    await coordinator.tap_forged(f"ho:open:{hid}", coordinator.last.message_id)
    await liaison.settle()
    assert "Véhicule AB-123" in (coordinator.last.text or "") and coordinator.last.buttons() == []
    assert (
        await send(liaison, coordinator, "/handover") == "Only agents of a service at a post write handovers."
    )
    await coordinator.tap_forged("go:handover", coordinator.last.message_id)
    await liaison.settle()
    assert coordinator.callback_answers[-1]["text"] == "Only agents of a service at a post write handovers."
    # Agents do not have the chiefs' view.
    assert await send(liaison, police, "/handovers") == "You are not allowed to do this."


async def test_contest_an_item_tells_the_author_and_the_chiefs_at_once(liaison: Harness) -> None:
    awa, moussa, bintou, chief = await customs_team(liaison)
    await write(liaison, awa, "Véhicule AB-123 retenu porte 2", "Radio 2 en charge au bureau")
    await move(liaison, at(24, 6, 5))
    await moussa.tap("⚠️ Contester", message_id=copy_of(liaison, moussa, "customs").message_id)
    await liaison.settle()
    assert moussa.last.text.startswith("⚠️ Quel point contestez-vous ?")
    assert moussa.last.buttons() == [
        "1. Véhicule AB-123 retenu porte 2",
        "2. Radio 2 en charge au bureau",
        "La passation dans son ensemble",
        "❌ Annuler",
    ]
    await tap_starting(liaison, moussa, "2. Radio 2")
    assert moussa.last.text.startswith("Point 2. Pourquoi le contestez-vous ?")
    await send(liaison, moussa, "La radio n'est pas au bureau <b>ni</b> au poste")
    assert moussa.last.text.startswith("⚠️ Contestation enregistrée")
    row = await handover(liaison, "NE-KONNI", "customs")
    assert (row.state, row.contested_item, row.contest_reason) == (
        "contested",
        2,
        "La radio n'est pas au bureau <b>ni</b> au poste",
    )
    notice = awa.find("Passation contestée")
    assert notice.text == (
        "⚠️ Passation contestée · Douane · Birni N'Konni\n"
        "Relève de 07:00, 24 nov. : Moussa l'a contestée à 07:05.\n"
        "Point 2 contesté : « Radio 2 en charge au bureau »\n"
        "Motif : La radio n'est pas au bureau <b>ni</b> au poste"
    )
    assert "Handover contested · Customs" in (chief.find("Handover contested").text or "")
    assert not any("Passation contestée" in t for t in moussa.texts)
    assert "⚠️ Taken over by Moussa at 7:05\u202fAM, contested" in (
        copy_of(liaison, bintou, "customs").text or ""
    )
    [contested] = await audit(liaison, "handover.contested")
    assert contested.details["service"] == "customs" and contested.details["item"] == 2
    assert contested.details["late"] is False and contested.post_code == "NE-KONNI"
    # Bintou's Accept now loses: the handover is taken.
    await bintou.tap_forged(f"ho:acc:{row.id}", copy_of(liaison, bintou, "customs").message_id)
    await liaison.settle()
    assert bintou.callback_answers[-1]["text"] == "Already taken over by Moussa at 7:05\u202fAM."


# ----- duplicates -------------------------------------------------------------------------------------------


async def test_double_taps_and_redelivered_updates_make_nothing_twice(liaison: Harness) -> None:
    awa, moussa, bintou, _chief = await customs_team(liaison)
    # A double tap on the reminder's button opens one draft.
    await move(liaison, at(24, 5, 45))
    await awa.tap(label(awa, REMINDER_BUTTON))
    await awa.tap(label(awa, REMINDER_BUTTON))
    await liaison.settle()
    assert sum(t.startswith("📝 Passation · Douane") for t in awa.texts) == 1
    await send(liaison, awa, "/cancel")
    opened = len(awa.texts)
    # A redelivered /handover shows no second draft; typed items delivered twice are taken once.
    update = await awa.send("/handover")
    await liaison.settle()
    await redeliver(liaison, update)
    assert sum(t.startswith("📝 Passation · Douane") for t in awa.texts[opened:]) == 1
    update = await awa.send("Véhicule AB-123 retenu porte 2\nRadio 2 en charge")
    await liaison.settle()
    await redeliver(liaison, update)
    draft = await draft_of(liaison, awa, "handover")
    assert [i["text"] for i in draft.data["items"]] == ["Véhicule AB-123 retenu porte 2", "Radio 2 en charge"]
    # A double tap on 🗑 removes one item, not the next one too.
    await tap(liaison, awa, "✏️ Items ({n})", n=2)
    trash = awa.last.button_data()[1]
    await awa.tap_forged(trash, awa.last.message_id)
    await awa.tap_forged(trash, awa.last.message_id)
    await liaison.settle()
    draft = await draft_of(liaison, awa, "handover")
    assert [i["text"] for i in draft.data["items"]] == ["Radio 2 en charge"]
    assert awa.callback_answers[-1]["text"] == "Déjà fait."
    # A double tap on Send sends once.
    await tap(liaison, awa, "↩️ Back")
    await tap(liaison, awa, "👁 Review and send")
    send_data = awa.last.button_data()[0]
    await awa.tap_forged(send_data, awa.last.message_id)
    await awa.tap_forged(send_data, awa.last.message_id)
    await liaison.settle()
    assert len(await liaison.rows(Handover)) == 1
    assert awa.callback_answers[-1]["text"] == "Déjà envoyée : une passation ne part qu'une fois."
    assert sum(t.startswith("📋 Passation · Douane") for t in moussa.texts) == 1
    # A colleague of the outgoing shift writing too is told it went already; his draft is kept.
    await send(liaison, moussa, "/handover")
    assert moussa.last.text.startswith(
        "La passation du service Douane pour la relève de 07:00 a déjà été envoyée par Awa à 06:45."
    )
    assert moussa.last.buttons() == ["📋 Ouvrir la passation"]
    # The remark's message delivered twice: one acceptance, one answer.
    await bintou.tap("💬 With remarks", message_id=copy_of(liaison, bintou, "customs").message_id)
    await bintou.tap("💬 With remarks", message_id=copy_of(liaison, bintou, "customs").message_id)
    await liaison.settle()
    assert sum("Write your remarks" in t for t in bintou.texts) == 1
    update = await bintou.send("All good, radio found")
    await liaison.settle()
    await redeliver(liaison, update)
    assert len(await audit(liaison, "handover.accepted")) == 1
    assert sum(t.startswith("✅ Taken over, with your remarks") for t in bintou.texts) == 1
    assert "I only understand commands" not in bintou.last.text


async def test_an_author_trying_again_is_told_they_sent_it_not_their_own_name(liaison: Harness) -> None:
    awa, moussa, _bintou, _chief = await customs_team(liaison)
    john = await liaison.member("John", service="police", language="en")
    await liaison.member("Kofi", service="police", language="en")
    await write(liaison, awa, "Véhicule AB-123 retenu porte 2")
    await write(liaison, john, "Radio 2 charging in the office")

    # Trying again: the author hears it was them, in their language; a colleague still hears who.
    await send(liaison, awa, "/handover")
    assert (
        awa.last.text
        == "Vous avez déjà envoyé la passation du service Douane pour la relève de 07:00, à 06:00."
    )
    assert awa.last.buttons() == ["📋 Ouvrir la passation"]
    await send(liaison, john, "/handover")
    assert john.last.text == (
        "You already sent the National Police handover for the 7:00\u202fAM shift change, at 6:00\u202fAM."
    )
    await send(liaison, moussa, "/handover")
    assert (
        moussa.last.text
        == "La passation du service Douane pour la relève de 07:00 a déjà été envoyée par Awa à 06:00."
    )


async def test_two_outgoing_agents_sending_together_make_one_handover(liaison: Harness) -> None:
    awa, moussa, _bintou, _chief = await customs_team(liaison)
    for user in (awa, moussa):
        await send(liaison, user, "/handover")
        await send(liaison, user, f"Point de {user.state.first_name}")
        await tap(liaison, user, "👁 Review and send")
    await awa.tap("✅ Envoyer")
    await moussa.tap("✅ Envoyer")
    await process_together(liaison)
    [row] = await liaison.rows(Handover)
    loser = moussa if row.author_member_id == (await member_row(liaison, awa)).id else awa
    assert loser.callback_answers[-1]["text"] == "La passation de votre service a déjà été envoyée."
    assert loser.find("La vôtre n'est pas partie ; votre brouillon est gardé").buttons() == [
        "📋 Ouvrir la passation"
    ]
    assert (await draft_of(liaison, loser, "handover")).step == "compose"
    # /handover brings the kept draft back, saying the service's handover went already.
    resumed = await send(liaison, loser, "/handover")
    assert resumed.startswith(
        "⚠️ La passation du service Douane pour la relève de 07:00 a déjà été envoyée par "
    )
    assert "▶️ Votre brouillon, tel que vous l'avez laissé." in resumed
    assert len(await audit(liaison, "handover.written")) == 1


# ----- long drafts, restarts and other conversations --------------------------------------------------------


async def test_a_draft_survives_a_restart_and_another_conversation(liaison: Harness) -> None:
    awa, moussa, _bintou, _chief = await customs_team(liaison)
    await send(liaison, moussa, "/handover")
    await send(liaison, moussa, "Brouillon du matin")
    await send(liaison, awa, "/handover")
    await send(liaison, awa, "Véhicule AB-123 retenu porte 2")
    await liaison.restart()
    assert (await send(liaison, awa, "Radio 2 en charge")).startswith("✅ 1 point ajouté.\n2 points")
    # An alert takes the focus: the draft is kept, and said so.
    await send(liaison, awa, "/alert")
    assert "Votre brouillon de passation est gardé : /handover pour le reprendre." in awa.texts[-2]
    await tap(liaison, awa, "❌ Cancel")
    # /handover brings it back, as it was.
    resumed = await send(liaison, awa, "/handover")
    assert resumed.startswith("▶️ Votre brouillon, tel que vous l'avez laissé.\n📝 Passation · Douane")
    assert "2 points" in resumed
    # Blank lines are no items.
    assert (
        await send(liaison, awa, " \n - \n")
        == "Écrivez les points en texte, un par ligne, ou envoyez une photo."
    )
    await send(liaison, awa, "Scellés posés sur le camion 3")
    await tap(liaison, awa, "👁 Review and send")
    await tap(liaison, awa, "✅ Send")
    row = await handover(liaison, "NE-KONNI", "customs")
    assert [i["text"] for i in row.items] == [
        "Véhicule AB-123 retenu porte 2",
        "Radio 2 en charge",
        "Scellés posés sur le camion 3",
    ]
    # A draft left past its shift change (within its 12 hours) comes back for the next one, with that one's
    # carried-over items.
    await move(liaison, at(24, 16, 50))
    resumed = await send(liaison, moussa, "/handover")
    assert "relève de 19:00" in resumed and "1. ⏳ Véhicule AB-123 retenu porte 2" in resumed
    draft = await draft_of(liaison, moussa, "handover")
    assert [i["text"] for i in draft.data["items"]] == [
        "Véhicule AB-123 retenu porte 2",
        "Radio 2 en charge",
        "Scellés posés sur le camion 3",
        "Brouillon du matin",
    ]
    # /cancel drops a draft; nothing is sent.
    assert await send(liaison, moussa, "/cancel") == "Passation annulée. Rien n'a été envoyé."
    assert len(await liaison.rows(Handover)) == 1 and await drafts_of(liaison, moussa) == []


async def test_remarks_photo_and_a_late_handover_escalate_on_its_own_deadline(liaison: Harness) -> None:
    awa, moussa, _bintou, chief = await customs_team(liaison)
    # Written at 07:40, after the shift's escalation time: the incoming shift still gets its 30 minutes.
    await move(liaison, at(24, 6, 40))
    await send(liaison, awa, "/handover")
    assert "relève de 07:00" in (awa.last.text or "")
    await tap(liaison, awa, "💬 Remarks")
    assert (await send(liaison, awa, "Relève retardée : le véhicule de service est en panne.")).startswith(
        "💬 Remarques enregistrées (54 caractères)."
    )
    await awa.send_photo(caption="Photo du camion")
    await liaison.settle()
    await tap(liaison, awa, "👁 Review and send")
    await tap(liaison, awa, "✅ Send")
    row = await handover(liaison, "NE-KONNI", "customs")
    assert row.accept_by == at(24, 7, 10) and row.photo_file_id and row.items[0]["text"] == "Photo du camion"
    assert any(m.photo for m in moussa.inbox)
    # The missing report at 07:15 had nothing to say about Customs (written, late); the shift's escalation at
    # 07:30 leaves it alone; its own deadline, 08:10, escalates it.
    await move(liaison, at(24, 7, 9))
    assert not any("Handover not taken over" in t for t in chief.texts)
    await move(liaison, at(24, 7, 10))
    assert "not taken over 1 hr 10 min after the change" in chief.find(
        "Handover not taken over"
    ).text.replace("\n", " ")
    [escalated] = await audit(liaison, "handover.escalated")
    assert escalated.details["minutes"] == 70
    # Accepted afterwards: late.
    await moussa.tap("✅ Accepter", message_id=copy_of(liaison, moussa, "customs").message_id)
    await liaison.settle()
    [accepted] = await audit(liaison, "handover.accepted")
    assert accepted.details["late"] is True and accepted.details["with_remarks"] is False
    assert "⏰ Elle avait été signalée aux chefs à 08:10." in (copy_of(liaison, awa, "customs").text or "")


# ----- oversized and hostile input --------------------------------------------------------------------------


async def test_fifty_items_and_four_thousand_characters_are_stored_and_shown(liaison: Harness) -> None:
    awa, moussa, bintou, chief = await customs_team(liaison)
    await send(liaison, awa, "/handover")
    items = [
        f"Point {n:02d} : camion {n} en attente de visite, papiers au bureau <b>&</b>" for n in range(1, 51)
    ]
    assert (await send(liaison, awa, "\n".join(items))).startswith("✅ 50 points ajoutés.")
    # The 51st is refused, with the limit.
    assert await send(liaison, awa, "Encore un") == (
        "Trop de points : avec ce message, la passation en compterait 51. La limite est de 50 points par "
        "passation : regroupez-en et renvoyez le message."
    )
    # An over-long item is refused with the limit; so are over-long remarks; 4,000 characters pass.
    refused = await send(liaison, awa, "x" * 501)
    assert "501 caractères" in refused and "500 caractères par point" in refused
    await tap(liaison, awa, "💬 Remarks")
    assert "4\u202f001 caractères" in await send(liaison, awa, "é" * 4001)
    remarks = ("Remarque longue & <i>détaillée</i>. " * 200)[:4000]
    assert (await send(liaison, awa, remarks)).startswith(
        "💬 Remarques enregistrées (4\u202f000 caractères)."
    )
    await tap(liaison, awa, "👁 Review and send")
    assert len(awa.last.text or "") <= 4096 and "Trop long pour un message" in (awa.last.text or "")
    await tap(liaison, awa, "✅ Send")
    row = await handover(liaison, "NE-KONNI", "customs")
    assert len(row.items) == 50 and row.remarks == remarks
    # Each copy holds what fits, with a way to open the rest.
    copy = copy_of(liaison, bintou, "customs")
    assert len(copy.text or "") <= 4096 and "…and" in (copy.text or "")
    assert "Point 01 : camion 1 en attente de visite, papiers au bureau <b>&</b>" in (copy.text or "")
    assert copy.buttons() == ["✅ Accept", "💬 With remarks", "⚠️ Contest", "📄 Read it all"]
    await bintou.tap("📄 Read it all", message_id=copy.message_id)
    await liaison.settle()
    assert bintou.callback_answers[-1]["text"].startswith("The whole handover follows (")
    full = [m.text or "" for m in bintou.inbox if m.message_id > copy.message_id]
    assert len(full) >= 2 and all(len(t) <= 4096 for t in full)
    whole = "\n".join(full)
    assert all(item in whole for item in items)
    # Split at spaces between messages (each after a "(2/4)" header): every character is there, in order.
    body = "".join(line for line in whole.splitlines() if not line.startswith("📄 Full text · Customs"))
    assert "".join(remarks.split()) in "".join(body.split())
    # The contest picker pages through fifty items.
    await move(liaison, at(24, 6, 2))
    await moussa.tap("⚠️ Contester", message_id=copy_of(liaison, moussa, "customs").message_id)
    await liaison.settle()
    assert "▶️" in moussa.last.buttons()
    # Acceptance remarks of 4,000 characters: stored, every copy shows the start.
    await moussa.tap("💬 Avec remarques", message_id=copy_of(liaison, moussa, "customs").message_id)
    await liaison.settle()
    await send(liaison, moussa, "R" * 3999 + "!")
    row = await handover(liaison, "NE-KONNI", "customs")
    assert row.state == "accepted" and len(row.taken_remarks or "") == 4000
    for user in (awa, bintou, chief, moussa):
        text = copy_of(liaison, user, "customs").text or ""
        assert len(text) <= 4096 and "R" * 100 in text
    await chief.tap("📄 Read it all", message_id=copy_of(liaison, chief, "customs").message_id)
    await liaison.settle()
    assert "R" * 999 in "".join(m.text or "" for m in chief.inbox[-6:])


# ----- configuration, readers and the heartbeat rows --------------------------------------------------------


def test_nearest_shift_change_in_each_post_zone(config: Config) -> None:
    konni, kantchari = "NE-KONNI", "BF-KANTCHARI"
    assert nearest_change(config, konni, at(24, 5, 45)) == at(24, 6)  # 06:45 in Niamey
    assert nearest_change(config, konni, at(24, 6, 40)) == at(24, 6)  # 07:40: a late morning handover
    assert nearest_change(config, konni, at(24, 12)) == at(24, 18)  # 13:00: midway, the coming one
    assert nearest_change(config, konni, at(24, 23, 30)) == at(24, 18)  # 00:30 the next day
    assert nearest_change(config, kantchari, at(24, 6, 45)) == at(24, 7)
    shifted = config.model_copy(
        update={"shifts": config.shifts.model_copy(update={"posts": {kantchari: (time(6), time(18))}})}
    )
    assert nearest_change(shifted, kantchari, at(24, 5, 50)) == at(24, 6)
    assert nearest_change(shifted, konni, at(24, 5, 50)) == at(24, 6)  # 06:50 in Niamey: still 07:00


def test_config_refuses_unknown_posts_services_and_twice_the_same_hour() -> None:
    from tests.test_config_and_cli import mutated

    for changes, reason in (
        (
            {"shifts": {"changes": ["07:00"], "posts": {"XX-NOWHERE": ["06:00"]}}},
            "shifts.posts: unknown post",
        ),
        ({"shifts": {"changes": ["07:00", "07:00"]}}, "the same hour twice"),
        ({"handovers": {"services": {"navy": {"checklist": []}}}}, "handovers.services: unknown service"),
        ({"handovers": {"max_remarks_length": 5000}}, "max_remarks_length"),
    ):
        with pytest.raises(ConfigError, match=reason):
            parse_config(mutated(**changes), "config.yaml")


async def test_heartbeat_rows_follow_the_configuration(liaison: Harness, config: Config) -> None:
    rows = await liaison.rows(ScheduledJob, col(ScheduledJob.key).startswith("ho:beat:"))
    assert len(rows) == 3 * 2 * 2  # three posts, two shift changes, two checks
    konni = {r.key: r for r in rows if r.post_code == "NE-KONNI"}
    missing = konni["ho:beat:NE-KONNI:0700:missing"]
    assert (missing.kind, missing.timezone, missing.trigger_args) == (
        "handover_missing",
        "Africa/Niamey",
        {"hour": 7, "minute": 15},
    )
    assert missing.next_run_at == at(24, 6, 15)
    escalate = {r.key: r for r in rows}["ho:beat:BF-KANTCHARI:1900:escalate"]
    assert escalate.trigger_args == {"hour": 19, "minute": 30} and escalate.next_run_at == at(24, 19, 30)
    # Restarting changes nothing; new delays and a post's own hours update the rows in place.
    await liaison.restart()
    again = await liaison.rows(ScheduledJob, col(ScheduledJob.key).startswith("ho:beat:"))
    assert sorted((r.id, r.next_run_at) for r in again) == sorted((r.id, r.next_run_at) for r in rows)
    changed = config.model_copy(
        update={
            "handovers": config.handovers.model_copy(update={"escalate_after_minutes": 45}),
            "shifts": config.shifts.model_copy(update={"posts": {"BF-KANTCHARI": (time(6), time(18))}}),
        }
    )
    await liaison.restart(changed)
    live = {
        r.key: r
        for r in await liaison.rows(ScheduledJob, col(ScheduledJob.key).startswith("ho:beat:"))
        if r.state == "active"
    }
    assert live["ho:beat:NE-KONNI:0700:escalate"].trigger_args == {"hour": 7, "minute": 45}
    assert live["ho:beat:NE-KONNI:0700:escalate"].id == konni["ho:beat:NE-KONNI:0700:escalate"].id
    assert "ho:beat:BF-KANTCHARI:0600:missing" in live and "ho:beat:BF-KANTCHARI:0700:missing" not in live
    assert len(live) == 12


async def test_a_service_read_by_the_whole_post(config: Config, database_url: str) -> None:
    widened = config.model_copy(
        update={
            "handovers": config.handovers.model_copy(
                update={
                    "services": {**config.handovers.services, "health": HandoverServiceConfig(readers="post")}
                }
            )
        }
    )
    harness = Harness(widened, database_url, clock=FrozenClock(at(24, 5)))
    await harness.start()
    try:
        mariama = await harness.member("Mariama", service="health", language="fr")
        police = await harness.member("John", service="police", language="en")
        await write(harness, mariama, "Voyageur fiévreux isolé en salle 2")
        assert "Voyageur fiévreux" in (copy_of(harness, police, "health").text or "")
        # A reader of another service reads it but does not take it over.
        assert copy_of(harness, police, "health").buttons() == []
        await police.tap_forged(
            f"ho:acc:{(await handover(harness, 'NE-KONNI', 'health')).id}", police.last.message_id
        )
        await harness.settle()
        assert (
            police.callback_answers[-1]["text"]
            == "Only the incoming shift of Health Police takes this handover over."
        )
    finally:
        await harness.stop()


async def test_reminders_open_only_openable_commands(liaison: Harness, config: Config) -> None:
    awa = await liaison.member("Awa", service="customs", language="fr")
    odd = ReminderConfig(
        id="odd-button",
        posts=("NE-KONNI",),
        cron="0 7 * * *",
        text=LocalizedText(fr="Rappel sans bouton", en="Reminder without a button"),
        opens="alerts",
    )
    await liaison.restart(config.model_copy(update={"reminders": (*config.reminders, odd)}))
    await move(liaison, at(24, 6))
    assert awa.find("Rappel sans bouton").buttons() == []
    await move(liaison, at(30, 8))
    assert awa.find("Réunion de coordination").buttons() == []


async def test_chief_history_and_log_lines(liaison: Harness) -> None:
    awa, moussa, _bintou, chief = await customs_team(liaison)
    await write(liaison, awa, "Premier point")
    await move(liaison, at(24, 6, 5))
    await moussa.tap("✅ Accepter", message_id=copy_of(liaison, moussa, "customs").message_id)
    await liaison.settle()
    await move(liaison, at(24, 17, 50))
    await send(liaison, moussa, "/handover")
    await tap(liaison, moussa, "✅ Nothing to report")
    await send(liaison, chief, "/handovers")
    assert (
        "7:00\u202fPM shift change" in chief.last.text and "Customs: 🆗 nothing to report" in chief.last.text
    )
    await tap(liaison, chief, "📚 A service's last handovers")
    await tap(liaison, chief, "Customs")
    history = chief.last.text or ""
    assert history.startswith("📚 Customs · Birni N'Konni\n• Nov 24, 7:00\u202fPM — 🆗 nothing to report")
    assert "• Nov 24, 7:00\u202fAM — ✍️ 6:00\u202fAM Awa → ✅ 7:05\u202fAM Moussa" in history
    features = liaison.runtime.features
    [kind] = [k for k in features.log_kinds if k.key == "handovers"]
    tr_en = translator("en")
    entries = [e for e in await liaison.rows(AuditEntry) if e.action.startswith("handover.")]
    lines = [kind.summary(e, tr_en, liaison.runtime) for e in sorted(entries, key=lambda e: e.id or 0)]
    assert lines == [
        "Customs handover for the 7:00\u202fAM shift change: 1 item",
        "Customs handover taken over after 1 hr 5 min",
        "Customs handover for the 7:00\u202fPM shift change: nothing to report",
    ]
    assert kind.label == "Handovers" and features.label("handover") == "Handover"
    chief_row = await member_row(liaison, chief)
    police_row = await member_row(liaison, await liaison.member("John", service="police", language="en"))
    async with liaison.db.reading() as session:
        detail = await kind.detail(session, liaison.runtime, entries[0], tr_en, chief_row)
        refused = await kind.detail(session, liaison.runtime, entries[0], tr_en, police_row)
    assert detail is not None and "Premier point" in detail and "Taken over by Moussa" in detail
    assert refused is None


async def test_a_handover_of_remarks_only_reads_so_in_the_log(liaison: Harness) -> None:
    """'0 items' read as an empty handover: one of remarks only says so, in both languages."""
    [kind] = [k for k in liaison.runtime.features.log_kinds if k.key == "handovers"]
    details = {"service": "customs", "shift_change_at": at(24, 6).isoformat(), "items": 0, "remarks": 42}
    entry = AuditEntry(action="handover.written", post_code="NE-KONNI", details=details)
    assert kind.summary(entry, translator("en"), liaison.runtime) == (
        "Customs handover for the 7:00\u202fAM shift change: no items · with remarks"
    )
    assert kind.summary(entry, translator("fr"), liaison.runtime) == (
        "Passation Douane, relève de 07:00 : aucun point · avec remarques"
    )
    entry.details = dict(details, items=2)
    assert kind.summary(entry, translator("en"), liaison.runtime).endswith(": 2 items · with remarks")


async def test_a_handover_of_remarks_only_opens_as_its_copy_reads(liaison: Harness) -> None:
    """Its copy says "No item."; opened in full ("Read it all", the log) it said nothing: a blank line."""
    awa, moussa, _bintou, chief = await customs_team(liaison)
    remarks = "Relève retardée : le véhicule de service est en panne, le garage rappelle demain. " * 5
    await send(liaison, awa, "/handover")
    await tap(liaison, awa, "💬 Remarks")
    await send(liaison, awa, remarks.strip())
    await tap(liaison, awa, "👁 Review and send")
    await tap(liaison, awa, "✅ Send")
    row = await handover(liaison, "NE-KONNI", "customs")
    assert row.items == [] and not row.nothing_to_report and row.remarks == remarks.strip()
    copy = copy_of(liaison, moussa, "customs")
    assert "Aucun point." in (copy.text or "")
    # Remarks longer than a copy shows: "Read it all" sends the whole, items included.
    await moussa.tap("📄 Tout lire", message_id=copy.message_id)
    await liaison.settle()
    whole = "\n".join(m.text or "" for m in moussa.inbox if m.message_id > copy.message_id)
    assert "Aucun point." in whole and "\n\n\n" not in whole
    assert whole.index("Aucun point.") < whole.index("Remarques") < whole.index("garage rappelle")
    # The log's entry opens the same way, in the reader's language.
    [kind] = [k for k in liaison.runtime.features.log_kinds if k.key == "handovers"]
    [written] = await audit(liaison, "handover.written")
    assert kind.detail is not None
    async with liaison.db.reading() as session:
        detail = await kind.detail(
            session, liaison.runtime, written, translator("en"), await member_row(liaison, chief)
        )
    assert detail is not None and "No item." in detail and "\n\n\n" not in detail


async def test_an_unanswered_question_is_dropped_when_the_handover_is_accepted_by_a_tap(
    liaison: Harness,
) -> None:
    awa, moussa, _bintou, _chief = await customs_team(liaison)
    await write(liaison, awa, "Clés du magasin chez le chef")
    card = copy_of(liaison, moussa, "customs").message_id
    await moussa.tap("💬 Avec remarques", message_id=card)
    await liaison.settle()
    await moussa.tap("✅ Accepter", message_id=card)
    await liaison.settle()
    assert moussa.callback_answers[-1]["text"] == "✅ Passation reprise : c'est vous l'agent montant."
    # The next message is not taken as remarks.
    reply = await send(liaison, moussa, "bonjour")
    assert reply.startswith("Je ne comprends ici que les commandes")
    row = await handover(liaison, "NE-KONNI", "customs")
    assert row.state == "accepted" and row.taken_remarks is None
    [accepted] = await audit(liaison, "handover.accepted")
    assert accepted.details["with_remarks"] is False


async def test_card_edits_in_one_batch_coalesce_like_single_ones(liaison: Harness) -> None:
    now = liaison.clock.now()
    async with liaison.db.transaction() as session:
        for key, kind in (("c:text", "text"), ("c:photo", "photo"), ("c:gone", "text")):
            await enqueue_message(
                session,
                chat_id=1,
                text="card",
                photo="file" if kind == "photo" else None,
                card_key=key,
                now=now,
            )
        await session.exec(
            update(Notification).where(col(Notification.card_key) == "c:gone").values(state="unreachable")
        )
        await enqueue_card_edit(
            session, card_key="c:text", text="first edit", priority=Priority.HIGH, now=now
        )
    async with liaison.db.transaction() as session:
        queued = await enqueue_card_edits(
            session,
            [
                ("c:text", "newest", None),
                ("c:photo", "caption", None),
                ("c:gone", "x", None),
                ("c:none", "x", None),
            ],
            priority=Priority.BULK,
            now=now,
        )
    assert queued == 2
    edits = await liaison.rows(Notification, col(Notification.method).startswith("edit"))
    assert sorted(
        (e.card_key, e.method, e.payload.get("text") or e.payload.get("caption"), e.priority) for e in edits
    ) == [
        ("c:photo", "editMessageCaption", "caption", Priority.BULK),
        ("c:text", "editMessageText", "newest", Priority.HIGH),  # replaced in place, the more urgent kept
    ]


async def test_a_chief_of_no_service_gets_the_shift_reminder_without_the_handover_button(
    liaison: Harness,
) -> None:
    awa = await liaison.member("Awa", service="customs", language="fr")
    deputy = await liaison.member("Hamani", service=None, role="chief", language="fr")
    await move(liaison, at(24, 5, 45))
    assert awa.find("Relève de 07:00").button_data() == ["go:handover"]
    # Reminded of the shift change, without a button that would refuse him; his menu has no /handover.
    assert deputy.find("Relève de 07:00").buttons() == []
    await send(liaison, deputy, "/help")
    assert "/handovers —" in deputy.last.text and "/handover —" not in deputy.last.text
    await send(liaison, deputy, "/handover")
    assert deputy.last.text == "Seuls les agents d'un service au poste rédigent les passations."


async def test_the_shift_reminder_skips_a_service_whose_handover_is_already_sent(liaison: Harness) -> None:
    awa = await liaison.member("Awa", service="customs", language="fr")
    moussa = await liaison.member("Moussa", service="customs", language="fr")
    ali = await liaison.member("Ali", service="police", language="fr")
    chief = await liaison.member("Ibrahim", service="gendarmerie", role="chief", language="en")
    # 06:30 in Niamey: Customs sends its handover for the 07:00 change before the reminder.
    await move(liaison, at(24, 5, 30))
    await send(liaison, awa, "/handover")
    await tap(liaison, awa, "✅ Nothing to report")
    await move(liaison, at(24, 5, 45))
    # Customs is done with this change: neither its author nor its other agent is reminded of it.
    assert not any("Relève de 07:00 : rédigez" in t for t in awa.texts + moussa.texts)
    assert ali.find("Relève de 07:00 : rédigez").button_data() == ["go:handover"]
    assert chief.find("7:00 AM shift change").buttons() == [label(chief, REMINDER_BUTTON)]
    # The evening change is another one: Customs is reminded of it.
    await move(liaison, at(24, 17, 45))
    assert awa.find("Relève de 19:00 : rédigez").button_data() == ["go:handover"]


async def test_a_handover_nobody_else_can_take_over_tells_its_author(liaison: Harness) -> None:
    # The only Police member at the post is its chief: nobody of an incoming shift exists.
    chief = await liaison.member("Ibrahim", service="police", role="chief", language="fr")
    await move(liaison, at(24, 5, 50))
    await send(liaison, chief, "/handover")
    await tap(liaison, chief, "✅ Nothing to report")
    told = chief.texts[-2]
    assert "Personne d'autre de votre service (Police nationale) n'est au poste pour la reprendre" in told, (
        chief.texts
    )
    assert "envoyée à 1 personne" not in told
    # Still recorded, and the author still has his copy.
    police = await handover(liaison, "NE-KONNI", "police")
    assert police.nothing_to_report and police.author_member_id == (await member_row(liaison, chief)).id
    assert has_copy(liaison, chief, "police")
    # In English too.
    john = await liaison.member("John", post="BF-KANTCHARI", service="police", language="en")
    await move(liaison, at(24, 6, 50))
    await send(liaison, john, "/handover")
    await tap(liaison, john, "✅ Nothing to report")
    assert "Nobody else of National Police is at the post to take it over" in john.texts[-2], john.texts
    # With an incoming agent, the usual count.
    ali = await liaison.member("Ali", service="customs", language="fr")
    await liaison.member("Moussa", service="customs", language="fr")
    await move(liaison, at(24, 17, 50))
    await send(liaison, ali, "/handover")
    await tap(liaison, ali, "✅ Nothing to report")
    # Moussa and the chief: Ali, the author, is not counted among those it was sent to.
    assert "Passation envoyée à 2 personnes" in ali.texts[-2]


async def test_a_service_that_joined_after_a_shift_change_is_not_missing_for_it(liaison: Harness) -> None:
    chief = await liaison.member("Ibrahim", service="police", role="chief", language="fr")
    await liaison.member("Ali", service="gendarmerie", language="fr")
    # 07:15: Gendarmerie, at the post since 06:00, wrote nothing: missing. Nobody else was there.
    await move(liaison, at(24, 6, 15))
    assert chief.find("Passation manquante").text == (
        "⚠️ Passation manquante · Birni N'Konni\n"
        "Relève de 07:00, 24 nov. : 15\xa0min après la relève, aucune passation de : Gendarmerie."
    )
    # 18:08: Customs and Health agents join, after the morning change.
    await move(liaison, at(24, 17, 8))
    await liaison.member("Awa", service="customs", language="fr")
    await liaison.member("Mariama", service="health", language="fr")
    await move(liaison, at(24, 18, 20))
    view = await send(liaison, chief, "/handovers")
    morning, evening = view.split("\n\n")[1:]
    # The morning change: they were not there, so not missing (as the 07:15 check found).
    assert "Douane : aucun agent au poste" in morning, view
    assert "Police sanitaire : aucun agent au poste" in morning, view
    assert "Gendarmerie : ❌ manquante" in morning
    # The evening change: they were, and wrote nothing.
    assert "Douane : ❌ manquante" in evening and "Police sanitaire : ❌ manquante" in evening, view
    missing = [e.details["service"] for e in await audit(liaison, "handover.missing")]
    assert missing == ["gendarmerie", "customs", "health", "gendarmerie"]


async def test_a_handover_nobody_can_take_over_is_recorded_never_escalated(liaison: Harness) -> None:
    # Awa is the only Customs agent at the post; the chief is of another service.
    awa = await liaison.member("Awa", service="customs", language="fr")
    chief = await liaison.member("Ibrahim", service="gendarmerie", role="chief", language="fr")
    await move(liaison, at(24, 5, 50))
    await write(liaison, awa, "Véhicule AB-123 retenu porte 2")
    assert "Personne d'autre de votre service (Douane) n'est au poste pour la reprendre" in awa.texts[-2], (
        awa.texts
    )
    recorded = "📁 Enregistrée : personne d'autre du service Douane au poste pour la reprendre."
    for user in (awa, chief):
        copy = copy_of(liaison, user, "customs").text or ""
        assert recorded in copy and "En attente" not in copy, copy
    assert (await handover(liaison, "NE-KONNI", "customs")).state == "recorded"
    # 07:30, the shift's escalation time: nothing for the chief, nothing on the copies.
    await move(liaison, at(24, 6, 30))
    assert not any("Passation non reprise" in t for t in chief.texts), chief.texts
    assert "Non reprise" not in (copy_of(liaison, chief, "customs").text or "")
    view = await send(liaison, chief, "/handovers")
    assert "Douane : ✍️ 06:50 Awa → 📁 enregistrée, personne d'autre du service pour la reprendre" in view, (
        view
    )
    assert "en attente" not in view
    # A colleague who joins afterwards finds it recorded, not waiting for him: it stays as it was.
    moussa = await liaison.member("Moussa", service="customs", language="fr")
    await move(liaison, at(24, 7, 0))
    assert not has_copy(liaison, moussa, "customs")
    morning = await handover(liaison, "NE-KONNI", "customs")
    await moussa.send("/handover")
    await liaison.settle()
    await moussa.tap_forged(f"ho:acc:{morning.id}", moussa.last.message_id)
    await liaison.settle()
    assert moussa.callback_answers[-1]["text"].startswith(
        "Personne d'autre du service Douane n'était au poste quand cette passation a été envoyée"
    )
    assert (await handover(liaison, "NE-KONNI", "customs")).state == "recorded"
    await chief.tap("📋 07:00 · Douane")
    await liaison.settle()
    assert recorded in (chief.last.text or "") and chief.last.buttons() == []
    # Written late for the evening change (after its escalation time): no escalation of its own either.
    await move(liaison, at(24, 18, 40))
    moussa_row = await member_row(liaison, moussa)
    async with liaison.db.transaction() as session:
        # Moussa leaves: Awa is alone again.
        await set_member_status(session, member_id=moussa_row.id or 0, status=MemberStatus.SUSPENDED)
    evening = await write(liaison, awa, "Radio 2 en panne")
    assert evening.state == "recorded"
    assert not await liaison.rows(ScheduledJob, col(ScheduledJob.key) == f"ho:{evening.id}:esc")
    await move(liaison, at(24, 23, 59))
    assert not any("Passation non reprise" in t for t in chief.texts), chief.texts
    assert not await audit(liaison, "handover.escalated")


async def test_delays_of_an_hour_or_more_read_in_hours_and_minutes(liaison: Harness) -> None:
    awa = await liaison.member("Awa", service="customs", language="fr")
    await liaison.member("Moussa", service="customs", language="fr")
    chief = await liaison.member("Ibrahim", service="gendarmerie", role="chief", language="fr")
    # Written at 08:29, long after the 07:00 change: its own deadline is 08:59, 1 h 59 min after the change.
    await move(liaison, at(24, 7, 29))
    await write(liaison, awa, "Véhicule AB-123 retenu porte 2")
    await move(liaison, at(24, 7, 59))
    notice = chief.find("Passation non reprise").text or ""
    assert "toujours pas reprise 1\u202fh 59\xa0min après la relève." in notice, notice
    assert "119 min" not in notice
    [kind] = [k for k in liaison.runtime.features.log_kinds if k.key == "handovers"]
    [escalated] = await audit(liaison, "handover.escalated")
    assert kind.summary(escalated, translator("fr"), liaison.runtime) == (
        "Passation Douane non reprise 1\u202fh 59\xa0min après la relève : chefs prévenus"
    )
