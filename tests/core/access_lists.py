"""Who may call each route of the searchable work lists and their exports, for
tests/test_access.py: the secretariat's lists and exports, the council's ballots."""

from __future__ import annotations

STAFF = {"secretariat", "admin"}

ACCESS: dict[tuple[str, str], set[str]] = {
    ("GET", "/organisations"): STAFF,
    ("GET", "/exports/applications.{fmt}"): STAFF,
    ("GET", "/exports/ballots.{fmt}"): STAFF,
    ("GET", "/guidelines/{slug}/{number}/consultation/dispositions"): STAFF,
    ("GET", "/guidelines/{slug}/{number}/consultation/dispositions.{fmt}"): STAFF,
}

SAMPLE_PATH_VALUES: dict[str, str] = {"fmt": "csv"}
