"""Languages of the service: Babel catalogs, locale negotiation and locale-aware formatting."""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, dates
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


# Browsers send a handful of distinct headers: each is parsed once (bounded: they are the client's).
@functools.lru_cache(maxsize=256)
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


NAMED_FORMATS = frozenset({"full", "long", "medium", "short"})
# Formatted values kept per translator and kind: list pages show the same few days, times of
# day and counts on many rows. A bound, not an LRU: one page's values fit many times over.
MEMO_SIZE = 4096
# Pattern fields that name a time zone: a time written with one depends on its date (DST).
_ZONE_FIELDS = frozenset("zZvVOXx")
# Pattern fields that write fractions of a second.
_FRACTION_FIELDS = frozenset("SA")


def _remember(memo: dict[Any, str], key: Any, make: Callable[[], str]) -> str:
    """The memo's text for `key`, made once (the memo is emptied when full)."""
    text = memo.get(key)
    if text is None:
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        text = memo[key] = make()
    return text


class Translator:
    """Translation and formatting functions bound to one locale.

    One translator per locale is shared by every request (`translator`), so what Babel would
    look up and parse on each call (the locale's patterns, month names) is done once here.
    """

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.babel_locale = Locale.parse(locale)
        self._catalog = _translations(locale)
        self._patterns: dict[tuple[str, str], dates.DateTimePattern] = {}
        self._datetime_templates: dict[str, str] = {}
        self._days: dict[tuple[dt.date, str], str] = {}
        self._skeleton_days: dict[tuple[dt.date, str], str] = {}
        self._times: dict[tuple[dt.time, str], str] = {}
        self._integers: dict[int, str] = {}
        self._decimal = self.babel_locale.decimal_formats[None]
        self._callables: dict[str, Callable[..., str]] = {
            "_": self.gettext,
            "gettext": self.gettext,
            "ngettext": self.ngettext,
            "format_date": self.format_date,
            "format_datetime": self.format_datetime,
            "format_number": self.format_number,
            "format_when": self.format_when,
            "pick": self.pick,
        }

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

    def _pattern(self, kind: str, fmt: str) -> dates.DateTimePattern:
        """A date or time pattern of the locale (or a custom one), parsed once."""
        pattern = self._patterns.get((kind, fmt))
        if pattern is None:
            source: str | dates.DateTimePattern = fmt
            if fmt in NAMED_FORMATS:
                formats = (
                    self.babel_locale.date_formats
                    if kind == "date"
                    else self.babel_locale.time_formats
                )
                source = formats[fmt]
            pattern = dates.parse_pattern(source)
            self._patterns[(kind, fmt)] = pattern
        return pattern

    def format_date(self, value: dt.date | None, fmt: str = "long") -> str:
        """A date for the locale (25 de noviembre de 2026); timestamps count as Mexico City days."""
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            value = value.astimezone(DISPLAY_ZONE).date()
        day = value
        return _remember(
            self._days, (day, fmt), lambda: self._pattern("date", fmt).apply(day, self.babel_locale)
        )

    def format_datetime(self, value: dt.datetime | None, fmt: str = "medium") -> str:
        """A timestamp shown in Mexico City time, written for the locale."""
        if value is None:
            return ""
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)  # as Babel reads a naive timestamp
        moment = value.astimezone(DISPLAY_ZONE)
        if fmt not in NAMED_FORMATS:
            return str(self._pattern("datetime", fmt).apply(moment, self.babel_locale))
        template = self._datetime_templates.get(fmt)
        if template is None:
            template = str(self.babel_locale.datetime_formats[fmt]).replace("'", "")
            self._datetime_templates[fmt] = template
        return template.replace("{0}", self._format_time(moment, fmt)).replace(
            "{1}", self.format_date(moment.date(), fmt)
        )

    def format_when(
        self, value: dt.datetime | None, *, year: bool = False, today: dt.date | None = None
    ) -> str:
        """A moment as people write it: "7 de diciembre a las 23:59", to the minute.

        Mexico City time; the year is left out within the current one (`today`, default the
        clock's) unless `year` asks for it (records kept for good). A period ending exactly at
        midnight ends on the day before, at 23:59.
        """
        if value is None:
            return ""
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        moment = value.astimezone(DISPLAY_ZONE)
        if moment.time() == dt.time(0, 0):
            moment = moment - dt.timedelta(minutes=1)
        day = moment.date()
        current = today if today is not None else local_date(dt.datetime.now(dt.UTC))
        skeleton = "MMMMd" if day.year == current.year and not year else "yMMMMd"
        date_text = _remember(
            self._skeleton_days,
            (day, skeleton),
            lambda: dates.format_skeleton(skeleton, day, locale=self.babel_locale),
        )
        time_text = f"{moment.hour:02d}:{moment.minute:02d}"
        return self.gettext("%(date)s at %(time)s", date=date_text, time=time_text)

    def _format_time(self, moment: dt.datetime, fmt: str) -> str:
        """The time-of-day part of a timestamp already in Mexico City time."""
        pattern = self._pattern("time", fmt)

        def make() -> str:
            return str(
                pattern.apply(moment.timetz(), self.babel_locale, reference_date=moment.date())
            )

        if _ZONE_FIELDS.intersection(pattern.pattern):
            return make()  # the zone's name depends on the day: not remembered
        shown = moment.time()
        if not _FRACTION_FIELDS.intersection(pattern.pattern):
            shown = shown.replace(microsecond=0)  # not written: a key for the whole second
        return _remember(self._times, (shown, fmt), make)

    def format_number(self, value: float | int) -> str:
        """A number with the locale's separators."""
        if isinstance(value, int):
            return _remember(
                self._integers, value, lambda: str(self._decimal.apply(value, self.babel_locale))
            )
        return str(self._decimal.apply(value, self.babel_locale))

    def pick(self, es: str, en: str) -> str:
        """The English text in English when there is one; Spanish is authoritative otherwise."""
        return en if self.locale == "en" and en else es

    def as_dict(self) -> dict[str, Callable[..., str]]:
        """The callables templates use (built once; callers unpack it into their context)."""
        return self._callables


@functools.lru_cache(maxsize=8)
def translator(locale: str) -> Translator:
    """The shared translator of one locale."""
    return Translator(locale)


def in_both_languages(message: str, labels: dict[str, str] | None = None, **params: object) -> str:
    """A system-written text stored once, in Spanish and in English (ballots, decisions).

    `labels` are parameters that are themselves msgids, translated with the message.
    """
    said = []
    for locale in ("es_MX", "en"):
        tr = translator(locale)
        named = {key: tr.gettext(value) for key, value in (labels or {}).items()}
        said.append(tr.gettext(message, **named, **params))
    return " / ".join(said)
