"""Who may call each route of the searchable work lists, their exports and the printable
self-assessment, for tests/test_access.py."""

from __future__ import annotations

STAFF = {"secretariat", "admin"}
# Admitted to every signed-in person, as the application's pages are: those who are neither its
# organisation's people, its reviewers nor the secretariat get 404 (the sample id does not exist).
SIGNED_IN = {"admin", "secretariat", "council_member", "expert", "applicant"}

ACCESS: dict[tuple[str, str], set[str]] = {
    ("GET", "/organisations"): STAFF,
    ("GET", "/applications/{application_id}/self-assessment.pdf"): SIGNED_IN,
    ("GET", "/exports/applications.{fmt}"): STAFF,
    ("GET", "/exports/ballots.{fmt}"): STAFF,
    ("GET", "/guidelines/{slug}/{number}/consultation/dispositions"): STAFF,
    ("GET", "/guidelines/{slug}/{number}/consultation/dispositions.{fmt}"): STAFF,
}

SAMPLE_PATH_VALUES: dict[str, str] = {"fmt": "csv"}
