"""Suspending someone from /members on a small phone: the card asks first, and only a confirmation pressed by
someone who may still suspend that member, who is not suspended yet, suspends them."""

from __future__ import annotations

from db.audit import AuditEntry
from db.members import Member
from db.outbox import DeliveryState, Notification
from sandbox.emulator import EmulatedUser, ReceivedMessage
from tests.factories import button_data, member_row, members_by_name, press, press_text
from tests.harness import Harness

QUESTION_FR = (
    "Suspendre Awa ? Cette personne ne recevra plus les alertes ni les avis et ne pourra plus utiliser "
    "Liaison jusqu'à ce que son accès soit rétabli. Elle en sera informée."
)
QUESTION_EN = (
    "Suspend Awa? They will no longer receive alerts or notices and will not be able to use Liaison until "
    "reinstated. They will be told."
)
NOTE_FR = (
    "Votre accès à Liaison au poste de Birni N'Konni a été suspendu par un chef de poste. "
    "Contactez votre chef de poste."
)


async def open_card(
    liaison: Harness, user: EmulatedUser, name: str, post: str | None = None
) -> ReceivedMessage:
    """/members (a coordinator picks `post`), then ⚙ on `name`: the message that shows the member's card."""
    await user.send("/members")
    await liaison.settle()
    if post is not None:
        await press_text(user, post)
        await liaison.settle()
    card = user.last
    await press_text(user, f"⚙ {name}", card)
    await liaison.settle()
    return card


async def suspensions(liaison: Harness) -> tuple[list[Notification], list[AuditEntry]]:
    """The notes telling members their access changed, and the suspensions in the log."""
    notes = await liaison.rows(Notification, Notification.ref_type == "access")
    return notes, await liaison.rows(AuditEntry, AuditEntry.action == "member.suspended")


async def test_suspend_asks_first_and_no_leaves_the_card_as_it_was(liaison: Harness) -> None:
    chief = await liaison.member("Ibrahim", role="chief", service="police", language="fr")
    awa = await liaison.member("Awa", language="fr")
    card = await open_card(liaison, chief, "Awa")
    before = (card.text, card.buttons())
    assert before == ("• Awa (agent, Douane)", ["Suspendre", "Retirer", "↩️ Retour"])
    seen_by_awa = len(awa.inbox)

    # A tap on Suspend only asks, on the same message, in the chief's language.
    await press(chief, "Suspend", card)
    await liaison.settle()
    assert chief.last.message_id == card.message_id
    assert (card.text, card.buttons()) == (QUESTION_FR, ["Oui, suspendre", "Non"])
    assert (await member_row(liaison, awa)).status == "active"
    assert len(awa.inbox) == seen_by_awa and await suspensions(liaison) == ([], [])

    # No: the card comes back exactly as it was, and still nothing happened.
    await press(chief, "No", card)
    await liaison.settle()
    assert (card.text, card.buttons()) == before
    assert (await member_row(liaison, awa)).status == "active"
    assert len(awa.inbox) == seen_by_awa and await suspensions(liaison) == ([], [])

    # Yes: suspended, the card says so, and Awa gets her note through the outbox as before.
    await press(chief, "Suspend", card)
    await liaison.settle()
    await press(chief, "Yes, suspend", card)
    await liaison.settle()
    assert chief.callback_answers[-1]["text"] == "Awa : accès suspendu."
    assert (card.text, card.buttons()) == (
        "• Awa (agent, Douane) — accès suspendu",
        ["Rétablir", "Retirer", "↩️ Retour"],
    )
    assert awa.last.text == NOTE_FR and awa.last.reply_markup == {"remove_keyboard": True}
    notes, logged = await suspensions(liaison)
    assert [(n.member_id, n.state) for n in notes] == [
        ((await member_row(liaison, awa)).id, DeliveryState.SENT)
    ]
    assert len(logged) == 1

    # Reinstating restores: one tap.
    await press(chief, "Reinstate", card)
    await liaison.settle()
    assert (await member_row(liaison, awa)).status == "active"
    assert card.text == "• Awa (agent, Douane)"

    # An English coordinator is asked in English.
    coordinator = await liaison.member("Moussa", role="coordinator", language="en")
    card = await open_card(liaison, coordinator, "Awa", post="Birni N'Konni")
    before = (card.text, card.buttons())
    await press(coordinator, "Suspend", card)
    await liaison.settle()
    assert (card.text, card.buttons()) == (QUESTION_EN, ["Yes, suspend", "No"])
    await press(coordinator, "No", card)
    await liaison.settle()
    assert (
        (card.text, card.buttons()) == before == ("• Awa (agent, Customs)", ["Suspend", "Remove", "↩️ Back"])
    )
    assert (await member_row(liaison, awa)).status == "active"


async def test_a_forged_or_stale_confirmation_suspends_nobody(liaison: Harness) -> None:
    chief = await liaison.member("Ibrahim", role="chief", service="police", language="fr")
    awa = await liaison.member("Awa", language="fr")
    agent = await liaison.member("Bako", service="police", language="fr")
    other_chief = await liaison.member("Ali", post="NE-MAKALONDI", role="chief", language="en")
    await liaison.member("Zara", post="NE-MAKALONDI", language="en")
    zara = (await members_by_name(liaison))["Zara"]
    question = await open_card(liaison, chief, "Awa")
    await press(chief, "Suspend", question)
    await liaison.settle()
    confirm = button_data(question, "Oui, suspendre")

    # Copied onto other phones, or turned on a member of another post: refused as every member button is.
    for presser, data, refusal in (
        (other_chief, confirm, "You are not allowed to do this."),
        (agent, confirm, "Vous n'êtes pas autorisé à faire cela."),
        (chief, f"mb:susok:{zara.id}", "Vous n'êtes pas autorisé à faire cela."),
    ):
        shown = presser.texts
        await presser.tap_forged(data, presser.last.message_id)
        await liaison.settle()
        answer = presser.callback_answers[-1]
        assert (answer["text"], answer["show_alert"]) == (refusal, True), data
        assert presser.texts == shown, data
    assert question.buttons() == ["Oui, suspendre", "Non"]
    assert {m.status for m in await liaison.rows(Member)} == {"active"}
    assert await suspensions(liaison) == ([], [])

    # Awa is suspended from another card meanwhile; a card opened before still offers Suspend.
    stale_card = await open_card(liaison, chief, "Awa")
    other = await open_card(liaison, chief, "Awa")
    await press(chief, "Suspend", other)
    await liaison.settle()
    await press(chief, "Yes, suspend", other)
    await liaison.settle()
    assert (await member_row(liaison, awa)).status == "suspended"

    # The first question's confirmation and the old card's Suspend are stale now: refused, and each message
    # shows the card as it stands. Awa was told once, the log has one suspension.
    for message, button in ((question, "Oui, suspendre"), (stale_card, "Suspendre")):
        await press_text(chief, button, message)
        await liaison.settle()
        answer = chief.callback_answers[-1]
        assert (answer["text"], answer["show_alert"]) == ("Ce bouton n'est plus valable.", True)
        assert (message.text, message.buttons()) == (
            "• Awa (agent, Douane) — accès suspendu",
            ["Rétablir", "Retirer", "↩️ Retour"],
        )
    assert awa.texts.count(NOTE_FR) == 1
    notes, logged = await suspensions(liaison)
    assert len(notes) == 1 and len(logged) == 1


async def test_an_agent_a_coordinator_suspended_is_sent_to_a_coordinator_when_writing(
    liaison: Harness,
) -> None:
    """The gate's refusal names whom the access note named: a coordinator's decision is a coordinator's to
    undo, so the agent is not sent to a post chief who could not reinstate them."""
    await liaison.member("Ibrahim", role="chief", service="police", language="fr")
    awa = await liaison.member("Awa", language="fr")
    coordinator = await liaison.member("Moussa", role="coordinator", language="en")
    card = await open_card(liaison, coordinator, "Awa", post="Birni N'Konni")
    await press(coordinator, "Suspend", card)
    await liaison.settle()
    await press(coordinator, "Yes, suspend", card)
    await liaison.settle()
    assert awa.last.text == (
        "Votre accès à Liaison au poste de Birni N'Konni a été suspendu par un coordinateur. "
        "Contactez un coordinateur."
    )
    await awa.send("/help")
    await liaison.settle()
    assert awa.last.text == "Votre accès à Liaison est suspendu. Contactez un coordinateur."
    await awa.tap_forged("mb:x", awa.last.message_id)
    await liaison.settle()
    assert (
        awa.callback_answers[-1]["text"] == "Votre accès à Liaison est suspendu. Contactez un coordinateur."
    )


async def test_a_suspension_logged_before_the_role_was_noted_asks_its_authors_role(liaison: Harness) -> None:
    """An entry from before the author's role was noted in it: the gate asks the author's role now."""
    from db.audit import record_action
    from db.members import MemberStatus, set_member_status

    chief = await liaison.member("Ibrahim", role="chief", service="police", language="fr")
    awa = await liaison.member("Awa", language="fr")
    chief_row, awa_row = await member_row(liaison, chief), await member_row(liaison, awa)
    assert awa_row.id is not None
    async with liaison.db.transaction() as session:
        await set_member_status(session, member_id=awa_row.id, status=MemberStatus.SUSPENDED)
        await record_action(
            session,
            action="member.suspended",
            at=liaison.clock.now(),
            actor_member_id=chief_row.id,
            object_type="member",
            object_id=awa_row.id,
            post_code=awa_row.post_code,
        )
    await awa.send("/help")
    await liaison.settle()
    assert awa.last.text == "Votre accès à Liaison est suspendu. Contactez votre chef de poste."
