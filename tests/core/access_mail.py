"""Who may call each mail route, for tests/test_access.py: one's own language, the outbox."""

from __future__ import annotations

PUBLIC = "public"
EVERYONE = {PUBLIC, "admin", "secretariat", "council_member", "expert", "applicant"}
MAIL_STAFF = {"secretariat", "admin"}

ACCESS: dict[tuple[str, str], set[str]] = {
    ("POST", "/account/language"): EVERYONE - {PUBLIC},
    ("PATCH", "/api/v1/me"): EVERYONE - {PUBLIC},
    ("GET", "/admin/outbox"): MAIL_STAFF,
    ("GET", "/admin/outbox/{message_id}"): MAIL_STAFF,
    ("POST", "/admin/outbox/{message_id}/retry"): MAIL_STAFF,
}

SAMPLE_PATH_VALUES: dict[str, str] = {"message_id": "999999"}
