"""Notices end to end: chiefs and coordinators broadcast, readers confirm "Lu / Seen", the sender follows
(emulator, both databases)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from telegram import Update

from db.audit import AuditEntry
from db.drafts import Draft
from db.notices import Notice, NoticeRecipient
from db.outbox import Notification
from db.schedules import ScheduledJob
from sandbox.emulator import EmulatedUser
from tests.factories import button_data, label, member_row, post_team, tap
from tests.harness import Harness

FR_TEXT = (
    "Réunion de coordination demain à 9 h au bureau de la Douane. Présence de chaque service obligatoire."
)
EN_TEXT = "Coordination meeting tomorrow at 9:00 in the Customs office. Every service must attend."


def first_line(message: Any) -> str:
    return (message.text or "").split("\n", 1)[0]


def copy_of(user: EmulatedUser, notice_id: int) -> Any:
    """The user's copy of a notice (or, for its sender, the live card): the first message titled with it."""
    for message in user.inbox:
        line = first_line(message) + " "
        if line.startswith(("📢", "⚠️")) and (f"#{notice_id} " in line or f"n°{notice_id} " in line):
            return message
    raise AssertionError(f"no copy of notice {notice_id} for {user!r}: {user.texts}")


def reminders_of(user: EmulatedUser, notice_id: int) -> list[Any]:
    """The reminders of a notice the user received."""
    return [m for m in user.inbox if first_line(m).startswith("🔔") and f"{notice_id}" in first_line(m)]


async def answer_of(liaison: Harness, user: EmulatedUser) -> str:
    await liaison.settle()
    return user.callback_answers[-1]["text"] or ""


async def write_notice(
    liaison: Harness,
    sender: EmulatedUser,
    text: str,
    *,
    audience: str | None = "👥 Everyone",
    posts: list[str] | None = None,
    photo: bool = False,
    second: str | None = None,
    important: bool = False,
    send: bool = True,
) -> Notice | None:
    """Walk /notice with taps and answers as the sender reads them; returns the notice sent."""
    await sender.send("/notice")
    await liaison.settle()
    if posts is not None:
        for name in posts:
            await sender.tap("☐ " + name)
            await liaison.settle()
        await tap(liaison, sender, "Next ▶")
    if audience is not None:
        await tap(liaison, sender, audience)
    if photo:
        await sender.send_photo(caption=text)
    else:
        await sender.send(text)
    await liaison.settle()
    if second is not None:
        other = "English" if label(sender, "English") == "anglais" else "French"
        await sender.tap(label(sender, "🌐 Add the {language} version").format(language=label(sender, other)))
        await liaison.settle()
        await sender.send(second)
        await liaison.settle()
    if important:
        await tap(liaison, sender, "⚠️ Make it important")
    if not send:
        return None
    await tap(liaison, sender, "✅ Send")
    return (await liaison.rows(Notice))[-1]


async def test_a_bilingual_notice_with_a_photo_is_read_counted_and_reminded(liaison: Harness) -> None:
    customs, police, health, chief = await post_team(liaison)
    forests = await liaison.member("Grace", service="forests", language="en")
    notice = await write_notice(liaison, chief, FR_TEXT, photo=True, second=EN_TEXT)
    assert notice is not None and notice.id == 1
    assert notice.texts == {"fr": FR_TEXT, "en": EN_TEXT} and notice.attachment_kind == "photo"
    assert chief.find("✅ Avis n°1 envoyé à 4 personnes (1 poste).")

    # Each reader gets the photo with their own version as its caption, their heading, and a Seen button.
    photo = notice.attachment_file_id
    for reader, text, title, button in (
        (customs, FR_TEXT, "📢 Avis n°1 · Birni N'Konni", "☑️ Lu"),
        (health, FR_TEXT, "📢 Avis n°1 · Birni N'Konni", "☑️ Lu"),
        (police, EN_TEXT, "📢 Notice #1 · Birni N'Konni", "☑️ Seen"),
        (forests, EN_TEXT, "📢 Notice #1 · Birni N'Konni", "☑️ Seen"),
    ):
        copy = copy_of(reader, 1)
        assert copy.photo == photo and text in copy.text and first_line(copy) == title
        assert copy.buttons() == [button] and copy.disable_notification  # routine: silent
    assert "Ibrahim" in copy_of(police, 1).text and "Valid until Dec 23, 9:00" in copy_of(police, 1).text
    assert "Valable jusqu'au 23 déc., 09:00" in copy_of(customs, 1).text
    copies = await liaison.rows(Notification, Notification.method == "sendPhoto")
    assert len(copies) == 4 and {c.priority for c in copies} == {3}  # bulk

    # The chief's card: 0 of 4, one line per service.
    card = copy_of(chief, 1)
    assert (
        "👁 Lu 0 / 4" in card.text and "⏳ Douane 0/1" in card.text and "⏳ Police nationale 0/1" in card.text
    )
    assert card.buttons() == ["🙈 Qui ne l'a pas lu ?", "🔔 Les relancer"]

    # John (Police) confirms at 09:02: his copy says so in his zone, the card follows within five seconds.
    await liaison.advance(120)
    await police.tap("☑️ Seen")
    assert "Seen at 9:02" in await answer_of(liaison, police)
    john = copy_of(police, 1)
    assert "✓ Seen 9:02\u202fAM" in john.text and john.buttons() == []
    assert "👁 Lu 0 / 4" in copy_of(chief, 1).text  # the card waits for the end of its interval
    await liaison.advance(5)
    card = copy_of(chief, 1)
    assert "👁 Lu 1 / 4" in card.text and "✅ Police nationale 1/1" in card.text

    # A second tap changes nothing (and says when it was confirmed).
    await police.tap_forged("nt:seen:1", john.message_id)
    assert "Already confirmed at 9:02" in await answer_of(liaison, police)
    seen = await liaison.rows(AuditEntry, AuditEntry.action == "notice.seen")
    assert len(seen) == 1 and seen[0].details["seconds_from_sent"] == 120 and seen[0].post_code == "NE-KONNI"
    # Sealed into the post's chain at its commit, and filed under the reader's service for the review.
    assert (seen[0].chain, seen[0].service_code) == ("NE-KONNI", "police") and seen[0].hash is not None

    # Who has not read it: the three others, by service.
    await tap(liaison, chief, "🙈 Who has not read it?")
    who = chief.last.text
    assert who.startswith("🙈 Pas encore lu : 3 sur 4")
    assert (
        "Douane (1) : Awa" in who
        and "Police sanitaire (1) : Mariama" in who
        and "Eaux et Forêts (1) : Grace" in who
    )
    assert "John" not in who

    # Remind them: exactly the non-readers, once per interval.
    await tap(liaison, chief, "🔔 Remind them")
    assert "Relance envoyée à 3 personnes" in chief.callback_answers[-1]["text"]
    for reader in (customs, health, forests):
        [reminder] = reminders_of(reader, 1)
        assert reminder.buttons() == [label(reader, "☑️ Seen")] and not reminder.disable_notification
    assert not reminders_of(police, 1)
    await tap(liaison, chief, "🔔 Remind them")
    assert "moins de 60 minutes" in chief.callback_answers[-1]["text"]
    assert chief.callback_answers[-1]["show_alert"]
    assert len(reminders_of(customs, 1)) == 1
    reminded = await liaison.rows(AuditEntry, AuditEntry.action == "notice.reminded")
    assert [(e.details, e.post_code) for e in reminded] == [
        ({"recipients": 3, "automatic": False}, "NE-KONNI")
    ]

    # Five minutes later Awa confirms from the reminder: the reminder and her copy both say so.
    await liaison.advance(timedelta(minutes=5))
    await customs.tap("☑️ Lu", message_id=reminders_of(customs, 1)[0].message_id)
    await liaison.settle()
    assert "✓ Lu 09:07" in copy_of(customs, 1).text and "✓ Lu 09:07" in reminders_of(customs, 1)[0].text
    assert reminders_of(customs, 1)[0].buttons() == []
    [awa] = await liaison.rows(
        NoticeRecipient, NoticeRecipient.member_id == (await member_row(liaison, customs)).id
    )
    assert awa.seen_at is not None and awa.reminders == 1

    # The automatic reminder (two hours after sending) reaches only the two still silent, once.
    await liaison.advance(timedelta(minutes=120))
    for reader in (health, forests):
        assert len(reminders_of(reader, 1)) == 2
    assert len(reminders_of(customs, 1)) == 1 and not reminders_of(police, 1)
    await liaison.advance(timedelta(hours=5))
    assert len(reminders_of(health, 1)) == 2
    automatic = [
        e
        for e in await liaison.rows(AuditEntry, AuditEntry.action == "notice.reminded")
        if e.details["automatic"]
    ]
    assert len(automatic) == 1 and automatic[0].details["recipients"] == 2
    card = copy_of(chief, 1)
    assert "👁 Lu 2 / 4" in card.text and "2 relances" in card.text

    # The audit log holds what coordinators count.
    [sent] = await liaison.rows(AuditEntry, AuditEntry.action == "notice.sent")
    assert sent.post_code == "NE-KONNI" and sent.object_type == "notice" and sent.object_id == "1"
    assert sent.details == {
        "recipients": 4,
        "posts": 1,
        "importance": "normal",
        "bilingual": True,
        "audience": "everyone",
        "attachment": "photo",
    }
    delivered = await liaison.rows(AuditEntry, AuditEntry.action == "notice.delivered")
    assert delivered[0].details["sent"] == 4 and delivered[0].details["pending"] == 0


async def to_every_post(liaison: Harness, coordinator: EmulatedUser) -> None:
    """/notice, 🌍 All posts, Next, 👥 Everyone: the coordinator's draft then waits for its text."""
    await coordinator.send("/notice")
    await liaison.settle()
    await tap(liaison, coordinator, "🌍 All posts")
    await tap(liaison, coordinator, "Next ▶")
    await tap(liaison, coordinator, "👥 Everyone")


async def test_a_post_nobody_has_joined_is_named_not_counted(liaison: Harness) -> None:
    """A notice to every post while nobody has joined at Kantchari: the confirmation counts the two posts it
    reached and names the one it did not, in the sender's language."""
    await liaison.member("Awa", post="NE-KONNI", service="customs", language="fr")
    await liaison.member("Moussa", post="NE-MAKALONDI", service="police", language="fr")
    coordinator = await liaison.member("Claire", role="coordinator", language="en")
    await to_every_post(liaison, coordinator)
    await coordinator.send("Mission d'évaluation des postes frontaliers la semaine prochaine.")
    await liaison.settle()
    await tap(liaison, coordinator, "✅ Send")
    told = coordinator.find("Notice #1 sent to 2 people (2 posts).").text
    kantchari = liaison.config.post_name("BF-KANTCHARI")
    assert f"Nobody it is meant for has joined at {kantchari} yet: it reached nobody there." in told
    assert [len(n.posts) for n in await liaison.rows(Notice)] == [3]


async def test_a_coordinator_notice_to_every_post_is_counted_per_post(liaison: Harness) -> None:
    konni_customs = await liaison.member("Awa", post="NE-KONNI", service="customs", language="fr")
    konni_chief = await liaison.member("Ibrahim", post="NE-KONNI", service="gendarmerie", role="chief")
    mak_police = await liaison.member("Moussa", post="NE-MAKALONDI", service="police", language="fr")
    mak_health = await liaison.member("Fatou", post="NE-MAKALONDI", service="health", language="en")
    bf_customs = await liaison.member("Issa", post="BF-KANTCHARI", service="customs", language="fr")
    coordinator = await liaison.member("Claire", role="coordinator", language="en")

    await coordinator.send("/notice")
    await liaison.settle()
    assert coordinator.last.text.startswith("📢 New notice. To which posts?")
    await tap(liaison, coordinator, "Next ▶")  # nothing ticked yet
    assert "Tick at least one post" in coordinator.callback_answers[-1]["text"]
    await tap(liaison, coordinator, "🌍 All posts")
    await tap(liaison, coordinator, "Next ▶")
    await tap(liaison, coordinator, "👥 Everyone")
    await coordinator.send("Mission d'évaluation des postes frontaliers la semaine prochaine.")
    await liaison.settle()
    summary = coordinator.last.text
    assert "To: everyone · every post (3) — 5 people" in summary
    await tap(liaison, coordinator, "✅ Send")
    assert coordinator.find("Notice #1 sent to 5 people (3 posts).")

    # Each reader in their post's zone: Kantchari (UTC+0) reads 08:00, Niger 09:00.
    assert "23 nov., 08:00" in copy_of(bf_customs, 1).text and "Kantchari" in first_line(
        copy_of(bf_customs, 1)
    )
    assert "23 nov., 09:00" in copy_of(mak_police, 1).text and "Makalondi" in first_line(
        copy_of(mak_police, 1)
    )
    assert "From Claire (coordination)" in copy_of(mak_health, 1).text
    assert "Birni N'Konni" in first_line(copy_of(konni_chief, 1))  # a chief reads it like everyone

    sent = await liaison.rows(AuditEntry, AuditEntry.action == "notice.sent")
    assert sorted((e.post_code, e.details["recipients"], e.details["posts"]) for e in sent) == [
        ("BF-KANTCHARI", 1, 3),
        ("NE-KONNI", 2, 3),
        ("NE-MAKALONDI", 2, 3),
    ]
    card = copy_of(coordinator, 1)
    assert "By post" in card.text and "⏳ Makalondi 0/2" in card.text and "⏳ Kantchari 0/1" in card.text
    assert "By service" in card.text and "⏳ Customs 0/2" in card.text

    # Makalondi's Police and Kantchari confirm: counted per post and per service.
    await mak_police.tap("☑️ Lu")
    await bf_customs.tap("☑️ Lu")
    await liaison.settle()
    await liaison.advance(5)
    card = copy_of(coordinator, 1)
    assert "👁 Seen 2 / 5" in card.text
    assert (
        "⏳ Makalondi 1/2" in card.text
        and "✅ Kantchari 1/1" in card.text
        and "⏳ Birni N'Konni 0/2" in card.text
    )
    assert "⏳ Customs 1/2" in card.text and "✅ National Police 1/1" in card.text
    seen = await liaison.rows(AuditEntry, AuditEntry.action == "notice.seen")
    assert sorted(e.post_code for e in seen) == ["BF-KANTCHARI", "NE-MAKALONDI"]

    # Who has not read it: by post, then service.
    await tap(liaison, coordinator, "🙈 Who has not read it?")
    who = coordinator.last.text
    assert who.startswith("🙈 Not read yet: 3 of 5")
    assert who.index("Birni N'Konni · 2") < who.index("Customs (1): Awa") < who.index("Makalondi · 1")
    assert "Health Police (1): Fatou" in who and "Moussa" not in who and "Issa" not in who

    # A notice to several posts is followed by coordinators: a post's chief may not ask who read it.
    await konni_chief.tap_forged("nt:who:1", copy_of(konni_chief, 1).message_id)
    assert "Seuls l'auteur" in await answer_of(liaison, konni_chief)
    await konni_customs.tap_forged("nt:rem:1", copy_of(konni_customs, 1).message_id)
    assert "Seuls l'auteur" in await answer_of(liaison, konni_customs)
    assert not await liaison.rows(AuditEntry, AuditEntry.action == "notice.reminded")

    # Reminders reach the non-readers of every post; one audit entry per post with its own count.
    await tap(liaison, coordinator, "🔔 Remind them")
    reminded = await liaison.rows(AuditEntry, AuditEntry.action == "notice.reminded")
    assert sorted((e.post_code, e.details["recipients"]) for e in reminded) == [
        ("NE-KONNI", 2),
        ("NE-MAKALONDI", 1),
    ]
    assert reminders_of(mak_health, 1) and reminders_of(konni_chief, 1) and not reminders_of(bf_customs, 1)


async def test_a_coordinator_chooses_posts_and_services(liaison: Harness) -> None:
    konni_customs = await liaison.member("Awa", post="NE-KONNI", service="customs")
    konni_police = await liaison.member("Ali", post="NE-KONNI", service="police")
    mak_customs = await liaison.member("Moussa", post="NE-MAKALONDI", service="customs")
    bf_customs = await liaison.member("Issa", post="BF-KANTCHARI", service="customs")
    coordinator = await liaison.member("Claire", role="coordinator", language="en")

    await write_notice(
        liaison,
        coordinator,
        "Contrôle renforcé des marchandises",
        posts=["Birni N'Konni", "Kantchari"],
        audience=None,
        send=False,
    )
    # The audience step waits (the text typed first is kept); one service ticked, then Next.
    assert coordinator.last.text == "✍️ Kept. Now choose who receives it with the buttons above."
    await coordinator.tap("☐ Customs")
    await liaison.settle()
    assert "✍️ Your text is kept." in coordinator.find("Who should receive it?").text
    await tap(liaison, coordinator, "Next ▶")
    assert (
        "To: Customs · 2 posts: Birni N'Konni, Kantchari — 2 people"
        in coordinator.find("Check your notice").text
    )
    await tap(liaison, coordinator, "✅ Send")
    notice = (await liaison.rows(Notice))[0]
    assert notice.posts == ["NE-KONNI", "BF-KANTCHARI"]
    assert notice.audience == {"kind": "services", "services": ["customs"]}
    assert copy_of(konni_customs, 1) and copy_of(bf_customs, 1)
    for silent in (konni_police, mak_customs):
        assert not any("Avis n°1" in t for t in silent.texts)
    [bf, konni] = sorted(
        await liaison.rows(AuditEntry, AuditEntry.action == "notice.sent"), key=lambda e: e.post_code
    )
    assert (bf.post_code, bf.details["recipients"], bf.details["services"]) == (
        "BF-KANTCHARI",
        1,
        ["customs"],
    )
    assert (konni.details["audience"], konni.details["posts"]) == ("services", 2)


async def test_a_member_who_joins_receives_the_notices_in_force_addressed_to_them(liaison: Harness) -> None:
    customs, police, _health, chief = await post_team(liaison)
    await liaison.member("Halima", service="health", role="chief", language="fr")
    await write_notice(liaison, chief, "Note 1 : horaires d'été à partir de lundi.")
    await write_notice(liaison, chief, "Note 2 : nouveau barème pour la Douane.", audience=None, send=False)
    await chief.tap("☐ Douane")
    await liaison.settle()
    await tap(liaison, chief, "Next ▶")
    await tap(liaison, chief, "✅ Send")
    await write_notice(liaison, chief, "Note 3 : réunion des chefs.", audience="⭐ The post chiefs")
    # A fourth one, no longer in force: one day of validity, two days ago.
    await write_notice(liaison, chief, "Note 4 : exercice d'hier.", send=False)
    await tap(liaison, chief, "📅 Validity")
    await chief.tap("1 jour")
    await liaison.settle()
    await tap(liaison, chief, "✅ Send")
    await liaison.advance(timedelta(days=2))
    assert [n.expired_at is not None for n in await liaison.rows(Notice)] == [False, False, False, True]
    assert [len(n.texts) for n in await liaison.rows(Notice)] == [1, 1, 1, 1]

    newcomer = await liaison.member("Kader", service="customs", language="fr")
    texts = [t for t in newcomer.texts if "Note" in t]
    assert len(texts) == 2 and "Note 1" in texts[0] and "Note 2" in texts[1]
    assert (
        copy_of(newcomer, 1).buttons() == ["☑️ Lu"]
        and "Valable jusqu'au 23 déc., 09:00" in copy_of(newcomer, 1).text
    )
    other = await liaison.member("Zara", service="police", language="en")
    assert [t.split("\n")[4] for t in other.texts if "Note" in t] == [
        "Note 1 : horaires d'été à partir de lundi."
    ]
    newcomer_row = await member_row(liaison, newcomer)
    copies = await liaison.rows(NoticeRecipient, NoticeRecipient.member_id == newcomer_row.id)
    assert sorted(c.notice_id for c in copies) == [1, 2]

    # The newcomer counts on the sender's card; confirming works as for everyone.
    await newcomer.tap("☑️ Lu", message_id=copy_of(newcomer, 1).message_id)
    await liaison.settle()
    await liaison.advance(5)
    assert "👁 Lu 1 / 6" in copy_of(chief, 1).text and "Douane 1/2" in copy_of(chief, 1).text

    # The same join told twice (a replayed event) sends nothing more.
    from handlers.notices import service

    async with liaison.db.transaction() as session:
        assert await service.catch_up_newcomer(session, liaison.runtime, newcomer_row) == 0
    await liaison.settle()
    assert len([t for t in newcomer.texts if "Note" in t]) == 2
    assert customs and police


async def test_validity_expiry_and_reminders_stop(liaison: Harness) -> None:
    customs, police, _health, chief = await post_team(liaison)
    await write_notice(liaison, chief, "Fermeture exceptionnelle de la barrière nord.", send=False)
    await tap(liaison, chief, "📅 Validity")
    await chief.send("31/02 10:00")
    await liaison.settle()
    assert "Cette date n'existe pas" in chief.last.text
    await chief.send("23/11 08:30")
    await liaison.settle()
    assert "Ce moment est déjà passé" in chief.last.text
    await chief.send("23/11 12:00")  # noon in Niamey: three hours
    await liaison.settle()
    assert "📅 Valable jusqu'au 23 nov., 12:00" in chief.last.text and "(par défaut)" not in chief.last.text
    await tap(liaison, chief, "✅ Send")
    notice = (await liaison.rows(Notice))[0]
    assert notice.expires_at.hour == 11  # UTC
    jobs = {j.key: j for j in await liaison.rows(ScheduledJob)}
    assert jobs["nt:1:auto"].state == "active" and jobs["nt:1:expire"].state == "active"

    # The automatic reminder (two hours) fires once; then the notice expires at noon.
    await liaison.advance(timedelta(hours=2))
    assert len(reminders_of(customs, 1)) == 1 and len(reminders_of(police, 1)) == 1
    await police.tap("☑️ Seen", message_id=copy_of(police, 1).message_id)
    await liaison.settle()
    await liaison.advance(timedelta(hours=1))
    notice = (await liaison.rows(Notice))[0]
    assert notice.expired_at is not None
    [expired] = await liaison.rows(AuditEntry, AuditEntry.action == "notice.expired")
    assert expired.post_code == "NE-KONNI" and expired.details == {"recipients": 3, "seen": 1}
    card = copy_of(chief, 1)
    assert "⌛ Expiré le 23 nov., 12:00" in card.text and card.buttons() == ["🙈 Qui ne l'a pas lu ?"]

    # No reminder after expiry, by hand or automatic.
    await chief.tap_forged("nt:rem:1", card.message_id)
    assert "a expiré" in await answer_of(liaison, chief)
    from handlers.notices import service

    async with liaison.db.transaction() as session:
        result = await service.remind(session, liaison.runtime, notice_id=1, member=None)
    assert result.outcome == service.RemindOutcome.EXPIRED
    await liaison.advance(timedelta(days=1))
    assert len(reminders_of(customs, 1)) == 1
    assert len(await liaison.rows(AuditEntry, AuditEntry.action == "notice.reminded")) == 1

    # A late confirmation is still recorded; /notices no longer lists it.
    await customs.tap("☑️ Lu", message_id=copy_of(customs, 1).message_id)
    await liaison.settle()
    assert "Lu à" in customs.callback_answers[-1]["text"]
    await customs.send("/notices")
    await liaison.settle()
    assert customs.last.text == "Aucun avis en vigueur pour vous."


async def test_a_reminder_needs_the_interval_and_the_automatic_one_waits_for_it(liaison: Harness) -> None:
    customs, police, _health, chief = await post_team(liaison)
    await write_notice(liaison, chief, "Inventaire du matériel vendredi.")
    await liaison.advance(timedelta(minutes=100))
    await tap(liaison, chief, "🔔 Remind them")
    assert len(reminders_of(customs, 1)) == 1
    # The automatic reminder at 120 minutes: less than the interval after the chief's, it is skipped.
    await liaison.advance(timedelta(minutes=30))
    assert len(reminders_of(customs, 1)) == 1
    # An hour after the chief's, another reminder by hand is possible again.
    await liaison.advance(timedelta(minutes=31))
    await tap(liaison, chief, "🔔 Remind them")
    assert len(reminders_of(customs, 1)) == 2 and len(reminders_of(police, 1)) == 2
    # Everyone confirms: nobody left to remind, and the card says so without buttons.
    for reader in (customs, police, _health):
        await reader.tap(label(reader, "☑️ Seen"), message_id=copy_of(reader, 1).message_id)
    await liaison.settle()
    await liaison.advance(5)
    card = copy_of(chief, 1)
    assert "✅ Tout le monde l'a lu." in card.text and card.buttons() == []
    await chief.tap_forged("nt:rem:1", card.message_id)
    assert "Tout le monde l'a lu" in await answer_of(liaison, chief)
    await chief.tap_forged("nt:who:1", card.message_id)
    await liaison.settle()
    assert (
        chief.last.text.startswith("🙈 Pas encore lu : 0 sur 3") and "Tout le monde l'a lu" in chief.last.text
    )


async def test_forged_foreign_and_stale_presses_change_nothing(liaison: Harness) -> None:
    customs, police, health, chief = await post_team(liaison)
    other_chief = await liaison.member("Halima", service="health", role="chief", language="fr")
    far = await liaison.member("Kader", post="NE-MAKALONDI", service="customs", language="fr")
    far_chief = await liaison.member("Moussa", post="NE-MAKALONDI", service="police", role="chief")
    await write_notice(liaison, chief, "Contrôle sanitaire renforcé.")
    copy = copy_of(customs, 1)

    # Agents do not send notices; the command says who does.
    await customs.send("/notice")
    await liaison.settle()
    assert customs.last.text == "Seuls les chefs de poste et les coordinateurs envoient des avis."

    # Someone of another post presses Seen (a forwarded or forged button): refused, nothing recorded.
    for data in ("nt:seen:1", "nt:seen:1:l", "nt:seen:1:o", "nt:read:1"):
        await far.tap_forged(data, far.last.message_id)
        assert await answer_of(liaison, far) == "Cet avis ne vous a pas été adressé."
    assert far.callback_answers[-1]["show_alert"]
    # Readers and the chief of another post may not follow it; a second chief of the post may.
    for user in (customs, far, far_chief):
        for data in ("nt:who:1", "nt:rem:1", "nt:cnt:1"):
            await user.tap_forged(data, user.last.message_id)
            assert "Seuls l'auteur, les chefs du poste" in await answer_of(liaison, user)
    await other_chief.tap_forged("nt:who:1", copy_of(other_chief, 1).message_id)
    await liaison.settle()
    assert other_chief.last.text.startswith("🙈 Pas encore lu : 4 sur 4")

    # Garbage and stale draft buttons.
    for data in (
        "nt:seen:abc",
        "nt:seen:99999999999999999999",
        "nt:seen:-1",
        "nt:zap:1",
        "nt",
        "nt:ok:424242",
        "nt:no:1",
        "nt:aud:1:everyone",
        "nt:post:1:NE-KONNI:1",
        "nt:imp:1:1",
        "nt:exp:1:3",
        "nt:who:abc",
        "nt:cnt:0",
    ):
        await health.tap_forged(data, copy_of(health, 1).message_id)
    await liaison.settle()
    assert len(health.callback_answers) == 13

    # The chief's own old draft: Send again, Cancel after sending, a choice on a sent draft.
    summary = chief.find("Vérifiez votre avis")
    for data in ("nt:ok:1", "nt:aud:1:chiefs", "nt:imp:1:1"):
        await chief.tap_forged(data, summary.message_id)
        await liaison.settle()
    assert "Déjà envoyé" in chief.callback_answers[-3]["text"]
    assert len(await liaison.rows(Notice)) == 1 and not (await liaison.rows(Notice))[0].important

    # A suspended reader is turned away by the gate; a stranger learns how to join.
    from db.members import MemberStatus, set_member_status

    async with liaison.db.transaction() as session:
        await set_member_status(
            session, member_id=(await member_row(liaison, police)).id, status=MemberStatus.SUSPENDED
        )
    await police.tap("☑️ Seen")
    assert "suspended" in await answer_of(liaison, police)
    stranger = liaison.user("Eve", language="en")
    await stranger.start()
    await liaison.settle()
    await stranger.tap_forged("nt:seen:1", stranger.last.message_id)
    assert "invite" in await answer_of(liaison, stranger)

    # Nothing was confirmed, reminded or changed by any of it.
    assert all(r.seen_at is None for r in await liaison.rows(NoticeRecipient))
    assert not await liaison.rows(AuditEntry, AuditEntry.action == "notice.seen")
    assert not await liaison.rows(AuditEntry, AuditEntry.action == "notice.reminded")
    assert copy.buttons() == ["☑️ Lu"]


async def test_double_taps_and_repeated_updates_make_one_notice_and_one_confirmation(
    liaison: Harness,
) -> None:
    customs, police, _health, chief = await post_team(liaison)
    await write_notice(liaison, chief, "Relève de 19 h avancée à 18 h.", send=False)
    await chief.tap("✅ Envoyer")
    await chief.tap("✅ Envoyer")
    await liaison.settle()
    assert len(await liaison.rows(Notice)) == 1
    assert "Déjà envoyé" in chief.callback_answers[-1]["text"]
    assert sum("Relève de 19 h" in t for t in customs.texts) == 1

    # The same /notice message delivered twice opens one draft and asks once.
    update = await chief.send("/notice")
    await liaison.settle()
    await liaison.app.process_update(Update.de_json(update, liaison.app.bot))
    await liaison.settle()
    assert sum("Qui doit le recevoir" in t for t in chief.texts) == 1

    # Two presses on Seen (a double tap): one confirmation, one audit entry, one edit of the copy.
    await customs.tap("☑️ Lu")
    await customs.tap("☑️ Lu")
    await liaison.settle()
    assert "Déjà confirmé" in customs.callback_answers[-1]["text"]
    assert len(await liaison.rows(AuditEntry, AuditEntry.action == "notice.seen")) == 1
    edits = await liaison.rows(
        Notification, Notification.method == "editMessageText", Notification.chat_id == customs.id
    )
    assert len(edits) == 1
    # A double tap on "Remind them": one reminder each.
    await chief.tap("🔔 Les relancer", message_id=copy_of(chief, 1).message_id)
    await chief.tap("🔔 Les relancer", message_id=copy_of(chief, 1).message_id)
    await liaison.settle()
    assert len(reminders_of(police, 1)) == 1 and not reminders_of(customs, 1)


def stated_room(refusal: str) -> int:
    """The room for text a refusal states ("… which leaves 3,912 for your text")."""
    import re

    match = re.search(r"(?:laisse|leaves) ([\d\u202f,\u00a0 ]+) (?:pour|for)", refusal)
    assert match, refusal
    return int(re.sub(r"\D", "", match.group(1)))


async def test_oversized_and_hostile_input(liaison: Harness) -> None:
    customs, police, _health, chief = await post_team(liaison)
    await chief.send("/notice")
    await liaison.settle()
    await tap(liaison, chief, "👥 Everyone")

    # Without an attachment: Telegram's 4,096 characters, heading included; refused with the limit stated.
    await chief.send("é" * 4100)
    await liaison.settle()
    refusal = chief.last.text
    assert "4\u202f100 caractères" in refusal and "limite un message à 4\u202f096 caractères" in refusal
    room = stated_room(refusal)
    assert 3800 < room < 4000 and f"raccourcissez-le de {4100 - room}" in refusal.replace("\u202f", "")
    [draft] = await liaison.rows(Draft)
    assert draft.step == "text" and "text" not in draft.data

    # With a photo: Telegram's caption limit of 1,024; neither the photo nor its caption is kept.
    await chief.send_photo(caption="x" * 1000)
    await liaison.settle()
    refusal = chief.last.text
    assert "limite une légende à 1\u202f024 caractères" in refusal and "sans pièce jointe" in refusal
    caption_room = stated_room(refusal)
    assert 800 < caption_room < 1000
    [draft] = await liaison.rows(Draft)
    assert draft.step == "text" and "attachment_kind" not in draft.data

    # Exactly what fits is taken (and Telegram, played by the emulator, accepts every copy).
    await chief.send("é" * room)
    await liaison.settle()
    assert chief.last.text.startswith("Vérifiez votre avis")
    # A photo added to that text no longer fits a caption: refused, the text kept.
    await tap(liaison, chief, "📎 Photo or document")
    await chief.send_photo()
    await liaison.settle()
    assert "1\u202f024" in chief.last.text
    # The second version is held to the same limit.
    await tap(liaison, chief, "↩️ Back")
    await chief.tap("🌐 Ajouter la version en anglais")
    await liaison.settle()
    await chief.send("e" * (room + 1))
    await liaison.settle()
    assert "raccourcissez-le de 1." in chief.last.text
    await tap(liaison, chief, "↩️ Back")
    await tap(liaison, chief, "✅ Send")
    notice = (await liaison.rows(Notice))[0]
    assert notice.attachment_kind is None and notice.texts == {"fr": "é" * room}
    assert "é" * room in copy_of(police, 1).text and len(copy_of(police, 1).text) <= 4096
    assert not await liaison.rows(Notification, Notification.state == "failed")

    # A photo with a caption of exactly the room left is taken and delivered.
    await write_notice(liaison, chief, "c" * caption_room, photo=True)
    assert copy_of(customs, 2).photo is not None and len(copy_of(customs, 2).text) <= 1024

    # Hostile text is shown as written, never as markup, in copies, the card and the names.
    hostile = "<script>alert('x')</script> & <b>gras</b> </i> 🚨 \u202eالمهاجرون\u202c &amp; &lt;"
    await write_notice(liaison, chief, hostile)
    copy = copy_of(police, 3)
    assert hostile in copy.text and not [e for e in copy.entities if e["type"] == "bold" and e["length"] == 4]
    assert "&lt;script&gt;" in copy.html
    assert "&lt;b&gt;gras" in copy_of(chief, 3).html
    assert not await liaison.rows(Notification, Notification.state == "failed")


async def test_a_restart_mid_fan_out_gives_everyone_exactly_one_copy(liaison: Harness) -> None:
    readers = [await liaison.member(f"Agent{n}", service="customs") for n in range(6)]
    chief = await liaison.member("Ibrahim", service="gendarmerie", role="chief")
    await write_notice(liaison, chief, "Coupure d'électricité prévue cette nuit.", send=False)
    # The draft survives a restart at its summary.
    await liaison.restart()
    await chief.tap("✅ Envoyer")
    await liaison.process_updates()  # the notice and its copies are committed; nothing delivered yet
    queued = await liaison.rows(Notification, Notification.ref_type == "notice")
    assert len(queued) == 7 and {n.state for n in queued} == {"pending"}
    # The process dies with two of them in flight (claimed, not yet sent).
    async with liaison.db.transaction() as session:
        from sqlalchemy import update

        ids = sorted(
            n.id for n in queued if n.card_key and n.card_key.count(":") == 2 and "card" not in n.card_key
        )
        await session.exec(
            update(Notification)
            .where(Notification.id.in_(ids[:2]))
            .values(state="sending", claimed_by="test")
        )
    await liaison.restart()
    worker = liaison.runtime.delivery
    assert worker is not None
    await worker.start()  # as `liaison run` does: rows this instance left in flight go back to the queue
    await worker.stop()
    await liaison.settle()
    for reader in readers:
        assert sum("Coupure d'électricité" in t for t in reader.texts) == 1
    assert sum(t.startswith("📢 Avis n°1") for t in chief.texts) == 1  # the card
    # Send pressed again after the restart (an old summary, a forged press): nothing more is sent.
    await chief.tap_forged("nt:ok:1", chief.find("Vérifiez votre avis").message_id)
    await liaison.settle()
    assert len(await liaison.rows(Notice)) == 1
    assert all(sum("Coupure" in t for t in r.texts) == 1 for r in readers)


async def test_a_burst_of_confirmations_edits_the_card_once_per_interval(liaison: Harness) -> None:
    readers = [await liaison.member(f"Agent{n}", service=("customs", "police")[n % 2]) for n in range(12)]
    chief = await liaison.member("Ibrahim", service="gendarmerie", role="chief")
    await write_notice(liaison, chief, "Rappel : port de l'uniforme obligatoire.")
    card = copy_of(chief, 1)
    for reader in readers[:10]:
        await reader.tap("☑️ Lu")
    await liaison.settle()
    assert card.edits == []  # ten confirmations within one interval: no edit yet
    await liaison.advance(5)
    assert len(card.edits) == 1 and "👁 Lu 10 / 12" in card.text
    for reader in readers[10:]:
        await reader.tap("☑️ Lu")
        await liaison.settle()
        await liaison.advance(1)
    await liaison.advance(5)
    assert len(card.edits) == 2 and "👁 Lu 12 / 12" in card.text and "✅ Tout le monde l'a lu." in card.text
    jobs = await liaison.rows(ScheduledJob, ScheduledJob.kind == "notice_card")
    assert len(jobs) == 2


async def test_a_routine_notice_never_delays_an_urgent_alert(liaison: Harness) -> None:
    readers = [await liaison.member(f"Agent{n}", service="health") for n in range(40)]
    chief = await liaison.member("Ibrahim", service="gendarmerie", role="chief")
    await write_notice(liaison, chief, "Campagne de vaccination la semaine prochaine.", send=False)
    await chief.tap("✅ Envoyer")
    await liaison.process_updates()
    await readers[0].send("/alert urgent santé: voyageur avec forte fièvre porte 2")
    await liaison.process_updates()
    notice_rows = await liaison.rows(Notification, Notification.ref_type == "notice")
    alert_rows = await liaison.rows(Notification, Notification.ref_type == "alert")
    assert {n.priority for n in notice_rows if n.card_key != "nt:1:card"} == {3}
    assert {n.priority for n in alert_rows} == {0}
    # Within Telegram's rate, paced second by second: no copy of the notice goes while the alert waits.
    worker = liaison.runtime.delivery
    assert worker is not None
    rounds = 0
    while True:
        await worker.drain(respect_limits=True)
        rows = await liaison.rows(Notification)
        alerts_waiting = [n for n in rows if n.ref_type == "alert" and n.state != "sent"]
        notices_sent = [
            n for n in rows if n.ref_type == "notice" and n.state == "sent" and n.card_key != "nt:1:card"
        ]
        if alerts_waiting:
            assert not notices_sent, (len(alerts_waiting), len(notices_sent))
        if not [n for n in rows if n.state == "pending"]:
            break
        liaison.clock.advance(1)
        rounds += 1
    assert rounds >= 2 and len(notices_sent) == 40
    await liaison.settle()


async def test_important_notices_ring_and_go_ahead_of_routine_ones(liaison: Harness) -> None:
    customs, police, _health, chief = await post_team(liaison)
    await write_notice(liaison, chief, "Visite du ministre demain.", important=True)
    copy = copy_of(customs, 1)
    assert first_line(copy) == "⚠️ AVIS IMPORTANT n°1 · Birni N'Konni" and not copy.disable_notification
    assert first_line(copy_of(police, 1)) == "⚠️ IMPORTANT NOTICE #1 · Birni N'Konni"
    rows = await liaison.rows(
        Notification, Notification.method == "sendMessage", Notification.ref_type == "notice"
    )
    assert {n.priority for n in rows} == {2}
    [sent] = await liaison.rows(AuditEntry, AuditEntry.action == "notice.sent")
    assert sent.details["importance"] == "important" and sent.details["bilingual"] is False


async def test_the_notices_list_confirms_and_opens_copies(liaison: Harness) -> None:
    customs, police, _health, chief = await post_team(liaison)
    other_chief = await liaison.member("Halima", service="health", role="chief", language="en")
    await write_notice(liaison, chief, "Premier avis : horaires.", photo=True, second="First notice: hours.")
    await write_notice(liaison, chief, "Deuxième avis : tenue.")
    await police.tap("☑️ Seen", message_id=copy_of(police, 2).message_id)
    await liaison.settle()

    await police.send("/notices")
    await liaison.settle()
    listing = police.last
    assert listing.text.startswith("Notices in force · 1 unread")
    # Unread first: #1 (unread) above #2 (seen).
    assert listing.text.index("#1") < listing.text.index("#2") and "“First notice: hours.”" in listing.text
    assert listing.buttons() == ["☑️ Seen #1", "📖 Read #1", "📖 Read #2"]

    # Read #1 again: the photo with the English caption and its Seen button.
    await police.tap("📖 Read #1")
    await liaison.settle()
    again = police.last
    assert again.photo is not None and "First notice: hours." in again.text and again.buttons() == ["☑️ Seen"]
    # Seen from the list: recorded, and the list redraws itself.
    await police.tap("☑️ Seen #1", message_id=listing.message_id)
    await liaison.settle()
    assert "Seen at 9:00" in police.callback_answers[-1]["text"]
    assert listing.text.startswith("Notices in force\n") and listing.buttons() == ["📖 Read #2", "📖 Read #1"]
    assert "✓ Seen 9:00" in copy_of(police, 1).text  # the original copy follows through the outbox
    # The copy opened again is now stale: its Seen answers that it is already confirmed.
    await police.tap("☑️ Seen", message_id=again.message_id)
    assert "Already confirmed" in await answer_of(liaison, police)

    # A second chief of the post follows both; the count opens with Refresh, Who and Remind.
    await other_chief.send("/notices")
    await liaison.settle()
    follows = other_chief.last
    assert "Notices you follow" in follows.text and "#1" in follows.text
    # Each followed notice shows its beginning: a number and a post do not tell two notices apart.
    assert "“First notice: hours.”" in follows.text.split("Notices you follow", 1)[1], follows.text
    assert "📊 #1 · 1/4" in follows.buttons()
    await other_chief.tap("📊 #1 · 1/4")
    await liaison.settle()
    count = other_chief.last
    assert "👁 Seen 1 / 4" in count.text
    assert count.buttons() == ["🔄 Refresh", "🙈 Who has not read it?", "🔔 Remind them"]
    await customs.tap("☑️ Lu", message_id=copy_of(customs, 1).message_id)
    await liaison.settle()
    await other_chief.tap("🔄 Refresh", message_id=count.message_id)
    await liaison.settle()
    assert "👁 Seen 2 / 4" in count.text

    # An agent has nothing to follow; a member with nothing in force is told so.
    newcomer = await liaison.member("Zara", post="NE-MAKALONDI", service="police", language="en")
    await newcomer.send("/notices")
    await liaison.settle()
    assert newcomer.last.text == "No notice in force for you."


async def test_the_draft_options_cancel_and_a_returning_member(liaison: Harness) -> None:
    _customs, police, _health, chief = await post_team(liaison)
    await write_notice(liaison, chief, "Brouillon", send=False)
    await tap(liaison, chief, "⚠️ Make it important")
    assert "⚠️ Important" in chief.last.text
    await tap(liaison, chief, "🔕 Make it routine")
    assert "🔕 Ordinaire" in chief.last.text
    # /cancel in the middle of typing the text drops the draft and says so.
    await tap(liaison, chief, "✏️ Text")
    await chief.send("/cancel")
    await liaison.settle()
    assert chief.last.text == "Avis annulé. Rien n'a été envoyé."
    assert not await liaison.rows(Draft)
    # The Cancel button of a new draft does the same.
    await chief.send("/notice")
    await liaison.settle()
    await tap(liaison, chief, "❌ Cancel")
    assert chief.last.text == "Avis annulé. Rien n'a été envoyé." and not await liaison.rows(Notice)

    # One line: /notice with its text keeps it and only asks who.
    await chief.send("/notice Réunion à 15 h.")
    await liaison.settle()
    await tap(liaison, chief, "👥 Everyone")
    assert "Réunion à 15 h." in chief.last.text and chief.last.text.startswith("Vérifiez votre avis")

    # Police had blocked the bot: its copy is unreachable; when John talks again, it comes again, once.
    await police.block()
    await liaison.settle()
    await tap(liaison, chief, "✅ Send")
    [john] = [
        n for n in await liaison.rows(Notification) if n.chat_id == police.id and n.ref_type == "notice"
    ]
    assert john.state == "unreachable"
    await police.unblock()
    await police.send("/help")
    await liaison.settle()
    assert sum("Réunion à 15 h." in t for t in police.texts) == 1
    await police.tap("☑️ Seen", message_id=copy_of(police, 1).message_id)
    await liaison.settle()
    assert "✓ Seen" in copy_of(police, 1).text
    await police.send("/help")
    await liaison.settle()
    assert sum("Réunion à 15 h." in t for t in police.texts) == 1


async def test_an_old_cancel_button_touches_neither_the_sent_notice_nor_the_next_draft(
    liaison: Harness,
) -> None:
    customs, _police, _health, chief = await post_team(liaison)
    cancel = label(chief, "❌ Cancel")
    await write_notice(liaison, chief, "Premier avis.", send=False)
    # The question that asked for the text of notice 1 shows its Cancel button until the notice goes; a
    # phone that has not redrawn it yet can still press it.
    [old] = [m for m in chief.inbox[:-1] if cancel in m.buttons()]
    old_id, old_text, old_data = old.message_id, old.text, button_data(old, cancel)
    await tap(liaison, chief, "✅ Send")

    def old_message() -> Any:
        [message] = [m for m in chief.inbox if m.message_id == old_id]
        return message

    assert old_message().buttons() == []

    # Notice 2 is being written when the old button is pressed: its draft is left alone.
    await write_notice(liaison, chief, "Deuxième avis.", send=False)
    [second] = await liaison.rows(Draft)
    await chief.tap_forged(old_data, old_id)
    assert await answer_of(liaison, chief) == label(chief, "This draft is closed.")
    assert old_message().text == old_text
    assert [d.id for d in await liaison.rows(Draft)] == [second.id]
    [old] = [m for m in chief.inbox[:-1] if cancel in m.buttons()]
    old_id, old_text, old_data = old.message_id, old.text, button_data(old, cancel)
    await tap(liaison, chief, "✅ Send")
    assert [n.texts["fr"] for n in await liaison.rows(Notice)] == ["Premier avis.", "Deuxième avis."]
    assert sum("Deuxième avis." in t for t in customs.texts) == 1

    # Notice 2 sent, its own old Cancel button: already sent, and its message still says what was asked.
    assert old_message().buttons() == []
    await chief.tap_forged(old_data, old_id)
    assert await answer_of(liaison, chief) == label(chief, "Already sent: a notice is only sent once.")
    assert old_message().text == old_text
    assert label(chief, "Notice cancelled. Nothing was sent.") not in chief.texts
    assert len(await liaison.rows(Notice)) == 2


async def test_the_review_log_reads_notices(liaison: Harness) -> None:
    from bot.i18n import translator
    from handlers.notices import FEATURE

    customs, police, _health, chief = await post_team(liaison)
    coordinator = await liaison.member("Claire", role="coordinator", language="en")
    await write_notice(
        liaison,
        chief,
        "Avis <b>test</b> pour le journal.",
        second="Notice <b>test</b> for the log.",
        important=True,
    )
    await liaison.advance(timedelta(minutes=12))
    await police.tap("☑️ Seen")
    await liaison.settle()
    await liaison.advance(timedelta(minutes=110))
    [kind] = FEATURE.log_kinds
    assert (kind.key, kind.action_prefixes) == ("notices", ("notice.",))
    entries = {e.action: e for e in await liaison.rows(AuditEntry) if e.object_type == "notice"}
    en, fr = translator("en"), translator("fr")
    assert kind.summary is not None and kind.detail is not None
    assert kind.summary(entries["notice.sent"], en, liaison.runtime) == (
        "Notice #1 sent to 3 people · important · in French and English"
    )
    assert (
        kind.summary(entries["notice.seen"], fr, liaison.runtime)
        == "Avis n°1 confirmé lu, 12 min après l'envoi"
    )
    assert (
        kind.summary(entries["notice.reminded"], en, liaison.runtime)
        == "Notice #1: reminder to 2 people (automatic)"
    )
    assert kind.summary(entries["notice.delivered"], en, liaison.runtime) == "Notice #1 delivered to 3 of 3"
    coordinator_row = await member_row(liaison, coordinator)
    customs_row = await member_row(liaison, customs)
    async with liaison.db.reading() as session:
        detail = await kind.detail(session, liaison.runtime, entries["notice.sent"], en, coordinator_row)
        assert detail is not None
        assert "Notice &lt;b&gt;test&lt;/b&gt; for the log." in detail and "👁 Seen 1 / 3" in detail
        assert "✅ National Police 1/1" in detail and "⏳ Customs 0/1" in detail
        # An agent of the post does not follow it: nothing more to show.
        assert await kind.detail(session, liaison.runtime, entries["notice.sent"], fr, customs_row) is None


async def test_a_confirmation_still_committing_when_the_card_is_redrawn_is_counted(liaison: Harness) -> None:
    import asyncio

    from handlers.notices import service

    customs, police, _health, chief = await post_team(liaison)
    await write_notice(liaison, chief, "Contrôle des extincteurs.")
    await customs.tap("☑️ Lu")
    await liaison.settle()
    police_row = await member_row(liaison, police)
    scheduler = liaison.runtime.scheduler
    assert scheduler is not None
    # John's confirmation is written but not committed when the interval ends and the redraw starts.
    async with liaison.db.transaction() as session:
        result = await service.confirm(session, liaison.runtime, notice_id=1, member=police_row)
        assert result.outcome == service.SeenOutcome.SEEN
        liaison.clock.advance(5)
        redraw = asyncio.create_task(scheduler.run_due())
        await asyncio.sleep(0.3)
        assert not redraw.done()  # it waits for the confirmation in flight...
    await redraw
    await liaison.settle()
    assert "👁 Lu 2 / 3" in copy_of(chief, 1).text  # ...and counts it


async def test_presses_arriving_together_are_committed_together_and_counted_once(liaison: Harness) -> None:
    import asyncio

    readers = [await liaison.member(f"Agent{n}", service=("customs", "police")[n % 2]) for n in range(8)]
    chief = await liaison.member("Ibrahim", service="gendarmerie", role="chief")
    far = await liaison.member("Kader", post="NE-MAKALONDI", service="customs")
    await write_notice(liaison, chief, "Consigne : registre des passages à jour chaque soir.")
    for reader in readers:
        await reader.tap("☑️ Lu")
    await readers[0].tap_forged("nt:seen:1", copy_of(readers[0], 1).message_id)  # a double tap
    await far.tap_forged("nt:seen:1", far.last.message_id)  # not a recipient
    # Fetched as polling does, then handled at the same moment (different people's updates run concurrently;
    # here even one person's two presses do).
    bot = liaison.app.bot
    updates = await bot.get_updates(offset=liaison._offset, timeout=0)
    liaison._offset = updates[-1].update_id + 1
    await bot.get_updates(offset=liaison._offset, timeout=0)
    assert len(updates) == 10
    await asyncio.gather(*(liaison.app.process_update(u) for u in updates))
    await liaison.settle()
    answers = [r.callback_answers[-1]["text"] for r in readers]
    assert (
        sum("Lu à 09:00" in a for a in answers) == 7
        and "Déjà confirmé" in readers[0].callback_answers[-1]["text"]
    )
    assert "Lu à 09:00" in readers[0].callback_answers[-2]["text"]
    assert "ne vous a pas été adressé" in far.callback_answers[-1]["text"]
    assert len(await liaison.rows(AuditEntry, AuditEntry.action == "notice.seen")) == 8
    assert all(r.seen_at is not None for r in await liaison.rows(NoticeRecipient))
    for reader in readers:
        assert "✓ Lu 09:00" in copy_of(reader, 1).text and copy_of(reader, 1).buttons() == []
    await liaison.advance(5)
    assert "👁 Lu 8 / 8" in copy_of(chief, 1).text


async def test_an_important_notice_is_pinned_while_valid_and_unpinned_at_expiry(liaison: Harness) -> None:
    customs, police, _health, chief = await post_team(liaison)
    await write_notice(
        liaison, chief, "Fermeture de la frontière nord ce week-end.", important=True, send=False
    )
    await tap(liaison, chief, "📅 Validity")
    await chief.tap("1 jour")
    await liaison.settle()
    await tap(liaison, chief, "✅ Send")
    for reader in (customs, police, _health):
        copy = copy_of(reader, 1)
        assert copy.pinned and reader.chat.pinned == [copy.message_id] and not copy.disable_notification
    pins = await liaison.rows(Notification, Notification.method == "pinChatMessage")
    assert len(pins) == 3 and all(p.payload == {"disable_notification": True} for p in pins)
    assert {p.state for p in pins} == {"sent"}
    assert not copy_of(chief, 1).pinned  # the sender's card is not a copy

    # Reading does not unpin: the notice stays in sight while it is valid.
    await police.tap("☑️ Seen")
    await liaison.settle()
    assert copy_of(police, 1).pinned
    await liaison.advance(timedelta(days=1))
    for reader in (customs, police, _health):
        assert not copy_of(reader, 1).pinned and reader.chat.pinned == []
    unpins = await liaison.rows(Notification, Notification.method == "unpinChatMessage")
    assert len(unpins) == 3 and {u.state for u in unpins} == {"sent"}

    # Expired before its pins went out (Telegram unreachable meanwhile): never pinned, nothing left pinned.
    await write_notice(liaison, chief, "Deuxième avis important.", important=True, send=False)
    await tap(liaison, chief, "📅 Validity")
    await chief.tap("1 jour")
    await liaison.settle()
    await chief.tap("✅ Envoyer")
    await liaison.process_updates()  # sent, nothing delivered yet
    liaison.clock.advance(timedelta(days=1, minutes=1))
    scheduler = liaison.runtime.scheduler
    assert scheduler is not None
    await scheduler.run_due()
    await liaison.settle()
    second = [n for n in await liaison.rows(Notification) if n.ref_id == 2 and "pin" in n.method.lower()]
    assert {(n.method, n.state) for n in second} == {
        ("pinChatMessage", "superseded"),
        ("unpinChatMessage", "sent"),
    }
    assert all(reader.chat.pinned == [] for reader in (customs, police, _health))


async def test_a_notice_with_a_document_goes_as_the_file_with_its_caption(liaison: Harness) -> None:
    customs, police, _health, _chief = await post_team(liaison)
    coordinator = await liaison.member("Claire", role="coordinator", language="en")
    await to_every_post(liaison, coordinator)
    file_id = await coordinator.send_document(
        caption="New customs tariff attached: read it before Monday.", file_name="tarif.pdf"
    )
    await liaison.settle()
    summary = coordinator.last.text
    assert summary.startswith("Check your notice") and "📄 With a document: tarif.pdf" in summary
    await tap(liaison, coordinator, "✅ Send")
    copy = copy_of(police, 1)
    assert copy.kind == "document" and copy.document == file_id and "read it before Monday" in copy.text
    assert copy.buttons() == ["☑️ Seen"]
    await police.tap("☑️ Seen")
    await liaison.settle()
    copy = copy_of(police, 1)
    assert "✓ Seen 9:00" in copy.text and copy.buttons() == [] and copy.document == file_id
    # Read again from /notices: the file comes again, with its caption.
    await customs.send("/notices")
    await liaison.settle()
    await customs.tap("📖 Lire n°1")
    await liaison.settle()
    assert customs.last.document == file_id and customs.last.buttons() == ["☑️ Lu"]
    await customs.tap("☑️ Lu", message_id=customs.last.message_id)
    await liaison.settle()
    assert "✓ Lu 09:00" in customs.last.text and "✓ Lu 09:00" in copy_of(customs, 1).text
    assert not await liaison.rows(Notification, Notification.state == "failed")


ENGLISH_WORDS = re.compile(
    r"\b(the|your|you|and|with|Next|Cancel|Send|Seen|Notice|notice|people|Remind|read|Who|Valid|From|To)\b"
)
FRENCH_WORDS = re.compile(
    r"\b(les|des|Avis|avis|Lu|Envoyer|Annuler|personnes|Relancer|Valable|Envoyé|jusqu)\b"
)


def in_language(text: str, wrong: re.Pattern[str]) -> None:
    """No interface word of the other language in a message (names of people, posts, services and the
    notice's own text aside)."""
    for word in ("Birni N'Konni", "Makalondi", "Kantchari", FR_TEXT, EN_TEXT):
        text = text.replace(word, "")
    found = wrong.findall(text)
    assert not found, (found, text)


async def test_every_notice_screen_reads_in_the_readers_language(liaison: Harness) -> None:
    customs, police, _health, chief = await post_team(liaison)
    coordinator = await liaison.member("Claire", role="coordinator", language="en")
    seen_by: dict[str, list[str]] = {"fr": [], "en": []}

    async def step(user: EmulatedUser, language: str, action: Any) -> None:
        before = {m.message_id: m.text for m in user.inbox}
        await action
        await liaison.settle()
        for message in user.inbox:
            if before.get(message.message_id) != message.text:
                seen_by[language].append(message.text or "")
        answers = [a["text"] for a in user.callback_answers if a["text"]]
        seen_by[language] += answers[-1:]

    # A French chief: every step and option of /notice.
    await step(chief, "fr", chief.send("/notice"))
    await step(chief, "fr", chief.tap("☐ Douane"))
    await step(chief, "fr", chief.tap("Suivant ▶"))
    await step(chief, "fr", chief.send("é" * 4100))
    await step(chief, "fr", chief.send(FR_TEXT))
    for option in ("✏️ Texte", "🌐 Ajouter la version en anglais", "📎 Photo ou document", "📅 Validité"):
        await step(chief, "fr", chief.tap(option))
        await step(chief, "fr", chief.tap("↩️ Retour"))
    await step(chief, "fr", chief.tap("📅 Validité"))
    await step(chief, "fr", chief.send("demain"))
    await step(chief, "fr", chief.send("31/12 10:00"))
    await step(chief, "fr", chief.tap("⚠️ Le rendre important"))
    await step(chief, "fr", chief.tap("✅ Envoyer"))
    await step(chief, "fr", chief.tap("🙈 Qui ne l'a pas lu ?"))
    await step(chief, "fr", chief.tap("🔔 Les relancer"))
    await step(chief, "fr", chief.tap("🔔 Les relancer"))
    await step(chief, "fr", chief.send("/notices"))
    await step(chief, "fr", chief.tap("📊 n°1 · 0/1"))
    # A French agent reads, confirms, opens the list.
    await step(customs, "fr", customs.tap("☑️ Lu", message_id=reminders_of(customs, 1)[0].message_id))
    await step(customs, "fr", customs.tap_forged("nt:seen:1", copy_of(customs, 1).message_id))
    await step(customs, "fr", customs.send("/notices"))
    await step(customs, "fr", customs.tap("📖 Lire n°1"))
    await step(police, "en", police.tap_forged("nt:seen:1", police.last.message_id))
    await step(police, "en", police.send("/notices"))
    # An English coordinator, to two posts, with a second version.
    await step(coordinator, "en", coordinator.send("/notice"))
    await step(coordinator, "en", coordinator.tap("Next ▶"))
    await step(coordinator, "en", coordinator.tap("☐ Birni N'Konni"))
    await step(coordinator, "en", coordinator.tap("☐ Kantchari"))
    await step(coordinator, "en", coordinator.tap("Next ▶"))
    await step(coordinator, "en", coordinator.tap("Next ▶"))
    await step(coordinator, "en", coordinator.tap("👥 Everyone"))
    await step(coordinator, "en", coordinator.send(EN_TEXT))
    await step(coordinator, "en", coordinator.tap("🌐 Add the French version"))
    await step(coordinator, "en", coordinator.send(FR_TEXT))
    await step(coordinator, "en", coordinator.tap("✅ Send"))
    await step(police, "en", police.tap("☑️ Seen", message_id=copy_of(police, 2).message_id))
    await liaison.advance(5)
    await step(coordinator, "en", coordinator.tap("🙈 Who has not read it?"))
    await step(coordinator, "en", coordinator.send("/notices"))
    seen_by["en"] += [copy_of(coordinator, 2).text or "", copy_of(police, 2).text or ""]
    seen_by["fr"] += [copy_of(chief, 1).text or "", copy_of(customs, 2).text or ""]
    if __import__("os").environ.get("NT_DUMP"):
        print("\n\n=====\n".join(seen_by["fr"] + ["#### EN ####"] + seen_by["en"]))
    assert len(seen_by["fr"]) > 30 and len(seen_by["en"]) > 15
    for text in seen_by["fr"]:
        in_language(text, ENGLISH_WORDS)
    for text in seen_by["en"]:
        in_language(text, FRENCH_WORDS)


async def test_the_senders_confirmation_comes_under_the_card_it_points_to(liaison: Harness) -> None:
    _customs, _police, _health, chief = await post_team(liaison)
    english_chief = await liaison.member("Halima", service="health", role="chief", language="en")

    # The confirmation says the card is above it, and on the phone it is: card, then confirmation, last.
    await write_notice(liaison, chief, FR_TEXT)
    assert chief.inbox[-2] is copy_of(chief, 1)
    assert (
        chief.last.text == "✅ Avis n°1 envoyé à 4 personnes (1 poste). La fiche ci-dessus compte qui l'a lu."
    )
    await write_notice(liaison, english_chief, EN_TEXT)
    assert english_chief.inbox[-2] is copy_of(english_chief, 2)
    assert english_chief.last.text == (
        "✅ Notice #2 sent to 4 people (1 post). The card above counts who has read it."
    )


async def test_quotation_marks_follow_the_readers_language(liaison: Harness) -> None:
    customs, police, _health, _chief = await post_team(liaison)
    english_chief = await liaison.member("Halima", service="health", role="chief", language="en")
    await write_notice(liaison, english_chief, EN_TEXT, second=FR_TEXT)

    # The English sender's card quotes the text the English way.
    card = copy_of(english_chief, 1).text
    assert f"“{EN_TEXT}”" in card and "«" not in card
    # Reminders: English quotes for John, French ones for Awa, each around their own version.
    await tap(liaison, english_chief, "🔔 Remind them")
    [john] = reminders_of(police, 1)
    [awa] = reminders_of(customs, 1)
    assert f"“{EN_TEXT}”" in john.text and "«" not in john.text
    assert f"« {FR_TEXT} »" in awa.text and "“" not in awa.text
    # The lists of notices in force: the same.
    await police.send("/notices")
    await customs.send("/notices")
    await liaison.settle()
    assert f"   “{EN_TEXT}”" in police.last.text and "«" not in police.last.text
    # Cut to 90 characters between words: "...de chaque service…", never "...service ob…".
    shown = FR_TEXT.removesuffix(" obligatoire.")
    assert f"   « {shown}… »" in customs.last.text and "“" not in customs.last.text


async def test_a_chief_of_the_whole_post_is_counted_among_the_post_chiefs(liaison: Harness) -> None:
    """The tally named a chief of no service 'no service (1): Ibrahim': they are the post's chiefs."""
    from bot.i18n import translator
    from handlers.notices import service
    from handlers.notices.render import render_unread

    await liaison.member("Awa", service="customs", language="fr")
    chief = await liaison.member("Ibrahim", service=None, role="chief", language="fr")
    claire = await liaison.member("Claire", role="coordinator", language="en")
    aminata = await liaison.member("Aminata", role="coordinator", language="fr")
    await write_notice(liaison, claire, EN_TEXT, posts=["Birni N'Konni"])
    card = copy_of(claire, 1).text or ""
    assert "⏳ Customs 0/1" in card and "⏳ Post chiefs 0/1" in card and "no service" not in card
    await tap(liaison, claire, "🙈 Who has not read it?")
    who = claire.last.text or ""
    assert "Customs (1): Awa" in who and "Post chiefs (1): Ibrahim" in who and "no service" not in who
    assert who.index("Customs (1)") < who.index("Post chiefs (1)")
    # In French, for a coordinator who follows it too.
    async with liaison.db.reading() as session:
        found = await service.unread(
            session, liaison.runtime, notice_id=1, member=await member_row(liaison, aminata)
        )
    assert found is not None
    listed = render_unread(liaison.config, translator("fr"), found.view, found.names, found.total)
    assert "<b>Chefs de poste</b> (1) : Ibrahim" in listed and "sans service" not in listed
    # The chief reads it: the card counts them among the post chiefs.
    await chief.tap("☑️ Lu", message_id=copy_of(chief, 1).message_id)
    await liaison.settle()
    await liaison.advance(5)
    assert "✅ Post chiefs 1/1" in copy_of(claire, 1).text


async def test_the_logs_delivery_check_counts_the_people_other_than_the_author(liaison: Harness) -> None:
    """'delivered to N of M' counts the readers' copies only: the author's card is no one told."""
    from bot.i18n import translator
    from handlers.notices import FEATURE

    _customs, police, _health, chief = await post_team(liaison)
    await police.block()
    await liaison.settle()
    await write_notice(liaison, chief, FR_TEXT)
    author = await member_row(liaison, chief)
    # The author's card went out through the outbox under the notice too: it must not be counted.
    cards = await liaison.rows(
        Notification, Notification.ref_type == "notice", Notification.chat_id == chief.id
    )
    assert cards and all(c.state == "sent" for c in cards)
    await liaison.advance(timedelta(minutes=1))
    [entry] = await liaison.rows(AuditEntry, AuditEntry.action == "notice.delivered")
    details = entry.details or {}
    assert (details["sent"], details["unreachable"], details["pending"], details["failed"]) == (2, 1, 0, 0)
    recipients = await liaison.rows(NoticeRecipient)
    assert len(recipients) == 3 and author.id not in {r.member_id for r in recipients}
    [kind] = FEATURE.log_kinds
    assert kind.summary is not None
    assert kind.summary(entry, translator("en"), liaison.runtime) == "Notice #1 delivered to 2 of 3"
    assert kind.summary(entry, translator("fr"), liaison.runtime) == "Avis n°1 remis à 2 sur 3"
