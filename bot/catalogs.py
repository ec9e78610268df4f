"""The translation workflow: extract strings, update the French and English catalogs, check they are current.

liaison i18n update   # after changing strings: refresh locales/*.po, then translate the empty French entries
liaison i18n check    # fails when a catalog is stale or a French translation is missing (CI and tests)
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.config import LANGUAGES
from bot.i18n import DOMAIN, LOCALES_DIR

ROOT = LOCALES_DIR.parent
SOURCE_DIRS = ("bot", "handlers", "db")
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
METHOD_MAP = [("**/emulator/**", "ignore"), ("**.py", "python")]


def extract() -> Catalog:
    """Collect every translatable string from the source tree."""
    catalog = Catalog(project="Liaison", domain=DOMAIN, charset="utf-8")
    for directory in SOURCE_DIRS:
        for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / directory,
            METHOD_MAP,
            keywords=KEYWORDS,
            comment_tags=("TRANSLATORS:",),
            strip_comment_tags=True,
        ):
            catalog.add(
                message, None, [(f"{directory}/{filename}", lineno)], auto_comments=comments, context=context
            )
    return catalog


def _po_path(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _load(language: str) -> Catalog:
    path = _po_path(language)
    if not path.exists():
        return Catalog(locale=language, domain=DOMAIN, project="Liaison", charset="utf-8")
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def _write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False, ignore_obsolete=True, sort_output=False)


def update() -> dict[str, list[str]]:
    """Merge fresh strings into each catalog; English is filled from the source. Returns untranslated ids."""
    template = extract()
    untranslated: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory():
        for language in LANGUAGES:
            catalog = _load(language)
            catalog.update(template, no_fuzzy_matching=True)
            catalog.obsolete.clear()
            for message in catalog:
                if not message.id:
                    continue
                if language == "en" and not _translated(message.string):
                    # English is the source language: its catalog is the identity, kept complete.
                    message.string = message.id
                message.flags.discard("fuzzy")
            _write(catalog, _po_path(language))
            untranslated[language] = [_first(m.id) for m in catalog if m.id and not _translated(m.string)]
    return untranslated


def _translated(string: str | tuple[str, ...] | list[str]) -> bool:
    if isinstance(string, (tuple, list)):
        return all(string)
    return bool(string)


def _first(message_id: str | tuple[str, ...]) -> str:
    return message_id[0] if isinstance(message_id, tuple) else message_id


def problems() -> list[str]:
    """Everything wrong with the catalogs: stale (strings missing or obsolete) or untranslated entries."""
    found: list[str] = []
    template_ids = {
        (m.id if not isinstance(m.id, list) else tuple(m.id), m.context) for m in extract() if m.id
    }
    for language in LANGUAGES:
        path = _po_path(language)
        if not path.exists():
            found.append(f"{path}: missing")
            continue
        catalog = _load(language)
        ids = {(m.id, m.context) for m in catalog if m.id}
        for message_id, _context in sorted(template_ids - ids, key=str):
            found.append(f"{path}: stale, missing {_first(message_id)!r} (run: liaison i18n update)")
        for message_id, _context in sorted(ids - template_ids, key=str):
            found.append(f"{path}: stale, obsolete {_first(message_id)!r} (run: liaison i18n update)")
        for message in catalog:
            if message.id and not _translated(message.string):
                found.append(f"{path}: untranslated {_first(message.id)!r}")
            if message.id and message.fuzzy:
                found.append(f"{path}: fuzzy {_first(message.id)!r}")
            plural = isinstance(message.string, (tuple, list))
            if message.id and plural and len(message.string) != catalog.num_plurals:
                found.append(f"{path}: wrong number of plural forms for {_first(message.id)!r}")
    return found
