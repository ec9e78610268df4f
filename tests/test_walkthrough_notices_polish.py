"""What the walkthrough found in notices, /delivery and /language (emulator, both databases)."""

from __future__ import annotations

from typing import Any

from db.members import Member
from db.notices import NoticeRecipient
from sandbox.emulator import EmulatedUser
from tests.factories import members_by_name, post_team, tap
from tests.harness import Harness
from tests.test_notices import EN_TEXT, FR_TEXT, copy_of, reminders_of, write_notice


def text(message: Any) -> str:
    """A message's text as the phone shows it ("" for none)."""
    return message.text or ""


async def switch_language(liaison: Harness, user: EmulatedUser, choice: str) -> None:
    """/language, then the button of the new language."""
    await user.send("/language")
    await liaison.settle()
    await user.tap(choice)
    await liaison.settle()


async def member_id(liaison: Harness, name: str) -> int:
    """A member's row id by display name."""
    member: Member = (await members_by_name(liaison))[name]
    assert member.id is not None
    return member.id


async def test_a_reader_who_switched_language_reads_the_notice_in_the_new_one(liaison: Harness) -> None:
    customs, police, _health, chief = await post_team(liaison)
    halima = await liaison.member("Halima", service="health", role="chief", language="en")
    await write_notice(liaison, chief, FR_TEXT, second=EN_TEXT)
    assert EN_TEXT in text(copy_of(police, 1))  # John read it in English

    # A count drawn for an English chief quotes the English version, not the French one it was written in.
    await halima.send("/notices")
    await liaison.settle()
    await tap(liaison, halima, "📊 #1 · 0/4")
    assert f"“{EN_TEXT}”" in text(halima.last) and "Réunion" not in text(halima.last)

    await switch_language(liaison, police, "🇫🇷 Français")
    await police.send("/notices")
    await liaison.settle()
    listing = text(police.last)
    # The list is in French, and so is the notice it quotes: it has a French version.
    assert listing.startswith("Avis en vigueur"), listing
    assert "« Réunion de coordination demain" in listing and "Coordination meeting" not in listing
    # His copy went in English: the row says so; his language is French now.
    john = await member_id(liaison, "John")
    [row] = await liaison.rows(NoticeRecipient, NoticeRecipient.member_id == john)
    assert row.language == "en" and (await members_by_name(liaison))["John"].language == "fr"

    # A reminder is a new message: in French, with the French version and the French button.
    await tap(liaison, chief, "🔔 Remind them")
    [reminder] = reminders_of(police, 1)
    assert f"« {FR_TEXT} »" in text(reminder) and EN_TEXT not in text(reminder)
    assert reminder.buttons() == ["☑️ Lu"]
    # Confirmed from it: the reminder and the copy show it in French.
    await police.tap("☑️ Lu", message_id=reminder.message_id)
    await liaison.settle()
    assert "✓ Lu 09:00" in text(reminder) and "✓ Lu 09:00" in text(copy_of(police, 1))
    assert FR_TEXT in text(copy_of(police, 1))
    # Awa, who did not switch, still reads hers in French.
    assert f"« {FR_TEXT} »" in text(reminders_of(customs, 1)[0])


async def test_a_notice_is_signed_with_a_function_not_a_gendered_noun(liaison: Harness) -> None:
    customs, police, _health, chief = await post_team(liaison)
    coordinator = await liaison.member("Claire", role="coordinator", language="fr")
    await write_notice(liaison, coordinator, FR_TEXT, posts=["Birni N'Konni"], second=EN_TEXT)

    assert "Envoyé par Claire (coordination) · " in text(copy_of(customs, 1))
    assert "coordinateur" not in text(copy_of(customs, 1))
    assert "From Claire (coordination) · " in text(copy_of(police, 1))
    # A chief signs with the role and the service, in the same shape.
    await write_notice(liaison, chief, "Deuxième avis : tenue.")
    assert "Envoyé par Ibrahim (chef de poste, Gendarmerie) · " in text(copy_of(customs, 2))
    assert "From Ibrahim (post chief, Gendarmerie) · " in text(copy_of(police, 2))


async def test_delivery_says_a_post_with_nobody_has_no_members(liaison: Harness) -> None:
    await liaison.member("Awa", service="customs", language="fr")
    coordinator = await liaison.member("Claire", role="coordinator", language="fr")
    english = await liaison.member("Moussa", role="coordinator", language="en")

    await coordinator.send("/delivery")
    await english.send("/delivery")
    await liaison.settle()
    report = text(coordinator.last)
    assert "Birni N'Konni\nTous les membres sont joignables." in report
    assert "Kantchari\nAucun membre." in report and "Kantchari\nTous les membres" not in report
    assert "Kantchari\nNo members." in text(english.last)


async def test_the_language_question_shows_the_choice_in_the_new_language(liaison: Harness) -> None:
    awa = await liaison.member("Awa", language="fr")
    await awa.send("/language")
    await liaison.settle()
    question = awa.last
    assert text(question) == "Choisissez votre langue :"
    await awa.tap("🇬🇧 English")
    await awa.tap("🇬🇧 English")  # a double tap confirms once
    await liaison.settle()
    assert text(question) == "Language: English ✅" and question.buttons() == []
    assert text(awa.last) == "Language set: English." and awa.texts.count("Language set: English.") == 1

    john = await liaison.member("John", language="en")
    await john.send("/language")
    await liaison.settle()
    question = john.last
    await john.tap("🇫🇷 Français")
    await liaison.settle()
    assert text(question) == "Langue : français ✅" and question.buttons() == []
    assert text(john.last) == "Langue choisie : français."
    assert (await members_by_name(liaison))["John"].language == "fr"


async def test_a_french_coordinator_is_greeted_with_a_function_not_a_gendered_noun(liaison: Harness) -> None:
    claire = await liaison.member("Claire", role="coordinator", language="fr")
    welcome = text(claire.find("Bienvenue sur Liaison, Claire."))
    assert "Vous assurez la coordination : vous suivez tous les postes." in welcome
    assert "coordinateur" not in welcome
    admin = await liaison.member("Moussa", role="admin", language="fr")
    assert "Vous assurez l'administration" in text(admin.find("Bienvenue sur Liaison, Moussa."))
