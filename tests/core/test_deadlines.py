"""Working days on Mexico's calendar and the due dates computed from them."""

from __future__ import annotations

import datetime as dt

import pytest

from core.deadlines import (
    add_working_days,
    disposition_due,
    information_due,
    is_late,
    is_working_day,
    rest_days,
    screening_due,
)

D = dt.date


def test_rest_days_of_2026_follow_the_federal_labour_law() -> None:
    assert rest_days(2026) == {
        D(2026, 1, 1),
        D(2026, 2, 2),  # first Monday of February
        D(2026, 3, 16),  # third Monday of March
        D(2026, 5, 1),
        D(2026, 9, 16),
        D(2026, 11, 16),  # third Monday of November
        D(2026, 12, 25),
    }


@pytest.mark.parametrize(
    ("year", "day"),
    [(2024, D(2024, 10, 1)), (2030, D(2030, 10, 1)), (2018, D(2018, 12, 1))],
)
def test_the_transfer_of_the_executive_is_a_rest_day_every_six_years(
    year: int, day: dt.date
) -> None:
    assert day in rest_days(year)
    assert D(year + 1, day.month, day.day) not in rest_days(year + 1)


def test_weekends_and_rest_days_are_not_working_days() -> None:
    assert not is_working_day(D(2026, 3, 14))  # Saturday
    assert not is_working_day(D(2026, 3, 15))  # Sunday
    assert not is_working_day(D(2026, 3, 16))  # Monday, Benito Juárez's day
    assert is_working_day(D(2026, 3, 17))


def test_working_days_skip_a_weekend_and_a_holiday() -> None:
    # Friday 13 March 2026: the weekend and Monday the 16th (a rest day) do not count.
    assert add_working_days(D(2026, 3, 13), 1) == D(2026, 3, 17)
    # Thursday 24 December: Christmas on Friday and the weekend are skipped.
    assert add_working_days(D(2026, 12, 24), 1) == D(2026, 12, 28)
    assert add_working_days(D(2026, 12, 24), 0) == D(2026, 12, 24)


def test_screening_is_due_ten_working_days_after_submission() -> None:
    # Submitted Tuesday 1 December 2026: two full weeks of working days later.
    assert screening_due(D(2026, 12, 1), 10) == D(2026, 12, 15)
    # Submitted on a Saturday: the count starts on Monday.
    assert screening_due(D(2026, 11, 28), 1) == D(2026, 11, 30)


def test_dispositions_and_answers_are_due_calendar_days_later() -> None:
    assert disposition_due(D(2026, 11, 30), 30) == D(2026, 12, 30)
    assert information_due(D(2026, 12, 1), 30) == D(2026, 12, 31)


def test_a_due_date_is_late_only_after_the_day() -> None:
    assert not is_late(D(2026, 12, 1), D(2026, 12, 1))
    assert is_late(D(2026, 12, 1), D(2026, 12, 2))
