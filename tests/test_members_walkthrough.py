"""What a user walkthrough of /members found: a removed member is told, a chief is sent to a coordinator, the
status words need no gender in French, a stale button about a removed member says so, and a coordinator's
joining reads as joining Liaison in the log."""

from __future__ import annotations

from db.audit import AuditEntry
from db.members import Member
from db.outbox import DeliveryState, Notification
from sandbox.emulator import EmulatedUser, ReceivedMessage
from tests.factories import button_data, member_row, members_by_name, press, press_text
from tests.harness import Harness

REMOVED_FR = (
    "Votre accès à Liaison au poste de Birni N'Konni a été retiré par un chef de poste. "
    "Contactez votre chef de poste."
)
REMOVED_EN = (
    "Your access to Liaison at the Birni N'Konni post has been removed by a post chief. "
    "Contact your post chief."
)


async def roster_of(liaison: Harness, user: EmulatedUser, post: str | None = None) -> ReceivedMessage:
    """/members (a coordinator picks `post`): the message showing the roster."""
    await user.send("/members")
    await liaison.settle()
    if post is not None:
        await press_text(user, post)
        await liaison.settle()
    return user.last


async def change(liaison: Harness, user: EmulatedUser, message: ReceivedMessage, *buttons: str) -> None:
    """Press these buttons (English labels) one after the other on `message`."""
    for button in buttons:
        await press(user, button, message)
        await liaison.settle()


async def act_on(liaison: Harness, coordinator: EmulatedUser, name: str, *buttons: str) -> None:
    """A coordinator opens Birni N'Konni's roster, then `name`'s card, and presses these buttons on it."""
    roster = await roster_of(liaison, coordinator, post="Birni N'Konni")
    await press_text(coordinator, f"⚙ {name}", roster)
    await liaison.settle()
    await change(liaison, coordinator, roster, *buttons)


async def access_notes(liaison: Harness, user: EmulatedUser) -> list[Notification]:
    """The outbox rows telling `user` their access changed."""
    member_id = (await member_row(liaison, user)).id
    return await liaison.rows(
        Notification, Notification.ref_type == "access", Notification.member_id == member_id
    )


async def test_a_removed_member_is_told_in_their_language_and_loses_the_alert_key(liaison: Harness) -> None:
    chief = await liaison.member("Ibrahim", role="chief", service="police", language="fr")
    issa = await liaison.member("Issa", language="fr")
    john = await liaison.member("John", service="health", language="en")

    for user, note in ((issa, REMOVED_FR), (john, REMOVED_EN)):
        roster = await roster_of(liaison, chief)
        await press_text(chief, f"⚙ {user.state.first_name}", roster)
        await liaison.settle()
        await change(liaison, chief, roster, "Remove", "Yes, remove")
        # Told once, in their language, naming only the actor's role; the 🚨 key leaves the phone.
        assert user.last.text == note
        assert user.last.reply_markup == {"remove_keyboard": True}
        assert "Ibrahim" not in user.last.text
        notes = await access_notes(liaison, user)
        assert [n.state for n in notes] == [DeliveryState.SENT]
        assert (await member_row(liaison, user)).status == "removed"

    logged = await liaison.rows(AuditEntry, AuditEntry.action == "member.removed")
    assert len(logged) == 2
    # Removed, Issa is a stranger to the bot now; the note was the last thing he was sent by it about access.
    await issa.send("/help")
    await liaison.settle()
    assert "Votre accès" not in issa.last.text and issa.texts.count(REMOVED_FR) == 1


async def test_a_chief_or_a_coordinator_decision_sends_the_member_to_a_coordinator(liaison: Harness) -> None:
    coordinator = await liaison.member("Moussa", role="coordinator", language="en")
    chief = await liaison.member("Ibrahim", role="chief", service="police", language="fr")
    awa = await liaison.member("Awa", language="fr")

    # A chief suspended by a coordinator has no post chief to ask but themselves.
    await act_on(liaison, coordinator, "Ibrahim", "Suspend", "Yes, suspend")
    assert chief.last.text == (
        "Votre accès à Liaison au poste de Birni N'Konni a été suspendu par un coordinateur. "
        "Contactez un coordinateur."
    )
    # While suspended, whatever the chief sends meets the same advice.
    await chief.send("/help")
    await liaison.settle()
    assert chief.last.text == "Votre accès à Liaison est suspendu. Contactez un coordinateur."
    await act_on(liaison, coordinator, "Ibrahim", "Reinstate")
    assert chief.last.text == (
        "Votre accès à Liaison au poste de Birni N'Konni a été rétabli par un coordinateur. "
        "Envoyez /help pour voir ce que vous pouvez faire."
    )
    # An agent suspended by a coordinator is sent to a coordinator too (the chief did not decide it).
    await act_on(liaison, coordinator, "Awa", "Suspend", "Yes, suspend")
    assert awa.last.text == (
        "Votre accès à Liaison au poste de Birni N'Konni a été suspendu par un coordinateur. "
        "Contactez un coordinateur."
    )
    # The chief removed by the coordinator: the same.
    await act_on(liaison, coordinator, "Ibrahim", "Remove", "Yes, remove")
    assert chief.last.text == (
        "Votre accès à Liaison au poste de Birni N'Konni a été retiré par un coordinateur. "
        "Contactez un coordinateur."
    )
    assert chief.last.reply_markup == {"remove_keyboard": True}
    assert not any("chef de poste." in text for text in chief.texts + awa.texts if "Votre accès" in text)
    statuses = {m.display_name: m.status for m in (await members_by_name(liaison)).values()}
    assert statuses == {"Moussa": "active", "Ibrahim": "removed", "Awa": "suspended"}
    assert len(await access_notes(liaison, chief)) == 3 and len(await access_notes(liaison, awa)) == 1


async def test_status_words_need_no_gender_in_french(liaison: Harness) -> None:
    chief = await liaison.member("Ibrahim", role="chief", service="police", language="fr")
    fatima = await liaison.member("Fatima", language="fr")
    coordinator = await liaison.member("Moussa", role="coordinator", language="en")

    roster = await roster_of(liaison, chief)
    await press_text(chief, "⚙ Fatima", roster)
    await liaison.settle()
    await change(liaison, chief, roster, "Suspend", "Yes, suspend")
    assert chief.callback_answers[-1]["text"] == "Fatima : accès suspendu."
    assert roster.text == "• Fatima (agent, Douane) — accès suspendu"
    assert fatima.last.text.startswith("Votre accès à Liaison au poste de Birni N'Konni a été suspendu")
    assert (await member_row(liaison, fatima)).status == "suspended"

    # The roster, in French and in English.
    listed = await roster_of(liaison, chief)
    assert "• Fatima (agent, Douane) — <i>accès suspendu</i>" in (listed.html or "").splitlines()
    listed = await roster_of(liaison, coordinator, post="Birni N'Konni")
    assert "• Fatima (agent, Customs) — access suspended" in listed.text.splitlines()
    await press_text(coordinator, "⚙ Fatima", listed)
    await liaison.settle()
    await change(liaison, coordinator, listed, "Reinstate")
    assert coordinator.callback_answers[-1]["text"] == "Fatima's access restored."
    await change(liaison, coordinator, listed, "Suspend", "Yes, suspend")
    assert coordinator.callback_answers[-1]["text"] == "Fatima's access suspended."

    await change(liaison, chief, roster, "Reinstate")
    assert chief.callback_answers[-1]["text"] == "Fatima : accès rétabli."
    assert roster.text == "• Fatima (agent, Douane)"
    assert (await member_row(liaison, fatima)).status == "active"

    # The log's opened entry says where her access stands, in the same words.
    await change(liaison, chief, roster, "Suspend", "Yes, suspend")
    await chief.send("/log")
    await liaison.settle()
    await press_text(chief, "1")
    await liaison.settle()
    assert chief.last.text.splitlines()[-1].startswith("Membre depuis le ")
    assert chief.last.text.splitlines()[-1].endswith(" · accès suspendu")
    shown = [a["text"] or "" for a in chief.callback_answers] + chief.texts
    assert not any(word in text for text in shown for word in ("est suspendu", "actif", "Arrivé"))


async def test_a_stale_button_about_a_removed_member_says_so(liaison: Harness) -> None:
    chief = await liaison.member("Ibrahim", role="chief", service="police", language="fr")
    issa = await liaison.member("Issa", language="fr")
    other_chief = await liaison.member("Ali", post="NE-MAKALONDI", role="chief", language="en")
    coordinator = await liaison.member("Moussa", role="coordinator", language="en")
    old_roster = await roster_of(liaison, chief)
    coordinator_roster = await roster_of(liaison, coordinator, post="Birni N'Konni")
    issa_id = (await member_row(liaison, issa)).id

    card = await roster_of(liaison, chief)
    await press_text(chief, "⚙ Issa", card)
    await liaison.settle()
    await change(liaison, chief, card, "Remove")
    confirm = button_data(card, "Oui, retirer")
    await change(liaison, chief, card, "Yes, remove")
    assert card.text == "Issa ne fait plus partie de Liaison."

    # The old list's ⚙ Issa, and the confirmation pressed again: the answer says what happened.
    before = old_roster.text
    await press_text(chief, "⚙ Issa", old_roster)
    await liaison.settle()
    answer = chief.callback_answers[-1]
    assert (answer["text"], answer["show_alert"]) == ("Issa ne fait plus partie de Liaison.", True)
    assert old_roster.text == before
    await chief.tap_forged(confirm, card.message_id)
    await liaison.settle()
    assert chief.callback_answers[-1]["text"] == "Issa ne fait plus partie de Liaison."
    # A coordinator's stale list, in English.
    await press_text(coordinator, "⚙ Issa", coordinator_roster)
    await liaison.settle()
    assert coordinator.callback_answers[-1]["text"] == "Issa was removed from Liaison."

    # A forged press from another post still learns nothing.
    await other_chief.tap_forged(f"mb:open:{issa_id}", other_chief.last.message_id)
    await liaison.settle()
    answer = other_chief.callback_answers[-1]
    assert (answer["text"], answer["show_alert"]) == ("You are not allowed to do this.", True)

    # Removed once, told once, logged once.
    assert (await member_row(liaison, issa)).status == "removed"
    assert len(await access_notes(liaison, issa)) == 1 and issa.texts.count(REMOVED_FR) == 1
    assert len(await liaison.rows(AuditEntry, AuditEntry.action == "member.removed")) == 1


async def test_a_coordinator_joining_reads_as_joining_liaison_in_the_log(liaison: Harness) -> None:
    peter = await liaison.member("Peter", role="coordinator", language="en")
    fatou = await liaison.member("Fatou", role="coordinator", language="fr")
    await liaison.member("Awa", language="fr")
    lines = {}
    for reader in (peter, fatou):
        await reader.send("/log")
        await liaison.settle()
        lines[reader.state.first_name] = [
            line.split(" · ", 1)[1] for line in reader.last.text.splitlines() if " · " in line
        ]
    assert "All posts · Members · Peter — Joined Liaison (coordinator)" in lines["Peter"]
    # The service is named once, in the summary: beside the name it read as the actor's service.
    assert "Birni N'Konni · Members · Awa — Joined the post (agent, Customs)" in lines["Peter"]
    assert "Tous les postes · Membres · Fatou — A rejoint Liaison (coordinateur)" in lines["Fatou"]
    assert "Birni N'Konni · Membres · Awa — A rejoint le poste (agent, Douane)" in lines["Fatou"]
    joined = await liaison.rows(AuditEntry, AuditEntry.action == "member.joined")
    assert sorted((e.post_code or "", (e.details or {}).get("role")) for e in joined) == [
        ("", "coordinator"),
        ("", "coordinator"),
        ("NE-KONNI", "agent"),
    ]
    assert {m.role for m in await liaison.rows(Member)} >= {"coordinator", "agent"}


async def test_a_coordinators_log_entry_reads_in_the_coordinators_zone(liaison: Harness) -> None:
    """Peter (no post) opens his own joining: 'Member since' is in the coordinators' zone, as 'When' is
    (it read 08:00, in UTC, under a 'When' of 09:00)."""
    peter = await liaison.member("Peter", role="coordinator", language="en")
    await peter.send("/log")
    await liaison.settle()
    [line] = [line for line in peter.last.text.splitlines() if "Peter — Joined Liaison" in line]
    await press_text(peter, line.split(".", 1)[0])
    await liaison.settle()
    opened = peter.last.text
    assert "Member since Nov 23, 2026, 9:00\u202fAM" in opened, opened
    assert "8:00" not in opened, opened
