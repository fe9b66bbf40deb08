"""Who may call each complaint, badge and statistics route, for tests/test_access.py.

The public routes answer everyone (sample numbers and tokens do not exist: 404 or 422 to all
alike); the triage is the secretariat's.
"""

from __future__ import annotations

PUBLIC = "public"
EVERYONE = {PUBLIC, "admin", "secretariat", "council_member", "expert", "applicant"}
STAFF = {"secretariat", "admin"}

ACCESS: dict[tuple[str, str], set[str]] = {
    ("GET", "/registry/statistics"): EVERYONE,
    ("GET", "/verify/{number}/badge.svg"): EVERYONE,
    ("GET", "/verify/{number}/complaint"): EVERYONE,
    ("POST", "/verify/{number}/complaint"): EVERYONE,
    ("GET", "/complaints/confirm/{token}"): EVERYONE,
    ("GET", "/complaints"): STAFF,
    ("GET", "/complaints/{complaint_id}"): STAFF,
    ("POST", "/complaints/{complaint_id}/dismiss"): STAFF,
    ("POST", "/complaints/{complaint_id}/ask-holder"): STAFF,
    ("POST", "/complaints/{complaint_id}/surveillance"): STAFF,
    ("POST", "/complaints/{complaint_id}/close"): STAFF,
}

SAMPLE_PATH_VALUES: dict[str, str] = {"complaint_id": "999999"}
