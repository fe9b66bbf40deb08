"""Micro-benchmark of locale formatting: a 50-row page's dates and numbers, Babel per row vs the
shared translator (patterns parsed once per locale, days formatted once).

One command:

    .venv/bin/python bench/formats.py
"""

from __future__ import annotations

import datetime as dt
import sys
import timeit
from pathlib import Path

from babel import Locale, dates, numbers

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.i18n import DISPLAY_ZONE, Translator  # noqa: E402

ROWS = 50


def _rows() -> list[tuple[dt.datetime, int]]:
    start = dt.datetime(2026, 1, 5, 15, 30, tzinfo=dt.UTC)
    return [(start + dt.timedelta(hours=7 * i), 1_000 * i + 7) for i in range(ROWS)]


def main() -> None:
    """Print microseconds per 50-row page for each way of formatting, in both locales."""
    rows = _rows()
    print(f"{'locale':<6} {'what':<40} {'Babel per row':>14} {'translator':>11} {'speed-up':>9}")
    for code in ("es_MX", "en"):
        locale = Locale.parse(code)
        tr = Translator(code)

        def babel_page() -> None:
            for moment, count in rows:
                day = moment.astimezone(DISPLAY_ZONE).date()
                dates.format_date(day, "long", locale=locale)
                dates.format_date(day, "medium", locale=locale)
                dates.format_datetime(moment, "medium", tzinfo=DISPLAY_ZONE, locale=locale)
                numbers.format_decimal(count, locale=locale)

        def translator_page() -> None:
            for moment, count in rows:
                tr.format_date(moment, "long")
                tr.format_date(moment, "medium")
                tr.format_datetime(moment, "medium")
                tr.format_number(count)

        def per_request_page() -> None:
            # A fresh translator: nothing cached yet (the worst case, once per locale per process).
            fresh = Translator(code)
            for moment, count in rows:
                fresh.format_date(moment, "long")
                fresh.format_date(moment, "medium")
                fresh.format_datetime(moment, "medium")
                fresh.format_number(count)

        for name, fn in (
            ("warm (shared translator)", translator_page),
            ("cold (new translator each page)", per_request_page),
        ):
            number = 200
            before = min(timeit.repeat(babel_page, number=number, repeat=5)) / number * 1e6
            after = min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6
            print(
                f"{code:<6} {name:<40} {before:>11.0f} µs {after:>8.0f} µs {before / after:>8.1f}x"
            )


if __name__ == "__main__":
    main()
