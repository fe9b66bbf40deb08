"""Micro-benchmark of locale formatting: a 50-row page's dates and numbers, Babel per row vs the
shared translator (patterns parsed once per locale, days formatted once).

One command:

    .venv/bin/python bench/formats.py
"""

from __future__ import annotations

import datetime as dt
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

from babel import Locale, dates, numbers

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.i18n import DISPLAY_ZONE, Translator

ROWS = 50


def _rows() -> list[tuple[dt.datetime, int]]:
    start = dt.datetime(2026, 1, 5, 15, 30, tzinfo=dt.UTC)
    return [(start + dt.timedelta(hours=7 * i), 1_000 * i + 7) for i in range(ROWS)]


def _pages(code: str) -> dict[str, Callable[[], None]]:
    """One 50-row page's formatting, three ways, in one locale."""
    rows = _rows()
    locale = Locale.parse(code)
    shared = Translator(code)

    def babel_per_row() -> None:
        for moment, count in rows:
            day = moment.astimezone(DISPLAY_ZONE).date()
            dates.format_date(day, "long", locale=locale)
            dates.format_date(day, "medium", locale=locale)
            dates.format_datetime(moment, "medium", tzinfo=DISPLAY_ZONE, locale=locale)
            numbers.format_decimal(count, locale=locale)

    def with_translator(tr: Translator) -> None:
        for moment, count in rows:
            tr.format_date(moment, "long")
            tr.format_date(moment, "medium")
            tr.format_datetime(moment, "medium")
            tr.format_number(count)

    return {
        "babel": babel_per_row,
        "warm (shared translator)": lambda: with_translator(shared),
        # A fresh translator: nothing parsed or remembered yet (once per locale per process).
        "cold (new translator each page)": lambda: with_translator(Translator(code)),
    }


def _microseconds(page: Callable[[], None]) -> float:
    number = 200
    return min(timeit.repeat(page, number=number, repeat=5)) / number * 1e6


def main() -> None:
    """Print microseconds per 50-row page for each way of formatting, in both locales."""
    print(f"{'locale':<6} {'what':<34} {'Babel per row':>14} {'translator':>11} {'speed-up':>9}")
    for code in ("es_MX", "en"):
        pages = _pages(code)
        before = _microseconds(pages.pop("babel"))
        for name, page in pages.items():
            after = _microseconds(page)
            print(
                f"{code:<6} {name:<34} {before:>11.0f} µs {after:>8.0f} µs {before / after:>8.1f}x"
            )


if __name__ == "__main__":
    main()
