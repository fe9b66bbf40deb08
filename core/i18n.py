"""Languages of the service: Babel catalogs, locale negotiation and locale-aware formatting."""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LOCALES: tuple[str, ...] = ("es_MX", "en")
LOCALE_NAMES = {"es_MX": "Español", "en": "English"}
DISPLAY_ZONE = ZoneInfo("America/Mexico_City")
LOCALE_COOKIE = "lang"


def local_date(moment: dt.datetime) -> dt.date:
    """The calendar day in Mexico City at a moment: terms, deadlines and years run on it."""
    return moment.astimezone(DISPLAY_ZONE).date()


def compile_catalogs(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Compile every .po catalog whose .mo is missing or older; returns the files written."""
    written = []
    for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parts[-3])
        # Written aside and renamed: another process may be loading the catalog right now.
        partial = mo_path.with_suffix(f".{os.getpid()}.tmp")
        with partial.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        partial.replace(mo_path)
        written.append(mo_path)
    _translations.cache_clear()
    return written


@functools.lru_cache(maxsize=8)
def _translations(locale: str) -> Translations:
    loaded = Translations.load(str(LOCALE_DIR), [locale], domain="messages")
    if not isinstance(loaded, Translations):  # no catalog: fall back to the msgids
        return Translations()
    return loaded


def normalize_locale(value: str | None) -> str | None:
    """Map a requested language tag (es, es-MX, en-US...) onto a supported locale."""
    if not value:
        return None
    tag = value.strip().replace("-", "_").lower()
    for locale in LOCALES:
        if tag == locale.lower():
            return locale
    primary = tag.split("_", 1)[0]
    for locale in LOCALES:
        if locale.lower().split("_", 1)[0] == primary:
            return locale
    return None


def negotiate_locale(cookie: str | None, accept_language: str | None, default: str) -> str:
    """Explicit choice (cookie) first, then the browser's Accept-Language, then the default."""
    chosen = normalize_locale(cookie)
    if chosen:
        return chosen
    weighted: list[tuple[float, str]] = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            weighted.append((quality, tag))
    for _quality, tag in sorted(weighted, key=lambda item: -item[0]):
        found = normalize_locale(tag)
        if found:
            return found
    return normalize_locale(default) or LOCALES[0]


class Translator:
    """Translation and formatting functions bound to one locale."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.babel_locale = Locale.parse(locale)
        self._catalog = _translations(locale)

    @property
    def html_lang(self) -> str:
        """The language tag for the lang attribute."""
        return self.locale.replace("_", "-")

    def gettext(self, message: str, **params: Any) -> str:
        """Translate a message and fill its %(name)s placeholders."""
        text = self._catalog.gettext(message)
        return text % params if params else text

    def ngettext(self, singular: str, plural: str, n: int, **params: Any) -> str:
        """Translate a message that depends on a count."""
        text = self._catalog.ngettext(singular, plural, n)
        return text % {"num": n, **params}

    def format_date(self, value: dt.date | None, fmt: str = "long") -> str:
        """A date for the locale (25 de noviembre de 2026); timestamps count as Mexico City days."""
        if isinstance(value, dt.datetime):
            value = value.astimezone(DISPLAY_ZONE).date()
        return "" if value is None else dates.format_date(value, fmt, locale=self.babel_locale)

    def format_datetime(self, value: dt.datetime | None, fmt: str = "medium") -> str:
        """A timestamp shown in Mexico City time, written for the locale."""
        if value is None:
            return ""
        return dates.format_datetime(value, fmt, tzinfo=DISPLAY_ZONE, locale=self.babel_locale)

    def format_number(self, value: float | int) -> str:
        """A number with the locale's separators."""
        return numbers.format_decimal(value, locale=self.babel_locale)

    def pick(self, es: str, en: str) -> str:
        """The English text in English when there is one; Spanish is authoritative otherwise."""
        return en if self.locale == "en" and en else es

    def as_dict(self) -> dict[str, Callable[..., str]]:
        """The callables templates use."""
        return {
            "_": self.gettext,
            "gettext": self.gettext,
            "ngettext": self.ngettext,
            "format_date": self.format_date,
            "format_datetime": self.format_datetime,
            "format_number": self.format_number,
            "pick": self.pick,
        }


@functools.lru_cache(maxsize=8)
def translator(locale: str) -> Translator:
    """The shared translator of one locale."""
    return Translator(locale)
