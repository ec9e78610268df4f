"""The training sandbox without a browser: its clock, the emulator's events, scenarios, the page's API, CLI.

The sandbox always runs on its own SQLite file, so these tests are the same on both passes: the PostgreSQL
pass skips them.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import select

from bot.clock import SystemClock
from bot.config import Config
from db.alerts import Alert, AlertAck
from db.audit import AuditEntry
from db.handovers import Handover, HandoverState
from db.invites import Invite
from db.meetings import ActionItem, ActionStatus, CopyKind, Meeting, MeetingCopy
from db.members import Member
from db.notices import Notice, NoticeRecipient
from db.posts import Post
from db.schedules import JobState, ScheduledJob
from sandbox.clock import OffsetClock
from sandbox.core import POSTS_FILE, Sandbox, SandboxError
from sandbox.emulator import BotApiEmulator, EmulatorEvent
from sandbox.scenario import SCENARIOS_DIR, ScenarioError, load_scenarios, parse_scenario, texts_of
from sandbox.web import serve

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(
    bool(os.environ.get("LIAISON_TEST_DATABASE_URL", "").strip()),
    reason="the sandbox runs on its own SQLite file: the SQLite pass covers it",
)


# ----- the clock ------------------------------------------------------------------------------------------


async def test_offset_clock_jumps_forward_and_wakes_the_sleepers_it_passes() -> None:
    clock = OffsetClock()
    before, mono = clock.now(), clock.monotonic()
    long_sleep = asyncio.ensure_future(clock.sleep(3600))
    later_sleep = asyncio.ensure_future(clock.sleep(7200))
    short_sleep = clock.sleep(0.05)
    await asyncio.sleep(0)
    assert not long_sleep.done()

    clock.advance(timedelta(minutes=61))
    await asyncio.wait_for(long_sleep, 1)  # woken by the jump, not by an hour of real time
    assert not later_sleep.done()
    assert clock.now() - before >= timedelta(minutes=61)
    assert clock.monotonic() - mono >= 61 * 60
    await asyncio.wait_for(short_sleep, 2)  # real time still flows
    later_sleep.cancel()
    await asyncio.gather(later_sleep, return_exceptions=True)
    assert clock._sleepers == []  # a cancelled sleeper leaves nothing behind

    with pytest.raises(ValueError):
        clock.advance(-1)
    offset = clock.offset
    clock.jump_to(datetime.now(UTC) - timedelta(days=1))  # a moment already past: the clock stays
    assert clock.offset == offset
    with pytest.raises(ValueError):
        OffsetClock(timedelta(seconds=-5))


def test_liaison_run_has_no_way_to_move_time(monkeypatch: pytest.MonkeyPatch, config: Config) -> None:
    from bot import cli

    run_help = cli.parser()._subparsers._group_actions[0].choices["run"].format_help()  # type: ignore[union-attr]
    assert not re.search(r"clock|offset|advance|time-travel|--time", run_help)
    captured: dict[str, Any] = {}

    def fake_build(config: Config, **kwargs: Any) -> object:
        captured.update(kwargs)
        return object()

    async def fake_username(_args: Any) -> str:
        return "bot"

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:TEST")
    monkeypatch.setattr("bot.app.build_application", fake_build)
    monkeypatch.setattr(cli, "_bot_username", fake_username)
    monkeypatch.setattr(cli, "_serve", lambda application, args, secret: None)
    monkeypatch.setattr("bot.logs.configure_logging", lambda *a, **k: None)
    assert cli.main(["run"]) == 0
    assert captured.get("clock") is None  # so the factory's SystemClock
    assert not any(hasattr(SystemClock(), name) for name in ("advance", "jump_to", "set", "offset"))
    # Production code never reaches the sandbox's clock: only the CLI's `sandbox` verb imports sandbox/.
    for package in ("bot", "handlers", "db"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if "sandbox" in text and path.name == "cli.py":
                assert "OffsetClock" not in text
                continue
            assert "sandbox.clock" not in text and "OffsetClock" not in text, path


# ----- the emulator's events ------------------------------------------------------------------------------


async def test_the_emulator_tells_listeners_what_changes_in_its_chats() -> None:
    emulator = BotApiEmulator()
    seen: list[EmulatorEvent] = []
    unsubscribe = emulator.events.subscribe(seen.append)
    user = emulator.user(first_name="Awa")
    await user.start()
    status, body = await emulator.handle(
        "sendMessage",
        {"chat_id": user.id, "text": "<b>Hi</b>", "parse_mode": "HTML", "reply_markup": _one_button("ok")},
    )
    assert status == 200
    message_id = body["result"]["message_id"]
    await user.tap("ok")
    [query] = emulator.unanswered_callbacks
    await emulator.handle("answerCallbackQuery", {"callback_query_id": query.id, "text": "Done"})
    await emulator.handle("editMessageText", {"chat_id": user.id, "message_id": message_id, "text": "Bye"})
    await emulator.handle("pinChatMessage", {"chat_id": user.id, "message_id": message_id})
    await emulator.handle("deleteMessage", {"chat_id": user.id, "message_id": message_id})
    kinds = [(e.kind, e.message_id) for e in seen]
    assert kinds == [
        ("user_message", 1),
        ("bot_message", message_id),
        ("callback_answer", message_id),
        ("edit", message_id),
        ("pin", message_id),
        ("delete", message_id),
    ]
    assert seen[2].data == {"user_id": user.id, "text": "Done", "show_alert": False}
    assert all(e.chat_id == user.id for e in seen)

    # A failing listener is logged; the call and the other listeners go on.
    def broken(_event: EmulatorEvent) -> None:
        raise RuntimeError("listener bug")

    emulator.events.subscribe(broken)
    unsubscribe()
    status, _ = await emulator.handle("sendMessage", {"chat_id": user.id, "text": "still works"})
    assert status == 200 and len(seen) == 6
    emulator.reset()  # listeners watch the emulator, not one state of it
    assert emulator.events._listeners == [broken]


async def test_a_chat_view_shows_documents_pins_keyboards_and_edits() -> None:
    from sandbox.emulator.spec import UploadedFile
    from sandbox.views import chat_view

    emulator = BotApiEmulator()
    user = emulator.user(first_name="Awa")
    await user.start("code123")
    keyboard = {"keyboard": [[{"text": "📍 Position", "request_location": True}]], "one_time_keyboard": True}
    await emulator.handle("sendMessage", {"chat_id": user.id, "text": "Où ?", "reply_markup": keyboard})
    _, sent = await emulator.handle(
        "sendDocument",
        {"chat_id": user.id, "document": UploadedFile("log.csv", b"a,b\n", "text/csv"), "caption": "Export"},
    )
    document_id = sent["result"]["message_id"]
    await emulator.handle("pinChatMessage", {"chat_id": user.id, "message_id": document_id})
    _, card = await emulator.handle(
        "sendMessage",
        {
            "chat_id": user.id,
            "text": "<b>Card</b> v1",
            "parse_mode": "HTML",
            "reply_markup": _one_button("ok"),
        },
    )
    card_id = card["result"]["message_id"]
    await emulator.handle(
        "editMessageText",
        {"chat_id": user.id, "message_id": card_id, "text": "<i>Card</i> v2", "parse_mode": "HTML"},
    )
    await user.share_location(13.5, 2.1)
    start, question, document, edited, location = chat_view(emulator.chats[user.id])
    assert (start["text"], start["invite"]) == ("/start", True)
    assert question["reply_keyboard"] == {
        "rows": [[{"text": "📍 Position", "location": True}]],
        "one_time": True,
        "placeholder": None,
    }
    assert document["kind"] == "document" and document["pinned"] is True and document["text"] == "Export"
    assert document["document"]["name"] == "log.csv" and document["document"]["url"].startswith("/files/")
    assert edited["edited"] is True and edited["text"] == "Card v2" and "inline_keyboard" not in edited
    assert edited["entities"] == [{"type": "italic", "offset": 0, "length": 4}]
    assert location == {
        **location,
        "from": "user",
        "kind": "location",
        "location": {"latitude": 13.5, "longitude": 2.1},
    }


def _one_button(data: str) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": data, "callback_data": data}]]}


# ----- scenarios ------------------------------------------------------------------------------------------


NEW_POST: dict[str, Any] = {
    "code": "BJ-KRAKE",
    "name": "Kraké",
    "country": "BJ",
    "timezone": "Africa/Porto-Novo",
    "language": "fr",
    "services": ["customs", "police"],
}


def test_shipped_scenarios_are_valid_and_in_both_languages(config: Config) -> None:
    scenarios = load_scenarios(config)
    assert next(iter(scenarios)) == "free-play"
    played = [s for s in scenarios.values() if s.steps]
    assert len(played) >= 3
    for scenario in scenarios.values():
        for where, text in texts_of(scenario):
            assert isinstance(text, dict) and text.get("fr") and text.get("en"), f"{scenario.id}: {where}"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": {"fr": "T"}}, "title: missing the en title"),
        ({"steps": [{"do": [{"who": "awa", "send": "x", "tap": "y"}]}]}, "exactly one of"),
        ({"steps": [{"do": [{"who": "zoe", "send": "x"}]}]}, "unknown person 'zoe'"),
        ({"steps": [{"do": [{"clock": "+15 minutes"}]}]}, "use +15m, +2h, shift or HH:MM"),
        ({"steps": [{"do": [{"send": "x"}]}]}, "who does it?"),
        ({"steps": [{"expect": [{"who": "awa"}]}]}, "one of sees, not_sees"),
        ({"start": "25:00"}, "use HH:MM"),
        # Posts a scenario declares: config.yaml's keys, checked as config.yaml checks them.
        ({"posts": [{**NEW_POST, "timezone": "Africa/Atlantis"}]}, "posts[0].timezone: unknown time zone"),
        ({"posts": [NEW_POST, {**NEW_POST, "name": "Again"}]}, "posts[1]: post 'BJ-KRAKE' is declared twice"),
        ({"posts": [{**NEW_POST, "partners": ["BJ-KRAKE"]}]}, "posts[0].partners: a post is not its own"),
        ({"posts": [{k: v for k, v in NEW_POST.items() if k != "services"}]}, "posts[0].services: Field req"),
        ({"posts": [{**NEW_POST, "country": "Benin"}]}, "posts[0].country: String should match pattern"),
        ({"posts": [{**NEW_POST, "region": "Ouémé"}]}, "posts[0].region: Extra inputs are not permitted"),
    ],
)
def test_a_bad_scenario_is_one_clear_line(data: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {
        "title": {"fr": "T", "en": "T"},
        "post": "NE-KONNI",
        "people": [{"id": "awa", "name": "Awa", "post": "NE-KONNI", "service": "customs"}],
    }
    with pytest.raises(ScenarioError, match=re.escape(message)) as caught:
        parse_scenario({**base, **data}, "bad", "bad.yaml")
    assert str(caught.value).startswith("bad.yaml: ") and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("posts", "person", "message"),
    [
        (
            [{**NEW_POST, "services": ["customs", "navy"]}],
            ("BJ-KRAKE", "customs"),
            "posts[0].services: unknown service 'navy' (the services are: customs, police, health, forests,"
            " gendarmerie)",
        ),
        (
            [{**NEW_POST, "code": "NE-KONNI"}],
            ("NE-KONNI", "customs"),
            "posts[0]: post 'NE-KONNI' is already in the configuration (a scenario only adds new posts)",
        ),
        (
            [{**NEW_POST, "partners": ["TG-NOWHERE"]}],
            ("BJ-KRAKE", "customs"),
            "posts[0].partners: unknown post 'TG-NOWHERE'",
        ),
        ([NEW_POST], ("NG-SEME", "customs"), "people[awa]: unknown post 'NG-SEME'"),
        ([NEW_POST], ("BJ-KRAKE", "health"), "people[awa]: no service 'health' at BJ-KRAKE"),
    ],
)
def test_declared_posts_are_checked_against_the_configuration(
    config: Config, posts: list[dict[str, Any]], person: tuple[str, str], message: str
) -> None:
    post, service = person
    data = {
        "title": {"fr": "T", "en": "T"},
        "posts": posts,
        "post": posts[0]["code"],
        "people": [{"id": "awa", "name": "Awa", "post": post, "service": service}],
    }
    scenario = parse_scenario(data, "bad", "bad.yaml")
    with pytest.raises(ScenarioError) as caught:
        scenario.check_against(config, "bad.yaml")
    assert str(caught.value) == f"bad.yaml: {message}"


def test_declared_posts_join_a_copy_of_the_configuration(config: Config) -> None:
    shipped = (ROOT / "config.yaml").read_bytes()
    seme = {**NEW_POST, "code": "NG-SEME", "name": "Seme", "country": "NG", "timezone": "Africa/Lagos"}
    data = {
        "title": {"fr": "T", "en": "T"},
        "posts": [{**NEW_POST, "partners": ["NG-SEME", "NE-KONNI"]}, {**seme, "language": "en"}],
        "post": "BJ-KRAKE",
        "people": [{"id": "awa", "name": "Awa", "post": "NG-SEME", "service": "police"}],
    }
    scenario = parse_scenario(data, "ok", "ok.yaml")
    scenario.check_against(config, "ok.yaml")
    extended = scenario.sandbox_config(config)
    assert [p.code for p in extended.posts] == [*(p.code for p in config.posts), "BJ-KRAKE", "NG-SEME"]
    assert extended.post("NG-SEME").language == "en" and extended.post_zone("NG-SEME") == "Africa/Lagos"
    assert extended.post_services("BJ-KRAKE") == ("customs", "police")
    # A partnership goes both ways, a configured post's own partners first.
    assert extended.post("BJ-KRAKE").partners == ("NG-SEME", "NE-KONNI")
    assert extended.post("NG-SEME").partners == ("BJ-KRAKE",)
    assert extended.post("NE-KONNI").partners == ("BJ-KRAKE",)
    assert extended.post("NE-MAKALONDI").partners == ("BF-KANTCHARI",)
    # The configuration it came from, and config.yaml, are untouched.
    assert config.find_post("BJ-KRAKE") is None and config.post("NE-KONNI").partners == ()
    assert (ROOT / "config.yaml").read_bytes() == shipped
    assert scenario.sandbox_config(config) == extended and load_scenarios(config)["free-play"].posts == ()


def test_a_scenario_is_checked_against_the_configuration(config: Config) -> None:
    data = {
        "title": {"fr": "T", "en": "T"},
        "post": "NE-KONNI",
        "people": [{"id": "awa", "name": "Awa", "post": "BF-KANTCHARI", "service": "forests"}],
    }
    scenario = parse_scenario(data, "bad", "bad.yaml")
    with pytest.raises(ScenarioError, match="no service 'forests' at BF-KANTCHARI"):
        scenario.check_against(config, "bad.yaml")


# ----- the sandbox ----------------------------------------------------------------------------------------


@pytest.fixture
async def sandbox(config: Config, tmp_path: Path) -> AsyncIterator[Sandbox]:
    """A sandbox with the free-play cast, its database in the test's directory."""
    box = Sandbox(config, tmp_path / "sandbox")
    await box.start("free-play", "fr")
    try:
        yield box
    finally:
        await box.stop()
    assert box.errors == []


async def rows(box: Sandbox, model: Any, *where: Any) -> list[Any]:
    async with box.db.reading() as session:
        return list((await session.exec(select(model).where(*where))).all())


def texts(box: Sandbox, name: str) -> list[str]:
    phone = next(p for p in box.phones.values() if p.name == name)
    return [m.get("text") or "" for m in box.phone_view(phone)["messages"] if m["from"] == "bot"]


async def test_free_play_people_join_through_real_invites(sandbox: Sandbox) -> None:
    members = {m.display_name: m for m in await rows(sandbox, Member)}
    assert {n: (m.role, m.post_code, m.service_code, m.language) for n, m in members.items()} == {
        "Ibrahim": ("chief", "NE-KONNI", "gendarmerie", "fr"),
        "Awa": ("agent", "NE-KONNI", "customs", "fr"),
        "John": ("agent", "NE-KONNI", "police", "en"),
        "Salif": ("agent", "BF-KANTCHARI", "health", "fr"),
    }
    invites = await rows(sandbox, Invite)
    assert len(invites) == 4 and all(i.uses == 1 for i in invites)
    created = await rows(sandbox, AuditEntry, AuditEntry.action == "invite.created")
    assert {e.details["via"] for e in created} == {"sandbox"}
    assert any(t.startswith("Welcome to Liaison, John.") for t in texts(sandbox, "John"))
    assert any(t.startswith("Bienvenue sur Liaison, Awa.") for t in texts(sandbox, "Awa"))
    awa = next(p for p in sandbox.phones.values() if p.name == "Awa")
    first = sandbox.phone_view(awa)["messages"][0]
    assert first["from"] == "user" and first["text"] == "/start" and first["invite"] is True
    keyboard = sandbox.reply_keyboard(awa.id)
    assert keyboard is not None and keyboard["keyboard"][0][0]["text"] == "🚨 Alerte"


async def test_time_moves_through_every_escalation_on_time(sandbox: Sandbox) -> None:
    [awa] = [p for p in sandbox.phones.values() if p.name == "Awa"]
    raised = sandbox.clock.now()
    await sandbox.send(awa.id, "/alert urgent sécurité: véhicule forcé à la porte 2")
    await sandbox.settle()
    assert len(await rows(sandbox, Alert)) == 1

    await sandbox.advance("+15m")
    assert sandbox.clock.now() - raised >= timedelta(minutes=15)
    [alert] = await rows(sandbox, Alert)
    assert alert.escalation_level == 2
    escalations = await rows(sandbox, AuditEntry, AuditEntry.action == "alert.escalated")
    assert [e.details["step"] for e in escalations] == [1, 2]
    assert not any(e.details["late"] for e in escalations)
    # Each rung ran at its own time: the escalation reached the chief's phone dated five minutes in.
    ibrahim = next(p for p in sandbox.phones.values() if p.name == "Ibrahim")
    [notice] = [m for m in sandbox.phone_view(ibrahim)["messages"] if "Escalade" in (m.get("text") or "")]
    assert abs(notice["date"] - (alert.raised_at + timedelta(minutes=5)).timestamp()) < 3
    assert not any("Escalade" in t or "Escalation" in t for t in texts(sandbox, "Salif"))


async def test_next_shift_change_is_in_the_posts_zone(sandbox: Sandbox) -> None:
    target = sandbox.next_shift_change("NE-KONNI")
    local = target.astimezone(ZoneInfo("Africa/Niamey"))
    assert (local.hour, local.minute) in ((7, 0), (19, 0))
    assert timedelta(0) < target - sandbox.clock.now() <= timedelta(hours=12)
    await sandbox.advance("shift")
    assert abs((sandbox.clock.now() - target).total_seconds()) < 5
    kantchari = sandbox.next_shift_change("BF-KANTCHARI").astimezone(ZoneInfo("Africa/Ouagadougou"))
    assert (kantchari.hour, kantchari.minute) in ((7, 0), (19, 0))


async def test_a_restart_on_the_same_directory_keeps_people_and_time(config: Config, tmp_path: Path) -> None:
    box = Sandbox(config, tmp_path / "kept")
    await box.start("free-play", "fr")
    await box.advance("+2h")
    ahead = box.clock.offset
    await box.stop()

    again = Sandbox(config, tmp_path / "kept")
    await again.start("free-play", "fr")  # an existing sandbox database is kept, not reseeded
    try:
        assert sorted(p.name for p in again.phones.values()) == ["Awa", "Ibrahim", "John", "Salif"]
        assert again.clock.offset >= ahead - timedelta(seconds=5)
        john = next(p for p in again.phones.values() if p.name == "John")
        await again.send(john.id, "/help")
        await again.settle()
        assert "What you can do" in texts(again, "John")[-1]
        assert len(await rows(again, Member)) == 4
    finally:
        await again.stop()
    assert again.errors == []


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize(
    "scenario_id", [p.stem for p in sorted(SCENARIOS_DIR.glob("*.yaml")) if p.stem != "free-play"]
)
async def test_every_shipped_scenario_plays_and_shows_what_it_promises(
    config: Config, tmp_path: Path, scenario_id: str, language: str
) -> None:
    box = Sandbox(config, tmp_path / "play")
    await box.start(scenario_id, language)
    try:
        played = []
        while not box.player.done:
            played.append(await box.next_step())
        failures = [(r["number"], r["error"], [c for c in r["checks"] if not c["ok"]]) for r in played]
        assert all(error is None and not checks for _, error, checks in failures), failures
        assert sum(len(r["checks"]) for r in played) >= len(played) - 1
        with pytest.raises(SandboxError, match="over"):
            await box.next_step()
        afterwards = AFTER_PLAY.get(scenario_id)
        if afterwards is not None:
            await afterwards(box, language)
    finally:
        await box.stop()
    assert box.errors == []


# What the database and the phones hold once a scenario has played (in either language): the checks the
# trainer sees are substrings; these pin down who did what, when, and that nothing else happened.


def member_of(box: Sandbox, members: list[Member], name: str) -> Member:
    """The member row of a person of the scenario, by name."""
    return next(m for m in members if m.display_name == name)


def bot_messages(box: Sandbox, name: str) -> list[dict[str, Any]]:
    """What the bot shows on a person's phone, oldest first."""
    phone = next(p for p in box.phones.values() if p.name == name)
    return [m for m in box.phone_view(phone)["messages"] if m["from"] == "bot"]


def local(box: Sandbox, when: datetime) -> datetime:
    """A time at the scenario's post."""
    return when.astimezone(ZoneInfo(box.config.post_zone(box.main_post)))


async def missed_handover_played(box: Sandbox, language: str) -> None:
    members = await rows(box, Member)
    awa, halima, john = (member_of(box, members, n) for n in ("Awa", "Halima", "John"))
    handovers = {h.service_code: h for h in await rows(box, Handover)}
    assert set(handovers) == {"customs", "police"}
    customs, police = handovers["customs"], handovers["police"]
    change = local(box, customs.shift_change_at)
    assert (change.hour, change.minute) == (7, 0) and police.shift_change_at == customs.shift_change_at
    # John handed over at the change with nothing to report; nobody else of his service is at the post to
    # take it over: it stays on record, and nobody is chased for it.
    assert police.nothing_to_report and police.author_member_id == john.id
    assert police.state == HandoverState.RECORDED
    # Awa wrote hers late, after the missing report; Halima (not the author) took it over.
    assert customs.author_member_id == awa.id and not customs.nothing_to_report
    assert customs.written_at - customs.shift_change_at >= timedelta(minutes=20)
    assert [i["text"][:22] for i in customs.items] == [
        {"fr": "Camion citerne NG-4471", "en": "Tanker lorry NG-4471 w"}[awa.language],
        {"fr": "Clé du magasin des sai", "en": "Key of the seized good"}[awa.language],
    ]
    assert {c["code"] for c in customs.checklist if c["done"]} == {"seals", "register", "radio"}
    assert customs.state == HandoverState.ACCEPTED and customs.taken_by_member_id == halima.id
    # One missing report, for Customs only, to the chief, fifteen minutes after the change.
    [missing] = await rows(box, AuditEntry, AuditEntry.action == "handover.missing")
    assert missing.details["service"] == "customs" and missing.post_code == "NE-KONNI"
    [report] = [m for m in bot_messages(box, "Ibrahim") if "Passation manquante" in (m.get("text") or "")]
    expected = (customs.shift_change_at + timedelta(minutes=15)).timestamp()
    assert abs(report["date"] - expected) < 3
    for name in ("Awa", "Halima", "John"):
        assert not any("manquante" in t or "Missing" in t for t in texts(box, name)), name
    [accepted] = await rows(box, AuditEntry, AuditEntry.action == "handover.accepted")
    assert accepted.details["service"] == "customs" and accepted.details["late"] is False


async def important_notice_played(box: Sandbox, language: str) -> None:
    members = await rows(box, Member)
    [notice] = await rows(box, Notice)
    assert notice.important and set(notice.texts) == {"fr", "en"}
    # One reminder by hand, then the automatic one two hours after sending.
    assert (notice.reminders, notice.auto_reminded) == (2, True)
    reminded = sorted(await rows(box, AuditEntry, AuditEntry.action == "notice.reminded"), key=lambda e: e.at)
    assert [(e.details["automatic"], e.details["recipients"]) for e in reminded] == [(False, 2), (True, 1)]
    assert reminded[1].at - notice.sent_at >= timedelta(minutes=120)
    copies = {r.member_id: r for r in await rows(box, NoticeRecipient)}
    by_name = {n: copies[member_of(box, members, n).id or 0] for n in ("Awa", "John", "Mariama", "Issa")}
    assert len(copies) == 4 and all(r.seen_at is not None for r in copies.values())
    assert {n: r.reminders for n, r in by_name.items()} == {"Awa": 0, "John": 0, "Mariama": 2, "Issa": 1}
    assert {n: r.language for n, r in by_name.items()} == {
        "Awa": "fr",
        "John": "en",
        "Mariama": language,
        "Issa": language,
    }
    assert len(await rows(box, AuditEntry, AuditEntry.action == "notice.seen")) == 4
    # Each reader's copy is pinned, in their language, and no longer asks to be confirmed; so are reminders.
    for name, reader in by_name.items():
        shown = bot_messages(box, name)
        [copy] = [m for m in shown if m.get("pinned")]
        assert notice.texts[reader.language][:40] in (copy.get("text") or "")
        nudges = [
            m for m in shown if re.match(r"🔔 (Rappel : avis n°|Reminder: notice #)1", m.get("text") or "")
        ]
        assert len(nudges) == reader.reminders, name
        assert all("inline_keyboard" not in m for m in [copy, *nudges]), name
    [card] = [m for m in bot_messages(box, "Ibrahim") if "👁 Lu" in (m.get("text") or "")]
    assert "👁 Lu 4 / 4" in card["text"] and "2 relances envoyées" in card["text"]


async def weekly_meeting_played(box: Sandbox, language: str) -> None:
    members = await rows(box, Member)
    awa = member_of(box, members, "Awa")
    [meeting] = await rows(box, Meeting)
    assert meeting.present == ["NE-KONNI/customs", "NE-KONNI/police", "NE-KONNI/health"]
    assert len(meeting.decisions) == 2 and meeting.next_meeting_at is None
    customs, health = sorted(await rows(box, ActionItem), key=lambda i: i.position)
    today = local(box, meeting.published_at).date()
    assert (customs.owner_service_code, customs.due_on) == ("customs", today + timedelta(days=1))
    assert (health.owner_service_code, health.due_on) == ("health", today + timedelta(days=14))
    assert not await rows(
        box, MeetingCopy, MeetingCopy.kind == CopyKind.BEFORE
    )  # created after the day before's
    assert customs.status == ActionStatus.DONE and customs.done_by_member_id == awa.id
    assert health.status == ActionStatus.OPEN
    # The due-day reminder went to Customs (Awa) only, at 09:00 post time.
    due = await rows(box, MeetingCopy, MeetingCopy.kind == CopyKind.DUE)
    assert [(c.member_id, c.item_id) for c in due] == [(awa.id, customs.id)]
    [card] = [m for m in bot_messages(box, "Awa") if "⏰" in (m.get("text") or "")[:2]]
    at = local(box, datetime.fromtimestamp(card["date"], UTC))
    assert (at.hour, at.minute) == (9, 0)
    [done] = await rows(box, AuditEntry, AuditEntry.action == "action.done")
    assert done.details["on_time"] is True and done.details["owner_service"] == "customs"
    [late] = await rows(box, ScheduledJob, ScheduledJob.key == f"mt:act:{customs.id}:late")
    assert late.state == JobState.CANCELLED  # done: never reported overdue


async def day_review_played(box: Sandbox, language: str) -> None:
    [alert] = await rows(box, Alert)
    assert (alert.category, alert.severity, alert.state) == ("security", "important", "open")
    assert alert.handled_at is not None and alert.handled_at - alert.raised_at >= timedelta(minutes=7)
    acks = {a.service_code: round(a.seconds_to_ack / 60) for a in await rows(box, AlertAck)}
    assert acks == {"customs": 0, "police": 3, "gendarmerie": 7}
    # Nadia read the log, filtered to alerts, and got the CSV of what the page showed.
    [document] = [m for m in bot_messages(box, "Nadia") if m.get("kind") == "document"]
    assert document["document"]["name"].endswith(".csv")
    assert {"fr": "📎 5 entrées", "en": "📎 5 entries"}[language] in document["text"]


async def seme_krake_played(box: Sandbox, language: str) -> None:
    # The scenario's own posts: in the sandbox's database, next to config.yaml's, with their zones.
    posts = {p.code: p for p in await rows(box, Post)}
    assert {c: (p.country, p.timezone, p.language) for c, p in posts.items() if c[:2] in ("BJ", "NG")} == {
        "BJ-KRAKE": ("BJ", "Africa/Porto-Novo", "fr"),
        "NG-SEME": ("NG", "Africa/Lagos", "en"),
    }
    assert all(p.active for p in posts.values()) and "NE-KONNI" in posts
    members = {m.display_name: m for m in await rows(box, Member)}
    assert {n: (m.post_code, m.service_code, m.role) for n, m in members.items()} == {
        "Kossi": ("BJ-KRAKE", "police", "chief"),
        "Rachida": ("BJ-KRAKE", "health", "agent"),
        "Bio": ("BJ-KRAKE", "customs", "agent"),
        "Sènami": ("BJ-KRAKE", "customs", "agent"),
        "Chinedu": ("NG-SEME", "health", "agent"),
    }
    # The alert raised at Seme reached its partner Kraké (declared on Kraké's side only: both ways).
    [alert] = await rows(box, Alert)
    assert (alert.post_code, alert.posts, alert.category) == ("NG-SEME", ["NG-SEME", "BJ-KRAKE"], "epidemic")
    assert alert.state == "open" and alert.handled_at is not None and alert.escalation_level == 0
    acks = {(a.post_code, a.service_code): (a.member_id, a.kind) for a in await rows(box, AlertAck)}
    assert acks == {
        ("NG-SEME", "health"): (members["Chinedu"].id, "seen"),  # the author counts as seen
        ("BJ-KRAKE", "health"): (members["Rachida"].id, "action"),
    }
    # The handover at the 07:00 shift change, in Kraké's zone, taken over by the morning agent.
    [handover] = await rows(box, Handover)
    assert (handover.post_code, handover.service_code) == ("BJ-KRAKE", "customs")
    change = handover.shift_change_at.astimezone(ZoneInfo("Africa/Porto-Novo"))
    assert (change.hour, change.minute) == (7, 0)
    assert handover.author_member_id == members["Bio"].id
    assert handover.state == HandoverState.ACCEPTED and handover.taken_by_member_id == members["Sènami"].id
    # Nothing of it outside the sandbox.
    assert box.base_config.find_post("BJ-KRAKE") is None
    assert "BJ-KRAKE" not in (ROOT / "config.yaml").read_text(encoding="utf-8")


AFTER_PLAY: dict[str, Callable[[Sandbox, str], Awaitable[None]]] = {
    "seme-krake": seme_krake_played,
    "missed-handover": missed_handover_played,
    "important-notice": important_notice_played,
    "weekly-meeting": weekly_meeting_played,
    "day-review": day_review_played,
}


async def test_alert_scenario_leaves_the_database_as_the_phones_say(config: Config, tmp_path: Path) -> None:
    box = Sandbox(config, tmp_path / "gate2")
    await box.start("alert-gate-2", "en")
    try:
        while not box.player.done:
            await box.next_step()
        [alert] = await rows(box, Alert)
        assert (alert.category, alert.severity, alert.state) == ("health", "urgent", "resolved")
        assert alert.latitude == pytest.approx(13.7961) and alert.photo_file_id
        assert alert.escalation_level >= 1 and alert.outcome
        acks = {a.service_code: a.kind for a in await rows(box, AlertAck)}
        assert acks == {"customs": "seen", "police": "seen", "health": "action"}  # the author counts as seen
        # English was the play's language: Mariama (no language in the file) read English.
        assert any(t.startswith("Welcome to Liaison, Mariama.") for t in texts(box, "Mariama"))
    finally:
        await box.stop()


async def test_declared_posts_live_in_the_sandbox_only(config: Config, tmp_path: Path) -> None:
    shipped = (ROOT / "config.yaml").read_bytes()
    box = Sandbox(config, tmp_path / "krake")
    await box.start("seme-krake", "en")
    try:
        state = box.state()
        krake = next(p for p in state["posts"] if p["code"] == "BJ-KRAKE")
        assert krake == {**krake, "name": "Kraké", "zone": "Africa/Porto-Novo"}
        assert krake["services"] == ["customs", "police", "health"]
        assert state["clock"]["post"] == "BJ-KRAKE" and state["clock"]["zone"] == "Africa/Porto-Novo"
        # The page's "+ Phone" joins the declared posts too; a shared location falls on the scenario's place.
        ngozi = await box.add_phone("Ngozi", language="en", post="NG-SEME", service="police")
        await box.settle()
        assert any(t.startswith("Welcome to Liaison, Ngozi.") for t in texts(box, "Ngozi"))
        await box.share_location(ngozi.id)
        await box.settle()
        shared = [m for m in box.phone_view(ngozi)["messages"] if m.get("kind") == "location"]
        assert shared[0]["location"] == {"latitude": 6.4028, "longitude": 2.7094}
        with pytest.raises(SandboxError, match="no service 'gendarmerie' at NG-SEME"):
            await box.add_phone("Zoe", language="en", post="NG-SEME", service="gendarmerie")
    finally:
        await box.stop()
    assert box.errors == []

    # A later run on the same directory finds the posts again with the people.
    again = Sandbox(config, tmp_path / "krake")
    await again.start("free-play", "fr")
    try:
        assert again.config.post("BJ-KRAKE").partners == ("NG-SEME",)
        assert {p.name: p.post for p in again.phones.values()}["Ngozi"] == "NG-SEME"
        sènami = next(p for p in again.phones.values() if p.name == "Sènami")
        await again.send(sènami.id, "/help")
        await again.settle()
        assert "What you can do" in texts(again, "Sènami")[-1]

        # Another scenario: a fresh sandbox on config.yaml's posts alone.
        await again.load("free-play", "fr")
        assert "BJ-KRAKE" not in {p["code"] for p in again.state()["posts"]}
        with pytest.raises(SandboxError, match="unknown post 'BJ-KRAKE'"):
            await again.add_phone("Zoe", post="BJ-KRAKE", service="customs")
        assert json.loads((again.directory / POSTS_FILE).read_text(encoding="utf-8"))["posts"] == []
    finally:
        await again.stop()
    assert again.errors == []
    assert config.find_post("BJ-KRAKE") is None and (ROOT / "config.yaml").read_bytes() == shipped


async def test_a_broken_posts_file_is_refused_in_one_line(config: Config, tmp_path: Path) -> None:
    box = Sandbox(config, tmp_path / "broken")
    await box.start("free-play", "fr")
    await box.stop()
    (box.directory / POSTS_FILE).write_text(json.dumps({"posts": [{**NEW_POST, "code": "NE-KONNI"}]}))
    again = Sandbox(config, tmp_path / "broken")
    with pytest.raises(ScenarioError, match=r"sandbox-posts\.json: posts\[0\]: post 'NE-KONNI' is already"):
        await again.start("free-play", "fr")
    assert again.app is None


# ----- the page's server ----------------------------------------------------------------------------------


@pytest.fixture
async def served(sandbox: Sandbox) -> AsyncIterator[tuple[Sandbox, httpx.AsyncClient]]:
    server, port = await serve(sandbox)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        yield sandbox, client
    server.stop()
    await server.close_all_connections()


async def test_the_page_and_its_api(served: tuple[Sandbox, httpx.AsyncClient]) -> None:
    sandbox, client = served
    page = await client.get("/")
    assert page.status_code == 200 and "/static/sandbox.js" in page.text
    for name in ("sandbox.js", "sandbox.css", "messages.json"):
        assert (await client.get(f"/static/{name}")).status_code == 200
    state = (await client.get("/api/state")).json()
    assert [p["name"] for p in state["phones"]] == ["Ibrahim", "Awa", "John", "Salif"]
    assert {s["id"] for s in state["scenarios"]} >= {"free-play", "alert-gate-2", "shift-change"}
    assert state["clock"]["post"] == "NE-KONNI" and state["clock"]["zone"] == "Africa/Niamey"

    added = await client.post(
        "/api/phones", json={"name": "Kofi", "language": "en", "post": "BF-KANTCHARI", "service": "police"}
    )
    assert added.status_code == 200
    kofi = added.json()["id"]
    refused = await client.post(
        "/api/phones", json={"name": "Zoe", "language": "en", "post": "BF-KANTCHARI", "service": "forests"}
    )
    assert refused.status_code == 409 and refused.json()["error"] == "no service 'forests' at BF-KANTCHARI"
    await sandbox.settle()
    assert any(t.startswith("Welcome to Liaison, Kofi.") for t in texts(sandbox, "Kofi"))
    [member] = await rows(sandbox, Member, Member.display_name == "Kofi")
    assert (member.post_code, member.service_code, member.role) == ("BF-KANTCHARI", "police", "agent")

    # A photo and a location from the composer, then the alert they belong to.
    assert (await client.post(f"/api/phones/{kofi}/send", json={"text": "/alert"})).status_code == 200
    await sandbox.settle()
    message_id, data = sandbox.find_button(sandbox.phone(kofi), ["Security incident"])
    assert (
        await client.post(f"/api/phones/{kofi}/tap", json={"message_id": message_id, "data": data})
    ).is_success
    await sandbox.settle()
    message_id, data = sandbox.find_button(sandbox.phone(kofi), ["Urgent"])
    await client.post(f"/api/phones/{kofi}/tap", json={"message_id": message_id, "data": data})
    await sandbox.settle()
    await client.post(f"/api/phones/{kofi}/location", json={})
    await client.post(f"/api/phones/{kofi}/photo", json={"caption": "Barrier forced at the gate"})
    await sandbox.settle()
    view = sandbox.phone_view(sandbox.phone(kofi))["messages"]
    photo = next(m for m in view if m["from"] == "user" and m["kind"] == "photo")
    location = next(m for m in view if m["from"] == "user" and m["kind"] == "location")
    assert location["location"] == {"latitude": 12.4797, "longitude": 1.5136}
    image = await client.get(photo["photo"])
    assert image.headers["content-type"] == "image/jpeg" and image.content.startswith(b"\xff\xd8\xff")
    assert (await client.get("/files/nope")).status_code == 404
    assert (await client.post(f"/api/phones/{kofi}/fly", json={})).status_code == 404
    assert (await client.post("/api/phones/999/send", json={"text": "hi"})).json()["error"] == "no phone 999"

    before = sandbox.clock.now()
    moved = await client.post("/api/clock", json={"to": "+15m"})
    assert moved.status_code == 200
    assert datetime.fromisoformat(moved.json()["now"]) - before >= timedelta(minutes=15)
    assert (await client.post("/api/clock", json={"to": "yesterday"})).status_code == 409


async def test_the_page_follows_events_live(served: tuple[Sandbox, httpx.AsyncClient]) -> None:
    sandbox, client = served
    john = next(p for p in sandbox.phones.values() if p.name == "John")
    events: list[dict[str, Any]] = []
    connected = asyncio.Event()

    async def listen() -> None:
        async with client.stream("GET", "/api/events") as stream:
            async for line in stream.aiter_lines():
                connected.set()  # the server subscribed before writing its first line
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                    if any(e["type"] == "message" and e["message"]["from"] == "bot" for e in events):
                        return

    listener = asyncio.ensure_future(listen())
    await asyncio.wait_for(connected.wait(), 30)
    await sandbox.send(john.id, "/help")
    await asyncio.wait_for(listener, 30)
    messages = [e for e in events if e["type"] == "message"]
    typed, answer = messages[0], next(e for e in messages if e["message"]["from"] == "bot")
    assert typed == {"type": "message", "phone": john.id, "message": typed["message"]}
    assert typed["message"]["text"] == "/help" and typed["message"]["from"] == "user"
    assert answer["phone"] == john.id and answer["message"]["entities"]
    assert answer["message"]["id"] > typed["message"]["id"]


def test_the_page_catalog_covers_every_key_in_both_languages() -> None:
    page = ROOT / "sandbox" / "page"
    catalog = json.loads((page / "messages.json").read_text(encoding="utf-8"))
    assert set(catalog["fr"]) == set(catalog["en"])
    html = (page / "index.html").read_text(encoding="utf-8")
    script = (page / "sandbox.js").read_text(encoding="utf-8")
    used = set(re.findall(r'data-i18n(?:-title|-placeholder|-aria)?="([a-z_0-9]+)"', html))
    used |= set(re.findall(r'\bt\("([a-z_0-9]+)"', script))
    used |= {f"role_{role}" for role in ("agent", "chief", "coordinator")}
    missing = sorted(used - set(catalog["fr"]))
    assert not missing, missing
    assert all(catalog[lang][key].strip() for lang in ("fr", "en") for key in catalog[lang])


# ----- the command line -------------------------------------------------------------------------------------


def exists(path: str) -> bool:
    """Whether a file is there (a plain check, outside the event loop's concerns)."""
    return Path(path).exists()


@pytest.mark.slow
async def test_liaison_sandbox_prints_its_address_and_stops_cleanly(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "sandbox",
        "--port",
        "0",
        cwd=ROOT,
        env={**os.environ, "TELEGRAM_BOT_TOKEN": ""},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        match = re.search(r"(http://127\.0\.0\.1:\d+/)\s+\(database (\S+);", line)
        assert match, line
        url, database = match.group(1), match.group(2)
        assert exists(database)
        async with httpx.AsyncClient(timeout=30) as client:
            state = (await client.get(url + "api/state")).json()
        assert len(state["phones"]) == 4
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert "Traceback" not in err.decode(), err.decode()
    assert not exists(database)  # a temporary sandbox cleans up after itself


def test_liaison_sandbox_refuses_an_unknown_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    assert main(["sandbox", "--scenario", "nope", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("liaison: error: no scenario 'nope' (there are: free-play, ") and "\n" not in err


def test_sandbox_refuses_impossible_phones(config: Config, tmp_path: Path) -> None:
    box = Sandbox(config, tmp_path)
    for kwargs, message in (
        ({"role": "boss"}, "unknown role 'boss'"),
        ({"post": "XX"}, "unknown post 'XX'"),
        ({"post": "NE-KONNI"}, "an agent needs a service"),
    ):
        with pytest.raises(SandboxError, match=message):
            box._check_member(kwargs.get("role", "agent"), kwargs.get("post"), kwargs.get("service"))
