"""The translation workflow: extract strings, update the French and English catalogs, check they are current.

liaison i18n update   # after changing strings: refresh locales/*/LC_MESSAGES/*.po, then translate the empty
                      # French entries
liaison i18n check    # fails when a catalog is stale or a French translation is missing (CI and tests)

One catalog (gettext domain) per feature, `handlers/<name>/` -> `<name>.po`, and `core.po` for bot/ and db/:
a feature carries its own strings, and two people adding features never edit the same catalog.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.config import LANGUAGES
from bot.i18n import LOCALES_DIR, catalog_files

ROOT = LOCALES_DIR.parent
CORE = "core"
CORE_DIRS = ("bot", "db")
FEATURES_DIR = "handlers"
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
METHOD_MAP = [("**.py", "python")]


def domains() -> dict[str, tuple[str, ...]]:
    """Each catalog and the source folders it is extracted from."""
    found: dict[str, tuple[str, ...]] = {CORE: CORE_DIRS}
    for package in sorted((ROOT / FEATURES_DIR).iterdir()):
        if (package / "__init__.py").exists():
            found[package.name] = (f"{FEATURES_DIR}/{package.name}",)
    return found


def extract(folders: tuple[str, ...]) -> Catalog:
    """Collect every translatable string of some source folders."""
    catalog = Catalog(project="Liaison", charset="utf-8")
    for folder in folders:
        for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / folder,
            METHOD_MAP,
            keywords=KEYWORDS,
            comment_tags=("TRANSLATORS:",),
            strip_comment_tags=True,
        ):
            catalog.add(
                message, None, [(f"{folder}/{filename}", lineno)], auto_comments=comments, context=context
            )
    return catalog


def po_path(language: str, domain: str) -> Path:
    """Where one domain's catalog of a language lives."""
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{domain}.po"


def _load(language: str, domain: str) -> Catalog:
    path = po_path(language, domain)
    if not path.exists():
        return Catalog(locale=language, domain=domain, project="Liaison", charset="utf-8")
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def _write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False, ignore_obsolete=True, sort_output=False)


def _known_translations(language: str) -> dict[object, MessageText]:
    """Every translation already written, in any domain: moving a string between features keeps it."""
    known: dict[object, MessageText] = {}
    for path in catalog_files(language):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=language):
                if message.id and _translated(message.string):
                    known.setdefault(message.id, message.string)
    return known


def update() -> dict[str, list[str]]:
    """Merge fresh strings into every catalog; English is filled from the source. Returns untranslated ids."""
    untranslated: dict[str, list[str]] = {language: [] for language in LANGUAGES}
    wanted = domains()
    for language in LANGUAGES:
        known = _known_translations(language)
        for domain, folders in wanted.items():
            catalog = _load(language, domain)
            catalog.update(extract(folders), no_fuzzy_matching=True)
            catalog.obsolete.clear()
            for message in catalog:
                if not message.id:
                    continue
                if not _translated(message.string) and message.id in known:
                    message.string = known[message.id]
                if language == "en" and not _translated(message.string):
                    # English is the source language: its catalog is the identity, kept complete.
                    message.string = message.id
                message.flags.discard("fuzzy")
            _write(catalog, po_path(language, domain))
            untranslated[language] += [_first(m.id) for m in catalog if m.id and not _translated(m.string)]
        for path in catalog_files(language):
            if path.stem not in wanted:
                path.unlink()  # a feature that no longer exists (or the single catalog of old)
    return untranslated


MessageText = str | tuple[str, ...] | list[str] | None


def _translated(string: object) -> bool:
    """Whether a catalog string (or every plural form of it) is filled."""
    if isinstance(string, (tuple, list)):
        return all(string)
    return bool(string)


def _first(message_id: object) -> str:
    """A message id for people: its singular form."""
    return str(message_id[0] if isinstance(message_id, (tuple, list)) else message_id)


def problems() -> list[str]:
    """Everything wrong with the catalogs: stale, untranslated, fuzzy, or two domains disagreeing."""
    found: list[str] = []
    wanted = domains()
    for language in LANGUAGES:
        seen: dict[object, tuple[str, MessageText]] = {}
        for path in catalog_files(language):
            if path.stem not in wanted:
                found.append(f"{path}: stale, no such feature (run: liaison i18n update)")
        for domain, folders in wanted.items():
            path = po_path(language, domain)
            if not path.exists():
                found.append(f"{path}: missing (run: liaison i18n update)")
                continue
            template_ids = {
                (m.id if not isinstance(m.id, list) else tuple(m.id), m.context)
                for m in extract(folders)
                if m.id
            }
            catalog = _load(language, domain)
            ids = {(m.id, m.context) for m in catalog if m.id}
            for message_id, _context in sorted(template_ids - ids, key=str):
                found.append(f"{path}: stale, missing {_first(message_id)!r} (run: liaison i18n update)")
            for obsolete, _context in sorted(ids - template_ids, key=str):
                found.append(f"{path}: stale, obsolete {_first(obsolete)!r} (run: liaison i18n update)")
            for message in catalog:
                if not message.id:
                    continue
                if not _translated(message.string):
                    found.append(f"{path}: untranslated {_first(message.id)!r}")
                if message.fuzzy:
                    found.append(f"{path}: fuzzy {_first(message.id)!r}")
                if isinstance(message.string, (tuple, list)) and len(message.string) != catalog.num_plurals:
                    found.append(f"{path}: wrong number of plural forms for {_first(message.id)!r}")
                earlier = seen.setdefault(message.id, (domain, message.string))
                if earlier[1] != message.string and _translated(message.string) and _translated(earlier[1]):
                    found.append(
                        f"{path}: {_first(message.id)!r} is translated differently in {earlier[0]}.po: "
                        "one reader would see either"
                    )
    return found
