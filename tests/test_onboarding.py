"""Onboarding end to end: invites, welcome, languages, strangers, other posts, suspension, removal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col

from db.audit import AuditEntry
from db.invites import Invite
from db.members import Member
from handlers import FEATURES
from sandbox.emulator import ReceivedMessage
from tests.factories import link_code, members_by_name, press, press_text
from tests.harness import Harness

COMMANDS = [c.name for feature in FEATURES for c in feature.commands if c.in_menu]

HOW_TO_JOIN_FR = "Liaison est réservé aux agents des postes frontaliers"
HOW_TO_JOIN_EN = "Liaison is reserved for staff of border posts"


async def test_full_onboarding_coordinator_chief_agent_each_in_their_language(liaison: Harness) -> None:
    coordinator = await liaison.member("Moussa", role="coordinator", language="en")
    assert "Welcome to Liaison, Moussa." in coordinator.last.text
    assert "You are a coordinator: you follow every post." in coordinator.last.text

    # The coordinator invites a chief for Makalondi through the bot.
    await coordinator.send("/invite")
    await liaison.settle()
    await coordinator.tap("Post chief")
    await liaison.settle()
    await coordinator.tap("Makalondi")
    await liaison.settle()
    assert coordinator.last.buttons()[-1] == "Whole post (no service)"
    await coordinator.tap("Customs")
    await liaison.settle()
    invite_text = coordinator.last.text
    assert "Invite for: post chief · Customs · Makalondi." in invite_text
    # Expiry in Makalondi's zone (UTC+1), named: the clock is 08:00 UTC, the invite lasts 72 hours.
    assert (
        "Valid once, until Nov 26, 2026, 9:00\u202fAM (UTC+1)" in invite_text
    )  # Babel: narrow no-break space

    chief = liaison.user("Aïcha", language="fr")
    await chief.start(link_code(invite_text))
    await liaison.settle()
    assert "Bienvenue sur Liaison, Aïcha." in chief.last.text
    assert "Vous êtes chef du poste de Makalondi (Douane)." in chief.last.text
    assert "/members — Membres" in chief.last.text
    # The coordinator learns that the invite was used, through the outbox.
    assert "Aïcha joined Liaison: post chief · Customs · Makalondi." in coordinator.texts

    # The chief invites an agent of the Health Police; the agent's phone speaks German.
    await chief.send("/invite")
    await liaison.settle()
    assert chief.last.text == "À quel service appartiendra le nouvel agent ?"
    assert "Gendarmerie" not in chief.last.buttons()  # not a service of Makalondi
    await chief.tap("Police sanitaire")
    await liaison.settle()
    agent = liaison.user("Hans", language="de")
    await agent.start(link_code(chief.last.text))
    await liaison.settle()
    assert "Quelle langue préférez-vous ?" in agent.last.text
    assert "Which language do you prefer?" in agent.last.text
    await agent.tap("🇬🇧 English")
    await liaison.settle()
    assert agent.inbox[-2].text == "Language set: English."
    assert "You are an agent of Health Police at the Makalondi post." in agent.last.text
    assert "/invite" not in agent.last.text  # an agent's help lists only what agents may do
    # Each person's command menu matches their role and language.
    chief_menu = [c["command"] for c in liaison.emulator.get_commands({"type": "chat", "chat_id": chief.id})]
    agent_menu = liaison.emulator.get_commands({"type": "chat", "chat_id": agent.id})
    assert "invite" in chief_menu and "members" in chief_menu
    assert "invite" not in [c["command"] for c in agent_menu]
    assert {"command": "alert", "description": "Raise an alert"} in agent_menu

    members = await members_by_name(liaison)
    assert (members["Aïcha"].post_code, members["Aïcha"].role, members["Aïcha"].service_code) == (
        "NE-MAKALONDI",
        "chief",
        "customs",
    )
    assert (members["Hans"].post_code, members["Hans"].role, members["Hans"].language) == (
        "NE-MAKALONDI",
        "agent",
        "en",
    )
    assert members["Hans"].invited_by == members["Aïcha"].id
    invites = await liaison.rows(Invite)
    assert all(i.uses == 1 for i in invites)
    actions = [e.action for e in await liaison.rows(AuditEntry)]
    assert actions.count("member.joined") == 3 and actions.count("invite.created") == 2


async def test_invite_expiry_is_shown_in_each_posts_time_zone(liaison: Harness) -> None:
    coordinator = await liaison.member("Moussa", role="coordinator", language="fr")
    shown = {}
    for post in ("Makalondi", "Kantchari"):
        await coordinator.send("/invite")
        await liaison.settle()
        await coordinator.tap("Chef de poste")
        await liaison.settle()
        await coordinator.tap(post)
        await liaison.settle()
        await coordinator.tap("Douane")
        await liaison.settle()
        shown[post] = coordinator.last.text
    # 08:00 UTC + 72 h: 09:00 in Niamey (UTC+1), 08:00 in Ouagadougou (UTC+0), formatted in French, each
    # naming its post's zone (the coordinator belongs to no post, and the posts' zones differ).
    assert "jusqu'au 26 nov. 2026, 09:00 (UTC+1)." in shown["Makalondi"]
    assert "jusqu'au 26 nov. 2026, 08:00 (UTC+0)." in shown["Kantchari"]

    # A chief's invite is for their own post: its expiry in that post's zone, named (not the server's UTC).
    chief = await liaison.member("Aïcha", post="NE-MAKALONDI", service="customs", role="chief", language="fr")
    await chief.send("/invite")
    await liaison.settle()
    await press_text(chief, "Police sanitaire")
    await liaison.settle()
    assert "Invitation pour : agent · Police sanitaire · Makalondi." in chief.last.text
    assert "jusqu'au 26 nov. 2026, 09:00 (UTC+1)." in chief.last.text


@pytest.mark.parametrize("language", ["fr", "en"])
async def test_refused_invites_explain_why_to_a_stranger_in_both_languages(
    liaison: Harness, language: str
) -> None:
    used = await liaison.invite_code()
    await (liaison.user("First")).start(used)
    expired = await liaison.invite_code(hours=1)
    liaison.clock.advance(timedelta(hours=2))
    await liaison.settle()
    revoked = await liaison.invite_code()
    async with liaison.db.transaction() as session:
        invite = (await session.exec(Invite.__table__.select().where(col(Invite.uses) == 0))).all()
        assert invite
    from db.invites import find_invite, revoke_invite

    async with liaison.db.transaction() as session:
        row = await find_invite(session, code=revoked)
        await revoke_invite(session, invite_id=row.id, now=liaison.clock.now())

    cases = {
        used: ("Cette invitation a déjà été utilisée", "This invite has already been used"),
        expired: ("Cette invitation a expiré", "This invite has expired"),
        revoked: ("Cette invitation a été retirée", "This invite was withdrawn"),
        "A" * 24: ("Ce code d'invitation n'est pas valide", "This invite code is not valid"),
        "bad<code>!": ("Ce code d'invitation n'est pas valide", "This invite code is not valid"),
        "x" * 65: ("Ce code d'invitation n'est pas valide", "This invite code is not valid"),
    }
    stranger = liaison.user("Stranger", language=language)
    for code, (french, english) in cases.items():
        # Malformed codes cannot come from a deep link; people type them by hand.
        await stranger.send(f"/start {code}")
        await liaison.settle()
        assert french in stranger.last.text and english in stranger.last.text, code
    assert [m.display_name for m in await liaison.rows(Member)] == ["First"]


async def test_a_single_use_invite_cannot_be_shared_or_replayed(liaison: Harness) -> None:
    code = await liaison.invite_code()
    first, second = liaison.user("First"), liaison.user("Second")
    await first.start(code)
    await first.start(code)  # a repeated /start (double tap, resent update) must not create a duplicate
    await second.start(code)
    await liaison.settle()
    assert "Vous êtes déjà membre." in first.last.text
    assert "Cette invitation a déjà été utilisée" in second.last.text
    assert [m.display_name for m in await liaison.rows(Member)] == ["First"]
    assert [i.uses for i in await liaison.rows(Invite)] == [1]


async def test_a_stranger_can_use_no_command_and_no_button(liaison: Harness) -> None:
    agent = await liaison.member("Awa")
    stranger = liaison.user("Nobody", language="en")
    for name in COMMANDS:
        await stranger.send(f"/{name}")
    await stranger.send("/start")
    await stranger.send("hello, who are you?")
    await stranger.share_location(13.6, 2.1)
    await liaison.settle()
    assert len(stranger.inbox) == len(COMMANDS) + 3
    assert all(HOW_TO_JOIN_FR in t and HOW_TO_JOIN_EN in t for t in stranger.texts)
    # A forged button press (copied from someone's phone) is answered and changes nothing.
    await stranger.tap_forged("mb:sus:1", stranger.inbox[0].message_id)
    await liaison.settle()
    assert "Ask your post chief for an invite." in stranger.callback_answers[-1]["text"]
    assert (await members_by_name(liaison))["Awa"].status == "active"
    assert "Nobody" not in await members_by_name(liaison)
    assert agent.inbox[-1].text.startswith("<b>") is False  # the agent received nothing about the stranger


async def test_chief_cannot_act_on_another_post(liaison: Harness) -> None:
    chief_a = await liaison.member("ChefKonni", post="NE-KONNI", service="police", role="chief")
    agent_b = await liaison.member("AgentMakalondi", post="NE-MAKALONDI", service="customs")
    members = await members_by_name(liaison)
    await chief_a.send("/members")
    await liaison.settle()
    roster = chief_a.last
    assert "AgentMakalondi" not in roster.text and "ChefKonni" in roster.text
    forged = [
        "mb:post:NE-MAKALONDI",
        f"mb:sus:{members['AgentMakalondi'].id}",
        f"mb:rmok:{members['AgentMakalondi'].id}",
        "iv:s:agent:NE-MAKALONDI:customs",
        "iv:r:coordinator",
        f"mb:sus:{members['ChefKonni'].id}",  # not even oneself
        "mb:sus:notanumber",
        "zz:unknown:1",
    ]
    for data in forged:
        await chief_a.tap_forged(data, roster.message_id)
        await liaison.settle()
        assert chief_a.callback_answers[-1]["text"] in (
            "Vous n'êtes pas autorisé à faire cela.",
            "Ce bouton n'est plus valable.",
        ), data
    assert (await members_by_name(liaison))["AgentMakalondi"].status == "active"
    assert (await members_by_name(liaison))["ChefKonni"].status == "active"
    assert len(await liaison.rows(Invite)) == 2  # only the harness's own invites
    assert "AgentMakalondi" not in agent_b.last.text or "Bienvenue" in agent_b.last.text


async def test_suspended_then_removed_member_loses_access(liaison: Harness) -> None:
    chief = await liaison.member("Chef", role="chief", service="police", language="en")
    agent = await liaison.member("Awa", language="fr")
    await chief.send("/members")
    await liaison.settle()
    assert "Konni: 2 members" in chief.last.text
    await chief.tap("⚙ Awa")
    await liaison.settle()
    await chief.tap("Suspend")
    await liaison.settle()
    await chief.tap("Yes, suspend")
    await liaison.settle()
    assert chief.callback_answers[-1]["text"] == "Awa's access suspended."
    assert (await members_by_name(liaison))["Awa"].status == "suspended"
    assert liaison.emulator.get_commands({"type": "chat", "chat_id": agent.id}) == []  # the menu empties

    await agent.send("/help")
    await liaison.settle()
    assert agent.last.text == "Votre accès à Liaison est suspendu. Contactez votre chef de poste."

    await chief.tap("Reinstate")
    await liaison.settle()
    await agent.send("/help")
    await liaison.settle()
    assert "Ce que vous pouvez faire" in agent.last.text

    await chief.tap("Remove")
    await liaison.settle()
    await chief.tap("Yes, remove")
    await liaison.settle()
    assert chief.last.text == "Awa was removed from Liaison."
    await agent.send("/alert")
    await liaison.settle()
    assert HOW_TO_JOIN_FR in agent.last.text
    statuses = [e.action for e in await liaison.rows(AuditEntry, col(AuditEntry.object_type) == "member")]
    assert statuses == ["member.suspended", "member.active", "member.removed"]


async def test_language_can_be_changed_and_help_follows_it(liaison: Harness) -> None:
    agent = await liaison.member("Awa", language="fr")
    await agent.send("/language")
    await liaison.settle()
    assert agent.last.text == "Choisissez votre langue :"
    await agent.tap("🇬🇧 English")
    await liaison.settle()
    assert agent.last.text == "Language set: English."
    await agent.send("/help")
    await liaison.settle()
    assert "What you can do" in agent.last.text and "/alert — Raise an alert" in agent.last.text
    assert (await members_by_name(liaison))["Awa"].language == "en"
    await agent.tap_forged("lg:set:de", agent.last.message_id)
    await liaison.settle()
    assert agent.callback_answers[-1]["text"] == "This button is no longer valid."
    assert (await members_by_name(liaison))["Awa"].language == "en"


async def test_unknown_commands_and_free_text_get_a_hint(liaison: Harness) -> None:
    agent = await liaison.member("Awa", language="en")
    await agent.send("/frobnicate")
    await agent.send("anyone at gate 2?")
    await liaison.settle()
    assert agent.texts[-2:] == [
        "Unknown command. Send /help to see what you can do.",
        "I only understand commands here. To raise an alert send /alert; for everything else, /help.",
    ]


async def test_command_menu_and_description_exist_in_both_languages(liaison: Harness) -> None:
    french = {c["command"]: c["description"] for c in liaison.emulator.get_commands(language_code="")}
    english = {c["command"]: c["description"] for c in liaison.emulator.get_commands(language_code="en")}
    assert french["alert"] == "Lancer une alerte" and english["alert"] == "Raise an alert"
    assert set(french) == set(english)


async def test_blocking_the_bot_marks_the_member_unreachable(liaison: Harness) -> None:
    agent = await liaison.member("Awa")
    await agent.block()
    await liaison.settle()
    member = (await members_by_name(liaison))["Awa"]
    assert member.reachable is False and member.unreachable_since == liaison.clock.now()
    await agent.unblock()
    await liaison.settle()
    assert (await members_by_name(liaison))["Awa"].reachable is True


async def test_groups_never_join_nor_see_a_post(liaison: Harness) -> None:
    chief = await liaison.member("Chef", role="chief", language="en")
    newcomer = liaison.user("Newbie", language="en")
    group = liaison.emulator.group("Border post group")
    group.add(newcomer)
    group.add(chief)
    code = await liaison.invite_code()

    # An invite typed in a group must not make the group the newcomer's chat (alerts would go to the group).
    await newcomer.send_in(group, f"/start {code}")
    # A chief's commands in a group must not show the roster or an invite link to everyone in it.
    for command in ("/members", "/invite", "/delivery", "/reminders", "/help"):
        await chief.send_in(group, command)
    await liaison.settle()

    assert group.texts == []
    assert sorted(m.display_name for m in await liaison.rows(Member)) == ["Chef"]
    assert all(i.uses == 0 for i in await liaison.rows(Invite, Invite.role == "agent"))
    # The same invite still works where it belongs: in the private chat.
    await newcomer.start(code)
    await liaison.settle()
    assert "Welcome to Liaison, Newbie." in newcomer.last.text
    [joined] = await liaison.rows(Member, Member.display_name == "Newbie")
    assert joined.chat_id == newcomer.id


async def test_a_removed_chief_invites_no_longer_open_the_post(liaison: Harness) -> None:
    coordinator = await liaison.member("Coord", role="coordinator", language="en")
    chief = await liaison.member("Chef", role="chief", language="en")
    await chief.send("/invite")
    await liaison.settle()
    await chief.tap("Customs")
    await liaison.settle()
    code = link_code(chief.last.text)

    [chef] = await liaison.rows(Member, Member.display_name == "Chef")
    await coordinator.send("/members")
    await liaison.settle()
    await press_text(coordinator, "Birni N'Konni")
    await liaison.settle()
    await press_text(coordinator, f"⚙ {chef.display_name}")
    await liaison.settle()
    await press(coordinator, "Remove")
    await liaison.settle()
    await press(coordinator, "Yes, remove")
    await liaison.settle()

    newcomer = liaison.user("Intruder", language="en")
    await newcomer.start(code)
    await liaison.settle()
    assert "This invite was withdrawn" in newcomer.last.text
    assert await liaison.rows(Member, Member.display_name == "Intruder") == []


async def test_a_stranger_sending_start_and_blanks_hears_how_to_join(liaison: Harness) -> None:
    stranger = liaison.user("Nobody", language="en")
    for text in ("/start  ", "/start \t", "/start \u3000"):
        await stranger.send(text)
        await liaison.settle()
        assert "Liaison is reserved for staff of border posts" in stranger.last.text
    assert await liaison.rows(Member) == []


async def test_a_failed_menu_update_never_hides_the_welcome_or_the_suspension(liaison: Harness) -> None:
    chief = await liaison.member("Chef", role="chief", language="en")
    newcomer = liaison.user("Awa", language="en")
    code = await liaison.invite_code()
    liaison.emulator.faults.inject(500, method="setMyCommands", count=1)
    await newcomer.start(code)
    await liaison.settle()
    assert "Welcome to Liaison, Awa." in newcomer.last.text

    [awa] = await liaison.rows(Member, Member.display_name == "Awa")
    await chief.send("/members")
    await liaison.settle()
    await press_text(chief, f"⚙ {awa.display_name}")
    await liaison.settle()
    await press(chief, "Suspend")
    await liaison.settle()
    liaison.emulator.faults.inject(500, method="deleteMyCommands", count=1)
    await press(chief, "Yes, suspend")
    await liaison.settle()
    assert chief.callback_answers[-1]["text"] == "Awa's access suspended."
    [suspended] = await liaison.rows(Member, Member.display_name == "Awa")
    assert suspended.status == "suspended"


async def test_tapping_a_language_button_twice_is_quiet(liaison: Harness) -> None:
    agent = await liaison.member("Awa", language="fr")
    await agent.send("/language")
    await liaison.settle()
    await agent.tap("🇬🇧 English")
    await agent.tap("🇬🇧 English")
    await liaison.settle()  # a handler error or a second answer to one press would fail here
    assert [a["text"] for a in agent.callback_answers[-2:]] == ["Language set: English."] * 2
    assert agent.last.text == "Language set: English."


def reply_keys(message: ReceivedMessage) -> list[str] | None:
    """The labels of the persistent reply keyboard a message carries (None: it carries none)."""
    rows = (message.reply_markup or {}).get("keyboard")
    return None if rows is None else [key["text"] for row in rows for key in row]


@pytest.mark.parametrize(
    ("before", "choice", "after", "confirmation", "key"),
    [
        ("fr", "🇬🇧 English", "en", "Language set: English.", "🚨 Alert"),
        ("en", "🇫🇷 Français", "fr", "Langue choisie : français.", "🚨 Alerte"),
    ],
)
async def test_switching_language_brings_the_alert_key_in_the_new_language(
    liaison: Harness, before: str, choice: str, after: str, confirmation: str, key: str
) -> None:
    agent = await liaison.member("Awa", language=before)
    old_key = "🚨 Alerte" if before == "fr" else "🚨 Alert"
    assert reply_keys(agent.last) == [old_key]  # the welcome put the keys under the text field
    await agent.send("/language")
    await liaison.settle()
    question = agent.last
    await agent.tap(choice)
    await agent.tap(choice)  # a double tap confirms once
    await liaison.settle()

    assert reply_keys(agent.last) == [key] and agent.last.text == confirmation
    assert (await members_by_name(liaison))["Awa"].language == after
    assert agent.last.message_id != question.message_id and agent.texts.count(confirmation) == 1
    assert (agent.last.reply_markup or {}).get("is_persistent") is True
    assert question.buttons() == []  # no language buttons left to press again
    # The new key raises an alert like the old one.
    await agent.send(key)
    await liaison.settle()
    assert liaison.config.category_name("health", after) in agent.last.buttons()

    # A coordinator raises alerts at any post they pick: the confirmation brings their key too.
    coordinator = await liaison.member("Moussa", role="coordinator", language=before)
    await coordinator.send("/language")
    await liaison.settle()
    await coordinator.tap(choice)
    await liaison.settle()
    assert coordinator.last.text == confirmation and reply_keys(coordinator.last) == [key]
