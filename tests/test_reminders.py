"""/remind and /reminders as chiefs, agents and coordinators use them: every step, bad answer and button."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from babel.dates import get_day_names
from sqlmodel import col

from db.audit import AuditEntry
from db.outbox import Notification
from db.schedules import JobState, ScheduledJob
from handlers.reminders.render import WEEKDAYS
from tests.factories import (
    button_data,
    chief_reminders,
    draft_of,
    label,
    language_of,
    press,
    save_reminder,
    say,
    service_label,
)
from tests.harness import Harness


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A UTC moment in 2026 (the frozen clock starts on Monday 23 November, 08:00 UTC)."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


async def tap(harness: Harness, user: Any, english: str, **values: Any) -> str:
    """Press the button labelled `english` in the user's language; return the newest text."""
    await user.tap(label(user, english).format(**values))
    await harness.settle()
    return user.last.text or ""


async def tap_named(harness: Harness, user: Any, text: str) -> str:
    """Press the button showing a name (a service, a post, a day), let the bot answer."""
    await user.tap(text)
    await harness.settle()
    return user.last.text or ""


def number_of(listing: str | None, text: str) -> int:
    """The number a reminder carries in a /reminders listing."""
    return next(int(line.split(".")[0]) for line in (listing or "").splitlines() if f". {text}" in line)


def weekday(user: Any, day: str) -> str:
    """A day-of-week button as the user reads it."""
    return str(get_day_names("abbreviated", locale=language_of(user))[WEEKDAYS.index(day)])


chief_rows = chief_reminders


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
    assert label(chief, "Every week") in chief.buttons()


async def test_chief_creates_weekly_reminder_for_one_service(liaison: Harness) -> None:
    chief = await liaison.member("Chef", post="NE-KONNI", service="customs", role="chief", language="fr")
    police = await liaison.member("Moussa", post="NE-KONNI", service="police", language="en")
    customs = await liaison.member("Awa", post="NE-KONNI", service="customs", language="fr")
    await start_reminder(liaison, chief, "Point <sécurité> & gendarmerie")
    await tap(liaison, chief, "Every week")
    await tap_named(liaison, chief, weekday(chief, "tue"))
    await say(liaison, chief, "10h30")
    await tap_named(liaison, chief, service_label(liaison, chief, "police"))
    summary = chief.last.text or ""
    assert "Point <sécurité> & gendarmerie" in summary and "10:30" in summary
    await tap(liaison, chief, "✅ Save")
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
    liaison.clock.set(at(30, 23, 30))  # 23:30 at Kantchari (UTC+0): tomorrow is 1 December
    await start_reminder(liaison, chief)
    await tap(liaison, chief, "Once")
    # The post names the zone (never its raw id), and both examples are tomorrow, as the parser reads them.
    assert chief.last.text == (
        "Envoyez la date et l'heure, à l'heure de Kantchari. Par exemple : 01/12 08:00 ou 2026-12-01 14:30."
    )
    await say(liaison, chief, "2026-12-01 14:30")
    await tap(liaison, chief, "Whole post")
    await tap(liaison, chief, "✅ Save")
    [row] = await chief_rows(liaison)
    assert row.trigger == "date" and row.next_run_at == at(1, 14, 30, month=12)  # Ouagadougou is UTC+0


async def test_one_off_iso_date_in_niamey_and_daily_weekdays_monthly(liaison: Harness) -> None:
    chief = await liaison.member("Chef", post="NE-KONNI", service="customs", role="chief")
    await start_reminder(liaison, chief, "Rapport")
    await tap(liaison, chief, "Once")
    await say(liaison, chief, "2026-11-28 14:30")
    await tap(liaison, chief, "Post chiefs")
    await tap(liaison, chief, "✅ Save")
    await start_reminder(liaison, chief, "Relève")
    await tap(liaison, chief, "Monday to Friday")
    await say(liaison, chief, "07:00")
    await tap(liaison, chief, "Whole post")
    await tap(liaison, chief, "✅ Save")
    await start_reminder(liaison, chief, "Inventaire")
    await tap(liaison, chief, "Every month")
    await say(liaison, chief, "15")  # typed instead of tapped: accepted too
    await say(liaison, chief, "9:05")
    await tap(liaison, chief, "Whole post")
    await tap(liaison, chief, "✅ Save")
    await start_reminder(liaison, chief, "Café")
    await tap(liaison, chief, "Every day")
    await say(liaison, chief, "16h")
    await tap(liaison, chief, "Whole post")
    await tap(liaison, chief, "✅ Save")
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
    await tap(liaison, chief, "Once")
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
    await chief.tap_forged(
        f"rm:aud:{(await draft_of(liaison, chief, 'remind')).id}:svc:navy", chief.last.message_id
    )  # not a service at this post
    await liaison.settle()
    assert chief.callback_answers[-1].get("show_alert")
    await tap(liaison, chief, "Whole post")
    assert "buttons" in await say(liaison, chief, "yes")
    assert "Cancelled" in await say(liaison, chief, "/cancel")
    assert await chief_rows(liaison) == []

    await say(liaison, chief, "/remind")
    await say(liaison, chief, "Weekly check")
    await tap(liaison, chief, "Every day")
    for typed in ("25:00", "7:75", "noon", "12:3"):
        assert "07:30" in await say(liaison, chief, typed), typed
    await say(liaison, chief, "/remind")  # start again from the top
    await say(liaison, chief, "Monthly check")
    await tap(liaison, chief, "Every month")
    assert "between 1 and 28" in await say(liaison, chief, "31")
    assert "between 1 and 28" in await say(liaison, chief, "first")
    await tap_named(liaison, chief, "28")
    await say(liaison, chief, "18:00")
    await tap(liaison, chief, "Whole post")
    await tap(liaison, chief, "✖ Cancel")
    assert "Cancelled" in (chief.last.text or "")
    assert await chief_rows(liaison) == []


async def test_agents_cannot_create_reminders(liaison: Harness) -> None:
    agent = await liaison.member("Awa", post="NE-KONNI", service="customs", language="en")
    assert "Only post chiefs" in await say(liaison, agent, "/remind")
    await say(liaison, agent, "Some text")  # not in a conversation: the general fallback answers
    assert await chief_rows(liaison) == []


async def test_an_unconfirmed_draft_survives_a_restart(liaison: Harness) -> None:
    chief = await liaison.member("Chef", post="NE-KONNI", service="customs", role="chief", language="en")
    await start_reminder(liaison, chief, "Briefing before the night shift")
    await tap(liaison, chief, "Every day")
    assert "At what time" in (chief.last.text or "")
    await liaison.restart()
    # The chief answers the question asked before the restart, then taps its buttons.
    await say(liaison, chief, "18:30")
    await tap(liaison, chief, "Whole post")
    assert "Briefing before the night shift" in (chief.last.text or "")
    await tap(liaison, chief, "✅ Save")
    [row] = await chief_rows(liaison)
    assert row.payload["text"] == "Briefing before the night shift"
    assert row.trigger_args == {"hour": 18, "minute": 30}
    assert row.next_run_at == at(23, 17, 30)  # 18:30 in Niamey


async def test_coordinator_picks_the_post(liaison: Harness) -> None:
    marc = await liaison.member("Marc", role="coordinator", language="en")
    assert "which post" in (await say(liaison, marc, "/remind")).lower()
    await tap_named(liaison, marc, "Kantchari")
    await say(liaison, marc, "Cross-border meeting")
    await tap(liaison, marc, "Every week")
    await tap_named(liaison, marc, weekday(marc, "fri"))
    await say(liaison, marc, "11:00")
    await tap(liaison, marc, "Post chiefs")
    await tap(liaison, marc, "✅ Save")
    [row] = await chief_rows(liaison)
    assert row.post_code == "BF-KANTCHARI" and row.next_run_at == at(27, 11)


# --- /reminders -------------------------------------------------------------------------------------------


async def _one_weekly(liaison: Harness, chief: Any) -> ScheduledJob:
    await start_reminder(liaison, chief, "Briefing")
    await tap(liaison, chief, "Every day")
    await say(liaison, chief, "10:00")
    await tap(liaison, chief, "Whole post")
    await tap(liaison, chief, "✅ Save")
    [row] = await chief_rows(liaison)
    return row


async def test_list_pause_resume_delete(liaison: Harness) -> None:
    chief = await liaison.member("Chef", post="NE-KONNI", service="customs", role="chief", language="en")
    agent = await liaison.member("Awa", post="NE-KONNI", service="police", language="en")
    await _one_weekly(liaison, chief)

    listing = await say(liaison, agent, "/reminders")
    assert "Briefing" in listing and "Weekly coordination" in listing
    assert "Nov 23, 10:00\u202fAM" in listing  # next time in Niamey time (09:00 UTC)
    assert not agent.last.reply_markup  # agents read, chiefs change

    await say(liaison, chief, "/reminders")
    labels = chief.buttons()
    assert any("Pause" in b for b in labels) and any("Delete" in b for b in labels)
    await tap(liaison, chief, "⏸ Pause {n}", n=number_of(chief.last.text, "Briefing"))
    assert chief.callback_answers[-1].get("text") == "Paused"
    assert "Paused · " in (chief.last.text or "")
    assert (await chief_rows(liaison))[0].state == JobState.PAUSED
    liaison.clock.set(at(23, 9, 30))
    await liaison.settle()
    assert await queued(liaison, agent, "Briefing") == []  # paused: not sent
    await tap(liaison, chief, "▶ Resume {n}", n=number_of(chief.last.text, "Briefing"))
    resumed = (await chief_rows(liaison))[0]
    assert resumed.state == JobState.ACTIVE and resumed.next_run_at == at(24, 9)  # nothing missed is replayed
    await tap(liaison, chief, "🗑 Delete {n}", n=number_of(chief.last.text, "Briefing"))
    assert chief.last.text == "Delete the reminder “Briefing”?"
    await tap(liaison, chief, "Yes, delete")
    assert chief.callback_answers[-1].get("text") == "Deleted"
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
    assert f"rm:del:{weekly.id}:0" not in str(chief.last.reply_markup)
    await chief.tap_forged(f"rm:del:{weekly.id}:0", chief.last.message_id)
    await liaison.settle()
    assert chief.callback_answers[-1].get("show_alert")
    await tap(liaison, chief, "⏸ Pause {n}", n=number_of(chief.last.text, "Weekly coordination"))
    assert chief.callback_answers[-1].get("text") == "Paused"
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
        (other_chief, f"rm:del:{row.id}:0"),  # another post's reminder
        (other_chief, f"rm:pause:{row.id}:0"),
        (agent, f"rm:pause:{row.id}:0"),  # an agent of the right post
        (agent, f"rm:del:{row.id}:0"),
        (other_chief, "rm:del:999999:0"),  # no such row
        (other_chief, "rm:x:1"),
        (other_chief, "rm:del:abc:0"),
        (other_chief, f"rm:delok:{row.id}:0"),  # a forged confirmation
        (agent, f"rm:delok:{row.id}:0"),
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
    await tap(liaison, chief, "Every day")
    await say(liaison, chief, "10:00")
    await tap(liaison, chief, "Whole post")
    # Two quick taps on the same Save button.
    await chief.tap(label(chief, "✅ Save"))
    await chief.tap(label(chief, "✅ Save"))
    await liaison.settle()
    assert len(await chief_rows(liaison)) == 1
    assert liaison.clock.now() + timedelta(days=2) > (await chief_rows(liaison))[0].next_run_at


async def test_one_off_reminder_refuses_absurd_dates(liaison: Harness) -> None:
    chief = await liaison.member("Chef", role="chief", language="en")
    for text in ("/remind", "Inventory of seized goods"):
        await chief.send(text)
        await liaison.settle()
    await tap(liaison, chief, "Once")
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


async def test_monthly_reminder_day_typed_as_a_superscript_or_huge_number(liaison: Harness) -> None:
    chief = await liaison.member("Chef", role="chief", language="en")
    for text in ("/remind", "Monthly report"):
        await chief.send(text)
        await liaison.settle()
    await tap(liaison, chief, "Every month")
    for typed in ("²", "5²", "9" * 5000):
        await chief.send(typed)
        await liaison.settle()
        assert "Send a day between 1 and 28" in chief.last.text, typed
    await chief.send("１５")  # full-width digits, as some Android keyboards type them
    await liaison.settle()
    assert "At what time" in chief.last.text


async def test_agents_list_only_the_reminders_addressed_to_them(liaison: Harness) -> None:
    chief = await liaison.member("Chef", service="customs", role="chief", language="en")
    police = await liaison.member("Moussa", service="police", language="en")
    coordinator = await liaison.member("Coord", post=None, service=None, role="coordinator", language="en")
    await save_reminder(liaison, chief, "Chiefs only", "Every day", "10:00", "Post chiefs")
    await save_reminder(liaison, chief, "Customs only", "Every day", "10:00", "Customs")
    await save_reminder(liaison, chief, "Police only", "Every day", "10:00", "National Police")
    await save_reminder(liaison, chief, "Everyone", "Every day", "10:00", "Whole post")

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
    await save_reminder(liaison, chief, "Weekly brief", "Every week", "09:00", "Whole post", day="Tue")
    summary = next(t for t in chief.texts if "New reminder" in t)
    assert "Every Tuesday at 9:00\u202fAM" in summary
    await save_reminder(liaison, chief, "Daily brief", "Every day", "16:05", "Whole post")
    await chief.send("/reminders")
    await liaison.settle()
    listing = chief.last.text or ""
    assert "Every day at 4:05\u202fPM" in listing and "Every Tuesday at 9:00\u202fAM" in listing
    assert "16:05" not in listing
    await agent.send("/reminders")
    await liaison.settle()
    assert "16:05" in (agent.last.text or "") and "09:00" in (agent.last.text or "")


async def test_a_coordinator_turns_the_pages_of_a_long_list(liaison: Harness) -> None:
    coordinator = await liaison.member("Marc", role="coordinator", language="fr")
    # The configuration gives each of the three posts four reminders: twelve. Four more at Kantchari, the last
    # post listed, make sixteen: two pages of eight, Kantchari's eight on the second.
    created = [f"Contrôle Kantchari {n}" for n in range(1, 5)]
    for hour, text in enumerate(created, start=11):
        await say(liaison, coordinator, "/remind")
        await tap_named(liaison, coordinator, "Kantchari")
        await say(liaison, coordinator, text)
        await tap(liaison, coordinator, "Every day")
        await say(liaison, coordinator, f"{hour}:00")
        await tap(liaison, coordinator, "Whole post")
        await tap(liaison, coordinator, "✅ Save")
    assert len(await chief_rows(liaison)) == 4

    def numbers(page: str) -> list[int]:
        return [int(line.split(".")[0]) for line in page.splitlines() if line[:1].isdigit()]

    first = await say(liaison, coordinator, "/reminders")
    listing = coordinator.last
    assert first.startswith("Rappels · page 1 sur 2\n")
    assert numbers(first) == list(range(1, 9))
    assert not any(text in first for text in created)
    assert listing.buttons()[-1] == "Suivant ▶" and "◀ Précédent" not in listing.buttons()

    # Next: the same message turns to the second page, numbered on from the first.
    await press(coordinator, "Next ▶", listing)
    await liaison.settle()
    second = listing.text or ""
    assert coordinator.last.message_id == listing.message_id
    assert second.startswith("Rappels · page 2 sur 2\n")
    assert numbers(second) == list(range(9, 17))
    assert all(text in second for text in created) and second.count(" · Kantchari · ") == 8
    assert listing.buttons()[-1] == "◀ Précédent" and "Suivant ▶" not in listing.buttons()
    # Only the reminders made through the bot can be deleted; their buttons carry their page-2 numbers.
    deletable = {label(coordinator, "🗑 Delete {n}").format(n=number_of(second, t)) for t in created}
    assert {b for b in listing.buttons() if b.startswith("🗑")} == deletable

    # A reminder paused from the second page leaves the list on that page.
    await press(coordinator, "⏸ Pause {n}", listing, n=number_of(second, created[1]))
    await liaison.settle()
    assert coordinator.callback_answers[-1].get("text") == "Suspendu"
    paused = listing.text or ""
    assert paused.startswith("Rappels · page 2 sur 2\n") and numbers(paused) == list(range(9, 17))
    assert label(coordinator, "▶ Resume {n}").format(n=number_of(paused, created[1])) in listing.buttons()

    # Previous: back to the first page as it was.
    await press(coordinator, "◀ Previous", listing)
    await liaison.settle()
    assert listing.text == first and listing.buttons()[-1] == "Suivant ▶"


async def test_delete_asks_first_and_the_confirmation_deletes_that_reminder_only(liaison: Harness) -> None:
    """🗑 asks, quoting the reminder; No leaves the list as it was; Yes carries the reminder's id, so a list
    renumbered meanwhile never makes it delete another; a confirmation pressed again is refused."""
    chief = await liaison.member("Chef", post="NE-KONNI", service="customs", role="chief", language="fr")
    long_text = "Relève de 07:00 : rédigez votre passation de service (« J+1 ») avant 07:30 <urgent>"
    for text in ("Briefing", long_text, "Ronde de nuit"):
        await start_reminder(liaison, chief, text)
        await tap(liaison, chief, "Every day")
        await say(liaison, chief, "10:00")
        await tap(liaison, chief, "Whole post")
        await tap(liaison, chief, "✅ Save")

    listing = await say(liaison, chief, "/reminders")
    message = chief.last
    buttons = message.buttons()
    number = number_of(listing, "Relève de 07:00")
    await press(chief, "🗑 Delete {n}", message, n=number)
    await liaison.settle()
    assert (
        message.text
        == "Supprimer le rappel « Relève de 07:00 : rédigez votre passation de service (« J+1… » ?"
    )
    assert message.buttons() == ["Oui, supprimer", "Non"]
    assert all(job.state == JobState.ACTIVE for job in await chief_rows(liaison))

    # No: the list comes back as it was, nothing deleted.
    await press(chief, "No", message)
    await liaison.settle()
    assert message.text == listing and message.buttons() == buttons
    assert not [e for e in await liaison.rows(AuditEntry) if e.action == "reminder.deleted"]

    # Ask about "Briefing", then delete the long one from another list: the numbers below it move up, but
    # Yes deletes "Briefing", the reminder it was asked about.
    await press(chief, "🗑 Delete {n}", message, n=number_of(listing, "Briefing"))
    await liaison.settle()
    confirm = button_data(message, "Oui, supprimer")
    other = await say(liaison, chief, "/reminders")
    await press(chief, "🗑 Delete {n}", chief.last, n=number_of(other, "Relève de 07:00"))
    await liaison.settle()
    await press(chief, "Yes, delete", chief.last)
    await liaison.settle()
    await chief.tap_forged(confirm, message.message_id)
    await liaison.settle()
    states = {job.payload["text"]: job.state for job in await chief_rows(liaison)}
    assert states == {
        "Briefing": JobState.CANCELLED,
        long_text: JobState.CANCELLED,
        "Ronde de nuit": JobState.ACTIVE,
    }

    # The same confirmation pressed again: refused, clearly, and nothing else deleted.
    await chief.tap_forged(confirm, message.message_id)
    await liaison.settle()
    assert chief.callback_answers[-1].get("show_alert")
    assert chief.callback_answers[-1].get("text") == "Ce rappel a déjà été supprimé : rien n'a changé."
    assert "Ronde de nuit" in (message.text or "") and "Briefing" not in (message.text or "")
    assert {job.payload["text"]: job.state for job in await chief_rows(liaison)} == states


async def test_the_review_log_quotes_a_reminder_never_its_row_id(liaison: Harness) -> None:
    chief = await liaison.member("Chef", post="NE-KONNI", service="customs", role="chief", language="fr")
    row = await _one_weekly(liaison, chief)
    await say(liaison, chief, "/reminders")
    await tap(liaison, chief, "⏸ Pause {n}", n=number_of(chief.last.text, "Briefing"))
    await tap(liaison, chief, "🗑 Delete {n}", n=number_of(chief.last.text, "Briefing"))
    await tap(liaison, chief, "Yes, delete")

    log = await say(liaison, chief, "/log")
    for said in ("Rappel « Briefing » créé : Chaque jour à 10:00", "Rappel « Briefing » suspendu"):
        assert said in log, log
    assert "Rappel « Briefing » supprimé" in log
    assert f"n°{row.id}" not in log and f"#{row.id}" not in log
