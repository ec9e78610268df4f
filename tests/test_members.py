"""/members and /delivery as chiefs and coordinators use them on big posts."""

from __future__ import annotations

from datetime import timedelta

from db.members import Member
from tests.factories import link_code
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
    assert "Rappel n°" in report and "Nouveau membre n°" in report, report
    assert "schedule" not in report and "member #" not in report
