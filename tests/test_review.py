"""Review end to end: coordinators and chiefs read the log on their phones, export it, and get digests."""

from __future__ import annotations

import asyncio
import csv
import io
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlmodel import col

from bot.i18n import translator
from db.audit import Action, AuditEntry, record_action, record_actions
from db.members import Member
from db.outbox import Notification
from db.review import ReviewView
from db.schedules import ScheduledJob
from handlers.review import export, exporting
from handlers.review.export import ExportRequest, write_export
from sandbox.emulator import EmulatedUser
from tests.factories import label, member_row, raise_guided, tap, tap_text
from tests.harness import Harness

MONDAY = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
NIAMEY = ZoneInfo("Africa/Niamey")


# ----- the world: two posts in two zones, a week of events -------------------------------------------------


async def people(liaison: Harness) -> dict[str, EmulatedUser]:
    """Makalondi (Niger, UTC+1) and its twin Kantchari (Burkina Faso, UTC+0), two coordinators."""
    return {
        "awa": await liaison.member("Awa", post="NE-MAKALONDI", service="customs", language="fr"),
        "john": await liaison.member("John", post="NE-MAKALONDI", service="police", language="en"),
        "moussa": await liaison.member("Moussa", post="NE-MAKALONDI", service="health", role="chief"),
        "salif": await liaison.member("Salif", post="BF-KANTCHARI", service="police", language="fr"),
        "grace": await liaison.member(
            "Grace", post="BF-KANTCHARI", service="health", role="chief", language="en"
        ),
        "fatou": await liaison.member("Fatou", role="coordinator", language="fr"),
        "peter": await liaison.member("Peter", role="coordinator", language="en"),
    }


async def contract(
    liaison: Harness,
    action: str,
    post: str,
    details: dict[str, Any],
    *,
    object_id: int,
    actor: int | None = None,
) -> None:
    """An entry of a feature not on main yet, written through record_action as that feature will."""
    async with liaison.db.transaction() as session:
        await record_action(
            session,
            action=action,
            at=liaison.clock.now(),
            actor_member_id=actor,
            object_type=action.split(".")[0],
            object_id=object_id,
            post_code=post,
            details=details,
        )


async def a_week(liaison: Harness, who: dict[str, EmulatedUser]) -> None:
    """Monday to Saturday at both posts: alerts raised and acknowledged through the bot, handovers, notices
    and action items through their audit contracts."""
    awa = await member_row(liaison, who["awa"])
    salif = await member_row(liaison, who["salif"])
    for day in range(6):
        await liaison.advance(timedelta(hours=1 if day == 0 else 23))
        if day % 2 == 0:
            # A cross-border migration alert from Makalondi reaches Kantchari: both posts' police acknowledge.
            await raise_guided(
                liaison, who["awa"], category="migration", severity="important", text=f"Flux {day}"
            )
            await liaison.advance(timedelta(minutes=4 + day))
            await tap(liaison, who["john"], "👁 Seen")
            await liaison.advance(timedelta(minutes=6))
            await tap(liaison, who["salif"], "✋ Taking action")
        else:
            await raise_guided(
                liaison, who["salif"], category="health", severity="urgent", text=f"Fièvre {day}"
            )
            await liaison.advance(timedelta(minutes=2))
            await tap(liaison, who["grace"], "👁 Seen")
        await contract(
            liaison,
            "handover.written",
            "NE-MAKALONDI",
            {"service": "customs", "items": 3, "nothing_to_report": False, "seconds_from_shift_change": 300},
            object_id=100 + day,
            actor=awa.id,
        )
        await contract(
            liaison,
            "handover.accepted",
            "NE-MAKALONDI",
            {"service": "customs", "seconds_to_accept": 1800, "late": day == 3, "with_remarks": False},
            object_id=100 + day,
        )
        if day == 2:
            await contract(liaison, "handover.missing", "BF-KANTCHARI", {"service": "police"}, object_id=200)
            await contract(
                liaison,
                "notice.sent",
                "BF-KANTCHARI",
                {"recipients": 4, "posts": ["BF-KANTCHARI"], "importance": "normal"},
                object_id=300,
                actor=salif.id,
            )
            readers = [salif.id, (await member_row(liaison, who["grace"])).id, awa.id]
            for reader in [*readers, readers[0]]:  # one reader pressed Seen twice: counted once
                await contract(
                    liaison,
                    "notice.seen",
                    "BF-KANTCHARI",
                    {"seconds_from_sent": 60},
                    object_id=300,
                    actor=reader,
                )
            await contract(liaison, "action.overdue", "NE-MAKALONDI", {"days": 2}, object_id=400)
    await liaison.advance(timedelta(minutes=5))


def page_ids(message: Any) -> list[int]:
    """The entry ids of a page, in the order shown (from its Open buttons)."""
    return [int(d.split(":")[3]) for d in message.button_data() if d and d.startswith("rv:op:")]


async def window_ids(liaison: Harness, since: datetime, until: datetime, **where: Any) -> list[int]:
    """The ids the log must show for a window, newest first (what the database holds)."""
    rows = await liaison.rows(AuditEntry, col(AuditEntry.at) >= since, col(AuditEntry.at) < until)
    rows = [r for r in rows if all(getattr(r, k) == v for k, v in where.items())]
    return [r.id for r in sorted(rows, key=lambda r: (r.at, r.id), reverse=True)]


def lines_of(message: Any) -> list[str]:
    """The entry lines of a page."""
    return [line for line in plain(message.text).split("\n") if line[:1].isdigit()]


def plain(text: str | None) -> str:
    """Text with Babel's narrow and non-breaking spaces as plain ones ("6 min", "75 %")."""
    return (text or "").replace("\u202f", " ").replace("\xa0", " ").replace("\u2009", " ")


async def seed_police_acks(liaison: Harness, seconds: list[int], *, every: timedelta) -> None:
    """An urgent alert at Birni N'Konni per entry, `every` apart, seen by the police so many seconds in."""
    now = liaison.clock.now()
    async with liaison.db.transaction() as session:
        await record_actions(
            session,
            [
                Action(
                    action=action,
                    at=now - every * (i + 1),
                    post_code="NE-KONNI",
                    object_type="alert",
                    object_id=i,
                    details=details,
                )
                for i, delay in enumerate(seconds)
                for action, details in (
                    ("alert.raised", {"category": "smuggling", "severity": "urgent", "service": "customs"}),
                    ("alert.seen", {"service": "police", "outcome": "first", "seconds_to_ack": delay}),
                )
            ],
        )


def record_chart_labels(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The labels the digest's charts write (matplotlib's Axes.text), as plain stripped text."""
    import matplotlib.axes

    labels: list[str] = []
    text = matplotlib.axes.Axes.text

    def recorded(self: Any, x: float, y: float, s: str, *args: Any, **kwargs: Any) -> Any:
        labels.append(plain(s).strip())
        return text(self, x, y, s, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "text", recorded)
    return labels


def last_week(liaison: Harness) -> tuple[datetime, datetime]:
    """The '7 days' window of a Niamey reader now: six days ago at midnight to tomorrow at midnight, UTC."""
    local = liaison.clock.now().astimezone(NIAMEY)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - timedelta(days=6)).astimezone(UTC), (midnight + timedelta(days=1)).astimezone(UTC)


# ----- reading ----------------------------------------------------------------------------------------------


async def test_coordinator_pages_a_week_at_two_posts_in_two_zones(liaison: Harness) -> None:
    who = await people(liaison)
    await a_week(liaison, who)
    fatou = who["fatou"]
    await fatou.send("/log")
    await liaison.settle()
    first = fatou.last
    assert first.text.startswith("📒 Journal · Tous les postes · 7 jours")
    # The coordinators' 7 days are read in Niamey (UTC+1), today included.
    expected = await window_ids(liaison, *last_week(liaison))
    assert len(expected) > 20
    assert f"sur {len(expected)}" in first.text
    shown = page_ids(first)
    assert shown == expected[:10]
    # Entries of both posts on one page: every time names its zone.
    konni_line = next(line for line in lines_of(first) if "Makalondi" in line)
    assert "UTC+1" in konni_line
    assert any("UTC+0" in line and "Kantchari" in line for line in lines_of(first))
    assert len(first.text) < 4096

    # Next, next, then back: every entry exactly once, in order, and the same first page again.
    await tap(liaison, fatou, "Next ▶")
    second = fatou.last
    assert second.message_id == first.message_id  # edited in place
    assert page_ids(second) == expected[10:20]
    assert "Entrées 11 à 20" in second.text
    await tap(liaison, fatou, "Next ▶")
    assert page_ids(fatou.last) == expected[20:30]
    await tap(liaison, fatou, "◀ Previous")
    await tap(liaison, fatou, "◀ Previous")
    assert page_ids(fatou.last) == expected[:10]
    assert label(fatou, "◀ Previous") not in fatou.last.buttons()


async def test_coordinator_filters_by_post_kind_and_service_and_opens_an_alert(liaison: Harness) -> None:
    who = await people(liaison)
    await a_week(liaison, who)
    fatou = who["fatou"]
    await fatou.send("/log")
    await liaison.settle()
    await tap(liaison, fatou, "🏢 Post")
    await tap_text(liaison, fatou, "Kantchari")
    await tap(liaison, fatou, "🗂 Kind")
    await tap(liaison, fatou, "Alerts")
    await tap(liaison, fatou, "👥 Service")
    await tap_text(liaison, fatou, "Police nationale")
    page = fatou.last
    assert "Kantchari · 7 jours" in page.text and "Alertes · Police nationale" in page.text
    rows = await liaison.rows(AuditEntry, AuditEntry.post_code == "BF-KANTCHARI")
    police_alerts = [
        r.id
        for r in sorted(rows, key=lambda r: (r.at, r.id), reverse=True)
        if r.action.startswith("alert.") and r.service_code == "police"
    ]
    assert police_alerts and page_ids(page) == police_alerts[:10]
    # One post only, one zone: times are not labelled; the kind and service are in the header, not the lines.
    assert all("UTC" not in line and "Police" not in line for line in lines_of(page))
    # Salif's service (police) took action on the migration alerts, and raised the health ones.
    assert all(
        "Intervient sur l'alerte" in line or "lancée : Cas sanitaire" in line for line in lines_of(page)
    )
    view = (await liaison.rows(ReviewView))[-1]
    assert (view.post_code, view.kind, view.service_code) == ("BF-KANTCHARI", "alerts", "police")

    # Open the newest acknowledgement: the alert's card with every service's acknowledgement and its delay.
    line = next(line for line in lines_of(page) if "Intervient sur l'alerte" in line)
    number, time = line.split(".")[0], line.split(" ")[1]
    entry_id = page_ids(page)[int(number) - 1]
    await tap_text(liaison, fatou, number)
    opened = fatou.last
    entry = (await liaison.rows(AuditEntry, AuditEntry.id == entry_id))[0]
    # Titled by its kind and time, as its line read: never by its row id (not its number in the list).
    title = opened.text.splitlines()[0]
    assert title.split(" — ")[0] == f"Alertes, {time}", (title, entry.id)
    assert "Kantchari" in opened.text
    assert f"ALERTE 🟠 IMPORTANT N°{entry.object_id}" in opened.text.upper()
    # The newest migration alert (Saturday's): Makalondi's police saw it after 8 min, Kantchari's took
    # action after 14; Awa's own service raised it.
    delays = plain(opened.text).split("Délai d'accusé de réception")[1]
    assert (
        "Police nationale (Makalondi) : 8 min" in delays and "Police nationale (Kantchari) : 14 min" in delays
    )
    assert "Douane (Makalondi) : a lancé l'alerte" in delays
    await tap(liaison, fatou, "◀ Back to the list")
    assert page_ids(fatou.last) == police_alerts[:10]


async def test_kind_with_its_own_condition_shows_only_failed_deliveries(liaison: Harness) -> None:
    who = await people(liaison)
    await raise_guided(liaison, who["awa"], category="smuggling", severity="info", text="Camion")
    await who["john"].block()
    await raise_guided(liaison, who["awa"], category="smuggling", severity="info", text="Camion 2")
    await liaison.advance(timedelta(minutes=2))
    fatou = who["fatou"]
    await fatou.send("/log")
    await liaison.settle()
    await tap(liaison, fatou, "🗂 Kind")
    await tap(liaison, fatou, "Delivery failures")
    delivered = await liaison.rows(AuditEntry, AuditEntry.action == "alert.delivered")
    assert len(delivered) == 2
    failures = [e.id for e in delivered if e.details.get("unreachable")]
    assert page_ids(fatou.last) == failures and len(failures) == 1
    # The line reads as a delivery failure, not as the alert's delivery.
    # Copies to people other than the author, as the card counts them.
    assert "0 en échec, 1 injoignable(s), sur 2 exemplaires" in fatou.last.text


async def test_typed_dates_in_the_readers_format_and_clear_refusals(liaison: Harness) -> None:
    who = await people(liaison)
    await a_week(liaison, who)
    peter = who["peter"]  # English: month first
    await peter.send("/log")
    await liaison.settle()
    await tap(liaison, peter, "📅 Period")
    await tap(liaison, peter, "✏️ Other dates")
    today = liaison.clock.now().astimezone(NIAMEY).date()
    week_ago = today - timedelta(days=6)
    assert (
        f"for example {week_ago.month}/{week_ago.day}/2026 {today.month}/{today.day}/2026" in peter.last.text
    )
    assert "in the time of Africa/Niamey (UTC+1)" in peter.last.text
    await peter.send("12/25/2026")
    await liaison.settle()
    assert "The log stops today" in peter.last.text
    await peter.send("tomorrow")
    await liaison.settle()
    assert "I could not read these dates" in peter.last.text
    await peter.send("1/1/2024")
    await liaison.settle()
    assert "366 days back at most" in peter.last.text
    await peter.send("11/25 - 11/24")  # the wrong way round: put right
    await liaison.settle()
    page = peter.last
    assert "Nov 24 – 25, 2026" in plain(page.text)
    since = datetime(2026, 11, 23, 23, tzinfo=UTC)  # Niamey's 24 November
    assert page_ids(page) == (await window_ids(liaison, since, since + timedelta(days=2)))[:10]
    view = (await liaison.rows(ReviewView))[-1]
    assert view.period == "dates" and view.since == since


async def test_a_post_typed_at_the_dates_question_is_refused_and_the_question_stays(liaison: Harness) -> None:
    who = await people(liaison)
    await a_week(liaison, who)
    grace = who["grace"]  # chief of Kantchari, English
    await grace.send("/log")
    await liaison.settle()
    await tap(liaison, grace, "📅 Period")
    await tap(liaison, grace, "✏️ Other dates")
    assert "Days are read in the time of Kantchari" in grace.last.text
    # Another post's name where the dates are asked: refused by name, the view still hers.
    await grace.send("Makalondi")
    await liaison.settle()
    assert grace.last.text == "You can read only the log of your own post (Kantchari)."
    view = (await liaison.rows(ReviewView, ReviewView.member_id == (await member_row(liaison, grace)).id))[-1]
    assert (view.post_code, view.period) == ("BF-KANTCHARI", "7")
    # The question is still open: days typed next are read, in Kantchari's time.
    today = liaison.clock.now().astimezone(ZoneInfo("Africa/Ouagadougou")).date()
    await grace.send(f"{today.month}/{today.day}/{today.year}")
    await liaison.settle()
    page = grace.last
    assert page.text.startswith("📒 Log · Kantchari")
    view = (await liaison.rows(ReviewView, ReviewView.id == view.id))[0]
    assert (view.post_code, view.period) == ("BF-KANTCHARI", "dates")
    since = datetime.combine(today, datetime.min.time(), tzinfo=UTC)  # Ouagadougou is UTC+0
    assert view.since == since and view.until == since + timedelta(days=1)
    kantchari = await window_ids(liaison, since, since + timedelta(days=1), post_code="BF-KANTCHARI")
    assert page_ids(page) == kantchari[:10]


# ----- who may read what ------------------------------------------------------------------------------------


async def test_chief_reads_only_their_post_and_is_refused_another(liaison: Harness) -> None:
    who = await people(liaison)
    await a_week(liaison, who)
    grace = who["grace"]  # chief of Kantchari, English
    await grace.send("/log")
    await liaison.settle()
    page = grace.last
    assert page.text.startswith("📒 Log · Kantchari · 7 days")
    kantchari = await liaison.rows(AuditEntry, AuditEntry.post_code == "BF-KANTCHARI")
    own = {e.id for e in kantchari}
    assert page_ids(page) and set(page_ids(page)) <= own
    # Every page of the chief's log is Kantchari's.
    seen = set(page_ids(page))
    while label(grace, "Next ▶") in grace.last.buttons():
        await tap(liaison, grace, "Next ▶")
        seen |= set(page_ids(grace.last))
    assert seen <= own and len(seen) == len(
        [e for e in kantchari if e.at >= MONDAY and e.at < MONDAY + timedelta(days=7)]
    )

    # Typed: another post is refused, by name.
    await grace.send("/log Makalondi")
    await liaison.settle()
    assert grace.last.text == "You can read only the log of your own post (Kantchari)."
    # The post chooser offers only her post; a forged choice of another post is refused.
    await grace.send("/log")
    await liaison.settle()
    view = (await liaison.rows(ReviewView, ReviewView.member_id == (await member_row(liaison, grace)).id))[-1]
    await tap(liaison, grace, "🏢 Post")
    assert [b for b in grace.last.buttons() if "Makalondi" in b] == []
    assert "All posts" not in grace.last.buttons()
    await grace.tap_forged(f"rv:p:{view.id}:NE-MAKALONDI", grace.last.message_id)
    await liaison.settle()
    assert grace.callback_answers[-1]["text"] == "You can read only the log of your own post (Kantchari)."
    await grace.tap_forged(f"rv:p:{view.id}:all", grace.last.message_id)
    await liaison.settle()
    assert grace.callback_answers[-1]["text"].startswith("You can read only the log of your own post")
    # A forged open of a Makalondi entry, and another reader's view: refused.
    makalondi = (await liaison.rows(AuditEntry, AuditEntry.post_code == "NE-MAKALONDI"))[0]
    await grace.tap_forged(f"rv:op:{view.id}:{makalondi.id}:0:1", grace.last.message_id)
    await liaison.settle()
    assert (
        grace.callback_answers[-1]["text"] == "This entry does not exist or is not from a post you may read."
    )
    fatou_view = await _coordinator_view(liaison, who["fatou"])
    await grace.tap_forged(f"rv:nx:{fatou_view}:1:2", grace.last.message_id)
    await liaison.settle()
    assert grace.callback_answers[-1]["text"] == "This list is no longer valid: send /log again."
    assert "Makalondi" not in grace.last.text

    # Her export holds only Kantchari's entries; her digest only Kantchari's figures.
    await tap(liaison, grace, "◀ Back")
    await tap(liaison, grace, "⬇ CSV")
    rows = list(csv.reader(io.StringIO(_document(liaison, grace).decode("utf-8-sig")), delimiter=","))
    assert {row[3] for row in rows[1:]} == {"Kantchari"}
    await grace.send("/digest")
    await liaison.settle()
    digest = next(m for m in grace.inbox if m.text and m.text.startswith("📊 This week so far"))
    assert "Kantchari" in digest.text and "Makalondi" not in digest.text


async def _coordinator_view(liaison: Harness, user: EmulatedUser) -> int:
    await user.send("/log")
    await liaison.settle()
    member = await member_row(liaison, user)
    return (await liaison.rows(ReviewView, ReviewView.member_id == member.id))[-1].id


async def test_agents_cannot_read_the_log(liaison: Harness) -> None:
    who = await people(liaison)
    await who["awa"].send("/log")
    await liaison.settle()
    assert (
        who["awa"].last.text == "Seuls les chefs de poste et les coordinateurs peuvent consulter le journal."
    )
    # /digest has its own refusal, about the digest, in each reader's language.
    await who["awa"].send("/digest")
    await liaison.settle()
    assert (
        who["awa"].last.text == "Seuls les chefs de poste et les coordinateurs peuvent consulter la synthèse."
    )
    await who["john"].send("/digest")
    await liaison.settle()
    assert who["john"].last.text == "Only post chiefs and coordinators can see the digest."
    assert not await liaison.rows(ReviewView)


async def test_the_log_names_the_members_a_chief_suspended_never_their_ids(liaison: Harness) -> None:
    """A chief suspends Awa and Bintou <Ba> (a name that is also HTML): /log, an opened entry and the CSV
    name them and their service, never "member #3" nor the action's code, in French and in English."""
    who = await people(liaison)
    bintou = await liaison.member("Bintou <Ba>", post="NE-MAKALONDI", service="police", language="fr")
    moussa = who["moussa"]
    for name in ("Awa", "Bintou <Ba>"):
        await moussa.send("/members")
        await liaison.settle()
        await tap_text(liaison, moussa, f"⚙ {name}")
        await tap(liaison, moussa, "Suspend")
        await tap(liaison, moussa, "Yes, suspend")
    suspended = await liaison.rows(AuditEntry, AuditEntry.action == "member.suspended")
    ids = {str((await member_row(liaison, u)).id) for u in (who["awa"], bintou)}
    assert {e.object_id for e in suspended} == ids
    for reader, expected, kind, raw_id in (
        (
            "fatou",
            {"A suspendu Awa": "Douane", "A suspendu Bintou <Ba>": "Police nationale"},
            "Type : Membres",
            "n°",
        ),
        (
            "peter",
            {"Suspended Awa": "Customs", "Suspended Bintou <Ba>": "National Police"},
            "Kind: Members",
            "#",
        ),
    ):
        user = who[reader]
        await user.send("/log")
        await liaison.settle()
        await tap(liaison, user, "🗂 Kind")
        await tap(liaison, user, "Members")
        page = lines_of(user.last)
        # The service is the suspended member's: named beside them, not beside the chief who acted.
        for summary, service in expected.items():
            assert any(line.endswith(f" · Moussa — {summary} ({service})") for line in page), page
            assert not any(f"{service} · Moussa" in line for line in page), page
        assert not any(raw_id in line for line in page), page
        # Opened (the newest: Bintou's): the entry's kind, without the internal action code.
        await tap_text(liaison, user, "1")
        opened = plain(user.last.text)
        assert kind in opened and "member.suspended" not in opened, opened
        newest, service = list(expected.items())[1]
        assert opened.split("\n")[0].endswith(f"— {newest} ({service})"), opened
        await tap(liaison, user, "◀ Back to the list")
        await tap(liaison, user, "⬇ CSV")
        raw = _document(liaison, user).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(raw), delimiter=";" if reader == "fatou" else ","))
        summaries = {f"{summary} ({service})": service for summary, service in expected.items()}
        assert {r[8]: r[6] for r in rows[1:] if r[5] == "member.suspended"} == summaries, rows


# ----- exports ----------------------------------------------------------------------------------------------


def _document(liaison: Harness, user: EmulatedUser) -> bytes:
    message = next(m for m in reversed(user.inbox) if m.document)
    return liaison.emulator.files[message.document].content


async def test_exports_csv_and_xlsx_open_with_the_right_cells(liaison: Harness) -> None:
    who = await people(liaison)
    await a_week(liaison, who)
    fatou = who["fatou"]
    await fatou.send("/log")
    await liaison.settle()
    await tap(liaison, fatou, "🏢 Post")
    await tap_text(liaison, fatou, "Makalondi")
    entries = await liaison.rows(AuditEntry, AuditEntry.post_code == "NE-MAKALONDI")
    since, until = last_week(liaison)
    week = sorted((e for e in entries if since <= e.at < until), key=lambda e: (e.at, e.id))
    names = {m.id: m.display_name for m in await liaison.rows(Member)}

    await tap(liaison, fatou, "⬇ CSV")
    document = next(m for m in reversed(fatou.inbox) if m.document)
    since, until = last_week(liaison)
    first, last = since.astimezone(NIAMEY).date(), (until - timedelta(seconds=1)).astimezone(NIAMEY).date()
    assert document.document_name == f"liaison-log-NE-MAKALONDI-{first}-{last}.csv"
    assert f"{len(week)} entrées" in document.text
    raw = _document(liaison, fatou)
    assert raw.startswith("\ufeff".encode())  # a French spreadsheet reads the accents
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["Heure locale", "Fuseau", "Heure UTC", "Poste"]
    assert len(rows) == len(week) + 1
    for row, entry in zip(rows[1:], week, strict=True):
        local = entry.at.astimezone(NIAMEY)
        assert row[0] == f"{local:%Y-%m-%d %H:%M:%S}" and row[1] == "UTC+1"
        assert row[3] == "Makalondi" and row[5] == entry.action and int(row[10]) == entry.id
        assert row[7] == names.get(entry.actor_member_id, "") if entry.actor_member_id else row[7] == ""
    seen = next(r for r in rows if r[5] == "alert.seen")
    assert seen[4] == "Alertes" and seen[6] == "Police nationale" and seen[8].startswith("A vu l'alerte n°")

    await tap(liaison, fatou, "⬇ Excel")
    book = openpyxl.load_workbook(io.BytesIO(_document(liaison, fatou)))
    # A sheet per kind of entry, in the features' menu order, even for kinds with no entry this week.
    assert book.sheetnames[:7] == [
        "Alertes",
        "Avis",
        "Passations de service",
        "Rappels",
        "Réunions et actions",
        "Membres",
        "Échecs de remise",
    ]
    sheet = book["Alertes"]
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]][:3] == ["Heure locale", "Fuseau", "Heure UTC"]
    alerts = [e for e in week if e.action.startswith("alert.")]
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(values) == len(alerts)
    first = values[0]
    assert isinstance(first[0], datetime)
    assert first[0] == alerts[0].at.astimezone(NIAMEY).replace(tzinfo=None, microsecond=first[0].microsecond)
    assert isinstance(first[10], int | float) and first[10] == alerts[0].id
    assert sheet.column_dimensions["I"].width >= 50
    handovers = book["Passations de service"]
    assert {r[5] for r in handovers.iter_rows(min_row=2, values_only=True)} >= {
        "handover.written",
        "handover.accepted",
    }


async def test_export_too_big_for_telegram_gives_the_command(
    liaison: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    who = await people(liaison)
    await a_week(liaison, who)
    monkeypatch.setattr(exporting, "LIMIT", 2048)
    grace = who["grace"]
    await grace.send("/log")
    await liaison.settle()
    await tap(liaison, grace, "⬇ CSV")
    assert not any(m.document for m in grace.inbox)
    assert "This export is larger than the 2 kB Telegram lets a bot send." in grace.last.text
    # The chief's days are her post's (Kantchari, UTC+0).
    today = liaison.clock.now().astimezone(ZoneInfo("Africa/Ouagadougou")).date()
    first = today - timedelta(days=6)
    assert (
        f"liaison export --post BF-KANTCHARI --since {first} --until {today} --language en --format csv "
        f"-o liaison-log-BF-KANTCHARI-{first}-{today}.csv"
    ) in grace.last.text


async def test_an_xlsx_export_too_big_for_telegram_stops_early_and_gives_the_command(
    liaison: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file's deflated size is followed as rows stream: past the limit the export stops, the workbook is
    never assembled, and the reader gets the command."""
    who = await people(liaison)
    now = liaison.clock.now()
    entries = 3000
    async with liaison.db.transaction() as session:
        await record_actions(
            session,
            [
                Action(
                    action="alert.seen",
                    at=now - timedelta(seconds=30 * (i + 1)),
                    post_code="BF-KANTCHARI",
                    object_type="alert",
                    object_id=i,
                    details={"service": "police", "outcome": "first", "seconds_to_ack": 30 + i % 600},
                )
                for i in range(entries)
            ],
        )
    monkeypatch.setattr(exporting, "LIMIT", 8 * 1024)
    written: list[tuple[export.ExportResult, bool]] = []
    write = export.write_export

    async def watched(*args: Any, **kwargs: Any) -> export.ExportResult:
        result = await write(*args, **kwargs)
        written.append((result, result.path.exists()))
        return result

    monkeypatch.setattr(export, "write_export", watched)
    grace = who["grace"]
    await grace.send("/log")
    await liaison.settle()
    await tap(liaison, grace, "⬇ Excel")
    assert not any(m.document for m in grace.inbox)
    assert "This export is larger than the 8 kB Telegram lets a bot send." in grace.last.text
    today = liaison.clock.now().astimezone(ZoneInfo("Africa/Ouagadougou")).date()
    first = today - timedelta(days=6)
    assert (
        f"liaison export --post BF-KANTCHARI --since {first} --until {today} --language en --format xlsx "
        f"-o liaison-log-BF-KANTCHARI-{first}-{today}.xlsx"
    ) in grace.last.text
    # Stopped at the first batch past the limit, before the file was assembled.
    [(result, assembled)] = written
    assert result.too_big and not assembled
    assert result.size > 8 * 1024 and result.rows <= export.BATCH < entries


async def test_an_export_never_blocks_the_other_updates(liaison: Harness) -> None:
    """20,000 entries exported while a ticker watches the event loop and another person uses the bot."""
    who = await people(liaison)
    async with liaison.db.transaction() as session:
        for i in range(20_000):
            session.add(
                AuditEntry(
                    at=MONDAY + timedelta(seconds=20 * i),
                    action="alert.seen",
                    post_code="NE-MAKALONDI",
                    service_code="police",
                    details={"service": "police", "outcome": "first", "seconds_to_ack": 30 + i % 600},
                    object_type="alert",
                    object_id=str(i),
                    chain="NE-MAKALONDI",
                )
            )
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker(gaps: list[float], seconds: float | None = None) -> None:
        """Every 5 ms, how long the loop actually took to come back."""
        last = started = time.perf_counter()
        while not done.is_set() and (seconds is None or last - started < seconds):
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    # What the machine itself does to a bare loop (other processes compete for the two cores).
    baseline: list[float] = []
    await ticker(baseline, 0.5)

    request = ExportRequest(
        since=MONDAY, until=MONDAY + timedelta(days=7), posts=("NE-MAKALONDI",), fmt="xlsx", language="fr"
    )
    watcher = asyncio.create_task(ticker(gaps))
    path = Path(tempfile.mkdtemp()) / "big.xlsx"
    async with liaison.db.reading() as session:
        exporting_task = asyncio.create_task(write_export(session, liaison.runtime, request, path))
        # Meanwhile another member is answered.
        await asyncio.sleep(0.05)
        assert not exporting_task.done(), "the export finished too fast to show anything"
        await who["john"].send("/help")
        await liaison.process_updates()
        answered_while_exporting = not exporting_task.done()
        result = await exporting_task
    done.set()
    await watcher
    joined = await liaison.rows(
        AuditEntry, AuditEntry.action == "member.joined", AuditEntry.post_code == "NE-MAKALONDI"
    )
    assert result.rows == 20_000 + len(joined)
    # John's /help was answered while the file was still being written.
    assert answered_while_exporting and "/alert" in (who["john"].last.text or "")
    p95 = statistics.quantiles(gaps, n=20)[18]
    print(
        f"export: loop p95 {p95 * 1000:.0f} ms, max {max(gaps) * 1000:.0f} ms "
        f"(bare loop {max(baseline) * 1000:.0f} ms)"
    )
    assert p95 < 0.05, f"the event loop answered late: p95 {p95:.3f} s"
    # On a shared two-core machine the OS itself can hold a process back now and then (see the bare loop):
    # a rare long gap is the machine's; the export must not make them common or long.
    long_gaps = [g for g in gaps if g > 0.25]
    assert len(long_gaps) <= max(2, len(gaps) // 100) and max(gaps) < 3, long_gaps


# ----- digest -----------------------------------------------------------------------------------------------


async def test_weekly_digest_with_its_chart_at_the_scheduled_time(liaison: Harness) -> None:
    who = await people(liaison)
    rows = await liaison.rows(ScheduledJob, col(ScheduledJob.key).startswith("rv:digest:weekly:"))
    assert {r.timezone for r in rows} == {"Africa/Niamey", "Africa/Ouagadougou"}
    await a_week(liaison, who)
    fatou, peter = who["fatou"], who["peter"]
    before = len(fatou.inbox)
    # Monday 30 November, 07:00 in Niamey (the coordinators' zone) is 06:00 UTC.
    await liaison.advance(datetime(2026, 11, 30, 5, 59, tzinfo=UTC) - liaison.clock.now())
    assert len(fatou.inbox) == before
    await liaison.advance(timedelta(minutes=1))
    text = next(m for m in fatou.inbox[before:] if m.text and m.text.startswith("📊 Synthèse hebdomadaire"))
    assert "23–29 nov. 2026 (UTC+1)" in plain(text.text)
    makalondi, kantchari = plain(text.text).split("🏢 Kantchari")
    assert "3 alertes (🟠 3)" in makalondi and "Flux migratoire irrégulier 3" in makalondi
    assert "Police nationale : 6 min / 8 min (3 alertes)" in makalondi
    # The handover feature's own checks ran during the week too: the digest counts every missing one.
    week_start, week_end = datetime(2026, 11, 22, 23, tzinfo=UTC), datetime(2026, 11, 29, 23, tzinfo=UTC)
    entries = await liaison.rows(AuditEntry, AuditEntry.action == "handover.missing")

    def missing(post_code: str) -> str:
        found = [
            e
            for e in entries
            if e.post_code == post_code and week_start <= e.at.replace(tzinfo=UTC) < week_end
        ]
        assert found
        return "1 manquante" if len(found) == 1 else f"{len(found)} manquantes"

    assert (
        f"Passations de service : 6 rédigées · {missing('NE-MAKALONDI')} · 1 acceptée en retard" in makalondi
    )
    assert "1 action en retard" in makalondi
    assert "3 alertes (🔴 3)" in kantchari and missing("BF-KANTCHARI") in kantchari
    assert "Police sanitaire : 2 min / 2 min (3 alertes)" in kantchari
    assert "1 avis diffusé · 75 % lu" in kantchari
    photo = next(m for m in fatou.inbox[before:] if m.photo)
    assert liaison.emulator.files[photo.photo].content.startswith(b"\x89PNG")
    assert "Délai du premier accusé de réception par service" in photo.text
    english = next(m for m in peter.inbox if m.text and m.text.startswith("📊 Weekly digest"))
    assert "Nov 23 – 29, 2026 (UTC+1)" in plain(english.text)
    assert any(m.photo for m in peter.inbox)
    # Agents and chiefs get no scheduled digest; the rows go out as bulk after everything urgent.
    assert not any(m.text and "📊" in m.text for m in who["awa"].inbox + who["grace"].inbox)
    sent = await liaison.rows(Notification, Notification.ref_type == "digest")
    assert {n.priority for n in sent} == {3} and {n.method for n in sent} == {"sendMessage", "sendPhoto"}
    # Sent once: the next run is a week later.
    await liaison.advance(timedelta(hours=1))
    assert len([m for m in fatou.inbox if m.text and m.text.startswith("📊 Synthèse hebdomadaire")]) == 1


async def test_digest_on_demand_for_a_coordinator(liaison: Harness) -> None:
    who = await people(liaison)
    await a_week(liaison, who)
    fatou = who["fatou"]
    await fatou.send("/digest")
    await liaison.settle()
    digest = next(m for m in fatou.inbox if m.text and m.text.startswith("📊 Cette semaine, à ce jour"))
    assert "Makalondi" in digest.text and "Kantchari" in digest.text and "Birni N'Konni" in digest.text
    assert "Rien d'enregistré." in digest.text  # Konni had a quiet week
    assert fatou.last.photo is not None


async def test_digest_share_of_a_notice_to_two_posts_is_each_posts_own(liaison: Harness) -> None:
    """A coordinator's notice to Makalondi (3 readers) and Kantchari (2): each post's share counts the Seen
    of its own readers."""
    who = await people(liaison)
    fatou = who["fatou"]
    await fatou.send("/notice")
    await liaison.settle()
    for name in ("Makalondi", "Kantchari"):
        await tap_text(liaison, fatou, "☐ " + name)
    await tap(liaison, fatou, "Next ▶")
    await tap(liaison, fatou, "👥 Everyone")
    await fatou.send("Mission d'évaluation des postes frontaliers la semaine prochaine.")
    await liaison.settle()
    await tap(liaison, fatou, "✅ Send")
    sent = await liaison.rows(AuditEntry, AuditEntry.action == "notice.sent")
    assert sorted((e.post_code, e.details["recipients"]) for e in sent) == [
        ("BF-KANTCHARI", 2),
        ("NE-MAKALONDI", 3),
    ]
    # Two of Makalondi's three readers press Seen, one of Kantchari's two.
    for reader in ("awa", "john", "salif"):
        await tap(liaison, who[reader], "☑️ Seen")
    await liaison.advance(5)
    seen = await liaison.rows(AuditEntry, AuditEntry.action == "notice.seen")
    assert sorted(e.post_code for e in seen) == ["BF-KANTCHARI", "NE-MAKALONDI", "NE-MAKALONDI"]
    await fatou.send("/digest")
    await liaison.settle()
    digest = next(m for m in fatou.inbox if m.text and m.text.startswith("📊 Cette semaine, à ce jour"))
    makalondi, kantchari = plain(digest.text).split("🏢 Kantchari")
    assert "1 avis diffusé · 67 % lu" in makalondi
    assert "1 avis diffusé · 50 % lu" in kantchari


async def test_digest_figures_and_chart_labels_are_the_readers_numbers(
    liaison: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,234 alerts at Konni, each first seen by the police after 1,234 minutes: "1 234" in French, "1,234"
    in English, in the figures and on the chart."""
    who = await people(liaison)
    await seed_police_acks(liaison, [1234 * 60] * 1234, every=timedelta(seconds=1))
    labels = record_chart_labels(monkeypatch)
    for reader, numbers, expected in (
        ("fatou", "1 234 / 1 234", ("1 234 alertes (🔴 1 234)", "(1 234 alertes)")),
        ("peter", "1,234 / 1,234", ("1,234 alerts (🔴 1,234)", "(1,234 alerts)")),
    ):
        user = who[reader]
        await user.send("/digest")
        await liaison.settle()
        digest = next(m for m in reversed(user.inbox) if m.text and m.text.startswith("📊"))
        konni = plain(digest.text).split("🏢 Birni N'Konni")[1].split("🏢")[0]
        assert all(figure in konni for figure in expected), konni
        assert user.last.photo is not None
        assert labels == [numbers]
        labels.clear()


async def test_digest_chart_shows_seconds_when_acknowledgements_take_under_a_minute(
    liaison: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Police seeing alerts after 12 and 45 seconds: the chart's label reads seconds, not "0 / 0"."""
    who = await people(liaison)
    await seed_police_acks(liaison, [12, 12, 45], every=timedelta(minutes=1))
    labels = record_chart_labels(monkeypatch)
    for reader, expected in (("fatou", "12 s / 38 s"), ("peter", "12 sec / 38 sec")):
        await who[reader].send("/digest")
        await liaison.settle()
        assert who[reader].last.photo is not None
        assert labels == [expected], labels
        labels.clear()


# ----- units: typed days, the command line, the digest's figures --------------------------------------------


@pytest.mark.parametrize(
    ("typed", "language", "expected"),
    [
        ("16/11 22/11", "fr", ("2026-11-16", "2026-11-22")),
        ("du 16/11/2026 au 22/11/2026", "fr", ("2026-11-16", "2026-11-22")),
        ("22.11.26", "fr", ("2026-11-22", "2026-11-22")),
        ("11/16 - 11/22", "en", ("2026-11-16", "2026-11-22")),
        ("from 11/16/2026 to 11/22/2026", "en", ("2026-11-16", "2026-11-22")),
        ("2026-11-22 2026-11-16", "en", ("2026-11-16", "2026-11-22")),  # any order, ISO in any language
        ("28/12", "fr", ("2025-12-28", "2025-12-28")),  # a December typed in November is last year's
    ],
)
def test_days_typed_in_the_readers_format(typed: str, language: str, expected: tuple[str, str]) -> None:
    from bot.dates import parse_day_range

    now = datetime(2026, 11, 23, 10, tzinfo=UTC)
    first, last = parse_day_range(typed, language=language, zone="Africa/Niamey", now=now, max_days=366)
    assert (first.isoformat(), last.isoformat()) == expected


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("31/02", "nonexistent"),
        ("24/11", "future"),  # tomorrow, without a year: a slip, not next year's
        ("1/1/2024", "too_old"),
        ("hier", "unreadable"),
        ("NE-KONNI", "unreadable"),
        ("16/11 17/11 18/11", "unreadable"),
    ],
)
def test_days_refused_with_the_reason(typed: str, problem: str) -> None:
    from bot.dates import DayRefused, parse_day_range

    now = datetime(2026, 11, 23, 10, tzinfo=UTC)
    with pytest.raises(DayRefused) as refused:
        parse_day_range(typed, language="fr", zone="Africa/Niamey", now=now, max_days=300)
    assert refused.value.problem == problem


def test_day_examples_are_in_the_readers_order() -> None:
    from bot.dates import day_example

    now = datetime(2026, 11, 23, 10, tzinfo=UTC)
    assert day_example("fr", zone="Africa/Niamey", now=now) == "17/11/2026 23/11/2026"
    assert day_example("en", zone="Africa/Niamey", now=now) == "11/17/2026 11/23/2026"


async def test_liaison_export_on_the_command_line(
    liaison: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot import cli

    who = await people(liaison)
    await raise_guided(liaison, who["awa"], category="migration", severity="urgent", text="Flux")
    await tap(liaison, who["salif"], "👁 Seen")
    monkeypatch.setenv("LIAISON_DATABASE_URL", liaison.database_url)
    monkeypatch.setenv("LIAISON_CONFIG", "config.yaml")
    output = tmp_path / "log.xlsx"
    run = asyncio.get_running_loop().run_in_executor
    arguments = ["export", "--post", "BF-KANTCHARI", "--since", "2026-11-23", "--until", "2026-11-23"]
    assert (
        await run(None, cli.main, [*arguments, "--format", "xlsx", "--language", "en", "-o", str(output)])
        == 0
    )
    assert "wrote 3 entries" in capsys.readouterr().out  # Salif joined, Grace joined, Salif saw the alert
    book = openpyxl.load_workbook(output)
    assert book.sheetnames == [
        "Alerts",
        "Notices",
        "Handovers",
        "Reminders",
        "Meetings and actions",
        "Members",
        "Delivery failures",
    ]
    [seen] = list(book["Alerts"].iter_rows(min_row=2, values_only=True))
    assert seen[3] == "Kantchari" and seen[5] == "alert.seen" and seen[6] == "National Police"
    assert seen[1] == "UTC+0" and seen[7] == "Salif"
    assert await run(None, cli.main, [*arguments[:2], "NOWHERE", *arguments[3:], "-o", str(output)]) == 2
    assert "--post: unknown post 'NOWHERE'" in capsys.readouterr().err


async def test_digest_figures_from_the_features_contracts(liaison: Harness) -> None:
    """Handovers, notices and action items are counted from their audit entries, whatever feature wrote
    them; a chief's digest holds only their post."""
    from handlers.review.digest import compute_digest, digest_messages

    await liaison.member("Awa", post="NE-KONNI", service="customs")
    for i in range(5):
        await contract(
            liaison,
            "alert.seen",
            "NE-KONNI",
            {"service": "police", "seconds_to_ack": 60.0 * (i + 1)},
            object_id=i,
        )
    await contract(
        liaison, "alert.seen", "NE-KONNI", {"service": "police", "outcome": "already"}, object_id=9
    )
    await contract(liaison, "handover.written", "NE-KONNI", {"service": "customs", "items": 2}, object_id=1)
    await contract(
        liaison, "handover.accepted", "NE-KONNI", {"service": "customs", "late": True}, object_id=1
    )
    await contract(liaison, "handover.contested", "NE-KONNI", {"service": "customs"}, object_id=1)
    await contract(
        liaison, "meeting.published", "NE-KONNI", {"attendees": 5, "decisions": 2, "actions": 2}, object_id=3
    )
    await contract(liaison, "action.done", "NE-KONNI", {"on_time": False, "days_late": 2}, object_id=4)
    await contract(liaison, "action.overdue", "NE-KONNI", {"days": 1}, object_id=5)
    await contract(liaison, "action.overdue", "NE-KONNI", {"days": 2}, object_id=5)  # the same item again
    await contract(liaison, "handover.written", "BF-KANTCHARI", {"service": "police"}, object_id=2)
    async with liaison.db.reading() as session:
        found = await compute_digest(
            session,
            liaison.runtime,
            posts=["NE-KONNI"],
            cadence="current",
            zone="Africa/Niamey",
            now=liaison.clock.now(),
        )
    [konni] = found.posts
    assert konni.ack_stats() == [("police", 180.0, 276.0, 5)]
    assert (konni.handovers_written, konni.handovers_late, konni.handovers_contested) == (1, 1, 1)
    assert (konni.meetings, konni.actions_done_late, konni.actions_overdue) == (1, 1, 1)
    text = plain(digest_messages(translator("en"), liaison.runtime, found)[0])
    assert "Police: 3 min / 5 min (5 alerts)" in text.replace("National Police", "Police")
    assert "Handovers: 1 written · 0 missing · 1 accepted late · 1 contested" in text
    assert "1 meeting · 1 action item overdue · 1 done (1 late)" in text
    assert "Kantchari" not in text


async def test_digest_rows_follow_the_configuration(liaison: Harness) -> None:
    """A changed time moves the rows, a daily digest adds its own, a digest turned off is cancelled."""
    from datetime import time as clock_time

    from bot.config import DailyDigest, DigestConfig, WeeklyDigest
    from db.schedules import JobState

    def with_digest(digest: DigestConfig) -> Any:
        review = liaison.config.review.model_copy(update={"digest": digest})
        return liaison.config.model_copy(update={"review": review})

    await liaison.restart(
        with_digest(DigestConfig(weekly=WeeklyDigest(day="fri", at=clock_time(16, 30)), daily=DailyDigest()))
    )
    rows = {
        r.key: r for r in await liaison.rows(ScheduledJob, col(ScheduledJob.key).startswith("rv:digest:"))
    }
    weekly = rows["rv:digest:weekly:Africa/Niamey"]
    assert weekly.trigger_args == {"day_of_week": "fri", "hour": 16, "minute": 30}
    assert weekly.next_run_at == datetime(2026, 11, 27, 15, 30, tzinfo=UTC)  # Friday 16:30 in Niamey
    assert rows["rv:digest:daily:Africa/Ouagadougou"].next_run_at == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    await liaison.restart(with_digest(DigestConfig(weekly=None, daily=None)))
    states = {
        r.state for r in await liaison.rows(ScheduledJob, col(ScheduledJob.key).startswith("rv:digest:"))
    }
    assert states == {JobState.CANCELLED}
