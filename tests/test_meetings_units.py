"""Meetings without Telegram: reading action lines, and splitting long minutes under Telegram's limit."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from bot.config import Config
from bot.dates import TimeProblem
from bot.i18n import translator
from db.meetings import ActionItem, Meeting
from handlers.meetings.parsing import LineProblem, Owner, Owners, Person, read_line, read_lines, split_line
from handlers.meetings.render import (
    PART_BUDGET,
    MinutesReader,
    pieces,
    render_item,
    render_minutes,
    visible_length,
)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday, 09:00 in Niamey
TELEGRAM_LIMIT = 4096


def owners(config: Config, posts: tuple[str, ...] = ("NE-KONNI",)) -> Owners:
    people = [
        Person(1, "Awa Moussa", "NE-KONNI", "customs"),
        Person(2, "Awa Diallo", "NE-KONNI", "health"),
        Person(3, "John Smith", "NE-KONNI", "police"),
        Person(4, "Salif Ouédraogo", "BF-KANTCHARI", "gendarmerie"),
        Person(5, "Hadiza", "NE-MAKALONDI", "police"),
    ]
    return Owners(config, list(posts), people)


def read(config: Config, line: str, posts: tuple[str, ...] = ("NE-KONNI",)):
    zone = config.post_zone(posts[0])
    return read_line(line, owners(config, posts), zone=zone, now=NOW, max_chars=300)


@pytest.mark.parametrize(
    ("line", "parts"),
    [
        (
            "Action: Douane — transmettre la liste des véhicules saisis — 12/12",
            ("Douane", "transmettre la liste des véhicules saisis", "12/12"),
        ),
        (
            "Action: Health Police: brief the night shift: Friday",
            ("Health Police", "brief the night shift", "Friday"),
        ),
        (
            "Action : Douane : transmettre : la liste — vendredi",
            ("Douane", "transmettre : la liste", "vendredi"),
        ),
        ("- Douane - rapport à 14:30 - demain", ("Douane", "rapport à 14:30", "demain")),
        ("3. Douane | rapport | demain", ("Douane", "rapport", "demain")),
        ("Action 2 – Douane – rapport – demain", ("Douane", "rapport", "demain")),
        ("Douane—rapport—demain", ("Douane", "rapport", "demain")),
        ("Douane: rapport", None),
        ("n'importe quoi", None),
    ],
)
def test_lines_split_into_owner_task_and_date(line: str, parts: tuple[str, str, str] | None) -> None:
    assert split_line(line) == parts


def test_owners_by_french_or_english_name_or_by_person(config: Config) -> None:
    line = read(config, "Action: Douane — transmettre la liste des véhicules saisis — 12/12")
    assert (
        line.problem is None and line.owner == Owner("NE-KONNI", "customs") and line.due == date(2026, 12, 12)
    )
    line = read(config, "Action: Health Police: brief the night shift: Friday")
    assert line.owner == Owner("NE-KONNI", "health") and line.due == date(2026, 11, 27)
    assert read(config, "La douane — x — demain").owner == Owner("NE-KONNI", "customs")
    assert read(config, "EAUX ET FORETS — x — demain").owner == Owner("NE-KONNI", "forests")
    line = read(config, "John — brief — tomorrow")
    assert line.owner == Owner("NE-KONNI", member_id=3, name="John Smith")
    assert read(config, "awa moussa — x — demain").owner == Owner("NE-KONNI", member_id=1, name="Awa Moussa")


@pytest.mark.parametrize(
    ("line", "problem", "candidates"),
    [
        (
            "Police — faire un point — demain",
            LineProblem.OWNER_AMBIGUOUS,
            ("service:police", "service:health"),
        ),
        ("Forêts — x — demain", LineProblem.OWNER_AMBIGUOUS, ("service:forests",)),
        ("Forests — x — demain", LineProblem.OWNER_AMBIGUOUS, ("service:forests",)),
        ("Awa — x — demain", LineProblem.OWNER_AMBIGUOUS, ("Awa Moussa", "Awa Diallo")),
        ("Salif — x — demain", LineProblem.OWNER_UNKNOWN, ()),  # of another post
        ("Hadiza — x — demain", LineProblem.OWNER_UNKNOWN, ()),
        ("Douane — — demain", LineProblem.NO_TASK, ()),
        ("Douane: rapport", LineProblem.SHAPE, ()),
    ],
)
def test_unreadable_owners_are_never_guessed(
    config: Config, line: str, problem: LineProblem, candidates: tuple[str, ...]
) -> None:
    read_back = read(config, line)
    assert read_back.problem == problem and read_back.candidates == candidates and read_back.due is None


@pytest.mark.parametrize(
    ("due", "problem"),
    [
        ("bientôt", TimeProblem.UNREADABLE),
        ("31/11", TimeProblem.NONEXISTENT),
        ("hier", TimeProblem.PAST),
        ("20/11", TimeProblem.PAST),
        ("12/12/2028", TimeProblem.TOO_FAR),
        ("vendredi 28/11", TimeProblem.CONTRADICTS),
    ],
)
def test_unreadable_dates_are_refused_with_the_reason(config: Config, due: str, problem: TimeProblem) -> None:
    line = read(config, f"Douane — rapport — {due}")
    assert line.problem == LineProblem.DATE and line.date_problem == problem and line.due_text == due


def test_a_task_over_the_limit_and_lines_over_the_count(config: Config) -> None:
    assert read(config, "Douane — " + "x" * 301 + " — demain").problem == LineProblem.TOO_LONG
    text = "\n".join(f"Douane — tâche {n} — demain" for n in range(5)) + "\n\n   \nrien"
    lines = read_lines(text, owners(config), zone="Africa/Niamey", now=NOW, max_chars=300, room=3)
    assert [line.problem for line in lines] == [
        None,
        None,
        None,
        LineProblem.LIMIT,
        LineProblem.LIMIT,
        LineProblem.SHAPE,
    ]


def test_joint_meetings_name_the_post_when_both_have_the_service(config: Config) -> None:
    posts = ("NE-MAKALONDI", "BF-KANTCHARI")
    assert read(config, "Douane — x — demain", posts).owner == Owner("NE-MAKALONDI", "customs")
    assert read(config, "Douane (Kantchari) — x — demain", posts).owner == Owner("BF-KANTCHARI", "customs")
    assert read(config, "Customs Kantchari — x — demain", posts).owner == Owner("BF-KANTCHARI", "customs")
    # Only Kantchari has a Gendarmerie: not a guess.
    assert read(config, "Gendarmerie — x — demain", posts).owner == Owner("BF-KANTCHARI", "gendarmerie")
    salif = read(config, "Salif — x — demain", posts).owner
    assert salif == Owner("BF-KANTCHARI", member_id=4, name="Salif Ouédraogo")


# ----- splitting --------------------------------------------------------------------------------------------


def test_pieces_cut_at_lines_then_words_then_anywhere() -> None:
    assert pieces("short", 10) == ["short"]
    assert pieces("aaaa bbbb cccc", 10) == ["aaaa bbbb", "cccc"]
    assert pieces("line one\nline two", 12) == ["line one", "line two"]
    assert pieces("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    # Emoji count twice (UTF-16), as Telegram counts them: never cut in half.
    cut = pieces("😀" * 9, 10)
    assert cut == ["😀" * 5, "😀" * 4]


def _meeting(notes: str, decisions: list[str] | None = None, title: str = "Réunion <hebdo> & co") -> Meeting:
    return Meeting(
        id=7,
        client_token="t",
        post_code="NE-KONNI",
        author_member_id=1,
        title=title,
        held_at=NOW,
        present=["NE-KONNI/customs", "NE-KONNI/police"],
        absent=["NE-KONNI/health", "NE-KONNI/forests", "NE-KONNI/gendarmerie"],
        notes=notes,
        decisions=decisions or [],
        published_at=NOW,
    )


def _items(count: int) -> list[ActionItem]:
    return [
        ActionItem(
            id=n,
            meeting_id=7,
            position=n,
            post_code="NE-KONNI",
            owner_service_code="customs",
            text=f"tâche {n} " + "é" * 280,
            due_on=date(2026, 11, 27),
            created_at=NOW,
        )
        for n in range(1, count + 1)
    ]


@pytest.mark.parametrize("card", [False, True])
def test_twenty_thousand_characters_split_at_paragraphs_under_the_limit(config: Config, card: bool) -> None:
    paragraphs = [f"Paragraphe {n}. " + "mot <b>&amp; " * 90 for n in range(1, 30)]
    notes = "\n\n".join(paragraphs)[:20000]
    meeting = _meeting(notes, [f"Décision {n} " + "d" * 480 for n in range(30)])
    parts = render_minutes(
        config,
        translator("fr"),
        meeting,
        _items(30),
        reader=MinutesReader("fr", "NE-KONNI", card),
        author="Ibrahim <chef>",
        now=NOW,
    )
    assert len(parts) > 5
    assert all(visible_length(p) <= TELEGRAM_LIMIT for p in parts)
    assert all(visible_length(p) <= PART_BUDGET for p in parts)
    assert parts[1].startswith("<i>📋 Réunion &lt;hebdo&gt; &amp; co (2/")
    joined = "".join(parts)
    # Every paragraph arrives, starting a line (cut at paragraph boundaries), escaped.
    kept = [n for n in range(1, 30) if f"Paragraphe {n}. " in notes]
    assert len(kept) > 15
    for n in kept:
        assert f"\nParagraphe {n}. mot &lt;b&gt;&amp;amp;" in joined
    assert "Décision 29" in joined and "30. <b>Douane</b>" in joined
    assert ("📊 Actions faites : 0 sur 30" in parts[0]) is card


def test_short_minutes_fit_in_one_card_with_each_items_state(config: Config) -> None:
    items = _items(2)
    items[0].status = "done"
    items[0].done_at = NOW
    [card] = render_minutes(
        config,
        translator("en"),
        _meeting("Short notes."),
        items,
        reader=MinutesReader("en", "NE-KONNI", card=True),
        author="Ibrahim",
        now=datetime(2026, 11, 28, 8, 0, tzinfo=UTC),
    )
    assert "✅ 1. <b>Customs</b>" in card and "⏰ 2. <b>Customs</b>" in card
    assert "📊 Action items done: 1 of 2 · ⏰ overdue: 2" in card
    assert "<b>Present</b>: Customs, National Police" in card


def test_an_item_card_in_each_language(config: Config) -> None:
    item = _items(1)[0]
    item.text = "Briefer <l'équipe>"
    meeting = _meeting("")
    fr = render_item(
        config, translator("fr"), item, meeting, kind="due", reader_post="NE-KONNI", now=NOW, names={}
    )
    assert fr.startswith("⏰ <b>Échéance aujourd'hui</b> · Douane\nBriefer &lt;l&#x27;équipe&gt;")
    assert "📅 Échéance : ven. 27 nov." in fr
    en = render_item(
        config,
        translator("en"),
        item,
        meeting,
        kind="overdue",
        reader_post="NE-KONNI",
        now=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
        names={},
    )
    assert en.startswith("⚠️ <b>Overdue action item</b> · Customs") and "⏰ 3 days late" in en
    assert time(9, 0) == config.meetings.reminder_time
