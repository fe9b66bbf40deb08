"""Moments written as people write them: to the minute, midnight as 23:59 of the day before."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from core.i18n import translator
from core.templating import environment

MEXICO = ZoneInfo("America/Mexico_City")
TODAY = dt.date(2026, 12, 1)
# The end of 7 December in Mexico City: midnight after it, 06:00 UTC.
END_OF_7_DECEMBER = dt.datetime(2026, 12, 8, 0, 0, tzinfo=MEXICO)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("es_MX", "7 de diciembre"), ("en", "December 7")],
)
def test_a_closing_at_midnight_is_the_end_of_the_day_before(locale: str, expected: str) -> None:
    written = translator(locale).format_when(END_OF_7_DECEMBER.astimezone(dt.UTC), today=TODAY)
    assert written.startswith(expected)
    assert written.endswith("23:59")
    assert "8" not in written.replace("2026", "")


@pytest.mark.parametrize("locale", ["es_MX", "en"])
def test_moments_are_written_to_the_minute_in_mexico_city_time(locale: str) -> None:
    moment = dt.datetime(2026, 12, 8, 15, 5, 42, tzinfo=dt.UTC)  # 09:05:42 in Mexico City
    written = translator(locale).format_when(moment, today=TODAY)
    assert written.endswith("09:05")
    assert ":42" not in written
    assert "2026" not in written  # within the current year


@pytest.mark.parametrize(("locale", "day"), [("es_MX", "31 de diciembre de 2025"), ("en", "2025")])
def test_the_year_is_written_outside_the_current_one(locale: str, day: str) -> None:
    moment = dt.datetime(2025, 12, 31, 20, 0, tzinfo=MEXICO)
    assert day in translator(locale).format_when(moment, today=TODAY)


def test_a_record_kept_for_good_always_says_the_year() -> None:
    moment = dt.datetime(2026, 3, 4, 10, 30, tzinfo=MEXICO)
    assert "2026" in translator("en").format_when(moment, year=True, today=TODAY)
    assert "2026" not in translator("en").format_when(moment, today=TODAY)


def test_no_moment_is_an_empty_text() -> None:
    assert translator("es_MX").format_when(None) == ""


def test_the_when_filter_writes_in_the_pages_language_against_its_today() -> None:
    template = environment().from_string("{{ moment|when }} · {{ moment|when(year=true) }}")
    moment = END_OF_7_DECEMBER.astimezone(dt.UTC)
    for locale, day in (("es_MX", "7 de diciembre"), ("en", "December 7")):
        context = {**translator(locale).as_dict(), "today": TODAY}
        short, full = template.render(moment=moment, **context).split(" · ")
        assert short.startswith(day)
        assert "2026" not in short
        assert "2026" in full
        assert short.endswith("23:59")
