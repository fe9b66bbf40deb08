"""Who may call the site's frame routes (privacy notice, API docs), for tests/test_access.py."""

from __future__ import annotations

PUBLIC = "public"
EVERYONE = {PUBLIC, "admin", "secretariat", "council_member", "expert", "applicant"}

ACCESS: dict[tuple[str, str], set[str]] = {
    ("GET", "/privacy"): EVERYONE,
    ("GET", "/api/v1/docs"): EVERYONE,
    ("GET", "/api/v1/docs/{asset}"): EVERYONE,
}

SAMPLE_PATH_VALUES: dict[str, str] = {"asset": "swagger-ui.css"}
