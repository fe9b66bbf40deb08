"""Deadlines as data: working days on Mexico's calendar and the due dates the council keeps.

Working days are Monday to Friday, less the official rest days of the Ley Federal del Trabajo
(art. 74), computed for any year so that nothing has to be updated each January.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

MONDAY = 0
SATURDAY = 5
# Since the 2024 reform the federal executive changes hands on 1 October every six years
# (before it, on 1 December); the day of the transfer is a rest day.
TRANSFER_ON_1_OCTOBER_FROM = 2024
SEXENIO = 6


def _nth_monday(year: int, month: int, nth: int) -> dt.date:
    first = dt.date(year, month, 1)
    to_monday = (MONDAY - first.weekday()) % 7
    return first + dt.timedelta(days=to_monday + 7 * (nth - 1))


@lru_cache(maxsize=64)
def rest_days(year: int) -> frozenset[dt.date]:
    """The official rest days of a year (LFT art. 74) that can fall on a weekday.

    Election days (fraction IX) are not listed: federal and local ordinary elections are held
    on Sundays, which are never working days.
    """
    days = {
        dt.date(year, 1, 1),
        _nth_monday(year, 2, 1),  # for 5 February, Constitution Day
        _nth_monday(year, 3, 3),  # for 21 March, Benito Juárez's birthday
        dt.date(year, 5, 1),
        dt.date(year, 9, 16),
        _nth_monday(year, 11, 3),  # for 20 November, the Revolution
        dt.date(year, 12, 25),
    }
    if year >= TRANSFER_ON_1_OCTOBER_FROM and (year - TRANSFER_ON_1_OCTOBER_FROM) % SEXENIO == 0:
        days.add(dt.date(year, 10, 1))
    elif year < TRANSFER_ON_1_OCTOBER_FROM and (TRANSFER_ON_1_OCTOBER_FROM - year) % SEXENIO == 0:
        days.add(dt.date(year, 12, 1))
    return frozenset(days)


def is_working_day(day: dt.date) -> bool:
    """Whether the day is a working day: a weekday that is not an official rest day."""
    return day.weekday() < SATURDAY and day not in rest_days(day.year)


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The `days`-th working day after `start` (which itself does not count)."""
    day = start
    counted = 0
    while counted < days:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def screening_due(submitted_on: dt.date, working_days: int) -> dt.date:
    """The last day for the secretariat to screen an application submitted on that day."""
    return add_working_days(submitted_on, working_days)


def disposition_due(last_day: dt.date, days: int) -> dt.date:
    """The last day to answer every comment of a consultation whose last day was `last_day`."""
    return last_day + dt.timedelta(days=days)


def information_due(asked_on: dt.date, days: int) -> dt.date:
    """The default last day to answer a request for information asked on that day."""
    return asked_on + dt.timedelta(days=days)


def is_late(due_on: dt.date, today: dt.date) -> bool:
    """Whether a due date has passed (the due day itself is still on time)."""
    return today > due_on
