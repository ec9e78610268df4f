"""Translations (gettext catalogs compiled in memory) and locale-aware formatting of dates and numbers."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from gettext import GNUTranslations, NullTranslations
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from bot.config import LANGUAGES

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now."""
    return message


def _compile(language: str) -> NullTranslations:
    """Compile locales/<lang>/LC_MESSAGES/messages.po in memory, so an edited .po never shows stale text."""
    po_path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        raise FileNotFoundError(f"missing catalog {po_path}")
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return GNUTranslations(buffer)


@dataclass(frozen=True)
class Translator:
    """Everything a message renderer needs for one reader's language."""

    language: str
    catalog: NullTranslations

    def gettext(self, message: str) -> str:
        """Translate a message."""
        return self.catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """Translate a message whose form depends on a count."""
        return self.catalog.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        """Translate a message in a disambiguating context."""
        return self.catalog.pgettext(context, message)

    @property
    def locale(self) -> Locale:
        """Babel's locale for this language."""
        return Locale.parse(self.language)

    def datetime(self, moment: datetime, zone: str | ZoneInfo, fmt: str = "medium") -> str:
        """A date and time in `zone`, no seconds: '23 nov. 2026, 09:42' or 'Nov 23, 2026, 9:42 AM'."""
        tz = _zone(zone)
        local = moment.astimezone(tz)
        pattern = str(self.locale.datetime_formats[fmt])
        return pattern.replace("{1}", format_date(local, fmt, locale=self.language)).replace(
            "{0}", format_time(local, "short", tzinfo=tz, locale=self.language)
        )

    def short_datetime(self, moment: datetime, zone: str | ZoneInfo) -> str:
        """Day and time without the year, e.g. '23 nov., 09:42' or 'Nov 23, 9:42 AM'."""
        tz = _zone(zone)
        local = moment.astimezone(tz)
        day = format_date(local, "d MMM" if self.language == "fr" else "MMM d", locale=self.language)
        return f"{day}, {format_time(local, 'short', tzinfo=tz, locale=self.language)}"

    def time(self, moment: datetime, zone: str | ZoneInfo) -> str:
        """A time of day in `zone`, e.g. '09:42' or '9:42 AM'."""
        return format_time(moment, "short", tzinfo=_zone(zone), locale=self.language)

    def date(self, moment: datetime, zone: str | ZoneInfo, fmt: str = "medium") -> str:
        """A calendar date in `zone`."""
        return format_date(moment.astimezone(_zone(zone)), fmt, locale=self.language)

    def number(self, value: float) -> str:
        """A number with the reader's separators."""
        return format_decimal(value, locale=self.language)


def _zone(zone: str | ZoneInfo) -> ZoneInfo:
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)


@cache
def translator(language: str | None) -> Translator:
    """The translator for a language code; unsupported codes get French, the working language of the posts."""
    code = language if language in LANGUAGES else "fr"
    return Translator(code, _compile(code))


def supported_language(code: str | None) -> str | None:
    """Map Telegram's language_code ('fr', 'fr-FR', 'en-GB') to one we speak, or None."""
    if not code:
        return None
    base = code.split("-")[0].lower()
    return base if base in LANGUAGES else None


def reload_catalogs() -> None:
    """Forget compiled catalogs (after `liaison i18n update` in a running sandbox)."""
    translator.cache_clear()
