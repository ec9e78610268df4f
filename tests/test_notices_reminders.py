"""A reminder to someone who has not confirmed a notice says what it shows: the whole notice, or its
beginning and where the rest is (a longer text, a photo), in the reader's language."""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox.emulator import EmulatedUser
from tests.factories import post_team, tap
from tests.harness import Harness
from tests.test_notices import EN_TEXT, FR_TEXT, reminders_of, write_notice

PRESS_FR = "Appuyez sur Lu une fois l'avis lu."
PRESS_EN = "Press Seen once you have read it."
ELSEWHERE_FR = (
    "L'avis complet se trouve dans le message reçu et dans /notices. Appuyez sur Lu une fois l'avis lu."
)
ELSEWHERE_EN = (
    "The whole notice is in the message you received, and in /notices. Press Seen once you have read it."
)
# Longer than the 300 characters a reminder quotes.
LONG_FR = (
    "Contrôle renforcé des camions de marchandises à partir de lundi : chaque service vérifie les "
    "documents qui le concernent avant le passage au pont-bascule. La Douane tient la liste des camions "
    "retenus et la transmet au chef de poste à la fin de chaque vacation. En cas de doute sur un chargement, "
    "prévenir la Gendarmerie avant de laisser repartir le véhicule."
)
LONG_EN = (
    "Tighter checks on goods lorries from Monday: each service checks the documents that concern it before "
    "the weighbridge. Customs keeps the list of lorries held back and hands it to the post chief at the end "
    "of each shift. When in doubt about a load, warn the Gendarmerie before letting the vehicle leave. "
    "Thank you all for your care."
)


def last_lines(user: EmulatedUser, notice_id: int) -> tuple[str, str]:
    """The quote and the closing line of the user's (one) reminder of a notice."""
    [reminder] = reminders_of(user, notice_id)
    lines = reminder.text.splitlines()
    return lines[-3], lines[-1]


async def test_a_reminder_says_what_it_shows(liaison: Harness) -> None:
    customs, police, _health, chief = await post_team(liaison)

    # A short notice: the reminder quotes all of it, so it only asks to press Seen (never "read it above").
    await write_notice(liaison, chief, FR_TEXT, second=EN_TEXT)
    await tap(liaison, chief, "🔔 Remind them")
    assert last_lines(customs, 1) == (f"« {FR_TEXT} »", PRESS_FR)
    assert last_lines(police, 1) == (f"“{EN_TEXT}”", PRESS_EN)

    # A long one: the reminder quotes its beginning, cut between words, and says where the whole is.
    await write_notice(liaison, chief, LONG_FR, second=LONG_EN)
    await tap(liaison, chief, "🔔 Remind them")
    quote_fr, closing_fr = last_lines(customs, 2)
    quote_en, closing_en = last_lines(police, 2)
    assert (closing_fr, closing_en) == (ELSEWHERE_FR, ELSEWHERE_EN)
    # 300 characters end inside "prévenir" and inside "leave": each quote stops before that word (and the
    # comma before it).
    assert quote_fr == "« " + LONG_FR[: LONG_FR.index(", prévenir")] + "… »", quote_fr
    assert quote_en == "“" + LONG_EN[: LONG_EN.index(" leave.")] + "…”", quote_en

    # A short text with a photo: the reminder carries the text, not the photo.
    await write_notice(liaison, chief, "Photo du camion recherché.", photo=True, second="Photo of the lorry.")
    await tap(liaison, chief, "🔔 Remind them")
    assert last_lines(customs, 3) == ("« Photo du camion recherché. »", ELSEWHERE_FR)
    assert last_lines(police, 3) == ("“Photo of the lorry.”", ELSEWHERE_EN)

    for user in (customs, police):
        reminders = [m.text for n in (1, 2, 3) for m in reminders_of(user, n)]
        assert not any("above" in text or "plus haut" in text for text in reminders), reminders


async def test_a_coordinator_told_to_wait_reads_the_next_reminder_in_the_posts_time(liaison: Harness) -> None:
    """A coordinator has no post: the next possible reminder is in the notice's post zone, named."""
    await liaison.member("Awa", post="NE-KONNI", service="customs", language="fr")
    coordinator = await liaison.member("Peter", role="coordinator", language="en")
    liaison.clock.set(datetime(2026, 11, 30, 22, 32, tzinfo=UTC))  # 11:32 PM UTC, 12:32 AM at Konni
    await write_notice(liaison, coordinator, FR_TEXT, posts=["Birni N'Konni"])
    await tap(liaison, coordinator, "🔔 Remind them")
    await tap(liaison, coordinator, "🔔 Remind them")
    assert coordinator.callback_answers[-1]["text"] == (
        "They were reminded less than 60 minutes ago. "
        "Next reminder possible at 12:32\u202fAM (Birni N'Konni time)."
    )


async def test_the_wait_names_a_post_whose_name_has_markup_characters_as_written(liaison: Harness) -> None:
    """The answer to a press is plain text: the post's name is shown as configured, escaped for no HTML."""
    name = "Birni <N'Konni> & Co"
    posts = tuple(
        p.model_copy(update={"name": name}) if p.code == "NE-KONNI" else p for p in liaison.config.posts
    )
    await liaison.restart(liaison.config.model_copy(update={"posts": posts}))
    await liaison.member("Awa", post="NE-KONNI", service="customs", language="fr")
    coordinator = await liaison.member("Peter", role="coordinator", language="en")
    liaison.clock.set(datetime(2026, 11, 30, 22, 32, tzinfo=UTC))
    await write_notice(liaison, coordinator, FR_TEXT, posts=[name])
    await tap(liaison, coordinator, "🔔 Remind them")
    await tap(liaison, coordinator, "🔔 Remind them")
    assert coordinator.callback_answers[-1]["text"] == (
        "They were reminded less than 60 minutes ago. "
        "Next reminder possible at 12:32\u202fAM (Birni <N'Konni> & Co time)."
    )
    # The card, in HTML, carries the same name escaped once: it reads as written too.
    card = coordinator.find(f"({name} time)")
    assert card.html is not None and "Birni &lt;N&#x27;Konni&gt; &amp; Co time" in card.html, card.html
