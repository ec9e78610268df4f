"""The review log's one-line summaries are cut between words: never in the middle of a word, nor of a command
that the phone would show as a tappable "/ale"; the ellipsis stays, and the HTML around it stays whole."""

from __future__ import annotations

from tests.factories import alert_copy, post_team, press, raise_guided
from tests.harness import Harness

# The summary's 110 characters end inside "/alerts" in French ("…suivi des cas : /ale"), just after it in
# English; "&" and "<...>" must reach the phone as written.
OUTCOME = (
    "Voyageur orienté vers le CSI & la <Police sanitaire> ; suivi des cas : "
    "/alerts puis ouvrir la fiche de l'alerte n°1"
)


async def test_a_log_summary_is_cut_between_words_never_inside_a_command(liaison: Harness) -> None:
    customs, _police, _health, chief = await post_team(liaison)
    coordinator = await liaison.member("Peter", role="coordinator", language="en")
    alert, _ = await raise_guided(liaison, customs, category="health", severity="urgent")
    await liaison.advance(300)
    await press(chief, "✔️ Resolve", alert_copy(chief, alert.id))
    await liaison.settle()
    await chief.send(OUTCOME)
    await liaison.settle()

    for reader, expected in (
        (
            chief,
            "1. 09:05 · Alertes · Gendarmerie · Ibrahim — Alerte n°1 résolue après 5 min : "
            "Voyageur orienté vers le CSI & la <Police sanitaire> ; suivi des cas…",
        ),
        (
            coordinator,
            "1. 9:05\u202fAM · Birni N'Konni · Alerts · Gendarmerie · Ibrahim — "
            "Alert #1 resolved after 5 min: Voyageur orienté vers le CSI & la <Police sanitaire> ; "
            "suivi des cas : /alerts…",
        ),
    ):
        await reader.send("/log")
        await liaison.settle()
        [line] = [line for line in reader.last.text.splitlines() if line.startswith("1. ")]
        assert line == expected
        assert "/ale…" not in reader.last.text and "/aler…" not in reader.last.text


def test_an_excerpt_never_ends_with_an_opening_bracket_or_quote() -> None:
    """'… de service (…' opens nothing: the bracket (or quote) and the space before it go too."""
    from bot.texts import excerpt

    text = "Relève de 07:00 : rédigez votre passation de service (« J+1 ») avant 07:30"
    cut = excerpt(text, text.index("(") + 2)
    assert cut == "Relève de 07:00 : rédigez votre passation de service…"
    for opener in ("(", "[", "«", "“", "'", '"'):
        text = f"Relève de 07:00 : rédigez votre passation {opener}- voir note) ce soir"
        cut = excerpt(text, text.index(opener) + 2)
        assert cut == "Relève de 07:00 : rédigez votre passation…", (opener, cut)


def test_a_preview_reads_on_one_line_whatever_its_blanks() -> None:
    """Every one-line preview (a list row, a button, a quote, a log summary) flattens blanks the same way:
    line breaks, tabs and runs of spaces read as one space, with or without a line break in the text, before
    the cut between words."""
    from bot.texts import excerpt, preview

    typed = "  Camion  AB-123\nretenu\tau pont-bascule,\r\n\n  chauffeur   absent  "
    assert preview(typed, 200) == "Camion AB-123 retenu au pont-bascule, chauffeur absent"
    assert preview("Camion  AB-123  retenu au pont", 200) == "Camion AB-123 retenu au pont"
    # Cut after flattening: the limit counts the characters a reader sees; the cut falls between words.
    assert preview(typed, 30) == "Camion AB-123 retenu au…"
    assert preview(typed, 30) == excerpt(" ".join(typed.split()), 30)


def test_each_features_one_line_text_flattens_blanks_alike() -> None:
    """A handover item, a reminder's words in /reminders, a notice's quote and a meeting's title read the same
    typed text the same way (handovers kept line breaks and reminders every blank; meetings and notices
    flattened them)."""
    from bot.i18n import translator
    from handlers.handovers.render import contested_line, item_line
    from handlers.notices.render import quoted
    from handlers.reminders.render import shorten

    tr = translator("en")
    typed, flat = "Camion  AB-123\nretenu au  pont", "Camion AB-123 retenu au pont"
    assert item_line(tr, 1, {"text": typed}, "Africa/Niamey", 60) == f"1. ⏳ {flat}"
    assert shorten(typed) == flat
    assert quoted(tr, typed) == f"“{flat}”"
    handover = type("H", (), {"contested_item": 1, "items": [{"text": typed}]})()
    assert contested_line(tr, handover, excerpt=60) == f"Item 1 contested: “{flat}”"  # type: ignore[arg-type]


async def test_a_resolution_names_the_resolvers_service_as_other_entries_do(liaison: Harness) -> None:
    customs, _police, _health, chief = await post_team(liaison)
    alert, _ = await raise_guided(liaison, customs, category="health", severity="urgent")
    await liaison.advance(300)
    # The author (Customs) resolves her own alert.
    await press(customs, "✔️ Resolve", alert_copy(customs, alert.id))
    await liaison.settle()
    await customs.send("Voyageur orienté vers le CSI")
    await liaison.settle()
    await chief.send("/log")
    await liaison.settle()
    [line] = [line for line in chief.last.text.splitlines() if "résolue" in line]
    assert " · Douane · " in line and "Alerte n°1 résolue après 5 min" in line, line
