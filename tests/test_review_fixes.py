"""Defects found in review, each replayed end to end through the harness."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col

from bot.scheduler.api import schedule_once
from bot.scheduler.runners import register_runner
from db.alerts import Alert, AlertDraft
from db.invites import Invite
from db.members import Member
from db.schedules import ScheduledJob
from sandbox.emulator import EmulatedUser
from tests.harness import Harness
from tests.test_alerts import draft_of, draft_to_location
from tests.test_onboarding import link_code


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


STICKER = {
    "file_id": "CAACAgIAAx0CStickerFileId",
    "file_unique_id": "AgADSticker",
    "type": "regular",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
}


async def send_sticker(user: EmulatedUser) -> None:
    """A sticker in the private chat (the emulator has no helper for it)."""
    await user._message(user.chat, sticker=STICKER)


async def test_stickers_photos_and_locations_always_get_an_answer(liaison: Harness) -> None:
    customs = await liaison.member("Awa", service="customs", language="en")
    chief = await liaison.member("Chef", service="police", role="chief", language="en")

    # Outside any conversation: a hint, not silence.
    for send in (
        lambda: send_sticker(customs),
        lambda: customs.send_photo(),
        lambda: customs.share_location(13.79, 5.25),
    ):
        before = len(customs.inbox)
        await send()
        await liaison.settle()
        assert len(customs.inbox) == before + 1
        assert "I only understand commands here" in customs.last.text

    # At the text step of an alert: the question again, and the draft stays where it was.
    draft = await draft_to_location(liaison, customs, "other", "info")
    await send_sticker(customs)
    await liaison.settle()
    assert "Share your location" in customs.last.text
    await customs.send("⏭ Skip")
    await customs.send("⏭ Skip")
    await liaison.settle()
    await send_sticker(customs)
    await liaison.settle()
    assert "Now write what is happening" in customs.last.text
    assert (await draft_of(liaison, customs)).step == "text"
    await customs.send("Lorry parked at the barrier")
    await liaison.settle()
    await customs.tap(f"al:ok:{draft.id}")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)

    # Waiting for a resolution's outcome line: a sticker is not an outcome.
    await chief.tap(f"al:res:{alert.id}")
    await liaison.settle()
    await send_sticker(chief)
    await liaison.settle()
    assert "Send the outcome as text" in chief.last.text
    [still_open] = await liaison.rows(Alert)
    assert still_open.state == "open"


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


async def test_coordinator_alert_list_shows_each_alert_in_its_post_time(liaison: Harness) -> None:
    coordinator = await liaison.member("Coord", role="coordinator", language="en")
    konni = await liaison.member("Awa", post="NE-KONNI", service="customs", language="en")
    kantchari = await liaison.member("Issa", post="BF-KANTCHARI", service="customs", language="en")
    # 08:00 UTC: 9:00 AM in Niamey (UTC+1), 8:00 AM in Ouagadougou (UTC+0).
    await konni.send("/alert info other: lorry parked at the barrier")
    await kantchari.send("/alert info other: stray cattle on the road")
    await liaison.settle()
    await coordinator.send("/alerts")
    await liaison.settle()
    lines = {line.split(" · ")[2]: line for line in coordinator.last.text.splitlines()[1:]}
    assert "9:00\u202fAM" in lines["Birni N'Konni"], lines
    assert "8:00\u202fAM" in lines["Kantchari"], lines


async def test_one_off_reminder_refuses_absurd_dates(liaison: Harness) -> None:
    chief = await liaison.member("Chef", role="chief", language="en")
    for text in ("/remind", "Inventory of seized goods"):
        await chief.send(text)
        await liaison.settle()
    await chief.tap("rm:rep:once")
    await liaison.settle()
    for typed, expected in (
        ("31/12/9999 23:59", "more than a year away"),
        ("2031-01-01 08:00", "more than a year away"),
        ("0001-01-01 08:00", "already passed"),
        ("00/00 08:00", "does not exist"),
        ("99/99/99 99:99", "could not read"),
    ):
        await chief.send(typed)
        await liaison.settle()
        assert expected in chief.last.text, (typed, chief.last.text)
        assert "24/11 08:00" in chief.last.text  # a valid example
    # Within the year is fine: the conversation goes on.
    await chief.send("20/11/2027 08:00")
    await liaison.settle()
    assert "Who should receive it?" in chief.last.text
    assert await liaison.rows(ScheduledJob, col(ScheduledJob.key).startswith("chief:")) == []


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


async def test_a_removed_member_no_longer_follows_the_alerts_of_the_post(liaison: Harness) -> None:
    customs = await liaison.member("Awa", service="customs", language="en")
    police = await liaison.member("John", service="police", language="en")
    chief = await liaison.member("Chef", service="gendarmerie", role="chief", language="en")
    await customs.send("/alert urgent security: armed men seen near the river")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    police_copy = next(m for m in police.inbox if f"ALERT #{alert.id}" in (m.text or ""))
    assert "RESOLVED" not in police_copy.text.upper()

    # The chief removes the police agent through /members.
    [john] = await liaison.rows(Member, Member.display_name == "John")
    await chief.send("/members")
    await liaison.settle()
    await chief.tap(f"mb:open:{john.id}")
    await liaison.settle()
    await chief.tap(f"mb:rm:{john.id}")
    await liaison.settle()
    await chief.tap(f"mb:rmok:{john.id}")
    await liaison.settle()

    # The chief resolves the alert with a sensitive outcome: every member's copy shows it, not John's.
    await chief.tap(f"al:res:{alert.id}")
    await liaison.settle()
    await chief.send("Two suspects arrested by the gendarmerie")
    await liaison.settle()
    customs_copy = next(m for m in customs.inbox if f"ALERT #{alert.id}" in (m.text or ""))
    assert "Two suspects arrested" in customs_copy.text
    police_copy = next(m for m in police.inbox if m.message_id == police_copy.message_id)
    assert "Two suspects arrested" not in police_copy.text
    assert all("Two suspects arrested" not in text for text in police.texts)


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
    await coordinator.tap("mb:post:NE-KONNI")
    await liaison.settle()
    await coordinator.tap(f"mb:open:{chef.id}")
    await liaison.settle()
    await coordinator.tap(f"mb:rm:{chef.id}")
    await liaison.settle()
    await coordinator.tap(f"mb:rmok:{chef.id}")
    await liaison.settle()

    newcomer = liaison.user("Intruder", language="en")
    await newcomer.start(code)
    await liaison.settle()
    assert "This invite was withdrawn" in newcomer.last.text
    assert await liaison.rows(Member, Member.display_name == "Intruder") == []


async def test_remind_after_an_unanswered_resolve_does_not_resolve_the_alert(liaison: Harness) -> None:
    customs = await liaison.member("Awa", service="customs", language="en")
    chief = await liaison.member("Chef", service="gendarmerie", role="chief", language="en")
    await customs.send("/alert urgent security: armed men seen near the river")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    # The chief presses Resolve, then moves on to something else without answering.
    await chief.tap(f"al:res:{alert.id}")
    await liaison.settle()
    assert "Send the outcome" in chief.last.text
    await chief.send("/remind")
    await liaison.settle()
    await chief.send("Coordination meeting on Thursday")
    await liaison.settle()
    # The text belongs to the reminder: the alert is still open and nobody was told it was resolved.
    assert "When? Once, or repeating?" in chief.last.text
    [still_open] = await liaison.rows(Alert)
    assert still_open.state == "open" and still_open.outcome is None
    assert all("Coordination meeting" not in text for text in customs.texts)
    assert await liaison.rows(AlertDraft) == []


async def test_remind_after_a_half_written_alert_gets_its_own_text(liaison: Harness) -> None:
    chief = await liaison.member("Chef", service="gendarmerie", role="chief", language="en")
    await draft_to_location(liaison, chief, "other", "info")
    await chief.send("/remind")
    await liaison.settle()
    assert "Alert cancelled. Nothing was sent." in chief.texts
    await chief.send("Coordination meeting on Thursday")
    await liaison.settle()
    assert "When? Once, or repeating?" in chief.last.text
    assert await liaison.rows(AlertDraft) == [] and await liaison.rows(Alert) == []


async def broken_runner(session: Any, job: Any, **_: Any) -> None:
    """A runner with a bug, as a feature could ship one."""
    raise KeyError("audience")


register_runner("review.broken", broken_runner)


async def test_a_broken_scheduled_runner_fails_the_test(liaison: Harness) -> None:
    # The scheduler survives a failing runner (it logs it and retries later): settle() must not stay quiet.
    async with liaison.db.transaction() as session:
        await schedule_once(
            session, key="review:broken", kind="review.broken", run_at=liaison.clock.now(), payload={}
        )
    with pytest.raises(AssertionError, match="background work failed:\nSchedule review:broken failed"):
        await liaison.settle()
    await liaison.settle()  # reported once


async def test_a_stranger_sending_start_and_blanks_hears_how_to_join(liaison: Harness) -> None:
    stranger = liaison.user("Nobody", language="en")
    for text in ("/start  ", "/start \t", "/start \u3000"):
        await stranger.send(text)
        await liaison.settle()
        assert "Liaison is reserved for staff of border posts" in stranger.last.text
    assert await liaison.rows(Member) == []


async def test_forged_buttons_with_huge_ids_are_refused_not_crashed(liaison: Harness) -> None:
    chief = await liaison.member("Chef", role="chief", language="en")
    huge = "9" * 20
    for data in (
        f"mb:sus:{huge}",
        f"rl:p:{huge}",
        f"al:seen:{huge}",
        f"al:cat:{huge}:other",
        f"mb:open:{2**31}",
    ):
        await chief.tap_forged(data, chief.last.message_id)
        await liaison.settle()
        assert chief.callback_answers[-1].get("show_alert"), data


async def test_monthly_reminder_day_typed_as_a_superscript_or_huge_number(liaison: Harness) -> None:
    chief = await liaison.member("Chef", role="chief", language="en")
    for text in ("/remind", "Monthly report"):
        await chief.send(text)
        await liaison.settle()
    await chief.tap("rm:rep:monthly")
    await liaison.settle()
    for typed in ("²", "5²", "9" * 5000):
        await chief.send(typed)
        await liaison.settle()
        assert "Send a day between 1 and 28" in chief.last.text, typed
    await chief.send("１５")  # full-width digits, as some Android keyboards type them
    await liaison.settle()
    assert "At what time" in chief.last.text


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
    await chief.tap(f"mb:open:{awa.id}")
    await liaison.settle()
    liaison.emulator.faults.inject(500, method="deleteMyCommands", count=1)
    await chief.tap(f"mb:sus:{awa.id}")
    await liaison.settle()
    assert chief.callback_answers[-1]["text"] == "Awa is suspended."
    [suspended] = await liaison.rows(Member, Member.display_name == "Awa")
    assert suspended.status == "suspended"


async def test_an_old_unanswered_resolve_does_not_take_the_next_message(liaison: Harness) -> None:
    customs = await liaison.member("Awa", service="customs", language="en")
    chief = await liaison.member("Chef", service="gendarmerie", role="chief", language="en")
    await customs.send("/alert important security: lorry without papers at the barrier")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    await chief.tap(f"al:res:{alert.id}")
    await liaison.settle()
    # Hours later the chief thanks the bot: that is not the outcome of the alert.
    await liaison.advance(timedelta(hours=3))
    await chief.send("thanks")
    await liaison.settle()
    assert "I only understand commands here" in chief.last.text
    [still_open] = await liaison.rows(Alert)
    assert still_open.state == "open" and still_open.outcome is None
    assert await liaison.rows(AlertDraft) == []
    # A fresh press still works as before.
    await chief.tap(f"al:res:{alert.id}")
    await liaison.settle()
    await chief.send("Papers found in the cab")
    await liaison.settle()
    [resolved] = await liaison.rows(Alert)
    assert resolved.state == "resolved" and resolved.outcome == "Papers found in the cab"


async def _save_reminder(
    liaison: Harness, chief: Any, text: str, every: str, time: str, audience: str
) -> None:
    """Walk /remind for a repeating reminder and save it."""
    for step in ("/remind", text):
        await chief.send(step)
        await liaison.settle()
    await chief.tap(f"rm:rep:{every}")
    await liaison.settle()
    if every == "weekly":
        await chief.tap("rm:day:tue")
        await liaison.settle()
    await chief.send(time)
    await liaison.settle()
    await chief.tap(f"rm:aud:{audience}")
    await liaison.settle()
    await chief.tap("rm:ok")
    await liaison.settle()


async def test_agents_list_only_the_reminders_addressed_to_them(liaison: Harness) -> None:
    chief = await liaison.member("Chef", service="customs", role="chief", language="en")
    police = await liaison.member("Moussa", service="police", language="en")
    coordinator = await liaison.member("Coord", post=None, service=None, role="coordinator", language="en")
    await _save_reminder(liaison, chief, "Chiefs only", "daily", "10:00", "chief")
    await _save_reminder(liaison, chief, "Customs only", "daily", "10:00", "svc:customs")
    await _save_reminder(liaison, chief, "Police only", "daily", "10:00", "svc:police")
    await _save_reminder(liaison, chief, "Everyone", "daily", "10:00", "post")

    await police.send("/reminders")
    await liaison.settle()
    listing = police.last.text or ""
    assert "Police only" in listing and "Everyone" in listing
    assert "Weekly coordination" in listing  # a whole-post reminder from the configuration
    assert "Chiefs only" not in listing and "Customs only" not in listing
    assert "monthly report" not in listing  # the configuration's chiefs-only reminder
    assert not police.last.reply_markup

    for reader in (chief, coordinator):
        await reader.send("/reminders")
        await liaison.settle()
        everything = reader.last.text or ""
        assert all(t in everything for t in ("Chiefs only", "Customs only", "Police only", "Everyone"))
    await chief.send("/reminders")
    await liaison.settle()
    assert any("Pause" in label for label in chief.buttons())


async def test_reminder_times_read_in_the_reader_language(liaison: Harness) -> None:
    chief = await liaison.member("Chef", service="customs", role="chief", language="en")
    agent = await liaison.member("Awa", service="police", language="fr")
    await _save_reminder(liaison, chief, "Weekly brief", "weekly", "09:00", "post")
    summary = next(t for t in chief.texts if "New reminder" in t)
    assert "Every Tuesday at 9:00\u202fAM" in summary
    await _save_reminder(liaison, chief, "Daily brief", "daily", "16:05", "post")
    await chief.send("/reminders")
    await liaison.settle()
    listing = chief.last.text or ""
    assert "Every day at 4:05\u202fPM" in listing and "Every Tuesday at 9:00\u202fAM" in listing
    assert "16:05" not in listing
    await agent.send("/reminders")
    await liaison.settle()
    assert "16:05" in (agent.last.text or "") and "09:00" in (agent.last.text or "")


async def test_an_over_long_photo_caption_is_refused_at_the_photo_step(liaison: Harness) -> None:
    customs = await liaison.member("Awa", service="customs", language="en")
    draft = await draft_to_location(liaison, customs, "smuggling", "important")
    await customs.send("⏭ Skip")  # no location
    await liaison.settle()
    await customs.send_photo(caption="x" * 1010)  # Telegram allows 1,024; alerts allow 1,000
    await liaison.settle()
    assert customs.last.text == (
        "This text is too long (1,010 characters). The limit is 1,000 characters: "
        "shorten it and send it again."
    )
    kept = await draft_of(liaison, customs)
    assert kept.step == "photo" and kept.photo_file_id is None and kept.text is None
    await customs.send_photo(caption="Cigarette cartons under the tarpaulin")
    await liaison.settle()
    assert (customs.last.text or "").startswith("Check your alert")
    await customs.tap(f"al:ok:{draft.id}")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    assert alert.text == "Cigarette cartons under the tarpaulin" and alert.photo_file_id


async def test_a_partner_post_newcomer_sees_and_opens_an_open_cross_border_alert(liaison: Harness) -> None:
    author = await liaison.member("Fatou", post="NE-MAKALONDI", service="customs", language="en")
    await author.send("/alert urgent migration: group of about 40 people crossing north of the post")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    assert alert.posts == ["NE-MAKALONDI", "BF-KANTCHARI"]
    newcomer = await liaison.member("Issa", post="BF-KANTCHARI", service="police", language="en")
    outsider = await liaison.member("Awa", post="NE-KONNI", service="police", language="en")

    await newcomer.send("/alerts")
    await liaison.settle()
    assert f"#{alert.id}" in (newcomer.last.text or "")
    assert f"al:open:{alert.id}" in str(newcomer.last.reply_markup)
    await newcomer.tap(f"al:open:{alert.id}")
    await liaison.settle()
    assert not newcomer.callback_answers[-1].get("show_alert")
    card = newcomer.last
    assert f"ALERT #{alert.id} " in (card.text or "") and "group of about 40 people" in (card.text or "")
    await newcomer.tap(f"al:seen:{alert.id}", message_id=card.message_id)
    await liaison.settle()
    assert newcomer.callback_answers[-1]["text"].startswith("Seen: recorded")

    # A post that is not a partner still sees nothing of it.
    await outsider.send("/alerts")
    await liaison.settle()
    assert f"#{alert.id}" not in (outsider.last.text or "")
    await outsider.tap_forged(f"al:open:{alert.id}", outsider.last.message_id)
    await liaison.settle()
    assert outsider.callback_answers[-1].get("show_alert")
