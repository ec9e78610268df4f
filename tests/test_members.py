"""/members and /delivery as chiefs and coordinators use them on big posts."""

from __future__ import annotations

from datetime import timedelta

from db.members import Member
from db.outbox import DeliveryState, Notification
from tests.factories import button_data, link_code, member_row, press, press_text
from tests.harness import Harness


async def add_members(liaison: Harness, count: int, *, post: str, reachable: bool = True) -> None:
    """Many members at once, written directly (joining each through the bot would take minutes)."""
    base = 7_000_000 + 10_000 * len(await liaison.rows(Member))
    async with liaison.db.transaction() as session:
        for i in range(count):
            session.add(
                Member(
                    telegram_id=base + i,
                    chat_id=base + i,
                    # Telegram allows 64 + 64 characters of first and last name.
                    display_name=f"Agent {i:03d} " + "Abdoulaye Ousmane Mahamadou " * 4,
                    post_code=post,
                    service_code="customs",
                    reachable=reachable,
                    unreachable_since=None if reachable else liaison.clock.now(),
                )
            )


async def test_big_posts_fit_in_one_message(liaison: Harness) -> None:
    chief = await liaison.member("Chef", role="chief", language="en")
    coordinator = await liaison.member("Coord", role="coordinator", language="en")
    await add_members(liaison, 150, post="NE-KONNI")
    await chief.send("/members")
    await liaison.settle()
    roster = chief.last.text
    assert roster.startswith("Birni N'Konni: 151 members") and "Agent 000" in roster
    assert len(roster) <= 4096 and roster.splitlines()[-1].startswith("…and ")

    await add_members(liaison, 30, post="NE-KONNI", reachable=False)
    await add_members(liaison, 30, post="BF-KANTCHARI", reachable=False)
    await chief.send("/delivery")
    await liaison.settle()
    report = chief.last.text
    assert "30 members cannot be reached" in report and len(report) <= 4096
    assert report.splitlines()[-1].startswith("…and ")
    await coordinator.send("/delivery")
    await liaison.settle()
    overview = coordinator.last.text
    assert overview.startswith("Delivery: unreachable members by post") and len(overview) <= 4096
    assert overview.count("30 members cannot be reached") == 2


async def test_delivery_report_names_reminders_and_join_notes_in_the_reader_language(
    liaison: Harness,
) -> None:
    chief = await liaison.member("Chef", role="chief", language="fr")
    # The chief invites an agent through the bot: the chief is told when the agent joins.
    await chief.send("/invite")
    await liaison.settle()
    await chief.tap("Douane")
    await liaison.settle()
    agent = liaison.user("Awa", language="fr")
    await agent.start(link_code(chief.last.text))
    await liaison.settle()
    # The config's 18:45 shift-change reminder goes to the whole post.
    await liaison.advance(timedelta(hours=10))
    await chief.send("/delivery")
    await liaison.settle()
    report = chief.last.text
    # The reminder is quoted (cut between words), never numbered by its row.
    assert "Rappel « Relève de 19:00 : rédigez votre… »" in report and "Nouveau membre n°" in report, report
    assert "Rappel n°" not in report
    assert "schedule" not in report and "member #" not in report


async def test_a_member_card_goes_back_to_the_roster_it_came_from(liaison: Harness) -> None:
    chief = await liaison.member("Chef", role="chief", service="police", language="fr")
    agent = await liaison.member("Awa", language="fr")
    coordinator = await liaison.member("Moussa", role="coordinator", language="en")
    other_chief = await liaison.member("Ali", post="NE-MAKALONDI", role="chief", language="en")

    # A chief: roster, card, Back: the same message shows the roster again, buttons included.
    await chief.send("/members")
    await liaison.settle()
    roster = chief.last
    listed, listed_buttons = roster.text, roster.buttons()
    await press_text(chief, "⚙ Awa", roster)
    await liaison.settle()
    assert roster.text != listed and "↩️ Retour" in roster.buttons()
    back = button_data(roster, "↩️ Retour")
    await press(chief, "↩️ Back", roster)
    await liaison.settle()
    assert chief.last.message_id == roster.message_id
    assert (roster.text, roster.buttons()) == (listed, listed_buttons)

    # A coordinator came from the post they picked: Back lands on that post's roster.
    await coordinator.send("/members")
    await liaison.settle()
    picked = coordinator.last
    await press_text(coordinator, "Birni N'Konni", picked)
    await liaison.settle()
    konni = picked.text
    await press_text(coordinator, "⚙ Awa", picked)
    await liaison.settle()
    await press(coordinator, "↩️ Back", picked)
    await liaison.settle()
    assert picked.text == konni and coordinator.last.message_id == picked.message_id

    # Someone who may not see that roster is refused, like every other members button.
    for outsider, refusal in (
        (agent, "Vous n'êtes pas autorisé à faire cela."),
        (other_chief, "You are not allowed to do this."),
    ):
        shown = outsider.texts
        await outsider.tap_forged(back, outsider.last.message_id)
        await liaison.settle()
        answer = outsider.callback_answers[-1]
        assert (answer["text"], answer["show_alert"]) == (refusal, True)
        assert outsider.texts == shown  # no roster, neither edited in nor sent

    # After a removal, Back shows the roster without the removed member.
    await press_text(chief, "⚙ Awa", roster)
    await liaison.settle()
    await press(chief, "Remove", roster)
    await liaison.settle()
    await press(chief, "Yes, remove", roster)
    await liaison.settle()
    assert roster.text == "Awa ne fait plus partie de Liaison."
    await press(chief, "↩️ Back", roster)
    await liaison.settle()
    assert roster.text.startswith("Birni N'Konni : 1 membre") and "Awa" not in roster.text
    assert (await member_row(liaison, agent)).status == "removed"


async def test_a_suspended_or_reinstated_member_is_told_in_their_language(liaison: Harness) -> None:
    chief = await liaison.member("Ibrahim", role="chief", service="police", language="en")
    awa = await liaison.member("Awa", language="fr")
    john = await liaison.member("John", service="health", language="en")
    coordinator = await liaison.member("Moussa", role="coordinator", language="fr")

    await chief.send("/members")
    await liaison.settle()
    roster = chief.last
    await press_text(chief, "⚙ Awa", roster)
    await liaison.settle()
    await press(chief, "Suspend", roster)
    await liaison.settle()
    await press(chief, "Yes, suspend", roster)
    await liaison.settle()
    assert awa.last.text == (
        "Votre accès à Liaison au poste de Birni N'Konni a été suspendu par un chef de poste. "
        "Contactez votre chef de poste."
    )
    # The 🚨 key leaves her phone with the access.
    assert awa.last.reply_markup == {"remove_keyboard": True}
    # Suspended, she reaches nothing else; the note still came to her.
    await awa.send("/help")
    await liaison.settle()
    assert awa.last.text == "Votre accès à Liaison est suspendu. Contactez votre chef de poste."

    await press(chief, "Reinstate", roster)
    await liaison.settle()
    assert awa.texts[-1] == (
        "Votre accès à Liaison au poste de Birni N'Konni a été rétabli par un chef de poste. "
        "Envoyez /help pour voir ce que vous pouvez faire."
    )
    # ...and comes back with it, in her language.
    assert awa.inbox[-1].buttons() == ["🚨 Alerte"]
    # A double tap on the confirmation suspends (and tells) once.
    await press(chief, "Suspend", roster)
    await liaison.settle()
    confirm = button_data(roster, "Yes, suspend")
    await press(chief, "Yes, suspend", roster)
    await chief.tap_forged(confirm, roster.message_id)
    await liaison.settle()
    assert awa.texts[-1].startswith("Votre accès à Liaison au poste de Birni N'Konni a été suspendu")
    assert sum(t.startswith("Votre accès à Liaison au poste") for t in awa.texts) == 3

    # A coordinator suspends John, who reads English; neither note names who did it.
    await coordinator.send("/members")
    await liaison.settle()
    await press_text(coordinator, "Birni N'Konni")
    await liaison.settle()
    await press_text(coordinator, "⚙ John")
    await liaison.settle()
    await press(coordinator, "Suspend")
    await liaison.settle()
    await press(coordinator, "Yes, suspend")
    await liaison.settle()
    assert john.last.text == (
        "Your access to Liaison at the Birni N'Konni post has been suspended by a coordinator. "
        "Contact a coordinator."
    )
    assert not any(name in text for text in awa.texts + john.texts for name in ("Ibrahim", "Moussa"))

    # Each note is an outbox row of its own, delivered, which /delivery names.
    rows = await liaison.rows(Notification, Notification.ref_type == "access")
    awa_id, john_id = (await member_row(liaison, awa)).id, (await member_row(liaison, john)).id
    assert sorted(r.member_id for r in rows) == sorted([awa_id] * 3 + [john_id])
    assert {r.state for r in rows} == {DeliveryState.SENT}
    assert {(await member_row(liaison, u)).status for u in (awa, john)} == {"suspended"}
    await chief.send("/delivery")
    await liaison.settle()
    assert f"Access change #{awa_id}" in chief.last.text


async def test_a_member_of_no_service_reads_as_their_role_alone(liaison: Harness) -> None:
    """A chief of the whole post and a coordinator have no service: their line names the role only, never
    "(chef de poste, —)", on the roster, the card and the log's opened entry, in French and in English."""
    chief = await liaison.member("Ibrahim", role="chief", service=None, language="fr")
    await liaison.member("Awa", language="fr")
    coordinator = await liaison.member("Moussa", role="coordinator", language="en")

    await chief.send("/members")
    await liaison.settle()
    roster = chief.last.text.splitlines()
    # The chief of no service first, on SQLite and on PostgreSQL alike (NULLs sort first on one, last on the
    # other, unless told).
    assert roster[1:] == ["• Ibrahim (chef de poste)", "• Awa (agent, Douane)"], roster

    await coordinator.send("/members")
    await liaison.settle()
    await press_text(coordinator, "Birni N'Konni")
    await liaison.settle()
    listed = coordinator.last
    assert listed.text.splitlines()[1:] == ["• Ibrahim (post chief)", "• Awa (agent, Customs)"]
    await press_text(coordinator, "⚙ Ibrahim", listed)
    await liaison.settle()
    assert listed.text == "• Ibrahim (post chief)"

    # The coordinator suspends the chief; the log's entry opens on who the chief is.
    await press(coordinator, "Suspend", listed)
    await liaison.settle()
    await press(coordinator, "Yes, suspend", listed)
    await liaison.settle()
    await coordinator.send("/log")
    await liaison.settle()
    await press_text(coordinator, "1")
    await liaison.settle()
    opened = coordinator.last.text.splitlines()
    assert opened[-3:-1] == ["Ibrahim", "post chief · Birni N'Konni"], opened

    # An invite for a chief of the whole post opens the same way, in French too.
    fatou = await liaison.member("Fatou", role="coordinator", language="fr")
    await coordinator.send("/invite")
    await liaison.settle()
    for choice in ("Post chief", "Birni N'Konni", "Whole post (no service)"):
        await press_text(coordinator, choice)
        await liaison.settle()
    for reader, expected in (
        (coordinator, "For a new member: post chief · Birni N'Konni"),
        (fatou, "Pour un nouveau membre : chef de poste · Birni N'Konni"),
    ):
        await reader.send("/log")
        await liaison.settle()
        await press_text(reader, "1")
        await liaison.settle()
        assert expected in reader.last.text.splitlines(), reader.last.text
