"""Fixes from a chief's walkthrough of /reminders: a paused reminder resumed after its time is never lost
silently, an old list's buttons act on the reminder they were shown for, a paused line reads well."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import col

from db.audit import AuditEntry
from db.schedules import JobState, ScheduledJob
from tests.factories import button_data, chief_reminders, label, press, press_label, say
from tests.harness import Harness
from tests.test_reminders import at, number_of, queued, start_reminder, tap


async def _save(liaison: Harness, chief: Any, how_often: str, text: str, when: str) -> None:
    """A reminder for the whole post, saved through /remind ("Once" or "Every day", then its time)."""
    await start_reminder(liaison, chief, text)
    await tap(liaison, chief, how_often)
    await say(liaison, chief, when)
    await tap(liaison, chief, "Whole post")
    await tap(liaison, chief, "✅ Save")


async def _row(liaison: Harness, text: str) -> ScheduledJob:
    [row] = [job for job in await chief_reminders(liaison) if job.payload["text"] == text]
    return row


async def test_a_paused_one_off_resumed_at_its_time_is_sent_now_and_the_chief_is_told(
    liaison: Harness,
) -> None:
    chief = await liaison.member("Chef", post="NE-KONNI", service="customs", role="chief", language="fr")
    agent = await liaison.member("Awa", post="NE-KONNI", service="police", language="fr")
    await _save(liaison, chief, "Once", "Rapport de nuit", "2026-11-23 10:00")  # 09:00 UTC
    listing = await say(liaison, chief, "/reminders")
    page = chief.last
    await tap(liaison, chief, "⏸ Pause {n}", n=number_of(listing, "Rapport de nuit"))
    assert (await _row(liaison, "Rapport de nuit")).state == JobState.PAUSED
    # The paused line reads as a sentence start, in French.
    assert "\n   Suspendu · " in (page.text or "")

    liaison.clock.set(at(23, 9))  # its time, while paused: nothing goes out
    await liaison.settle()
    assert await queued(liaison, agent, "Rapport de nuit") == []

    await press(chief, "▶ Resume {n}", page, n=number_of(page.text, "Rapport de nuit"))
    await liaison.settle()
    reply = chief.callback_answers[-1]
    assert reply.get("show_alert")
    assert reply.get("text") == (
        "Repris. Son heure (23 nov., 10:00) est passée pendant la suspension : il est envoyé maintenant."
    )
    row = await _row(liaison, "Rapport de nuit")
    assert row.state == JobState.DONE and row.run_count == 1 and row.last_run_at == at(23, 9)
    assert len(await queued(liaison, agent, "Rapport de nuit")) == 1  # one copy, not a replay
    assert any("Rapport de nuit" in text for text in agent.texts)  # on the phone
    # The list is drawn again as the reminder goes out: it is no longer shown paused.
    assert "Suspendu" not in (page.text or "")
    [resumed] = await liaison.rows(AuditEntry, col(AuditEntry.action) == "reminder.resumed")
    assert resumed.details["sent_late"] == {"due_at": at(23, 9).isoformat()}


async def test_a_one_off_resumed_a_day_late_is_still_sent_in_english(liaison: Harness) -> None:
    chief = await liaison.member("Chef", post="NE-KONNI", service="customs", role="chief", language="en")
    agent = await liaison.member("Awa", post="NE-KONNI", service="police", language="en")
    await _save(liaison, chief, "Once", "Inventory", "2026-11-23 10:00")
    listing = await say(liaison, chief, "/reminders")
    page = chief.last
    await tap(liaison, chief, "⏸ Pause {n}", n=number_of(listing, "Inventory"))
    assert "\n   Paused · " in (page.text or "")
    await liaison.advance(timedelta(days=1, hours=3))  # far beyond the scheduler's grace for downtime
    assert (await _row(liaison, "Inventory")).state == JobState.PAUSED  # never dropped while paused
    await press(chief, "▶ Resume {n}", page, n=number_of(page.text, "Inventory"))
    await liaison.settle()
    assert chief.callback_answers[-1].get("text", "").startswith("Resumed. Its time (")
    assert "it is being sent now" in chief.callback_answers[-1].get("text", "")
    row = await _row(liaison, "Inventory")
    assert row.state == JobState.DONE and row.run_count == 1
    assert len(await queued(liaison, agent, "Inventory")) == 1


async def test_a_paused_daily_reminder_resumes_at_its_next_time_without_a_burst(liaison: Harness) -> None:
    chief = await liaison.member("Chef", post="NE-KONNI", service="customs", role="chief", language="fr")
    agent = await liaison.member("Awa", post="NE-KONNI", service="police", language="fr")
    await _save(liaison, chief, "Every day", "Briefing", "10:00")  # 09:00 UTC every day
    listing = await say(liaison, chief, "/reminders")
    page = chief.last
    await tap(liaison, chief, "⏸ Pause {n}", n=number_of(listing, "Briefing"))
    liaison.clock.set(at(25, 9, 30))  # Monday, Tuesday and Wednesday's 10:00 pass while paused
    await liaison.settle()
    assert await queued(liaison, agent, "Briefing") == []

    await press(chief, "▶ Resume {n}", page, n=number_of(page.text, "Briefing"))
    await liaison.settle()
    assert chief.callback_answers[-1].get("text") == "Repris"
    assert not chief.callback_answers[-1].get("show_alert")
    row = await _row(liaison, "Briefing")
    assert row.state == JobState.ACTIVE and row.next_run_at == at(26, 9) and row.run_count == 0
    assert "Briefing" in (page.text or "") and "Suspendu" not in (page.text or "")  # listed, active
    assert await queued(liaison, agent, "Briefing") == []  # no burst of the missed ones

    liaison.clock.set(at(26, 9))
    await liaison.settle()
    assert len(await queued(liaison, agent, "Briefing")) == 1
    row = await _row(liaison, "Briefing")
    assert row.run_count == 1 and row.next_run_at == at(27, 9)


async def test_an_old_list_button_acts_on_the_reminder_it_was_shown_for(liaison: Harness) -> None:
    chief = await liaison.member("Chef", post="NE-KONNI", service="customs", role="chief", language="fr")
    await _save(liaison, chief, "Once", "Rapport", "2026-11-23 10:00")  # 09:00 UTC, first in the list
    await _save(liaison, chief, "Every day", "Ronde", "12:00")
    await _save(liaison, chief, "Every day", "Garde", "13:00")
    old_lists = []
    for _ in range(2):
        listing = await say(liaison, chief, "/reminders")
        assert [number_of(listing, t) for t in ("Rapport", "Ronde", "Garde")] == [1, 2, 3]
        old_lists.append(chief.last)
    ronde, garde = await _row(liaison, "Ronde"), await _row(liaison, "Garde")
    # The buttons name the reminder by its id, never by its place in the list.
    assert button_data(old_lists[0], press_label(chief, "⏸ Pause {n}", n=2)) == f"rm:pause:{ronde.id}:0"

    await liaison.advance(timedelta(hours=1))  # 10:00 in Konni: "Rapport" goes out, the list renumbers
    assert (await _row(liaison, "Rapport")).state == JobState.DONE
    fresh = await say(liaison, chief, "/reminders")
    assert [number_of(fresh, t) for t in ("Ronde", "Garde")] == [1, 2]

    # The old "Pause 2" pauses "Ronde", the reminder it was shown for, not "Garde", number 2 now.
    await press(chief, "⏸ Pause {n}", old_lists[0], n=2)
    await liaison.settle()
    assert chief.callback_answers[-1].get("text") == "Suspendu"
    assert (await _row(liaison, "Ronde")).state == JobState.PAUSED
    assert (await _row(liaison, "Garde")).state == JobState.ACTIVE
    # The old "Pause 1" was "Rapport": it says it went out, and leaves "Ronde" (number 1 now) alone.
    await press(chief, "⏸ Pause {n}", old_lists[1], n=1)
    await liaison.settle()
    assert chief.callback_answers[-1].get("text") == (
        "Ce rappel a déjà été envoyé : il n'y a plus rien à modifier."
    )
    assert {job.payload["text"]: job.state for job in await chief_reminders(liaison)} == {
        "Rapport": JobState.DONE,
        "Ronde": JobState.PAUSED,
        "Garde": JobState.ACTIVE,
    }
    assert garde.next_run_at == (await _row(liaison, "Garde")).next_run_at
    assert label(chief, "Paused") == "Suspendu"
