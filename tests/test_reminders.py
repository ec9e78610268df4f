"""/remind and /reminders as chiefs, agents and coordinators use them: every step, bad answer and button."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col

from db.audit import AuditEntry
from db.outbox import Notification
from db.schedules import JobState, ScheduledJob
from tests.harness import Harness


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A UTC moment in 2026 (the frozen clock starts on Monday 23 November, 08:00 UTC)."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


async def say(harness: Harness, user: Any, text: str) -> str:
    """Send a message, let the bot answer, return the answer's text."""
    await user.send(text)
    await harness.settle()
    return user.last.text or ""


async def tap(harness: Harness, user: Any, data: str) -> str:
    """Press a button, let the bot answer, return the newest message's text."""
    await user.tap(data)
    await harness.settle()
    return user.last.text or ""


async def chief_rows(harness: Harness) -> list[ScheduledJob]:
    """Reminders created through the bot."""
    return await harness.rows(ScheduledJob, col(ScheduledJob.key).startswith("chief:"))


async def queued(harness: Harness, user: Any, containing: str) -> list[str]:
    """Texts queued for one person's chat that contain a phrase."""
    rows = await harness.rows(Notification, col(Notification.chat_id) == user.id)
    return [str(r.payload.get("text")) for r in rows if containing in str(r.payload.get("text"))]


async def start_reminder(
    harness: Harness, chief: Any, text: str = "Point sécurité avec la gendarmerie"
) -> None:
    """Walk /remind up to the 'when' question."""
    assert "reminder say" in await say(harness, chief, "/remind") or "rappel" in chief.last.text
    await say(harness, chief, text)
    assert "rm:rep:weekly" in str(chief.last.reply_markup)


async def test_chief_creates_weekly_reminder_for_one_service(liaison: Harness) -> None:
    chief = await liaison.member("Chef", post="NE-KONNI", service="customs", role="chief", language="fr")
    police = await liaison.member("Moussa", post="NE-KONNI", service="police", language="en")
    customs = await liaison.member("Awa", post="NE-KONNI", service="customs", language="fr")
    await start_reminder(liaison, chief, "Point <sécurité> & gendarmerie")
    await tap(liaison, chief, "rm:rep:weekly")
    await tap(liaison, chief, "rm:day:tue")
    await say(liaison, chief, "10h30")
    await tap(liaison, chief, "rm:aud:svc:police")
    summary = chief.last.text or ""
    assert "Point <sécurité> & gendarmerie" in summary and "10:30" in summary
    await tap(liaison, chief, "rm:ok")
    assert "/reminders" in (chief.last.text or "")
    [row] = await chief_rows(liaison)
    assert row.trigger == "cron" and row.trigger_args == {"hour": 10, "minute": 30, "day_of_week": "tue"}
    assert row.timezone == "Africa/Niamey" and row.source == "chief" and row.post_code == "NE-KONNI"
    assert row.next_run_at == at(24, 9, 30)  # Tuesday 10:30 in Niamey
    assert row.payload["audience"] == {"service": "police"}
    assert await liaison.rows(AuditEntry, col(AuditEntry.action) == "reminder.created")

    liaison.clock.set(at(24, 9, 30))
    await liaison.settle()
    [copy] = await queued(liaison, police, "gendarmerie")
    assert "Point &lt;sécurité&gt; &amp; gendarmerie" in copy and "Chef" in copy and "Reminder" in copy
    assert await queued(liaison, customs, "gendarmerie") == []
    [on_phone] = [t for t in police.texts if "gendarmerie" in t]
    assert on_phone == "🔔 Reminder\nPoint <sécurité> & gendarmerie\nFrom Chef"
    assert (await chief_rows(liaison))[0].next_run_at == at(1, 9, 30, month=12)


async def test_one_off_reminder_read_in_the_post_time_zone(liaison: Harness) -> None:
    chief = await liaison.member("Chef", post="BF-KANTCHARI", service="customs", role="chief")
    await start_reminder(liaison, chief)
    await tap(liaison, chief, "rm:rep:once")
    assert "Africa/Ouagadougou" in (chief.last.text or "")
    await say(liaison, chief, "28/11 14:30")
    await tap(liaison, chief, "rm:aud:post")
    await tap(liaison, chief, "rm:ok")
    [row] = await chief_rows(liaison)
    assert row.trigger == "date" and row.next_run_at == at(28, 14, 30)  # Ouagadougou is UTC+0


async def test_one_off_iso_date_in_niamey_and_daily_weekdays_monthly(liaison: Harness) -> None:
    chief = await liaison.member("Chef", post="NE-KONNI", service="customs", role="chief")
    await start_reminder(liaison, chief, "Rapport")
    await tap(liaison, chief, "rm:rep:once")
    await say(liaison, chief, "2026-11-28 14:30")
    await tap(liaison, chief, "rm:aud:chief")
    await tap(liaison, chief, "rm:ok")
    await start_reminder(liaison, chief, "Relève")
    await tap(liaison, chief, "rm:rep:weekdays")
    await say(liaison, chief, "07:00")
    await tap(liaison, chief, "rm:aud:post")
    await tap(liaison, chief, "rm:ok")
    await start_reminder(liaison, chief, "Inventaire")
    await tap(liaison, chief, "rm:rep:monthly")
    await say(liaison, chief, "15")  # typed instead of tapped: accepted too
    await say(liaison, chief, "9:05")
    await tap(liaison, chief, "rm:aud:post")
    await tap(liaison, chief, "rm:ok")
    await start_reminder(liaison, chief, "Café")
    await tap(liaison, chief, "rm:rep:daily")
    await say(liaison, chief, "16h")
    await tap(liaison, chief, "rm:aud:post")
    await tap(liaison, chief, "rm:ok")
    rows = {r.payload["text"]: r for r in await chief_rows(liaison)}
    assert rows["Rapport"].next_run_at == at(28, 13, 30)  # Niamey is UTC+1
    assert rows["Rapport"].payload["audience"] == {"role": "chief"}
    assert rows["Relève"].trigger_args == {"hour": 7, "minute": 0, "day_of_week": "mon-fri"}
    assert rows["Relève"].next_run_at == at(24, 6)
    assert rows["Inventaire"].trigger_args == {"hour": 9, "minute": 5, "day": 15}
    assert rows["Inventaire"].next_run_at == at(15, 8, 5, month=12)
    assert rows["Café"].next_run_at == at(23, 15)


async def test_every_bad_answer_gets_an_example_and_the_step_continues(liaison: Harness) -> None:
    chief = await liaison.member("Chef", post="NE-KONNI", service="customs", role="chief", language="en")
    await say(liaison, chief, "/remind")
    await chief.send_photo()
    await liaison.settle()
    assert "text message" in (chief.last.text or "")  # a photo where words are expected
    assert "500" in await say(liaison, chief, "x" * 501)  # too long: the limit is stated
    await say(liaison, chief, "Shift briefing")
    assert "buttons" in await say(liaison, chief, "tomorrow")  # typed where a button is expected
    await tap(liaison, chief, "rm:rep:once")
    for typed, expected in (
        ("tomorrow at ten", "could not read"),
        ("31/02 10:00", "does not exist"),
        ("28/11 25:00", "could not read"),
        ("20/11 10:00", "already passed"),
        ("2026-13-01 10:00", "does not exist"),
    ):
        answer = await say(liaison, chief, typed)
        assert expected in answer, (typed, answer)
        assert "24/11 08:00" in answer  # a valid example: tomorrow at 08:00
    await say(liaison, chief, "28/11/2026 9h")
    assert "Who should receive" in (chief.last.text or "")
    await chief.tap_forged("rm:aud:svc:navy", chief.last.message_id)  # not a service at this post
    await liaison.settle()
    assert chief.callback_answers[-1].get("show_alert")
    await tap(liaison, chief, "rm:aud:post")
    assert "buttons" in await say(liaison, chief, "yes")
    assert "Cancelled" in await say(liaison, chief, "/cancel")
    assert await chief_rows(liaison) == []

    await say(liaison, chief, "/remind")
    await say(liaison, chief, "Weekly check")
    await tap(liaison, chief, "rm:rep:daily")
    for typed in ("25:00", "7:75", "noon", "12:3"):
        assert "07:30" in await say(liaison, chief, typed), typed
    await say(liaison, chief, "/remind")  # start again from the top
    await say(liaison, chief, "Monthly check")
    await tap(liaison, chief, "rm:rep:monthly")
    assert "between 1 and 28" in await say(liaison, chief, "31")
    assert "between 1 and 28" in await say(liaison, chief, "first")
    await tap(liaison, chief, "rm:mday:28")
    await say(liaison, chief, "18:00")
    await tap(liaison, chief, "rm:aud:post")
    await tap(liaison, chief, "rm:no")
    assert "Cancelled" in (chief.last.text or "")
    assert await chief_rows(liaison) == []


async def test_agents_cannot_create_reminders(liaison: Harness) -> None:
    agent = await liaison.member("Awa", post="NE-KONNI", service="customs", language="en")
    assert "Only post chiefs" in await say(liaison, agent, "/remind")
    await say(liaison, agent, "Some text")  # not in a conversation: the general fallback answers
    assert await chief_rows(liaison) == []


async def test_restart_loses_an_unconfirmed_draft(liaison: Harness) -> None:
    chief = await liaison.member("Chef", post="NE-KONNI", service="customs", role="chief", language="en")
    await start_reminder(liaison, chief, "Draft")
    await liaison.restart()
    await tap(liaison, chief, "rm:rep:daily")  # a button from before the restart
    assert chief.callback_answers[-1].get("show_alert")
    assert await chief_rows(liaison) == []


async def test_coordinator_picks_the_post(liaison: Harness) -> None:
    marc = await liaison.member("Marc", role="coordinator", language="en")
    assert "which post" in (await say(liaison, marc, "/remind")).lower()
    await tap(liaison, marc, "rm:post:BF-KANTCHARI")
    await say(liaison, marc, "Cross-border meeting")
    await tap(liaison, marc, "rm:rep:weekly")
    await tap(liaison, marc, "rm:day:fri")
    await say(liaison, marc, "11:00")
    await tap(liaison, marc, "rm:aud:chief")
    await tap(liaison, marc, "rm:ok")
    [row] = await chief_rows(liaison)
    assert row.post_code == "BF-KANTCHARI" and row.next_run_at == at(27, 11)


# --- /reminders -------------------------------------------------------------------------------------------


async def _one_weekly(liaison: Harness, chief: Any) -> ScheduledJob:
    await start_reminder(liaison, chief, "Briefing")
    await tap(liaison, chief, "rm:rep:daily")
    await say(liaison, chief, "10:00")
    await tap(liaison, chief, "rm:aud:post")
    await tap(liaison, chief, "rm:ok")
    [row] = await chief_rows(liaison)
    return row


async def test_list_pause_resume_delete(liaison: Harness) -> None:
    chief = await liaison.member("Chef", post="NE-KONNI", service="customs", role="chief", language="en")
    agent = await liaison.member("Awa", post="NE-KONNI", service="police", language="en")
    row = await _one_weekly(liaison, chief)

    listing = await say(liaison, agent, "/reminders")
    assert "Briefing" in listing and "Weekly coordination" in listing
    assert "Nov 23, 10:00\u202fAM" in listing  # next time in Niamey time (09:00 UTC)
    assert not agent.last.reply_markup  # agents read, chiefs change

    await say(liaison, chief, "/reminders")
    labels = chief.buttons()
    assert any("Pause" in b for b in labels) and any("Delete" in b for b in labels)
    await tap(liaison, chief, f"rl:p:{row.id}")
    assert chief.callback_answers[-1].get("text") == "Paused"
    assert "paused" in (chief.last.text or "")
    assert (await chief_rows(liaison))[0].state == JobState.PAUSED
    liaison.clock.set(at(23, 9, 30))
    await liaison.settle()
    assert await queued(liaison, agent, "Briefing") == []  # paused: not sent
    await tap(liaison, chief, f"rl:r:{row.id}")
    resumed = (await chief_rows(liaison))[0]
    assert resumed.state == JobState.ACTIVE and resumed.next_run_at == at(24, 9)  # nothing missed is replayed
    await tap(liaison, chief, f"rl:d:{row.id}")
    assert (await chief_rows(liaison))[0].state == JobState.CANCELLED
    assert "Briefing" not in (await say(liaison, chief, "/reminders"))
    actions = [e.action for e in await liaison.rows(AuditEntry) if e.action.startswith("reminder.")]
    assert actions == ["reminder.created", "reminder.paused", "reminder.resumed", "reminder.deleted"]


async def test_config_reminders_can_be_paused_not_deleted(liaison: Harness) -> None:
    chief = await liaison.member("Chef", post="NE-KONNI", service="customs", role="chief", language="en")
    [weekly] = await liaison.rows(
        ScheduledJob, col(ScheduledJob.key) == "config:weekly-coordination:NE-KONNI"
    )
    await say(liaison, chief, "/reminders")
    assert f"rl:d:{weekly.id}" not in str(chief.last.reply_markup)
    await chief.tap_forged(f"rl:d:{weekly.id}", chief.last.message_id)
    await liaison.settle()
    assert chief.callback_answers[-1].get("show_alert")
    await tap(liaison, chief, f"rl:p:{weekly.id}")
    await liaison.restart()  # the config sync keeps a paused config reminder paused
    [weekly] = await liaison.rows(
        ScheduledJob, col(ScheduledJob.key) == "config:weekly-coordination:NE-KONNI"
    )
    assert weekly.state == JobState.PAUSED


async def test_forged_buttons_change_nothing(liaison: Harness) -> None:
    konni_chief = await liaison.member("Chef", post="NE-KONNI", service="customs", role="chief")
    other_chief = await liaison.member("Autre", post="BF-KANTCHARI", service="customs", role="chief")
    agent = await liaison.member("Awa", post="NE-KONNI", service="customs")
    row = await _one_weekly(liaison, konni_chief)
    await say(liaison, other_chief, "/reminders")
    await say(liaison, agent, "/reminders")
    for user, data in (
        (other_chief, f"rl:d:{row.id}"),  # another post's reminder
        (other_chief, f"rl:p:{row.id}"),
        (agent, f"rl:p:{row.id}"),  # an agent of the right post
        (agent, f"rl:d:{row.id}"),
        (other_chief, "rl:d:999999"),  # no such row
        (other_chief, "rl:x:1"),
        (other_chief, "rl:d:abc"),
    ):
        await user.tap_forged(data, user.last.message_id)
        await liaison.settle()
        assert user.callback_answers[-1].get("show_alert"), data
    [unchanged] = await chief_rows(liaison)
    assert unchanged.state == JobState.ACTIVE and unchanged.next_run_at == row.next_run_at
    assert [
        e
        for e in await liaison.rows(AuditEntry)
        if e.action != "reminder.created" and e.action.startswith("reminder.")
    ] == []


async def test_double_tap_on_save_creates_one_reminder(liaison: Harness) -> None:
    chief = await liaison.member("Chef", post="NE-KONNI", service="customs", role="chief")
    await start_reminder(liaison, chief, "Une fois")
    await tap(liaison, chief, "rm:rep:daily")
    await say(liaison, chief, "10:00")
    await tap(liaison, chief, "rm:aud:post")
    summary_id = chief.last.message_id
    await chief.tap_forged("rm:ok", summary_id)
    await chief.tap_forged("rm:ok", summary_id)
    await liaison.settle()
    assert len(await chief_rows(liaison)) == 1
    assert liaison.clock.now() + timedelta(days=2) > (await chief_rows(liaison))[0].next_run_at
