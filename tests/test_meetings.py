"""Meeting minutes end to end (emulator, frozen clock): written by a chief, read by every member in their
language, action items reminded, done or overdue, corrections, joint meetings, hostile or repeated input."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlmodel import col
from telegram import Update

from db.audit import AuditEntry
from db.drafts import Draft
from db.meetings import ActionItem, ActionNote, Meeting, MeetingAddendum
from db.outbox import Notification
from db.schedules import JobState, ScheduledJob
from sandbox.emulator import EmulatedUser
from tests.factories import (
    drafts_of,
    label,
    member_row,
    minutes_to_notes,
    publish_minutes,
)
from tests.harness import Harness

TELEGRAM_LIMIT = 4096


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A UTC moment in 2026 (the frozen clock starts on Monday 23 November, 08:00 UTC: 09:00 in Niamey)."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


async def say(liaison: Harness, user: EmulatedUser, text: str) -> str:
    """Send a message and return the bot's newest answer."""
    await user.send(text)
    await liaison.settle()
    return user.last.text or ""


async def press(liaison: Harness, user: EmulatedUser, text: str) -> str:
    """Tap the button whose label starts with `text` (as the user reads it), return the newest message."""
    candidates = [b for m in reversed(user.inbox) for b in m.buttons() if b.startswith(text)]
    assert candidates, f"no button starting with {text!r}: {[m.buttons() for m in user.inbox[-3:]]}"
    await user.tap(candidates[0])
    await liaison.settle()
    return user.last.text or ""


def minutes_copies(user: EmulatedUser) -> list[Any]:
    """The user's copies of minutes (first parts)."""
    return [
        m for m in user.inbox if (m.text or "").startswith("📋 ") and " · " in (m.text or "").split("\n")[0]
    ]


def cards(user: EmulatedUser, header: str) -> list[Any]:
    """The user's messages starting with a header (an item card, a reminder...)."""
    return [m for m in user.inbox if (m.text or "").startswith(header)]


async def audit(liaison: Harness, action: str) -> list[AuditEntry]:
    return await liaison.rows(AuditEntry, AuditEntry.action == action)


async def konni(liaison: Harness) -> dict[str, EmulatedUser]:
    """Birni N'Konni: the chief (Customs), agents of Customs, Police (English), Health and Water and Forests,
    and a Kantchari agent who must never read Konni's minutes."""
    return {
        "chief": await liaison.member("Ibrahim", service="customs", role="chief", language="fr"),
        "awa": await liaison.member("Awa", service="customs", language="fr"),
        "john": await liaison.member("John", service="police", language="en"),
        "mariama": await liaison.member("Mariama", service="health", language="fr"),
        "moussa": await liaison.member("Moussa", service="forests", language="fr"),
        "fatou": await liaison.member("Fatou", post="BF-KANTCHARI", service="customs", language="fr"),
    }


# ----- the weekly meeting at Birni N'Konni ------------------------------------------------------------------


async def test_weekly_meeting_at_konni_full_story(liaison: Harness) -> None:
    people = await konni(liaison)
    chief, awa, john, mariama, moussa, fatou = (
        people[k] for k in ("chief", "awa", "john", "mariama", "moussa", "fatou")
    )

    # The title is offered from the post's weekly coordination reminder; the date defaults to now.
    opening = await say(liaison, chief, "/meeting")
    assert "Nouveau compte rendu" in opening and "/annuler" in opening
    assert chief.last.buttons() == ["Réunion de coordination hebdomadaire"]
    when = await press(liaison, chief, "Réunion de coordination hebdomadaire")
    assert "Quand s'est-elle tenue" in when and chief.last.buttons() == ["🕘 Maintenant · 23 nov., 09:00"]
    attendance = await press(liaison, chief, "🕘 Maintenant")
    assert "Cochez les services présents" in attendance
    for service in ("Douane", "Police nationale", "Police sanitaire"):
        await press(liaison, chief, f"▫️ {service}")
    assert "✅ Police sanitaire" in chief.last.buttons() and "▫️ Eaux et Forêts" in chief.last.buttons()
    notes = await press(liaison, chief, "➡️ Continuer")
    assert "20\u202f000" in notes

    # Notes in two messages, two decisions, three action items: a typed French line (a service), one with
    # buttons for a service, one with buttons for a person.
    await say(
        liaison, chief, "Point sur les saisies de la semaine.\n\nLa Police signale plus de passages de nuit."
    )
    assert "Notes : 117 caractères sur 20\u202f000" in await say(
        liaison, chief, "Le stock de tests rapides est bas."
    )
    await press(liaison, chief, "➡️ Suite : décisions")
    decided = await say(
        liaison,
        chief,
        "1. Renforcer les patrouilles conjointes de nuit\n"
        "2. Partager chaque lundi la liste des véhicules signalés",
    )
    assert "2 décisions" in decided and "1. Renforcer les patrouilles conjointes de nuit" in decided
    await press(liaison, chief, "➡️ Suite : actions")
    read = await say(liaison, chief, "Action : Douane — transmettre la liste des véhicules saisis — vendredi")
    assert "J'ai lu 1 action" in read
    assert "1. Douane — transmettre la liste des véhicules saisis — ven. 27 nov." in read
    await press(liaison, chief, "✅ Ajouter cette action")
    await press(liaison, chief, "➕ Ajouter avec des boutons")
    assert "Police nationale" in chief.last.buttons() and "👤 Une personne" in chief.last.buttons()
    assert "Que doit faire Police nationale ?" in await press(liaison, chief, "Police nationale")
    assert "Pour quand" in await say(liaison, chief, "Briefer l'équipe de nuit")
    added = await press(liaison, chief, "Demain · mar. 24 nov.")
    assert "📌 Ajoutée." in added and "2. Police nationale — Briefer l'équipe de nuit — mar. 24 nov." in added
    await press(liaison, chief, "➕ Ajouter avec des boutons")
    await press(liaison, chief, "👤 Une personne")
    await press(liaison, chief, "Mariama · Police sanitaire")
    await say(liaison, chief, "Vérifier le stock de tests rapides")
    added = await say(liaison, chief, "30/11")
    assert "3. Mariama — Vérifier le stock de tests rapides — lun. 30 nov." in added
    await press(liaison, chief, "➡️ Suite : prochaine réunion")
    summary = await press(liaison, chief, "📅 lun. 30 nov. 2026, 09:00")
    assert "Vérifiez le compte rendu" in summary
    assert "Présents : Douane, Police nationale, Police sanitaire" in summary
    assert "Absents : Eaux et Forêts, Gendarmerie" in summary
    assert "3 actions" in summary and "2 décisions" in summary
    assert "Prochaine réunion : lun. 30 nov. 2026, 09:00" in summary
    # Everyone at Konni: the chief and four agents (not Fatou, at Kantchari).
    assert "envoie le compte rendu à 5 personnes" in summary
    assert chief.last.buttons() == ["📤 Publier", "✏️ Modifier", "🗑 Supprimer le brouillon"]
    await press(liaison, chief, "📤 Publier")
    confirmation = chief.find("Compte rendu publié et envoyé à 5 personnes").text
    assert "3 actions envoyées à leurs responsables : suivez-les avec /actions" in confirmation

    # What the database holds.
    [meeting] = await liaison.rows(Meeting)
    assert meeting.post_code == "NE-KONNI" and meeting.partner_post_code is None
    assert meeting.title == "Réunion de coordination hebdomadaire" and meeting.held_at == at(23, 8)
    assert meeting.present == ["NE-KONNI/customs", "NE-KONNI/police", "NE-KONNI/health"]
    assert meeting.absent == ["NE-KONNI/forests", "NE-KONNI/gendarmerie"]
    assert meeting.notes.count("\n\n") == 2 and meeting.next_meeting_at == at(30, 8)
    assert meeting.decisions == [
        "Renforcer les patrouilles conjointes de nuit",
        "Partager chaque lundi la liste des véhicules signalés",
    ]
    items = sorted(await liaison.rows(ActionItem), key=lambda i: i.position)
    mariama_row = await member_row(liaison, mariama)
    assert [(i.owner_service_code, i.owner_member_id, i.due_on) for i in items] == [
        ("customs", None, date(2026, 11, 27)),
        ("police", None, date(2026, 11, 24)),
        (None, mariama_row.id, date(2026, 11, 30)),
    ]
    customs_item, police_item, health_item = items

    # Every member of the post reads the minutes in their language; the free text as written.
    english = minutes_copies(john)[0].text
    assert english.startswith("📋 Minutes · Birni N'Konni\nRéunion de coordination hebdomadaire")
    assert "🕘 Mon, Nov 23, 2026, 9:00\u202fAM" in english
    assert "Present: Customs, National Police, Health Police" in english
    assert "Absent: Water and Forests, Gendarmerie" in english
    assert "Point sur les saisies de la semaine." in english and "✅ Decisions" in english
    assert "2. National Police — Briefer l'équipe de nuit — Tue, Nov 24" in english
    assert "Next meeting: Mon, Nov 30, 2026, 9:00\u202fAM" in english
    for reader in (awa, mariama, moussa):
        [copy] = minutes_copies(reader)
        assert "Compte rendu · Birni N'Konni" in copy.text and "Présents : Douane" in copy.text
        assert copy.buttons() == []  # agents' copies are plain
    assert minutes_copies(fatou) == [] and not any("Réunion de coordination" in t for t in fatou.texts)
    # The author's copy is a status card with a correction button.
    [card] = minutes_copies(chief)
    assert "📊 Actions faites : 0 sur 3" in card.text and card.buttons() == ["📎 Ajouter un rectificatif"]
    assert "⏳ 1. Douane" in card.text
    rows = await liaison.rows(Notification, Notification.ref_type == "meeting")
    assert len(rows) == 5 and {r.priority for r in rows} == {2}  # normal priority, one message each

    # Each owner gets their items with Done and Progress note.
    [awa_item] = cards(awa, "📌 Action à mener · Douane")
    assert awa_item.buttons() == ["✅ Fait", "📝 Avancement"]
    assert "📅 Échéance : ven. 27 nov." in awa_item.text
    assert cards(john, "📌 Action item · National Police")
    assert cards(mariama, "📌 Action à mener · Mariama")
    assert cards(chief, "📌 Action à mener · Douane")  # the chief is of Customs too
    assert not cards(moussa, "📌")

    # The audit contract.
    [published] = await audit(liaison, "meeting.published")
    assert published.post_code == "NE-KONNI" and published.object_type == "meeting"
    assert published.details["attendees"] == ["customs", "police", "health"]
    assert published.details["absent"] == ["forests", "gendarmerie"]
    assert (published.details["decisions"], published.details["actions"], published.details["joint"]) == (
        2,
        3,
        False,
    )
    created = sorted(await audit(liaison, "action.created"), key=lambda e: int(e.object_id or 0))
    assert [e.details.get("owner_service") for e in created] == ["customs", "police", None]
    assert (
        created[2].details["owner_member_id"] == mariama_row.id and created[2].details["service"] == "health"
    )
    assert [e.details["due"] for e in created] == ["2026-11-27", "2026-11-24", "2026-11-30"]
    assert {e.object_type for e in created} == {"action_item"} and {e.post_code for e in created} == {
        "NE-KONNI"
    }

    # Follow-ups at 09:00 in Niamey (08:00 UTC), and the next meeting as a reminder two hours before.
    jobs = {j.key: j for j in await liaison.rows(ScheduledJob, col(ScheduledJob.key).startswith("mt:act:"))}
    assert jobs[f"mt:act:{customs_item.id}:before"].next_run_at == at(26, 8)
    assert jobs[f"mt:act:{customs_item.id}:due"].next_run_at == at(27, 8)
    assert jobs[f"mt:act:{customs_item.id}:late"].next_run_at == at(28, 8)
    assert f"mt:act:{police_item.id}:before" not in jobs  # Monday 09:00 was already now
    assert jobs[f"mt:act:{police_item.id}:due"].next_run_at == at(24, 8)
    [nxt] = await liaison.rows(ScheduledJob, ScheduledJob.key == f"meeting:{meeting.id}:next")
    assert nxt.kind == "reminder" and nxt.next_run_at == at(30, 6) and nxt.post_code == "NE-KONNI"
    assert nxt.payload["audience"] == {} and nxt.payload["repeat"]["every"] == "once"
    assert "lun. 30 nov. 2026, 09:00" in nxt.payload["text"]["fr"]
    # It is one of the post's reminders: listed (and may be paused) in /reminders.
    assert "Prochaine réunion : Réunion de coordination hebdomadaire" in await say(
        liaison, chief, "/reminders"
    )

    # Tuesday 09:00: the Police item is due today; John hears it, nobody else.
    awa_before = len(awa.inbox)
    liaison.clock.set(at(24, 8))
    await liaison.settle()
    [due_today] = cards(john, "⏰ Due today · National Police")
    assert "Briefer l'équipe de nuit" in due_today.text and due_today.buttons() == [
        "✅ Done",
        "📝 Progress note",
    ]
    assert len(awa.inbox) == awa_before

    # Wednesday 09:00: nobody closed it; it is overdue, for John and for the chief.
    liaison.clock.set(at(25, 8))
    await liaison.settle()
    assert cards(john, "⚠️ Overdue action item · National Police")
    [to_chief] = cards(chief, "⚠️ Action en retard · Police nationale · Birni N'Konni")
    assert "⏰ 1 jour de retard" in to_chief.text and to_chief.buttons() == ["✅ Fait", "📝 Avancement"]
    [overdue] = await audit(liaison, "action.overdue")
    assert overdue.details["days"] == 1 and overdue.details["owner_service"] == "police"
    assert overdue.post_code == "NE-KONNI"
    assert "⏰ en retard : 2" in minutes_copies(chief)[0].text  # the card's status line was edited
    assert not cards(mariama, "⚠️")

    # Thursday and Friday 09:00: Customs is reminded the day before and on the day.
    liaison.clock.set(at(26, 8))
    await liaison.settle()
    assert cards(awa, "⏰ Échéance demain · Douane")
    liaison.clock.set(at(27, 8))
    await liaison.settle()
    [today_card] = cards(awa, "⏰ Échéance aujourd'hui · Douane")

    # Friday 10:30 in Niamey: Awa closes it, on time.
    liaison.clock.set(at(27, 9, 30))
    await liaison.settle()
    await awa.tap(label(awa, "✅ Done"), message_id=today_card.message_id)
    await liaison.settle()
    assert "Fait. L'auteur du compte rendu" in awa.callback_answers[-1]["text"]
    [done] = await audit(liaison, "action.done")
    assert done.details["on_time"] is True and done.details["days_late"] == 0
    assert done.details["owner_service"] == "customs" and done.post_code == "NE-KONNI"
    for copy in cards(awa, "📌 Action à mener · Douane") + cards(awa, "⏰ Échéance"):
        assert "✅ Fait · Awa, 27 nov., 10:30" in copy.text and copy.buttons() == []
    card = minutes_copies(chief)[0].text
    assert (
        "📊 Actions faites : 1 sur 3" in card and "✅ 1. Douane" in card and "⏰ 2. Police nationale" in card
    )
    late_job = await liaison.rows(ScheduledJob, ScheduledJob.key == f"mt:act:{customs_item.id}:late")
    assert late_job[0].state == JobState.CANCELLED

    # A second press (a phone that still showed the button) changes nothing and says who closed it.
    await awa.tap_forged(f"mt:done:{customs_item.id}", cards(awa, "⏰ Échéance demain")[0].message_id)
    await liaison.settle()
    assert awa.callback_answers[-1]["text"] == "Déjà faite : Awa, 27 nov., 10:30."
    assert len(await audit(liaison, "action.done")) == 1

    # Saturday: no overdue report for the item done in time.
    awa_before = len(awa.inbox)
    liaison.clock.set(at(28, 8))
    await liaison.settle()
    assert len(awa.inbox) == awa_before and len(await audit(liaison, "action.overdue")) == 1

    # /actions: an agent sees his service's items (overdue first), another only her own; the chief all.
    listing = await say(liaison, john, "/actions")
    assert "Your open action items" in listing and "⏰ 1 overdue" in listing
    assert "⏰ 1. National Police — Briefer l'équipe de nuit — Tue, Nov 24, 4 days late" in listing
    assert "Vérifier le stock" not in listing and "véhicules" not in listing
    mine = await say(liaison, mariama, "/actions")
    assert "• 1. Vous — Vérifier le stock de tests rapides — lun. 30 nov." in mine and "Briefer" not in mine
    assert "Ni vous ni votre service" in await say(liaison, awa, "/actions")
    post_list = await say(liaison, chief, "/actions")
    assert "Actions en cours</b>" not in post_list and "Actions en cours · Birni N'Konni" in post_list
    assert "2 en cours · ⏰ 1 en retard" in post_list
    assert post_list.index("Police nationale") < post_list.index("Mariama")  # overdue first
    assert chief.last.buttons() == ["⏰ 1", "2"]

    # The chief opens the overdue item from the list and closes it: late.
    opened = await press(liaison, chief, "⏰ 1")
    assert opened.startswith("📌 Action à mener · Police nationale") and "4 jours de retard" in opened
    await chief.tap(label(chief, "✅ Done"), message_id=chief.last.message_id)
    await liaison.settle()
    assert "✅ Fait · Ibrahim" in (chief.last.text or "") and chief.last.buttons() == []
    late = [e for e in await audit(liaison, "action.done") if e.object_id == str(police_item.id)]
    assert late[0].details["on_time"] is False and late[0].details["days_late"] == 4
    assert cards(john, "⚠️ Overdue action item")[0].buttons() == []
    assert "📊 Actions faites : 2 sur 3" in minutes_copies(chief)[0].text
    assert "Vérifier le stock" in await say(liaison, chief, "/actions")
    assert health_item.id is not None

    # Monday 07:00 in Niamey: the next meeting's reminder reaches the post.
    liaison.clock.set(at(30, 6))
    await liaison.settle()
    assert any(
        "Prochaine réunion : Réunion de coordination hebdomadaire, lun. 30 nov. 2026, 09:00" in t
        for t in moussa.texts
    )
    assert any(
        "Next meeting: Réunion de coordination hebdomadaire, Mon, Nov 30, 2026, 9:00\u202fAM" in t
        for t in john.texts
    )
    assert not any("Prochaine réunion" in t for t in fatou.texts)


# ----- joint cross-border meeting ---------------------------------------------------------------------------


async def test_joint_meeting_with_kantchari_reaches_both_posts_each_in_its_time(liaison: Harness) -> None:
    chief = await liaison.member("Hadiza", post="NE-MAKALONDI", service="police", role="chief", language="fr")
    issa = await liaison.member("Issa", post="NE-MAKALONDI", service="customs", language="en")
    salif = await liaison.member(
        "Salif", post="BF-KANTCHARI", service="gendarmerie", role="chief", language="fr"
    )
    awa = await liaison.member("Awa", post="BF-KANTCHARI", service="customs", language="fr")
    konni = await liaison.member("Moussa", post="NE-KONNI", service="customs", language="fr")

    question = await say(liaison, chief, "/meeting")
    assert "réunion transfrontalière conjointe avec Kantchari" in question
    assert chief.last.buttons() == ["Makalondi seulement", "🤝 Conjointe, avec Kantchari"]
    await press(liaison, chief, "🤝 Conjointe, avec Kantchari")
    await say(liaison, chief, "Réunion transfrontalière mensuelle")
    # Typed in Makalondi's time: 08:30 in Niamey is 07:30 in Ouagadougou (UTC).
    attendance = await say(liaison, chief, "aujourd'hui 8h30")
    assert "Cochez les services présents" in attendance
    assert chief.last.buttons()[:2] == ["▫️ Douane · Makalondi", "▫️ Police nationale · Makalondi"]
    assert "▫️ Gendarmerie · Kantchari" in chief.last.buttons()
    for button in ("▫️ Douane · Makalondi", "▫️ Police nationale · Makalondi", "▫️ Douane · Kantchari"):
        await press(liaison, chief, button)
    await press(liaison, chief, "➡️ Continuer")
    await say(liaison, chief, "Coordination des contrôles au pont frontalier.")
    await press(liaison, chief, "➡️ Suite : décisions")
    await press(liaison, chief, "⏭ Pas de décision")
    read = await say(
        liaison,
        chief,
        "Action : Douane (Kantchari) — partager la liste des véhicules — demain\n"
        "Action : Police nationale — renforcer le contrôle du pont — vendredi",
    )
    assert "1. Douane · Kantchari — partager la liste des véhicules — mar. 24 nov." in read
    assert "2. Police nationale · Makalondi — renforcer le contrôle du pont — ven. 27 nov." in read
    await press(liaison, chief, "✅ Ajouter ces 2 actions")
    await press(liaison, chief, "➡️ Suite : prochaine réunion")
    summary = await press(liaison, chief, "⏭ Pas de date")
    assert "Réunion conjointe Makalondi – Kantchari" in summary and "à 4 personnes" in summary
    await press(liaison, chief, "📤 Publier")

    [meeting] = await liaison.rows(Meeting)
    assert meeting.partner_post_code == "BF-KANTCHARI" and meeting.held_at == at(23, 7, 30)
    assert "BF-KANTCHARI/customs" in meeting.present and "BF-KANTCHARI/gendarmerie" in meeting.absent

    # Each side reads its own time first, and the other side's.
    [in_kantchari] = minutes_copies(awa)
    assert "Réunion conjointe Makalondi – Kantchari" in in_kantchari.text
    assert "🕘 lun. 23 nov. 2026, 07:30 · 08:30 à Makalondi" in in_kantchari.text
    assert "Présents\nKantchari : Douane\nMakalondi : Douane, Police nationale" in in_kantchari.text
    [in_makalondi] = minutes_copies(issa)
    assert "🕘 Mon, Nov 23, 2026, 8:30\u202fAM · 7:30\u202fAM in Kantchari" in in_makalondi.text
    assert "Present\nMakalondi: Customs, National Police\nKantchari: Customs" in in_makalondi.text
    assert minutes_copies(konni) == []
    # Both chiefs hold a status card; only the host post's may correct.
    assert minutes_copies(salif)[0].buttons() == [] and "📊" in minutes_copies(salif)[0].text
    assert minutes_copies(chief)[0].buttons() == ["📎 Ajouter un rectificatif"]

    # The Kantchari item reaches Kantchari's Customs, reminded at 09:00 Ouagadougou (09:00 UTC).
    items = sorted(await liaison.rows(ActionItem), key=lambda i: i.position)
    assert [(i.post_code, i.owner_service_code) for i in items] == [
        ("BF-KANTCHARI", "customs"),
        ("NE-MAKALONDI", "police"),
    ]
    assert cards(awa, "📌 Action à mener · Douane · Kantchari")
    assert not cards(issa, "📌") and cards(chief, "📌 Action à mener · Police nationale · Makalondi")
    due = await liaison.rows(ScheduledJob, ScheduledJob.key == f"mt:act:{items[0].id}:due")
    assert due[0].next_run_at == at(24, 9)
    due = await liaison.rows(ScheduledJob, ScheduledJob.key == f"mt:act:{items[1].id}:due")
    assert due[0].next_run_at == at(27, 8)

    published = {e.post_code: e.details for e in await audit(liaison, "meeting.published")}
    assert published["NE-MAKALONDI"]["attendees"] == ["customs", "police"]
    assert published["BF-KANTCHARI"]["attendees"] == ["customs"]
    assert published["BF-KANTCHARI"]["absent"] == ["police", "health", "gendarmerie"]
    assert all(d["joint"] and d["host_post"] == "NE-MAKALONDI" for d in published.values())

    # Tuesday 09:00 in Niamey is 08:00 in Kantchari: nothing yet; at 09:00 UTC, Awa hears it.
    liaison.clock.set(at(24, 8))
    await liaison.settle()
    assert not cards(awa, "⏰")
    liaison.clock.set(at(24, 9))
    await liaison.settle()
    assert cards(awa, "⏰ Échéance aujourd'hui · Douane · Kantchari")
    # Overdue on Wednesday: reported to Kantchari's chief, not Makalondi's.
    liaison.clock.set(at(25, 9))
    await liaison.settle()
    assert cards(salif, "⚠️ Action en retard · Douane · Kantchari · Kantchari")
    assert not cards(chief, "⚠️")
    kantchari = await say(liaison, salif, "/actions")
    assert "Actions en cours · Kantchari" in kantchari and "partager la liste" in kantchari
    assert "renforcer le contrôle" not in kantchari
    # A Konni member sees nothing of it, even by forging the button.
    await konni.tap_forged(f"mt:open:{items[0].id}", konni.last.message_id)
    await liaison.settle()
    assert konni.callback_answers[-1]["text"] == "Cette action ne relève pas de vous."


# ----- reading what people type -----------------------------------------------------------------------------


async def test_unreadable_action_lines_come_back_with_the_reason_and_an_example(liaison: Harness) -> None:
    people = await konni(liaison)
    chief = people["chief"]
    await minutes_to_notes(liaison, chief, present=("customs",))
    await press(liaison, chief, "⏭ Pas de notes")
    await press(liaison, chief, "⏭ Pas de décision")
    lines = [
        "Action : Douane — transmettre la liste des véhicules saisis — 12/12",
        "Action : Police — faire un point — demain",
        "Action : Gendarmerie — patrouille — 31/11",
        "Action : Douane — rapport — hier",
        "Action : Douane : rapport",
        "n'importe quoi",
        "Action : Douane — — vendredi",
        "Action : Douane — <b>tâche</b> & co — bientôt",
        "Action : Awa — contrôle — vendredi 28/11",
        "Action : Fatou — contrôle — demain",
    ]
    reply = await say(liaison, chief, "\n".join(lines))
    assert "J'ai lu 1 action :\n1. Douane — transmettre la liste des véhicules saisis — sam. 12 déc." in reply
    assert "Je n'ai pas pu lire 9 lignes" in reply
    expected = [
        "« Action : Police — faire un point — demain » : « Police » peut désigner Police nationale ou "
        "Police sanitaire : écrivez le nom complet",
        "« Action : Gendarmerie — patrouille — 31/11 » : « 31/11 » n'est pas une date qui existe.",
        "« Action : Douane — rapport — hier » : « hier » est déjà passé.",
        "« Action : Douane : rapport » : séparez le responsable, la tâche et l'échéance par — ou :",
        "« n'importe quoi » : séparez le responsable",
        "« Action : Douane — — vendredi » : la tâche manque",
        "« Action : Douane — <b>tâche</b> & co — bientôt » : Je n'ai pas pu lire « bientôt » comme une date.",
        "« Action : Awa — contrôle — vendredi 28/11 » : « vendredi 28/11 » : le jour de la semaine ne "
        "correspond pas à la date.",
        # Fatou is at Kantchari: not a person of this post.
        "« Action : Fatou — contrôle — demain » : « Fatou » n'est ni un service ni une personne du poste",
    ]
    for line in expected:
        assert line in reply, line
    assert "Exemple : Action : Douane — transmettre la liste des véhicules saisis — vendredi" in reply
    assert chief.last.buttons() == ["✅ Ajouter cette action", "✖ Écarter"]
    # Nothing is added before it is confirmed; moving on is refused while items wait.
    draft = (await drafts_of(liaison, chief))[0]
    assert draft.data["items"] == [] and len(draft.data["pending"]) == 1
    await chief.tap_forged(f"mt:fwd:{draft.id}:actions", chief.last.message_id)
    await liaison.settle()
    assert "Ajoutez ou écartez d'abord" in chief.callback_answers[-1]["text"]
    await press(liaison, chief, "✖ Écarter")
    draft = (await drafts_of(liaison, chief))[0]
    assert draft.data["items"] == [] and draft.data["pending"] == []


async def test_dates_of_minutes_and_of_the_next_meeting_are_checked(liaison: Harness) -> None:
    chief = await liaison.member("Ibrahim", service="customs", role="chief", language="fr")
    await say(liaison, chief, "/meeting")
    await press(liaison, chief, "Réunion de coordination")
    assert "Je n'ai pas pu lire « la semaine dernière »" in await say(liaison, chief, "la semaine dernière")
    assert "trop ancien" in await say(liaison, chief, "01/01/2026 9h")
    assert "« 31/11 9h » n'est pas une date qui existe" in await say(liaison, chief, "31/11 9h")
    assert "« vendredi prochain 9h » est trop loin dans l'avenir" in await say(
        liaison, chief, "vendredi prochain 9h"
    )
    assert "Cochez les services" in await say(liaison, chief, "hier 15h")
    draft = (await drafts_of(liaison, chief))[0]
    assert draft.data["held_at"] == at(22, 14).isoformat()


# ----- repeated updates, double taps, forged presses --------------------------------------------------------


async def test_double_taps_and_redelivered_updates_never_duplicate(liaison: Harness) -> None:
    people = await konni(liaison)
    chief, awa = people["chief"], people["awa"]

    # A redelivered /meeting opens one draft and asks once.
    update = await chief.send("/meeting")
    await liaison.settle()
    await liaison.app.process_update(Update.de_json(update, liaison.app.bot))
    await liaison.settle()
    assert sum("Nouveau compte rendu" in t for t in chief.texts) == 1
    await press(liaison, chief, "Réunion de coordination")
    await press(liaison, chief, "🕘 Maintenant")
    await press(liaison, chief, "▫️ Douane")
    await press(liaison, chief, "➡️ Continuer")

    # A notes message delivered twice is kept once.
    update = await chief.send("Premier point.")
    await liaison.settle()
    await liaison.app.process_update(Update.de_json(update, liaison.app.bot))
    await liaison.settle()
    draft = (await drafts_of(liaison, chief))[0]
    assert draft.data["notes"] == ["Premier point."]
    await press(liaison, chief, "➡️ Suite : décisions")
    await press(liaison, chief, "⏭ Pas de décision")
    await say(liaison, chief, "Douane — rapport — vendredi\nDouane — inventaire — lundi")
    # Two taps on Add before the bot answers: the items are added once.
    message_id = chief.last.message_id
    await chief.tap("✅ Ajouter ces 2 actions", message_id=message_id)
    await chief.tap("✅ Ajouter ces 2 actions", message_id=message_id)
    await liaison.settle()
    draft = (await drafts_of(liaison, chief))[0]
    assert len(draft.data["items"]) == 2
    await press(liaison, chief, "➡️ Suite : prochaine réunion")
    await press(liaison, chief, "⏭ Pas de date")

    # Two taps on Publish: one meeting, one fan-out; the second tap is told.
    message_id = chief.last.message_id
    await chief.tap(label(chief, "📤 Publish"), message_id=message_id)
    await chief.tap(label(chief, "📤 Publish"), message_id=message_id)
    await liaison.settle()
    assert len(await liaison.rows(Meeting)) == 1 and len(await liaison.rows(ActionItem)) == 2
    assert len(minutes_copies(awa)) == 1 and len(await audit(liaison, "meeting.published")) == 1
    answers = [a["text"] for a in chief.callback_answers[-2:]]
    assert "Publié." in answers and any("Déjà publié" in (a or "") for a in answers)
    # A published draft takes no more typed messages: this goes to the usual answer, not the notes.
    await say(liaison, chief, "Encore un point")
    [meeting] = await liaison.rows(Meeting)
    assert "Encore un point" not in meeting.notes

    # Two taps on Done: one completion.
    item_card = cards(awa, "📌 Action à mener · Douane")[0]
    await awa.tap(label(awa, "✅ Done"), message_id=item_card.message_id)
    await awa.tap(label(awa, "✅ Done"), message_id=item_card.message_id)
    await liaison.settle()
    assert len(await audit(liaison, "action.done")) == 1
    assert awa.callback_answers[-1]["text"].startswith("Déjà faite : Awa")

    # A progress note delivered twice is recorded once.
    second = cards(awa, "📌 Action à mener · Douane")[1]
    await awa.tap(label(awa, "📝 Progress note"), message_id=second.message_id)
    await liaison.settle()
    assert "Envoyez votre point" in (awa.last.text or "")
    update = await awa.send("Inventaire commencé, fin prévue lundi.")
    await liaison.settle()
    await liaison.app.process_update(Update.de_json(update, liaison.app.bot))
    await liaison.settle()
    assert len(await liaison.rows(ActionNote)) == 1 and len(await audit(liaison, "action.progress")) == 1


async def test_forged_stale_and_foreign_presses_are_refused(liaison: Harness) -> None:
    people = await konni(liaison)
    chief, awa, john, fatou = people["chief"], people["awa"], people["john"], people["fatou"]
    await publish_minutes(
        liaison, chief, present=("customs", "police"), actions="Douane — rapport — vendredi"
    )
    [meeting] = await liaison.rows(Meeting)
    [item] = await liaison.rows(ActionItem)
    kantchari_chief = await liaison.member("Salif", post="BF-KANTCHARI", service="customs", role="chief")
    foreign = kantchari_chief.last.message_id
    for data, answer in (
        (f"mt:done:{item.id}", "Cette action ne relève pas de vous."),
        (f"mt:note:{item.id}", "Cette action ne relève pas de vous."),
        (f"mt:open:{item.id}", "Cette action ne relève pas de vous."),
        (
            f"mt:fix:{meeting.id}",
            "Seuls l'auteur de ce compte rendu et les chefs du poste peuvent le rectifier.",
        ),
        ("mt:done:99999999999999999999", "Cette action n'existe plus."),
        ("mt:done:424242", "Cette action n'existe plus."),
        ("mt:open:abc", "Cette action n'existe plus."),
        ("mt:pub:1", "Ce brouillon est fermé."),
        ("mt:zzz:1", "Ce bouton n'est plus valable."),
        ("mt:done", "Cette action n'existe plus."),
    ):
        await kantchari_chief.tap_forged(data, foreign)
        await liaison.settle()
        assert kantchari_chief.callback_answers[-1]["text"] == answer, data
    # An agent of another service of the same post may read the item, not close it.
    await john.tap_forged(f"mt:done:{item.id}", john.last.message_id)
    await liaison.settle()
    assert john.callback_answers[-1]["text"] == "This action item is not yours to change."
    await john.tap_forged(f"mt:open:{item.id}", john.last.message_id)
    await liaison.settle()
    assert john.last.text.startswith("📌 Action item · Customs") and john.last.buttons() == []
    assert await audit(liaison, "action.done") == []
    assert fatou.callback_answers == []

    # The chief's own draft buttons: a stale step, a bad index, another draft's id.
    await say(liaison, chief, "/meeting")
    await press(liaison, chief, "Réunion de coordination")
    draft = (await drafts_of(liaison, chief))[0]
    for data, answer in (
        (f"mt:fwd:{draft.id}:notes", "Ce bouton appartient à une étape précédente."),
        (f"mt:att:{draft.id}:0", "Ce bouton appartient à une étape précédente."),
        (f"mt:title:{draft.id}:7", "Ce bouton appartient à une étape précédente."),
        (f"mt:now:{draft.id + 1}", "Ce brouillon est fermé."),
        (f"mt:fwd:{draft.id}:nowhere", "Ce bouton appartient à une étape précédente."),
    ):
        await chief.tap_forged(data, chief.last.message_id)
        await liaison.settle()
        assert chief.callback_answers[-1]["text"] == answer, data
    await press(liaison, chief, "🕘 Maintenant")
    await chief.tap_forged(f"mt:att:{draft.id}:99", chief.last.message_id)
    await liaison.settle()
    assert chief.callback_answers[-1]["text"] == "Ce bouton n'est plus valable."
    # Awa cannot drive the chief's draft.
    await awa.tap_forged(f"mt:att:{draft.id}:0", awa.last.message_id)
    await liaison.settle()
    assert awa.callback_answers[-1]["text"] == "Ce brouillon est fermé."
    assert (await drafts_of(liaison, chief))[0].data["present"] == []


async def test_agents_do_not_write_minutes_unless_the_config_allows_them(liaison: Harness) -> None:
    awa = await liaison.member("Awa", service="customs", language="fr")
    assert "/meeting" not in await say(liaison, awa, "/help")
    assert "/actions" in awa.last.text
    assert "Seuls les chefs de poste et les coordinateurs" in await say(liaison, awa, "/meeting")
    assert await liaison.rows(Draft) == []

    config = liaison.config.model_copy(
        update={"meetings": liaison.config.meetings.model_copy(update={"writers": ("agent", "chief")})}
    )
    await liaison.restart(config)
    assert "/meeting — Rédiger un compte rendu de réunion" in await say(liaison, awa, "/help")
    assert "Nouveau compte rendu" in await say(liaison, awa, "/meeting")
    # Coordinators are not listed any more: refused.
    coordinator = await liaison.member("Aminata", role="coordinator", language="fr")
    assert "Seuls les chefs" in await say(liaison, coordinator, "/meeting")


async def test_a_coordinator_writes_minutes_for_a_post(liaison: Harness) -> None:
    coordinator = await liaison.member("Aminata", role="coordinator", language="en")
    agent = await liaison.member("Awa", service="customs", language="fr")
    assert "For which post" in await say(liaison, coordinator, "/meeting")
    assert coordinator.last.buttons() == ["Birni N'Konni", "Makalondi", "Kantchari"]
    await press(liaison, coordinator, "Birni N'Konni")
    assert coordinator.last.buttons() == ["Weekly coordination meeting"]
    await press(liaison, coordinator, "Weekly coordination meeting")
    await press(liaison, coordinator, "🕘 Now")
    await press(liaison, coordinator, "▫️ Customs")
    await press(liaison, coordinator, "➡️ Continue")
    await press(liaison, coordinator, "⏭ No notes")
    await press(liaison, coordinator, "⏭ No decisions")
    await press(liaison, coordinator, "⏭ No action items")
    await press(liaison, coordinator, "⏭ No date")
    await press(liaison, coordinator, "📤 Publish")
    [meeting] = await liaison.rows(Meeting)
    assert meeting.post_code == "NE-KONNI" and meeting.title == "Weekly coordination meeting"
    assert "Compte rendu · Birni N'Konni" in minutes_copies(agent)[0].text
    assert minutes_copies(coordinator)[0].buttons() == ["📎 Add a correction"]


# ----- oversized and hostile input --------------------------------------------------------------------------


async def test_twenty_thousand_characters_thirty_items_and_hostile_text(liaison: Harness) -> None:
    people = await konni(liaison)
    chief, awa, john = people["chief"], people["awa"], people["john"]
    hostile = "<script>alert('x')</script> & <b>gras</b> &amp;"
    await say(liaison, chief, "/meeting")
    assert "Ce texte fait 121 caractères ; la limite est de 120" in await say(liaison, chief, "T" * 121)
    await say(liaison, chief, f"Réunion {hostile}")
    await press(liaison, chief, "🕘 Maintenant")
    await press(liaison, chief, "▫️ Douane")
    await press(liaison, chief, "➡️ Continuer")

    # 20,000 characters in five messages of 4,000 (Telegram's own limit is 4,096 a message).
    blocks = []
    for n in range(5):
        paragraph = f"§{n} {hostile} " + "mot " * 200
        block = "\n\n".join([paragraph] * 8)
        blocks.append((block + " " + "x" * 4000)[:3998])
    for block in blocks:
        await say(liaison, chief, block)
    assert "Notes : 19\u202f998 caractères sur 20\u202f000" in (chief.last.text or "")
    refused = await say(liaison, chief, "abc")
    assert (
        "Non ajouté : les notes atteindraient 20\u202f003 caractères ; la limite est de 20\u202f000"
        in refused
    )
    await say(liaison, chief, "!")  # 19,998 + 2 + 1 = 20,001: still too long
    assert len("\n\n".join((await drafts_of(liaison, chief))[0].data["notes"])) == 19998
    await press(liaison, chief, "🗑 Effacer")
    assert "Effacer toutes les notes" in (chief.last.text or "")
    await press(liaison, chief, "⬅️ Non, garder")
    assert len((await drafts_of(liaison, chief))[0].data["notes"]) == 5
    await press(liaison, chief, "➡️ Suite : décisions")

    # Decisions: hostile text kept as written; one over 500 characters refused with the limit.
    answer = await say(liaison, chief, f"Décision {hostile}\n" + "D" * 501)
    assert "Non ajouté" in answer and "501 caractères, la limite est de 500" in answer
    assert f"1. Décision {hostile}" in answer
    await press(liaison, chief, "➡️ Suite : actions")

    # 31 typed lines: 30 read, the 31st refused with the limit stated.
    lines = [f"Action : Douane — tâche {n} {hostile} — vendredi" for n in range(1, 32)]
    answer = await say(liaison, chief, "\n".join(lines))
    assert "J'ai lu 30 actions" in answer and "au-delà de la limite de 30 actions par réunion" in answer
    assert len(answer) <= TELEGRAM_LIMIT
    await press(liaison, chief, "✅ Ajouter ces 30 actions")
    await press(liaison, chief, "➕ Ajouter avec des boutons")
    assert chief.callback_answers[-1]["text"] == "La limite est de 30 actions par réunion."
    await press(liaison, chief, "➡️ Suite : prochaine réunion")
    summary = await press(liaison, chief, "⏭ Pas de date")
    assert "30 actions" in summary and "…et" in summary and len(summary) <= TELEGRAM_LIMIT
    await press(liaison, chief, "📤 Publier")

    # Stored as written; every part of every copy went through Telegram, each under the limit.
    [meeting] = await liaison.rows(Meeting)
    assert len(meeting.notes) == 19998 and meeting.title == f"Réunion {hostile}"
    assert len(await liaison.rows(ActionItem)) == 30
    rows = await liaison.rows(Notification)
    assert {r.state for r in rows} == {"sent"}, {r.last_error for r in rows}
    copies = [m.text for m in john.inbox if "Réunion <script>" in (m.text or "")]
    assert len(copies) >= 6 and all(len(t) <= TELEGRAM_LIMIT for t in copies)
    assert copies[0].startswith("📋 Minutes · Birni N'Konni") and f"(1/{len(copies)}" in copies[0]
    for number, copy in enumerate(copies[1:], 2):
        assert copy.startswith(f"📋 Réunion {hostile} ({number}/{len(copies)})")
    # Nothing of the notes is lost (a paragraph longer than a message is cut between words).
    body = "".join("".join((c.split("\n", 2)[-1] if n else c).split()) for n, c in enumerate(copies))
    for paragraph in meeting.notes.split("\n\n"):
        assert "".join(paragraph.split()) in body
    assert "30. Customs — tâche 30 <script>" in copies[-1]
    # Awa owns thirty items: thirty cards, each with its buttons.
    assert len(cards(awa, "📌 Action à mener · Douane")) == 30


# ----- a long draft: kept, resumed, edited ------------------------------------------------------------------


async def test_the_draft_survives_other_conversations_and_restarts(liaison: Harness) -> None:
    chief = await liaison.member("Ibrahim", service="customs", role="chief", language="fr")
    await minutes_to_notes(liaison, chief, present=("customs", "police"))
    await say(liaison, chief, "Premier point des notes.")

    # An alert takes the focus: the minutes are kept, and the chief is told how to come back.
    await chief.send("/alert")
    await liaison.settle()
    assert any("Votre brouillon de compte rendu est conservé" in t for t in chief.texts[-3:])
    assert "Nouvelle alerte" in (chief.last.text or "")
    await say(liaison, chief, "/annuler")
    # Typed text no longer goes to the minutes (another conversation had the focus).
    await say(liaison, chief, "Ceci n'est pas une note")
    assert (await drafts_of(liaison, chief))[0].data["notes"] == ["Premier point des notes."]

    # A restart later, /meeting offers to continue where it was.
    await liaison.restart()
    offer = await say(liaison, chief, "/meeting")
    assert "Vous avez un compte rendu en cours : « Réunion de coordination hebdomadaire »" in offer
    assert chief.last.buttons() == ["▶️ Reprendre", "🆕 Recommencer (supprime le brouillon)"]
    resumed = await press(liaison, chief, "▶️ Reprendre")
    assert "Notes : 24 caractères sur 20\u202f000" in resumed
    await say(liaison, chief, "Deuxième point.")
    assert (await drafts_of(liaison, chief))[0].data["notes"] == [
        "Premier point des notes.",
        "Deuxième point.",
    ]

    # Edit from the summary: each section goes back to the summary.
    await press(liaison, chief, "➡️ Suite : décisions")
    await press(liaison, chief, "⏭ Pas de décision")
    await press(liaison, chief, "⏭ Pas d'action")
    await press(liaison, chief, "⏭ Pas de date")
    await press(liaison, chief, "✏️ Modifier")
    assert chief.last.buttons() == [
        "📋 Titre",
        "🕘 Date et heure",
        "👥 Présences",
        "📝 Notes",
        "✅ Décisions",
        "📌 Actions à mener",
        "📅 Prochaine réunion",
        "⬅️ Retour au récapitulatif",
    ]
    await press(liaison, chief, "📋 Titre")
    summary = await say(liaison, chief, "Réunion extraordinaire")
    assert "Vérifiez le compte rendu" in summary and "Réunion extraordinaire" in summary
    await press(liaison, chief, "✏️ Modifier")
    await press(liaison, chief, "👥 Présences")
    await press(liaison, chief, "✅ Police nationale")
    summary = await press(liaison, chief, "✅ Retour au récapitulatif")
    assert "Présents : Douane\n" in summary and "Absents : Police nationale, Police sanitaire" in summary

    # Start over deletes it; /annuler deletes the new one.
    await say(liaison, chief, "/meeting")
    await press(liaison, chief, "🆕 Recommencer")
    [draft] = await drafts_of(liaison, chief)
    assert draft.step == "title" and draft.data["notes"] == []
    assert "Brouillon de compte rendu supprimé" in await say(liaison, chief, "/annuler")
    assert await drafts_of(liaison, chief) == []
    assert await liaison.rows(Meeting) == []


async def test_deleting_the_draft_from_the_summary_asks_first(liaison: Harness) -> None:
    chief = await liaison.member("Ibrahim", service="customs", role="chief", language="en")
    await minutes_to_notes(liaison, chief, present=("customs",))
    await press(liaison, chief, "⏭ No notes")
    await press(liaison, chief, "⏭ No decisions")
    await press(liaison, chief, "⏭ No action items")
    await press(liaison, chief, "⏭ No date")
    assert "Delete this draft?" in await press(liaison, chief, "🗑 Delete the draft")
    assert "Check the minutes" in await press(liaison, chief, "⬅️ No, keep it")
    await press(liaison, chief, "🗑 Delete the draft")
    assert "Minutes draft deleted" in await press(liaison, chief, "🗑 Yes, delete")
    assert await drafts_of(liaison, chief) == [] and await liaison.rows(Meeting) == []


# ----- after publication: corrections and progress ----------------------------------------------------------


async def test_a_correction_goes_out_as_an_addendum_and_the_minutes_stay(liaison: Harness) -> None:
    people = await konni(liaison)
    chief, awa, john = people["chief"], people["awa"], people["john"]
    await publish_minutes(liaison, chief, present=("customs", "police"), notes=("Saisie de 12 véhicules.",))
    [meeting] = await liaison.rows(Meeting)
    card = minutes_copies(chief)[0]
    await chief.tap(label(chief, "📎 Add a correction"), message_id=card.message_id)
    await liaison.settle()
    assert "Rectificatif au compte rendu « Réunion de coordination hebdomadaire »" in (chief.last.text or "")
    assert "la limite est de 3\u202f000" in await say(liaison, chief, "x" * 3001)
    preview = await say(liaison, chief, "Lire 14 véhicules saisis, et non 12 <sic>.")
    assert preview.startswith(
        "📎 Rectificatif au compte rendu « Réunion de coordination hebdomadaire » du 23 nov."
    )
    message_id = chief.last.message_id
    await chief.tap(label(chief, "📤 Send the correction"), message_id=message_id)
    await chief.tap(label(chief, "📤 Send the correction"), message_id=message_id)
    await liaison.settle()
    assert len(await liaison.rows(MeetingAddendum)) == 1
    assert any(
        a["text"] == "Ce rectificatif a déjà été envoyé ou annulé." for a in chief.callback_answers[-2:]
    )
    [english] = [t for t in john.texts if t.startswith("📎 Correction")]
    assert "Lire 14 véhicules saisis, et non 12 <sic>." in english and "— Ibrahim" in english
    assert any(t.startswith("📎 Rectificatif") for t in awa.texts)
    # The minutes themselves never change; the card counts the correction.
    [again] = await liaison.rows(Meeting)
    assert again.notes == meeting.notes == "Saisie de 12 véhicules."
    assert "📎 1 rectificatif" in minutes_copies(chief)[0].text
    [entry] = await audit(liaison, "meeting.addendum")
    assert (
        entry.post_code == "NE-KONNI" and entry.object_id == str(meeting.id) and entry.details["readers"] == 5
    )
    # An agent's forged press cannot correct.
    await awa.tap_forged(f"mt:fix:{meeting.id}", awa.last.message_id)
    await liaison.settle()
    assert "Seuls l'auteur" in awa.callback_answers[-1]["text"]


async def test_progress_notes_reach_the_author_and_the_cards(liaison: Harness) -> None:
    people = await konni(liaison)
    chief, awa, john = people["chief"], people["awa"], people["john"]
    await publish_minutes(
        liaison, chief, present=("customs", "police"), actions="Police nationale — brief — vendredi"
    )
    [item] = await liaison.rows(ActionItem)
    [john_card] = cards(john, "📌 Action item · National Police")
    await john.tap(label(john, "📝 Progress note"), message_id=john_card.message_id)
    await liaison.settle()
    assert "Send your note in one message (at most 1,000 characters)" in (john.last.text or "")
    assert "limit is 1,000" in await say(liaison, john, "n" * 1001)
    assert "Note recorded" in await say(liaison, john, "Night shift briefed on Tuesday <ok>.")
    [note] = await liaison.rows(ActionNote)
    assert note.text == "Night shift briefed on Tuesday <ok>." and note.item_id == item.id
    notice = chief.find("📝 Avancement · Police nationale").text
    assert "Night shift briefed on Tuesday <ok>." in notice and "— John" in notice
    assert "📝 John, Nov 23, 9:00\u202fAM: Night shift briefed" in cards(john, "📌 Action item")[0].text
    [entry] = await audit(liaison, "action.progress")
    assert entry.details["owner_service"] == "police" and entry.post_code == "NE-KONNI"
    # Awa (Customs) may not add notes to a Police item.
    await awa.tap_forged(f"mt:note:{item.id}", awa.last.message_id)
    await liaison.settle()
    assert awa.callback_answers[-1]["text"] == "Cette action ne relève pas de vous."


# ----- follow-up rules, configuration, the review log -------------------------------------------------------


async def test_overdue_items_are_reported_again_each_week_until_done(liaison: Harness) -> None:
    people = await konni(liaison)
    chief, john = people["chief"], people["john"]
    await publish_minutes(liaison, chief, present=("police",), actions="Police nationale — brief — demain")
    [item] = await liaison.rows(ActionItem)
    for day in (24, 25, 26):
        liaison.clock.set(at(day, 8))
        await liaison.settle()
    liaison.clock.set(at(2, 8, month=12))
    await liaison.settle()
    reports = sorted(await audit(liaison, "action.overdue"), key=lambda e: e.details["report"])
    assert [(e.details["report"], e.details["days"]) for e in reports] == [(1, 1), (2, 8)]
    assert len(cards(chief, "⚠️ Action en retard")) == 2 and len(cards(john, "⚠️ Overdue")) == 2
    await john.tap(label(john, "✅ Done"), message_id=cards(john, "⚠️ Overdue")[-1].message_id)
    await liaison.settle()
    [done] = await audit(liaison, "action.done")
    assert done.details == {**done.details, "on_time": False, "days_late": 8}
    jobs = await liaison.rows(ScheduledJob, col(ScheduledJob.key).startswith(f"mt:act:{item.id}:"))
    assert {j.state for j in jobs if j.key.endswith(":late")} == {JobState.CANCELLED}
    liaison.clock.set(at(9, 8, month=12))
    await liaison.settle()
    assert len(await audit(liaison, "action.overdue")) == 2


async def test_the_reminder_hour_comes_from_the_config_and_bad_values_are_refused(
    liaison: Harness,
) -> None:
    from bot.config import ConfigError, parse_config

    data = liaison.config.model_dump(mode="json")
    data["meetings"] = {"writers": ["boss"]}
    try:
        parse_config(data, "config.yaml")
    except ConfigError as error:
        assert str(error).startswith("config.yaml: meetings.writers[0]:")
    else:
        raise AssertionError("an unknown role was accepted")
    config = liaison.config.model_copy(
        update={"meetings": liaison.config.meetings.model_copy(update={"reminder_time": time(7, 30)})}
    )
    await liaison.restart(config)
    chief = await liaison.member("Ibrahim", service="customs", role="chief", language="fr")
    await publish_minutes(liaison, chief, present=("customs",), actions="Douane — rapport — vendredi")
    [item] = await liaison.rows(ActionItem)
    [due] = await liaison.rows(ScheduledJob, ScheduledJob.key == f"mt:act:{item.id}:due")
    assert due.next_run_at == at(27, 6, 30)  # 07:30 in Niamey


async def test_the_review_log_reads_every_entry_in_both_languages(liaison: Harness) -> None:
    from bot.i18n import translator
    from handlers.meetings import FEATURE

    people = await konni(liaison)
    chief, awa = people["chief"], people["awa"]
    await publish_minutes(
        liaison,
        chief,
        present=("customs", "police"),
        notes=("Notes <i>longues</i>.",),
        decisions="Une décision",
        actions="Douane — rapport — demain\nMariama — stock — vendredi",
    )
    [meeting] = await liaison.rows(Meeting)
    await awa.tap(label(awa, "📝 Progress note"), message_id=cards(awa, "📌 Action à mener")[0].message_id)
    await liaison.settle()
    await say(liaison, awa, "Commencé")
    liaison.clock.set(at(25, 8))
    await liaison.settle()
    await awa.tap(label(awa, "✅ Done"), message_id=cards(awa, "⚠️")[0].message_id)
    await liaison.settle()

    [kind] = FEATURE.log_kinds
    assert (kind.key, kind.label, kind.action_prefixes) == (
        "meetings",
        "Meetings and actions",
        ("meeting.", "action."),
    )
    entries = sorted(await liaison.rows(AuditEntry), key=lambda e: e.id)
    ours = [e for e in entries if e.action.startswith(("meeting.", "action."))]
    assert [e.action for e in ours] == [
        "meeting.published",
        "action.created",
        "action.created",
        "action.progress",
        "action.overdue",
        "action.done",
    ]
    fr, en = translator("fr"), translator("en")
    lines = {e.action: kind.summary(e, fr, liaison.runtime) for e in ours}
    assert lines["meeting.published"] == (
        "Compte rendu « Réunion de coordination hebdomadaire » : 2 services présents, 3 absents, "
        "1 décision, 2 actions"
    )
    assert lines["action.progress"] == "Avancement d'une action de Douane : Commencé"
    assert lines["action.overdue"] == "Action de Douane en retard de 1 jour (échéance mar. 24 nov.)"
    assert lines["action.done"] == "Action de Douane faite avec 1 jour de retard (échéance mar. 24 nov.)"
    assert kind.summary(ours[2], en, liaison.runtime) == "Action item for Mariama, due Fri, Nov 27: stock"

    chief_row, awa_row = await member_row(liaison, chief), await member_row(liaison, awa)
    fatou_row = await member_row(liaison, people["fatou"])
    async with liaison.session() as session:
        minutes = await kind.detail(session, liaison.runtime, ours[0], fr, chief_row)
        item = await kind.detail(session, liaison.runtime, ours[-1], en, awa_row)
        hidden = await kind.detail(session, liaison.runtime, ours[0], fr, fatou_row)
    assert minutes is not None and "Notes &lt;i&gt;longues&lt;/i&gt;." in minutes and "📊" in minutes
    assert item is not None and item.startswith("📌 <b>Action item</b> · Customs") and "Commencé" in item
    assert hidden is None and str(meeting.id) == ours[0].object_id


async def test_minutes_whose_owner_left_are_not_published_until_edited(liaison: Harness) -> None:
    from db.members import MemberStatus, set_member_status

    people = await konni(liaison)
    chief, mariama = people["chief"], people["mariama"]
    await minutes_to_notes(liaison, chief, present=("customs", "health"))
    await press(liaison, chief, "⏭ Pas de notes")
    await press(liaison, chief, "⏭ Pas de décision")
    await say(liaison, chief, "Mariama — stock — vendredi\nDouane — rapport — vendredi")
    await press(liaison, chief, "✅ Ajouter ces 2 actions")
    await press(liaison, chief, "➡️ Suite : prochaine réunion")
    await press(liaison, chief, "⏭ Pas de date")
    async with liaison.db.transaction() as session:
        await set_member_status(
            session, member_id=(await member_row(liaison, mariama)).id, status=MemberStatus.SUSPENDED
        )
    await press(liaison, chief, "📤 Publier")
    assert "ne peut plus être publié tel quel" in chief.callback_answers[-1]["text"]
    assert (
        await liaison.rows(Meeting) == []
        and await liaison.rows(Notification, Notification.ref_type == "meeting") == []
    )
    [draft] = await drafts_of(liaison, chief)
    assert draft.step == "confirm"
    await press(liaison, chief, "✏️ Modifier")
    await press(liaison, chief, "📌 Actions à mener")
    await press(liaison, chief, "➖ En retirer une")
    assert "Quelle action faut-il retirer" in (chief.last.text or "")
    await chief.tap("1", message_id=chief.last.message_id)
    await liaison.settle()
    assert "➖ Retirée." in (chief.last.text or "") and "1. Douane — rapport" in (chief.last.text or "")
    await press(liaison, chief, "✅ Retour au récapitulatif")
    await press(liaison, chief, "📤 Publier")
    [meeting] = await liaison.rows(Meeting)
    [item] = await liaison.rows(ActionItem)
    assert item.owner_service_code == "customs" and item.position == 1 and meeting.id == item.meeting_id


async def test_an_english_writer_reads_everything_in_english(liaison: Harness) -> None:
    chief = await liaison.member("Grace", service="health", role="chief", language="en")
    await minutes_to_notes(liaison, chief, present=("health",))
    await press(liaison, chief, "⏭ No notes")
    await press(liaison, chief, "⏭ No decisions")
    reply = await say(liaison, chief, "Police — check the barrier — tomorrow\nForêts — x — Friday")
    assert "“Police” could be National Police or Health Police: write the full name" in reply
    assert "“Forêts” could be Water and Forests: write the full name" in reply
    assert "Example: Action: Customs — send the list of seized vehicles — Friday" in reply
    for french in ("Police nationale", "Douane", "vendredi", "« "):
        assert french not in reply
    answer = await say(liaison, chief, "National Police — check the barrier — tomorrow")
    assert "1. National Police — check the barrier — Tue, Nov 24" in answer


async def test_an_overdue_report_missed_while_the_bot_was_down_does_not_stop_the_next(
    liaison: Harness,
) -> None:
    people = await konni(liaison)
    chief, john = people["chief"], people["john"]
    await publish_minutes(liaison, chief, present=("police",), actions="Police nationale — brief — demain")
    [item] = await liaison.rows(ActionItem)
    liaison.clock.set(at(24, 8))
    await liaison.settle()
    # Down from Tuesday until Wednesday evening: Wednesday's 09:00 report is past the six-hour grace.
    await liaison.stop()
    liaison.clock.set(at(25, 19))
    await liaison.start()
    skipped = await audit(liaison, "schedule.skipped")
    assert any(e.details["key"] == f"mt:act:{item.id}:late" for e in skipped)
    assert await audit(liaison, "action.overdue") == [] and not cards(john, "⚠️")
    # A week later the report comes, for the owner and the chief.
    liaison.clock.set(at(2, 8, month=12))
    await liaison.settle()
    [report] = await audit(liaison, "action.overdue")
    assert report.details["days"] == 8 and cards(john, "⚠️ Overdue") and cards(chief, "⚠️ Action en retard")


async def test_a_person_of_no_service_is_offered_by_name_alone(liaison: Harness) -> None:
    """A chief of the whole post picking an action's owner: 'Ibrahim', not 'Ibrahim · —'; agents by name and
    service."""
    chief = await liaison.member("Ibrahim", service=None, role="chief", language="fr")
    await liaison.member("Awa", service="customs", language="fr")
    await say(liaison, chief, "/meeting")
    await press(liaison, chief, "Réunion de coordination hebdomadaire")
    await press(liaison, chief, "🕘 Maintenant")
    await press(liaison, chief, "▫️ Douane")
    await press(liaison, chief, "➡️ Continuer")
    await say(liaison, chief, "Point sur les saisies de la semaine.")
    await press(liaison, chief, "➡️ Suite : décisions")
    await press(liaison, chief, "⏭ Pas de décision")
    await press(liaison, chief, "➕ Ajouter avec des boutons")
    await press(liaison, chief, "👤 Une personne")
    people = chief.last.buttons()
    assert "Ibrahim" in people and "Awa · Douane" in people, people
    assert not any("—" in label for label in people), people


async def test_the_first_of_a_month_reads_1er_in_french(liaison: Harness) -> None:
    """French writes 'mar. 1er déc.' (it read 'mar. 1 déc.'); English keeps 'Tue, Dec 1'."""
    coordinator = await liaison.member("Aminata", role="coordinator", language="en")
    agent = await liaison.member("Awa", service="customs", language="fr")
    await say(liaison, coordinator, "/meeting")
    await press(liaison, coordinator, "Birni N'Konni")
    await press(liaison, coordinator, "Weekly coordination meeting")
    await press(liaison, coordinator, "🕘 Now")
    await press(liaison, coordinator, "▫️ Customs")
    await press(liaison, coordinator, "➡️ Continue")
    await press(liaison, coordinator, "⏭ No notes")
    await press(liaison, coordinator, "⏭ No decisions")
    read = await say(liaison, coordinator, "Customs — send the list of seized vehicles — 01/12")
    assert "1. Customs — send the list of seized vehicles — Tue, Dec 1" in read
    await press(liaison, coordinator, "✅ Add this item")
    await press(liaison, coordinator, "➡️ Next: next meeting")
    await press(liaison, coordinator, "⏭ No date")
    await press(liaison, coordinator, "📤 Publish")
    [item] = await liaison.rows(ActionItem)
    assert item.due_on == date(2026, 12, 1)
    french = minutes_copies(agent)[0].text or ""
    assert "1. Douane — send the list of seized vehicles — mar. 1er déc." in french
    assert "1er" not in (minutes_copies(coordinator)[0].text or "")
