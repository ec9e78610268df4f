"""Translations (gettext catalogs compiled in memory) and locale-aware formatting of dates and numbers."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime as DateTime
from functools import cache, lru_cache
from gettext import GNUTranslations, NullTranslations
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_time
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from bot.config import LANGUAGES
from bot.dates import format_local_date


def _locales_dir() -> Path:
    """The catalogs: the checkout's locales/, or the copy an installed wheel carries (bot/_data/)."""
    checkout = Path(__file__).resolve().parent.parent / "locales"
    return checkout if checkout.is_dir() else Path(__file__).resolve().parent / "_data" / "locales"


LOCALES_DIR = _locales_dir()


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now."""
    return message


def catalog_files(language: str) -> list[Path]:
    """Every domain's catalog of a language: core (bot/, db/) and one per feature (handlers/<name>/)."""
    return sorted((LOCALES_DIR / language / "LC_MESSAGES").glob("*.po"))


def _compile(language: str) -> tuple[NullTranslations, frozenset[str]]:
    """Merge the language's domain catalogs and compile them in memory (an edited .po is never stale).

    Returns the translations and the ids that have a translation.
    """
    files = catalog_files(language)
    if not files:
        raise FileNotFoundError(f"no catalog in {LOCALES_DIR / language / 'LC_MESSAGES'}")
    merged: Catalog | None = None
    for path in files:
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        if merged is None:
            merged = catalog
            continue
        for message in catalog:
            # Keyed by id and context: "Present" (attendance) is another message than a plain "Present".
            if message.id and merged.get(message.id, message.context) is None:
                merged[message.id] = message
    assert merged is not None
    translated = frozenset(
        _key(m.id if isinstance(m.id, str) else m.id[0], m.context)
        for m in merged
        if m.id and (all(m.string) if isinstance(m.string, (tuple, list)) else m.string) and not m.fuzzy
    )
    buffer = io.BytesIO()
    write_mo(buffer, merged)
    buffer.seek(0)
    return GNUTranslations(buffer), translated


def _key(message: str, context: str | None = None) -> str:
    """How gettext files a message: a context goes before it, joined by EOT."""
    return message if context is None else f"{context}\x04{message}"


@dataclass(frozen=True)
class Translator:
    """Everything a message renderer needs for one reader's language."""

    language: str
    catalog: NullTranslations
    translated_ids: frozenset[str] = frozenset()

    def translates(self, message: str) -> bool:
        """Whether the catalog has a translation of `message` (an English identity counts)."""
        return message in self.translated_ids

    def gettext(self, message: str) -> str:
        """Translate a message."""
        if message not in self.translated_ids:
            _missed(self.language, message)
        return self.catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """Translate a message whose form depends on a count."""
        if singular not in self.translated_ids:
            _missed(self.language, singular)
        return self.catalog.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        """Translate a message in a disambiguating context."""
        if _key(message, context) not in self.translated_ids:
            _missed(self.language, f"{message} (context: {context})")
        return self.catalog.pgettext(context, message)

    @property
    def locale(self) -> Locale:
        """Babel's locale for this language."""
        return Locale.parse(self.language)

    def datetime(self, moment: DateTime, zone: str | ZoneInfo, fmt: str = "medium") -> str:
        """A date and time in `zone`, no seconds: '23 nov. 2026, 09:42' or 'Nov 23, 2026, 9:42 AM'."""
        tz = _zone(zone)
        local = moment.astimezone(tz)
        pattern = str(self.locale.datetime_formats[fmt])
        return pattern.replace("{1}", format_local_date(local, fmt, self.language)).replace(
            "{0}", format_time(local, "short", tzinfo=tz, locale=self.language)
        )

    def short_datetime(self, moment: DateTime, zone: str | ZoneInfo) -> str:
        """Day and time without the year, e.g. '23 nov., 09:42' or 'Nov 23, 9:42 AM'."""
        tz = _zone(zone)
        local = moment.astimezone(tz)
        day = format_local_date(local, "d MMM" if self.language == "fr" else "MMM d", self.language)
        return f"{day}, {format_time(local, 'short', tzinfo=tz, locale=self.language)}"

    def time(self, moment: DateTime, zone: str | ZoneInfo) -> str:
        """A time of day in `zone`, e.g. '09:42' or '9:42 AM'."""
        return format_time(moment, "short", tzinfo=_zone(zone), locale=self.language)

    def zone_name(self, moment: DateTime, zone: str | ZoneInfo) -> str:
        """The zone's offset at that moment, the same in every language: 'UTC+1', 'UTC+0', 'UTC+5:30'."""
        offset = moment.astimezone(_zone(zone)).utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        sign = "-" if minutes < 0 else "+"
        hours, rest = divmod(abs(minutes), 60)
        return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")

    def time_in(self, moment: DateTime, zone: str | ZoneInfo, *, named: bool) -> str:
        """A time of day in `zone`, with the zone named where readers of several zones meet."""
        text = self.time(moment, zone)
        return f"{text} ({self.zone_name(moment, zone)})" if named else text

    def short_datetime_in(self, moment: DateTime, zone: str | ZoneInfo, *, named: bool) -> str:
        """Day and time in `zone`, with the zone named where readers of several zones meet."""
        text = self.short_datetime(moment, zone)
        return f"{text} ({self.zone_name(moment, zone)})" if named else text

    def date(self, moment: DateTime, zone: str | ZoneInfo, fmt: str = "medium") -> str:
        """A calendar date in `zone`."""
        return format_local_date(moment.astimezone(_zone(zone)), fmt, self.language)

    def number(self, value: float) -> str:
        """A number with the reader's separators."""
        return format_decimal(value, locale=self.language)

    def percent(self, value: float) -> str:
        """A share as a percentage the reader's way: '86 %' or '86%'."""
        from babel.numbers import format_percent

        return format_percent(value, locale=self.language)

    def all_of(self, items: list[str]) -> str:
        """A list the reader's way: 'A, B et C', 'A, B, and C'."""
        from babel.lists import format_list

        return format_list(items, locale=self.language)

    def either(self, items: list[str]) -> str:
        """A choice the reader's way: 'A ou B', 'A, B, or C'."""
        from babel.lists import format_list

        return format_list(items, style="or", locale=self.language)

    def duration(self, seconds: float) -> str:
        """A duration the reader's way, to the unit that matters: '45 s', '12 min', '2 h 05 min', '3 j'."""

        def unit(value: int, name: str) -> str:
            return _unit(self.language, value, name)

        whole = round(max(0.0, float(seconds)))
        if whole < 60:
            return unit(whole, "second")
        minutes = round(whole / 60)
        if minutes < 60:
            return unit(minutes, "minute")
        if minutes < 48 * 60:
            hours, rest = divmod(minutes, 60)
            return unit(hours, "hour") + (f" {unit(rest, 'minute')}" if rest else "")
        return unit(round(minutes / 1440), "day")


@lru_cache(maxsize=8192)
def _unit(language: str, value: int, name: str) -> str:
    """'12 min' (Babel's unit formatting is slow, and exports format the same few durations many times)."""
    from babel.units import format_unit

    return format_unit(value, f"duration-{name}", length="short", locale=language)


# Told of every message looked up without a translation: a string that escaped extraction (an f-string inside
# gettext, a constant never marked) reaches a French reader in English. Tests set it and fail on any call.
MissingHook = Callable[[str, str], None]
_on_missing: list[MissingHook] = []


def watch_missing(hook: MissingHook | None) -> None:
    """Call `hook(language, message)` for every lookup that has no translation (None: stop watching)."""
    _on_missing[:] = [hook] if hook is not None else []


def _missed(language: str, message: str) -> None:
    for hook in _on_missing:
        hook(language, message)


def _zone(zone: str | ZoneInfo) -> ZoneInfo:
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)


@cache
def translator(language: str | None) -> Translator:
    """The translator for a language code; unsupported codes get French, the working language of the posts."""
    code = language if language in LANGUAGES else "fr"
    catalog, translated = _compile(code)
    return Translator(code, catalog, translated)


def warm_up() -> None:
    """Compile every catalog and load Babel's data for each language now (at start-up), so that the first
    person to use a language does not wait for it (some 50 ms each, at the worst moment: a burst)."""
    from babel import localedata

    for code in LANGUAGES:
        translator(code)
        localedata.load(code)


def supported_language(code: str | None) -> str | None:
    """Map Telegram's language_code ('fr', 'fr-FR', 'en-GB') to one we speak, or None."""
    if not code:
        return None
    base = code.split("-")[0].lower()
    return base if base in LANGUAGES else None


def reload_catalogs() -> None:
    """Forget compiled catalogs (after `liaison i18n update` in a running sandbox)."""
    translator.cache_clear()
