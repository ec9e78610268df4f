"""Defects found in review, each replayed end to end through the harness."""

from __future__ import annotations

from db.alerts import Alert
from db.invites import Invite
from db.members import Member
from tests.harness import Harness


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


async def test_one_line_alert_after_a_line_break_or_odd_spaces(liaison: Harness) -> None:
    customs = await liaison.member("Awa", service="customs", language="en")
    await customs.send("/alert\nurgent health: fever at gate 2")
    await liaison.settle()
    await customs.send("/alert\u00a0 info  security :  lorry parked at the barrier")
    await liaison.settle()
    # The line break used to swallow "info", and this was raised as an urgent alert: it must be refused.
    await customs.send("/alert\ninfo health urgent: cough")
    await liaison.settle()
    assert [(a.severity, a.category, a.text) for a in await liaison.rows(Alert)] == [
        ("urgent", "health", "fever at gate 2"),
        ("info", "security", "lorry parked at the barrier"),
    ]
    assert "I could not read this alert" in customs.last.text
