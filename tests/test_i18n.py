"""Catalogs are complete and current; plurals, placeholders and dates render right in French and English."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot import i18n
from bot.catalogs import problems
from bot.i18n import catalog_files, supported_language, translator, watch_missing

PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
TAG = re.compile(r"</?[a-z]+")


def catalog(language: str):
    """Every message of a language's catalogs (one per feature, and core)."""
    messages = []
    for path in catalog_files(language):
        with path.open("rb") as handle:
            messages += list(read_po(handle, locale=language))
    return messages


def test_catalogs_are_current_and_complete() -> None:
    assert problems() == []


@pytest.mark.parametrize("language", ["fr", "en"])
def test_translations_keep_placeholders_and_markup(language: str) -> None:
    for message in catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = sorted(set(PLACEHOLDER.findall(ids[-1])) | set(PLACEHOLDER.findall(ids[0])))
        for string in strings:
            if not string:
                continue  # untranslated entries are reported by the completeness test
            assert sorted(set(PLACEHOLDER.findall(string))) == expected or (
                # a singular form may say "un" instead of {n}
                len(strings) > 1 and set(PLACEHOLDER.findall(string)) <= set(expected)
            ), (message.id, string)
            assert sorted(TAG.findall(string)) == sorted(TAG.findall(ids[0])), (message.id, string)


def test_french_names_the_coordinator_role_one_way() -> None:
    # One role, one word: "coordinateur" (most of the catalog's), never "coordonnateur" beside it.
    strings = [
        s for m in catalog("fr") if m.id for s in (m.string if isinstance(m.string, tuple) else (m.string,))
    ]
    assert [s for s in strings if "coordonnat" in (s or "").lower()] == []
    assert any("coordinateur" in (s or "") for s in strings)


@pytest.mark.parametrize(
    ("n", "french", "english"),
    [
        (0, "Konni : 0 membre", "Konni: 0 members"),
        (1, "Konni : 1 membre", "Konni: 1 member"),
        (2, "Konni : 2 membres", "Konni: 2 members"),
        (1000000, "Konni : 1000000 membres", "Konni: 1000000 members"),
    ],
)
def test_plural_forms(n: int, french: str, english: str) -> None:
    singular, plural = "{post}: {n} member", "{post}: {n} members"
    assert translator("fr").ngettext(singular, plural, n).format(post="Konni", n=n) == french
    assert translator("en").ngettext(singular, plural, n).format(post="Konni", n=n) == english


def test_a_missing_french_catalog_would_not_silently_show_english() -> None:
    # gettext's fallback hides a missing .mo; our loader compiles the .po and would raise instead.
    assert translator("fr").gettext("Which post?") == "Quel poste ?"


@pytest.fixture
def missed() -> Iterator[list[tuple[str, str]]]:
    """Every lookup without a translation while the test runs, as the scenario tests' harness sees them."""
    found: list[tuple[str, str]] = []
    watch_missing(lambda language, message: found.append((language, message)))
    yield found
    watch_missing(None)


def test_a_lookup_in_context_reports_a_missing_translation_as_gettext_does(
    missed: list[tuple[str, str]],
) -> None:
    french = translator("fr")
    assert french.pgettext("attendance", "Present") == "Présents"
    assert missed == []
    assert french.pgettext("no such context", "Present") == "Present"
    # Only the entry in context is translated: the plain message is another one, and missing.
    assert french.gettext("Present") == "Present"
    assert missed == [("fr", "Present (context: no such context)"), ("fr", "Present")]


PO = """msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"

{entries}
"""


def test_a_message_in_context_in_one_catalog_and_plain_in_another_keeps_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "a.po").write_text(PO.format(entries='msgid "Present"\nmsgstr "Présent"\n'), encoding="utf-8")
    (folder / "b.po").write_text(
        PO.format(entries='msgctxt "attendance"\nmsgid "Present"\nmsgstr "Présents"\n'), encoding="utf-8"
    )
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    catalog, translated = i18n._compile("fr")
    assert catalog.gettext("Present") == "Présent"
    assert catalog.pgettext("attendance", "Present") == "Présents"
    assert translated == {"Present", "attendance\x04Present"}


def test_dates_follow_the_posts_time_zone_and_the_readers_language() -> None:
    moment = datetime(2026, 11, 23, 8, 42, tzinfo=UTC)
    assert translator("fr").datetime(moment, "Africa/Niamey") == "23 nov. 2026, 09:42"
    assert translator("fr").datetime(moment, "Africa/Ouagadougou") == "23 nov. 2026, 08:42"
    assert translator("en").datetime(moment, "Africa/Niamey") == "Nov 23, 2026, 9:42\u202fAM"
    assert translator("en").short_datetime(moment, "Africa/Ouagadougou") == "Nov 23, 8:42\u202fAM"
    # Brussels observes daylight saving: UTC+2 in summer, UTC+1 in winter.
    summer = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    assert translator("fr").time(summer, "Europe/Brussels") == "10:00"
    assert translator("fr").time(moment, "Europe/Brussels") == "09:42"


@pytest.mark.parametrize(
    ("code", "expected"),
    [("fr", "fr"), ("fr-FR", "fr"), ("en-GB", "en"), ("de", None), (None, None), ("", None)],
)
def test_telegram_language_codes(code: str | None, expected: str | None) -> None:
    assert supported_language(code) == expected
