"""Who may call each registry search route, for tests/test_access.py: everyone, the public first."""

from __future__ import annotations

PUBLIC = "public"
EVERYONE = {PUBLIC, "admin", "secretariat", "council_member", "expert", "applicant"}

ACCESS: dict[tuple[str, str], set[str]] = {
    ("GET", "/registry"): EVERYONE,
    ("GET", "/api/v1/registry"): EVERYONE,
}

SAMPLE_PATH_VALUES: dict[str, str] = {}
